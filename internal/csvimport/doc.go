// Package csvimport turns the bytes of an uploaded users file into decoded,
// cell-validated rows (SPEC "Bulk Upload"), and writes CSV files Roster hands
// out (the import report, the user export) safely for spreadsheets.
//
// It owns everything about the file itself: sniffing the encoding (UTF-8 with
// or without BOM, UTF-16 with BOM, Windows-1252) and the delimiter (comma,
// semicolon, tab), matching header spellings to canonical columns, spreadsheet
// row numbering, the cell rules (emails, names, dates in the organization's
// locale, permission lists, welcome messages), size and row limits, detecting
// duplicate emails within one file, and neutralizing spreadsheet formulas.
//
// It knows nothing of the database or of HTTP: rules that need stored users
// (does this email exist, may the uploader grant this permission, is the user
// expired) belong to the caller. It imports only roster and the standard
// library (plus golang.org/x/text for decoding) and must never import store,
// admin, web or api.
//
// A caller reads a file like this:
//
//	r, err := csvimport.NewReader(file, csvimport.Options{Locale: org.Locale})
//	if err != nil {
//		return err // *HeaderError, *LimitError or an I/O error
//	}
//	var seen csvimport.Dedup
//	for {
//		row, err := r.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil {
//			return err // *LimitError, a fatal *RowError or an I/O error
//		}
//		saved := *row // Next reuses row
//		if len(saved.Errors) == 0 {
//			if first, dup := seen.Seen(saved.Email, saved.Num); dup { … }
//		}
//		…
//	}
package csvimport
