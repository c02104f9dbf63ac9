package admin_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// BenchmarkBulk measures bulk actions on ROSTER_BENCH_ROWS users (default
// 100,000) of an organization of ROSTER_BENCH_EXISTING (1,000,000), per
// database: expire, grant a permission, and resend (invitations queued).
// Targets: expire and grant ≤ 3 s, resend ≤ 10 s.
func BenchmarkBulk(b *testing.B) {
	existing := benchSize("ROSTER_BENCH_EXISTING", 1_000_000)
	n := benchSize("ROSTER_BENCH_ROWS", 100_000)
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
			storetest.SeedUsers(b, db, org.ID, existing, "seed")
			var ids []int64
			rows, err := db.SQL().QueryContext(ctx, "SELECT id FROM users WHERE org_id = $1 AND email LIKE 'seed%' ORDER BY id LIMIT $2", org.ID, n)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				var id int64
				rows.Scan(&id)
				ids = append(ids, id)
			}
			rows.Close()
			future := svc.Today(a).AddDays(365)
			for _, c := range []admin.BulkRequest{
				{Action: admin.BulkGrantPermission, Permission: roster.ViewAnalytics},
				{Action: admin.BulkResend},
				{Action: admin.BulkSetExpiration, Date: future},
				{Action: admin.BulkExpire},
			} {
				b.Run(fmt.Sprintf("%s-%d", c.Action, n), func(b *testing.B) {
					for b.Loop() {
						c.IDs = ids
						start := time.Now()
						r, err := svc.Bulk(ctx, a, c)
						if err != nil {
							b.Fatal(err)
						}
						if r.Done+len(r.Skipped) != len(ids) {
							b.Fatalf("%s: done %d + skipped %d, want %d", c.Action, r.Done, len(r.Skipped), len(ids))
						}
						b.ReportMetric(time.Since(start).Seconds(), "s")
					}
				})
			}
		})
	}
}
