package admin_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// Permission sets used by the invite tests.
const (
	invMU  = roster.Permissions(roster.ManageUsers)
	invVA  = roster.Permissions(roster.ViewAnalytics)
	invMC  = roster.Permissions(roster.ManageCurations)
	invMCm = roster.Permissions(roster.ManageComments)
)

// invDate parses YYYY-MM-DD or panics (for package-level tables).
func invDate(s string) roster.Date {
	d, err := roster.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestPlanInvite checks the rules of SPEC "Bulk Upload" (which one invite
// shares) on PlanInvite alone: no database, today is 2026-03-10.
func TestPlanInvite(t *testing.T) {
	today := invDate("2026-03-10")
	loggedIn := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	// existing is a stored, unexpired user with every field set.
	existing := func() *roster.User {
		return &roster.User{ID: 7, OrgID: 1, Email: "pat@example.org", FirstName: "Pat", LastName: "Plain",
			Permissions: invVA, ExpirationDate: invDate("2026-06-01"), WelcomeMessage: "Hi Pat",
			InvitationCount: 1, LastLoginAt: loggedIn, HasPassword: true}
	}
	// expiredUser expired on 2026-03-01.
	expiredUser := func() *roster.User {
		u := existing()
		u.ExpirationDate = invDate("2026-03-01")
		return u
	}
	// with returns existing() changed by f.
	with := func(base func() *roster.User, f func(u *roster.User)) *roster.User {
		u := base()
		f(u)
		return u
	}
	long := func(n int) string { return strings.Repeat("é", n) } // multibyte: limits count characters

	tests := []struct {
		name       string
		actorPerms roster.Permissions // default: all four
		existing   *roster.User
		in         admin.InviteInput
		want       *roster.User      // the planned user when no error is wanted
		wantFields []string          // sorted fields of the ValidationError
		wantMsg    map[string]string // field -> substring of its message
	}{
		{
			name: "new user with all fields",
			in: admin.InviteInput{Email: " Ada@Example.ORG ", FirstName: roster.Some(" Ada "), LastName: roster.Some("Lovelace"),
				Permissions: roster.Some(invVA | invMCm), ExpirationDate: roster.Some(invDate("2026-12-31")),
				WelcomeMessage: roster.Some("  Welcome aboard!\n")},
			want: &roster.User{OrgID: 1, Email: "ada@example.org", FirstName: "Ada", LastName: "Lovelace",
				Permissions: invVA | invMCm, ExpirationDate: invDate("2026-12-31"), WelcomeMessage: "Welcome aboard!"},
		},
		{
			name: "new user with only an email",
			in:   admin.InviteInput{Email: "bo@example.org"},
			want: &roster.User{OrgID: 1, Email: "bo@example.org"},
		},
		{
			name: "email is trimmed and lowercased",
			in:   admin.InviteInput{Email: "\t MiXeD.Case@Example.Org  "},
			want: &roster.User{OrgID: 1, Email: "mixed.case@example.org"},
		},
		{name: "blank email", in: admin.InviteInput{Email: "   "},
			wantFields: []string{"email"}, wantMsg: map[string]string{"email": "enter an email address"}},
		{name: "email without @", in: admin.InviteInput{Email: "not-an-email"},
			wantFields: []string{"email"}, wantMsg: map[string]string{"email": "not a valid email address"}},
		{name: "email without a dotted domain", in: admin.InviteInput{Email: "a@localhost"},
			wantFields: []string{"email"}, wantMsg: map[string]string{"email": "not a valid email address"}},
		{name: "email with a display name", in: admin.InviteInput{Email: "Ada <ada@example.org>"},
			wantFields: []string{"email"}},
		{name: "email with a space inside", in: admin.InviteInput{Email: "a da@example.org"},
			wantFields: []string{"email"}},
		{
			name:       "names with LF and CR",
			in:         admin.InviteInput{Email: "n@example.org", FirstName: roster.Some("Ada\nBcc: x@evil.example"), LastName: roster.Some("Love\rlace")},
			wantFields: []string{"first_name", "last_name"},
			wantMsg:    map[string]string{"first_name": "line breaks", "last_name": "line breaks"},
		},
		{
			name:       "names over 100 characters",
			in:         admin.InviteInput{Email: "n@example.org", FirstName: roster.Some(long(101)), LastName: roster.Some(strings.Repeat("x", 101))},
			wantFields: []string{"first_name", "last_name"},
			wantMsg:    map[string]string{"first_name": "100", "last_name": "100"},
		},
		{
			name: "names of exactly 100 characters",
			in:   admin.InviteInput{Email: "n@example.org", FirstName: roster.Some(long(100)), LastName: roster.Some(" " + strings.Repeat("x", 100) + " ")},
			want: &roster.User{OrgID: 1, Email: "n@example.org", FirstName: long(100), LastName: strings.Repeat("x", 100)},
		},
		{
			name:       "welcome message over 2000 characters",
			in:         admin.InviteInput{Email: "w@example.org", WelcomeMessage: roster.Some(long(2001))},
			wantFields: []string{"welcome_message"},
			wantMsg:    map[string]string{"welcome_message": "at most 2000 characters (this one has 2001)"},
		},
		{
			name: "welcome message of exactly 2000 characters",
			in:   admin.InviteInput{Email: "w@example.org", WelcomeMessage: roster.Some(long(2000))},
			want: &roster.User{OrgID: 1, Email: "w@example.org", WelcomeMessage: long(2000)},
		},
		{
			name:       "grant a permission the actor lacks",
			actorPerms: invMU,
			in:         admin.InviteInput{Email: "g@example.org", Permissions: roster.Some(invMU | invVA)},
			wantFields: []string{"permissions"},
			wantMsg:    map[string]string{"permissions": "view_analytics"},
		},
		{
			name:       "grant a permission the actor holds",
			actorPerms: invMU | invVA,
			in:         admin.InviteInput{Email: "g@example.org", Permissions: roster.Some(invVA)},
			want:       &roster.User{OrgID: 1, Email: "g@example.org", Permissions: invVA},
		},
		{
			name:       "remove a permission the actor lacks from an existing user",
			actorPerms: invMU,
			existing:   existing(),
			in:         admin.InviteInput{Email: "pat@example.org", Permissions: roster.Some(roster.Permissions(0))},
			wantFields: []string{"permissions"},
			wantMsg:    map[string]string{"permissions": "view_analytics"},
		},
		{
			name:       "re-state an unchanged permission the actor lacks",
			actorPerms: invMU,
			existing:   existing(),
			in:         admin.InviteInput{Email: "pat@example.org", Permissions: roster.Some(invVA)},
			want:       existing(),
		},
		{
			name:       "keep a lacking permission while granting a held one",
			actorPerms: invMU,
			existing:   existing(),
			in:         admin.InviteInput{Email: "pat@example.org", Permissions: roster.Some(invVA | invMU)},
			want:       with(existing, func(u *roster.User) { u.Permissions = invVA | invMU }),
		},
		{name: "new user expiring today", in: admin.InviteInput{Email: "e@example.org", ExpirationDate: roster.Some(today)},
			wantFields: []string{"expiration_date"}, wantMsg: map[string]string{"expiration_date": "not in the future"}},
		{name: "new user expiring yesterday", in: admin.InviteInput{Email: "e@example.org", ExpirationDate: roster.Some(today.AddDays(-1))},
			wantFields: []string{"expiration_date"}, wantMsg: map[string]string{"expiration_date": "2026-03-09 is not in the future"}},
		{name: "new user whose default expiration is today", in: admin.InviteInput{Email: "e@example.org", DefaultExpiration: today},
			wantFields: []string{"expiration_date"}},
		{
			name: "new user expiring tomorrow",
			in:   admin.InviteInput{Email: "e@example.org", ExpirationDate: roster.Some(today.AddDays(1))},
			want: &roster.User{OrgID: 1, Email: "e@example.org", ExpirationDate: today.AddDays(1)},
		},
		{
			name:       "existing expired user, no new date",
			existing:   expiredUser(),
			in:         admin.InviteInput{Email: "pat@example.org", FirstName: roster.Some("Patty")},
			wantFields: []string{"expiration_date"},
			wantMsg:    map[string]string{"expiration_date": "access expired on 2026-03-01; give a future expiration_date"},
		},
		{
			name:       "existing expired user, blank date clears nothing",
			existing:   expiredUser(),
			in:         admin.InviteInput{Email: "pat@example.org", ExpirationDate: roster.Some(roster.Date{})},
			wantFields: []string{"expiration_date"},
			wantMsg:    map[string]string{"expiration_date": "access expired on 2026-03-01; give a future expiration_date"},
		},
		{
			name:       "existing user expiring today counts as expired",
			existing:   with(existing, func(u *roster.User) { u.ExpirationDate = today }),
			in:         admin.InviteInput{Email: "pat@example.org"},
			wantFields: []string{"expiration_date"},
			wantMsg:    map[string]string{"expiration_date": "access expired on 2026-03-10; give a future expiration_date"},
		},
		{
			name:       "existing expired user, another past date",
			existing:   expiredUser(),
			in:         admin.InviteInput{Email: "pat@example.org", ExpirationDate: roster.Some(invDate("2026-03-05"))},
			wantFields: []string{"expiration_date"},
		},
		{
			name:     "existing expired user, default expiration in the future",
			existing: expiredUser(),
			in:       admin.InviteInput{Email: "pat@example.org", DefaultExpiration: invDate("2026-09-30")},
			want:     with(expiredUser, func(u *roster.User) { u.ExpirationDate = invDate("2026-09-30") }),
		},
		{
			name:     "existing expired user, blank date and a future default",
			existing: expiredUser(),
			in:       admin.InviteInput{Email: "pat@example.org", ExpirationDate: roster.Some(roster.Date{}), DefaultExpiration: invDate("2026-09-30")},
			want:     with(expiredUser, func(u *roster.User) { u.ExpirationDate = invDate("2026-09-30") }),
		},
		{
			name:     "existing expired user, row date in the future",
			existing: expiredUser(),
			in:       admin.InviteInput{Email: "pat@example.org", ExpirationDate: roster.Some(today.AddDays(1))},
			want:     with(expiredUser, func(u *roster.User) { u.ExpirationDate = today.AddDays(1) }),
		},
		{
			name: "row date beats the default",
			in: admin.InviteInput{Email: "d@example.org", ExpirationDate: roster.Some(invDate("2026-12-31")),
				DefaultExpiration: invDate("2026-06-30")},
			want: &roster.User{OrgID: 1, Email: "d@example.org", ExpirationDate: invDate("2026-12-31")},
		},
		{
			name:     "row date beats the default for an existing user",
			existing: existing(),
			in: admin.InviteInput{Email: "pat@example.org", ExpirationDate: roster.Some(invDate("2026-12-31")),
				DefaultExpiration: invDate("2026-06-30")},
			want: with(existing, func(u *roster.User) { u.ExpirationDate = invDate("2026-12-31") }),
		},
		{
			name: "default applies to a new user without a date",
			in:   admin.InviteInput{Email: "d@example.org", DefaultExpiration: invDate("2026-06-30")},
			want: &roster.User{OrgID: 1, Email: "d@example.org", ExpirationDate: invDate("2026-06-30")},
		},
		{
			name: "default applies to a blank date",
			in:   admin.InviteInput{Email: "d@example.org", ExpirationDate: roster.Some(roster.Date{}), DefaultExpiration: invDate("2026-06-30")},
			want: &roster.User{OrgID: 1, Email: "d@example.org", ExpirationDate: invDate("2026-06-30")},
		},
		{
			name:     "blank date clears when there is no default",
			existing: existing(),
			in:       admin.InviteInput{Email: "pat@example.org", ExpirationDate: roster.Some(roster.Date{})},
			want:     with(existing, func(u *roster.User) { u.ExpirationDate = roster.Date{} }),
		},
		{
			name:       "existing unexpired user given a past date",
			existing:   existing(),
			in:         admin.InviteInput{Email: "pat@example.org", ExpirationDate: roster.Some(today.AddDays(-3))},
			wantFields: []string{"expiration_date"},
			wantMsg:    map[string]string{"expiration_date": "not in the future"},
		},
		{
			name:     "absent fields keep the existing values",
			existing: existing(),
			in:       admin.InviteInput{Email: " PAT@Example.org "},
			want:     existing(),
		},
		{
			name:     "set fields overwrite the existing values",
			existing: existing(),
			in: admin.InviteInput{Email: "pat@example.org", FirstName: roster.Some("Patricia"), LastName: roster.Some("Poe"),
				Permissions: roster.Some(invMC), WelcomeMessage: roster.Some("New text")},
			want: with(existing, func(u *roster.User) {
				u.FirstName, u.LastName, u.Permissions, u.WelcomeMessage = "Patricia", "Poe", invMC, "New text"
			}),
		},
		{
			name:     "set-but-blank fields clear",
			existing: existing(),
			in: admin.InviteInput{Email: "pat@example.org", FirstName: roster.Some(""), LastName: roster.Some("   "),
				WelcomeMessage: roster.Some(" \n ")},
			want: with(existing, func(u *roster.User) { u.FirstName, u.LastName, u.WelcomeMessage = "", "", "" }),
		},
		{
			name:       "every error is reported together",
			actorPerms: invMU,
			in: admin.InviteInput{Email: "nope", FirstName: roster.Some("a\nb"), LastName: roster.Some(long(101)),
				Permissions: roster.Some(invVA), ExpirationDate: roster.Some(today), WelcomeMessage: roster.Some(long(2001))},
			wantFields: []string{"email", "expiration_date", "first_name", "last_name", "permissions", "welcome_message"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			perms := tc.actorPerms
			if perms == 0 {
				perms = roster.AllPermissionsSet
			}
			a := &roster.Actor{Org: &roster.Org{ID: 1, TimeZone: "UTC", UserManagement: true},
				User: &roster.User{ID: 1, OrgID: 1, Email: "boss@example.org", Permissions: perms}}
			var before roster.User
			if tc.existing != nil {
				before = *tc.existing
			}
			got, err := admin.PlanInvite(a, tc.in, tc.existing, today)
			if tc.existing != nil && *tc.existing != before {
				t.Errorf("PlanInvite changed the existing user to %+v, want it left as %+v", *tc.existing, before)
			}
			if tc.wantFields != nil {
				if gotFields := validationFields(err); !slices.Equal(gotFields, tc.wantFields) {
					t.Fatalf("PlanInvite error = %v (fields %q), want a ValidationError on %q", err, gotFields, tc.wantFields)
				}
				if got != nil {
					t.Errorf("PlanInvite returned %+v with an error, want nil", got)
				}
				var ve *roster.ValidationError
				errors.As(err, &ve)
				for field, sub := range tc.wantMsg {
					if msg := ve.Fields[field]; !strings.Contains(msg, sub) {
						t.Errorf("message for %s = %q, want it to contain %q", field, msg, sub)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("PlanInvite = %v, want no error", err)
			}
			if *got != *tc.want {
				t.Errorf("PlanInvite =\n %+v\nwant\n %+v", *got, *tc.want)
			}
		})
	}
}

// jobCount is the number of queued invitation jobs in the database.
func jobCount(t *testing.T, db *store.DB) int {
	t.Helper()
	return len(invitationJobs(t, db))
}

// userCount is the number of users in an organization.
func userCount(t *testing.T, db *store.DB, orgID int64) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM users WHERE org_id = $1`, orgID).Scan(&n); err != nil {
		t.Fatalf("count users: %v", err)
	}
	return n
}

// auditCount is the number of audit events of an organization.
func auditCount(t *testing.T, db *store.DB, orgID int64) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM audit_events WHERE org_id = $1`, orgID).Scan(&n); err != nil {
		t.Fatalf("count audit events: %v", err)
	}
	return n
}

// invCounts is what a refused invitation must leave as it was.
type invCounts struct{ users, jobs, audit int }

func (e *env) invCounts(t *testing.T, orgID int64) invCounts {
	t.Helper()
	return invCounts{userCount(t, e.db, orgID), jobCount(t, e.db), auditCount(t, e.db, orgID)}
}

// invitationJobs returns the arguments of every queued invitation, those
// inside batch jobs (store.InvitationBatchArgs) included.
func invitationJobs(t *testing.T, db *store.DB) []store.InvitationArgs {
	t.Helper()
	q := `SELECT kind, args::text FROM river_job WHERE kind IN ('invitation', 'invitation_batch') ORDER BY id`
	if db.Dialect() == store.SQLite {
		q = `SELECT kind, json(args) FROM river_job WHERE kind IN ('invitation', 'invitation_batch') ORDER BY id` // SQLite keeps JSONB
	}
	rows, err := db.SQL().QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("read invitation jobs: %v", err)
	}
	defer rows.Close()
	var out []store.InvitationArgs
	for rows.Next() {
		var kind string
		var raw []byte
		if err := rows.Scan(&kind, &raw); err != nil {
			t.Fatalf("scan job args: %v", err)
		}
		if kind == "invitation_batch" {
			var b store.InvitationBatchArgs
			if err := json.Unmarshal(raw, &b); err != nil {
				t.Fatalf("batch job args %q: %v", raw, err)
			}
			inv, err := b.Invitations()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, inv...)
			continue
		}
		var a store.InvitationArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("job args %q: %v", raw, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// snapJSON decodes an audit snapshot.
func snapJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("audit snapshot %q is not JSON: %v", s, err)
	}
	return m
}

func TestInvite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		acme := e.org(t, "acme")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		today := e.svc.Today(boss)
		future := today.AddDays(60)

		first := admin.InviteInput{Email: "  Nia@Acme.Example ", FirstName: roster.Some("Nia"), LastName: roster.Some("Novak"),
			Permissions: roster.Some(invVA | invMCm), ExpirationDate: roster.Some(future), WelcomeMessage: roster.Some("Welcome, Nia")}

		t.Run("creates the user and queues one invitation", func(t *testing.T) {
			before := e.invCounts(t, acme.ID)
			res, err := e.svc.Invite(ctx, boss, first)
			if err != nil {
				t.Fatalf("Invite = %v", err)
			}
			if !res.Created || res.Before != nil || res.User == nil || res.User.ID == 0 {
				t.Fatalf("Invite = %+v, want Created, no Before and a user with an id", res)
			}
			u := e.user(t, acme.ID, "nia@acme.example")
			if u.ID != res.User.ID || u.FirstName != "Nia" || u.LastName != "Novak" || u.Permissions != invVA|invMCm ||
				u.ExpirationDate != future || u.WelcomeMessage != "Welcome, Nia" {
				t.Errorf("stored user = %+v, want Nia Novak with view_analytics, manage_comments, expiry %s and the welcome", u, future)
			}
			if got := u.StatusOn(today); got != roster.StatusNotLoggedIn {
				t.Errorf("status = %s, want %s", got, roster.StatusNotLoggedIn)
			}
			wantAt := t0.UTC().Truncate(time.Microsecond)
			if u.InvitationCount != 1 || !u.LastInvitedAt.Equal(wantAt) || u.DeliveryStatus != "queued" {
				t.Errorf("stored invitation = count %d, last %v, delivery %q; want 1, %v, queued", u.InvitationCount, u.LastInvitedAt, u.DeliveryStatus, wantAt)
			}
			if res.User.InvitationCount != 1 || res.User.DeliveryStatus != "queued" || !res.User.LastInvitedAt.Equal(wantAt) {
				t.Errorf("returned user = %+v, want count 1, queued, invited at %v", res.User, wantAt)
			}
			after := e.invCounts(t, acme.ID)
			if after.users != before.users+1 || after.jobs != before.jobs+1 {
				t.Errorf("users %d -> %d, jobs %d -> %d; want one more of each", before.users, after.users, before.jobs, after.jobs)
			}
			jobs := invitationJobs(t, e.db)
			if len(jobs) != 1 {
				t.Fatalf("%d invitation jobs, want 1", len(jobs))
			}
			if j := jobs[0]; j.OrgID != acme.ID || j.UserID != u.ID || j.Seq != 1 {
				t.Errorf("job args = %+v, want org %d, user %d, seq 1", j, acme.ID, u.ID)
			}
			evs := e.audit(t, acme.ID, "user.invite")
			if len(evs) != 1 {
				t.Fatalf("%d user.invite audit events, want 1", len(evs))
			}
			ev := evs[0]
			if ev.Target != "nia@acme.example" || ev.TargetUserID != u.ID || ev.ActorUserID != boss.User.ID || ev.Before != "" {
				t.Errorf("audit event = %+v, want target nia@acme.example by the boss, no before", ev)
			}
			snapAfter := snapJSON(t, ev.After)
			if snapAfter["email"] != "nia@acme.example" || snapAfter["first_name"] != "Nia" || snapAfter["expiration_date"] != future.String() ||
				fmt.Sprint(snapAfter["permissions"]) != "[view_analytics manage_comments]" {
				t.Errorf("audit after = %v, want the new user's fields", snapAfter)
			}
		})

		t.Run("the same email again updates and re-invites", func(t *testing.T) {
			e.clock.Advance(time.Hour)
			before := e.invCounts(t, acme.ID)
			orig := e.user(t, acme.ID, "nia@acme.example")
			res, err := e.svc.Invite(ctx, boss, admin.InviteInput{Email: "NIA@acme.EXAMPLE\t", FirstName: roster.Some("Nina")})
			if err != nil {
				t.Fatalf("Invite again = %v", err)
			}
			if res.Created || res.Before == nil || res.Before.FirstName != "Nia" || res.User.ID != orig.ID {
				t.Errorf("Invite again = %+v (before %+v), want not Created, Before Nia, same id %d", res, res.Before, orig.ID)
			}
			u := e.user(t, acme.ID, "nia@acme.example")
			wantAt := t0.Add(time.Hour).UTC().Truncate(time.Microsecond)
			if u.FirstName != "Nina" || u.LastName != "Novak" || u.Permissions != invVA|invMCm || u.ExpirationDate != future ||
				u.WelcomeMessage != "Welcome, Nia" {
				t.Errorf("stored user = %+v, want first name Nina and every other field kept", u)
			}
			if u.InvitationCount != 2 || !u.LastInvitedAt.Equal(wantAt) || u.DeliveryStatus != "queued" {
				t.Errorf("invitation = count %d, last %v, %q; want 2, %v, queued", u.InvitationCount, u.LastInvitedAt, u.DeliveryStatus, wantAt)
			}
			after := e.invCounts(t, acme.ID)
			if after.users != before.users || after.jobs != before.jobs+1 {
				t.Errorf("users %d -> %d, jobs %d -> %d; want the same users and one more job", before.users, after.users, before.jobs, after.jobs)
			}
			if got := jobCount(t, e.db); got != 2 {
				t.Errorf("%d invitation jobs, want 2", got)
			}
			evs := e.audit(t, acme.ID, "user.reinvite")
			if len(evs) != 1 {
				t.Fatalf("%d user.reinvite audit events, want 1", len(evs))
			}
			if b, a := snapJSON(t, evs[0].Before), snapJSON(t, evs[0].After); b["first_name"] != "Nia" || a["first_name"] != "Nina" {
				t.Errorf("reinvite audit before %v after %v, want first_name Nia -> Nina", b, a)
			}
		})

		t.Run("re-running the same input is safe", func(t *testing.T) {
			n := userCount(t, e.db, acme.ID)
			count := e.user(t, acme.ID, "nia@acme.example").InvitationCount
			for i := 1; i <= 3; i++ {
				res, err := e.svc.Invite(ctx, boss, first)
				if err != nil {
					t.Fatalf("Invite run %d = %v", i, err)
				}
				if res.Created {
					t.Errorf("run %d created a user, want an update", i)
				}
				u := e.user(t, acme.ID, "nia@acme.example")
				if u.InvitationCount != count+i || u.FirstName != "Nia" || u.ExpirationDate != future {
					t.Errorf("run %d: user = %+v, want invitation count %d, first name Nia, expiry %s", i, u, count+i, future)
				}
				if got := userCount(t, e.db, acme.ID); got != n {
					t.Errorf("run %d: %d users, want %d (never a duplicate)", i, got, n)
				}
			}
		})

		t.Run("invalid input changes nothing", func(t *testing.T) {
			existing := e.user(t, acme.ID, "nia@acme.example")
			for _, in := range []admin.InviteInput{
				{Email: "not-an-email", FirstName: roster.Some("X")},
				{Email: "fresh@acme.example", ExpirationDate: roster.Some(today.AddDays(-1))},
				{Email: "fresh@acme.example", WelcomeMessage: roster.Some(strings.Repeat("w", 2001))},
				{Email: "nia@acme.example", FirstName: roster.Some("Changed"), LastName: roster.Some("a\r\nb")},
				{Email: "nia@acme.example", FirstName: roster.Some("Changed"), ExpirationDate: roster.Some(today)},
			} {
				before := e.invCounts(t, acme.ID)
				_, err := e.svc.Invite(ctx, boss, in)
				if validationFields(err) == nil {
					t.Errorf("Invite(%+v) = %v, want a ValidationError", in, err)
				}
				if after := e.invCounts(t, acme.ID); after != before {
					t.Errorf("Invite(%+v) refused but users/jobs/audit %+v -> %+v, want unchanged", in, before, after)
				}
				if _, err := e.db.UserByEmail(ctx, acme.ID, "fresh@acme.example"); !errors.Is(err, roster.ErrNotFound) {
					t.Errorf("after a refused invite, fresh@acme.example lookup = %v, want ErrNotFound", err)
				}
				if got := e.user(t, acme.ID, "nia@acme.example"); *got != *existing {
					t.Errorf("Invite(%+v) refused but the existing user is now %+v, want %+v", in, got, existing)
				}
			}
		})

		t.Run("last admin cannot lose manage_users", func(t *testing.T) {
			solo := e.org(t, "solo")
			e.addAdminCLI(t, "solo", "only@solo.example")
			// Neither an expired admin nor a helper without manage_users counts.
			e.plainUser(t, solo.ID, "old@solo.example", roster.AllPermissionsSet, today, "")
			e.plainUser(t, solo.ID, "helper@solo.example", roster.AllPermissionsSet&^invMU, roster.Date{}, "")
			a := e.cliActor(t, "solo", "only@solo.example")
			orig := e.user(t, solo.ID, "only@solo.example")
			before := e.invCounts(t, solo.ID)
			_, err := e.svc.Invite(ctx, a, admin.InviteInput{Email: "ONLY@solo.example", FirstName: roster.Some("Changed"),
				Permissions: roster.Some(roster.AllPermissionsSet &^ invMU)})
			if !errors.Is(err, roster.ErrLastAdmin) {
				t.Errorf("Invite removing the only admin's manage_users = %v, want ErrLastAdmin", err)
			}
			if got := e.user(t, solo.ID, "only@solo.example"); *got != *orig {
				t.Errorf("only admin = %+v, want unchanged %+v", got, orig)
			}
			if after := e.invCounts(t, solo.ID); after != before {
				t.Errorf("users/jobs/audit %+v -> %+v after a refused invite, want unchanged", before, after)
			}
			// With a second admin the same invitation goes through.
			e.addAdminCLI(t, "solo", "second@solo.example")
			if _, err := e.svc.Invite(ctx, a, admin.InviteInput{Email: "only@solo.example", Permissions: roster.Some(roster.AllPermissionsSet &^ invMU)}); err != nil {
				t.Errorf("Invite removing manage_users with another admin present = %v, want nil", err)
			}
		})

		t.Run("access gate", func(t *testing.T) {
			off := e.org(t, "off", func(o *roster.Org) { o.UserManagement = false })
			e.addAdminCLI(t, "off", "boss@off.example")
			e.plainUser(t, acme.ID, "helper@acme.example", roster.AllPermissionsSet&^invMU, roster.Date{}, "")
			e.plainUser(t, acme.ID, "former@acme.example", roster.AllPermissionsSet, today, "")
			tests := []struct {
				name  string
				actor *roster.Actor
				org   *roster.Org
			}{
				{"without manage_users", e.rawActor(t, acme, "helper@acme.example"), acme},
				{"own access expired", e.rawActor(t, acme, "former@acme.example"), acme},
				{"User Management off", e.rawActor(t, off, "boss@off.example"), off},
			}
			for _, tc := range tests {
				before := e.invCounts(t, tc.org.ID)
				_, err := e.svc.Invite(ctx, tc.actor, admin.InviteInput{Email: "gate@example.org", FirstName: roster.Some("Gate")})
				if !isAccessError(err) {
					t.Errorf("Invite by an actor %s = %v, want an AccessError", tc.name, err)
				}
				if after := e.invCounts(t, tc.org.ID); after != before {
					t.Errorf("Invite by an actor %s: users/jobs/audit %+v -> %+v, want unchanged", tc.name, before, after)
				}
			}
			if _, err := e.svc.Invite(ctx, nil, admin.InviteInput{Email: "gate@example.org"}); !errors.Is(err, roster.ErrUnauthenticated) {
				t.Errorf("Invite without an actor = %v, want ErrUnauthenticated", err)
			}
		})

		t.Run("tenancy", func(t *testing.T) {
			beta := e.org(t, "beta")
			e.addAdminCLI(t, "beta", "boss@beta.example")
			theirs := e.plainUser(t, beta.ID, "same@shared.example", invVA, roster.Date{}, "")
			betaBefore := e.invCounts(t, beta.ID)
			for i := range 2 {
				res, err := e.svc.Invite(ctx, boss, admin.InviteInput{Email: "Same@Shared.example", FirstName: roster.Some("Sam"),
					Permissions: roster.Some(invMC)})
				if err != nil {
					t.Fatalf("Invite run %d = %v", i, err)
				}
				if res.Created != (i == 0) || res.User.OrgID != acme.ID || res.User.ID == theirs.ID {
					t.Errorf("run %d: Invite = %+v (Created %v), want an acme account apart from beta's id %d", i, res.User, res.Created, theirs.ID)
				}
			}
			if got := e.user(t, beta.ID, "same@shared.example"); *got != *theirs {
				t.Errorf("beta's user = %+v, want untouched %+v", got, theirs)
			}
			if got := e.invCounts(t, beta.ID); got.users != betaBefore.users || got.audit != betaBefore.audit {
				t.Errorf("beta users/audit %+v -> %+v, want unchanged", betaBefore, got)
			}
			if got := e.user(t, acme.ID, "same@shared.example"); got.FirstName != "Sam" || got.Permissions != invMC || got.InvitationCount != 2 {
				t.Errorf("acme's user = %+v, want Sam with manage_curations and 2 invitations", got)
			}
		})
	})
}

// TestInviteEnqueueIsTransactional makes the invitation's transaction fail
// and checks that its job is rolled back with the user change.
func TestInviteEnqueueIsTransactional(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		o := e.org(t, "acme")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		pat := e.plainUser(t, o.ID, "pat@acme.example", invVA, roster.Date{}, "")

		t.Run("last-admin guard trips", func(t *testing.T) {
			before := e.invCounts(t, o.ID)
			_, err := e.svc.Invite(ctx, boss, admin.InviteInput{Email: "boss@acme.example", Permissions: roster.Some(invVA)})
			if !errors.Is(err, roster.ErrLastAdmin) {
				t.Fatalf("Invite = %v, want ErrLastAdmin", err)
			}
			if after := e.invCounts(t, o.ID); after != before {
				t.Errorf("users/jobs/audit %+v -> %+v, want unchanged", before, after)
			}
		})

		// The audit event is the last write of Invite and Resend, after the
		// job's insert. This trigger refuses it only when an invitation job
		// is visible, which proves the job was inserted in the same
		// transaction before the failure.
		var ddl []string
		if b.Name == "sqlite" {
			ddl = []string{`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events
				WHEN (SELECT COUNT(*) FROM river_job WHERE kind = 'invitation') > 0
				BEGIN SELECT RAISE(ABORT, 'audit refused after the job insert'); END`}
		} else {
			ddl = []string{
				`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					IF (SELECT COUNT(*) FROM river_job WHERE kind = 'invitation') > 0 THEN
						RAISE EXCEPTION 'audit refused after the job insert';
					END IF;
					RETURN NEW;
				END $$`,
				`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()`,
			}
		}
		if n := jobCount(t, e.db); n != 0 {
			t.Fatalf("%d invitation jobs before the trigger, want 0", n)
		}
		for _, q := range ddl {
			if _, err := e.db.SQL().ExecContext(ctx, q); err != nil {
				t.Fatalf("install trigger: %v", err)
			}
		}

		calls := []struct {
			name string
			do   func() error
		}{
			{"invite a new user", func() error {
				_, err := e.svc.Invite(ctx, boss, admin.InviteInput{Email: "new@acme.example", FirstName: roster.Some("New")})
				return err
			}},
			{"re-invite an existing user", func() error {
				_, err := e.svc.Invite(ctx, boss, admin.InviteInput{Email: "pat@acme.example", FirstName: roster.Some("Changed")})
				return err
			}},
			{"resend", func() error {
				_, err := e.svc.Resend(ctx, boss, pat.ID)
				return err
			}},
		}
		for _, c := range calls {
			t.Run(c.name, func(t *testing.T) {
				before := e.invCounts(t, o.ID)
				err := c.do()
				if err == nil || !strings.Contains(err.Error(), "audit refused") {
					t.Fatalf("%s = %v, want the refused audit insert's error", c.name, err)
				}
				if n := jobCount(t, e.db); n != 0 {
					t.Errorf("%d invitation jobs after the failed transaction, want 0 (rolled back)", n)
				}
				if after := e.invCounts(t, o.ID); after != before {
					t.Errorf("users/jobs/audit %+v -> %+v, want unchanged", before, after)
				}
				if got := e.user(t, o.ID, "pat@acme.example"); *got != *pat {
					t.Errorf("pat = %+v, want unchanged %+v", got, pat)
				}
				if _, err := e.db.UserByEmail(ctx, o.ID, "new@acme.example"); !errors.Is(err, roster.ErrNotFound) {
					t.Errorf("new@acme.example lookup = %v, want ErrNotFound", err)
				}
			})
		}
	})
}

func TestResend(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		o := e.org(t, "acme")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		today := e.svc.Today(boss)

		fresh := e.plainUser(t, o.ID, "fresh@acme.example", invVA, today.AddDays(1), "")
		active := e.plainUser(t, o.ID, "active@acme.example", invVA, roster.Date{}, "")
		if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.RecordLogin(ctx, o.ID, active.ID, t0.Add(-time.Hour)) }); err != nil {
			t.Fatalf("RecordLogin: %v", err)
		}
		expiredToday := e.plainUser(t, o.ID, "today@acme.example", invVA, today, "")
		expiredLong := e.plainUser(t, o.ID, "long@acme.example", invVA, date(t, "2025-12-31"), "")
		other := e.org(t, "other")
		outsider := e.plainUser(t, other.ID, "out@other.example", invVA, roster.Date{}, "")

		ok := []struct {
			name   string
			user   *roster.User
			status roster.Status
		}{
			{"not logged in", fresh, roster.StatusNotLoggedIn},
			{"active", active, roster.StatusActive},
		}
		for _, tc := range ok {
			t.Run(tc.name, func(t *testing.T) {
				if got := e.user(t, o.ID, tc.user.Email).StatusOn(today); got != tc.status {
					t.Fatalf("status before = %s, want %s", got, tc.status)
				}
				for want := 1; want <= 2; want++ {
					e.clock.Advance(time.Minute)
					jobs, audits := jobCount(t, e.db), len(e.audit(t, o.ID, "user.resend_invitation"))
					u, err := e.svc.Resend(ctx, boss, tc.user.ID)
					if err != nil {
						t.Fatalf("Resend #%d = %v", want, err)
					}
					stored := e.user(t, o.ID, tc.user.Email)
					wantAt := e.clock.Now().UTC().Truncate(time.Microsecond)
					if u.InvitationCount != want || stored.InvitationCount != want || !stored.LastInvitedAt.Equal(wantAt) || stored.DeliveryStatus != "queued" {
						t.Errorf("Resend #%d: returned count %d, stored %+v; want count %d, invited at %v, queued", want, u.InvitationCount, stored, want, wantAt)
					}
					if got := jobCount(t, e.db); got != jobs+1 {
						t.Errorf("Resend #%d: jobs %d -> %d, want one more", want, jobs, got)
					}
					evs := e.audit(t, o.ID, "user.resend_invitation")
					if len(evs) != audits+1 {
						t.Errorf("Resend #%d: %d resend audit events, want %d", want, len(evs), audits+1)
					} else if evs[0].Target != tc.user.Email || evs[0].ActorUserID != boss.User.ID || evs[0].Before != "" {
						t.Errorf("Resend #%d: audit event %+v, want target %s by the boss", want, evs[0], tc.user.Email)
					}
				}
				if got := e.user(t, o.ID, tc.user.Email).StatusOn(today); got != tc.status {
					t.Errorf("status after = %s, want %s (a resend changes no status)", got, tc.status)
				}
			})
		}

		for _, u := range []*roster.User{expiredToday, expiredLong} {
			t.Run("expired "+u.ExpirationDate.String(), func(t *testing.T) {
				before := e.invCounts(t, o.ID)
				_, err := e.svc.Resend(ctx, boss, u.ID)
				var ee *admin.ExpiredError
				if !errors.As(err, &ee) {
					t.Fatalf("Resend to an expired user = %v, want an *admin.ExpiredError", err)
				}
				if !errors.Is(err, admin.ErrExpiredNoResend) {
					t.Errorf("Resend error %v does not match ErrExpiredNoResend", err)
				}
				if ee.Email != u.Email || ee.Expired != u.ExpirationDate {
					t.Errorf("ExpiredError = %+v, want email %s expired %s", ee, u.Email, u.ExpirationDate)
				}
				for _, s := range []string{u.Email, "expired on " + u.ExpirationDate.String(), "update their expiration date first"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				if after := e.invCounts(t, o.ID); after != before {
					t.Errorf("users/jobs/audit %+v -> %+v, want unchanged", before, after)
				}
				if got := e.user(t, o.ID, u.Email); got.InvitationCount != 0 || !got.LastInvitedAt.IsZero() {
					t.Errorf("expired user = %+v, want no invitation counted", got)
				}
			})
		}

		t.Run("another organization's user or a missing id", func(t *testing.T) {
			before := jobCount(t, e.db)
			for _, id := range []int64{outsider.ID, 987654} {
				if _, err := e.svc.Resend(ctx, boss, id); !errors.Is(err, roster.ErrNotFound) {
					t.Errorf("Resend(%d) = %v, want ErrNotFound", id, err)
				}
			}
			if got := jobCount(t, e.db); got != before {
				t.Errorf("jobs %d -> %d, want unchanged", before, got)
			}
			if got := e.user(t, other.ID, outsider.Email); *got != *outsider {
				t.Errorf("outsider = %+v, want untouched %+v", got, outsider)
			}
		})

		t.Run("access gate", func(t *testing.T) {
			e.plainUser(t, o.ID, "helper@acme.example", roster.AllPermissionsSet&^invMU, roster.Date{}, "")
			before := jobCount(t, e.db)
			if _, err := e.svc.Resend(ctx, e.rawActor(t, o, "helper@acme.example"), fresh.ID); !isAccessError(err) {
				t.Errorf("Resend by a user without manage_users = %v, want an AccessError", err)
			}
			if got := jobCount(t, e.db); got != before {
				t.Errorf("jobs %d -> %d, want unchanged", before, got)
			}
		})
	})
}
