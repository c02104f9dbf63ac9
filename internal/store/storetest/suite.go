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

// Run runs the contract suite against databases made by open. Every
// behaviour the layers above rely on is a subtest here, so both dialects are
// held to the same contract.
func Run(t *testing.T, open func(testing.TB) *store.DB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db *store.DB)
	}{
		{"OrgSlugConflict", testOrgSlugConflict},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserEmailConflictPerOrg", testUserEmailConflictPerOrg},
		{"OrgScoping", testOrgScoping},
		{"ListUsersKeysetPaging", testListUsersKeysetPaging},
		{"ListUsersFilters", testListUsersFilters},
		{"ListSearch", testListSearch},
		{"ListFilters", testListFilters},
		{"ListPaging", testListPaging},
		{"ListCountNotFromEstimate", testListCountNotFromEstimate},
		{"ListCursorKeepsCount", testListCursorKeepsCount},
		{"CountByStatus", testCountByStatus},
		{"StatusCountsFollowChanges", testStatusCountsFollowChanges},
		{"StatusCountsFold", testStatusCountsFold},
		{"UserIDs", testUserIDs},
		{"SearchIndexFollowsChanges", testSearchIndexFollowsChanges},
		{"CountActiveAdmins", testCountActiveAdmins},
		{"Sessions", testSessions},
		{"APITokens", testAPITokens},
		{"LinksSingleUse", testLinksSingleUse},
		{"LinksConcurrentConsume", testLinksConcurrentConsume},
		{"MintInvitationLink", testMintInvitationLink},
		{"BatchInvite", testBatchInvite},
		{"SetupLink", testSetupLink},
		{"AuditRollsBackWithChange", testAuditRollsBackWithChange},
		{"AuditManyKeepsEveryField", testAuditManyKeepsEveryField},
		{"AuditLogFilters", testAuditLogFilters},
		{"AuditLogPlans", testAuditLogPlans},
		{"Throttle", testThrottle},
		{"DeleteUserCascades", testDeleteUserCascades},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var t0 = time.Date(2026, 11, 23, 10, 30, 0, 123456000, time.UTC)

// MakeOrg creates an organization with User Management on.
func MakeOrg(t testing.TB, db *store.DB, slug string) *roster.Org {
	t.Helper()
	o := &roster.Org{Name: "Org " + slug, Slug: slug, UserManagement: true, Locale: "en-US", TimeZone: "UTC"}
	if err := db.InTx(context.Background(), func(tx *store.Tx) error { return tx.CreateOrg(context.Background(), o, t0) }); err != nil {
		t.Fatalf("CreateOrg(%s): %v", slug, err)
	}
	return o
}

// MakeUser creates a user in org.
func MakeUser(t testing.TB, db *store.DB, org *roster.Org, email string, perms roster.Permissions) *roster.User {
	t.Helper()
	u := &roster.User{OrgID: org.ID, Email: email, FirstName: "First", LastName: "Last", Permissions: perms}
	if err := db.InTx(context.Background(), func(tx *store.Tx) error { return tx.CreateUser(context.Background(), u, t0) }); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func tx(t *testing.T, db *store.DB, fn func(ctx context.Context, tx *store.Tx) error) error {
	t.Helper()
	ctx := t.Context()
	return db.InTx(ctx, func(tx *store.Tx) error { return fn(ctx, tx) })
}

func testOrgSlugConflict(t *testing.T, db *store.DB) {
	MakeOrg(t, db, "acme")
	err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		return tx.CreateOrg(ctx, &roster.Org{Name: "Other", Slug: "acme", Locale: "en-US", TimeZone: "UTC"}, t0)
	})
	if !errors.Is(err, roster.ErrConflict) {
		t.Errorf("CreateOrg(duplicate slug) = %v, want ErrConflict", err)
	}
	got, err := db.OrgBySlug(t.Context(), "acme")
	if err != nil || got.Name != "Org acme" || !got.UserManagement {
		t.Errorf("OrgBySlug(acme) = %+v, %v", got, err)
	}
	if _, err := db.OrgBySlug(t.Context(), "nope"); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("OrgBySlug(nope) err = %v, want ErrNotFound", err)
	}
}

func testUserRoundTrip(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	u := &roster.User{OrgID: org.ID, Email: "ada@acme.example", FirstName: "Ada", LastName: "Lovelace",
		Permissions:    roster.Permissions(roster.ViewAnalytics | roster.ManageComments),
		ExpirationDate: roster.Date{Year: 2027, Month: 1, Day: 31}, WelcomeMessage: "Hi <b>Ada</b> ✓"}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.CreateUser(ctx, u, t0) }); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.RecordLogin(ctx, org.ID, u.ID, t0) }); err != nil {
		t.Fatalf("RecordLogin: %v", err)
	}
	got, err := db.UserByID(t.Context(), org.ID, u.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if got.Email != u.Email || got.FirstName != "Ada" || got.LastName != "Lovelace" || got.Permissions != u.Permissions ||
		got.ExpirationDate != u.ExpirationDate || got.WelcomeMessage != u.WelcomeMessage || got.HasPassword {
		t.Errorf("UserByID = %+v, want fields of %+v", got, u)
	}
	if !got.LastLoginAt.Equal(t0) || !got.CreatedAt.Equal(t0) {
		t.Errorf("UserByID times: last login %v created %v, want %v", got.LastLoginAt, got.CreatedAt, t0)
	}
	if !got.LastInvitedAt.IsZero() {
		t.Errorf("LastInvitedAt = %v, want zero", got.LastInvitedAt)
	}
	got.ExpirationDate = roster.Date{}
	got.FirstName = ""
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateUser(ctx, got, t0.Add(time.Hour)) }); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	again, _ := db.UserByEmail(t.Context(), org.ID, "ada@acme.example")
	if again == nil || !again.ExpirationDate.IsZero() || again.FirstName != "" || !again.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("after UpdateUser: %+v", again)
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.SetPassword(ctx, org.ID, u.ID, "hash", t0) }); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	creds, err := db.CredentialsByEmail(t.Context(), "ada@acme.example", 10)
	if err != nil || len(creds) != 1 || creds[0].PasswordHash != "hash" || creds[0].Org.Slug != "acme" {
		t.Errorf("CredentialsByEmail = %+v, %v", creds, err)
	}
}

func testUserEmailConflictPerOrg(t *testing.T, db *store.DB) {
	a, b := MakeOrg(t, db, "a"), MakeOrg(t, db, "b")
	MakeUser(t, db, a, "same@x.example", 0)
	MakeUser(t, db, b, "same@x.example", 0) // the same address in two orgs is two accounts
	err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		return tx.CreateUser(ctx, &roster.User{OrgID: a.ID, Email: "same@x.example"}, t0)
	})
	if !errors.Is(err, roster.ErrConflict) {
		t.Errorf("CreateUser(duplicate in org) = %v, want ErrConflict", err)
	}
}

func testOrgScoping(t *testing.T, db *store.DB) {
	a, b := MakeOrg(t, db, "a"), MakeOrg(t, db, "b")
	ua := MakeUser(t, db, a, "x@a.example", roster.AllPermissionsSet)
	ctx := t.Context()
	if _, err := db.UserByID(ctx, b.ID, ua.ID); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("UserByID(other org) = %v, want ErrNotFound", err)
	}
	if _, err := db.UserByEmail(ctx, b.ID, ua.Email); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("UserByEmail(other org) = %v, want ErrNotFound", err)
	}
	moved := *ua
	moved.OrgID = b.ID
	moved.FirstName = "Hacked"
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateUser(ctx, &moved, t0) }); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("UpdateUser(other org) = %v, want ErrNotFound", err)
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteUser(ctx, b.ID, ua.ID) }); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("DeleteUser(other org) = %v, want ErrNotFound", err)
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.SetPassword(ctx, b.ID, ua.ID, "h", t0) }); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("SetPassword(other org) = %v, want ErrNotFound", err)
	}
	page, err := db.ListUsers(ctx, b.ID, roster.UserFilter{}, roster.DateOf(t0))
	if err != nil || page.Total != 0 || len(page.Users) != 0 {
		t.Errorf("ListUsers(other org) = %d users, total %d, %v; want none", len(page.Users), page.Total, err)
	}
	if n, _ := db.CountActiveAdmins(ctx, b.ID, roster.DateOf(t0)); n != 0 {
		t.Errorf("CountActiveAdmins(other org) = %d, want 0", n)
	}
	got, _ := db.UserByID(ctx, a.ID, ua.ID)
	if got.FirstName != "First" {
		t.Errorf("user changed through another org: %+v", got)
	}
}

func testListUsersKeysetPaging(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	other := MakeOrg(t, db, "other")
	MakeUser(t, db, other, "zz@other.example", 0)
	var want []string
	for i := range 25 {
		e := fmt.Sprintf("user%02d@acme.example", 24-i)
		MakeUser(t, db, org, e, 0)
		want = append([]string{e}, want...)
	}
	for _, sort := range []string{"email", "created"} {
		var got []string
		f := roster.UserFilter{Limit: 10, Sort: sort}
		for pages := 0; ; pages++ {
			page, err := db.ListUsers(t.Context(), org.ID, f, roster.DateOf(t0))
			if err != nil {
				t.Fatalf("ListUsers(sort %s): %v", sort, err)
			}
			if page.Total != 25 {
				t.Errorf("ListUsers total = %d, want 25", page.Total)
			}
			for _, u := range page.Users {
				got = append(got, u.Email)
			}
			if page.NextCursor == "" || pages > 5 {
				break
			}
			f.Cursor = page.NextCursor
		}
		if len(got) != 25 {
			t.Fatalf("paged through %d users with sort %s, want 25: %v", len(got), sort, got)
		}
		seen := map[string]bool{}
		for _, e := range got {
			if seen[e] {
				t.Errorf("sort %s: %s listed twice", sort, e)
			}
			seen[e] = true
		}
		if sort == "email" && (got[0] != want[0] || got[24] != want[24]) {
			t.Errorf("sort email: first %s last %s, want %s and %s", got[0], got[24], want[0], want[24])
		}
	}
	if _, err := db.ListUsers(t.Context(), org.ID, roster.UserFilter{Cursor: "garbage!"}, roster.DateOf(t0)); err == nil {
		t.Error("ListUsers(bad cursor) err = nil, want a validation error")
	}
}

func testListUsersFilters(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	today := roster.Date{Year: 2026, Month: 11, Day: 23}
	expired := MakeUser(t, db, org, "old@acme.example", 0)
	expired.ExpirationDate = today // expires today: already expired
	active := MakeUser(t, db, org, "ann.o'neil@acme.example", roster.Permissions(roster.ViewAnalytics))
	active.FirstName, active.ExpirationDate = "Ánn", today.AddDays(1)
	MakeUser(t, db, org, "new_hire@acme.example", roster.Permissions(roster.ManageUsers))
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.UpdateUser(ctx, expired, t0); err != nil {
			return err
		}
		if err := tx.UpdateUser(ctx, active, t0); err != nil {
			return err
		}
		return tx.RecordLogin(ctx, org.ID, active.ID, t0)
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		f    roster.UserFilter
		want []string
	}{
		{"expired", roster.UserFilter{Status: roster.StatusExpired}, []string{"old@acme.example"}},
		{"active", roster.UserFilter{Status: roster.StatusActive}, []string{"ann.o'neil@acme.example"}},
		{"not logged in", roster.UserFilter{Status: roster.StatusNotLoggedIn}, []string{"new_hire@acme.example"}},
		{"permission", roster.UserFilter{Permission: roster.ManageUsers}, []string{"new_hire@acme.example"}},
		{"query email, case-insensitive", roster.UserFilter{Query: "NEW_"}, []string{"new_hire@acme.example"}},
		{"query underscore is literal", roster.UserFilter{Query: "w_h"}, []string{"new_hire@acme.example"}},
		{"query percent is literal", roster.UserFilter{Query: "%"}, nil},
		{"query quote", roster.UserFilter{Query: "o'n"}, []string{"ann.o'neil@acme.example"}},
		{"query and status", roster.UserFilter{Query: "acme", Status: roster.StatusExpired}, []string{"old@acme.example"}},
	}
	for _, c := range cases {
		page, err := db.ListUsers(t.Context(), org.ID, c.f, today)
		if err != nil {
			t.Errorf("%s: ListUsers: %v", c.name, err)
			continue
		}
		var got []string
		for _, u := range page.Users {
			got = append(got, u.Email)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || page.Total != len(c.want) {
			t.Errorf("%s: ListUsers = %v (total %d), want %v", c.name, got, page.Total, c.want)
		}
	}
}

func testCountActiveAdmins(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	today := roster.Date{Year: 2026, Month: 11, Day: 23}
	a := MakeUser(t, db, org, "a@acme.example", roster.AllPermissionsSet)
	b := MakeUser(t, db, org, "b@acme.example", roster.Permissions(roster.ManageUsers))
	MakeUser(t, db, org, "c@acme.example", roster.Permissions(roster.ViewAnalytics))
	b.ExpirationDate = today
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateUser(ctx, b, t0) }); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountActiveAdmins(t.Context(), org.ID, today); n != 1 || err != nil {
		t.Errorf("CountActiveAdmins = %d, %v; want 1", n, err)
	}
	if n, _ := db.CountActiveAdmins(t.Context(), org.ID, today, a.ID); n != 0 {
		t.Errorf("CountActiveAdmins(except a) = %d, want 0", n)
	}
	if n, _ := db.CountActiveAdmins(t.Context(), org.ID, today.AddDays(-1)); n != 2 {
		t.Errorf("CountActiveAdmins(yesterday) = %d, want 2", n)
	}
	// An expired admin is never the default: the next unexpired one is, or none.
	other := MakeOrg(t, db, "other")
	old := MakeUser(t, db, other, "old@other.example", roster.AllPermissionsSet)
	old.ExpirationDate = today
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.UpdateUser(ctx, old, t0) }); err != nil {
		t.Fatal(err)
	}
	if first, err := db.FirstAdmin(t.Context(), other.ID, today); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("FirstAdmin(org whose only admin expired) = %v, %v; want ErrNotFound", first, err)
	}
	later := MakeUser(t, db, other, "later@other.example", roster.Permissions(roster.ManageUsers))
	if first, err := db.FirstAdmin(t.Context(), other.ID, today); err != nil || first.ID != later.ID {
		t.Errorf("FirstAdmin(first admin expired) = %v, %v; want the later admin %d", first, err, later.ID)
	}
	first, err := db.FirstAdmin(t.Context(), org.ID, today)
	if err != nil || first.ID != a.ID {
		t.Errorf("FirstAdmin = %v, %v; want %d", first, err, a.ID)
	}
}

func testSessions(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	u := MakeUser(t, db, org, "a@acme.example", roster.AllPermissionsSet)
	hash := []byte("0123456789abcdef0123456789abcdef")
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		return tx.CreateSession(ctx, org.ID, u.ID, hash, t0, t0.Add(time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	p, _, err := db.SessionByHash(t.Context(), hash, t0.Add(time.Minute))
	if err != nil || p.User.ID != u.ID || p.Org.Slug != "acme" || p.SessionID == 0 {
		t.Fatalf("SessionByHash = %+v, %v", p, err)
	}
	if _, _, err := db.SessionByHash(t.Context(), hash, t0.Add(2*time.Hour)); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("SessionByHash(after expiry) = %v, want ErrNotFound", err)
	}
	if err := db.TouchSession(t.Context(), p.SessionID, t0.Add(time.Hour), t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SessionByHash(t.Context(), hash, t0.Add(2*time.Hour)); err != nil {
		t.Errorf("SessionByHash(after touch) = %v, want found", err)
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteUserSessions(ctx, org.ID, u.ID) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SessionByHash(t.Context(), hash, t0); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("SessionByHash(after delete) = %v, want ErrNotFound", err)
	}
}

func testAPITokens(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	u := MakeUser(t, db, org, "a@acme.example", roster.AllPermissionsSet)
	hash := []byte("tokenhash-tokenhash-tokenhash-01")
	var id int64
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) (err error) {
		id, err = tx.CreateAPIToken(ctx, org.ID, u.ID, "ci", hash, t0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	p, lastUsed, err := db.APITokenByHash(t.Context(), hash)
	if err != nil || p.TokenID != id || p.User.ID != u.ID || !lastUsed.IsZero() {
		t.Fatalf("APITokenByHash = %+v, %v, %v", p, lastUsed, err)
	}
	if err := db.TouchAPIToken(t.Context(), id, t0); err != nil {
		t.Fatal(err)
	}
	if _, lastUsed, _ := db.APITokenByHash(t.Context(), hash); !lastUsed.Equal(t0) {
		t.Errorf("last used = %v, want %v", lastUsed, t0)
	}
	if _, _, err := db.APITokenByHash(t.Context(), []byte("nope")); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("APITokenByHash(unknown) = %v, want ErrNotFound", err)
	}
}

func testLinksSingleUse(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	u := MakeUser(t, db, org, "a@acme.example", 0)
	first, second := []byte("link-one-link-one-link-one-link1"), []byte("link-two-link-two-link-two-link2")
	mk := func(h []byte, at time.Time) {
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
			return tx.CreateLink(ctx, org.ID, u.ID, store.LinkInvite, h, at, at.Add(7*24*time.Hour))
		}); err != nil {
			t.Fatal(err)
		}
	}
	mk(first, t0)
	mk(second, t0.Add(time.Minute)) // voids the first
	l, err := db.LinkByHash(t.Context(), first)
	if err != nil || l.UsedAt.IsZero() {
		t.Errorf("older link after a newer one: %+v, %v; want used_at set", l, err)
	}
	consume := func(h []byte, at time.Time) bool {
		var ok bool
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) (err error) { ok, err = tx.ConsumeLink(ctx, h, at); return err }); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if consume(first, t0.Add(2*time.Minute)) {
		t.Error("ConsumeLink(voided) = true, want false")
	}
	if consume(second, t0.Add(8*24*time.Hour)) {
		t.Error("ConsumeLink(expired) = true, want false")
	}
	if !consume(second, t0.Add(time.Hour)) {
		t.Error("ConsumeLink(valid) = false, want true")
	}
	if consume(second, t0.Add(time.Hour)) {
		t.Error("ConsumeLink(second use) = true, want false")
	}
	if _, err := db.LinkByHash(t.Context(), []byte("unknown")); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("LinkByHash(unknown) = %v, want ErrNotFound", err)
	}
}

func testLinksConcurrentConsume(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	u := MakeUser(t, db, org, "a@acme.example", 0)
	h := []byte("race-race-race-race-race-race-32")
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		return tx.CreateLink(ctx, org.ID, u.ID, store.LinkInvite, h, t0, t0.Add(time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 20 {
		wg.Go(func() {
			var ok bool
			err := db.InTx(context.Background(), func(tx *store.Tx) (err error) { ok, err = tx.ConsumeLink(context.Background(), h, t0); return err })
			if err != nil {
				t.Errorf("ConsumeLink: %v", err)
			}
			mu.Lock()
			if ok {
				wins++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("20 concurrent ConsumeLink: %d succeeded, want exactly 1", wins)
	}
}

func testMintInvitationLink(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	u := MakeUser(t, db, org, "a@acme.example", 0)
	var seq int
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) (err error) {
		if err := tx.CreateLink(ctx, org.ID, u.ID, store.LinkReset, []byte("older-link"), t0, t0.Add(time.Hour)); err != nil {
			return err
		}
		seq, err = tx.MarkInvited(ctx, org.ID, u.ID, t0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	mint := func(seq int, h string) bool {
		t.Helper()
		var ok bool
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) (err error) {
			ok, err = tx.MintInvitationLink(ctx, org.ID, u.ID, seq, []byte(h), t0, t0.Add(time.Hour))
			return err
		}); err != nil {
			t.Fatalf("MintInvitationLink(seq %d): %v", seq, err)
		}
		return ok
	}
	if mint(seq-1, "stale-link") {
		t.Errorf("MintInvitationLink(stale seq %d) = true, want false", seq-1)
	}
	if _, err := db.LinkByHash(t.Context(), []byte("stale-link")); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("a stale invitation stored its link (LinkByHash err = %v)", err)
	}
	if l, err := db.LinkByHash(t.Context(), []byte("older-link")); err != nil || l.Replaced {
		t.Errorf("a stale invitation voided the older link: %+v, %v", l, err)
	}
	if !mint(seq, "latest-link") {
		t.Fatalf("MintInvitationLink(latest seq %d) = false, want true", seq)
	}
	if l, err := db.LinkByHash(t.Context(), []byte("older-link")); err != nil || !l.Replaced {
		t.Errorf("older link after mint: %+v, %v; want replaced", l, err)
	}
	if l, err := db.LinkByHash(t.Context(), []byte("latest-link")); err != nil || l.Purpose != store.LinkInvite || !l.UsedAt.IsZero() {
		t.Errorf("minted link: %+v, %v; want an unused invite link", l, err)
	}
	if _, err := db.UserWithOrg(t.Context(), org.ID+1000, u.ID); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("UserWithOrg(other org) = %v, want ErrNotFound", err)
	}
	if p, err := db.UserWithOrg(t.Context(), org.ID, u.ID); err != nil || p.User.Email != u.Email || p.Org.Slug != org.Slug {
		t.Errorf("UserWithOrg = %+v, %v", p, err)
	}
}

func testSetupLink(t *testing.T, db *store.DB) {
	a, b := []byte("setup-a"), []byte("setup-b")
	for _, h := range [][]byte{a, b} {
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
			return tx.CreateSetupLink(ctx, h, t0, t0.Add(time.Hour))
		}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := db.SetupLinkValid(t.Context(), a, t0); ok {
		t.Error("older setup link still valid after a new one")
	}
	if ok, _ := db.SetupLinkValid(t.Context(), b, t0); !ok {
		t.Error("newest setup link not valid")
	}
	var ok1, ok2 bool
	tx(t, db, func(ctx context.Context, tx *store.Tx) (err error) {
		ok1, err = tx.ConsumeSetupLink(ctx, b, t0)
		return
	})
	tx(t, db, func(ctx context.Context, tx *store.Tx) (err error) {
		ok2, err = tx.ConsumeSetupLink(ctx, b, t0)
		return
	})
	if !ok1 || ok2 {
		t.Errorf("ConsumeSetupLink twice = %v, %v; want true, false", ok1, ok2)
	}
}

func testAuditRollsBackWithChange(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	boom := errors.New("boom")
	err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.Audit(ctx, &store.AuditEvent{OrgID: org.ID, Actor: "x", Action: "user.invite", CreatedAt: t0}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		return tx.Audit(ctx, &store.AuditEvent{OrgID: org.ID, Actor: "op", Action: "org.create", Target: "acme", After: `{"a":1}`, CreatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	evs, err := db.AuditEvents(t.Context(), org.ID, 0, 10)
	if err != nil || len(evs) != 1 || evs[0].Action != "org.create" || evs[0].After != `{"a":1}` || evs[0].Before != "" {
		t.Errorf("AuditEvents = %+v, %v; want just the committed org.create", evs, err)
	}
	other := MakeOrg(t, db, "other")
	if evs, _ := db.AuditEvents(t.Context(), other.ID, 0, 10); len(evs) != 0 {
		t.Errorf("AuditEvents(other org) = %d events, want 0", len(evs))
	}
}

// testAuditManyKeepsEveryField writes events in one AuditMany, as a bulk
// action does, and reads back what Audit would have written one by one:
// the order, NULL ids and snapshots, quotes and non-ASCII text, the times.
func testAuditManyKeepsEveryField(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	ann := MakeUser(t, db, org, "ann@acme.example", 0)
	at := time.Date(2026, 11, 24, 9, 30, 15, 123456000, time.FixedZone("x", 3600))
	want := []*store.AuditEvent{
		{OrgID: org.ID, ActorUserID: ann.ID, Actor: "ann@acme.example", Action: "user.bulk_expire", TargetUserID: ann.ID,
			Target: "ann@acme.example", Before: `{"expiration_date":null}`, After: `{"expiration_date":"2026-11-24"}`, CreatedAt: at},
		{OrgID: org.ID, Actor: "operator (CLI)", Action: "org.update", Target: "acme",
			After: `{"name":"Ünïcode \"quoted\" ✓"}`, CreatedAt: at.Add(time.Second)},
		{OrgID: org.ID, Actor: "operator (CLI)", Action: "user.remove", Target: "gone@acme.example", Before: `{}`, CreatedAt: at},
	}
	// Enough for SQLite's statements of many events, and a part one.
	for i := range 250 {
		want = append(want, &store.AuditEvent{OrgID: org.ID, ActorUserID: ann.ID, Actor: "ann@acme.example", Action: "user.bulk_grant_permission",
			TargetUserID: int64(1000 + i), Target: fmt.Sprintf("u%d@acme.example", i), Before: `{"permissions":[]}`,
			After: fmt.Sprintf(`{"n":%d}`, i), CreatedAt: at.Add(time.Duration(i) * time.Millisecond)})
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.AuditMany(ctx, want) }); err != nil {
		t.Fatal(err)
	}
	got, err := db.AuditEvents(t.Context(), org.ID, 0, 1000)
	if err != nil || len(got) != len(want) {
		t.Fatalf("AuditEvents = %d events, %v; want %d", len(got), err, len(want))
	}
	for i, w := range want {
		g := got[len(got)-1-i] // newest first
		if g.ActorUserID != w.ActorUserID || g.Actor != w.Actor || g.Action != w.Action || g.TargetUserID != w.TargetUserID ||
			g.Target != w.Target || g.Before != w.Before || g.After != w.After || !g.CreatedAt.Equal(w.CreatedAt) || g.OrgID != org.ID {
			t.Errorf("event %d read back as %+v, want %+v", i, g, w)
		}
	}
}

func testThrottle(t *testing.T, db *store.DB) {
	s, err := db.Throttle(t.Context(), "acct:1")
	if err != nil || s.Failures != 0 {
		t.Fatalf("Throttle(new) = %+v, %v", s, err)
	}
	for i := 1; i <= 2; i++ {
		st := store.ThrottleState{Failures: i, WindowStart: t0, BlockedUntil: t0.Add(time.Duration(i) * time.Second)}
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.SetThrottle(ctx, "acct:1", st) }); err != nil {
			t.Fatal(err)
		}
	}
	s, _ = db.Throttle(t.Context(), "acct:1")
	if s.Failures != 2 || !s.BlockedUntil.Equal(t0.Add(2*time.Second)) {
		t.Errorf("Throttle = %+v, want 2 failures", s)
	}
	tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.ClearThrottle(ctx, "acct:1") })
	if s, _ = db.Throttle(t.Context(), "acct:1"); s.Failures != 0 {
		t.Errorf("Throttle after clear = %+v", s)
	}
}

func testDeleteUserCascades(t *testing.T, db *store.DB) {
	org := MakeOrg(t, db, "acme")
	u := MakeUser(t, db, org, "a@acme.example", 0)
	sess, tok, link := []byte("sess"), []byte("tok"), []byte("link")
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.CreateSession(ctx, org.ID, u.ID, sess, t0, t0.Add(time.Hour)); err != nil {
			return err
		}
		if _, err := tx.CreateAPIToken(ctx, org.ID, u.ID, "t", tok, t0); err != nil {
			return err
		}
		if err := tx.CreateLink(ctx, org.ID, u.ID, store.LinkInvite, link, t0, t0.Add(time.Hour)); err != nil {
			return err
		}
		return tx.DeleteUser(ctx, org.ID, u.ID)
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SessionByHash(t.Context(), sess, t0); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("session after user deleted: %v", err)
	}
	if _, _, err := db.APITokenByHash(t.Context(), tok); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("API token after user deleted: %v", err)
	}
	if _, err := db.LinkByHash(t.Context(), link); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("link after user deleted: %v", err)
	}
}
