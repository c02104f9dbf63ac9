package admin_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
)

func TestSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		ctx := t.Context()
		acme := e.org(t, "acme")
		admin1 := e.plainUser(t, acme.ID, "admin@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
		e.plainUser(t, acme.ID, "gone@acme.example", roster.Permissions(roster.ViewAnalytics), date(t, "2026-03-10"), goodPassword)
		e.plainUser(t, acme.ID, "nopw@acme.example", roster.Permissions(roster.ViewAnalytics), roster.Date{}, "")

		t.Run("success", func(t *testing.T) {
			e.clock.Advance(time.Minute)
			sess, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "admin@acme.example", Password: goodPassword, Client: addr("192.0.2.1")})
			if err != nil {
				t.Fatalf("SignIn = %v, want nil", err)
			}
			if sess.Secret == "" || sess.Device == "" || sess.Actor == nil || sess.Actor.User.ID != admin1.ID || sess.Actor.Org.ID != acme.ID || sess.Actor.Via != "session" {
				t.Fatalf("SignIn session = %+v, want a secret, a new device and the admin's actor", sess)
			}
			if want := e.clock.Now().Add(14 * 24 * time.Hour); !sess.Expires.Equal(want) {
				t.Errorf("session Expires = %v, want %v (default 14 days)", sess.Expires, want)
			}
			if got := e.user(t, acme.ID, "admin@acme.example").LastLoginAt; !got.Equal(e.clock.Now()) {
				t.Errorf("LastLoginAt = %v, want %v", got, e.clock.Now())
			}
			a, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal())
			if err != nil || a.User.ID != admin1.ID {
				t.Errorf("ActorBySession = %v, %v; want the admin", a, err)
			}
		})

		t.Run("email is case and space insensitive", func(t *testing.T) {
			sess, err := e.signIn(t, "  ADMIN@Acme.Example ", goodPassword)
			if err != nil || sess.Actor.User.ID != admin1.ID {
				t.Errorf("SignIn(\"  ADMIN@Acme.Example \") = %v, %v; want the admin", sess, err)
			}
		})

		bad := []struct{ name, email, pw string }{
			{"wrong password", "admin@acme.example", otherPassword},
			{"password differs in case", "admin@acme.example", strings.ToUpper(goodPassword)},
			{"unknown email", "nobody@acme.example", goodPassword},
			{"malformed email", "admin", goodPassword},
			{"empty password", "admin@acme.example", ""},
			{"user without a password", "nopw@acme.example", goodPassword},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				sess, err := e.signIn(t, tc.email, tc.pw)
				if !errors.Is(err, roster.ErrBadCredentials) || sess != nil {
					t.Errorf("SignIn(%q, %q) = %v, %v; want ErrBadCredentials", tc.email, tc.pw, sess, err)
				}
			})
		}

		t.Run("expired user with the right password", func(t *testing.T) {
			before := e.user(t, acme.ID, "gone@acme.example").LastLoginAt
			sess, err := e.signIn(t, "gone@acme.example", goodPassword)
			var ae *roster.AccessError
			if !errors.As(err, &ae) || sess != nil {
				t.Fatalf("SignIn(expired) = %v, %v; want an AccessError", sess, err)
			}
			if !strings.Contains(ae.Reason, "2026-03-10") || ae.Contact != acme.SupportContact {
				t.Errorf("AccessError = %+v, want a reason with 2026-03-10 and contact %q", ae, acme.SupportContact)
			}
			if got := e.user(t, acme.ID, "gone@acme.example").LastLoginAt; !got.Equal(before) {
				t.Errorf("LastLoginAt = %v after a refused sign-in, want %v", got, before)
			}
		})

		t.Run("expired user with a wrong password", func(t *testing.T) {
			// The reason for the refusal is told only to whoever knows the password.
			if _, err := e.signIn(t, "gone@acme.example", otherPassword); !errors.Is(err, roster.ErrBadCredentials) {
				t.Errorf("SignIn(expired, wrong password) = %v, want ErrBadCredentials", err)
			}
		})
	})
}

func TestSignInSeveralOrgs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		ctx := t.Context()
		alpha := e.org(t, "alpha")
		beta := e.org(t, "beta")
		gamma := e.org(t, "gamma")
		inAlpha := e.plainUser(t, alpha.ID, "sam@multi.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
		inBeta := e.plainUser(t, beta.ID, "sam@multi.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
		inGamma := e.plainUser(t, gamma.ID, "sam@multi.example", roster.AllPermissionsSet, roster.Date{}, otherPassword)

		t.Run("same password in two orgs asks which", func(t *testing.T) {
			sess, err := e.signIn(t, "sam@multi.example", goodPassword)
			var ce *admin.ChooseOrgError
			if !errors.As(err, &ce) || sess != nil {
				t.Fatalf("SignIn = %v, %v; want a ChooseOrgError", sess, err)
			}
			var slugs []string
			for _, o := range ce.Orgs {
				slugs = append(slugs, o.Slug)
			}
			slices.Sort(slugs)
			if !slices.Equal(slugs, []string{"alpha", "beta"}) {
				t.Errorf("ChooseOrgError orgs = %v, want [alpha beta]", slugs)
			}
			if u := e.user(t, alpha.ID, "sam@multi.example"); !u.LastLoginAt.IsZero() {
				t.Errorf("LastLoginAt in alpha = %v after ChooseOrgError, want none", u.LastLoginAt)
			}
		})

		for _, tc := range []struct {
			slug string
			want int64
		}{{"alpha", inAlpha.ID}, {"beta", inBeta.ID}} {
			t.Run("OrgSlug "+tc.slug, func(t *testing.T) {
				sess, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "sam@multi.example", Password: goodPassword, OrgSlug: tc.slug, Client: addr("192.0.2.1")})
				if err != nil {
					t.Fatalf("SignIn(OrgSlug %s) = %v, want nil", tc.slug, err)
				}
				if sess.Actor.User.ID != tc.want || sess.Actor.Org.Slug != tc.slug {
					t.Errorf("SignIn(OrgSlug %s) signed in as user %d of %s, want user %d", tc.slug, sess.Actor.User.ID, sess.Actor.Org.Slug, tc.want)
				}
			})
		}

		t.Run("OrgSlug with the other org's password", func(t *testing.T) {
			_, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "sam@multi.example", Password: otherPassword, OrgSlug: "alpha", Client: addr("192.0.2.1")})
			if !errors.Is(err, roster.ErrBadCredentials) {
				t.Errorf("SignIn(alpha, gamma's password) = %v, want ErrBadCredentials", err)
			}
		})

		t.Run("different passwords pick the org", func(t *testing.T) {
			sess, err := e.signIn(t, "sam@multi.example", otherPassword)
			if err != nil {
				t.Fatalf("SignIn(gamma's password) = %v, want nil", err)
			}
			if sess.Actor.User.ID != inGamma.ID || sess.Actor.Org.ID != gamma.ID {
				t.Errorf("SignIn(gamma's password) = user %d of %s, want user %d of gamma", sess.Actor.User.ID, sess.Actor.Org.Slug, inGamma.ID)
			}
		})
	})
}

func TestSignInThrottle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()

		t.Run("account", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.plainUser(t, o.ID, "victim@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			in := admin.SignInInput{Email: "victim@acme.example", Password: otherPassword, Client: addr("198.51.100.7")}
			for i := range 5 {
				if _, err := e.svc.SignIn(ctx, in); !errors.Is(err, roster.ErrBadCredentials) {
					t.Fatalf("wrong password #%d: SignIn = %v, want ErrBadCredentials", i+1, err)
				}
			}
			in.Password = goodPassword
			sess, err := e.svc.SignIn(ctx, in)
			var te *admin.ThrottledError
			if !errors.As(err, &te) || !errors.Is(err, roster.ErrThrottled) || sess != nil {
				t.Fatalf("SignIn after 5 failures (right password) = %v, %v; want a ThrottledError", sess, err)
			}
			if te.RetryAfter <= 0 || te.RetryAfter > 15*time.Minute {
				t.Errorf("RetryAfter = %v, want within (0, 15m]", te.RetryAfter)
			}
			if !strings.Contains(te.Error(), "try again in") {
				t.Errorf("ThrottledError.Error() = %q, want it to say when to try again", te.Error())
			}
			// The block is per account: the same address may still sign in as someone else.
			e.plainUser(t, o.ID, "other@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			if _, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "other@acme.example", Password: goodPassword, Client: addr("198.51.100.7")}); err != nil {
				t.Errorf("SignIn(other account, same address) = %v, want nil", err)
			}
			e.clock.Advance(te.RetryAfter - time.Millisecond)
			if _, err := e.svc.SignIn(ctx, in); !errors.Is(err, roster.ErrThrottled) {
				t.Errorf("SignIn just before RetryAfter = %v, want ErrThrottled", err)
			}
			e.clock.Advance(time.Millisecond)
			if _, err := e.svc.SignIn(ctx, in); err != nil {
				t.Errorf("SignIn after RetryAfter (right password) = %v, want nil", err)
			}
		})

		t.Run("success clears the account counter", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.plainUser(t, o.ID, "user@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			wrong := admin.SignInInput{Email: "user@acme.example", Password: otherPassword, Client: addr("198.51.100.8")}
			right := wrong
			right.Password = goodPassword
			for round := range 2 {
				for i := range 4 {
					if _, err := e.svc.SignIn(ctx, wrong); !errors.Is(err, roster.ErrBadCredentials) {
						t.Fatalf("round %d, wrong password #%d: SignIn = %v, want ErrBadCredentials", round, i+1, err)
					}
				}
				// 4 failures in this round; 8 in all would be over the limit
				// had the first success not cleared the counter.
				if _, err := e.svc.SignIn(ctx, right); err != nil {
					t.Fatalf("round %d: SignIn(right password) after 4 failures = %v, want nil", round, err)
				}
			}
		})

		t.Run("known device is not locked out", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.plainUser(t, o.ID, "owner@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			first, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "owner@acme.example", Password: goodPassword, Client: addr("203.0.113.5")})
			if err != nil {
				t.Fatalf("first SignIn = %v", err)
			}
			device := first.Device.Reveal()
			if device == "" {
				t.Fatal("first SignIn gave no device cookie")
			}
			throttled := 0
			for range 20 {
				_, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "owner@acme.example", Password: otherPassword, Client: addr("198.51.100.66")})
				switch {
				case errors.Is(err, roster.ErrThrottled):
					throttled++
				case !errors.Is(err, roster.ErrBadCredentials):
					t.Fatalf("attacker SignIn = %v, want ErrBadCredentials or ErrThrottled", err)
				}
			}
			if throttled < 10 {
				t.Errorf("attacker was throttled %d of 20 times, want at least 10", throttled)
			}
			// Without the device cookie the owner is blocked like the attacker ...
			if _, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "owner@acme.example", Password: goodPassword, Client: addr("203.0.113.5")}); !errors.Is(err, roster.ErrThrottled) {
				t.Errorf("owner SignIn without device = %v, want ErrThrottled", err)
			}
			// ... with it, they sign in, and are not handed a new device cookie.
			sess, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "owner@acme.example", Password: goodPassword, Client: addr("203.0.113.5"), Device: device})
			if err != nil {
				t.Fatalf("owner SignIn with known device = %v, want nil", err)
			}
			if sess.Device != "" {
				t.Errorf("SignIn with a known device set a new device cookie")
			}
			// A device cookie that was never issued counts for nothing.
			_, err = e.svc.SignIn(ctx, admin.SignInInput{Email: "owner@acme.example", Password: goodPassword, Client: addr("198.51.100.66"), Device: "forged-device-cookie"})
			if !errors.Is(err, roster.ErrThrottled) {
				t.Errorf("SignIn with a forged device cookie = %v, want ErrThrottled", err)
			}
		})

		t.Run("known device has its own limit", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.plainUser(t, o.ID, "owner@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			first, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "owner@acme.example", Password: goodPassword, Client: addr("203.0.113.5")})
			if err != nil {
				t.Fatalf("first SignIn = %v", err)
			}
			in := admin.SignInInput{Email: "owner@acme.example", Password: otherPassword, Client: addr("203.0.113.5"), Device: first.Device.Reveal()}
			for i := range 10 {
				if _, err := e.svc.SignIn(ctx, in); !errors.Is(err, roster.ErrBadCredentials) {
					t.Fatalf("wrong password #%d on a known device: SignIn = %v, want ErrBadCredentials", i+1, err)
				}
			}
			in.Password = goodPassword
			if _, err := e.svc.SignIn(ctx, in); !errors.Is(err, roster.ErrThrottled) {
				t.Errorf("SignIn after 10 failures on a known device = %v, want ErrThrottled", err)
			}
		})

		t.Run("address", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.plainUser(t, o.ID, "real@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			spray := addr("198.51.100.99")
			for i := range 30 {
				in := admin.SignInInput{Email: fmt.Sprintf("guess%d@acme.example", i), Password: otherPassword, Client: spray}
				if _, err := e.svc.SignIn(ctx, in); !errors.Is(err, roster.ErrBadCredentials) {
					t.Fatalf("guess #%d: SignIn = %v, want ErrBadCredentials", i+1, err)
				}
			}
			_, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "real@acme.example", Password: goodPassword, Client: spray})
			var te *admin.ThrottledError
			if !errors.As(err, &te) || te.RetryAfter <= 0 {
				t.Errorf("SignIn from the spraying address after 30 failures = %v, want a ThrottledError with RetryAfter > 0", err)
			}
			if _, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "real@acme.example", Password: goodPassword, Client: addr("192.0.2.200")}); err != nil {
				t.Errorf("SignIn from another address = %v, want nil", err)
			}
		})

		t.Run("IPv6 address is its /64", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.plainUser(t, o.ID, "real@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			// One IPv6 host usually owns a /64: every address in it is the same client.
			for i := range 30 {
				in := admin.SignInInput{Email: fmt.Sprintf("v6guess%d@acme.example", i), Password: otherPassword, Client: addr(fmt.Sprintf("2001:db8:1:2::%x", i+1))}
				if _, err := e.svc.SignIn(ctx, in); !errors.Is(err, roster.ErrBadCredentials) {
					t.Fatalf("IPv6 guess #%d: SignIn = %v, want ErrBadCredentials", i+1, err)
				}
			}
			if _, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "real@acme.example", Password: goodPassword, Client: addr("2001:db8:1:2::ffff")}); !errors.Is(err, roster.ErrThrottled) {
				t.Errorf("SignIn from the same IPv6 /64 = %v, want ErrThrottled", err)
			}
			if _, err := e.svc.SignIn(ctx, admin.SignInInput{Email: "real@acme.example", Password: goodPassword, Client: addr("2001:db8:1:3::1")}); err != nil {
				t.Errorf("SignIn from another IPv6 /64 = %v, want nil", err)
			}
		})
	})
}

func TestSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()

		t.Run("sign out", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			u := e.plainUser(t, o.ID, "a@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			s1, err := e.signIn(t, "a@acme.example", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := e.signIn(t, "a@acme.example", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			a, err := e.svc.ActorBySession(ctx, s1.Secret.Reveal())
			if err != nil || a.User.ID != u.ID || a.Org.ID != o.ID || a.Via != "session" {
				t.Fatalf("ActorBySession = %+v, %v; want user %d via session", a, err, u.ID)
			}
			if err := e.svc.SignOut(ctx, s1.Secret.Reveal()); err != nil {
				t.Fatalf("SignOut = %v", err)
			}
			if a, err := e.svc.ActorBySession(ctx, s1.Secret.Reveal()); !errors.Is(err, roster.ErrUnauthenticated) {
				t.Errorf("ActorBySession(signed out) = %v, %v; want ErrUnauthenticated", a, err)
			}
			if _, err := e.svc.ActorBySession(ctx, s2.Secret.Reveal()); err != nil {
				t.Errorf("ActorBySession(other session) = %v after signing out of one, want nil", err)
			}
			for name, secret := range map[string]string{"empty": "", "garbage": "not-a-session"} {
				if _, err := e.svc.ActorBySession(ctx, secret); !errors.Is(err, roster.ErrUnauthenticated) {
					t.Errorf("ActorBySession(%s) = %v, want ErrUnauthenticated", name, err)
				}
			}
			if err := e.svc.SignOut(ctx, ""); err != nil {
				t.Errorf("SignOut(\"\") = %v, want nil", err)
			}
		})

		t.Run("user expired by another admin", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.addAdminCLI(t, "acme", "boss@acme.example")
			u := e.plainUser(t, o.ID, "temp@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			sess, err := e.signIn(t, "temp@acme.example", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			boss := e.cliActor(t, "acme", "boss@acme.example")
			if _, err := e.svc.UpdateUser(ctx, boss, u.ID, admin.UserPatch{ExpirationDate: roster.Some(e.svc.Today(boss))}); err != nil {
				t.Fatalf("UpdateUser(expire today) = %v", err)
			}
			// Access ends at once: either the session is refused saying why,
			// or it is already gone.
			a, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal())
			if a != nil || !(isAccessError(err) || errors.Is(err, roster.ErrUnauthenticated)) {
				t.Errorf("ActorBySession(expired user) = %v, %v; want an AccessError or ErrUnauthenticated", a, err)
			}
			if _, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal()); !errors.Is(err, roster.ErrUnauthenticated) {
				t.Errorf("ActorBySession(expired user) again = %v, want ErrUnauthenticated (session gone)", err)
			}
		})

		t.Run("user whose expiry date arrives", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme", func(o *roster.Org) { o.TimeZone = "Europe/Berlin" })
			e.addAdminCLI(t, "acme", "boss@acme.example")
			// t0 is 13:00 on the 10th in Berlin; the access ends on the 11th.
			e.plainUser(t, o.ID, "temp@acme.example", roster.Permissions(roster.ViewAnalytics), date(t, "2026-03-11"), goodPassword)
			sess, err := e.signIn(t, "temp@acme.example", goodPassword)
			if err != nil {
				t.Fatalf("SignIn the day before expiry = %v", err)
			}
			e.clock.Set(time.Date(2026, 3, 10, 22, 59, 0, 0, time.UTC)) // 23:59 in Berlin
			if _, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal()); err != nil {
				t.Fatalf("ActorBySession at 23:59 the day before = %v, want nil", err)
			}
			e.clock.Set(time.Date(2026, 3, 10, 23, 1, 0, 0, time.UTC)) // 00:01 on the 11th in Berlin
			_, err = e.svc.ActorBySession(ctx, sess.Secret.Reveal())
			var ae *roster.AccessError
			if !errors.As(err, &ae) {
				t.Fatalf("ActorBySession on the expiry day = %v, want an AccessError", err)
			}
			if !strings.Contains(ae.Reason, "2026-03-11") || ae.Contact != o.SupportContact {
				t.Errorf("AccessError = %+v, want the date 2026-03-11 and contact %q", ae, o.SupportContact)
			}
			if _, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal()); !errors.Is(err, roster.ErrUnauthenticated) {
				t.Errorf("ActorBySession after the AccessError = %v, want ErrUnauthenticated (session ended)", err)
			}
		})

		t.Run("sliding expiry", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, func(o *admin.Options) { o.SessionTTL = time.Hour })
			o := e.org(t, "acme")
			e.plainUser(t, o.ID, "a@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			sess, err := e.signIn(t, "a@acme.example", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(time.Hour); !sess.Expires.Equal(want) {
				t.Errorf("session Expires = %v, want %v", sess.Expires, want)
			}
			for _, at := range []time.Duration{50 * time.Minute, 100 * time.Minute, 150 * time.Minute} {
				e.clock.Set(t0.Add(at))
				if _, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal()); err != nil {
					t.Fatalf("ActorBySession at +%v (used every 50 minutes) = %v, want nil", at, err)
				}
			}
			e.clock.Set(t0.Add(150*time.Minute + time.Hour + time.Second))
			if _, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal()); !errors.Is(err, roster.ErrUnauthenticated) {
				t.Errorf("ActorBySession after more than an hour unused = %v, want ErrUnauthenticated", err)
			}

			other, err := e.signIn(t, "a@acme.example", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Hour)
			if _, err := e.svc.ActorBySession(ctx, other.Secret.Reveal()); !errors.Is(err, roster.ErrUnauthenticated) {
				t.Errorf("ActorBySession exactly SessionTTL after sign-in = %v, want ErrUnauthenticated", err)
			}
		})

		t.Run("removed user's session ends", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.addAdminCLI(t, "acme", "boss@acme.example")
			u := e.plainUser(t, o.ID, "bye@acme.example", roster.Permissions(roster.ViewAnalytics), roster.Date{}, goodPassword)
			sess, err := e.signIn(t, "bye@acme.example", goodPassword)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.svc.RemoveUser(ctx, e.cliActor(t, "acme", "boss@acme.example"), u.ID); err != nil {
				t.Fatalf("RemoveUser = %v", err)
			}
			if _, err := e.svc.ActorBySession(ctx, sess.Secret.Reveal()); !errors.Is(err, roster.ErrUnauthenticated) {
				t.Errorf("ActorBySession(removed user) = %v, want ErrUnauthenticated", err)
			}
			if _, err := e.signIn(t, "bye@acme.example", goodPassword); !errors.Is(err, roster.ErrBadCredentials) {
				t.Errorf("SignIn(removed user) = %v, want ErrBadCredentials", err)
			}
		})
	})
}
