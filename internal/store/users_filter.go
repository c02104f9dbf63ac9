package store

import (
	"cmp"
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"modernc.org/sqlite"

	"github.com/roster-dev/roster/internal/roster"
)

// How a user filter becomes SQL. Every condition is written against the
// users table under the alias u; the organization comes first in every
// index, so every query is a range of one organization's rows.
//
// A search is split into words; each word must appear in the email, the
// first or the last name (case-insensitive). A word of 3 characters or more
// is a substring, found through the trigram index (FTS5 on SQLite, pg_trgm
// on PostgreSQL); a shorter one matches the start of the email, first or
// last name (SPEC "Filter and search": "prefix match on name and email
// parts is enough"), through btree indexes.
//
// The same words can also be checked row by row (searchScan), for plans
// that walk an index in sort order and stop after a page: on PostgreSQL
// with functions no index serves, so the planner cannot pick the trigram
// index instead; on SQLite with roster_match, a Go function registered below.

// maxSearchWords bounds the words of one search: each is a condition.
const maxSearchWords = 8

// searchMode says how the words of a search become SQL.
type searchMode int

const (
	searchIndex searchMode = iota // through the trigram and prefix indexes
	searchScan                    // row by row, for an index walk in sort order
	// searchIntersect: on SQLite, the FTS matches intersected with a filter
	// index's range, then checked row by row (driverQuery).
	searchIntersect
)

// searchWords splits a search into lowercase words, without duplicates.
func searchWords(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(s)) {
		if !seen[w] && len(out) < maxSearchWords {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

func isShortWord(w string) bool { return utf8.RuneCountInString(w) < 3 }

// userQuery is a filter turned into SQL: the FROM clause (which joins the
// FTS table on SQLite when the search goes through it) and the conditions.
type userQuery struct {
	from string
	w    where
}

// filterPart is one filter's condition with the index that serves it.
type filterPart struct {
	cond  string // with ? placeholders
	args  []any
	index string
	// rank orders filters that tie on how many users they match: the
	// narrower kinds first (a permission 0, a date range or expired 1,
	// active, hasn't logged in or a last login 2).
	rank int
}

// filterParts turns the filters of f (not its search) into conditions.
// today is the organization's date, for statuses.
func (q *q) filterParts(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date) ([]filterPart, error) {
	var parts []filterPart
	add := func(rank int, index, cond string, args ...any) {
		parts = append(parts, filterPart{cond: cond, args: args, index: index, rank: rank})
	}
	// SPEC "Status": expired when the date is today or earlier.
	switch f.Status {
	case roster.StatusExpired:
		add(1, "users_org_expiration", "u.expiration_date IS NOT NULL AND u.expiration_date <= ?", today.String())
	case roster.StatusActive:
		// users_org_expiration holds the last login too (0008 on SQLite).
		add(2, "users_org_expiration", "(u.expiration_date IS NULL OR u.expiration_date > ?) AND u.last_login_at IS NOT NULL", today.String())
	case roster.StatusNotLoggedIn:
		add(2, "users_org_expiration", "(u.expiration_date IS NULL OR u.expiration_date > ?) AND u.last_login_at IS NULL", today.String())
	case "":
	default:
		return nil, roster.FieldError("status", "use active, not_logged_in or expired")
	}
	if f.Permission != 0 {
		// Literal, to match the partial index of that permission.
		add(0, "users_org_"+f.Permission.Name(), fmt.Sprintf("(u.permissions & %d) <> 0", uint8(f.Permission)))
	}
	if !f.ExpiresFrom.IsZero() || !f.ExpiresTo.IsZero() {
		var conds []string
		var args []any
		if !f.ExpiresFrom.IsZero() {
			conds, args = append(conds, "u.expiration_date >= ?"), append(args, f.ExpiresFrom.String())
		}
		if !f.ExpiresTo.IsZero() {
			conds, args = append(conds, "u.expiration_date <= ?"), append(args, f.ExpiresTo.String())
		}
		add(1, "users_org_expiration", strings.Join(conds, " AND "), args...)
	}
	if l := f.LastLogin; l.Never {
		add(2, "users_org_last_login", "u.last_login_at IS NULL")
	} else if !l.IsZero() {
		// Days are the organization's, as "today" is.
		loc, err := q.orgLocation(ctx, orgID)
		if err != nil {
			return nil, err
		}
		var conds []string
		var args []any
		if !l.Before.IsZero() {
			conds, args = append(conds, "u.last_login_at < ?"), append(args, dayStart(l.Before, loc))
		}
		if !l.After.IsZero() {
			conds, args = append(conds, "u.last_login_at >= ?"), append(args, dayStart(l.After.AddDays(1), loc))
		}
		add(2, "users_org_last_login", strings.Join(conds, " AND "), args...)
	}
	return parts, nil
}

// filterQuery builds the conditions of f for the organization, without
// sort, cursor or limit: the search in the given mode, then the filters.
// today is the organization's date, for statuses.
func (q *q) filterQuery(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date, mode searchMode) (*userQuery, error) {
	parts, err := q.filterParts(ctx, orgID, f, today)
	if err != nil {
		return nil, err
	}
	return q.partsQuery(orgID, f, parts, mode), nil
}

// partsQuery is filterQuery with the filters already turned into parts.
func (q *q) partsQuery(orgID int64, f roster.UserFilter, parts []filterPart, mode searchMode) *userQuery {
	uq := &userQuery{from: "users u"}
	if words := searchWords(f.Query); len(words) > 0 {
		q.addSearch(uq, orgID, words, mode)
	}
	uq.w.add("u.org_id = ?", orgID)
	for _, p := range parts {
		uq.w.add(p.cond, p.args...)
	}
	return uq
}

// narrowestFilter returns, on SQLite, the index of the filter of f that
// matches the fewest users (each counted alone from its index, up to
// limit+1) and that count; "" and -1 without filters, or on PostgreSQL,
// which combines indexes itself. SQLite's planner, which uses one index,
// guesses: it was seen to walk 600,000 active users to find those with a
// permission 50,000 hold.
func (q *q) narrowestFilter(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date, limit int) (string, int, error) {
	if q.d != SQLite {
		return "", -1, nil
	}
	parts, err := q.filterParts(ctx, orgID, f, today)
	if err != nil || len(parts) == 0 {
		return "", -1, err
	}
	// Ties (each past limit) go to the narrower kind of filter: a
	// permission or a date range before a status.
	slices.SortStableFunc(parts, func(a, b filterPart) int {
		return cmp.Compare(a.rank, b.rank)
	})
	best, fewest := "", -1
	for _, p := range parts {
		var w where
		w.add("u.org_id = ?", orgID)
		w.add(p.cond, p.args...)
		cond, args := w.sql()
		args = append(args, limit+1)
		var n int
		if err := q.queryRowOn(ctx, q.ex, fmt.Sprintf("SELECT COUNT(*) FROM (SELECT 1 FROM users u INDEXED BY %s WHERE %s LIMIT $%d)",
			p.index, cond, len(args)), args...).Scan(&n); err != nil {
			return "", -1, err
		}
		if fewest < 0 || n < fewest {
			best, fewest = p.index, n
		}
	}
	return best, fewest, nil
}

// dayStart is the first instant of day d in loc, in UTC as stored.
func dayStart(d roster.Date, loc *time.Location) time.Time {
	return utc(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc))
}

func (q *q) orgLocation(ctx context.Context, orgID int64) (*time.Location, error) {
	var tz string
	if err := q.ex.QueryRowContext(ctx, "SELECT time_zone FROM orgs WHERE id = $1", orgID).Scan(&tz); err != nil {
		return nil, fmt.Errorf("store: time zone of org %d: %w", orgID, mapErr(err))
	}
	o := roster.Org{TimeZone: tz}
	return o.Location(), nil
}

// addSearch adds the conditions for the words of a search.
func (q *q) addSearch(uq *userQuery, orgID int64, words []string, mode searchMode) {
	w := &uq.w
	if mode == searchScan {
		for _, word := range words {
			q.addWordCheck(w, word)
		}
		return
	}
	if q.d == Postgres {
		for _, word := range words {
			if isShortWord(word) {
				q.addPrefix(w, word)
			} else {
				w.add("lower(u.email || ' ' || u.first_name || ' ' || u.last_name) LIKE ?", "%"+escapeLike(word)+"%")
			}
		}
		return
	}
	// SQLite: the FTS table drives the query when a word is long enough,
	// walking its matches in rowid order and looking each user up (CROSS
	// JOIN keeps that order); otherwise the users whose email or name
	// starts with the first short word do. Other words are checked on
	// each of those rows.
	long, short := ftsQuery(words)
	switch {
	case long != "":
		uq.from = "users_fts f CROSS JOIN users u ON u.id = f.rowid"
		w.add("users_fts MATCH ?", long)
	case len(short) > 0:
		sub, args := prefixUnion(orgID, short[0])
		uq.from = "(" + w.bind(sub, args...) + ") s CROSS JOIN users u ON u.id = s.id"
		short = short[1:]
	}
	for _, word := range short {
		q.addPrefix(w, word)
	}
}

// addWordCheck checks one word on each row, with functions no index
// serves (on PostgreSQL the planner then keeps to the plan chosen).
func (q *q) addWordCheck(w *where, word string) {
	n := utf8.RuneCountInString(word)
	switch {
	case q.d == Postgres && isShortWord(word):
		w.add("(starts_with(u.email, ?) OR starts_with(lower(u.first_name), ?) OR starts_with(lower(u.last_name), ?))", word, word, word)
	case q.d == Postgres:
		w.add("strpos(lower(u.email || ' ' || u.first_name || ' ' || u.last_name), ?) > 0", word)
	case hasCasedNonASCII(word):
		// SQLite's lower() folds ASCII only: a Go function folds the rest.
		w.add("roster_match(u.email, u.first_name, u.last_name, ?)", word)
	case isShortWord(word):
		w.add(fmt.Sprintf("(substr(u.email, 1, %d) = ? OR lower(substr(u.first_name, 1, %d)) = ? OR lower(substr(u.last_name, 1, %d)) = ?)", n, n, n), word, word, word)
	default:
		// Built in, this is ten times faster than the Go function.
		w.add("instr(lower(u.email || ' ' || u.first_name || ' ' || u.last_name), ?) > 0", word)
	}
}

// hasCasedNonASCII reports whether a word holds a letter outside ASCII that
// has an upper and a lower case (é, ж), which SQLite's lower() leaves as is.
func hasCasedNonASCII(word string) bool {
	for _, r := range word {
		if r >= utf8.RuneSelf && (unicode.ToUpper(r) != r || unicode.ToLower(r) != r) {
			return true
		}
	}
	return false
}

// ftsQuery splits words into an FTS5 query of the long ones (each a
// quoted phrase, all required) and the short ones.
func ftsQuery(words []string) (string, []string) {
	var phrases, short []string
	for _, word := range words {
		if isShortWord(word) {
			short = append(short, word)
		} else {
			phrases = append(phrases, `"`+strings.ReplaceAll(word, `"`, `""`)+`"`)
		}
	}
	return strings.Join(phrases, " AND "), short
}

// prefixUnion is a SQLite query of the ids of the organization's users
// whose email, first or last name starts with a short word: one range of
// an index per column and way of writing the word's case.
func prefixUnion(orgID int64, word string) (string, []any) {
	var parts []string
	var args []any
	rng := func(col, p string) {
		// INDEXED BY: with statistics, SQLite may otherwise scan the
		// organization for a range it thinks wide.
		parts = append(parts, "SELECT id FROM users INDEXED BY users_org_"+col+" WHERE org_id = ? AND "+col+" >= ? AND "+col+" < ?")
		args = append(args, orgID, p, prefixEnd(p))
	}
	rng("email", word)
	for _, v := range caseVariants(word) {
		rng("first_name", v)
		rng("last_name", v)
	}
	return strings.Join(parts, " UNION "), args
}

// estimateSearch counts, up to about limit, the candidates a search's index
// yields on SQLite: the FTS matches of its long words, in every
// organization (no lookup: cheap), or else the users whose email, first or
// last name starts with its first short word (the sum over the index
// ranges, each counted up to limit+1).
func (q *q) estimateSearch(ctx context.Context, orgID int64, words []string, limit int) (int, error) {
	long, short := ftsQuery(words)
	if long == "" {
		// Each range counted up to the exact limit only: summing nine of
		// them up to 50,000 would cost more than the choice saves. One
		// range past it makes the whole past limit.
		capped := min(limit, q.maxExact())
		sum, most, err := q.prefixCounts(ctx, orgID, short[0], capped)
		if most > capped {
			sum = limit + 1
		}
		return sum, err
	}
	var n int
	err := q.queryRowOn(ctx, q.ex, "SELECT COUNT(*) FROM (SELECT 1 FROM users_fts WHERE users_fts MATCH $1 LIMIT $2)", long, limit+1).Scan(&n)
	return n, err
}

// prefixCounts counts, per index range of prefixUnion, up to limit+1 users,
// and returns the sum and the largest: reading index entries only.
func (q *q) prefixCounts(ctx context.Context, orgID int64, word string, limit int) (sum, most int, err error) {
	sub, args := prefixUnion(orgID, word)
	var w where
	var parts []string
	for arm := range strings.SplitSeq(sub, " UNION ") {
		n := strings.Count(arm, "?")
		parts = append(parts, "(SELECT COUNT(*) FROM ("+w.bind(arm, args[:n]...)+" LIMIT "+w.bind("?", limit+1)+"))")
		args = args[n:]
	}
	rows, err := q.queryOn(ctx, q.ex, "SELECT "+strings.Join(parts, ", "), w.args...)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	counts := make([]any, len(parts))
	ns := make([]int, len(parts))
	for i := range counts {
		counts[i] = &ns[i]
	}
	if rows.Next() {
		if err := rows.Scan(counts...); err != nil {
			return 0, 0, err
		}
	}
	for _, n := range ns {
		sum, most = sum+n, max(most, n)
	}
	return sum, most, rows.Err()
}

// addPrefix matches a short word against the start of the email, first or
// last name.
func (q *q) addPrefix(w *where, word string) {
	if q.d == Postgres {
		p := escapeLike(word) + "%"
		w.add(`(u.email LIKE ? OR lower(u.first_name) LIKE ? OR lower(u.last_name) LIKE ?)`, p, p, p)
		return
	}
	// SQLite's lower() folds ASCII only, so names are matched through
	// their own (binary) index once per way of writing the word's case:
	// "jo" is looked up as jo, Jo, jO and JO. Emails are stored lowercase.
	var conds []string
	var args []any
	rng := func(col, p string) {
		conds = append(conds, "(u."+col+" >= ? AND u."+col+" < ?)")
		args = append(args, p, prefixEnd(p))
	}
	rng("email", word)
	for _, v := range caseVariants(word) {
		rng("first_name", v)
		rng("last_name", v)
	}
	w.add("("+strings.Join(conds, " OR ")+")", args...)
}

// prefixEnd is the least string greater than every string that starts with
// p, in binary (code point) order.
func prefixEnd(p string) string {
	r, size := utf8.DecodeLastRuneInString(p)
	if r == utf8.RuneError || r >= unicode.MaxRune-1 || r == 0xD7FF {
		return p + string(unicode.MaxRune)
	}
	return p[:len(p)-size] + string(r+1)
}

// caseVariants returns every way of writing a short lowercase word with
// each letter in lower, upper or title case.
func caseVariants(word string) []string {
	out := []string{""}
	for _, r := range word {
		forms := []rune{r}
		for _, f := range []rune{unicode.ToUpper(r), unicode.ToTitle(r)} {
			if f != forms[0] && (len(forms) < 2 || f != forms[1]) {
				forms = append(forms, f)
			}
		}
		var next []string
		for _, o := range out {
			for _, f := range forms {
				next = append(next, o+string(f))
			}
		}
		out = next
	}
	return out
}

// rosterMatch is roster_match(email, first_name, last_name, words) on
// SQLite: the row-by-row form of a search, words separated by NUL.
func rosterMatch(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	str := func(v driver.Value) string {
		switch s := v.(type) {
		case string:
			return s
		case []byte:
			return string(s)
		}
		return ""
	}
	email, first, last := str(args[0]), strings.ToLower(str(args[1])), strings.ToLower(str(args[2]))
	for word := range strings.SplitSeq(str(args[3]), "\x00") {
		var ok bool
		if isShortWord(word) {
			ok = strings.HasPrefix(email, word) || strings.HasPrefix(first, word) || strings.HasPrefix(last, word)
		} else {
			ok = strings.Contains(email, word) || strings.Contains(first, word) || strings.Contains(last, word)
		}
		if !ok {
			return int64(0), nil
		}
	}
	return int64(1), nil
}

func init() {
	sqlite.MustRegisterDeterministicScalarFunction("roster_match", 4, rosterMatch)
}
