package csvimport

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

var update = flag.Bool("update", false, "rewrite the files of testdata/ from corpus()")

// corpus returns the test files, named as under testdata/, shaped like the
// exports of the spreadsheets people use. They are committed as real files;
// TestCorpusFiles checks the two agree (go test -run TestCorpusFiles -update
// rewrites them).
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	encode := func(e encoding.Encoding, s string) []byte {
		b, err := e.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatalf("encode %q: %v", s, err)
		}
		return b
	}
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

	var export bytes.Buffer
	w := NewWriter(&export)
	for _, rec := range [][]string{
		{"email", "first_name", "last_name", "expiration_date", "permissions", "welcome_message"},
		{"eve@example.com", "=HYPERLINK(\"http://evil.example\")", "+44 20", "2026-12-31", "manage_users;manage_comments", "=1+1 is not a formula\nSecond line"},
		{"-dash@example.com", "-Dash", "@handle", "", "", ""},
		{"quote@example.com", "'=already quoted", "O'Neil", "2027-01-01", "view_analytics", "'plain"},
	} {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	return map[string][]byte{
		// Excel "CSV UTF-8 (Comma delimited)": BOM, CRLF, header spellings
		// people type, an unknown column, dates ISO and en-US.
		"excel_csv_utf8.csv": append([]byte("\uFEFF"), crlf(
			"E-mail,First Name,LAST_NAME,Expiration Date,Permissions,Department\n"+
				"Jose.Muller@Example.com,José,Müller,2026-12-31,manage_users;view_analytics,Sales\n"+
				"taro.yamada@example.jp,太郎,山田,12/31/2026,view_analytics,営業\n"+
				"zoe@example.com,Zoë 🎉,O'Brien,1/5/27,,Marketing\n"+
				"kim@example.com,Kim,Ng,2026-12-31 00:00:00,Manage Users; Manage Comments,\n")...),

		// Excel "CSV" in a European locale on Windows: Windows-1252, semicolons
		// (so a permission list must be quoted), en-GB dates.
		"excel_european_1252.csv": encode(charmap.Windows1252, crlf(
			"Email;First name;Last name;Expires;Permission\n"+
				"jose.muller@example.es;José;Müller;31/12/2026;manage_users\n"+
				"francois@example.fr;François;Lefèvre;1/2/27;\"view_analytics;manage_comments\"\n"+
				"chloe@example.fr;Chloé;Œuvray;2026-12-31;\n"+
				"soren@example.dk;Søren;Ærø;12/31/2026;\n")),

		// Excel "Unicode Text": UTF-16LE with BOM, tabs, CRLF, quotes where needed.
		"excel_unicode_text.txt": encode(unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), crlf(
			"email\tfirst_name\tlast_name\texpiration_date\tpermissions\n"+
				"taro.yamada@example.jp\t太郎\t山田\t2026-12-31\tmanage_users\n"+
				"joy@example.com\t😀 Joy\tPark\t\t\n"+
				"\"ann@example.com\"\t\"Ann \"\"Nan\"\"\"\tLee\t3/4/2027\tview_analytics\n")),

		// Google Sheets "Download as CSV": CRLF, no final newline, quoted cells
		// with commas, doubled quotes and line breaks.
		"google_sheets.csv": []byte(crlf(
			"email,first_name,last_name,expiration_date,permissions,welcome_message,Notes\n" +
				"ada@example.com,Ada,\"Lovelace, Countess\",2026-12-31,\"manage_users, view_analytics\",\"Welcome, Ada!\nSee you \"\"soon\"\".\",\n" +
				"bob@example.com,Bob,\"O\"\"Neil\",12/31/2026,,\"\",\"\"\n" +
				"carol@example.com,Carol,King,2027-06-30T00:00:00,manage_curations,Hi,\"multi\nline\nnote\"\n" +
				"dave@example.com,Dave,Smith,,view_analytics,,")),

		// Apple Numbers: trailing separators in every row, a blank row in the
		// middle, an empty line, and blank padding rows at the end.
		"apple_numbers.csv": []byte(
			"Email,First Name,Last Name,Expiration Date,Permissions,,\n" +
				"amy@example.com,Amy,Adams,6/30/26,view_analytics,,\n" +
				",,,,,,\n" +
				"ben@example.com,Ben,Brown,,manage_users,,\n" +
				"\n" +
				"cy@example.com,Cy,Chen,07/04/2026,,,\n" +
				",,,,,,\n" +
				",,,,,,\n" +
				",,,,,,\n"),

		// Every kind of bad cell, in an en-US file.
		"errors_en_us.csv": []byte(
			"email,first_name,last_name,expiration_date,permissions,welcome_message\n" +
				"not-an-email,Ann,Lee,2026-12-31,manage_users,\n" +
				"b@example.com,Bob,,31/12/2026,,\n" +
				"c@example.com,Cy,,2026-02-30,,\n" +
				"d@example.com,Di,,,manage_users;fly_planes;,\n" +
				",Eve,Ng,,,\n" +
				"f@example.com,Fay,,,,,surprise\n" +
				"g@example.com,Gus,,,,,,,\n" +
				"BAD,Hal\x01,,tomorrow,admin;root,\n" +
				"i@example.com,Ivy,,2026-12-31,," + strings.Repeat("x", MaxWelcomeMessage+1) + "\n" +
				"j@example.com,Jo\"e,Smith,,,\n" +
				"k@example.com,Kim,,1/1/2027 0:00,,\n"),

		// Row numbers: line breaks in quoted cells, an empty line inside
		// quotes, blank rows between.
		"multiline_blank_rows.csv": []byte(
			"email,first_name,welcome_message\n" +
				"a@example.com,A,\"line one\nline two\"\n" +
				"\n" +
				"b@example.com,B,\"x\n\ny\"\n" +
				",,\n" +
				"c@example.com,C,plain\n"),

		// A quote that is never closed swallows the rest of the file.
		"unclosed_quote.csv": []byte(
			"email,first_name\n" +
				"a@example.com,Ann\n" +
				"b@example.com,\"Bob\n" +
				"c@example.com,Cy\n" +
				"d@example.com,Di\n"),

		// Excel for Mac's "CSV (Macintosh)": carriage returns only.
		"mac_classic_cr.csv": []byte("email,first_name\ra@example.com,Ann\rb@example.com,Bob\r"),

		// Blank rows before the header: it is not row 1 then.
		"leading_blank_rows.csv": []byte("\n,,\nemail,first_name\na@example.com,Ann\n"),

		// The smallest useful file.
		"email_only.csv": []byte("email\na@example.com\n B@Example.COM \n"),

		// A file Roster wrote (the export): formulas neutralized.
		"roster_export.csv": export.Bytes(),

		// Files that are refused whole.
		"missing_email.csv":    []byte("Name,Mail,Department\nAda,ada@example.com,R&D\n"),
		"duplicate_header.csv": []byte("Email,First Name,E-mail\na@example.com,Ann,a@example.com\n"),
		"no_header.csv":        []byte("ada@example.com,Ada,Lovelace\n"),
		"workbook.xlsx":        []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml\xec\x97\xcbn\xdb0"),
		"workbook.xls":         []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00\x00\x00\x00\x00>\x00\x03\x00\xfe\xff"),
		"nul_bytes.csv":        []byte("email,first_name\n\x00\x01\x02\x03\xff\xfe\x00\x00junk\x00\n"),
		"utf16le_no_bom.csv":   encode(unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "email,first_name\r\na@example.com,Ann\r\n"),
		"empty.csv":            {},
	}
}

func TestCorpusFiles(t *testing.T) {
	for name, want := range corpus(t) {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run go test -run TestCorpusFiles -update)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from corpus() (run go test -run TestCorpusFiles -update)", path)
		}
	}
}

// readFile reads a testdata file.
func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
