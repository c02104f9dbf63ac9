package admin_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
)

func TestBulkActions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		acme, other := e.org(t, "acme"), e.org(t, "other")
		bossU := e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		today := e.svc.Today(boss)
		ada := e.plainUser(t, acme.ID, "ada@acme.example", invVA, roster.Date{}, "")
		bob := e.plainUser(t, acme.ID, "bob@acme.example", 0, roster.Date{}, "")
		old := e.plainUser(t, acme.ID, "old@acme.example", 0, today.AddDays(-3), "")
		stranger := e.plainUser(t, other.ID, "stranger@other.example", 0, roster.Date{}, "")
		skipped := func(r *admin.BulkResult) map[int64]string {
			m := map[int64]string{}
			for _, s := range r.Skipped {
				m[s.ID] = s.Reason
			}
			return m
		}

		// Resend: expired users are skipped and never emailed; another
		// organization's id is "no such user" and nothing happens to it.
		jobs := jobCount(t, e.db)
		r, err := e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: admin.BulkResend, IDs: []int64{ada.ID, bob.ID, old.ID, stranger.ID, ada.ID}})
		if err != nil {
			t.Fatal(err)
		}
		sk := skipped(r)
		if r.Done != 2 || !strings.Contains(sk[old.ID], "update their expiration date first") || sk[stranger.ID] != "no such user" || len(sk) != 2 {
			t.Errorf("resend = done %d, skipped %v; want 2 done, old@ expired, stranger@ not found", r.Done, sk)
		}
		if got := jobCount(t, e.db); got != jobs+2 {
			t.Errorf("resend queued %d invitations, want 2", got-jobs)
		}
		if u := e.user(t, acme.ID, "ada@acme.example"); u.InvitationCount != 1 || u.DeliveryStatus != "queued" {
			t.Errorf("ada after resend: %+v", u)
		}
		if u := e.user(t, other.ID, "stranger@other.example"); u.InvitationCount != 0 {
			t.Errorf("another organization's user was invited: %+v", u)
		}

		// Grant: not what the actor lacks; users who have it are skipped.
		r, err = e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: admin.BulkGrantPermission, Permission: roster.ViewAnalytics, IDs: []int64{ada.ID, bob.ID}})
		if err != nil || r.Done != 1 || !strings.Contains(skipped(r)[ada.ID], "already has") {
			t.Errorf("grant = %+v, %v; want bob granted, ada skipped", r, err)
		}
		if u := e.user(t, acme.ID, "bob@acme.example"); !u.Permissions.Has(roster.ViewAnalytics) {
			t.Errorf("bob lacks view_analytics after grant: %v", u.Permissions)
		}
		// The audit event per user records the field changed, before and
		// after, and whom (the target), not the whole user.
		if evs := e.audit(t, acme.ID, "user.bulk_grant_permission"); len(evs) != 1 || evs[0].TargetUserID != bob.ID ||
			evs[0].Before != `{"permissions":[]}` || evs[0].After != `{"permissions":["view_analytics"]}` {
			t.Errorf("grant audit events = %+v, want one for bob, permissions [] -> [view_analytics]", evs)
		}
		e.plainUser(t, acme.ID, "limited@acme.example", invMU, roster.Date{}, "")
		limited := e.cliActor(t, "acme", "limited@acme.example")
		if _, err := e.svc.Bulk(ctx, limited, admin.BulkRequest{Action: admin.BulkGrantPermission, Permission: roster.ViewAnalytics, IDs: []int64{bob.ID}}); !slices.Equal(validationFields(err), []string{"permission"}) {
			t.Errorf("grant by an admin lacking it: %v, want a permission field error", err)
		}

		// Expire everyone: the last active admins are kept (limited@ and
		// boss@ are the only ones; both in the selection).
		all := []int64{bossU.ID, ada.ID, bob.ID, old.ID, e.user(t, acme.ID, "limited@acme.example").ID}
		r, err = e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: admin.BulkExpire, IDs: all})
		if err != nil {
			t.Fatal(err)
		}
		sk = skipped(r)
		if r.Done != 2 || sk[bossU.ID] != roster.ErrLastAdmin.Error() || !strings.Contains(sk[old.ID], "already expired") {
			t.Errorf("expire all = done %d, skipped %v; want ada and bob expired, the admins kept, old@ already expired", r.Done, sk)
		}
		if u := e.user(t, acme.ID, "ada@acme.example"); u.StatusOn(today) != roster.StatusExpired || u.ExpirationDate != today {
			t.Errorf("ada after expire: %+v, want expiring today", u)
		}
		for _, ev := range e.audit(t, acme.ID, "user.bulk_expire") {
			if want := `{"expiration_date":"` + today.String() + `"}`; ev.Before != `{"expiration_date":null}` || ev.After != want {
				t.Errorf("expire audit event for %s: before %s, after %s; want null -> %s", ev.Target, ev.Before, ev.After, want)
			}
		}
		if evs := e.audit(t, acme.ID, "user.bulk_expire"); len(evs) != 2 {
			t.Errorf("expire audit events = %d, want 2 (ada, bob)", len(evs))
		}

		// Set expiration needs a future date; then clear.
		if _, err := e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: admin.BulkSetExpiration, Date: today, IDs: []int64{ada.ID}}); !slices.Equal(validationFields(err), []string{"date"}) {
			t.Errorf("set_expiration today: %v, want a date field error", err)
		}
		r, err = e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: admin.BulkSetExpiration, Date: today.AddDays(30), IDs: []int64{ada.ID, bob.ID}})
		if err != nil || r.Done != 2 || e.user(t, acme.ID, "ada@acme.example").ExpirationDate != today.AddDays(30) {
			t.Errorf("set_expiration = %+v, %v", r, err)
		}
		r, err = e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: admin.BulkClearExpiration, IDs: []int64{ada.ID}})
		if err != nil || r.Done != 1 || !e.user(t, acme.ID, "ada@acme.example").ExpirationDate.IsZero() {
			t.Errorf("clear_expiration = %+v, %v", r, err)
		}

		// A filter selects the whole matching set.
		r, err = e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: admin.BulkRevokePermission, Permission: roster.ViewAnalytics,
			Filter: &roster.UserFilter{Permission: roster.ViewAnalytics}})
		if err != nil || r.Done != 3 {
			t.Errorf("revoke view_analytics from everyone holding it = %+v, %v; want boss, ada and bob", r, err)
		}

		// Remove: nothing without the confirmed count.
		users := userCount(t, e.db, acme.ID)
		if _, err := e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: admin.BulkRemove, IDs: []int64{ada.ID, bob.ID}, Confirm: 1}); !admin.IsConfirmCount(err) {
			t.Errorf("remove with a wrong confirmation: %v, want ErrConfirmCount", err)
		}
		if got := userCount(t, e.db, acme.ID); got != users {
			t.Errorf("an unconfirmed remove removed %d users", users-got)
		}
		r, err = e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: admin.BulkRemove, IDs: []int64{ada.ID, bob.ID}, Confirm: 2})
		if err != nil || r.Done != 2 || userCount(t, e.db, acme.ID) != users-2 {
			t.Errorf("remove = %+v, %v", r, err)
		}
		if evs := e.audit(t, acme.ID, "user.remove"); len(evs) != 2 {
			t.Errorf("remove audit events = %d, want 2", len(evs))
		} else {
			// What was removed is kept whole: the account is gone.
			for _, ev := range evs {
				before := snapJSON(t, ev.Before)
				if before["email"] != ev.Target || before["permissions"] == nil || ev.After != "" {
					t.Errorf("remove audit event for %s: before %s, after %q; want the whole user before, nothing after", ev.Target, ev.Before, ev.After)
				}
			}
		}
		if _, err := e.svc.Bulk(ctx, boss, admin.BulkRequest{Action: "explode", IDs: []int64{1}}); !slices.Equal(validationFields(err), []string{"action"}) {
			t.Errorf("unknown action: %v", err)
		}
		if u := e.user(t, other.ID, "stranger@other.example"); u.ExpirationDate != (roster.Date{}) || u.Permissions != 0 {
			t.Errorf("another organization's user changed: %+v", u)
		}
	})
}
