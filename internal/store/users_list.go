package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/roster"
)

// UserPage is one page of a user listing.
type UserPage struct {
	Users []*roster.User
	// Total counts the users matching the filter, exactly up to
	// MaxExactTotal; beyond that it is MaxExactTotal and TotalExact is false
	// (SPEC "Filter and search": "10,000+").
	Total      int
	TotalExact bool
	NextCursor string
}

// MaxExactTotal is how far a listing counts its matches exactly.
const MaxExactTotal = 10000

// How a listing finds its page at a million users (PERF-NOTES: a plain
// trigram index is not enough for common terms; choose the plan by how
// selective the term is). Every plan does bounded work, whatever the term:
//
//  1. The matches are collected through the indexes that serve the search
//     (FTS5 / pg_trgm, prefix btrees) or, when they are fewer, the filters
//     (status, permission, dates), stopping at MaxExactTotal+1, or at up to
//     collectPercent of it when the matches are surely no more than that
//     (searchCollect). One query counts them and sorts them for the page
//     after the cursor; then the page's users are read by id.
//  2. When more match than were collected, the total is "10,000+", and the
//     page comes from walking the sort column's index from the cursor,
//     checking each row, until the page is full: with more than 10,000
//     matches, at least one row in a hundred matches in an organization of
//     a million, so that usually stops after a few thousand rows.
//  3. The pages after a first one whose total was "10,000+" say so in
//     their cursor (cursor.More) and walk at once, without counting again.
//
// The plans are forced, not left to the planner, whose estimates of a
// substring's frequency are guesses: on SQLite by the join order (CROSS
// JOIN) and INDEXED BY, on PostgreSQL by turning plan types off for the one
// statement (SET LOCAL), as a hint would.

// sortKey is a column a listing can be sorted by.
type sortKey struct {
	name  string
	expr  string // over users u; an index (org_id, expr, id) serves it
	index string // that index
	kind  keyKind
	// nullable columns sort NULL as the smallest value (never logged in,
	// never invited) or, with nullsLargest, as the largest (no expiration
	// date: access never ends). Keyset paging treats the NULLs as a
	// segment of their own, ordered by id.
	nullable     bool
	nullsLargest bool
}

type keyKind int

const (
	keyText keyKind = iota
	keyTime
	keyDate
)

var sortKeys = map[string]sortKey{
	"email":           {name: "email", expr: "u.email", index: "users_org_email_names", kind: keyText},
	"name":            {name: "name", expr: "lower(u.first_name || ' ' || u.last_name)", index: "users_org_name", kind: keyText},
	"last_login_at":   {name: "last_login_at", expr: "u.last_login_at", index: "users_org_last_login", kind: keyTime, nullable: true},
	"last_invited_at": {name: "last_invited_at", expr: "u.last_invited_at", index: "users_org_last_invited", kind: keyTime, nullable: true},
	"expiration_date": {name: "expiration_date", expr: "u.expiration_date", index: "users_org_expiration", kind: keyDate, nullable: true, nullsLargest: true},
	"created_at":      {name: "created_at", expr: "u.created_at", index: "users_org_created", kind: keyTime},
}

// cursor is the position after the last row of a page: the sort, the
// segment (NULLs or values), the row's sort value and id. It travels
// base64-encoded; a cursor made for another sort is refused.
type cursor struct {
	Sort string `json:"s"`
	Desc bool   `json:"d,omitempty"`
	Seg  int    `json:"g,omitempty"`
	V    string `json:"v,omitempty"`
	ID   int64  `json:"id"`
	// More is the filterKey of the listing when its first page counted
	// more matches than the exact limit.
	More string `json:"m,omitempty"`
}

// listPlan is one listing's sort and position.
type listPlan struct {
	key   sortKey
	desc  bool
	segs  []bool // per segment in listing order: true for the NULL one
	cur   *cursor
	limit int
}

func (p *listPlan) dir() (string, string) {
	if p.desc {
		return "DESC", "<"
	}
	return "ASC", ">"
}

func newListPlan(f roster.UserFilter) (*listPlan, error) {
	name, ok := roster.ParseSort(f.Sort)
	if !ok {
		return nil, roster.FieldError("sort", "use one of "+strings.Join(roster.SortKeys, ", "))
	}
	p := &listPlan{key: sortKeys[name], desc: f.Desc, limit: f.Limit}
	if p.limit <= 0 || p.limit > roster.MaxListLimit {
		p.limit = 50
	}
	p.segs = []bool{false}
	if p.key.nullable {
		if nullsFirst := !f.Desc != p.key.nullsLargest; nullsFirst {
			p.segs = []bool{true, false}
		} else {
			p.segs = []bool{false, true}
		}
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil || c.Sort != name || c.Desc != f.Desc || c.Seg < 0 || c.Seg >= len(p.segs) {
			return nil, roster.FieldError("cursor", "the cursor is not valid; start again from the first page")
		}
		p.cur = &c
	}
	return p, nil
}

// keyArg turns a cursor's value back into a query argument.
func (p *listPlan) keyArg() (any, error) {
	if p.key.kind == keyTime {
		t, err := time.Parse(time.RFC3339Nano, p.cur.V)
		if err != nil {
			return nil, roster.FieldError("cursor", "the cursor is not valid; start again from the first page")
		}
		return utc(t), nil
	}
	return p.cur.V, nil
}

// keyString turns a row's sort value, as scanned, into a cursor value.
func (p *listPlan) keyString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		if p.key.kind == keyDate {
			return roster.DateOf(x.UTC()).String()
		}
		return x.UTC().Format(time.RFC3339Nano)
	case []byte:
		return p.keyString(string(x))
	case string:
		if p.key.kind == keyTime {
			// SQLite keeps times as text; read it back as the driver does.
			var t time.Time
			if err := (timeCol{&t}).Scan(x); err == nil {
				return t.Format(time.RFC3339Nano)
			}
		}
		if p.key.kind == keyDate && len(x) > 10 {
			return x[:10]
		}
		return x
	}
	return fmt.Sprint(v)
}

// cursorAfter is the cursor after a row with sort value k; more is the
// cursor's More.
func (p *listPlan) cursorAfter(id int64, k any, more string) string {
	c := cursor{Sort: p.key.name, Desc: p.desc, ID: id, V: p.keyString(k), More: more}
	c.Seg = slices.Index(p.segs, p.key.nullable && k == nil)
	return encodeCursor(c)
}

// ListUsers returns one page of the organization's users matching f, in
// keyset order, with the count of matches (exact up to MaxExactTotal).
// today is the organization's date, for statuses.
func (q *q) ListUsers(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date) (*UserPage, error) {
	p, err := newListPlan(f)
	if err != nil {
		return nil, err
	}
	page, err := q.listUsers(ctx, orgID, f, today, p)
	if err != nil {
		var ve *roster.ValidationError
		if errors.As(err, &ve) {
			return nil, err
		}
		return nil, fmt.Errorf("store: list users of org %d: %w", orgID, err)
	}
	return page, nil
}

func (q *q) listUsers(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date, p *listPlan) (*UserPage, error) {
	exact := q.maxExact()
	var ids []int64
	var keys []any
	var err error
	n, collect := exact+1, 0 // surely more: walk, without collecting
	if p.cur == nil || p.cur.More != filterKey(f) {
		if ids, keys, n, collect, err = q.collectMatches(ctx, orgID, f, today, p); err != nil {
			return nil, err
		}
	}
	page := &UserPage{Users: []*roster.User{}, Total: min(n, exact), TotalExact: n <= exact}
	if n <= collect {
		if page.Users, err = q.usersInOrder(ctx, orgID, ids); err != nil {
			return nil, err
		}
	} else {
		if page.Users, keys, err = q.walkedPage(ctx, orgID, f, today, p); err != nil {
			return nil, err
		}
		if p.cur == nil && len(page.Users) <= min(p.limit, exact) {
			// A first page that the walk could not fill has every match:
			// no more than the limit, whatever the estimate said.
			page.Total, page.TotalExact = len(page.Users), true
		}
	}
	if len(page.Users) > p.limit {
		page.Users, keys = page.Users[:p.limit], keys[:p.limit]
		more := ""
		if !page.TotalExact {
			more = filterKey(f)
		}
		page.NextCursor = p.cursorAfter(page.Users[p.limit-1].ID, keys[p.limit-1], more)
	}
	return page, nil
}

// walkedPage is the page after the cursor, found by walking the sort
// column's index and checking each row against f.
func (q *q) walkedPage(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date, p *listPlan) ([]*roster.User, []any, error) {
	uq, err := q.filterQuery(ctx, orgID, f, today, searchScan)
	if err != nil {
		return nil, nil, err
	}
	return q.pageByWalk(ctx, orgID, uq, p, f)
}

// collectMatches collects the matches of f, up to a bound, through the
// indexes chooseDriver picks, and returns the ids and sort values of the
// page after the cursor (at most p.limit+1), how many matched (n; more than
// collect when the bound stopped the collection, and then the ids are not
// the page) and the bound (collect; 0 when the matches are surely more
// than the exact limit without collecting). Past the exact limit, a
// collection that holds every match still gives the page: its sort is
// cheaper than a walk through rows that do not match.
func (q *q) collectMatches(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date, p *listPlan) (ids []int64, keys []any, n, collect int, err error) {
	exact := q.maxExact()
	drv, index, err := q.chooseDriver(ctx, orgID, f, today)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	uq, err := q.driverQuery(ctx, orgID, f, today, drv, index)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	collect = exact
	if words := searchWords(f.Query); len(words) == 0 {
		// Filters alone: their count is an index range, cheap to take first.
		if n, err = q.countCapped(ctx, uq, exact); err != nil || n > exact {
			return nil, nil, n, 0, err
		}
	} else if collect, err = q.searchCollect(ctx, orgID, f, words, uq); err != nil || collect == 0 {
		return nil, nil, exact + 1, 0, err
	}
	ids, keys, n, err = q.sortedMatches(ctx, uq, p, collect)
	return ids, keys, n, collect, err
}

// filterKey identifies a listing's filter and search in its cursors, so
// that the pages after a first one that counted past the exact limit do
// not count again (the cursor's More): a listing counts on its first page,
// and at 1,000,000 users counting 10,001 matches of a search and a filter
// cost 100-200 ms a page. A cursor used with another filter counts anew.
func filterKey(f roster.UserFilter) string {
	f.Cursor, f.Limit, f.Sort, f.Desc = "", 0, "", false
	h := fnv.New64a()
	h.Write([]byte(f.Values().Encode()))
	return strconv.FormatUint(h.Sum64(), 36)
}

// searchCollect tells how many matches of a search to collect at most
// before the page comes from a walk instead (0: surely more than the exact
// limit, walk without collecting). Past the exact limit the count stops,
// but a collection that holds every match is sorted for the page; so when
// the matches are surely few enough, up to collectPercent of the limit,
// all of them are collected. Otherwise the limit and one.
//
// On SQLite, without a filter, the bounds are cheap to take: the FTS
// table's matches of a search's one long word of at most five characters
// (cheapToCount), in every organization, are at least as many as the
// organization's; a search of one short word has the ranges of its prefix,
// of which the largest is at most as many and the sum at least.
// (With a filter, chooseDriver counts each side, and the limit stays.)
//
// On PostgreSQL, from the planner's estimate: beyond three times the limit,
// a search alone has surely more (the trigram index of a common term yields
// hundreds of thousands of rows, which a bitmap scan collects whole before
// the first match); below, twice the estimate, within the same bounds. The
// statistics of the searched expression are ten times finer than by
// default for this (0004_search): 30 hits in a sample of 1,000. With a
// filter the estimate multiplies the two sides' shares as if they were
// independent, which they need not be: the matches are counted. (Before the
// permission statistics of 0008, "Manage Users" with "ang" was estimated at
// more than 30,000 and shown as "10,000+": 156 matched.)
func (q *q) searchCollect(ctx context.Context, orgID int64, f roster.UserFilter, words []string, uq *userQuery) (int, error) {
	exact := q.maxExact()
	most := exact * cmp.Or(q.collectPercent, collectPercent) / 100
	if q.d == Postgres {
		cond, args := uq.w.sql()
		var plan string
		if err := q.ex.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) SELECT 1 FROM "+uq.from+" WHERE "+cond, args...).Scan(&plan); err != nil {
			return 0, err
		}
		var p []struct {
			Plan struct {
				Rows float64 `json:"Plan Rows"`
			}
		}
		if err := json.Unmarshal([]byte(plan), &p); err != nil || len(p) == 0 {
			return 0, err
		}
		switch est := int(p[0].Plan.Rows); {
		case est > 3*exact && !hasFilter(f):
			return 0, nil
		case est > most:
			return exact, nil
		default:
			return min(most, max(exact, 2*est)), nil
		}
	}
	if hasFilter(f) {
		return exact, nil
	}
	if long, _ := ftsQuery(words); long != "" {
		if !cheapToCount(words) {
			return exact, nil
		}
		atMost, err := q.estimateSearch(ctx, orgID, words, most)
		if err != nil || atMost > most {
			return exact, err
		}
		return max(exact, atMost), nil
	}
	if len(words) != 1 {
		return exact, nil
	}
	sum, largest, err := q.prefixCounts(ctx, orgID, words[0], most)
	switch {
	case err != nil:
		return 0, err
	case sum <= most:
		return max(exact, sum), nil
	case largest > exact:
		return 0, nil
	}
	return exact, nil
}

// collectPercent is how far past the exact limit, in percent of it, a
// search collects when its matches are surely no more (searchCollect).
// Measured at 1,000,000 users, medians of nine listings: "el" (19,000
// matches) 37 -> 21 ms on SQLite, 58 -> 15 ms on PostgreSQL; "lson"
// (10,069) 37 -> 20 and 48 -> 22 ms; "onald" 34 -> 19 and 46 -> 21 ms. The
// walks these replace had to pass tens of thousands of rows before the
// first match, where the sort order follows the search ("el" sorted by
// email). "ann" (28,400, PostgreSQL's estimate 26,000) stays past it: a
// collection of 25,000 that still ends in a walk cost 34 ms against 20.
const collectPercent = 250

// cheapToCount reports whether counting a search's FTS matches up to a
// few times the exact limit costs little against collecting them: one
// long word of at most five characters, three trigrams. The count reads
// every trigram's positions; a long word of common trigrams ("example.com",
// "5@exam", tens of thousands of matches) took 8-12 ms to count to 20,000
// where "lson" took 3.
func cheapToCount(words []string) bool {
	long := 0
	for _, w := range words {
		if !isShortWord(w) {
			if long++; long > 1 || utf8.RuneCountInString(w) > 5 {
				return false
			}
		}
	}
	return long == 1
}

// hasFilter reports whether f selects by anything but the search.
func hasFilter(f roster.UserFilter) bool {
	return f.Status != "" || f.Permission != 0 || !f.ExpiresFrom.IsZero() || !f.ExpiresTo.IsZero() || !f.LastLogin.IsZero()
}

// chooseDriver picks the side with fewer candidates to collect the matches
// through: the search's index (searchIndex), or the filters' (searchScan:
// then the search is checked row by row); on SQLite, it also names the
// index of the narrowest filter, for the filters' side. Each side is counted
// up to a bound, which is cheap: the FTS table alone, index ranges. On
// PostgreSQL the planner combines the indexes itself (BitmapAnd).
func (q *q) chooseDriver(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date) (searchMode, string, error) {
	words := searchWords(f.Query)
	if q.d == Postgres || !hasFilter(f) {
		return searchIndex, "", nil
	}
	const most = 50000 // counting further costs more than it can save
	terms := 0
	if len(words) > 0 {
		var err error
		if terms, err = q.estimateSearch(ctx, orgID, words, most); err != nil || terms <= q.maxExact()/4 {
			return searchIndex, "", err
		}
	}
	index, filtered, err := q.narrowestFilter(ctx, orgID, f, today, most)
	if err != nil {
		return searchIndex, "", err
	}
	switch {
	case len(words) == 0:
		return searchScan, index, nil
	case filtered <= most && terms <= most && min(terms, filtered) >= q.maxExact()/intersectShare && hasLongWord(words):
		// Both sides in the thousands: intersect their ids, reading index
		// entries only, then the rows of the matches.
		return searchIntersect, index, nil
	case filtered <= most || terms <= most:
		// A search candidate is read in id order, a filter candidate from
		// anywhere in the table: about twice the cost.
		if 2*filtered < terms {
			return searchScan, index, nil
		}
		return searchIndex, "", nil
	}
	// Both past the bound: which side reaches the exact limit (or its end)
	// sooner depends on how often each side's rows pass the other's test.
	// Check a sample of each side's first rows and compare the expected
	// costs (a search candidate is read in id order, a filter candidate
	// from anywhere in the table: about twice the cost).
	passFilter, passSearch, err := q.sampleSides(ctx, orgID, f, today, index)
	if err != nil {
		return searchIndex, "", err
	}
	// (The samples are the first rows in index order, not random ones: good
	// enough to choose a plan, not to claim a count without collecting.)
	need := float64(q.maxExact() + 1)
	viaSearch := min(need/max(passFilter, 0.001), 1e9)
	viaFilter := 2 * min(need/max(passSearch, 0.001), 1e9)
	if viaFilter < viaSearch {
		return searchScan, index, nil
	}
	return searchIndex, "", nil
}

// With a search and a filter on SQLite, when each side has at least a
// 1/intersectShare of the exact limit in candidates (2,000), and at most the
// bound chooseDriver counts to, the two sides' ids are intersected
// (searchIntersect) rather than a row read per candidate of the smaller
// side. Measured at 1,000,000 users with a three-month expiration range
// (20,984 users) and "mar" (43,590 FTS matches, 959 in the range), median of
// nine listings, runs alternated: 46-47 ms with a row per filter candidate,
// 19 ms intersecting; "son", 47-49 and 18-19 ms; searches not taking the
// plan unchanged. (Relative to the limit, so that tests lowering it take
// this plan too.)
const intersectShare = 5

// hasLongWord reports whether a search has a word the FTS table serves.
func hasLongWord(words []string) bool {
	long, _ := ftsQuery(words)
	return long != ""
}

// driverQuery is f as a query driven as chooseDriver chose: by the search's
// indexes, by the filter index named (searchScan), or by the intersection of
// the FTS matches of the search's long words with that filter index's range,
// both read without a row (searchIntersect, SQLite only), each candidate's
// row then checked against all of f as searchScan does.
func (q *q) driverQuery(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date, drv searchMode, index string) (*userQuery, error) {
	parts, err := q.filterParts(ctx, orgID, f, today)
	if err != nil {
		return nil, err
	}
	if drv != searchIntersect {
		uq := q.partsQuery(orgID, f, parts, drv)
		if index != "" {
			uq.from += " INDEXED BY " + index
		}
		return uq, nil
	}
	uq := q.partsQuery(orgID, f, parts, searchScan)
	long, _ := ftsQuery(searchWords(f.Query))
	for _, p := range parts {
		if p.index != index {
			continue
		}
		sub := "SELECT rowid FROM users_fts WHERE users_fts MATCH ? INTERSECT SELECT u.id FROM users u INDEXED BY " + index +
			" WHERE u.org_id = ? AND " + p.cond
		uq.from = "(" + uq.w.bind(sub, append([]any{long, orgID}, p.args...)...) + ") s CROSS JOIN users u ON u.id = s.rowid"
		return uq, nil
	}
	return nil, fmt.Errorf("no filter is served by %s", index)
}

// sampleSize is how many candidates of each side sampleSides checks.
const sampleSize = 256

// sampleSides returns, on SQLite, the share of the search's first FTS
// candidates that pass the filters, and of the filter index's first
// candidates that pass the search. A search of short words alone has no
// FTS side: its share is taken as 1, which keeps it on its own index.
func (q *q) sampleSides(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date, index string) (float64, float64, error) {
	parts, err := q.filterParts(ctx, orgID, f, today)
	if err != nil {
		return 0, 0, err
	}
	share := func(from string, w *where) (float64, error) {
		var of, n int
		err := q.queryRowOn(ctx, q.ex, "SELECT COUNT(*), COALESCE(SUM(CASE WHEN "+strings.Join(w.conds, " AND ")+
			" THEN 1 ELSE 0 END), 0) FROM "+from, w.args...).Scan(&of, &n)
		if of == 0 {
			return 1, err
		}
		return float64(n) / float64(of), err
	}
	words := searchWords(f.Query)
	passFilter := 1.0
	if long, _ := ftsQuery(words); long != "" {
		var w where
		sub := w.bind("SELECT rowid FROM users_fts WHERE users_fts MATCH ? LIMIT ?", long, sampleSize)
		w.add("u.org_id = ?", orgID)
		for _, p := range parts {
			w.add(p.cond, p.args...)
		}
		if passFilter, err = share("("+sub+") s JOIN users u ON u.id = s.rowid", &w); err != nil {
			return 0, 0, err
		}
	}
	// The filter side: rows of the narrowest filter's index, checked
	// against the other filters and the search.
	var w where
	w.add("u.org_id = ?", orgID)
	var rest []filterPart
	for _, p := range parts {
		if p.index == index && len(w.conds) == 1 {
			w.add(p.cond, p.args...)
		} else {
			rest = append(rest, p)
		}
	}
	sub := fmt.Sprintf("SELECT u.id FROM users u INDEXED BY %s WHERE %s LIMIT %d", index, strings.Join(w.conds, " AND "), sampleSize)
	w.conds = nil
	for _, p := range rest {
		w.add(p.cond, p.args...)
	}
	for _, word := range words {
		q.addWordCheck(&w, word)
	}
	passSearch, err := share("("+sub+") s JOIN users u ON u.id = s.id", &w)
	return passFilter, passSearch, err
}

// countCapped counts the matches of uq, stopping at limit+1.
func (q *q) countCapped(ctx context.Context, uq *userQuery, limit int) (int, error) {
	cond, args := uq.w.sql()
	args = append(args, limit+1)
	var n int
	err := q.queryRowOn(ctx, q.ex, fmt.Sprintf("SELECT COUNT(*) FROM (SELECT 1 FROM %s WHERE %s LIMIT $%d) m",
		uq.from, cond, len(args)), args...).Scan(&n)
	return n, err
}

// sortedMatches collects up to limit+1 matches of uq with their sort
// values, counts them, and returns the ids and sort values of the page
// after the cursor (at most p.limit+1 of them, in order) and the count.
// MATERIALIZED keeps the planner from walking the sort index instead.
func (q *q) sortedMatches(ctx context.Context, uq *userQuery, p *listPlan, limit int) ([]int64, []any, int, error) {
	cond, args := uq.w.sql()
	args = append(args, limit+1)
	collectLimit := len(args)
	w := where{args: args}
	dir, cmp := p.dir()
	order := fmt.Sprintf("%%[1]s.k %s, %%[1]s.id %s", dir, dir)
	if p.key.nullable {
		// NULLs are one segment, before or after the values.
		nullRank := 1
		if p.segs[0] {
			nullRank = 0
		}
		order = fmt.Sprintf("CASE WHEN %%[1]s.k IS NULL THEN %d ELSE %d END, %s", nullRank, 1-nullRank, order)
	}
	if p.cur != nil {
		// After the cursor: later in its segment, or in a later segment.
		later := "1 = 0"
		if len(p.segs) == 2 && p.cur.Seg == 0 {
			later = "m.k IS NOT NULL"
			if p.segs[1] {
				later = "m.k IS NULL"
			}
		}
		if p.segs[p.cur.Seg] {
			w.add(fmt.Sprintf("((m.k IS NULL AND m.id %s ?) OR %s)", cmp, later), p.cur.ID)
		} else {
			v, err := p.keyArg()
			if err != nil {
				return nil, nil, 0, err
			}
			w.add(fmt.Sprintf("((m.k IS NOT NULL AND (m.k %s ? OR (m.k = ? AND m.id %s ?))) OR %s)", cmp, cmp, later), v, v, p.cur.ID)
		}
	}
	after := ""
	if len(w.conds) > 0 {
		after = " WHERE " + strings.Join(w.conds, " AND ")
	}
	args = append(w.args, p.limit+1)
	query := fmt.Sprintf(`WITH m AS MATERIALIZED (SELECT u.id, %s AS k FROM %s WHERE %s LIMIT $%d)
		SELECT c.n, pg.id, pg.k FROM (SELECT COUNT(*) AS n FROM m) c
		LEFT JOIN (SELECT m.id, m.k FROM m%s ORDER BY %s LIMIT $%d) pg ON 1 = 1
		ORDER BY %s`,
		p.key.expr, uq.from, cond, collectLimit, after, fmt.Sprintf(order, "m"), len(args), fmt.Sprintf(order, "pg"))
	var ids []int64
	var keys []any
	n := 0
	err := q.hinted(ctx, hintCollect, func(ex execer) error {
		rows, err := q.queryOn(ctx, ex, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id sql.NullInt64
			var k any
			if err := rows.Scan(&n, &id, &k); err != nil {
				return err
			}
			if id.Valid {
				ids, keys = append(ids, id.Int64), append(keys, k)
			}
		}
		return rows.Err()
	})
	return ids, keys, n, err
}

// usersInOrder reads the users with these ids, in the order given.
func (q *q) usersInOrder(ctx context.Context, orgID int64, ids []int64) ([]*roster.User, error) {
	users, err := q.UsersByIDs(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*roster.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	out := make([]*roster.User, 0, len(ids))
	for _, id := range ids {
		if u := byID[id]; u != nil { // deleted meanwhile: left out
			out = append(out, u)
		}
	}
	return out, nil
}

// pageByWalk is the page after the cursor found by walking the sort
// column's index, segment by segment, checking each row against the
// filter (uq is in searchScan form). It reads ids and sort values only, so
// that on the email and name indexes, which hold the searched columns, the
// walk reads no row for an entry that fails the search (and, on PostgreSQL,
// whose indexes also hold the filtered columns, none at all); then the
// page's users by id.
func (q *q) pageByWalk(ctx context.Context, orgID int64, uq *userQuery, p *listPlan, f roster.UserFilter) ([]*roster.User, []any, error) {
	dir, cmp := p.dir()
	first := 0
	if p.cur != nil {
		first = p.cur.Seg
	}
	from := uq.from
	if q.d == SQLite {
		from += " INDEXED BY " + p.key.index
	}
	var ids []int64
	var keys []any
	for seg := first; seg < len(p.segs) && len(ids) <= p.limit; seg++ {
		isNull := p.segs[seg]
		if !segmentCanMatch(p.key, isNull, f) {
			continue
		}
		w := where{conds: slices.Clone(uq.w.conds), args: slices.Clone(uq.w.args)}
		if p.key.nullable {
			if isNull {
				w.add(p.key.expr + " IS NULL")
			} else {
				w.add(p.key.expr + " IS NOT NULL")
			}
		}
		if p.cur != nil && seg == p.cur.Seg {
			switch {
			case isNull:
				w.add("u.id "+cmp+" ?", p.cur.ID)
			case p.key.name == "email": // unique in the organization
				w.add("u.email "+cmp+" ?", p.cur.V)
			default:
				v, err := p.keyArg()
				if err != nil {
					return nil, nil, err
				}
				w.add(fmt.Sprintf("(%s, u.id) %s (?, ?)", p.key.expr, cmp), v, p.cur.ID)
			}
		}
		order := fmt.Sprintf("%s %s, u.id %s", p.key.expr, dir, dir)
		if p.key.name == "email" {
			order = "u.email " + dir
		}
		cond, args := w.sql()
		args = append(args, p.limit+1-len(ids))
		query := fmt.Sprintf("SELECT u.id, %s FROM %s WHERE %s ORDER BY %s LIMIT $%d", p.key.expr, from, cond, order, len(args))
		err := q.hinted(ctx, hintWalk, func(ex execer) error {
			rows, err := q.queryOn(ctx, ex, query, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var k any
				if err := rows.Scan(&id, &k); err != nil {
					return err
				}
				ids, keys = append(ids, id), append(keys, k)
			}
			return rows.Err()
		})
		if err != nil {
			return nil, nil, err
		}
	}
	users, err := q.usersInOrder(ctx, orgID, ids)
	if err != nil || len(users) != len(ids) {
		// A user deleted between the two reads: keep keys aligned.
		kept := make([]any, 0, len(users))
		byID := map[int64]any{}
		for i, id := range ids {
			byID[id] = keys[i]
		}
		for _, u := range users {
			kept = append(kept, byID[u.ID])
		}
		keys = kept
	}
	return users, keys, err
}

// segmentCanMatch reports whether the NULL (or value) segment of the sort
// column can hold a match of f: walking 700,000 logged-in users to find
// those who never logged in would find none, slowly.
func segmentCanMatch(k sortKey, isNull bool, f roster.UserFilter) bool {
	switch k.name {
	case "last_login_at":
		never := f.LastLogin.Never || f.Status == roster.StatusNotLoggedIn
		ever := !f.LastLogin.Before.IsZero() || !f.LastLogin.After.IsZero() || f.Status == roster.StatusActive
		return !(isNull && ever) && !(!isNull && never)
	case "expiration_date":
		return !isNull || (f.ExpiresFrom.IsZero() && f.ExpiresTo.IsZero() && f.Status != roster.StatusExpired)
	}
	return true
}

// hint is a kind of plan forced on PostgreSQL's planner.
type hint int

const (
	// hintCollect: collect matches through bitmap index scans (of the
	// trigram, prefix or filter indexes), never a sequential scan that a
	// LIMIT makes look cheap, nor a walk of another index.
	hintCollect hint = iota
	// hintWalk: walk the sort column's index in order, never a bitmap
	// scan and sort of every match.
	hintWalk
)

var pgHints = map[hint]string{
	hintCollect: "SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off",
	hintWalk:    "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off",
}

// hinted runs fn on PostgreSQL in a read-only transaction with the hint's
// settings (SET LOCAL ends with it); elsewhere, and inside a transaction
// already, as it is.
func (q *q) hinted(ctx context.Context, h hint, fn func(ex execer) error) error {
	db, ok := q.ex.(*sql.DB)
	if q.d != Postgres || !ok {
		return fn(q.ex)
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, pgHints[h]); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID <= 0 {
		return c, roster.FieldError("cursor", "the cursor is not valid; start again from the first page")
	}
	return c, nil
}

func (q *q) maxExact() int {
	if q.exactTotal > 0 {
		return q.exactTotal
	}
	return MaxExactTotal
}

// SetMaxExactTotal makes listings of db count exactly only up to n, and
// plan as beyond it: for tests, which can then exercise both plans on a
// few dozen users. n <= 0 restores MaxExactTotal.
func (db *DB) SetMaxExactTotal(n int) { db.q.exactTotal = n }

// SetCollectPercent makes searches of db collect their matches up to p
// percent of the exact limit when they are surely no more, instead of 250:
// for tests, which with 100 exercise the walk on every search past the
// limit. p <= 0 restores the default.
func (db *DB) SetCollectPercent(p int) { db.q.collectPercent = max(p, 0) }

// CountByStatus counts the organization's users by status on the day today,
// exactly (SPEC "Filter and search": "the count per status (exact)"). Every
// status is present in the map, zero or not.
//
// It reads user_status_counts (0007), which triggers keep exact: how many
// users share each (logged in or not, expiration date). An organization has
// two per distinct date, whatever its size (2,922 in the 1,000,000-user demo
// roster, read and summed in about 1.5 ms), so this is one small read and
// one snapshot, whatever today is. Inside a transaction it sees the
// transaction's own changes.
func (q *q) CountByStatus(ctx context.Context, orgID int64, today roster.Date) (map[roster.Status]int, error) {
	counts, _, err := q.countByStatus(ctx, orgID, today)
	return counts, err
}

// countByStatus is CountByStatus that also reports how many of the
// organization's rows in user_status_counts are redundant (more than one
// for a bucket: PostgreSQL appends a row per change).
func (q *q) countByStatus(ctx context.Context, orgID int64, today roster.Date) (map[roster.Status]int, int, error) {
	// SPEC "Status": expired when the date is today or earlier; "no
	// expiration" is NULL on PostgreSQL, '' on SQLite (0007 says why).
	expired := "expiration_date <= $2"
	if q.d == SQLite {
		expired = "expiration_date <> '' AND expiration_date <= $2"
	}
	// Summed in SQL: an organization has thousands of buckets (a date each
	// for four years, twice), and one row back is cheaper than thousands
	// through the driver (3 ms on SQLite at 2,922 buckets).
	query := `SELECT
		CAST(COALESCE(SUM(CASE WHEN NOT expired AND logged_in THEN n ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN NOT expired AND NOT logged_in THEN n ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(CASE WHEN expired THEN n ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(SUM(nrows) - COUNT(*), 0) AS BIGINT)
		FROM (SELECT logged_in, COALESCE(` + expired + `, FALSE) AS expired, SUM(n) AS n, COUNT(*) AS nrows
			FROM user_status_counts WHERE org_id = $1 GROUP BY logged_in, expiration_date) AS buckets`
	var active, never, expiredN, redundant int
	if err := q.queryRowOn(ctx, q.ex, query, orgID, today.String()).Scan(&active, &never, &expiredN, &redundant); err != nil {
		return nil, 0, fmt.Errorf("store: count users of org %d by status: %w", orgID, err)
	}
	out := map[roster.Status]int{roster.StatusActive: active, roster.StatusNotLoggedIn: never, roster.StatusExpired: expiredN}
	return out, redundant, nil
}

// foldAfter is how many redundant rows an organization may have in
// user_status_counts (PostgreSQL) before CountByStatus folds them: small
// next to the thousands of buckets a large roster has anyway, so the read
// stays about as fast, and a fold costs about as much as a read.
const foldAfter = 500

// statusFoldLock is the first key of the advisory lock a fold of an
// organization's status counts holds; the organization is the second.
const statusFoldLock = 0x5374 // "St"

// CountByStatus is q.CountByStatus that, on PostgreSQL, also folds the
// organization's rows of user_status_counts into one per bucket once more
// than foldAfter of them are redundant, so that the next read is small again.
// A failed fold is logged: the counts read are right either way.
func (db *DB) CountByStatus(ctx context.Context, orgID int64, today roster.Date) (map[roster.Status]int, error) {
	counts, redundant, err := db.countByStatus(ctx, orgID, today)
	if err == nil && db.dialect == Postgres && redundant > foldAfter {
		if err := db.foldStatusCounts(ctx, orgID); err != nil && ctx.Err() == nil {
			db.log.Warn("Fold status counts", "org_id", orgID, "err", err)
		}
	}
	return counts, err
}

// foldStatusCounts replaces the organization's rows of user_status_counts
// by one per bucket, their sums (none for a bucket summing to 0), in one
// statement: a reader sees the rows before or after, never half of it.
//
// Two folds at once neither lose nor double a change: a row is deleted by
// one statement only (under READ COMMITTED, a DELETE that finds a row
// already deleted by a committed transaction skips it), and the statement
// that deletes it inserts its value back in the same commit. Rows the
// triggers append meanwhile are not in the fold's snapshot and stay. The
// advisory lock only spares the work: a second fold of the organization
// returns at once instead of waiting on the first one's rows, or taking
// them in another order and deadlocking with it. (Its key is the
// organization's ID modulo 2^31; two organizations sharing one merely skip
// a fold.)
func (db *DB) foldStatusCounts(ctx context.Context, orgID int64) error {
	return db.InTx(ctx, func(tx *Tx) error {
		var locked bool
		if err := tx.ex.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock($1, ($2 % 2147483648)::int)",
			statusFoldLock, orgID).Scan(&locked); err != nil {
			return fmt.Errorf("store: fold status counts of org %d: %w", orgID, err)
		}
		if !locked {
			return nil
		}
		if _, err := tx.ex.ExecContext(ctx, `WITH folded AS (
				DELETE FROM user_status_counts WHERE org_id = $1 RETURNING logged_in, expiration_date, n)
			INSERT INTO user_status_counts (org_id, logged_in, expiration_date, n)
			SELECT $1, logged_in, expiration_date, SUM(n) FROM folded
			GROUP BY logged_in, expiration_date HAVING SUM(n) <> 0`, orgID); err != nil {
			return fmt.Errorf("store: fold status counts of org %d: %w", orgID, err)
		}
		return nil
	})
}
