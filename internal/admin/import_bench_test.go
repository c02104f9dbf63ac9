package admin_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// benchSize reads a size from the environment (scripts/bench-import sets
// them; the defaults are the targets).
func benchSize(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkImport measures CSV imports against an organization that already
// has ROSTER_BENCH_EXISTING users (default 1,000,000), per database:
//   - preview: ROSTER_BENCH_ROWS rows (default 100,000), half of them
//     existing users, half new; nothing changes;
//   - apply: ROSTER_BENCH_ROWS new users with their invitations queued;
//   - raw: the same rows as a plain batched INSERT into a bare table with a
//     unique email index, in the same database: the limit Roster's apply
//     rate is compared with.
//
// Each reports rows/s. scripts/bench-import prints them with the ratios.
func BenchmarkImport(b *testing.B) {
	existing := benchSize("ROSTER_BENCH_EXISTING", 1_000_000)
	rows := benchSize("ROSTER_BENCH_ROWS", 100_000)
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db := be.Open(b)
			svc := admin.New(admin.Options{DB: db, BaseURL: "http://roster.test"})
			org := &roster.Org{Name: "Bench", Slug: "bench", UserManagement: true}
			if err := svc.CreateOrg(ctx, org); err != nil {
				b.Fatal(err)
			}
			if _, _, err := svc.AddAdmin(ctx, "bench", "boss@bench.example"); err != nil {
				b.Fatal(err)
			}
			a, err := svc.ActorFor(ctx, "bench", "")
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			storetest.SeedUsers(b, db, org.ID, existing, "seed")
			b.Logf("seeded %d users in %v", existing, time.Since(start).Round(time.Millisecond))

			b.Run(fmt.Sprintf("preview-%d-on-%d", rows, existing), func(b *testing.B) {
				file := benchCSV(rows, func(i int) string {
					if i%2 == 0 {
						return fmt.Sprintf("seed%d@example.org", i*(existing/rows)) // an existing user
					}
					return fmt.Sprintf("preview%d@bench.example", i)
				})
				for b.Loop() {
					p, err := svc.PreviewImport(ctx, a, bytes.NewReader(file), admin.ImportOptions{})
					if err != nil {
						b.Fatal(err)
					}
					if p.Import.WillCreate+p.Import.WillUpdate != rows {
						b.Fatalf("preview: %d create + %d update, want %d rows", p.Import.WillCreate, p.Import.WillUpdate, rows)
					}
				}
				b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			})

			b.Run(fmt.Sprintf("apply-%d-new", rows), func(b *testing.B) {
				round := 0
				var elapsed time.Duration
				for b.Loop() {
					round++
					file := benchCSV(rows, func(i int) string { return fmt.Sprintf("new%d-%d@bench.example", round, i) })
					// Only applying is timed here; the preview has its own figure.
					b.StopTimer()
					p, err := svc.PreviewImport(ctx, a, bytes.NewReader(file), admin.ImportOptions{})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					t0 := time.Now()
					if _, err := svc.ApplyImport(ctx, a, p.Import.ID); err != nil {
						b.Fatal(err)
					}
					if ran, err := svc.RunOneImport(ctx, "bench", p.Import.ID); !ran || err != nil {
						b.Fatalf("RunOneImport = %v, %v", ran, err)
					}
					elapsed += time.Since(t0)
					got, err := svc.Import(ctx, a, p.Import.ID)
					if err != nil || got.Import.Created != rows || got.Import.Invited != rows {
						b.Fatalf("applied %+v, %v; want %d created and invited", got.Import, err, rows)
					}
				}
				b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
			})

			b.Run(fmt.Sprintf("raw-insert-%d", rows), func(b *testing.B) {
				round := 0
				for b.Loop() {
					round++
					rawInsert(b, db, rows, round)
				}
				b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		})
	}
}

// benchCSV builds a file of n rows with every column, emails from email(i).
func benchCSV(n int, email func(i int) string) []byte {
	var buf bytes.Buffer
	buf.WriteString("email,first_name,last_name,expiration_date,permissions\n")
	for i := range n {
		perms := ""
		if i%3 == 0 {
			perms = "view_analytics;manage_comments"
		}
		exp := ""
		if i%4 == 0 {
			exp = "2030-06-30"
		}
		fmt.Fprintf(&buf, "%s,Given%d,Family%d,%s,%s\n", email(i), i, i, exp, perms)
	}
	return buf.Bytes()
}

// rawInsert is the bare database work of an import, for comparison: n rows
// into a table holding only a unique (org, email) index, 1,000 per
// transaction through a prepared statement (SQLite) or one multi-row
// statement per batch (PostgreSQL), as PERF-NOTES.md measured.
func rawInsert(b *testing.B, db *store.DB, n, round int) {
	b.Helper()
	ctx := context.Background()
	sqlDB := db.SQL()
	if round == 1 {
		b.StopTimer()
		if _, err := sqlDB.ExecContext(ctx, `CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, email TEXT NOT NULL,
			first_name TEXT NOT NULL, last_name TEXT NOT NULL, permissions INTEGER NOT NULL, expiration_date TEXT)`); err != nil {
			b.Fatal(err)
		}
		if db.Dialect() == store.Postgres {
			sqlDB.ExecContext(ctx, `ALTER TABLE bench_raw ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY`)
		}
		if _, err := sqlDB.ExecContext(ctx, `CREATE UNIQUE INDEX bench_raw_email ON bench_raw (org_id, email)`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if db.Dialect() == store.Postgres {
			emails, first, last := make([]string, 0, hi-lo), make([]string, 0, hi-lo), make([]string, 0, hi-lo)
			for i := lo; i < hi; i++ {
				emails = append(emails, fmt.Sprintf("raw%d-%d@bench.example", round, i))
				first, last = append(first, fmt.Sprint("Given", i)), append(last, fmt.Sprint("Family", i))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO bench_raw (org_id, email, first_name, last_name, permissions)
				SELECT 1, e, f, l, 0 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(e, f, l)`, emails, first, last); err != nil {
				b.Fatal(err)
			}
		} else {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO bench_raw (org_id, email, first_name, last_name, permissions) VALUES (1, $1, $2, $3, 0)`)
			if err != nil {
				b.Fatal(err)
			}
			for i := lo; i < hi; i++ {
				if _, err := stmt.ExecContext(ctx, fmt.Sprintf("raw%d-%d@bench.example", round, i), fmt.Sprint("Given", i), fmt.Sprint("Family", i)); err != nil {
					b.Fatal(err)
				}
			}
			stmt.Close()
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
