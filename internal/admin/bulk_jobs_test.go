package admin_test

import (
	"errors"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestBulkJob runs bulk actions over a filtered set as background jobs:
// every selected user once, in chunks, none of another organization's and
// none created after the start; a job resumes from its checkpoint after its
// instance died; remove needs the count confirmed; a job whose admin is gone
// fails with the reason.
func TestBulkJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		acme, other := e.org(t, "acme"), e.org(t, "other")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		today := e.svc.Today(boss)
		if _, err := e.db.CreateDemoUsers(ctx, acme.ID, store.DemoOptions{Users: 2500, Now: e.clock.Now(), Today: today, Seed: 7}); err != nil {
			t.Fatal(err)
		}
		stranger := e.plainUser(t, other.ID, "stranger@other.example", 0, roster.Date{}, "")
		hasVA := func(orgID int64) int {
			var n int
			// permissions are stored as a bit set; count in Go to stay dialect-free
			for _, id := range allIDs(t, e, orgID) {
				if u, err := e.db.UserByID(ctx, orgID, id); err == nil && u.Permissions.Has(roster.ViewAnalytics) {
					n++
				}
			}
			return n
		}

		// Grant to everyone: 2,501 users in three chunks; a user created
		// after the start is not part of it.
		j, err := e.svc.StartBulk(ctx, boss, admin.BulkRequest{Action: admin.BulkGrantPermission, Permission: roster.ViewAnalytics, Filter: &roster.UserFilter{}})
		if err != nil {
			t.Fatal(err)
		}
		if j.Total != 2501 || j.State != store.BulkJobRunning {
			t.Fatalf("started job = %+v; want 2,501 users, running", j)
		}
		late := e.plainUser(t, acme.ID, "late@acme.example", 0, roster.Date{}, "")
		before := hasVA(acme.ID)
		if ran, err := e.svc.RunOneBulkJob(ctx, "me", j.ID); !ran || err != nil {
			t.Fatalf("RunOneBulkJob = %v, %v", ran, err)
		}
		j, skips, err := e.svc.BulkJob(ctx, boss, j.ID, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.BulkJobDone || j.Processed != 2501 || j.Done+j.Skipped != 2501 || j.Done != 2501-before {
			t.Errorf("grant job = %+v; want done, 2,501 processed, %d granted, the rest skipped", j, 2501-before)
		}
		if len(skips) != min(j.Skipped, store.MaxBulkJobSkips) || j.SkipReasons["already has View Analytics"] != j.Skipped {
			t.Errorf("%d skips kept, reasons %v; want %d, all 'already has View Analytics'", len(skips), j.SkipReasons, j.Skipped)
		}
		if got := hasVA(acme.ID); got != 2501 {
			t.Errorf("%d users of acme have View Analytics, want 2,501 (all but late@)", got)
		}
		if u := e.user(t, acme.ID, late.Email); u.Permissions.Has(roster.ViewAnalytics) {
			t.Error("a user created after the job started was changed")
		}
		if u := e.user(t, other.ID, stranger.Email); u.Permissions.Has(roster.ViewAnalytics) {
			t.Error("another organization's user was changed")
		}
		var n int
		e.db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_events WHERE org_id = $1 AND action = 'user.bulk_grant_permission'", acme.ID).Scan(&n)
		if n != j.Done {
			t.Errorf("%d audit events, want one per user changed (%d)", n, j.Done)
		}
		if _, _, err := e.svc.BulkJob(ctx, e.cliActorOf(t, other), j.ID, 10); !errors.Is(err, roster.ErrNotFound) {
			t.Errorf("another organization reading the job: %v, want not found", err)
		}

		// Resume: an instance handled the users up to a point and died; the
		// next one takes over after the lease and does only the rest.
		e.plainUser(t, acme.ID, "x@acme.example", 0, roster.Date{}, "")
		j, err = e.svc.StartBulk(ctx, boss, admin.BulkRequest{Action: admin.BulkSetExpiration, Date: today.AddDays(777), Filter: &roster.UserFilter{Query: "exam"}})
		if err != nil {
			t.Fatal(err)
		}
		ids := allIDs(t, e, acme.ID)
		if j.Total != len(ids) {
			t.Fatalf("a search every email matches selected %d users, want %d", j.Total, len(ids))
		}
		cut := ids[1200]
		dead, err := e.db.ClaimBulkJob(ctx, "dead-instance", j.ID, e.clock.Now(), admin.DefaultImportLease)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.db.InTx(ctx, func(tx *store.Tx) error {
			return tx.CheckpointBulkJob(ctx, dead, "dead-instance", store.BulkCheckpoint{CursorID: cut, Processed: 1201}, e.clock.Now(), admin.DefaultImportLease)
		}); err != nil {
			t.Fatal(err)
		}
		if ran, err := e.svc.RunOneBulkJob(ctx, "me", j.ID); ran || err != nil {
			t.Errorf("RunOneBulkJob while the lease holds = %v, %v; want false, nil", ran, err)
		}
		e.clock.Advance(admin.DefaultImportLease + time.Second)
		if ran, err := e.svc.RunOneBulkJob(ctx, "me", 0); !ran || err != nil {
			t.Fatalf("RunOneBulkJob after the lease ran out = %v, %v", ran, err)
		}
		changed := 0
		for _, id := range ids {
			u, err := e.db.UserByID(ctx, acme.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if u.ExpirationDate == today.AddDays(777) {
				changed++
				if id <= cut {
					t.Fatalf("user %d, before the checkpoint, was changed again after the takeover", id)
				}
			}
		}
		if j, _, _ = e.svc.BulkJob(ctx, boss, j.ID, 0); j.State != store.BulkJobDone || changed != j.Done || j.Processed != len(ids) {
			t.Errorf("resumed job = %+v, %d users changed; want done, all %d processed, done = changed", j, changed, len(ids))
		}

		// Remove: nothing without the count confirmed.
		f := &roster.UserFilter{Status: roster.StatusExpired}
		_, err = e.svc.StartBulk(ctx, boss, admin.BulkRequest{Action: admin.BulkRemove, Filter: f, Confirm: 1})
		var ce *admin.ErrConfirmCount
		if !errors.As(err, &ce) || ce.Selected == 0 {
			t.Fatalf("remove without the right count: %v, want ErrConfirmCount", err)
		}
		expired := ce.Selected
		j, err = e.svc.StartBulk(ctx, boss, admin.BulkRequest{Action: admin.BulkRemove, Filter: f, Confirm: expired})
		if err != nil {
			t.Fatal(err)
		}
		e.svc.RunOneBulkJob(ctx, "me", j.ID)
		if j, _, _ = e.svc.BulkJob(ctx, boss, j.ID, 0); j.State != store.BulkJobDone || j.Done != expired {
			t.Errorf("remove job = %+v; want %d removed", j, expired)
		}
		if n := userCount(t, e.db, acme.ID); n != len(ids)-expired {
			t.Errorf("%d users left, want %d", n, len(ids)-expired)
		}

		// The admin who started a job is removed before it runs: it fails,
		// saying why, and changes nothing.
		e.plainUser(t, acme.ID, "temp@acme.example", invMU, roster.Date{}, "")
		temp := e.cliActor(t, "acme", "temp@acme.example")
		j, err = e.svc.StartBulk(ctx, temp, admin.BulkRequest{Action: admin.BulkClearExpiration, Filter: &roster.UserFilter{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RemoveUser(ctx, boss, temp.User.ID); err != nil {
			t.Fatal(err)
		}
		e.svc.RunOneBulkJob(ctx, "me", j.ID)
		if j, _, _ = e.svc.BulkJob(ctx, boss, j.ID, 0); j.State != store.BulkJobFailed || j.Failure == "" || j.Done != 0 {
			t.Errorf("job of a removed admin = %+v; want failed with a reason, nothing done", j)
		}
	})
}

// allIDs is every user id of the organization, in order.
func allIDs(t *testing.T, e *env, orgID int64) []int64 {
	t.Helper()
	rows, err := e.db.SQL().QueryContext(t.Context(), "SELECT id FROM users WHERE org_id = $1 ORDER BY id", orgID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}

// cliActorOf is an admin of o, added for the purpose.
func (e *env) cliActorOf(t *testing.T, o *roster.Org) *roster.Actor {
	t.Helper()
	e.addAdminCLI(t, o.Slug, "admin@"+o.Slug+".example")
	return e.cliActor(t, o.Slug, "admin@"+o.Slug+".example")
}
