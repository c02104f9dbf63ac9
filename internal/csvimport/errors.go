package csvimport

import (
	"fmt"
	"strconv"
)

// RowError is one problem with one row of the file, modelled on os.PathError.
// Row is the spreadsheet row number (the header is row 1); Column is the
// canonical column name, or "" when the problem concerns the whole row. The
// Reason is written for the person who made the file.
//
// Row.Errors lists the problems of a row that was read. Next also returns a
// *RowError as a fatal error when the file cannot be read past that row.
type RowError struct {
	Row    int
	Column string
	Reason string
}

// Error formats the problem as "row 7, expiration_date: reason", or
// "row 7: reason" when no column is named.
func (e *RowError) Error() string {
	if e.Column == "" {
		return "row " + strconv.Itoa(e.Row) + ": " + e.Reason
	}
	return "row " + strconv.Itoa(e.Row) + ", " + e.Column + ": " + e.Reason
}

// HeaderError refuses a whole file before any row is read: it is not a CSV
// file (an Excel workbook, binary data), its encoding cannot be read, or its
// header has no email column or names a column twice. Its message is written
// for the person who made the file.
type HeaderError struct {
	Reason string
	// Found lists the header's non-blank cells as spelled in the file, when a
	// header was read.
	Found []string
}

// Error returns the reason.
func (e *HeaderError) Error() string { return e.Reason }

// LimitKind names the limit a LimitError reports.
type LimitKind int

// The limits a file is held to; see Options.
const (
	LimitRows     LimitKind = iota + 1 // data rows in the file
	LimitBytes                         // size of the file
	LimitRowBytes                      // size of one row
)

// LimitError reports that the file exceeds one of the limits in Options. The
// Reader stops reading when it returns one, so nothing past the limit (beyond
// a bounded read-ahead) is consumed.
type LimitError struct {
	Kind  LimitKind
	Limit int64 // the limit that was exceeded
	Row   int   // for LimitRowBytes, the spreadsheet row that is too long
}

// Error states the limit, e.g. "the file has more than 1,000,000 rows".
func (e *LimitError) Error() string {
	switch e.Kind {
	case LimitRows:
		return fmt.Sprintf("the file has more than %s rows", thousands(e.Limit))
	case LimitBytes:
		return "the file is larger than " + byteSize(e.Limit)
	case LimitRowBytes:
		return fmt.Sprintf("row %d is longer than %s; is a quoted cell missing its closing quote?", e.Row, byteSize(e.Limit))
	}
	return fmt.Sprintf("the file exceeds a limit (%d)", e.Limit)
}

// thousands formats n with comma separators: 1000000 -> "1,000,000".
func thousands(n int64) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.FormatInt(n, 10)
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// byteSize formats a byte count in the largest binary unit that divides it.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return thousands(n>>30) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return thousands(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return thousands(n>>10) + " KiB"
	case n == 1:
		return "1 byte"
	}
	return thousands(n) + " bytes"
}
