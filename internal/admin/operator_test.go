package admin_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
)

func TestCreateOrg(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		ctx := t.Context()

		t.Run("valid", func(t *testing.T) {
			o := &roster.Org{Name: "  Acme Inc.  ", Slug: "acme", UserManagement: true, TimeZone: "Europe/Paris", SupportContact: "it@acme.example"}
			if err := e.svc.CreateOrg(ctx, o); err != nil {
				t.Fatalf("CreateOrg(acme) = %v, want nil", err)
			}
			got, err := e.svc.Org(ctx, "acme")
			if err != nil {
				t.Fatalf("Org(acme): %v", err)
			}
			if got.ID != o.ID || got.Name != "Acme Inc." || !got.UserManagement || got.Locale != "en-US" || got.TimeZone != "Europe/Paris" || got.SupportContact != "it@acme.example" {
				t.Errorf("Org(acme) = %+v, want ID %d, name %q, user management on, en-US, Europe/Paris, it@acme.example", got, o.ID, "Acme Inc.")
			}
			evs := e.audit(t, o.ID, "org.create")
			if len(evs) != 1 || evs[0].Target != "acme" || !strings.Contains(evs[0].After, `"time_zone":"Europe/Paris"`) {
				t.Errorf("org.create audit events = %+v, want one for acme with its time zone", evs)
			}
		})

		t.Run("defaults", func(t *testing.T) {
			o := &roster.Org{Name: "Defaults", Slug: "d-1"}
			if err := e.svc.CreateOrg(ctx, o); err != nil {
				t.Fatalf("CreateOrg(d-1) = %v, want nil", err)
			}
			got, err := e.svc.Org(ctx, "d-1")
			if err != nil {
				t.Fatalf("Org(d-1): %v", err)
			}
			if got.Locale != "en-US" || got.TimeZone != "UTC" || got.UserManagement {
				t.Errorf("Org(d-1) = locale %q, zone %q, user management %t; want en-US, UTC, false", got.Locale, got.TimeZone, got.UserManagement)
			}
		})

		invalid := []struct {
			name string
			org  roster.Org
			want []string
		}{
			{"uppercase slug", roster.Org{Name: "X", Slug: "Acme"}, []string{"slug"}},
			{"slug with leading dash", roster.Org{Name: "X", Slug: "-acme"}, []string{"slug"}},
			{"slug with trailing dash", roster.Org{Name: "X", Slug: "acme-"}, []string{"slug"}},
			{"slug with space", roster.Org{Name: "X", Slug: "ac me"}, []string{"slug"}},
			{"empty slug", roster.Org{Name: "X", Slug: ""}, []string{"slug"}},
			{"slug of 64 characters", roster.Org{Name: "X", Slug: strings.Repeat("a", 64)}, []string{"slug"}},
			{"blank name", roster.Org{Name: "   ", Slug: "blank-name"}, []string{"name"}},
			{"bad time zone", roster.Org{Name: "X", Slug: "tz", TimeZone: "Mars/Olympus"}, []string{"time_zone"}},
			{"Local time zone", roster.Org{Name: "X", Slug: "tz2", TimeZone: "Local"}, []string{"time_zone"}},
			{"bad locale", roster.Org{Name: "X", Slug: "loc", Locale: "fr-FR"}, []string{"locale"}},
			{"everything wrong at once", roster.Org{Name: "", Slug: "Not A Slug", TimeZone: "Nowhere/City", Locale: "xx"}, []string{"locale", "name", "slug", "time_zone"}},
		}
		for _, tc := range invalid {
			t.Run(tc.name, func(t *testing.T) {
				n0, err := e.db.CountOrgs(ctx)
				if err != nil {
					t.Fatal(err)
				}
				o := tc.org
				err = e.svc.CreateOrg(ctx, &o)
				if got := validationFields(err); !slices.Equal(got, tc.want) {
					t.Errorf("CreateOrg(%+v) = %v (fields %v), want a ValidationError on %v", tc.org, err, got, tc.want)
				}
				if n, err := e.db.CountOrgs(ctx); err != nil || n != n0 {
					t.Errorf("CountOrgs() = %d, %v after a refused CreateOrg, want %d", n, err, n0)
				}
			})
		}

		t.Run("duplicate slug", func(t *testing.T) {
			o := &roster.Org{Name: "Acme Again", Slug: "acme"}
			err := e.svc.CreateOrg(ctx, o)
			if got := validationFields(err); !slices.Equal(got, []string{"slug"}) {
				t.Errorf("CreateOrg(duplicate acme) = %v, want a ValidationError on slug", err)
			}
			got, err := e.svc.Org(ctx, "acme")
			if err != nil || got.Name != "Acme Inc." {
				t.Errorf("Org(acme) = %+v, %v; want the original Acme Inc.", got, err)
			}
		})

		t.Run("unknown org", func(t *testing.T) {
			if _, err := e.svc.Org(ctx, "nope"); !errors.Is(err, roster.ErrNotFound) {
				t.Errorf("Org(nope) = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestAddAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		ctx := t.Context()
		o := e.org(t, "acme")

		t.Run("new user", func(t *testing.T) {
			u, link, err := e.svc.AddAdmin(ctx, "acme", "  Boss@Acme.Example ")
			if err != nil {
				t.Fatalf("AddAdmin = %v, want nil", err)
			}
			if u.Email != "boss@acme.example" || u.OrgID != o.ID || u.Permissions != roster.AllPermissionsSet || !u.ExpirationDate.IsZero() {
				t.Errorf("AddAdmin user = %+v, want boss@acme.example in org %d with all four permissions and no expiry", u, o.ID)
			}
			if !strings.HasPrefix(link, baseURL+"/link/") {
				t.Errorf("AddAdmin link = %q, want it to start with %s/link/", link, baseURL)
			}
			stored := e.user(t, o.ID, "boss@acme.example")
			if stored.Permissions != roster.AllPermissionsSet || stored.HasPassword || !stored.LastLoginAt.IsZero() {
				t.Errorf("stored user = %+v, want all permissions, no password, never logged in", stored)
			}
			evs := e.audit(t, o.ID, "user.create_admin")
			if len(evs) != 1 || evs[0].TargetUserID != u.ID || evs[0].Actor != "operator (CLI)" || evs[0].ActorUserID != 0 {
				t.Fatalf("user.create_admin events = %+v, want one by the operator on user %d", evs, u.ID)
			}
			var after struct{ Permissions []string }
			if err := json.Unmarshal([]byte(evs[0].After), &after); err != nil {
				t.Fatalf("after JSON %q: %v", evs[0].After, err)
			}
			if want := roster.AllPermissionsSet.Names(); !slices.Equal(after.Permissions, want) {
				t.Errorf("audit after.permissions = %v, want %v", after.Permissions, want)
			}

			e.clock.Advance(time.Minute)
			sess, err := e.svc.UseLink(ctx, linkToken(t, link), goodPassword)
			if err != nil {
				t.Fatalf("UseLink(AddAdmin link) = %v, want nil", err)
			}
			if sess.Actor == nil || sess.Actor.User.ID != u.ID || sess.Actor.Org.ID != o.ID || sess.Secret == "" {
				t.Errorf("UseLink session = %+v, want a secret and the actor %d in org %d", sess, u.ID, o.ID)
			}
			stored = e.user(t, o.ID, "boss@acme.example")
			if !stored.HasPassword || !stored.LastLoginAt.Equal(t0.Add(time.Minute)) {
				t.Errorf("after UseLink: HasPassword %t, LastLoginAt %v; want true, %v", stored.HasPassword, stored.LastLoginAt, t0.Add(time.Minute))
			}
			a, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal())
			if err != nil || a.User.ID != u.ID {
				t.Errorf("ActorBySession(new session) = %v, %v; want user %d", a, err, u.ID)
			}
		})

		t.Run("existing user regains everything", func(t *testing.T) {
			tomorrow := date(t, "2026-03-11")
			p := e.plainUser(t, o.ID, "pat@acme.example", roster.Permissions(roster.ViewAnalytics), tomorrow, "")
			u, link, err := e.svc.AddAdmin(ctx, "acme", "pat@acme.example")
			if err != nil {
				t.Fatalf("AddAdmin(existing) = %v, want nil", err)
			}
			if u.ID != p.ID {
				t.Errorf("AddAdmin(existing) user ID = %d, want the existing %d", u.ID, p.ID)
			}
			if !strings.HasPrefix(link, baseURL+"/link/") {
				t.Errorf("AddAdmin link = %q, want it to start with %s/link/", link, baseURL)
			}
			stored := e.user(t, o.ID, "pat@acme.example")
			if stored.Permissions != roster.AllPermissionsSet || !stored.ExpirationDate.IsZero() || stored.FirstName != "Pat" {
				t.Errorf("stored user = %+v, want all four permissions, no expiry, first name kept", stored)
			}
			evs := e.audit(t, o.ID, "user.make_admin")
			if len(evs) != 1 || evs[0].TargetUserID != p.ID {
				t.Fatalf("user.make_admin events = %+v, want one on user %d", evs, p.ID)
			}
			if !strings.Contains(evs[0].Before, `"expiration_date":"2026-03-11"`) || !strings.Contains(evs[0].After, `"expiration_date":null`) {
				t.Errorf("user.make_admin before %s after %s, want the expiry cleared", evs[0].Before, evs[0].After)
			}
		})

		t.Run("unknown org", func(t *testing.T) {
			_, _, err := e.svc.AddAdmin(ctx, "nope", "x@acme.example")
			if !errors.Is(err, roster.ErrNotFound) {
				t.Errorf("AddAdmin(nope) = %v, want ErrNotFound", err)
			}
		})

		for _, email := range []string{"", "not-an-email", "Boss <boss@acme.example>", "a@b", "two words@acme.example"} {
			t.Run("bad email "+email, func(t *testing.T) {
				n := len(e.audit(t, o.ID, "user.create_admin"))
				_, _, err := e.svc.AddAdmin(ctx, "acme", email)
				if got := validationFields(err); !slices.Equal(got, []string{"email"}) {
					t.Errorf("AddAdmin(%q) = %v, want a ValidationError on email", email, err)
				}
				if got := len(e.audit(t, o.ID, "user.create_admin")); got != n {
					t.Errorf("user.create_admin events = %d after a refused AddAdmin, want %d", got, n)
				}
			})
		}
	})
}

func TestCreateAPIToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		ctx := t.Context()
		o := e.org(t, "acme")
		first := e.addAdminCLI(t, "acme", "first@acme.example")
		e.addAdminCLI(t, "acme", "second@acme.example")
		viewer := e.plainUser(t, o.ID, "viewer@acme.example", roster.Permissions(roster.ViewAnalytics), roster.Date{}, "")
		e.org(t, "empty")

		t.Run("default acts as the first admin", func(t *testing.T) {
			tok, u, err := e.svc.CreateAPIToken(ctx, "acme", "LMS sync", "")
			if err != nil {
				t.Fatalf("CreateAPIToken = %v, want nil", err)
			}
			if u.ID != first.ID {
				t.Errorf("CreateAPIToken user = %s, want %s", u.Email, first.Email)
			}
			if !strings.HasPrefix(tok.Reveal(), "rst_") {
				t.Errorf("token %q does not start with rst_", tok.Reveal())
			}
			a, err := e.svc.ActorByToken(ctx, tok.Reveal())
			if err != nil {
				t.Fatalf("ActorByToken = %v, want nil", err)
			}
			if a.User.ID != first.ID || a.Org.ID != o.ID || a.Via != "token" || a.User.Permissions != roster.AllPermissionsSet {
				t.Errorf("ActorByToken = user %d org %d via %q perms %v; want %d, %d, token, all", a.User.ID, a.Org.ID, a.Via, a.User.Permissions, first.ID, o.ID)
			}
			evs := e.audit(t, o.ID, "api_token.create")
			if len(evs) == 0 || evs[0].TargetUserID != first.ID || !strings.Contains(evs[0].After, "LMS sync") || strings.Contains(evs[0].After, tok.Reveal()) {
				t.Errorf("api_token.create events = %+v, want one naming the token (not its secret) for user %d", evs, first.ID)
			}
		})

		t.Run("named user", func(t *testing.T) {
			tok, u, err := e.svc.CreateAPIToken(ctx, "acme", "reports", " VIEWER@acme.example ")
			if err != nil {
				t.Fatalf("CreateAPIToken(--user viewer) = %v, want nil", err)
			}
			if u.ID != viewer.ID {
				t.Errorf("CreateAPIToken(--user viewer) user = %s, want viewer", u.Email)
			}
			a, err := e.svc.ActorByToken(ctx, tok.Reveal())
			if err != nil {
				t.Fatalf("ActorByToken = %v, want nil", err)
			}
			if a.User.ID != viewer.ID || a.Via != "token" || a.User.Permissions != roster.Permissions(roster.ViewAnalytics) {
				t.Errorf("ActorByToken = user %d via %q perms %v; want %d via token with view_analytics", a.User.ID, a.Via, a.User.Permissions, viewer.ID)
			}
			// The token carries the user's permissions, not an admin's.
			if _, err := e.svc.ListUsers(ctx, a, roster.UserFilter{}); !isAccessError(err) {
				t.Errorf("ListUsers(viewer's token) = %v, want an AccessError", err)
			}
		})

		refused := []struct {
			name, slug, tokName, email string
			field                      string
			notFound                   bool
		}{
			{name: "unknown user", slug: "acme", tokName: "x", email: "ghost@acme.example", field: "user"},
			{name: "malformed user email", slug: "acme", tokName: "x", email: "ghost", field: "user"},
			{name: "user of another org", slug: "empty", tokName: "x", email: "first@acme.example", field: "user"},
			{name: "org with no admin", slug: "empty", tokName: "x", field: "user"},
			{name: "empty name", slug: "acme", tokName: "   ", field: "name"},
			{name: "name too long", slug: "acme", tokName: strings.Repeat("n", 101), field: "name"},
			{name: "unknown org", slug: "nope", tokName: "x", notFound: true},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				tok, _, err := e.svc.CreateAPIToken(ctx, tc.slug, tc.tokName, tc.email)
				if tc.notFound {
					if !errors.Is(err, roster.ErrNotFound) {
						t.Errorf("CreateAPIToken(%q, %q, %q) = %v, want ErrNotFound", tc.slug, tc.tokName, tc.email, err)
					}
				} else if got := validationFields(err); !slices.Equal(got, []string{tc.field}) {
					t.Errorf("CreateAPIToken(%q, %q, %q) = %v, want a ValidationError on %s", tc.slug, tc.tokName, tc.email, err, tc.field)
				}
				if tok != "" {
					t.Errorf("CreateAPIToken(%q, %q, %q) returned a token with its error", tc.slug, tc.tokName, tc.email)
				}
			})
		}

		t.Run("bad tokens", func(t *testing.T) {
			good, _, err := e.svc.CreateAPIToken(ctx, "acme", "x", "")
			if err != nil {
				t.Fatal(err)
			}
			for name, secret := range map[string]string{
				"empty":            "",
				"garbage":          "rst_thisisnotarealtokenatallthisisnotarealtok",
				"without prefix":   strings.TrimPrefix(good.Reveal(), "rst_"),
				"other prefix":     "xyz_" + strings.TrimPrefix(good.Reveal(), "rst_"),
				"truncated":        good.Reveal()[:len(good.Reveal())-1],
				"prefix only":      "rst_",
				"trailing garbage": good.Reveal() + "x",
			} {
				if a, err := e.svc.ActorByToken(ctx, secret); !errors.Is(err, roster.ErrUnauthenticated) || a != nil {
					t.Errorf("ActorByToken(%s) = %v, %v; want ErrUnauthenticated", name, a, err)
				}
			}
			if _, err := e.svc.ActorByToken(ctx, good.Reveal()); err != nil {
				t.Errorf("ActorByToken(good) = %v, want nil", err)
			}
		})

		t.Run("removed user's token stops working", func(t *testing.T) {
			tok, _, err := e.svc.CreateAPIToken(ctx, "acme", "x", "second@acme.example")
			if err != nil {
				t.Fatal(err)
			}
			admin := e.cliActor(t, "acme", "first@acme.example")
			second := e.user(t, o.ID, "second@acme.example")
			if err := e.svc.RemoveUser(ctx, admin, second.ID); err != nil {
				t.Fatalf("RemoveUser(second) = %v", err)
			}
			if _, err := e.svc.ActorByToken(ctx, tok.Reveal()); !errors.Is(err, roster.ErrUnauthenticated) {
				t.Errorf("ActorByToken(removed user's token) = %v, want ErrUnauthenticated", err)
			}
		})
	})
}

// TestActorByTokenExpiryUsesOrgTimeZone proves that "expired" is decided on
// the organization's calendar, not UTC's: near midnight UTC the two disagree.
func TestActorByTokenExpiryUsesOrgTimeZone(t *testing.T) {
	tests := []struct {
		name    string
		zone    string
		now     time.Time
		exp     string // the user's expiration date
		expired bool
	}{
		// 11:00 UTC on the 10th is 01:00 on the 11th in Kiritimati (UTC+14).
		{"Kiritimati already on the expiry day", "Pacific/Kiritimati", time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC), "2026-03-11", true},
		{"UTC not yet on the expiry day", "UTC", time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC), "2026-03-11", false},
		// 02:00 UTC on the 11th is 19:00 on the 10th in Los Angeles (UTC-7).
		{"Los Angeles still the day before", "America/Los_Angeles", time.Date(2026, 3, 11, 2, 0, 0, 0, time.UTC), "2026-03-11", false},
		{"UTC already on the expiry day", "UTC", time.Date(2026, 3, 11, 2, 0, 0, 0, time.UTC), "2026-03-11", true},
		{"Los Angeles reaches the day", "America/Los_Angeles", time.Date(2026, 3, 11, 7, 0, 0, 0, time.UTC), "2026-03-11", true},
	}
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		ctx := t.Context()
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				slug := "zone" + string(rune('a'+i))
				o := e.org(t, slug, func(o *roster.Org) { o.TimeZone = tc.zone })
				e.addAdminCLI(t, slug, "admin@z.example")
				e.plainUser(t, o.ID, "temp@z.example", roster.Permissions(roster.ViewAnalytics), date(t, tc.exp), "")
				tok, _, err := e.svc.CreateAPIToken(ctx, slug, "t", "temp@z.example")
				if err != nil {
					t.Fatalf("CreateAPIToken = %v", err)
				}
				e.clock.Set(tc.now)
				a, err := e.svc.ActorByToken(ctx, tok.Reveal())
				if tc.expired {
					var ae *roster.AccessError
					if !errors.As(err, &ae) {
						t.Fatalf("ActorByToken at %v in %s (expires %s) = %v, %v; want an AccessError", tc.now, tc.zone, tc.exp, a, err)
					}
					if ae.Contact != o.SupportContact || !strings.Contains(ae.Reason, tc.exp) {
						t.Errorf("AccessError = %+v, want the date %s and contact %q", ae, tc.exp, o.SupportContact)
					}
				} else if err != nil || a.User.Email != "temp@z.example" {
					t.Errorf("ActorByToken at %v in %s (expires %s) = %v, %v; want the user", tc.now, tc.zone, tc.exp, a, err)
				}
			})
		}
	})
}
