package csvimport

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/roster"
)

// MaxWelcomeMessage bounds the welcome_message cell, in characters. It must
// match admin.MaxWelcomeMessage (this package may not import admin).
const MaxWelcomeMessage = 2000

// normalizeEmail is roster.NormalizeEmail, with a fast path for the plain
// ASCII addresses that make up nearly every file (net/mail is slow).
func normalizeEmail(s string) (string, error) {
	if e, ok := fastEmail(s); ok {
		return e, nil
	}
	return roster.NormalizeEmail(s)
}

// atext marks the ASCII characters RFC 5322 allows in a dot-atom besides the
// dot (what net/mail accepts in an unquoted local part and a domain).
var atext = func() (t [utf8.RuneSelf]bool) {
	for c := byte('!'); c <= '~'; c++ {
		t[c] = !strings.ContainsRune(`()<>[]:;@\,".`, rune(c))
	}
	return t
}()

// fastEmail accepts the addresses that roster.NormalizeEmail accepts and that
// are plain ASCII dot-atoms on both sides of the @, returning what
// NormalizeEmail would. It reports false for anything else, which must then
// go through NormalizeEmail (FuzzNormalizeEmail checks the two agree).
func fastEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > 254 {
		return "", false
	}
	at, upper := -1, false
	afterSep := true // at the start of the local part or the domain, or after a dot
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '@':
			if at >= 0 || afterSep {
				return "", false
			}
			at, afterSep = i, true
		case c == '.':
			if afterSep {
				return "", false
			}
			afterSep = true
		case c < utf8.RuneSelf && atext[c]:
			upper = upper || 'A' <= c && c <= 'Z'
			afterSep = false
		default:
			return "", false
		}
	}
	if at < 0 || afterSep || !strings.Contains(s[at+1:], ".") {
		return "", false
	}
	if upper {
		s = strings.ToLower(s)
	}
	return s, true
}

// dateOrder is how a locale writes day and month with slashes.
type dateOrder int

const (
	monthFirst dateOrder = iota // en-US: 12/31/2026
	dayFirst                    // en-GB: 31/12/2026
)

// format is the locale's slash format, for messages.
func (o dateOrder) format() string {
	if o == dayFirst {
		return "DD/MM/YYYY"
	}
	return "MM/DD/YYYY"
}

// parseDate reads an expiration date: ISO 8601 (2026-12-31) always, and the
// locale's slash format (12/31/2026 or 12/31/26 in en-US, 31/12/2026 in
// en-GB), never guessed across locales (SPEC "Bulk Upload"). A time of day,
// as spreadsheets add to date cells ("2026-12-31 00:00:00",
// "2026-12-31T00:00:00", "12/31/2026 0:00"), is accepted and ignored.
// Two-digit years are 20YY.
func parseDate(s string, order dateOrder) (roster.Date, error) {
	bad := func(why string) error {
		if why != "" {
			why += "; "
		}
		return fmt.Errorf("%s is not a date: %suse YYYY-MM-DD or %s", quoteCell(s), why, order.format())
	}
	day := s
	if i := strings.IndexAny(s, " T"); i >= 0 {
		day = s[:i]
		if !isTimeOfDay(strings.TrimSpace(s[i+1:])) {
			return roster.Date{}, bad("")
		}
	}
	var y, m, d int
	if a, b, c, ok := split3(day, '-'); ok {
		var ok1, ok2, ok3 bool
		y, ok1 = atoi(a, 4, 4)
		m, ok2 = atoi(b, 1, 2)
		d, ok3 = atoi(c, 1, 2)
		if !ok1 || !ok2 || !ok3 {
			return roster.Date{}, bad("")
		}
	} else if a, b, c, ok := split3(day, '/'); ok {
		first, ok1 := atoi(a, 1, 2)
		second, ok2 := atoi(b, 1, 2)
		year, ok3 := atoi(c, 2, 4)
		if !ok1 || !ok2 || !ok3 || len(c) == 3 {
			return roster.Date{}, bad("")
		}
		if len(c) == 2 {
			year += 2000
		}
		y, m, d = year, first, second
		if order == dayFirst {
			m, d = second, first
		}
	} else {
		return roster.Date{}, bad("")
	}
	switch {
	case y < 1:
		return roster.Date{}, bad("")
	case m < 1 || m > 12:
		return roster.Date{}, bad(fmt.Sprintf("there is no month %d", m))
	case d < 1 || d > daysIn(time.Month(m), y):
		return roster.Date{}, fmt.Errorf("%s is not a date: %s %d has %d days", quoteCell(s), time.Month(m), y, daysIn(time.Month(m), y))
	}
	return roster.Date{Year: y, Month: time.Month(m), Day: d}, nil
}

// split3 splits s into three parts at sep.
func split3(s string, sep byte) (a, b, c string, ok bool) {
	i := strings.IndexByte(s, sep)
	if i < 0 {
		return "", "", "", false
	}
	j := strings.IndexByte(s[i+1:], sep)
	if j < 0 {
		return "", "", "", false
	}
	j += i + 1
	if strings.IndexByte(s[j+1:], sep) >= 0 {
		return "", "", "", false
	}
	return s[:i], s[i+1 : j], s[j+1:], true
}

// atoi parses an unsigned decimal of minDigits to maxDigits ASCII digits.
func atoi(s string, minDigits, maxDigits int) (int, bool) {
	if len(s) < minDigits || len(s) > maxDigits {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// isTimeOfDay accepts H:MM, H:MM:SS and H:MM:SS.fff, optionally followed by
// AM or PM.
func isTimeOfDay(s string) bool {
	twelve := false
	if n := len(s); n >= 2 {
		switch strings.ToUpper(s[n-2:]) {
		case "AM", "PM":
			s, twelve = strings.TrimSpace(s[:n-2]), true
		}
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if _, ok := atoi(s[i+1:], 1, 9); !ok {
			return false
		}
		s = s[:i]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	h, ok := atoi(parts[0], 1, 2)
	if !ok || h > 23 || twelve && (h < 1 || h > 12) {
		return false
	}
	for _, p := range parts[1:] {
		if v, ok := atoi(p, 2, 2); !ok || v > 59 {
			return false
		}
	}
	return true
}

// daysIn returns the number of days of month m in year y.
func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 12, 0, 0, 0, time.UTC).Day()
}

// parsePermissions reads a permissions cell: names separated by ';' (',' is
// tolerated), each a permission's name or label in any case. A blank cell is
// the empty set. It returns one reason per unknown name.
func parsePermissions(s string) (roster.Permissions, []string) {
	var ps roster.Permissions
	var problems []string
	for s != "" {
		i := strings.IndexAny(s, ";,")
		name := s
		if i >= 0 {
			name, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		p, ok := lookupPermission(name)
		if !ok {
			var err error
			if p, err = roster.ParsePermission(name); err != nil {
				problems = append(problems, err.Error())
				continue
			}
		}
		ps = ps.With(p)
	}
	return ps, problems
}

// lookupPermission is a fast path for roster.ParsePermission: a permission's
// exact API name, in any ASCII case.
func lookupPermission(s string) (roster.Permission, bool) {
	for _, p := range roster.AllPermissions {
		if name := p.Name(); len(s) == len(name) {
			i := 0
			for i < len(s) && lowerASCII(s[i]) == name[i] {
				i++
			}
			if i == len(s) {
				return p, true
			}
		}
	}
	return 0, false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// cleanWelcome trims a welcome message, turns its line breaks into "\n" and
// checks it, returning the message or a reason.
func cleanWelcome(s string) (string, string) {
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	if n := utf8.RuneCountInString(s); n > MaxWelcomeMessage {
		return s, fmt.Sprintf("use at most %d characters (this one has %d)", MaxWelcomeMessage, n)
	}
	for _, r := range s {
		// NUL cannot be stored in PostgreSQL text; other controls have no
		// place in an email body.
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return s, "a welcome message cannot contain control characters"
		}
	}
	return s, ""
}

// isFormulaStart reports whether a cell starting with c could be taken for a
// formula by a spreadsheet (OWASP "CSV Injection").
func isFormulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// neutralize prefixes a quote to a cell a spreadsheet could take for a
// formula. Cells that already start with quotes before such a character get
// one more, so that unneutralize gives back exactly what was written.
func neutralize(s string) string {
	i := 0
	for i < len(s) && s[i] == '\'' {
		i++
	}
	if i < len(s) && isFormulaStart(s[i]) {
		return "'" + s
	}
	return s
}

// unneutralize removes the quote neutralize added, so exported files
// re-upload unchanged.
func unneutralize(s string) string {
	if len(s) < 2 || s[0] != '\'' {
		return s
	}
	i := 1
	for i < len(s) && s[i] == '\'' {
		i++
	}
	if i < len(s) && isFormulaStart(s[i]) {
		return s[1:]
	}
	return s
}

// quoteCell quotes a cell for a message, shortened when long.
func quoteCell(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
