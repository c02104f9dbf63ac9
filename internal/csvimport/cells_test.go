package csvimport

import (
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

func TestParseDate(t *testing.T) {
	d := func(y, m, dd int) roster.Date { return roster.Date{Year: y, Month: time.Month(m), Day: dd} }
	tests := []struct {
		in    string
		order dateOrder
		want  roster.Date
		err   string // "" when valid
	}{
		{"2026-12-31", monthFirst, d(2026, 12, 31), ""},
		{"2026-12-31", dayFirst, d(2026, 12, 31), ""},
		{"2026-1-5", monthFirst, d(2026, 1, 5), ""},
		{"2026-12-31 00:00:00", monthFirst, d(2026, 12, 31), ""},
		{"2026-12-31T00:00:00", monthFirst, d(2026, 12, 31), ""},
		{"2026-12-31 23:59", monthFirst, d(2026, 12, 31), ""},
		{"2026-12-31T10:20:30.123", monthFirst, d(2026, 12, 31), ""},
		{"12/31/2026", monthFirst, d(2026, 12, 31), ""},
		{"12/31/26", monthFirst, d(2026, 12, 31), ""},
		{"1/5/2027", monthFirst, d(2027, 1, 5), ""},
		{"01/05/27", monthFirst, d(2027, 1, 5), ""},
		{"12/31/2026 0:00", monthFirst, d(2026, 12, 31), ""},
		{"12/31/2026 12:00 AM", monthFirst, d(2026, 12, 31), ""},
		{"12/31/2026 11:59:59 pm", monthFirst, d(2026, 12, 31), ""},
		{"31/12/2026", dayFirst, d(2026, 12, 31), ""},
		{"31/12/26", dayFirst, d(2026, 12, 31), ""},
		{"5/1/2027", dayFirst, d(2027, 1, 5), ""},
		{"2028-02-29", monthFirst, d(2028, 2, 29), ""},
		{"2/29/28", monthFirst, d(2028, 2, 29), ""},

		{"31/12/2026", monthFirst, roster.Date{}, `"31/12/2026" is not a date: there is no month 31; use YYYY-MM-DD or MM/DD/YYYY`},
		{"12/31/2026", dayFirst, roster.Date{}, `"12/31/2026" is not a date: there is no month 31; use YYYY-MM-DD or DD/MM/YYYY`},
		{"2026-02-30", monthFirst, roster.Date{}, `"2026-02-30" is not a date: February 2026 has 28 days`},
		{"2027-02-29", monthFirst, roster.Date{}, `"2027-02-29" is not a date: February 2027 has 28 days`},
		{"4/31/2026", monthFirst, roster.Date{}, `"4/31/2026" is not a date: April 2026 has 30 days`},
		{"2026-12-00", monthFirst, roster.Date{}, `"2026-12-00" is not a date: December 2026 has 31 days`},
		{"2026-13-01", monthFirst, roster.Date{}, `"2026-13-01" is not a date: there is no month 13; use YYYY-MM-DD or MM/DD/YYYY`},
		{"0000-01-01", monthFirst, roster.Date{}, `"0000-01-01" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{"26-12-31", monthFirst, roster.Date{}, `"26-12-31" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{"12/31/202", monthFirst, roster.Date{}, `"12/31/202" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{"12/31", monthFirst, roster.Date{}, `"12/31" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{"31.12.2026", dayFirst, roster.Date{}, `"31.12.2026" is not a date: use YYYY-MM-DD or DD/MM/YYYY`},
		{"2026-12-31 25:00", monthFirst, roster.Date{}, `"2026-12-31 25:00" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{"2026-12-31 13:00 PM", monthFirst, roster.Date{}, `"2026-12-31 13:00 PM" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{"2026-12-31Z", monthFirst, roster.Date{}, `"2026-12-31Z" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{"+2026-12-31", monthFirst, roster.Date{}, `"+2026-12-31" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{"December 31, 2026", monthFirst, roster.Date{}, `"December 31, 2026" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{"46022", monthFirst, roster.Date{}, `"46022" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
		{strings.Repeat("9", 60), monthFirst, roster.Date{}, `"` + strings.Repeat("9", 40) + `…" is not a date: use YYYY-MM-DD or MM/DD/YYYY`},
	}
	for _, tc := range tests {
		got, err := parseDate(tc.in, tc.order)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parseDate(%q, %s) = %v, %v; want %v", tc.in, tc.order.format(), got, err, tc.want)
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("parseDate(%q, %s) = %v, %v; want error %q", tc.in, tc.order.format(), got, err, tc.err)
		}
	}
}

func TestParsePermissions(t *testing.T) {
	tests := []struct {
		in       string
		want     roster.Permissions
		problems []string
	}{
		{"", 0, nil},
		{" ; ;", 0, nil},
		{"manage_users", roster.Permissions(roster.ManageUsers), nil},
		{"manage_users;view_analytics;", roster.Permissions(roster.ManageUsers | roster.ViewAnalytics), nil},
		{" MANAGE_USERS , Manage Comments ", roster.Permissions(roster.ManageUsers | roster.ManageComments), nil},
		{"manage-curations;manage_curations", roster.Permissions(roster.ManageCurations), nil},
		{"manage_users;fly;swim", 0, []string{
			`unknown permission "fly"; use one of manage_users, view_analytics, manage_curations, manage_comments`,
			`unknown permission "swim"; use one of manage_users, view_analytics, manage_curations, manage_comments`,
		}},
	}
	for _, tc := range tests {
		got, problems := parsePermissions(tc.in)
		if len(problems) != len(tc.problems) {
			t.Errorf("parsePermissions(%q) problems = %q, want %q", tc.in, problems, tc.problems)
			continue
		}
		for i := range problems {
			if problems[i] != tc.problems[i] {
				t.Errorf("parsePermissions(%q) problem %d = %q, want %q", tc.in, i, problems[i], tc.problems[i])
			}
		}
		if tc.problems == nil && got != tc.want {
			t.Errorf("parsePermissions(%q) = %v, want %v", tc.in, got.Names(), tc.want.Names())
		}
	}
}

// TestFastEmail checks the fast path takes the common addresses and leaves
// the rest to roster.NormalizeEmail; FuzzNormalizeEmail checks the two agree.
func TestFastEmail(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when the fast path declines
	}{
		{"ada@example.com", "ada@example.com"},
		{"  Ada.Lovelace+tag@Example.CO.uk ", "ada.lovelace+tag@example.co.uk"},
		{"o'neil@example.ie", "o'neil@example.ie"},
		{"a_b-c=d?e{f}|~@x-y.z", "a_b-c=d?e{f}|~@x-y.z"},
		{"", ""},
		{"ada", ""},
		{"@example.com", ""},
		{"ada@", ""},
		{"ada@example", ""},
		{".ada@example.com", ""},
		{"ada.@example.com", ""},
		{"a..da@example.com", ""},
		{"ada@.example.com", ""},
		{"ada@example.com.", ""},
		{"ada@example..com", ""},
		{"a@b@example.com", ""},
		{"ada lovelace@example.com", ""},
		{`"ada"@example.com`, ""},
		{"ada@[127.0.0.1]", ""},
		{"Ada <ada@example.com>", ""},
		{"josé@example.com", ""},
		{strings.Repeat("a", 243) + "@example.com", ""},
	}
	for _, tc := range tests {
		got, ok := fastEmail(tc.in)
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("fastEmail(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
		if ok {
			if norm, err := roster.NormalizeEmail(tc.in); err != nil || norm != got {
				t.Errorf("fastEmail(%q) = %q but NormalizeEmail = %q, %v", tc.in, got, norm, err)
			}
		}
	}
}

func TestNeutralize(t *testing.T) {
	tests := []struct {
		in, written string
	}{
		{"", ""},
		{"Ada", "Ada"},
		{"=SUM(A1:A2)", "'=SUM(A1:A2)"},
		{"+44 20 7946 0000", "'+44 20 7946 0000"},
		{"-5", "'-5"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"'=x", "''=x"},
		{"''+x", "'''+x"},
		{"'", "'"},
		{"'plain", "'plain"},
		{"a=b", "a=b"},
		{" =x", " =x"},
	}
	for _, tc := range tests {
		if got := neutralize(tc.in); got != tc.written {
			t.Errorf("neutralize(%q) = %q, want %q", tc.in, got, tc.written)
		}
		if got := unneutralize(tc.written); got != tc.in {
			t.Errorf("unneutralize(%q) = %q, want %q", tc.written, got, tc.in)
		}
	}
}

func TestSniffDelimiter(t *testing.T) {
	tests := []struct {
		line string
		want rune
	}{
		{"", ','},
		{"email", ','},
		{"email,first_name", ','},
		{"email;first_name", ';'},
		{"email\tfirst_name", '\t'},
		{`"email;x",first_name`, ','},
		{"Name;Mail;Dept", ';'},
		{"email;first_name,last_name;x", ';'},
	}
	for _, tc := range tests {
		if got := sniffDelimiter(tc.line); got != tc.want {
			t.Errorf("sniffDelimiter(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestCleanWelcome(t *testing.T) {
	tests := []struct {
		in, want, problem string
	}{
		{"", "", ""},
		{"  Hi there\r\n\tSee you\r  ", "Hi there\n\tSee you", ""},
		{strings.Repeat("日", 2000), strings.Repeat("日", 2000), ""},
		{strings.Repeat("日", 2001), strings.Repeat("日", 2001), "use at most 2000 characters (this one has 2001)"},
		{"a\x00b", "a\x00b", "a welcome message cannot contain control characters"},
		{"a\x1bb", "a\x1bb", "a welcome message cannot contain control characters"},
	}
	for _, tc := range tests {
		got, problem := cleanWelcome(tc.in)
		if got != tc.want || problem != tc.problem {
			t.Errorf("cleanWelcome(%q) = %q, %q; want %q, %q", tc.in, got, problem, tc.want, tc.problem)
		}
	}
}
