package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// countDays are the days each check counts on: the counts come from
// buckets by date, so any day must be right, not only the real today.
var countDays = []roster.Date{
	listToday.AddDays(-400), listToday.AddDays(-1), listToday, listToday.AddDays(1),
	listToday.AddDays(30), listToday.AddDays(4000),
}

// bruteCounts counts the organization's users by status on day from the
// users themselves, with the SPEC's definitions, as CountByStatus did
// before it read user_status_counts.
func bruteCounts(t *testing.T, db *store.DB, orgID int64, day roster.Date) map[roster.Status]int {
	t.Helper()
	var active, never, expired int
	const unexpired = "(expiration_date IS NULL OR expiration_date > $2)"
	err := db.SQL().QueryRowContext(t.Context(), `SELECT
		COALESCE(SUM(CASE WHEN `+unexpired+` AND last_login_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN `+unexpired+` AND last_login_at IS NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN expiration_date IS NOT NULL AND expiration_date <= $2 THEN 1 ELSE 0 END), 0)
		FROM users WHERE org_id = $1`, orgID, day.String()).Scan(&active, &never, &expired)
	if err != nil {
		t.Fatalf("brute-force count: %v", err)
	}
	return map[roster.Status]int{roster.StatusActive: active, roster.StatusNotLoggedIn: never, roster.StatusExpired: expired}
}

// checkCounts compares CountByStatus with the brute-force count for each
// organization on each of countDays.
func checkCounts(t *testing.T, db *store.DB, step string, orgs ...*roster.Org) {
	t.Helper()
	for _, o := range orgs {
		for _, day := range countDays {
			got, err := db.CountByStatus(t.Context(), o.ID, day)
			if err != nil {
				t.Fatalf("after %s: CountByStatus(%s, %s): %v", step, o.Slug, day, err)
			}
			if want := bruteCounts(t, db, o.ID, day); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("after %s: CountByStatus(%s, %s) = %v, want %v", step, o.Slug, day, got, want)
			}
		}
	}
}

// testStatusCountsFollowChanges makes every kind of change that moves a user
// from one status bucket to another, through each store method that writes
// users, and checks the counts against the users after each.
func testStatusCountsFollowChanges(t *testing.T, db *store.DB) {
	ctx := t.Context()
	acme, other := MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	checkCounts(t, db, "nothing", acme, other)

	past, future := listToday.AddDays(-10), listToday.AddDays(10)
	var single []*roster.User
	for i, exp := range []roster.Date{{}, past, listToday, future, future} {
		u := &roster.User{OrgID: acme.ID, Email: fmt.Sprintf("single%d@acme.example", i), ExpirationDate: exp}
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.CreateUser(ctx, u, t0) }); err != nil {
			t.Fatal(err)
		}
		single = append(single, u)
	}
	MakeUser(t, db, other, "single0@acme.example", 0)
	checkCounts(t, db, "CreateUser", acme, other)

	var batch []*roster.User
	for i := range 40 {
		u := &roster.User{Email: fmt.Sprintf("batch%d@acme.example", i)}
		if i%3 != 0 {
			u.ExpirationDate = listToday.AddDays(i%7 - 3)
		}
		batch = append(batch, u)
	}
	otherBatch := []*roster.User{{Email: "b@other.example", ExpirationDate: past}, {Email: "c@other.example"}}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.CreateInvitedUsers(ctx, acme.ID, batch, t0); err != nil {
			return err
		}
		return tx.CreateInvitedUsers(ctx, other.ID, otherBatch, t0)
	}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db, "CreateInvitedUsers", acme, other)

	// Demo users come with logins and expirations of their own, and one
	// multi-row statement per batch.
	if n, err := db.CreateDemoUsers(ctx, acme.ID, store.DemoOptions{Users: 300, Now: t0, Today: listToday, Seed: 7}); err != nil || n != 300 {
		t.Fatalf("CreateDemoUsers = %d, %v", n, err)
	}
	checkCounts(t, db, "CreateDemoUsers", acme, other)

	login := func(u *roster.User, at time.Time) {
		t.Helper()
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.RecordLogin(ctx, u.OrgID, u.ID, at) }); err != nil {
			t.Fatal(err)
		}
	}
	login(single[0], t0) // first sign-in: Hasn't Logged In -> Active
	checkCounts(t, db, "first sign-in", acme, other)
	login(single[0], t0.Add(time.Hour)) // again: no move
	login(single[1], t0)                // an expired user's (before expiry, say)
	login(single[3], t0)
	checkCounts(t, db, "more sign-ins", acme, other)

	update := func(u *roster.User, exp roster.Date) {
		t.Helper()
		u.ExpirationDate = exp
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateUser(ctx, u, t0) }); err != nil {
			t.Fatal(err)
		}
	}
	update(single[0], past) // set
	checkCounts(t, db, "set expiration", acme, other)
	update(single[1], roster.Date{}) // clear
	checkCounts(t, db, "clear expiration", acme, other)
	update(single[3], listToday.AddDays(2)) // change
	update(single[4], future)               // same date again
	checkCounts(t, db, "change expiration", acme, other)

	// Re-invited through an import: some dates change, some stay.
	for i, u := range batch[:20] {
		if i%2 == 0 {
			u.ExpirationDate = listToday.AddDays(i - 10)
		}
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		return tx.UpdateInvitedUsers(ctx, acme.ID, batch[:20], t0)
	}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db, "UpdateInvitedUsers", acme, other)

	ids := func(us []*roster.User) []int64 {
		var out []int64
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out
	}
	bulk := func(step string, fn func(ctx context.Context, tx *store.Tx) error) {
		t.Helper()
		if err := tx(t, db, fn); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		checkCounts(t, db, step, acme, other)
	}
	bulk("SetExpiration", func(ctx context.Context, tx *store.Tx) error {
		return tx.SetExpiration(ctx, acme.ID, ids(batch[10:30]), listToday, t0)
	})
	bulk("SetExpiration(clear)", func(ctx context.Context, tx *store.Tx) error {
		return tx.SetExpiration(ctx, acme.ID, ids(batch[25:35]), roster.Date{}, t0)
	})
	// A bulk change, then single ones to the same users, in one transaction.
	bulk("SetExpiration, then a sign-in and an edit", func(ctx context.Context, tx *store.Tx) error {
		if err := tx.SetExpiration(ctx, acme.ID, ids(batch[5:15]), future, t0); err != nil {
			return err
		}
		if err := tx.RecordLogin(ctx, acme.ID, batch[6].ID, t0); err != nil {
			return err
		}
		u := *batch[7]
		u.ExpirationDate = past
		return tx.UpdateUser(ctx, &u, t0)
	})
	// Another org's IDs: nothing moves.
	bulk("SetExpiration(other org's ids)", func(ctx context.Context, tx *store.Tx) error {
		return tx.SetExpiration(ctx, other.ID, ids(batch[:5]), past, t0)
	})
	bulk("ChangePermission", func(ctx context.Context, tx *store.Tx) error {
		return tx.ChangePermission(ctx, acme.ID, ids(batch), roster.ViewAnalytics, true, t0)
	})
	bulk("DeleteUser", func(ctx context.Context, tx *store.Tx) error {
		return tx.DeleteUser(ctx, acme.ID, single[2].ID)
	})
	bulk("DeleteUsers", func(ctx context.Context, tx *store.Tx) error {
		return tx.DeleteUsers(ctx, acme.ID, ids(batch[30:]))
	})
	// Several changes to one user in one transaction, then a rollback.
	boom := errors.New("boom")
	err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.SetExpiration(ctx, acme.ID, ids(batch[:10]), past, t0); err != nil {
			return err
		}
		if err := tx.RecordLogin(ctx, acme.ID, batch[0].ID, t0); err != nil {
			return err
		}
		// The transaction sees its own changes.
		got, err := tx.CountByStatus(ctx, acme.ID, listToday)
		if err != nil {
			return err
		}
		if got[roster.StatusExpired] < 10 {
			t.Errorf("CountByStatus in the transaction = %v, want its 10 expirations counted", got)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("rolled back transaction: %v", err)
	}
	checkCounts(t, db, "rollback", acme, other)

	// Changes no store method makes, which the triggers must follow all the
	// same: a user moved to another organization, a NULL written over NULL,
	// an organization deleted (its users go through the foreign key).
	gone := MakeOrg(t, db, "gone")
	for _, q := range []string{
		"UPDATE users SET org_id = $2 WHERE org_id = $1 AND email LIKE 'batch1%'",
		"UPDATE users SET expiration_date = NULL, last_login_at = last_login_at WHERE org_id = $1 AND expiration_date IS NULL AND $2 > 0",
		"INSERT INTO users (org_id, email, created_at, updated_at, last_login_at, expiration_date) SELECT $2, 'g' || email, created_at, updated_at, last_login_at, expiration_date FROM users WHERE org_id = $1",
	} {
		if _, err := db.SQL().ExecContext(ctx, q, acme.ID, gone.ID); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		checkCounts(t, db, q, acme, other, gone)
	}
	if _, err := db.SQL().ExecContext(ctx, "DELETE FROM orgs WHERE id = $1", gone.ID); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db, "deleting an organization", acme, other, gone)
}

// testStatusCountsFold piles up changes to a few buckets (on PostgreSQL, a
// row each), reads the counts from several goroutines at once while more
// changes land (on PostgreSQL, concurrent folds), and checks the counts
// stay exact and that a quiet read leaves one row per bucket.
func testStatusCountsFold(t *testing.T, db *store.DB) {
	ctx := t.Context()
	acme, other := MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	var users []*roster.User
	for i := range 20 {
		users = append(users, MakeUser(t, db, acme, fmt.Sprintf("u%d@acme.example", i), 0))
	}
	MakeUser(t, db, other, "u@other.example", 0)
	dates := []string{listToday.AddDays(-1).String(), listToday.AddDays(1).String()}
	toggle := func(i int) error {
		_, err := db.SQL().ExecContext(ctx, "UPDATE users SET expiration_date = $3 WHERE org_id = $1 AND id = $2",
			acme.ID, users[i%len(users)].ID, dates[i/len(users)%2])
		return err
	}
	for i := range 700 {
		if err := toggle(i); err != nil {
			t.Fatal(err)
		}
	}
	checkCounts(t, db, "700 changes", acme, other)

	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := db.CountByStatus(ctx, acme.ID, countDays[r]); err != nil {
					t.Errorf("concurrent CountByStatus: %v", err)
				}
			}
		})
	}
	wg.Go(func() {
		for i := 700; i < 1400; i++ {
			if err := toggle(i); err != nil {
				t.Errorf("toggle: %v", err)
				return
			}
		}
	})
	wg.Wait()
	checkCounts(t, db, "concurrent reads and changes", acme, other)
	// Enough changes for a fold, then one read to fold them.
	for i := range 700 {
		if err := toggle(i); err != nil {
			t.Fatal(err)
		}
	}
	checkCounts(t, db, "700 more changes", acme, other)

	var rows, buckets int
	if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM user_status_counts WHERE org_id = $1", acme.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT DISTINCT last_login_at IS NULL, expiration_date FROM users WHERE org_id = $1) AS b",
		acme.ID).Scan(&buckets); err != nil {
		t.Fatal(err)
	}
	if rows != buckets {
		t.Errorf("user_status_counts holds %d rows for %d buckets after a quiet read; want them folded", rows, buckets)
	}
}
