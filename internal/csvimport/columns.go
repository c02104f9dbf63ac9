package csvimport

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The canonical column names. RowError.Column holds one of them.
const (
	ColumnEmail          = "email"
	ColumnFirstName      = "first_name"
	ColumnLastName       = "last_name"
	ColumnExpirationDate = "expiration_date"
	ColumnPermissions    = "permissions"
	ColumnWelcomeMessage = "welcome_message"
)

// Columns is the header of the template, in its order: the columns a file is
// expected to have. Only email is required; welcome_message is also accepted.
var Columns = []string{ColumnEmail, ColumnFirstName, ColumnLastName, ColumnExpirationDate, ColumnPermissions}

// column indexes the canonical columns inside the Reader.
type column int

const (
	colEmail column = iota
	colFirstName
	colLastName
	colExpirationDate
	colPermissions
	colWelcomeMessage
	numColumns
)

var columnNames = [numColumns]string{ColumnEmail, ColumnFirstName, ColumnLastName, ColumnExpirationDate, ColumnPermissions, ColumnWelcomeMessage}

// headerAliases maps folded header spellings (see foldHeader) to columns.
// "Mail" is deliberately absent: too vague to guess.
var headerAliases = map[string]column{
	"email":          colEmail,
	"emailaddress":   colEmail,
	"firstname":      colFirstName,
	"givenname":      colFirstName,
	"forename":       colFirstName,
	"lastname":       colLastName,
	"surname":        colLastName,
	"familyname":     colLastName,
	"expirationdate": colExpirationDate,
	"expiration":     colExpirationDate,
	"expires":        colExpirationDate,
	"expireson":      colExpirationDate,
	"expiry":         colExpirationDate,
	"expirydate":     colExpirationDate,
	"permissions":    colPermissions,
	"permission":     colPermissions,
	"welcomemessage": colWelcomeMessage,
}

// matchColumn finds the column a header cell names, ignoring case, spaces,
// dashes and underscores (SPEC "Bulk Upload": "First Name", "first_name",
// "E-mail").
func matchColumn(cell string) (column, bool) {
	c, ok := headerAliases[foldHeader(cell)]
	return c, ok
}

// foldHeader lowercases s and drops spaces, dashes, underscores and stray
// byte order marks (a file saved twice with a BOM keeps one in its first cell).
func foldHeader(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r == '-' || r == '_' || r == '\uFEFF' || unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// delimiters are the separators a file may use, in order of preference.
var delimiters = []rune{',', ';', '\t'}

// sniffDelimiter picks the delimiter that splits the header line best: the one
// giving the most recognized column names, then the most cells. Quoted parts
// are not split. With nothing to go on it picks a comma.
func sniffDelimiter(line string) rune {
	best, bestKnown, bestCells := ',', -1, -1
	for _, d := range delimiters {
		known, cells := 0, 0
		for _, cell := range splitQuoted(line, d) {
			cells++
			if _, ok := matchColumn(unquote(cell)); ok {
				known++
			}
		}
		if known > bestKnown || (known == bestKnown && cells > bestCells) {
			best, bestKnown, bestCells = d, known, cells
		}
	}
	return best
}

// splitQuoted splits line at d outside double quotes.
func splitQuoted(line string, d rune) []string {
	var cells []string
	quoted, start := false, 0
	for i, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == d && !quoted:
			cells = append(cells, line[start:i])
			start = i + utf8.RuneLen(d)
		}
	}
	return append(cells, line[start:])
}

// unquote undoes CSV quoting of one cell, roughly: enough to match a name.
func unquote(cell string) string {
	cell = strings.TrimSpace(cell)
	if len(cell) >= 2 && cell[0] == '"' && cell[len(cell)-1] == '"' {
		cell = strings.ReplaceAll(cell[1:len(cell)-1], `""`, `"`)
	}
	return cell
}

// headerLine returns the first line of text that holds more than separators,
// quotes and spaces; line breaks inside quotes do not end a line. It looks at
// a prefix of the file only.
func headerLine(text []byte) string {
	for len(text) > 0 {
		end, quoted := len(text), false
		for i, c := range text {
			if c == '"' {
				quoted = !quoted
			} else if (c == '\n' || c == '\r') && !quoted {
				end = i
				break
			}
		}
		line := text[:end]
		if strings.TrimFunc(string(line), func(r rune) bool {
			return r == ',' || r == ';' || r == '"' || unicode.IsSpace(r)
		}) != "" {
			return string(line)
		}
		text = text[min(end+1, len(text)):]
	}
	return ""
}
