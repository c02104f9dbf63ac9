package admin_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
)

var (
	viewAnalytics = roster.Permissions(roster.ViewAnalytics)
	manageUsers   = roster.Permissions(roster.ManageUsers)
)

// gateCalls runs each access-gated use case as actor on target.
func gateCalls(e *env, a *roster.Actor, target int64) map[string]func(t *testing.T) error {
	return map[string]func(t *testing.T) error{
		"ListUsers": func(t *testing.T) error {
			_, err := e.svc.ListUsers(t.Context(), a, roster.UserFilter{})
			return err
		},
		"User": func(t *testing.T) error {
			_, err := e.svc.User(t.Context(), a, target)
			return err
		},
		"UpdateUser": func(t *testing.T) error {
			_, err := e.svc.UpdateUser(t.Context(), a, target, admin.UserPatch{FirstName: roster.Some("Changed")})
			return err
		},
		"RemoveUser": func(t *testing.T) error {
			return e.svc.RemoveUser(t.Context(), a, target)
		},
		"AuditLog": func(t *testing.T) error {
			_, err := e.svc.AuditLog(t.Context(), a, admin.AuditQuery{Limit: 10})
			return err
		},
	}
}

func TestAccessGate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		acme := e.org(t, "acme")
		off := e.org(t, "off", func(o *roster.Org) { o.UserManagement = false })
		e.addAdminCLI(t, "acme", "boss@acme.example")
		e.addAdminCLI(t, "off", "boss@off.example")
		e.plainUser(t, acme.ID, "helper@acme.example", roster.AllPermissionsSet&^manageUsers, roster.Date{}, "")
		e.plainUser(t, acme.ID, "former@acme.example", roster.AllPermissionsSet, date(t, "2026-03-10"), "")
		acmeTarget := e.plainUser(t, acme.ID, "target@acme.example", viewAnalytics, roster.Date{}, "")
		offTarget := e.plainUser(t, off.ID, "target@off.example", viewAnalytics, roster.Date{}, "")

		tests := []struct {
			name   string
			actor  *roster.Actor
			org    *roster.Org
			target *roster.User
			reason string
		}{
			{"User Management off", e.rawActor(t, off, "boss@off.example"), off, offTarget, "not enabled"},
			{"without manage_users", e.rawActor(t, acme, "helper@acme.example"), acme, acmeTarget, "Manage Users"},
			{"own access expired", e.rawActor(t, acme, "former@acme.example"), acme, acmeTarget, "2026-03-10"},
		}
		for _, tc := range tests {
			for call, fn := range gateCalls(e, tc.actor, tc.target.ID) {
				t.Run(tc.name+"/"+call, func(t *testing.T) {
					err := fn(t)
					var ae *roster.AccessError
					if !errors.As(err, &ae) {
						t.Fatalf("%s by an actor %s = %v, want an AccessError", call, tc.name, err)
					}
					if !strings.Contains(ae.Reason, tc.reason) || ae.Contact != tc.org.SupportContact {
						t.Errorf("AccessError = %+v, want a reason with %q and contact %q", ae, tc.reason, tc.org.SupportContact)
					}
					if got := e.user(t, tc.org.ID, tc.target.Email); got.FirstName != tc.target.FirstName {
						t.Errorf("target first name = %q after a refused %s, want %q", got.FirstName, call, tc.target.FirstName)
					}
				})
			}
			t.Run(tc.name+"/CanManageUsers", func(t *testing.T) {
				if e.svc.CanManageUsers(tc.actor) {
					t.Errorf("CanManageUsers(actor %s) = true, want false", tc.name)
				}
			})
		}

		t.Run("ActorFor refuses too", func(t *testing.T) {
			for _, c := range []struct{ slug, email string }{{"off", ""}, {"acme", "helper@acme.example"}, {"acme", "former@acme.example"}} {
				if _, err := e.svc.ActorFor(t.Context(), c.slug, c.email); !isAccessError(err) {
					t.Errorf("ActorFor(%s, %q) = %v, want an AccessError", c.slug, c.email, err)
				}
			}
		})

		t.Run("no actor", func(t *testing.T) {
			for call, fn := range gateCalls(e, nil, acmeTarget.ID) {
				if err := fn(t); !errors.Is(err, roster.ErrUnauthenticated) {
					t.Errorf("%s without an actor = %v, want ErrUnauthenticated", call, err)
				}
			}
		})

		t.Run("admin passes", func(t *testing.T) {
			a := e.cliActor(t, "acme", "boss@acme.example")
			if !e.svc.CanManageUsers(a) {
				t.Errorf("CanManageUsers(admin) = false, want true")
			}
			list, err := e.svc.ListUsers(t.Context(), a, roster.UserFilter{})
			if err != nil {
				t.Fatalf("ListUsers = %v", err)
			}
			var emails []string
			for _, u := range list.Users {
				emails = append(emails, u.Email)
			}
			want := []string{"boss@acme.example", "former@acme.example", "helper@acme.example", "target@acme.example"}
			if !slices.Equal(emails, want) || list.Total != 4 {
				t.Errorf("ListUsers = %v (total %d), want %v (total 4)", emails, list.Total, want)
			}
			if want := date(t, "2026-03-10"); list.Today != want {
				t.Errorf("ListUsers Today = %s, want %s", list.Today, want)
			}
			u, err := e.svc.User(t.Context(), a, acmeTarget.ID)
			if err != nil || u.Email != "target@acme.example" {
				t.Errorf("User(target) = %v, %v; want target@acme.example", u, err)
			}
		})
	})
}

func TestUpdateUserPermissionRule(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		o := e.org(t, "acme")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		e.plainUser(t, o.ID, "manager@acme.example", manageUsers, roster.Date{}, "")
		manager := e.cliActor(t, "acme", "manager@acme.example")
		analyst := e.plainUser(t, o.ID, "analyst@acme.example", viewAnalytics, roster.Date{}, "")
		nobody := e.plainUser(t, o.ID, "nobody@acme.example", 0, roster.Date{}, "")

		refused := []struct {
			name   string
			target *roster.User
			perms  roster.Permissions
		}{
			{"grant view_analytics", nobody, viewAnalytics},
			{"grant view_analytics with manage_users", nobody, manageUsers | viewAnalytics},
			{"remove view_analytics", analyst, 0},
			{"swap view_analytics for manage_comments", analyst, roster.Permissions(roster.ManageComments)},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				before := e.user(t, o.ID, tc.target.Email)
				_, err := e.svc.UpdateUser(ctx, manager, tc.target.ID, admin.UserPatch{Permissions: roster.Some(tc.perms)})
				if got := validationFields(err); !slices.Equal(got, []string{"permissions"}) {
					t.Errorf("UpdateUser(%s, permissions %v) by a manage_users-only actor = %v, want a ValidationError on permissions", tc.target.Email, tc.perms.Names(), err)
				}
				if got := e.user(t, o.ID, tc.target.Email).Permissions; got != before.Permissions {
					t.Errorf("permissions = %v after a refused update, want %v", got.Names(), before.Permissions.Names())
				}
			})
		}

		allowed := []struct {
			name   string
			target *roster.User
			perms  roster.Permissions
		}{
			{"grant manage_users", nobody, manageUsers},
			{"grant manage_users, keeping view_analytics", analyst, manageUsers | viewAnalytics},
			{"leave view_analytics as it is", analyst, manageUsers | viewAnalytics},
			{"remove manage_users", nobody, 0},
		}
		for _, tc := range allowed {
			t.Run(tc.name, func(t *testing.T) {
				u, err := e.svc.UpdateUser(ctx, manager, tc.target.ID, admin.UserPatch{Permissions: roster.Some(tc.perms)})
				if err != nil {
					t.Fatalf("UpdateUser(%s, permissions %v) = %v, want nil", tc.target.Email, tc.perms.Names(), err)
				}
				if u.Permissions != tc.perms {
					t.Errorf("UpdateUser returned permissions %v, want %v", u.Permissions.Names(), tc.perms.Names())
				}
				if got := e.user(t, o.ID, tc.target.Email).Permissions; got != tc.perms {
					t.Errorf("stored permissions = %v, want %v", got.Names(), tc.perms.Names())
				}
			})
		}

		t.Run("full admin grants anything", func(t *testing.T) {
			boss := e.cliActor(t, "acme", "boss@acme.example")
			if _, err := e.svc.UpdateUser(ctx, boss, nobody.ID, admin.UserPatch{Permissions: roster.Some(roster.AllPermissionsSet)}); err != nil {
				t.Errorf("UpdateUser(all permissions) by a full admin = %v, want nil", err)
			}
		})
	})
}

func TestUpdateUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		o := e.org(t, "acme")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		u := e.plainUser(t, o.ID, "u@acme.example", viewAnalytics, roster.Date{}, "")

		t.Run("names, welcome message and expiry", func(t *testing.T) {
			got, err := e.svc.UpdateUser(ctx, boss, u.ID, admin.UserPatch{
				FirstName:      roster.Some("  Uma "),
				LastName:       roster.Some(""),
				WelcomeMessage: roster.Some(" Welcome aboard! "),
				ExpirationDate: roster.Some(date(t, "2026-12-31")),
			})
			if err != nil {
				t.Fatalf("UpdateUser = %v", err)
			}
			stored := e.user(t, o.ID, "u@acme.example")
			for _, x := range []*roster.User{got, stored} {
				if x.FirstName != "Uma" || x.LastName != "" || x.WelcomeMessage != "Welcome aboard!" || x.ExpirationDate != date(t, "2026-12-31") || x.Permissions != viewAnalytics {
					t.Errorf("user after update = %+v, want Uma, no last name, the welcome message trimmed, 2026-12-31, view_analytics kept", x)
				}
			}
			if _, err := e.svc.UpdateUser(ctx, boss, u.ID, admin.UserPatch{ExpirationDate: roster.Some(roster.Date{})}); err != nil {
				t.Fatalf("UpdateUser(clear expiry) = %v", err)
			}
			if got := e.user(t, o.ID, "u@acme.example"); !got.ExpirationDate.IsZero() || got.FirstName != "Uma" {
				t.Errorf("after clearing the expiry: %+v, want no expiry and the name kept", got)
			}
		})

		t.Run("invalid fields change nothing", func(t *testing.T) {
			before := e.user(t, o.ID, "u@acme.example")
			_, err := e.svc.UpdateUser(ctx, boss, u.ID, admin.UserPatch{
				FirstName:      roster.Some(strings.Repeat("a", roster.MaxNameLength+1)),
				LastName:       roster.Some("Line\nbreak"),
				WelcomeMessage: roster.Some(strings.Repeat("w", admin.MaxWelcomeMessage+1)),
				ExpirationDate: roster.Some(date(t, "2027-01-01")),
			})
			if got, want := validationFields(err), []string{"first_name", "last_name", "welcome_message"}; !slices.Equal(got, want) {
				t.Errorf("UpdateUser(bad fields) = %v, want a ValidationError on %v", err, want)
			}
			if got := e.user(t, o.ID, "u@acme.example"); got.FirstName != before.FirstName || got.LastName != before.LastName || got.ExpirationDate != before.ExpirationDate {
				t.Errorf("user after a refused update = %+v, want unchanged %+v", got, before)
			}
		})

		t.Run("unknown id", func(t *testing.T) {
			if _, err := e.svc.UpdateUser(ctx, boss, 987654, admin.UserPatch{FirstName: roster.Some("X")}); !errors.Is(err, roster.ErrNotFound) {
				t.Errorf("UpdateUser(987654) = %v, want ErrNotFound", err)
			}
			if err := e.svc.RemoveUser(ctx, boss, 987654); !errors.Is(err, roster.ErrNotFound) {
				t.Errorf("RemoveUser(987654) = %v, want ErrNotFound", err)
			}
			if _, err := e.svc.User(ctx, boss, 987654); !errors.Is(err, roster.ErrNotFound) {
				t.Errorf("User(987654) = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestLastAdmin(t *testing.T) {
	type action struct {
		name string
		do   func(e *env, t *testing.T, a *roster.Actor, target int64) error
	}
	actions := []action{
		{"remove own manage_users", func(e *env, t *testing.T, a *roster.Actor, target int64) error {
			_, err := e.svc.UpdateUser(t.Context(), a, target, admin.UserPatch{Permissions: roster.Some(roster.AllPermissionsSet &^ manageUsers)})
			return err
		}},
		{"expire today", func(e *env, t *testing.T, a *roster.Actor, target int64) error {
			_, err := e.svc.UpdateUser(t.Context(), a, target, admin.UserPatch{ExpirationDate: roster.Some(e.svc.Today(a))})
			return err
		}},
		{"expire in the past", func(e *env, t *testing.T, a *roster.Actor, target int64) error {
			_, err := e.svc.UpdateUser(t.Context(), a, target, admin.UserPatch{ExpirationDate: roster.Some(e.svc.Today(a).AddDays(-30))})
			return err
		}},
		{"remove", func(e *env, t *testing.T, a *roster.Actor, target int64) error {
			return e.svc.RemoveUser(t.Context(), a, target)
		}},
	}
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for i, act := range actions {
			t.Run("sole admin/"+act.name, func(t *testing.T) {
				slug := fmt.Sprintf("solo%d", i)
				o := e.org(t, slug)
				// Neither an expired admin nor a user without manage_users counts.
				e.plainUser(t, o.ID, "old@solo.example", roster.AllPermissionsSet, e.svc.Today(&roster.Actor{Org: o}), "")
				e.plainUser(t, o.ID, "helper@solo.example", roster.AllPermissionsSet&^manageUsers, roster.Date{}, "")
				e.addAdminCLI(t, slug, "only@solo.example")
				a := e.cliActor(t, slug, "only@solo.example")
				before := e.user(t, o.ID, "only@solo.example")
				err := act.do(e, t, a, a.User.ID)
				if !errors.Is(err, roster.ErrLastAdmin) {
					t.Errorf("%s by the only admin = %v, want ErrLastAdmin", act.name, err)
				}
				after := e.user(t, o.ID, "only@solo.example")
				if after.Permissions != before.Permissions || after.ExpirationDate != before.ExpirationDate {
					t.Errorf("only admin after a refused %s = %+v, want unchanged %+v", act.name, after, before)
				}
				if n := len(e.audit(t, o.ID, "user.update")) + len(e.audit(t, o.ID, "user.remove")); n != 0 {
					t.Errorf("%d audit events for a refused change, want 0", n)
				}
			})

			t.Run("two admins/"+act.name, func(t *testing.T) {
				slug := fmt.Sprintf("duo%d", i)
				o := e.org(t, slug)
				e.addAdminCLI(t, slug, "a@duo.example")
				e.addAdminCLI(t, slug, "b@duo.example")
				a := e.cliActor(t, slug, "a@duo.example")
				bb := e.cliActor(t, slug, "b@duo.example")
				if err := act.do(e, t, a, a.User.ID); err != nil {
					t.Fatalf("%s by one of two admins = %v, want nil", act.name, err)
				}
				if err := act.do(e, t, bb, bb.User.ID); !errors.Is(err, roster.ErrLastAdmin) {
					t.Errorf("%s by the remaining admin = %v, want ErrLastAdmin", act.name, err)
				}
				if got := e.user(t, o.ID, "b@duo.example"); got.Permissions != roster.AllPermissionsSet || !got.ExpirationDate.IsZero() {
					t.Errorf("remaining admin = %+v, want all permissions and no expiry", got)
				}
			})
		}

		t.Run("sole admin may still edit itself", func(t *testing.T) {
			o := e.org(t, "solo-edit")
			e.addAdminCLI(t, "solo-edit", "only@solo.example")
			a := e.cliActor(t, "solo-edit", "only@solo.example")
			tomorrow := e.svc.Today(a).AddDays(1)
			if _, err := e.svc.UpdateUser(t.Context(), a, a.User.ID, admin.UserPatch{FirstName: roster.Some("Only"), ExpirationDate: roster.Some(tomorrow)}); err != nil {
				t.Errorf("UpdateUser(own name, expiry tomorrow) by the only admin = %v, want nil", err)
			}
			if got := e.user(t, o.ID, "only@solo.example"); got.FirstName != "Only" || got.ExpirationDate != tomorrow {
				t.Errorf("only admin = %+v, want first name Only, expiry %s", got, tomorrow)
			}
		})
	})
}

// TestLastAdminConcurrent has two admins act against each other at the same
// moment: the org must never lose its last active admin.
func TestLastAdminConcurrent(t *testing.T) {
	const rounds = 10
	kinds := []struct {
		name string
		do   func(e *env, t *testing.T, a *roster.Actor, other int64) error
	}{
		{"remove each other", func(e *env, t *testing.T, a *roster.Actor, other int64) error {
			return e.svc.RemoveUser(t.Context(), a, other)
		}},
		{"expire each other", func(e *env, t *testing.T, a *roster.Actor, other int64) error {
			_, err := e.svc.UpdateUser(t.Context(), a, other, admin.UserPatch{ExpirationDate: roster.Some(e.svc.Today(a))})
			return err
		}},
		{"each drops their own manage_users", func(e *env, t *testing.T, a *roster.Actor, _ int64) error {
			_, err := e.svc.UpdateUser(t.Context(), a, a.User.ID, admin.UserPatch{Permissions: roster.Some(viewAnalytics)})
			return err
		}},
	}
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		for k, kind := range kinds {
			t.Run(kind.name, func(t *testing.T) {
				for r := range rounds {
					slug := fmt.Sprintf("race-%d-%d", k, r)
					o := e.org(t, slug)
					e.addAdminCLI(t, slug, "a@race.example")
					e.addAdminCLI(t, slug, "b@race.example")
					actors := []*roster.Actor{e.cliActor(t, slug, "a@race.example"), e.cliActor(t, slug, "b@race.example")}
					var (
						wg    sync.WaitGroup
						start = make(chan struct{})
						errs  [2]error
					)
					for i := range 2 {
						wg.Go(func() {
							<-start
							errs[i] = kind.do(e, t, actors[i], actors[1-i].User.ID)
						})
					}
					close(start)
					wg.Wait()
					ok, last := 0, 0
					for i, err := range errs {
						switch {
						case err == nil:
							ok++
						case errors.Is(err, roster.ErrLastAdmin):
							last++
						default:
							t.Errorf("round %d: admin %d got %v, want nil or ErrLastAdmin", r, i, err)
						}
					}
					if ok != 1 || last != 1 {
						t.Errorf("round %d: %d succeeded and %d got ErrLastAdmin, want 1 and 1", r, ok, last)
					}
					n, err := e.db.CountActiveAdmins(t.Context(), o.ID, e.svc.Today(actors[0]))
					if err != nil {
						t.Fatal(err)
					}
					if n != 1 {
						t.Errorf("round %d: %d active admins left, want 1", r, n)
					}
				}
			})
		}
	})
}

func TestTenancy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		orgA := e.org(t, "org-a")
		e.org(t, "org-b")
		e.addAdminCLI(t, "org-a", "admin@a.example")
		e.addAdminCLI(t, "org-b", "admin@b.example")
		victim := e.plainUser(t, orgA.ID, "victim@a.example", viewAnalytics, roster.Date{}, "")
		actorB := e.cliActor(t, "org-b", "admin@b.example")

		calls := map[string]func() error{
			"User": func() error {
				u, err := e.svc.User(ctx, actorB, victim.ID)
				if u != nil {
					t.Errorf("User(other org's id) returned %+v", u)
				}
				return err
			},
			"UpdateUser": func() error {
				_, err := e.svc.UpdateUser(ctx, actorB, victim.ID, admin.UserPatch{FirstName: roster.Some("Hacked"), Permissions: roster.Some(roster.Permissions(0)), ExpirationDate: roster.Some(date(t, "2026-03-01"))})
				return err
			},
			"RemoveUser": func() error { return e.svc.RemoveUser(ctx, actorB, victim.ID) },
		}
		for name, call := range calls {
			t.Run(name, func(t *testing.T) {
				if err := call(); !errors.Is(err, roster.ErrNotFound) {
					t.Errorf("%s(org A's user) by org B's admin = %v, want ErrNotFound", name, err)
				}
				got := e.user(t, orgA.ID, "victim@a.example")
				if got.FirstName != victim.FirstName || got.Permissions != victim.Permissions || !got.ExpirationDate.IsZero() {
					t.Errorf("org A's user = %+v after %s from org B, want unchanged", got, name)
				}
			})
		}

		t.Run("lists and audit log stay apart", func(t *testing.T) {
			list, err := e.svc.ListUsers(ctx, actorB, roster.UserFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Users) != 1 || list.Users[0].Email != "admin@b.example" {
				t.Errorf("ListUsers(org B) = %d users, want only admin@b.example", len(list.Users))
			}
			page, err := e.svc.AuditLog(ctx, actorB, admin.AuditQuery{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			evs := page.Events
			for _, ev := range evs {
				if ev.OrgID == orgA.ID || ev.Target == "victim@a.example" || ev.Target == "org-a" {
					t.Errorf("org B's audit log holds org A's event %+v", ev)
				}
			}
			if len(evs) == 0 {
				t.Errorf("org B's audit log is empty, want its own events")
			}
		})
	})
}

func TestAuditOfUserChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		o := e.org(t, "acme")
		boss := e.addAdminCLI(t, "acme", "boss@acme.example")
		u := e.plainUser(t, o.ID, "u@acme.example", viewAnalytics, roster.Date{}, "")
		a := e.cliActor(t, "acme", "boss@acme.example")

		type snapshot struct {
			Email          string   `json:"email"`
			FirstName      string   `json:"first_name"`
			Permissions    []string `json:"permissions"`
			ExpirationDate *string  `json:"expiration_date"`
		}
		parse := func(t *testing.T, s string) snapshot {
			t.Helper()
			var sn snapshot
			if err := json.Unmarshal([]byte(s), &sn); err != nil {
				t.Fatalf("audit JSON %q: %v", s, err)
			}
			return sn
		}

		t.Run("user.update", func(t *testing.T) {
			e.clock.Advance(time.Minute)
			if _, err := e.svc.UpdateUser(ctx, a, u.ID, admin.UserPatch{Permissions: roster.Some(viewAnalytics | roster.Permissions(roster.ManageComments)), ExpirationDate: roster.Some(date(t, "2026-06-30"))}); err != nil {
				t.Fatalf("UpdateUser = %v", err)
			}
			page, err := e.svc.AuditLog(ctx, a, admin.AuditQuery{Limit: 1})
			if err != nil || len(page.Events) != 1 {
				t.Fatalf("AuditLog(limit 1) = %v, %v; want the newest event", page, err)
			}
			ev := page.Events[0]
			if ev.Action != "user.update" || ev.ActorUserID != boss.ID || ev.Actor != "boss@acme.example" || ev.TargetUserID != u.ID || ev.Target != "u@acme.example" || !ev.CreatedAt.Equal(e.clock.Now()) {
				t.Errorf("event = %+v, want user.update by boss (%d) on u (%d) at %v", ev, boss.ID, u.ID, e.clock.Now())
			}
			before, after := parse(t, ev.Before), parse(t, ev.After)
			if !slices.Equal(before.Permissions, []string{"view_analytics"}) || !slices.Equal(after.Permissions, []string{"view_analytics", "manage_comments"}) {
				t.Errorf("permissions before %v after %v, want [view_analytics] then [view_analytics manage_comments]", before.Permissions, after.Permissions)
			}
			if before.ExpirationDate != nil || after.ExpirationDate == nil || *after.ExpirationDate != "2026-06-30" {
				t.Errorf("expiration_date before %v after %v, want null then 2026-06-30", before.ExpirationDate, after.ExpirationDate)
			}
			if before.Email != "u@acme.example" || after.FirstName != before.FirstName {
				t.Errorf("unchanged fields differ: before %+v after %+v", before, after)
			}
		})

		t.Run("through an API token", func(t *testing.T) {
			tok, _, err := e.svc.CreateAPIToken(ctx, "acme", "sync", "")
			if err != nil {
				t.Fatal(err)
			}
			ta, err := e.svc.ActorByToken(ctx, tok.Reveal())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.UpdateUser(ctx, ta, u.ID, admin.UserPatch{FirstName: roster.Some("Tok")}); err != nil {
				t.Fatalf("UpdateUser via token = %v", err)
			}
			evs := e.audit(t, o.ID, "user.update")
			if len(evs) == 0 || evs[0].Actor != "boss@acme.example (API token)" || evs[0].ActorUserID != boss.ID {
				t.Errorf("newest user.update = %+v, want actor \"boss@acme.example (API token)\"", evs[0])
			}
			if b, a := parse(t, evs[0].Before), parse(t, evs[0].After); b.FirstName != "Pat" || a.FirstName != "Tok" {
				t.Errorf("first_name before %q after %q, want Pat then Tok", b.FirstName, a.FirstName)
			}
		})

		t.Run("user.remove", func(t *testing.T) {
			if err := e.svc.RemoveUser(ctx, a, u.ID); err != nil {
				t.Fatalf("RemoveUser = %v", err)
			}
			if _, err := e.svc.User(ctx, a, u.ID); !errors.Is(err, roster.ErrNotFound) {
				t.Errorf("User(removed) = %v, want ErrNotFound", err)
			}
			evs := e.audit(t, o.ID, "user.remove")
			if len(evs) != 1 {
				t.Fatalf("user.remove events = %d, want 1", len(evs))
			}
			ev := evs[0]
			if ev.ActorUserID != boss.ID || ev.Actor != "boss@acme.example" || ev.TargetUserID != u.ID || ev.Target != "u@acme.example" {
				t.Errorf("user.remove event = %+v, want by boss on u@acme.example", ev)
			}
			if ev.After != "" || parse(t, ev.Before).Email != "u@acme.example" {
				t.Errorf("user.remove before %q after %q, want the user before and nothing after", ev.Before, ev.After)
			}
		})
	})
}
