package csvimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

// addCorpus seeds f with every file of testdata/ (not its fuzz/ directory).
func addCorpus(f *testing.F, add func(data []byte)) {
	f.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			add(readFile(f, e.Name()))
		}
	}
}

// FuzzParse reads arbitrary bytes as an upload. Whatever the input, the reader
// must not panic, must finish after a bounded number of rows, must number rows
// upward from 2, must only pass emails that roster.NormalizeEmail accepts
// unchanged, and the valid rows written back through Writer must read back
// the same.
func FuzzParse(f *testing.F) {
	addCorpus(f, func(data []byte) { f.Add(data, false); f.Add(data, true) })
	for _, s := range []string{
		"email\n\"",
		"email\n\"a@b.co",
		"email,first_name\na@b.co,\"x\n\n\ny\"\"\n",
		"email;first_name\r\n\r\n;\r\na@b.co;\"a;b\"\r\n",
		"\uFEFF\uFEFFemail\n'=a@b.co\n",
		"\xFF\xFEe\x00m\x00a\x00i\x00l\x00\n\x00a\x00@\x00b\x00.\x00c\x00o\x00",
		"\xFE\xFF\x00e\x00m\x00a\x00i\x00l\x00\n",
		"email,expiration_date\na@b.co,2/29/24\nb@b.co,29/2/24\n",
		"email,permissions\na@b.co,\"manage users,,;MANAGE_COMMENTS;\"\n",
		"email\ra@b.co\rb@b.co",
		"email,welcome_message\na@b.co,\"x\ry\r\nz\"\n",
		"email,first_name\na@b.co,\"never closed\nb@b.co,x\n",
		"EMAIL\tE-Mail\n",
		"email\nJos\xe9@example.com\n",
	} {
		f.Add([]byte(s), false)
	}

	f.Fuzz(func(t *testing.T, data []byte, gb bool) {
		opts := Options{MaxRows: 10_000, MaxRowBytes: 16 << 10}
		if gb {
			opts.Locale = "en-GB"
		}
		r, err := NewReader(bytes.NewReader(data), opts)
		if err != nil {
			var he *HeaderError
			var le *LimitError
			if !errors.As(err, &he) && !errors.As(err, &le) {
				t.Fatalf("NewReader: unexpected error type %T: %v", err, err)
			}
			return
		}
		h := r.Header()
		if h.Row < 1 || !h.Has(ColumnEmail) {
			t.Fatalf("Header() = %+v, want a row number and an email column", h)
		}
		var valid []Row
		last := h.Row
		for n := 0; ; n++ {
			if n > len(data) {
				t.Fatalf("more rows (%d) than bytes (%d)", n, len(data))
			}
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				var re *RowError
				var le *LimitError
				if !errors.As(err, &re) && !errors.As(err, &le) {
					t.Fatalf("Next: unexpected error type %T: %v", err, err)
				}
				break
			}
			if row.Num <= last {
				t.Fatalf("row %d follows row %d", row.Num, last)
			}
			last = row.Num
			for _, e := range row.Errors {
				if e.Row != row.Num || e.Reason == "" || e.Column != "" && !slices.Contains(columnNames[:], e.Column) {
					t.Fatalf("row %d has error %#v", row.Num, e)
				}
			}
			if len(row.Errors) == 0 {
				checkValidRow(t, row)
				valid = append(valid, *row)
			}
		}
		if len(valid) > 0 {
			checkRoundTrip(t, h, valid, opts)
		}
	})
}

// checkValidRow checks that the fields of a row without errors pass the
// roster rules unchanged.
func checkValidRow(t *testing.T, row *Row) {
	t.Helper()
	if e, err := roster.NormalizeEmail(row.Email); err != nil || e != row.Email {
		t.Fatalf("row %d: valid email %q, but NormalizeEmail gives %q, %v", row.Num, row.Email, e, err)
	}
	for _, name := range []roster.Optional[string]{row.FirstName, row.LastName} {
		if n, err := roster.CleanName(name.Value); err != nil || n != name.Value {
			t.Fatalf("row %d: valid name %q, but CleanName gives %q, %v", row.Num, name.Value, n, err)
		}
	}
	if row.ExpirationDate.Set && row.ExpirationDate.Value.IsZero() {
		t.Fatalf("row %d: a set expiration date is zero", row.Num)
	}
	if w := row.WelcomeMessage.Value; strings.TrimSpace(w) != w || strings.Contains(w, "\r") {
		t.Fatalf("row %d: welcome message %q is not clean", row.Num, w)
	}
}

// checkRoundTrip writes rows back as Roster would and reads them again.
func checkRoundTrip(t *testing.T, h Header, rows []Row, opts Options) {
	t.Helper()
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.Write(h.Columns); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		rec := make([]string, 0, len(h.Columns))
		for _, c := range h.Columns {
			switch c {
			case ColumnEmail:
				rec = append(rec, row.Email)
			case ColumnFirstName:
				rec = append(rec, row.FirstName.Value)
			case ColumnLastName:
				rec = append(rec, row.LastName.Value)
			case ColumnExpirationDate:
				rec = append(rec, row.ExpirationDate.Value.String())
			case ColumnPermissions:
				rec = append(rec, strings.Join(row.Permissions.Value.Names(), ";"))
			case ColumnWelcomeMessage:
				rec = append(rec, row.WelcomeMessage.Value)
			}
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_, again, err := readAll(t, b.Bytes(), opts)
	if err != nil {
		t.Fatalf("reading back %q: %v", b.String(), err)
	}
	if len(again) != len(rows) {
		t.Fatalf("wrote %d rows, read back %d from %q", len(rows), len(again), b.String())
	}
	for i := range rows {
		want := rows[i]
		want.Num = i + 2
		if !reflect.DeepEqual(again[i], want) {
			t.Fatalf("round trip through %q:\n got  %+v\n want %+v", b.String(), again[i], want)
		}
	}
}

// FuzzNormalizeEmail checks that the fast path agrees with
// roster.NormalizeEmail wherever it answers, and that normalizeEmail as a
// whole agrees everywhere.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", " Ada@Example.COM ", "a..b@c.d", "a@b", "\"a\"@b.co", "a@[1.2.3.4]",
		"o'neil@x.ie", "josé@example.com", "a@b.co (c)", "A@B.C\u00a0", "K@x.co"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, wantErr := roster.NormalizeEmail(s)
		if fast, ok := fastEmail(s); ok && (wantErr != nil || fast != want) {
			t.Fatalf("fastEmail(%q) = %q; NormalizeEmail = %q, %v", s, fast, want, wantErr)
		}
		got, err := normalizeEmail(s)
		if got != want || (err == nil) != (wantErr == nil) {
			t.Fatalf("normalizeEmail(%q) = %q, %v; NormalizeEmail = %q, %v", s, got, err, want, wantErr)
		}
	})
}

// FuzzDate checks parseDate on any text: a date it accepts is a real calendar
// day, and reads the same when written back in ISO and in the locale's format.
func FuzzDate(f *testing.F) {
	for _, s := range []string{"2026-12-31", "12/31/26", "31/12/2026", "2026-02-30", "2026-12-31T00:00:00", "1/1/2027 12:00 AM", "0001-01-01", "9999-12-31"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, gb bool) {
		order := monthFirst
		if gb {
			order = dayFirst
		}
		d, err := parseDate(s, order)
		if err != nil {
			if !strings.Contains(err.Error(), "is not a date: ") {
				t.Fatalf("parseDate(%q) error %q", s, err)
			}
			return
		}
		if norm := roster.DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)); norm != d {
			t.Fatalf("parseDate(%q) = %+v, not a calendar day", s, d)
		}
		slash := fmt.Sprintf("%d/%d/%04d", int(d.Month), d.Day, d.Year)
		if gb {
			slash = fmt.Sprintf("%d/%d/%04d", d.Day, int(d.Month), d.Year)
		}
		for _, again := range []string{d.String(), slash} {
			if d2, err := parseDate(again, order); err != nil || d2 != d {
				t.Fatalf("parseDate(%q) = %v, but parseDate(%q) = %v, %v", s, d, again, d2, err)
			}
		}
	})
}
