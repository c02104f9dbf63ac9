package store_test

import (
	"cmp"
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// benchSize reads a size from the environment (scripts/bench-dashboard sets
// them; the defaults are the issue's).
func benchSize(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkDashboard measures what the User Management dashboard asks of
// the database on an organization of ROSTER_BENCH_USERS demo users (default
// 1,000,000, made by CreateDemoUsers as `roster demo` does), per database,
// each over ROSTER_BENCH_REQUESTS requests (default 300):
//
//   - list: the first page of the list, in each sort order, both ways;
//   - search: a substring search, terms drawn from the users (rare) and
//     from the most common names, domains and letter pairs (common), short
//     terms included;
//   - filter+search: the same terms with a status, permission, expiration
//     range or last-login filter;
//   - page2: the page after the first, through the cursor, with a filter;
//   - counts: the exact count per status.
//
// Each reports p50, p99 and max in ms (the targets: p99 <= 50 ms,
// counts <= 100 ms) and logs the plans (EXPLAIN QUERY PLAN / EXPLAIN
// ANALYZE) of a common and a rare case once. A database can be kept between
// runs: ROSTER_BENCH_SQLITE (a file) and ROSTER_BENCH_POSTGRES (a URL) name
// one that is filled on first use and reused after; ROSTER_BENCH_ORG names
// the organization (default bench).
func BenchmarkDashboard(b *testing.B) {
	users := benchSize("ROSTER_BENCH_USERS", 1_000_000)
	requests := benchSize("ROSTER_BENCH_REQUESTS", 300)
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db, org := benchOrg(b, be, users)
			today := org.Today(time.Now())
			rng := rand.New(rand.NewPCG(1, 2))
			terms := benchTerms(b, db, org.ID, today, rng, requests)
			filters := benchFilters(today)

			run := func(name string, mk func(i int) roster.UserFilter, show ...int) {
				b.Run(name, func(b *testing.B) {
					for _, i := range show {
						ectx, e := store.WithExplain(ctx)
						if _, err := db.ListUsers(ectx, org.ID, mk(i), today); err != nil {
							b.Fatal(err)
						}
						b.Logf("plan of %+v:\n%s", mk(i), e)
					}
					var times []time.Duration
					for b.Loop() {
						times = times[:0]
						for i := range requests {
							f := mk(i)
							t := time.Now()
							page, err := db.ListUsers(ctx, org.ID, f, today)
							d := time.Since(t)
							times = append(times, d)
							if err != nil {
								b.Fatalf("ListUsers(%+v): %v", f, err)
							}
							if d > slow {
								b.Logf("slow: %v for %s (total %d, exact %v)", d.Round(time.Millisecond), describe(f), page.Total, page.TotalExact)
							}
							if f.Query == "" && f.Status == "" && len(page.Users) == 0 {
								b.Fatalf("ListUsers(%+v): no users", f)
							}
						}
					}
					report(b, times)
				})
			}
			sorts := roster.SortKeys
			run("list", func(i int) roster.UserFilter {
				return roster.UserFilter{Sort: sorts[i%len(sorts)], Desc: i/len(sorts)%2 == 1}
			}, 0, 2)
			// Rare and common terms alternate; show the plan of each kind.
			run("search", func(i int) roster.UserFilter { return roster.UserFilter{Query: terms[i]} }, 0, 1)
			run("filter+search", func(i int) roster.UserFilter {
				f := filters[i%len(filters)]
				f.Query = terms[i]
				return f
			}, 0, 1)
			run("page2", func(i int) roster.UserFilter {
				f := filters[i%len(filters)]
				f.Sort, f.Desc = sorts[i%len(sorts)], i%2 == 1
				if i%3 == 0 {
					f.Query = terms[i]
				}
				page, err := db.ListUsers(ctx, org.ID, f, today)
				if err != nil {
					b.Fatal(err)
				}
				f.Cursor = page.NextCursor
				return f
			}, 0)

			b.Run("counts", func(b *testing.B) {
				ectx, e := store.WithExplain(ctx)
				counts, err := db.CountByStatus(ectx, org.ID, today)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("counts %v; plan:\n%s", counts, e)
				var times []time.Duration
				for b.Loop() {
					times = times[:0]
					for range requests / 5 {
						t := time.Now()
						if _, err := db.CountByStatus(ctx, org.ID, today); err != nil {
							b.Fatal(err)
						}
						times = append(times, time.Since(t))
					}
				}
				report(b, times)
			})
		})
	}
}

// slow is the time over which a request is logged with its filter.
const slow = 50 * time.Millisecond

// describe is a filter's non-empty fields.
func describe(f roster.UserFilter) string {
	v := f.Values()
	if f.Cursor != "" {
		v.Set("cursor", "…")
	}
	return v.Encode()
}

// report turns request times into p50, p99 and max in ms.
func report(b *testing.B, times []time.Duration) {
	s := slices.Clone(times)
	slices.Sort(s)
	at := func(p float64) float64 {
		i := min(int(p*float64(len(s))), len(s)-1)
		return float64(s[i].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50_ms")
	b.ReportMetric(at(0.99), "p99_ms")
	b.ReportMetric(float64(s[len(s)-1].Microseconds())/1000, "max_ms")
	b.ReportMetric(float64(len(s)), "requests")
	b.ReportMetric(0, "ns/op") // the per-request figures above are the ones to read
}

// benchOrg returns a database with an organization "bench" of n demo
// users: a fresh one, or the one named by ROSTER_BENCH_SQLITE or
// ROSTER_BENCH_POSTGRES, filled on first use.
func benchOrg(b *testing.B, be storetest.Backend, n int) (*store.DB, *roster.Org) {
	ctx := context.Background()
	var db *store.DB
	url := os.Getenv("ROSTER_BENCH_POSTGRES")
	if be.Name == "sqlite" {
		url = ""
		if p := os.Getenv("ROSTER_BENCH_SQLITE"); p != "" {
			url = "sqlite:" + p
		}
	}
	if url == "" {
		db = be.Open(b)
	} else {
		var err error
		if db, err = store.Open(ctx, store.Options{URL: url, DataDir: b.TempDir()}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		// A kept database may predate migrations that backfill from its
		// users: say what they cost (with the statistics refresh after).
		start := time.Now()
		if applied, err := db.Migrate(ctx); err != nil {
			b.Fatal(err)
		} else if applied > 0 {
			b.Logf("%s: applied %d migrations in %v", be.Name, applied, time.Since(start).Round(time.Millisecond))
		}
	}
	slug := cmp.Or(os.Getenv("ROSTER_BENCH_ORG"), "bench")
	org, err := db.OrgBySlug(ctx, slug)
	if err != nil {
		org = storetest.MakeOrg(b, db, slug)
	}
	have, err := db.CountByStatus(ctx, org.ID, roster.DateOf(time.Now()))
	if err != nil {
		b.Fatal(err)
	}
	total := have[roster.StatusActive] + have[roster.StatusNotLoggedIn] + have[roster.StatusExpired]
	if total < n {
		start := time.Now()
		made, err := db.CreateDemoUsers(ctx, org.ID, store.DemoOptions{Users: n - total, Now: time.Now(), Today: roster.DateOf(time.Now()), Seed: 42})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: created %d demo users in %v", be.Name, made, time.Since(start).Round(time.Millisecond))
	}
	return db, org
}

// benchTerms draws n search terms, alternating rare ones (a piece of a
// random user's email or name) and common ones (frequent names, domains,
// letter pairs and single letters).
func benchTerms(b *testing.B, db *store.DB, orgID int64, today roster.Date, rng *rand.Rand, n int) []string {
	ctx := context.Background()
	ids, err := db.UserIDs(ctx, orgID, roster.UserFilter{}, today, 0, 1_000_000_000)
	if err != nil || len(ids) == 0 {
		b.Fatalf("UserIDs: %d, %v", len(ids), err)
	}
	sample := make([]int64, n)
	for i := range sample {
		sample[i] = ids[rng.IntN(len(ids))]
	}
	people, err := db.UsersByIDs(ctx, orgID, sample)
	if err != nil {
		b.Fatal(err)
	}
	common := []string{"ann", "son", "mar", "example", "example.com", "li", "an", "wang", "garc", "ova", "mohammed", "smith",
		"@corp", "ez", "ch", "el", "a", "j", "jo", "kim", "nguy", "sharma", "иван", "王", "محمد", "müller", "ie", "org", "er", "mi"}
	var terms []string
	for i := 0; len(terms) < n; i++ {
		if i%2 == 1 {
			terms = append(terms, common[(i/2)%len(common)])
			continue
		}
		u := people[rng.IntN(len(people))]
		src := []string{u.Email, u.FirstName, u.LastName, u.FirstName + " " + u.LastName}[rng.IntN(4)]
		runes := []rune(src)
		l := min(len(runes), 3+rng.IntN(6))
		start := rng.IntN(len(runes) - l + 1)
		t := strings.TrimSpace(string(runes[start : start+l]))
		if utf8.RuneCountInString(t) == 0 {
			t = u.Email[:3]
		}
		terms = append(terms, t)
	}
	return terms
}

// benchFilters are the filters combined with searches.
func benchFilters(today roster.Date) []roster.UserFilter {
	return []roster.UserFilter{
		{Status: roster.StatusActive},
		{Status: roster.StatusNotLoggedIn},
		{Status: roster.StatusExpired},
		{Permission: roster.ViewAnalytics},
		{Permission: roster.ManageUsers},
		{ExpiresFrom: today, ExpiresTo: today.AddDays(90)},
		{LastLogin: roster.LastLoginFilter{Never: true}},
		{LastLogin: roster.LastLoginFilter{Before: today.AddDays(-180)}},
		{LastLogin: roster.LastLoginFilter{After: today.AddDays(-30)}, Status: roster.StatusActive},
		{Status: roster.StatusActive, Permission: roster.ManageCurations},
	}
}
