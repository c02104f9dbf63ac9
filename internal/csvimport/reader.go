package csvimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/roster"
)

// Default limits (SPEC "Bulk Upload": at least 1,000,000 rows).
const (
	DefaultMaxRows     = 1_000_000
	DefaultMaxBytes    = 256 << 20
	DefaultMaxRowBytes = 1 << 20
)

// Options tune a Reader. The zero value reads en-US dates with the default
// limits.
type Options struct {
	// Locale is the organization's locale, which says how dates with slashes
	// read: "en-US" (the default when empty) or "en-GB".
	Locale string
	// MaxRows is the number of data rows allowed, blank rows not counted;
	// DefaultMaxRows when 0. One more is a *LimitError.
	MaxRows int
	// MaxBytes is the largest file allowed, counted while reading;
	// DefaultMaxBytes when 0. One byte more is a *LimitError.
	MaxBytes int64
	// MaxRowBytes bounds one row (a quote that is never closed makes the rest
	// of the file one row); DefaultMaxRowBytes when 0. It is checked give or
	// take the reader's 64 KiB read-ahead.
	MaxRowBytes int
}

// Header describes the header row of a file and how the file was read.
// Its slices and map are shared: do not modify them.
type Header struct {
	// Row is the header's spreadsheet row: 1, unless blank rows come first.
	Row int
	// Columns lists the canonical names of the columns found, in file order.
	Columns []string
	// Index maps each canonical name in Columns to its 0-based cell position.
	Index map[string]int
	// Unknown lists the other header cells as spelled in the file; their
	// columns are ignored.
	Unknown []string
	// Delimiter is the cell separator: ',', ';' or '\t'.
	Delimiter rune
	// Encoding is how the bytes were decoded (EncodingUTF8, ...). A file that
	// is ASCII at first reports EncodingUTF8 until its first non-ASCII byte
	// decides, which may turn it into EncodingWindows1252.
	Encoding string
}

// Has reports whether the file has the canonical column name.
func (h Header) Has(name string) bool {
	_, ok := h.Index[name]
	return ok
}

// Row is one decoded data row. Only Num, Email and Errors are meaningful when
// Errors is not empty: a field whose cell has an error holds the cell as typed
// (strings) or is unset (dates, permissions).
type Row struct {
	// Num is the spreadsheet row number: the header is row 1, the first data
	// row is 2, and a cell with line breaks does not make its row count twice.
	Num int
	// Email is normalized when valid, and as typed (trimmed) otherwise, for
	// the report.
	Email string
	// FirstName, LastName and WelcomeMessage are set iff the file has the
	// column; a blank cell is Some(""), which clears the field.
	FirstName      roster.Optional[string]
	LastName       roster.Optional[string]
	WelcomeMessage roster.Optional[string]
	// ExpirationDate is set iff the file has the column and the cell is not
	// blank: a blank date means "none given", so the upload's default applies.
	ExpirationDate roster.Optional[roster.Date]
	// Permissions is set iff the file has the column; a blank cell is
	// Some(0), which replaces the user's permissions with none.
	Permissions roster.Optional[roster.Permissions]
	// Errors lists every problem of the row; empty when the row is valid.
	Errors []RowError
}

// addError records a problem with the row.
func (row *Row) addError(c column, reason string) {
	name := ""
	if c >= 0 {
		name = columnNames[c]
	}
	row.Errors = append(row.Errors, RowError{Row: row.Num, Column: name, Reason: reason})
}

// Reader reads the data rows of a users file, streaming: memory stays bounded
// by the buffers (64 KiB each) and the longest row, whatever the file's size.
type Reader struct {
	csv    *csv.Reader
	dec    *decoder
	guard  *rowGuard
	opts   Options
	order  dateOrder
	header Header

	col   [numColumns]int // cell position of each column, -1 when absent
	width int             // cells up to the header's last non-blank one

	skipped    int64 // bytes of text before the parser's input (a "sep=" line)
	rows       int   // data rows read, blank ones not counted
	extraLines int   // line breaks inside quoted cells so far
	row        Row
	err        error // sticky: io.EOF or a fatal error
}

// NewReader sniffs the file's encoding and delimiter and reads its header.
// It returns a *HeaderError when the file is refused as a whole, a
// *LimitError when the file is too large, and other errors for I/O failures.
func NewReader(src io.Reader, opts Options) (*Reader, error) {
	r := &Reader{opts: opts}
	switch opts.Locale {
	case "", "en-US":
		r.order = monthFirst
	case "en-GB":
		r.order = dayFirst
	default:
		return nil, fmt.Errorf("csvimport: unknown locale %q; use one of %s", opts.Locale, strings.Join(roster.Locales, ", "))
	}
	if r.opts.MaxRows <= 0 {
		r.opts.MaxRows = DefaultMaxRows
	}
	if r.opts.MaxBytes <= 0 {
		r.opts.MaxBytes = DefaultMaxBytes
	}
	if r.opts.MaxRowBytes <= 0 {
		r.opts.MaxRowBytes = DefaultMaxRowBytes
	}

	raw := bufio.NewReaderSize(&byteLimiter{r: src, max: r.opts.MaxBytes}, bufSize)
	dec, err := newDecoder(raw)
	if err != nil {
		return nil, readError("sniff the file", err)
	}
	r.dec = dec
	// The slack covers the read-ahead of the two buffers above the guard.
	r.guard = &rowGuard{r: dec, max: int64(r.opts.MaxRowBytes) + bufSize + 4096}
	text := bufio.NewReaderSize(r.guard, bufSize)
	prefix, err := text.Peek(bufSize)
	if err != nil && err != io.EOF {
		return nil, readError("sniff the file", err)
	}
	if d, n := sepLine(prefix); n > 0 {
		// Excel's "sep=;" line names the delimiter and is not a row.
		_, _ = text.Discard(n) // peeked, so it cannot fail
		prefix, r.skipped, r.header.Delimiter = prefix[n:], int64(n), d
	} else {
		r.header.Delimiter = sniffDelimiter(headerLine(prefix))
	}
	var in io.Reader = text
	if bytes.IndexByte(prefix, '\n') < 0 && bytes.IndexByte(prefix, '\r') >= 0 {
		in = crToLF{text}
	}
	r.csv = csv.NewReader(in)
	r.csv.Comma = r.header.Delimiter
	r.csv.FieldsPerRecord = -1
	r.csv.ReuseRecord = true
	// Hand-made files put spaces after commas (`a@b.co, "Lee, Ann"`); the
	// parser would take the quote for a stray one. Not for tabs: it would
	// trim the delimiter itself.
	r.csv.TrimLeadingSpace = r.header.Delimiter != '\t'
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	return r, nil
}

// offset returns how far the parser has read into the decoded text.
func (r *Reader) offset() int64 { return r.skipped + r.csv.InputOffset() }

// sepLine recognizes the "sep=;" first line Excel honors, returning the
// delimiter and the length of the line.
func sepLine(text []byte) (rune, int) {
	if len(text) < 5 || !bytes.EqualFold(text[:4], []byte("sep=")) || !slices.Contains(delimiters, rune(text[4])) {
		return 0, 0
	}
	switch rest := text[5:]; {
	case len(rest) == 0:
		return rune(text[4]), 5
	case bytes.HasPrefix(rest, []byte("\r\n")):
		return rune(text[4]), 7
	case rest[0] == '\n' || rest[0] == '\r':
		return rune(text[4]), 6
	}
	return 0, 0
}

// readError wraps an error of the input, leaving the package's own errors,
// whose messages are for the person who made the file, as they are.
func readError(op string, err error) error {
	var he *HeaderError
	var le *LimitError
	var re *RowError
	if errors.As(err, &he) || errors.As(err, &le) || errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("csvimport: %s: %w", op, err)
}

// readHeader reads the first non-blank record as the header and maps its
// cells to columns.
func (r *Reader) readHeader() error {
	var rec []string
	for {
		var err error
		rec, err = r.csv.Read()
		if err == io.EOF {
			return &HeaderError{Reason: "the file is empty"}
		}
		if pe := parseError(err); pe != nil {
			return &HeaderError{Reason: fmt.Sprintf("row %d (the header): %s", pe.StartLine-r.extraLines, syntaxReason(pe))}
		}
		if err != nil {
			return r.fatal(err, rec)
		}
		r.header.Row = r.place(rec, nil)
		r.guard.start = r.offset()
		if !isBlank(rec) {
			break
		}
	}

	for c := range r.col {
		r.col[c] = -1
	}
	r.header.Index = make(map[string]int)
	var found []string
	for i, cell := range rec {
		name := strings.ToValidUTF8(strings.TrimSpace(cell), "\uFFFD")
		if name == "" {
			continue // trailing separators, or a column without a name
		}
		found = append(found, name)
		r.width = i + 1
		c, ok := matchColumn(name)
		if !ok {
			r.header.Unknown = append(r.header.Unknown, name)
			continue
		}
		if prev := r.col[c]; prev >= 0 {
			return &HeaderError{
				Reason: fmt.Sprintf("the %q column appears twice (%q and %q): keep one", columnNames[c], strings.TrimSpace(rec[prev]), name),
				Found:  found,
			}
		}
		r.col[c] = i
		r.header.Columns = append(r.header.Columns, columnNames[c])
		r.header.Index[columnNames[c]] = i
	}
	if r.col[colEmail] < 0 {
		// SPEC "Bulk Upload": refused whole, naming the columns expected and found.
		reason := fmt.Sprintf("no %q column: expected %s; found %s", ColumnEmail, strings.Join(Columns, ", "), quoteList(found))
		for _, f := range found {
			if strings.Contains(f, "@") {
				reason += ". The first row looks like data: add a header row (" + strings.Join(Columns, ",") + ")"
				break
			}
		}
		return &HeaderError{Reason: reason, Found: found}
	}
	return nil
}

// quoteList formats names as `"a", "b"`, shortening long lists.
func quoteList(names []string) string {
	const max = 10
	q := make([]string, 0, min(len(names), max)+1)
	for i, n := range names {
		if i == max {
			q = append(q, fmt.Sprintf("and %d more", len(names)-max))
			break
		}
		q = append(q, quoteCell(n))
	}
	if len(q) == 0 {
		return "no column names"
	}
	return strings.Join(q, ", ")
}

// Header describes the file's header row and how the file is being read.
func (r *Reader) Header() Header {
	h := r.header
	h.Encoding = r.dec.encoding()
	return h
}

// Next returns the next non-blank data row, or io.EOF after the last one.
//
// The returned Row is reused: the next call overwrites it. To keep a row, copy
// the struct (saved := *row); the copy is independent, as its strings are
// immutable and its Errors slice is never reused.
//
// Problems with cells, and CSV syntax errors that leave the rest of the file
// readable (a stray quote), are reported in Row.Errors. Other errors end the
// file, and Next keeps returning them: a *LimitError, a *RowError when a
// quoted cell is never closed (the rest of the file would be one cell), or an
// I/O error.
func (r *Reader) Next() (*Row, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		rec, err := r.csv.Read()
		pe := parseError(err)
		switch {
		case err == io.EOF:
			r.err = io.EOF
			return nil, r.err
		case pe != nil && r.unclosedQuote(pe):
			r.err = &RowError{Row: pe.StartLine - r.extraLines,
				Reason: fmt.Sprintf("a quoted cell that starts in this row is never closed, so the rest of the file (%d more lines) would be read as part of it; check the quotes in this row", pe.Line-pe.StartLine)}
			return nil, r.err
		case err != nil && pe == nil:
			r.err = r.fatal(err, rec)
			return nil, r.err
		}
		num := r.place(rec, pe)
		r.guard.start = r.offset()
		if pe == nil && isBlank(rec) {
			continue // SPEC "Bulk Upload": blank rows are skipped, not errors
		}
		r.rows++
		if r.rows > r.opts.MaxRows {
			r.err = &LimitError{Kind: LimitRows, Limit: int64(r.opts.MaxRows)}
			return nil, r.err
		}
		r.decode(num, rec, pe)
		return &r.row, nil
	}
}

// parseError returns the CSV syntax error err holds, or nil. The variable
// errors.As needs escapes to the heap, so it is declared only when there is
// an error: Next must not allocate for every row.
func parseError(err error) *csv.ParseError {
	if err == nil {
		return nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// unclosedQuote reports whether a syntax error is a quoted cell that ran to
// the end of the file across lines: the parser cannot resume after it.
func (r *Reader) unclosedQuote(pe *csv.ParseError) bool {
	return pe.Err == csv.ErrQuote && pe.Line > pe.StartLine &&
		r.guard.eof && r.offset() == r.guard.read
}

// fatal turns an error that ends the file into what Next returns.
func (r *Reader) fatal(err error, rec []string) error {
	if errors.Is(err, errRowTooLong) {
		return &LimitError{Kind: LimitRowBytes, Limit: int64(r.opts.MaxRowBytes), Row: r.nextNum(rec)}
	}
	return readError(fmt.Sprintf("read row %d", r.nextNum(rec)), err)
}

// nextNum guesses the number of the row being read when an error cut it
// short: exact when the parser returned a cell of it, otherwise the row after
// the last one read.
func (r *Reader) nextNum(rec []string) int {
	if len(rec) > 0 {
		line, _ := r.csv.FieldPos(0)
		return line - r.extraLines
	}
	return r.row.Num + 1
}

// place returns the spreadsheet row number of the record just read, and
// accounts for the line breaks inside its quoted cells. Spreadsheet rows are
// the file's lines, blank ones included (encoding/csv skips empty lines, so
// records alone would miscount), except that line breaks inside a quoted cell
// stay in one row.
func (r *Reader) place(rec []string, pe *csv.ParseError) int {
	var first, last int
	if pe != nil {
		// The parser drops the rest of the line where it failed.
		first, last = pe.StartLine, pe.Line
	} else {
		first, _ = r.csv.FieldPos(0)
		end := len(rec) - 1
		last, _ = r.csv.FieldPos(end)
		last += strings.Count(rec[end], "\n")
	}
	num := first - r.extraLines
	r.extraLines += last - first
	return num
}

// isBlank reports whether every cell of rec is empty or white space.
func isBlank(rec []string) bool {
	for _, cell := range rec {
		if strings.TrimSpace(cell) != "" {
			return false
		}
	}
	return true
}

// decode fills r.row from the record of spreadsheet row num.
func (r *Reader) decode(num int, rec []string, pe *csv.ParseError) {
	row := &r.row
	*row = Row{Num: num}
	if pe != nil {
		// The cells after the error are lost: report the syntax alone, with
		// the email as typed when it was read.
		if i := r.col[colEmail]; i < len(rec) {
			row.Email = strings.ToValidUTF8(strings.TrimSpace(unneutralize(rec[i])), "\uFFFD")
		}
		row.addError(r.columnAt(len(rec)), syntaxReason(pe))
		return
	}

	// cell returns the cleaned-up cell of column c, whether the file has the
	// column, and whether the cell is valid UTF-8 (reported here when not).
	// Missing cells of a short row are blank, as a spreadsheet shows them.
	cell := func(c column) (string, bool) {
		i := r.col[c]
		if i < 0 {
			return "", false
		}
		if i >= len(rec) {
			return "", true
		}
		return strings.TrimSpace(unneutralize(rec[i])), true
	}
	valid := func(c column, s string) bool {
		if utf8.ValidString(s) {
			return true
		}
		row.addError(c, "the cell holds bytes that are not UTF-8 text (the file mixes encodings?); save the file as CSV UTF-8")
		return false
	}

	email, _ := cell(colEmail)
	switch {
	case !valid(colEmail, email):
		row.Email = strings.ToValidUTF8(email, "\uFFFD")
	case email == "":
		row.addError(colEmail, "email is required")
	default:
		if e, err := normalizeEmail(email); err != nil {
			row.Email = email
			row.addError(colEmail, err.Error())
		} else {
			row.Email = e
		}
	}

	name := func(c column, dst *roster.Optional[string]) {
		s, ok := cell(c)
		if !ok {
			return
		}
		*dst = roster.Some(s)
		if !valid(c, s) {
			dst.Value = strings.ToValidUTF8(s, "\uFFFD")
			return
		}
		if n, err := roster.CleanName(s); err != nil {
			row.addError(c, err.Error())
		} else {
			dst.Value = n
		}
	}
	name(colFirstName, &row.FirstName)
	name(colLastName, &row.LastName)

	if s, ok := cell(colExpirationDate); ok && s != "" && valid(colExpirationDate, s) {
		if d, err := parseDate(s, r.order); err != nil {
			row.addError(colExpirationDate, err.Error())
		} else {
			row.ExpirationDate = roster.Some(d)
		}
	}

	if s, ok := cell(colPermissions); ok && valid(colPermissions, s) {
		ps, problems := parsePermissions(s)
		for _, p := range problems {
			row.addError(colPermissions, p)
		}
		if problems == nil {
			row.Permissions = roster.Some(ps)
		}
	}

	if s, ok := cell(colWelcomeMessage); ok {
		row.WelcomeMessage = roster.Some(s)
		if valid(colWelcomeMessage, s) {
			msg, problem := cleanWelcome(s)
			row.WelcomeMessage.Value = msg
			if problem != "" {
				row.addError(colWelcomeMessage, problem)
			}
		}
	}

	for _, extra := range rec[min(r.width, len(rec)):] {
		if strings.TrimSpace(extra) != "" {
			// Trailing empty cells are padding some spreadsheets add; a value
			// there belongs to no column.
			row.addError(-1, "row has more cells than the header has columns")
			break
		}
	}
}

// columnAt returns the column at cell position i, or -1.
func (r *Reader) columnAt(i int) column {
	for c, pos := range r.col {
		if pos == i {
			return column(c)
		}
	}
	return -1
}

// syntaxReason explains a CSV syntax error to the person who made the file.
func syntaxReason(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return `a quote (") appears inside a cell that does not start with one: put the whole cell in quotes and double the quotes inside it ("")`
	case errors.Is(pe.Err, csv.ErrQuote):
		return `a quoted cell has a stray quote (") or is not closed: double the quotes inside a quoted cell ("")`
	}
	return "the row is not valid CSV: " + pe.Err.Error()
}
