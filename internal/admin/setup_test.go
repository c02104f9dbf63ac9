package admin_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
)

var setupLinkRE = regexp.MustCompile(`^` + regexp.QuoteMeta(baseURL) + `/setup/([A-Za-z0-9_-]{43})$`)

// setupToken returns the token of a first-run link.
func setupToken(t *testing.T, link string) string {
	t.Helper()
	m := setupLinkRE.FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("FirstRunLink = %q, want %s/setup/<43-character token>", link, baseURL)
	}
	return m[1]
}

func validSetup() admin.SetupInput {
	return admin.SetupInput{OrgName: "Acme", OrgSlug: "acme", TimeZone: "Europe/Paris", FirstName: "Ada", LastName: "Admin", Email: " Ada@Acme.Example ", Password: goodPassword}
}

func TestFirstRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		link, err := e.svc.FirstRunLink(ctx)
		if err != nil {
			t.Fatalf("FirstRunLink on an empty database = %v", err)
		}
		tok := setupToken(t, link)

		invalid := []struct {
			name string
			mod  func(*admin.SetupInput)
			want []string
		}{
			{"bad email", func(in *admin.SetupInput) { in.Email = "ada" }, []string{"email"}},
			{"empty email", func(in *admin.SetupInput) { in.Email = "" }, []string{"email"}},
			{"short password", func(in *admin.SetupInput) { in.Password = "too short" }, []string{"password"}},
			{"common password", func(in *admin.SetupInput) { in.Password = commonPassword }, []string{"password"}},
			{"bad slug", func(in *admin.SetupInput) { in.OrgSlug = "Acme Inc" }, []string{"org_slug"}},
			{"empty org name", func(in *admin.SetupInput) { in.OrgName = " " }, []string{"org_name"}},
			{"bad time zone", func(in *admin.SetupInput) { in.TimeZone = "Nowhere/Town" }, []string{"org_time_zone"}},
			{"name with a line break", func(in *admin.SetupInput) { in.FirstName = "Ada\nBcc: x@evil.example" }, []string{"first_name"}},
			{"all at once", func(in *admin.SetupInput) { in.Email, in.Password, in.OrgSlug = "x", "short", "-" }, []string{"email", "org_slug", "password"}},
		}
		for _, tc := range invalid {
			t.Run(tc.name, func(t *testing.T) {
				in := validSetup()
				tc.mod(&in)
				sess, err := e.svc.CompleteSetup(ctx, tok, in)
				if got := validationFields(err); !slices.Equal(got, tc.want) || sess != nil {
					t.Errorf("CompleteSetup(%s) = %v, %v (fields %v); want a ValidationError on %v", tc.name, sess, err, got, tc.want)
				}
				if n, err := e.db.CountOrgs(ctx); err != nil || n != 0 {
					t.Errorf("CountOrgs() = %d, %v after a refused setup, want 0", n, err)
				}
				if ok, err := e.svc.SetupLinkValid(ctx, tok); err != nil || !ok {
					t.Errorf("SetupLinkValid = %t, %v after a refused setup, want true", ok, err)
				}
			})
		}

		t.Run("wrong token", func(t *testing.T) {
			sess, err := e.svc.CompleteSetup(ctx, strings.Repeat("A", 43), validSetup())
			if !errors.Is(err, roster.ErrTokenInvalid) || sess != nil {
				t.Errorf("CompleteSetup(forged token) = %v, %v; want ErrTokenInvalid", sess, err)
			}
			if n, err := e.db.CountOrgs(ctx); err != nil || n != 0 {
				t.Errorf("CountOrgs() = %d, %v after a forged setup, want 0", n, err)
			}
		})

		t.Run("success", func(t *testing.T) {
			e.clock.Advance(time.Minute)
			sess, err := e.svc.CompleteSetup(ctx, tok, validSetup())
			if err != nil {
				t.Fatalf("CompleteSetup = %v, want nil", err)
			}
			o, err := e.svc.Org(ctx, "acme")
			if err != nil {
				t.Fatalf("Org(acme) after setup: %v", err)
			}
			if !o.UserManagement || o.Name != "Acme" || o.TimeZone != "Europe/Paris" || o.Locale != "en-US" {
				t.Errorf("org after setup = %+v, want Acme, User Management on, Europe/Paris, en-US", o)
			}
			u := e.user(t, o.ID, "ada@acme.example")
			if u.Permissions != roster.AllPermissionsSet || !u.HasPassword || u.FirstName != "Ada" || u.LastName != "Admin" || !u.LastLoginAt.Equal(e.clock.Now()) {
				t.Errorf("admin after setup = %+v, want Ada Admin with all four permissions, a password, logged in now", u)
			}
			a, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal())
			if err != nil || a.User.ID != u.ID || a.Org.ID != o.ID {
				t.Fatalf("ActorBySession(setup session) = %v, %v; want the new admin", a, err)
			}
			if !e.svc.CanManageUsers(a) {
				t.Errorf("CanManageUsers(new admin) = false, want true")
			}
			if _, err := e.signIn(t, "ada@acme.example", goodPassword); err != nil {
				t.Errorf("SignIn(new admin) = %v, want nil", err)
			}
			if evs := e.audit(t, o.ID, "org.setup"); len(evs) != 1 || evs[0].TargetUserID != u.ID {
				t.Errorf("org.setup events = %+v, want one on the admin", evs)
			}
		})

		t.Run("reused token", func(t *testing.T) {
			in := validSetup()
			in.OrgSlug, in.Email = "second", "eve@second.example"
			sess, err := e.svc.CompleteSetup(ctx, tok, in)
			if !errors.Is(err, roster.ErrTokenInvalid) || sess != nil {
				t.Errorf("CompleteSetup(used token) = %v, %v; want ErrTokenInvalid", sess, err)
			}
			if n, err := e.db.CountOrgs(ctx); err != nil || n != 1 {
				t.Errorf("CountOrgs() = %d, %v after reusing the setup link, want 1", n, err)
			}
			if ok, err := e.svc.SetupLinkValid(ctx, tok); err != nil || ok {
				t.Errorf("SetupLinkValid(used) = %t, %v; want false", ok, err)
			}
		})

		t.Run("no link once an org exists", func(t *testing.T) {
			link, err := e.svc.FirstRunLink(ctx)
			if err != nil || link != "" {
				t.Errorf("FirstRunLink with an org = %q, %v; want \"\", nil", link, err)
			}
		})
	})
}

func TestFirstRunLinkLifetime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		first, err := e.svc.FirstRunLink(ctx)
		if err != nil {
			t.Fatal(err)
		}
		second, err := e.svc.FirstRunLink(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := e.svc.SetupLinkValid(ctx, setupToken(t, first)); ok {
			t.Errorf("SetupLinkValid(older link) = true after a new one was made, want false")
		}
		if _, err := e.svc.CompleteSetup(ctx, setupToken(t, first), validSetup()); !errors.Is(err, roster.ErrTokenInvalid) {
			t.Errorf("CompleteSetup(older link) = %v, want ErrTokenInvalid", err)
		}
		tok := setupToken(t, second)
		e.clock.Advance(24 * time.Hour)
		if ok, _ := e.svc.SetupLinkValid(ctx, tok); ok {
			t.Errorf("SetupLinkValid after 24 hours = true, want false")
		}
		if _, err := e.svc.CompleteSetup(ctx, tok, validSetup()); !errors.Is(err, roster.ErrTokenInvalid) {
			t.Errorf("CompleteSetup after 24 hours = %v, want ErrTokenInvalid", err)
		}
		if n, err := e.db.CountOrgs(ctx); err != nil || n != 0 {
			t.Errorf("CountOrgs() = %d, %v, want 0", n, err)
		}
	})
}

// TestSetupLinkAfterOperatorCreatedOrg: a first-run link printed before the
// operator created an organization from the CLI is stale; it must not set
// up a second organization with an admin of its holder's choosing.
func TestSetupLinkAfterOperatorCreatedOrg(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		link, err := e.svc.FirstRunLink(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tok := setupToken(t, link)
		e.org(t, "cli-made")
		if ok, err := e.svc.SetupLinkValid(ctx, tok); err != nil || ok {
			t.Errorf("SetupLinkValid once an org exists = %t, %v; want false", ok, err)
		}
		sess, err := e.svc.CompleteSetup(ctx, tok, validSetup())
		if !errors.Is(err, roster.ErrTokenInvalid) || sess != nil {
			t.Errorf("CompleteSetup once an org exists = %v, %v; want ErrTokenInvalid", sess, err)
		}
		if n, err := e.db.CountOrgs(ctx); err != nil || n != 1 {
			t.Errorf("CountOrgs() = %d, %v, want 1", n, err)
		}
	})
}
