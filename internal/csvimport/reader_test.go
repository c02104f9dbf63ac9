package csvimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

// Shorthands for expected rows.
func some(s string) roster.Optional[string] { return roster.Some(s) }

func day(y, m, d int) roster.Optional[roster.Date] {
	return roster.Some(roster.Date{Year: y, Month: time.Month(m), Day: d})
}

func perms(ps ...roster.Permission) roster.Optional[roster.Permissions] {
	var set roster.Permissions
	for _, p := range ps {
		set = set.With(p)
	}
	return roster.Some(set)
}

const (
	bareQuote  = `a quote (") appears inside a cell that does not start with one: put the whole cell in quotes and double the quotes inside it ("")`
	validNames = "use one of manage_users, view_analytics, manage_curations, manage_comments"
)

// readAll reads every row of data, copying each (Next reuses its Row).
func readAll(t testing.TB, data []byte, opts Options) (Header, []Row, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		return Header{}, nil, err
	}
	var rows []Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			return r.Header(), rows, nil
		}
		if err != nil {
			return r.Header(), rows, err
		}
		rows = append(rows, *row)
	}
}

func TestReadCorpus(t *testing.T) {
	mu, va, mcu, mco := roster.ManageUsers, roster.ViewAnalytics, roster.ManageCurations, roster.ManageComments
	allColumns := []string{"email", "first_name", "last_name", "expiration_date", "permissions", "welcome_message"}
	tests := []struct {
		file       string
		opts       Options
		wantHeader Header // Index is checked through Columns
		wantRows   []Row
		wantErr    string // a fatal error after wantRows, if any
	}{
		{
			file:       "excel_csv_utf8.csv",
			wantHeader: Header{Row: 1, Columns: Columns, Unknown: []string{"Department"}, Delimiter: ',', Encoding: EncodingUTF8BOM},
			wantRows: []Row{
				{Num: 2, Email: "jose.muller@example.com", FirstName: some("José"), LastName: some("Müller"), ExpirationDate: day(2026, 12, 31), Permissions: perms(mu, va)},
				{Num: 3, Email: "taro.yamada@example.jp", FirstName: some("太郎"), LastName: some("山田"), ExpirationDate: day(2026, 12, 31), Permissions: perms(va)},
				{Num: 4, Email: "zoe@example.com", FirstName: some("Zoë 🎉"), LastName: some("O'Brien"), ExpirationDate: day(2027, 1, 5), Permissions: perms()},
				{Num: 5, Email: "kim@example.com", FirstName: some("Kim"), LastName: some("Ng"), ExpirationDate: day(2026, 12, 31), Permissions: perms(mu, mco)},
			},
		},
		{
			file:       "excel_european_1252.csv",
			opts:       Options{Locale: "en-GB"},
			wantHeader: Header{Row: 1, Columns: Columns, Delimiter: ';', Encoding: EncodingWindows1252},
			wantRows: []Row{
				{Num: 2, Email: "jose.muller@example.es", FirstName: some("José"), LastName: some("Müller"), ExpirationDate: day(2026, 12, 31), Permissions: perms(mu)},
				{Num: 3, Email: "francois@example.fr", FirstName: some("François"), LastName: some("Lefèvre"), ExpirationDate: day(2027, 2, 1), Permissions: perms(va, mco)},
				{Num: 4, Email: "chloe@example.fr", FirstName: some("Chloé"), LastName: some("Œuvray"), ExpirationDate: day(2026, 12, 31), Permissions: perms()},
				{Num: 5, Email: "soren@example.dk", FirstName: some("Søren"), LastName: some("Ærø"), Permissions: perms(), Errors: []RowError{
					{5, "expiration_date", `"12/31/2026" is not a date: there is no month 31; use YYYY-MM-DD or DD/MM/YYYY`},
				}},
			},
		},
		{
			file:       "excel_unicode_text.txt",
			wantHeader: Header{Row: 1, Columns: Columns, Delimiter: '\t', Encoding: EncodingUTF16LE},
			wantRows: []Row{
				{Num: 2, Email: "taro.yamada@example.jp", FirstName: some("太郎"), LastName: some("山田"), ExpirationDate: day(2026, 12, 31), Permissions: perms(mu)},
				{Num: 3, Email: "joy@example.com", FirstName: some("😀 Joy"), LastName: some("Park"), Permissions: perms()},
				{Num: 4, Email: "ann@example.com", FirstName: some(`Ann "Nan"`), LastName: some("Lee"), ExpirationDate: day(2027, 3, 4), Permissions: perms(va)},
			},
		},
		{
			file:       "google_sheets.csv",
			wantHeader: Header{Row: 1, Columns: allColumns, Unknown: []string{"Notes"}, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows: []Row{
				{Num: 2, Email: "ada@example.com", FirstName: some("Ada"), LastName: some("Lovelace, Countess"), ExpirationDate: day(2026, 12, 31), Permissions: perms(mu, va), WelcomeMessage: some("Welcome, Ada!\nSee you \"soon\".")},
				{Num: 3, Email: "bob@example.com", FirstName: some("Bob"), LastName: some(`O"Neil`), ExpirationDate: day(2026, 12, 31), Permissions: perms(), WelcomeMessage: some("")},
				{Num: 4, Email: "carol@example.com", FirstName: some("Carol"), LastName: some("King"), ExpirationDate: day(2027, 6, 30), Permissions: perms(mcu), WelcomeMessage: some("Hi")},
				{Num: 5, Email: "dave@example.com", FirstName: some("Dave"), LastName: some("Smith"), Permissions: perms(va), WelcomeMessage: some("")},
			},
		},
		{
			file:       "apple_numbers.csv",
			wantHeader: Header{Row: 1, Columns: Columns, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows: []Row{
				{Num: 2, Email: "amy@example.com", FirstName: some("Amy"), LastName: some("Adams"), ExpirationDate: day(2026, 6, 30), Permissions: perms(va)},
				{Num: 4, Email: "ben@example.com", FirstName: some("Ben"), LastName: some("Brown"), Permissions: perms(mu)},
				{Num: 6, Email: "cy@example.com", FirstName: some("Cy"), LastName: some("Chen"), ExpirationDate: day(2026, 7, 4), Permissions: perms()},
			},
		},
		{
			file:       "errors_en_us.csv",
			wantHeader: Header{Row: 1, Columns: allColumns, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows: []Row{
				{Num: 2, Email: "not-an-email", FirstName: some("Ann"), LastName: some("Lee"), ExpirationDate: day(2026, 12, 31), Permissions: perms(mu), WelcomeMessage: some(""), Errors: []RowError{
					{2, "email", "“not-an-email” is not a valid email address"},
				}},
				{Num: 3, Email: "b@example.com", FirstName: some("Bob"), LastName: some(""), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
					{3, "expiration_date", `"31/12/2026" is not a date: there is no month 31; use YYYY-MM-DD or MM/DD/YYYY`},
				}},
				{Num: 4, Email: "c@example.com", FirstName: some("Cy"), LastName: some(""), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
					{4, "expiration_date", `"2026-02-30" is not a date: February 2026 has 28 days`},
				}},
				{Num: 5, Email: "d@example.com", FirstName: some("Di"), LastName: some(""), WelcomeMessage: some(""), Errors: []RowError{
					{5, "permissions", `unknown permission "fly_planes"; ` + validNames},
				}},
				{Num: 6, Email: "", FirstName: some("Eve"), LastName: some("Ng"), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
					{6, "email", "email is required"},
				}},
				{Num: 7, Email: "f@example.com", FirstName: some("Fay"), LastName: some(""), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
					{7, "", "row has more cells than the header has columns"},
				}},
				{Num: 8, Email: "g@example.com", FirstName: some("Gus"), LastName: some(""), Permissions: perms(), WelcomeMessage: some("")},
				{Num: 9, Email: "BAD", FirstName: some("Hal\x01"), LastName: some(""), WelcomeMessage: some(""), Errors: []RowError{
					{9, "email", "“bad” is not a valid email address"},
					{9, "first_name", "a name cannot contain line breaks or control characters"},
					{9, "expiration_date", `"tomorrow" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
					{9, "permissions", `unknown permission "admin"; ` + validNames},
					{9, "permissions", `unknown permission "root"; ` + validNames},
				}},
				{Num: 10, Email: "i@example.com", FirstName: some("Ivy"), LastName: some(""), ExpirationDate: day(2026, 12, 31), Permissions: perms(), WelcomeMessage: some(strings.Repeat("x", 2001)), Errors: []RowError{
					{10, "welcome_message", "use at most 2000 characters (this one has 2001)"},
				}},
				{Num: 11, Email: "j@example.com", Errors: []RowError{{11, "first_name", bareQuote}}},
				{Num: 12, Email: "k@example.com", FirstName: some("Kim"), LastName: some(""), ExpirationDate: day(2027, 1, 1), Permissions: perms(), WelcomeMessage: some("")},
			},
		},
		{
			file:       "multiline_blank_rows.csv",
			wantHeader: Header{Row: 1, Columns: []string{"email", "first_name", "welcome_message"}, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows: []Row{
				{Num: 2, Email: "a@example.com", FirstName: some("A"), WelcomeMessage: some("line one\nline two")},
				{Num: 4, Email: "b@example.com", FirstName: some("B"), WelcomeMessage: some("x\n\ny")},
				{Num: 6, Email: "c@example.com", FirstName: some("C"), WelcomeMessage: some("plain")},
			},
		},
		{
			file:       "unclosed_quote.csv",
			wantHeader: Header{Row: 1, Columns: []string{"email", "first_name"}, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows:   []Row{{Num: 2, Email: "a@example.com", FirstName: some("Ann")}},
			wantErr:    "row 3: a quoted cell that starts in this row is never closed, so the rest of the file (2 more lines) would be read as part of it; check the quotes in this row",
		},
		{
			file:       "mac_classic_cr.csv",
			wantHeader: Header{Row: 1, Columns: []string{"email", "first_name"}, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows: []Row{
				{Num: 2, Email: "a@example.com", FirstName: some("Ann")},
				{Num: 3, Email: "b@example.com", FirstName: some("Bob")},
			},
		},
		{
			file:       "leading_blank_rows.csv",
			wantHeader: Header{Row: 3, Columns: []string{"email", "first_name"}, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows:   []Row{{Num: 4, Email: "a@example.com", FirstName: some("Ann")}},
		},
		{
			file:       "email_only.csv",
			wantHeader: Header{Row: 1, Columns: []string{"email"}, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows:   []Row{{Num: 2, Email: "a@example.com"}, {Num: 3, Email: "b@example.com"}},
		},
		{
			file:       "roster_export.csv",
			wantHeader: Header{Row: 1, Columns: allColumns, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows: []Row{
				{Num: 2, Email: "eve@example.com", FirstName: some(`=HYPERLINK("http://evil.example")`), LastName: some("+44 20"), ExpirationDate: day(2026, 12, 31), Permissions: perms(mu, mco), WelcomeMessage: some("=1+1 is not a formula\nSecond line")},
				{Num: 3, Email: "-dash@example.com", FirstName: some("-Dash"), LastName: some("@handle"), Permissions: perms(), WelcomeMessage: some("")},
				{Num: 4, Email: "quote@example.com", FirstName: some("'=already quoted"), LastName: some("O'Neil"), ExpirationDate: day(2027, 1, 1), Permissions: perms(va), WelcomeMessage: some("'plain")},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			h, rows, err := readAll(t, readFile(t, tc.file), tc.opts)
			if err != nil && (tc.wantErr == "" || err.Error() != tc.wantErr) {
				t.Fatalf("reading %s: %v; want %q", tc.file, err, tc.wantErr)
			}
			if err == nil && tc.wantErr != "" {
				t.Errorf("reading %s: no error; want %q", tc.file, tc.wantErr)
			}
			checkHeader(t, h, tc.wantHeader)
			checkRows(t, rows, tc.wantRows)
		})
	}
}

func TestReadInputs(t *testing.T) {
	two := []string{"email", "first_name"}
	tests := []struct {
		name       string
		in         string
		wantHeader Header
		wantRows   []Row
		wantErr    string
	}{
		{
			name:       "Excel's sep= line",
			in:         "sep=;\r\nemail;first_name\r\na@b.co;Ann\r\n",
			wantHeader: Header{Row: 1, Columns: two, Delimiter: ';', Encoding: EncodingUTF8},
			wantRows:   []Row{{Num: 2, Email: "a@b.co", FirstName: some("Ann")}},
		},
		{
			name:       "sep= line, then a quote never closed",
			in:         "\uFEFFSEP=,\nemail,first_name\na@b.co,\"x\ny\nz\n",
			wantHeader: Header{Row: 1, Columns: two, Delimiter: ',', Encoding: EncodingUTF8BOM},
			wantErr:    "row 2: a quoted cell that starts in this row is never closed, so the rest of the file (2 more lines) would be read as part of it; check the quotes in this row",
		},
		{
			name:       "spaces after commas",
			in:         "email, first_name\na@b.co, \"Lee, Ann\"\n",
			wantHeader: Header{Row: 1, Columns: two, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows:   []Row{{Num: 2, Email: "a@b.co", FirstName: some("Lee, Ann")}},
		},
		{
			name:       "empty cells in a tab-separated file",
			in:         "email\tfirst_name\tlast_name\na@b.co\t\tLee\n",
			wantHeader: Header{Row: 1, Columns: []string{"email", "first_name", "last_name"}, Delimiter: '\t', Encoding: EncodingUTF8},
			wantRows:   []Row{{Num: 2, Email: "a@b.co", FirstName: some(""), LastName: some("Lee")}},
		},
		{
			name:       "a quote never closed on the last line",
			in:         "email,first_name\na@b.co,\"Ann",
			wantHeader: Header{Row: 1, Columns: two, Delimiter: ',', Encoding: EncodingUTF8},
			wantRows: []Row{{Num: 2, Email: "a@b.co", Errors: []RowError{
				{2, "first_name", `a quoted cell has a stray quote (") or is not closed: double the quotes inside a quoted cell ("")`}}}},
		},
		{
			name:       "UTF-16BE",
			in:         "\xFE\xFF\x00e\x00m\x00a\x00i\x00l\x00\n\x00a\x00@\x00b\x00.\x00c\x00o",
			wantHeader: Header{Row: 1, Columns: []string{"email"}, Delimiter: ',', Encoding: EncodingUTF16BE},
			wantRows:   []Row{{Num: 2, Email: "a@b.co"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, rows, err := readAll(t, []byte(tc.in), Options{})
			if err != nil && (tc.wantErr == "" || err.Error() != tc.wantErr) {
				t.Fatalf("reading %q: %v; want %q", tc.in, err, tc.wantErr)
			}
			if err == nil && tc.wantErr != "" {
				t.Errorf("reading %q: no error; want %q", tc.in, tc.wantErr)
			}
			checkHeader(t, h, tc.wantHeader)
			checkRows(t, rows, tc.wantRows)
		})
	}
}

func checkHeader(t *testing.T, got, want Header) {
	t.Helper()
	idx := got.Index
	got.Index = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Header() = %+v\nwant       %+v", got, want)
	}
	if len(idx) != len(got.Columns) {
		t.Errorf("Header().Index = %v, want one entry per column of %v", idx, got.Columns)
	}
	for _, c := range got.Columns {
		if _, ok := idx[c]; !ok {
			t.Errorf("Header().Index = %v, missing %q", idx, c)
		}
	}
}

func checkRows(t *testing.T, got, want []Row) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("missing row %+v", want[i])
		case i >= len(want):
			t.Errorf("unexpected row %+v", got[i])
		case !reflect.DeepEqual(got[i], want[i]):
			t.Errorf("row %d:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
}

func TestRefusedFiles(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{"missing_email.csv", `no "email" column: expected email, first_name, last_name, expiration_date, permissions; found "Name", "Mail", "Department"`},
		{"duplicate_header.csv", `the "email" column appears twice ("Email" and "E-mail"): keep one`},
		{"no_header.csv", `no "email" column: expected email, first_name, last_name, expiration_date, permissions; found "ada@example.com", "Ada", "Lovelace". The first row looks like data: add a header row (email,first_name,last_name,expiration_date,permissions)`},
		{"workbook.xlsx", "this is an Excel workbook (.xlsx), not a CSV file: in Excel choose File > Save As > CSV UTF-8"},
		{"workbook.xls", "this is an Excel 97-2003 workbook (.xls), not a CSV file: in Excel choose File > Save As > CSV UTF-8"},
		{"nul_bytes.csv", "the file contains binary data (NUL bytes), not CSV text: in your spreadsheet choose File > Save As > CSV UTF-8"},
		{"utf16le_no_bom.csv", "the file looks like UTF-16 text without a byte order mark, which cannot be read reliably: in Excel choose File > Save As > CSV UTF-8"},
		{"empty.csv", "the file is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(readFile(t, tc.file)), Options{})
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("NewReader(%s) error = %v (%T), want a *HeaderError", tc.file, err, err)
			}
			if he.Error() != tc.want {
				t.Errorf("NewReader(%s) error =\n %q\nwant\n %q", tc.file, he.Error(), tc.want)
			}
		})
	}
}

func TestRefusedInputs(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"only a BOM", "\uFEFF", "the file is empty"},
		{"a BOM and NUL bytes", "\uFEFFemail\n\x00\x00\n", "the file contains binary data (NUL bytes), not CSV text: in your spreadsheet choose File > Save As > CSV UTF-8"},
		{"UTF-32", "\xFF\xFE\x00\x00e\x00\x00\x00", "the file is UTF-32 text, which Roster does not read: in your spreadsheet choose File > Save As > CSV UTF-8"},
		{"only blank lines", "\n\r\n,,,\n  \n", "the file is empty"},
		{"UTF-16 BOM and nothing", "\xFF\xFE", "the file is empty"},
		{"header with a bare quote", "email,first\"name\na@b.co,x\n", "row 1 (the header): " + bareQuote},
		{"blank header cells only besides unknown", "Name,,\nAda,,\n", `no "email" column: expected email, first_name, last_name, expiration_date, permissions; found "Name"`},
		{"twice under aliases", "Surname,Last Name,email\n", `the "last_name" column appears twice ("Surname" and "Last Name"): keep one`},
		{"ods", "PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00mimetypeapplication/vnd.oasis.opendocument.spreadsheet", "this is an OpenDocument spreadsheet (.ods), not a CSV file: choose File > Save As and the Text CSV format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tc.in), Options{})
			var he *HeaderError
			if !errors.As(err, &he) || he.Error() != tc.want {
				t.Errorf("NewReader(%q) error = %v, want *HeaderError %q", tc.in, err, tc.want)
			}
		})
	}
}

func TestHeaderSpellings(t *testing.T) {
	tests := []struct {
		header      string
		wantColumns []string
		wantUnknown []string
		wantDelim   rune
	}{
		{"email", []string{"email"}, nil, ','},
		{"EMAIL;First-Name;last name", []string{"email", "first_name", "last_name"}, nil, ';'},
		{"E-mail\tGiven name\tFamily Name\tExpires\tPermission\tWelcome Message", []string{"email", "first_name", "last_name", "expiration_date", "permissions", "welcome_message"}, nil, '\t'},
		{"Email Address,Forename,Surname,Expiry Date,Department,Team", []string{"email", "first_name", "last_name", "expiration_date"}, []string{"Department", "Team"}, ','},
		{" email , first_name ,,,", []string{"email", "first_name"}, nil, ','},
		{`"Email","Name, full",Expiration`, []string{"email", "expiration_date"}, []string{"Name, full"}, ','},
		// The delimiter that finds columns wins over the one that splits more.
		{"email;first,name;last,name", []string{"email"}, []string{"first,name", "last,name"}, ';'},
		{"\uFEFFemail,first_name", []string{"email", "first_name"}, nil, ','},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tc.header+"\n"), Options{})
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			h := r.Header()
			if !reflect.DeepEqual(h.Columns, tc.wantColumns) || !reflect.DeepEqual(h.Unknown, tc.wantUnknown) || h.Delimiter != tc.wantDelim {
				t.Errorf("Header() columns %q, unknown %q, delimiter %q; want %q, %q, %q",
					h.Columns, h.Unknown, h.Delimiter, tc.wantColumns, tc.wantUnknown, tc.wantDelim)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next() on a header-only file = %v, want io.EOF", err)
			}
		})
	}
}

func TestRowCells(t *testing.T) {
	const header = "email,first_name,last_name,expiration_date,permissions,welcome_message\n"
	tests := []struct {
		name string
		line string
		opts Options
		want Row
	}{
		{"short row: missing cells are blank", "a@b.co",
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some(""), LastName: some(""), Permissions: perms(), WelcomeMessage: some("")}},
		{"spaces around cells", "  A@B.CO  , Ann , Lee , 2026-12-31 , manage_users ;  view_analytics ; ,  hi  ",
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some("Ann"), LastName: some("Lee"), ExpirationDate: day(2026, 12, 31), Permissions: perms(roster.ManageUsers, roster.ViewAnalytics), WelcomeMessage: some("hi")}},
		{"permission labels and commas", `a@b.co,,,,"Manage Curations, MANAGE_COMMENTS",`,
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some(""), LastName: some(""), Permissions: perms(roster.ManageCurations, roster.ManageComments), WelcomeMessage: some("")}},
		{"en-GB date", "a@b.co,,,31/12/26,,",
			Options{Locale: "en-GB"}, Row{Num: 2, Email: "a@b.co", FirstName: some(""), LastName: some(""), ExpirationDate: day(2026, 12, 31), Permissions: perms(), WelcomeMessage: some("")}},
		{"neutralized cells", "'+a@b.co,'=Ann,'-Lee,,,'@hi",
			Options{}, Row{Num: 2, Email: "+a@b.co", FirstName: some("=Ann"), LastName: some("-Lee"), Permissions: perms(), WelcomeMessage: some("@hi")}},
		{"a quote before other text stays", "a@b.co,'Ann,O'Lee,,,'hi",
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some("'Ann"), LastName: some("O'Lee"), Permissions: perms(), WelcomeMessage: some("'hi")}},
		{"welcome line breaks become LF", "a@b.co,,,,,\"one\r\ntwo\rthree\"",
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some(""), LastName: some(""), Permissions: perms(), WelcomeMessage: some("one\ntwo\nthree")}},
		{"welcome of exactly 2000 characters", "a@b.co,,,,," + strings.Repeat("é", 2000),
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some(""), LastName: some(""), Permissions: perms(), WelcomeMessage: some(strings.Repeat("é", 2000))}},
		{"welcome with a control character", "a@b.co,,,,,hi\x7fthere",
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some(""), LastName: some(""), Permissions: perms(), WelcomeMessage: some("hi\x7fthere"), Errors: []RowError{
				{2, "welcome_message", "a welcome message cannot contain control characters"}}}},
		{"name too long", "a@b.co," + strings.Repeat("n", 101) + ",,,,",
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some(strings.Repeat("n", 101)), LastName: some(""), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
				{2, "first_name", "use at most 100 characters"}}}},
		{"email with a display name", `"Ada <ada@b.co>",,,,,`,
			Options{}, Row{Num: 2, Email: "Ada <ada@b.co>", FirstName: some(""), LastName: some(""), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
				{2, "email", "“ada <ada@b.co>” is not a valid email address"}}}},
		{"US date in a GB file", "a@b.co,,,12/31/2026,,",
			Options{Locale: "en-GB"}, Row{Num: 2, Email: "a@b.co", FirstName: some(""), LastName: some(""), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
				{2, "expiration_date", `"12/31/2026" is not a date: there is no month 31; use YYYY-MM-DD or DD/MM/YYYY`}}}},
		{"blank email with other cells", ",Ann,,,,",
			Options{}, Row{Num: 2, FirstName: some("Ann"), LastName: some(""), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
				{2, "email", "email is required"}}}},
		{"extra cells after padding", "a@b.co,,,,,,, ,x",
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some(""), LastName: some(""), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
				{2, "", "row has more cells than the header has columns"}}}},
		{"stray quote in a quoted cell", `a@b.co,"Ann"x,Lee,,,`,
			Options{}, Row{Num: 2, Email: "a@b.co", Errors: []RowError{
				{2, "first_name", `a quoted cell has a stray quote (") or is not closed: double the quotes inside a quoted cell ("")`}}}},
		{"bare quote in the email", `a"b@c.co,Ann`,
			Options{}, Row{Num: 2, Errors: []RowError{{2, "email", bareQuote}}}},
		{"invalid UTF-8 in a UTF-8 file", "a@b.co,Jos\xe9,\xff,,,",
			Options{}, Row{Num: 2, Email: "a@b.co", FirstName: some("Jos\uFFFD"), LastName: some("\uFFFD"), Permissions: perms(), WelcomeMessage: some(""), Errors: []RowError{
				{2, "first_name", "the cell holds bytes that are not UTF-8 text (the file mixes encodings?); save the file as CSV UTF-8"},
				{2, "last_name", "the cell holds bytes that are not UTF-8 text (the file mixes encodings?); save the file as CSV UTF-8"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The BOM makes the file UTF-8 whatever bytes follow.
			in := "\uFEFF" + header + tc.line + "\n"
			_, rows, err := readAll(t, []byte(in), tc.opts)
			if err != nil {
				t.Fatalf("reading %q: %v", in, err)
			}
			checkRows(t, rows, []Row{tc.want})
		})
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bigFile returns a header and n valid rows.
func bigFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("email,first_name\n")
	for i := range n {
		fmt.Fprintf(&b, "user%d@example.com,User\n", i)
	}
	return b.Bytes()
}

func TestLimits(t *testing.T) {
	big := bigFile(200_000) // about 5 MiB
	unclosed := append([]byte("email,first_name\na@b.co,Ann\nb@b.co,\"Bob\n"), big[len("email,first_name\n"):]...)
	tests := []struct {
		name     string
		data     []byte
		opts     Options
		wantRows int         // rows read before the error; -1: any number
		wantErr  *LimitError // nil: the file is read to the end
		wantMsg  string
		maxRead  int64 // the reader must stop before reading more than this
	}{
		{"rows: exactly the limit", bigFile(10), Options{MaxRows: 10}, 10, nil, "", 1 << 20},
		{"rows: one more", big, Options{MaxRows: 10}, 10,
			&LimitError{Kind: LimitRows, Limit: 10}, "the file has more than 10 rows", 3 * bufSize},
		{"bytes: exactly the limit", bigFile(100), Options{MaxBytes: int64(len(bigFile(100)))}, 100, nil, "", 1 << 20},
		{"bytes: over, within the sniffed prefix", big, Options{MaxBytes: 1000}, 0,
			&LimitError{Kind: LimitBytes, Limit: 1000}, "the file is larger than 1,000 bytes", 1001},
		{"bytes: over, while reading rows", big, Options{MaxBytes: 1 << 20}, -1,
			&LimitError{Kind: LimitBytes, Limit: 1 << 20}, "the file is larger than 1 MiB", 1<<20 + 1},
		{"row bytes: a quote never closed", unclosed, Options{MaxRowBytes: 100 << 10}, 1,
			&LimitError{Kind: LimitRowBytes, Limit: 100 << 10, Row: 3}, "row 3 is longer than 100 KiB; is a quoted cell missing its closing quote?", 100<<10 + 4*bufSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingReader{r: bytes.NewReader(tc.data)}
			rows := 0
			r, err := NewReader(src, tc.opts)
			for err == nil {
				var row *Row
				if row, err = r.Next(); err == nil {
					rows++
					if len(row.Errors) > 0 {
						t.Errorf("row %d: %v", row.Num, row.Errors)
					}
				}
			}
			if tc.wantErr == nil {
				if err != io.EOF {
					t.Errorf("error = %v, want io.EOF", err)
				}
			} else {
				var le *LimitError
				if !errors.As(err, &le) || *le != *tc.wantErr || le.Error() != tc.wantMsg {
					t.Errorf("error = %#v (%v), want %#v (%s)", err, err, tc.wantErr, tc.wantMsg)
				}
				if r != nil {
					if _, again := r.Next(); again != err {
						t.Errorf("Next() after %v = %v, want the same error again", err, again)
					}
				}
			}
			if tc.wantRows >= 0 && rows != tc.wantRows {
				t.Errorf("read %d rows, want %d", rows, tc.wantRows)
			}
			if src.n > tc.maxRead {
				t.Errorf("read %d bytes of %d, want at most %d", src.n, len(tc.data), tc.maxRead)
			}
		})
	}
}

func TestLimitMessages(t *testing.T) {
	tests := []struct {
		err  *LimitError
		want string
	}{
		{&LimitError{Kind: LimitRows, Limit: DefaultMaxRows}, "the file has more than 1,000,000 rows"},
		{&LimitError{Kind: LimitBytes, Limit: DefaultMaxBytes}, "the file is larger than 256 MiB"},
		{&LimitError{Kind: LimitBytes, Limit: 1}, "the file is larger than 1 byte"},
		{&LimitError{Kind: LimitBytes, Limit: 3 << 30}, "the file is larger than 3 GiB"},
		{&LimitError{Kind: LimitRowBytes, Limit: DefaultMaxRowBytes, Row: 12}, "row 12 is longer than 1 MiB; is a quoted cell missing its closing quote?"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%#v.Error() = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestRowErrorMessage(t *testing.T) {
	tests := []struct {
		err  RowError
		want string
	}{
		{RowError{Row: 7, Column: "expiration_date", Reason: "bad"}, "row 7, expiration_date: bad"},
		{RowError{Row: 8, Reason: "too many cells"}, "row 8: too many cells"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%#v.Error() = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestEncodingDecidedLate covers files whose first non-ASCII byte comes after
// the first 64 KiB, and a UTF-8 file with a Windows-1252 byte more than 64 KiB
// after its first non-ASCII one.
func TestEncodingDecidedLate(t *testing.T) {
	ascii := bigFile(5000)                                 // about 120 KiB: header and rows 2 to 5001
	moreASCII := bigFile(5000)[len("email,first_name\n"):] // rows without a header
	tests := []struct {
		name         string
		tail         string
		wantLast     Row
		wantEncoding string
	}{
		{"Windows-1252", "jose@example.com,Jos\xe9\n",
			Row{Num: 5002, Email: "jose@example.com", FirstName: some("José")}, EncodingWindows1252},
		{"UTF-8", "jose@example.com,José\n",
			Row{Num: 5002, Email: "jose@example.com", FirstName: some("José")}, EncodingUTF8},
		{"UTF-8, and Windows-1252 further on", "jose@example.com,José\n" + string(moreASCII) + "zoe@example.com,Zo\xeb\n",
			Row{Num: 10003, Email: "zoe@example.com", FirstName: some("Zo\uFFFD"), Errors: []RowError{
				{10003, "first_name", "the cell holds bytes that are not UTF-8 text (the file mixes encodings?); save the file as CSV UTF-8"}}},
			EncodingUTF8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(string(ascii)+tc.tail), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Header().Encoding; got != EncodingUTF8 {
				t.Errorf("Header().Encoding before the first non-ASCII byte = %q, want %q", got, EncodingUTF8)
			}
			var last Row
			for {
				row, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if row.Num != tc.wantLast.Num && len(row.Errors) > 0 {
					t.Errorf("row %d: %v", row.Num, row.Errors)
				}
				last = *row
			}
			checkRows(t, []Row{last}, []Row{tc.wantLast})
			if got := r.Header().Encoding; got != tc.wantEncoding {
				t.Errorf("Header().Encoding at the end = %q, want %q", got, tc.wantEncoding)
			}
		})
	}
}

func TestRowReuse(t *testing.T) {
	r, err := NewReader(strings.NewReader("email\nbad\nb@example.com\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	saved := *first
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if saved.Num != 2 || saved.Email != "bad" || len(saved.Errors) != 1 || saved.Errors[0].Row != 2 {
		t.Errorf("a copy of row 2 changed after Next: %+v", saved)
	}
}

func TestUnknownLocale(t *testing.T) {
	_, err := NewReader(strings.NewReader("email\n"), Options{Locale: "fr-FR"})
	if err == nil || !strings.Contains(err.Error(), `unknown locale "fr-FR"`) {
		t.Errorf("NewReader with locale fr-FR: error = %v, want unknown locale", err)
	}
}

// errReader fails after its data.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReadErrorIsWrapped(t *testing.T) {
	boom := errors.New("connection reset")
	big := bigFile(10_000)
	r, err := NewReader(&errReader{data: big, err: boom}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
	}
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "csvimport: read row ") {
		t.Errorf("Next() error = %v, want a wrapped %v", err, boom)
	}
	if _, err := NewReader(&errReader{err: boom}, Options{}); !errors.Is(err, boom) {
		t.Errorf("NewReader error = %v, want a wrapped %v", err, boom)
	}
}

func TestTemplate(t *testing.T) {
	tmpl := Template()
	if !bytes.HasPrefix(tmpl, []byte("email,first_name,last_name,expiration_date,permissions\r\n")) {
		t.Errorf("Template() header = %q", tmpl[:bytes.IndexByte(tmpl, '\n')+1])
	}
	h, rows, err := readAll(t, tmpl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h.Columns, Columns) || len(h.Unknown) != 0 {
		t.Errorf("Template() header columns %q unknown %q, want %q", h.Columns, h.Unknown, Columns)
	}
	if len(rows) != 2 {
		t.Fatalf("Template() has %d rows, want 2", len(rows))
	}
	for _, row := range rows {
		if len(row.Errors) > 0 {
			t.Errorf("Template() row %d: %v", row.Num, row.Errors)
		}
	}
	if rows[0].Permissions.Value == 0 || rows[0].ExpirationDate.Value.IsZero() {
		t.Errorf("Template() first row %+v, want permissions and a date", rows[0])
	}
	Template()[0] = 'X'
	if Template()[0] != 'e' {
		t.Error("Template() returns shared bytes")
	}
}
