package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

// DemoOptions says what CreateDemoUsers makes.
type DemoOptions struct {
	Users int
	// Now and Today (the organization's date) anchor the generated times
	// and the mix of statuses.
	Now   time.Time
	Today roster.Date
	// Seed makes the users reproducible; 0 picks one from the clock.
	Seed uint64
	// Progress, when set, is called after each batch with the number of
	// users created so far.
	Progress func(created int)
}

// demoBatch is how many users one statement (and transaction) inserts.
const demoBatch = 20000

// CreateDemoUsers fills the organization with o.Users realistic users:
// names from many languages and scripts, unique emails made of them at
// reserved example domains, and a mix of statuses, permissions, expiration
// dates, last logins and invitations, about as a real roster has them. The
// rows go into users like any other (so the search index and its triggers
// follow); nothing is queued: no email, no invitation job. An email already
// taken in the organization is skipped and another made instead. It
// returns how many users it created, and refreshes the planner's statistics
// at the end.
func (db *DB) CreateDemoUsers(ctx context.Context, orgID int64, o DemoOptions) (int, error) {
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	g := newDemoGen(o)
	if db.dialect == SQLite {
		// A million rows land in a dozen b-trees at random places (emails,
		// names, the search index): with SQLite's default 2 MB page cache
		// each insert reads pages back from the file. The write pool is one
		// connection; give it room while loading, then the default back.
		// And let the WAL grow to 100 MB between checkpoints (not 4 MB):
		// index pages written by one batch are often rewritten by the next.
		if _, err := db.w.ExecContext(ctx, "PRAGMA cache_size = -512000; PRAGMA wal_autocheckpoint = 25000"); err != nil {
			return 0, fmt.Errorf("store: demo users: %w", err)
		}
		defer db.w.ExecContext(context.WithoutCancel(ctx), "PRAGMA cache_size = -2000; PRAGMA wal_autocheckpoint = 1000; PRAGMA wal_checkpoint(TRUNCATE)")
	}
	created, made := 0, 0
	for created < o.Users {
		batch := g.next(min(demoBatch, o.Users-created))
		n, err := db.insertDemo(ctx, orgID, batch)
		if err != nil {
			return created, fmt.Errorf("store: demo users in org %d: %w", orgID, err)
		}
		created, made = created+n, made+len(batch)
		if o.Progress != nil {
			o.Progress(created)
		}
		if made-created > 10*o.Users+demoBatch {
			return created, fmt.Errorf("store: demo users in org %d: the emails made are taken", orgID)
		}
	}
	if db.dialect == SQLite {
		// Fewer, larger FTS segments: a search reads one b-tree per segment.
		if _, err := db.w.ExecContext(ctx, "INSERT INTO users_fts (users_fts) VALUES ('optimize')"); err != nil {
			return created, fmt.Errorf("store: demo users: optimize the search index: %w", err)
		}
	}
	if err := db.Analyze(ctx); err != nil {
		return created, err
	}
	if db.dialect == Postgres {
		// The visibility map, which index-only scans (the counts per
		// status, the walks of the sort indexes) need; autovacuum would
		// get to it, later.
		if _, err := db.w.ExecContext(ctx, "VACUUM users"); err != nil {
			return created, fmt.Errorf("store: demo users: vacuum: %w", err)
		}
	}
	return created, nil
}

// Analyze refreshes the planner's statistics of every table now (Optimize
// does it only where SQLite thinks it needed): after a bulk load, whose
// plans would otherwise be made for the table it was.
func (db *DB) Analyze(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("store: analyze: %w", err)
	}
	return db.noSkipScan(ctx)
}

// demoUser is one generated row.
type demoUser struct {
	email, first, last string
	perms              int64
	exp                string // YYYY-MM-DD or ""
	created, invited   time.Time
	login              time.Time // zero: never
	invitations        int
	delivery           string
}

func (db *DB) insertDemo(ctx context.Context, orgID int64, batch []demoUser) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	if db.dialect == Postgres {
		return db.insertDemoPostgres(ctx, orgID, batch)
	}
	// SQLite: multi-row VALUES, 13 parameters a row, below its limit of
	// 32,766 per statement; one transaction per batch.
	const perStmt = 500
	total := 0
	err := db.InTx(ctx, func(tx *Tx) error {
		for start := 0; start < len(batch); start += perStmt {
			rows := batch[start:min(start+perStmt, len(batch))]
			var b strings.Builder
			b.WriteString(`INSERT INTO users (org_id, email, first_name, last_name, permissions, expiration_date,
				created_at, updated_at, last_invited_at, invitation_count, delivery_status, delivery_updated_at, last_login_at) VALUES `)
			// Anonymous ? parameters: SQLite looks numbered ($N) ones up
			// in a list, which with thousands of them is quadratic.
			args := make([]any, 0, len(rows)*13)
			for i, u := range rows {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
				created := utc(u.created)
				args = append(args, orgID, u.email, u.first, u.last, u.perms, nullStr(u.exp), created, created,
					nullTime(u.invited), u.invitations, u.delivery, nullTime(u.invited), nullTime(u.login))
			}
			b.WriteString(" ON CONFLICT (org_id, email) DO NOTHING")
			res, err := tx.ex.ExecContext(ctx, b.String(), args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += int(n)
		}
		return nil
	})
	return total, err
}

// insertDemoPostgres sends a batch as arrays: one statement, one round trip.
func (db *DB) insertDemoPostgres(ctx context.Context, orgID int64, batch []demoUser) (int, error) {
	n := len(batch)
	email, first, last, exp := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	created, invited, login, delivery := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	perms, count := make([]int64, n), make([]int64, n)
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return utc(t).Format(time.RFC3339Nano)
	}
	for i, u := range batch {
		email[i], first[i], last[i], exp[i], perms[i] = u.email, u.first, u.last, u.exp, u.perms
		created[i], invited[i], login[i], delivery[i], count[i] = ts(u.created), ts(u.invited), ts(u.login), u.delivery, int64(u.invitations)
	}
	res, err := db.w.ExecContext(ctx, `INSERT INTO users (org_id, email, first_name, last_name, permissions, expiration_date,
			created_at, updated_at, last_invited_at, invitation_count, delivery_status, delivery_updated_at, last_login_at)
		SELECT $1, t.e, t.f, t.l, t.p, NULLIF(t.x, '')::date, t.c::timestamptz, t.c::timestamptz,
			NULLIF(t.i, '')::timestamptz, t.n, t.d, NULLIF(t.i, '')::timestamptz, NULLIF(t.g, '')::timestamptz
		FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[])
			AS t(e, f, l, p, x, c, i, n, d, g)
		ON CONFLICT (org_id, email) DO NOTHING`,
		orgID, email, first, last, perms, exp, created, invited, count, delivery, login)
	if err != nil {
		return 0, err
	}
	affected, _ := res.RowsAffected()
	return int(affected), nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// demoGen makes demo users. Emails are unique within the run (a repeated
// name gets a number); one taken by an earlier run is skipped by the
// insert and made again with the next number.
type demoGen struct {
	o       DemoOptions
	r       *rand.Rand
	seen    map[string]int32
	cumul   []int
	weights int
}

func newDemoGen(o DemoOptions) *demoGen {
	g := &demoGen{o: o, r: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), seen: make(map[string]int32, min(o.Users, 2_000_000))}
	for _, c := range demoCultures {
		g.weights += c.weight
		g.cumul = append(g.cumul, g.weights)
	}
	return g
}

func (g *demoGen) next(n int) []demoUser {
	out := make([]demoUser, n)
	for i := range out {
		out[i] = g.user()
	}
	// In email order, the inserts land next to one another in the email
	// indexes: fewer pages touched per batch.
	slices.SortFunc(out, func(a, b demoUser) int { return strings.Compare(a.email, b.email) })
	return out
}

func (g *demoGen) pick(list []string) (display, latin string) {
	s := list[g.r.IntN(len(list))]
	display, latin, ok := strings.Cut(s, "|")
	if !ok {
		latin = display
	}
	return display, latin
}

func (g *demoGen) user() demoUser {
	r := g.r
	w := r.IntN(g.weights)
	ci := 0
	for g.cumul[ci] <= w {
		ci++
	}
	c := demoCultures[ci]
	var u demoUser
	var gl, fl string
	u.first, gl = g.pick(c.given)
	u.last, fl = g.pick(c.family)
	if r.IntN(25) == 0 {
		// A few people with two given names or a double-barrelled one.
		second, sl := g.pick(c.given)
		if second != u.first {
			u.first += " " + second
			gl += " " + sl
		}
	}
	u.email = g.email(emailPart(gl), emailPart(fl), c.familyFirst)

	now := g.o.Now
	day := 24 * time.Hour
	// Joined over the last three years; most invited, most of those
	// logged in since; a quarter with an end date, some of them past.
	u.created = now.Add(-time.Duration(r.Int64N(int64(3 * 365 * day))))
	if r.IntN(100) < 92 {
		since := now.Sub(u.created)
		u.invited = u.created.Add(time.Duration(r.Int64N(int64(since) + 1)))
		u.invitations = 1 + min(r.IntN(6), r.IntN(6))
		u.delivery = "sent"
		if r.IntN(200) == 0 {
			u.delivery = "failed"
		}
		if r.IntN(100) < 68 {
			// Recent logins are more common than old ones.
			since := now.Sub(u.invited)
			f := r.Float64()
			u.login = now.Add(-time.Duration(f * f * f * float64(since)))
		}
	}
	switch p := r.IntN(100); {
	case p < 10: // expired: today or up to two years ago
		u.exp = g.o.Today.AddDays(-r.IntN(730)).String()
	case p < 27: // ends within two years
		u.exp = g.o.Today.AddDays(1 + r.IntN(730)).String()
	}
	switch p := r.IntN(1000); {
	case p < 3:
		u.perms = int64(roster.AllPermissionsSet)
	default:
		for _, pp := range []struct {
			perm     roster.Permission
			perMille int
		}{{roster.ViewAnalytics, 150}, {roster.ManageCurations, 50}, {roster.ManageComments, 40}} {
			if r.IntN(1000) < pp.perMille {
				u.perms |= int64(pp.perm)
			}
		}
	}
	return u
}

// email makes a unique address from the Latin forms of a name, in one of
// the shapes organizations use.
func (g *demoGen) email(given, family string, familyFirst bool) string {
	var local string
	switch p := g.r.IntN(100); {
	case p < 45:
		local = given + "." + family
	case p < 60:
		local = given[:1] + family
	case p < 68:
		local = given + "_" + family
	case p < 76:
		local = given + family[:1]
	case p < 84 || familyFirst:
		local = family + "." + given
	default:
		local = given + "." + family + strconv.Itoa(1950+g.r.IntN(56))
	}
	domain := demoDomains[min(g.r.IntN(len(demoDomains)), g.r.IntN(len(demoDomains)))] // the first ones more often
	key := local + "@" + domain
	n := g.seen[key]
	g.seen[key] = n + 1
	if n > 0 {
		local += strconv.Itoa(int(n) + 1)
	}
	return local + "@" + domain
}

// emailPart turns a Latin name into letters an email address can hold.
func emailPart(name string) string {
	s := asciiFold.Replace(strings.ToLower(name))
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "user"
	}
	return string(b)
}
