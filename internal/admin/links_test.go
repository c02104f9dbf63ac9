package admin_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// linkState inspects a link, failing on an error.
func (e *env) linkState(t *testing.T, token string) admin.LinkState {
	t.Helper()
	info, err := e.svc.Link(t.Context(), token)
	if err != nil {
		t.Fatalf("Link(%s…) = %v", token[:min(len(token), 6)], err)
	}
	return info.State
}

// useLinkFails checks that UseLink refuses the link with a *LinkError in state want.
func (e *env) useLinkFails(t *testing.T, token string, want admin.LinkState) {
	t.Helper()
	sess, err := e.svc.UseLink(t.Context(), token, otherPassword)
	var le *admin.LinkError
	if !errors.As(err, &le) || !errors.Is(err, roster.ErrTokenInvalid) || sess != nil {
		t.Errorf("UseLink(%s link) = %v, %v; want a LinkError", want, sess, err)
		return
	}
	if le.Info.State != want {
		t.Errorf("UseLink LinkError state = %s, want %s", le.Info.State, want)
	}
}

func TestLinkStates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b, func(o *admin.Options) { o.LinkTTL = 48 * time.Hour })
		o := e.org(t, "acme")
		e.addAdminCLI(t, "acme", "boss@acme.example")

		t.Run("valid, and looking changes nothing", func(t *testing.T) {
			u, link, err := e.svc.AddAdmin(ctx, "acme", "new@acme.example")
			if err != nil {
				t.Fatal(err)
			}
			tok := linkToken(t, link)
			for i := range 2 {
				info, err := e.svc.Link(ctx, tok)
				if err != nil {
					t.Fatalf("Link #%d = %v", i+1, err)
				}
				if info.State != admin.LinkValid || info.Purpose != store.LinkSetPassword || info.User.ID != u.ID || info.Org.ID != o.ID {
					t.Errorf("Link #%d = state %s purpose %s user %d org %d; want valid set_password %d %d", i+1, info.State, info.Purpose, info.User.ID, info.Org.ID, u.ID, o.ID)
				}
			}
			if stored := e.user(t, o.ID, "new@acme.example"); stored.HasPassword || !stored.LastLoginAt.IsZero() {
				t.Errorf("after Link: HasPassword %t, LastLoginAt %v; want false, zero", stored.HasPassword, stored.LastLoginAt)
			}
			if _, err := e.svc.UseLink(ctx, tok, goodPassword); err != nil {
				t.Fatalf("UseLink after two Link calls = %v, want nil", err)
			}
			if got := e.linkState(t, tok); got != admin.LinkUsed {
				t.Errorf("Link(used) state = %s, want used", got)
			}
			e.useLinkFails(t, tok, admin.LinkUsed)
			evs := e.audit(t, o.ID, "user.set_password")
			if len(evs) != 1 || evs[0].TargetUserID != u.ID || evs[0].ActorUserID != u.ID {
				t.Errorf("user.set_password events = %+v, want one by and on user %d", evs, u.ID)
			}
		})

		t.Run("replaced", func(t *testing.T) {
			_, old, err := e.svc.AddAdmin(ctx, "acme", "twice@acme.example")
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Second)
			_, newer, err := e.svc.AddAdmin(ctx, "acme", "twice@acme.example")
			if err != nil {
				t.Fatal(err)
			}
			if old == newer {
				t.Fatalf("AddAdmin returned the same link twice")
			}
			if got := e.linkState(t, linkToken(t, old)); got != admin.LinkReplaced {
				t.Errorf("Link(older link) state = %s, want replaced", got)
			}
			e.useLinkFails(t, linkToken(t, old), admin.LinkReplaced)
			if got := e.linkState(t, linkToken(t, newer)); got != admin.LinkValid {
				t.Errorf("Link(newer link) state = %s, want valid", got)
			}
			// A password reset is a newer link too.
			if err := e.svc.RequestPasswordReset(ctx, "twice@acme.example"); err != nil {
				t.Fatal(err)
			}
			if got := e.linkState(t, linkToken(t, newer)); got != admin.LinkReplaced {
				t.Errorf("Link(invitation after a reset was sent) state = %s, want replaced", got)
			}
		})

		t.Run("expired", func(t *testing.T) {
			_, link, err := e.svc.AddAdmin(ctx, "acme", "late@acme.example")
			if err != nil {
				t.Fatal(err)
			}
			tok := linkToken(t, link)
			start := e.clock.Now()
			e.clock.Set(start.Add(48*time.Hour - time.Second))
			if got := e.linkState(t, tok); got != admin.LinkValid {
				t.Errorf("Link one second before LinkTTL = %s, want valid", got)
			}
			e.clock.Set(start.Add(48 * time.Hour))
			if got := e.linkState(t, tok); got != admin.LinkExpired {
				t.Errorf("Link at LinkTTL = %s, want expired", got)
			}
			e.useLinkFails(t, tok, admin.LinkExpired)
			if e.user(t, o.ID, "late@acme.example").HasPassword {
				t.Errorf("an expired link set a password")
			}
			e.clock.Set(start)
		})

		t.Run("user expired", func(t *testing.T) {
			u, link, err := e.svc.AddAdmin(ctx, "acme", "temp@acme.example")
			if err != nil {
				t.Fatal(err)
			}
			boss := e.cliActor(t, "acme", "boss@acme.example")
			if _, err := e.svc.UpdateUser(ctx, boss, u.ID, admin.UserPatch{ExpirationDate: roster.Some(e.svc.Today(boss))}); err != nil {
				t.Fatalf("UpdateUser(expire today) = %v", err)
			}
			tok := linkToken(t, link)
			if got := e.linkState(t, tok); got != admin.LinkUserExpired {
				t.Errorf("Link(expired user) = %s, want user_expired", got)
			}
			e.useLinkFails(t, tok, admin.LinkUserExpired)
			if e.user(t, o.ID, "temp@acme.example").HasPassword {
				t.Errorf("an expired user's link set a password")
			}
		})

		t.Run("unknown", func(t *testing.T) {
			random, err := auth.NewToken("")
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{random.Reveal(), "", "short"} {
				info, err := e.svc.Link(ctx, tok)
				if err != nil || info.State != admin.LinkUnknown || info.User != nil {
					t.Errorf("Link(%q) = %+v, %v; want state unknown with no user", tok, info, err)
				}
				e.useLinkFails(t, tok, admin.LinkUnknown)
			}
		})

		t.Run("removed user", func(t *testing.T) {
			u, link, err := e.svc.AddAdmin(ctx, "acme", "removed@acme.example")
			if err != nil {
				t.Fatal(err)
			}
			if err := e.svc.RemoveUser(ctx, e.cliActor(t, "acme", "boss@acme.example"), u.ID); err != nil {
				t.Fatalf("RemoveUser = %v", err)
			}
			if got := e.linkState(t, linkToken(t, link)); got != admin.LinkUnknown {
				t.Errorf("Link(removed user) = %s, want unknown", got)
			}
			e.useLinkFails(t, linkToken(t, link), admin.LinkUnknown)
		})
	})
}

func TestUseLinkPassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		o := e.org(t, "acme")
		u, link, err := e.svc.AddAdmin(ctx, "acme", "jo.doe@acme.example")
		if err != nil {
			t.Fatal(err)
		}
		tok := linkToken(t, link)

		for name, pw := range map[string]string{
			"too short":     "short but ok",
			"14 characters": "fourteen chars",
			"common":        commonPassword,
			"common, upper": strings.ToUpper(commonPassword),
			"the email":     "jo.doe@acme.example",
			"empty":         "",
			"too long":      strings.Repeat("x", 257),
		} {
			t.Run(name, func(t *testing.T) {
				sess, err := e.svc.UseLink(ctx, tok, pw)
				if got := validationFields(err); !slices.Equal(got, []string{"password"}) || sess != nil {
					t.Errorf("UseLink(%q) = %v, %v; want a ValidationError on password", pw, sess, err)
				}
				if got := e.linkState(t, tok); got != admin.LinkValid {
					t.Errorf("Link after a refused password = %s, want valid", got)
				}
				if e.user(t, o.ID, u.Email).HasPassword {
					t.Errorf("a refused password was stored")
				}
			})
		}

		t.Run("15 characters is enough", func(t *testing.T) {
			const pw = "fifteen chars!!"
			if _, err := e.svc.UseLink(ctx, tok, pw); err != nil {
				t.Fatalf("UseLink(%q) = %v, want nil", pw, err)
			}
			if _, err := e.signIn(t, u.Email, pw); err != nil {
				t.Errorf("SignIn with the new password = %v, want nil", err)
			}
		})
	})
}

func TestUseLinkEndsOtherSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		o := e.org(t, "acme")
		e.plainUser(t, o.ID, "a@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
		// Someone else's session must survive.
		e.plainUser(t, o.ID, "b@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
		s1, err := e.signIn(t, "a@acme.example", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := e.signIn(t, "b@acme.example", goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		_, link, err := e.svc.AddAdmin(ctx, "acme", "a@acme.example")
		if err != nil {
			t.Fatal(err)
		}
		s2, err := e.svc.UseLink(ctx, linkToken(t, link), otherPassword)
		if err != nil {
			t.Fatalf("UseLink = %v", err)
		}
		if _, err := e.svc.ActorBySession(ctx, s1.Secret.Reveal()); !errors.Is(err, roster.ErrUnauthenticated) {
			t.Errorf("ActorBySession(older session) after UseLink = %v, want ErrUnauthenticated", err)
		}
		if a, err := e.svc.ActorBySession(ctx, s2.Secret.Reveal()); err != nil || a.User.Email != "a@acme.example" {
			t.Errorf("ActorBySession(UseLink's session) = %v, %v; want a@acme.example", a, err)
		}
		if _, err := e.svc.ActorBySession(ctx, sb.Secret.Reveal()); err != nil {
			t.Errorf("ActorBySession(another user's session) = %v, want nil", err)
		}
	})
}

func TestUseLinkConcurrent(t *testing.T) {
	const n = 50
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		o := e.org(t, "acme")
		u, link, err := e.svc.AddAdmin(ctx, "acme", "race@acme.example")
		if err != nil {
			t.Fatal(err)
		}
		tok := linkToken(t, link)

		var (
			wg       sync.WaitGroup
			start    = make(chan struct{})
			sessions = make([]*admin.Session, n)
			errs     = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				sessions[i], errs[i] = e.svc.UseLink(ctx, tok, goodPassword)
			})
		}
		close(start)
		wg.Wait()

		var won []*admin.Session
		for i, err := range errs {
			var le *admin.LinkError
			switch {
			case err == nil:
				won = append(won, sessions[i])
			case errors.As(err, &le) && errors.Is(err, roster.ErrTokenInvalid):
			default:
				t.Errorf("UseLink #%d = %v, want nil or a LinkError", i, err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("%d of %d concurrent UseLink calls succeeded, want exactly 1", len(won), n)
		}
		if a, err := e.svc.ActorBySession(ctx, won[0].Secret.Reveal()); err != nil || a.User.ID != u.ID {
			t.Errorf("ActorBySession(winner) = %v, %v; want user %d", a, err, u.ID)
		}
		if evs := e.audit(t, o.ID, "user.set_password"); len(evs) != 1 {
			t.Errorf("user.set_password events = %d, want 1", len(evs))
		}
		if got := e.linkState(t, tok); got != admin.LinkUsed {
			t.Errorf("Link after the race = %s, want used", got)
		}
	})
}

func TestRequestPasswordReset(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()

		t.Run("known email", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme", func(o *roster.Org) { o.Name = "Acme Learning" })
			e.plainUser(t, o.ID, "forgot@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			if err := e.svc.RequestPasswordReset(ctx, " Forgot@ACME.example "); err != nil {
				t.Fatalf("RequestPasswordReset = %v, want nil", err)
			}
			msgs := e.mails(t)
			if len(msgs) != 1 {
				t.Fatalf("mailbox holds %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.To != "forgot@acme.example" || !strings.Contains(m.Subject, "Acme Learning") {
				t.Errorf("reset mail To %q Subject %q, want forgot@acme.example and the org name", m.To, m.Subject)
			}
			links := mailLinkRE.FindAllString(m.Text, -1)
			if len(links) != 1 {
				t.Fatalf("reset mail text holds links %v, want one %s/link/… link:\n%s", links, baseURL, m.Text)
			}
			if !strings.Contains(m.Text, "1 hour") {
				t.Errorf("reset mail text does not say the link lasts 1 hour:\n%s", m.Text)
			}
			tok := linkToken(t, links[0])
			info, err := e.svc.Link(ctx, tok)
			if err != nil || info.State != admin.LinkValid || info.Purpose != store.LinkReset {
				t.Fatalf("Link(reset link) = %+v, %v; want a valid reset link", info, err)
			}
			if _, err := e.svc.UseLink(ctx, tok, otherPassword); err != nil {
				t.Fatalf("UseLink(reset link) = %v, want nil", err)
			}
			if _, err := e.signIn(t, "forgot@acme.example", goodPassword); !errors.Is(err, roster.ErrBadCredentials) {
				t.Errorf("SignIn(old password) after reset = %v, want ErrBadCredentials", err)
			}
			if _, err := e.signIn(t, "forgot@acme.example", otherPassword); err != nil {
				t.Errorf("SignIn(new password) after reset = %v, want nil", err)
			}
		})

		t.Run("reset link lasts ResetTTL", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.plainUser(t, o.ID, "forgot@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
			if err := e.svc.RequestPasswordReset(ctx, "forgot@acme.example"); err != nil {
				t.Fatal(err)
			}
			msgs := e.mails(t)
			if len(msgs) != 1 {
				t.Fatalf("mailbox holds %d messages, want 1", len(msgs))
			}
			tok := linkToken(t, mailLinkRE.FindString(msgs[0].Text))
			e.clock.Advance(time.Hour)
			if got := e.linkState(t, tok); got != admin.LinkExpired {
				t.Errorf("Link(reset link) an hour later = %s, want expired", got)
			}
		})

		t.Run("every account with the address", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			for _, slug := range []string{"alpha", "beta"} {
				o := e.org(t, slug)
				e.plainUser(t, o.ID, "sam@multi.example", roster.AllPermissionsSet, roster.Date{}, "")
			}
			if err := e.svc.RequestPasswordReset(ctx, "sam@multi.example"); err != nil {
				t.Fatal(err)
			}
			var orgs []string
			for _, m := range e.mails(t) {
				info, err := e.svc.Link(ctx, linkToken(t, mailLinkRE.FindString(m.Text)))
				if err != nil || info.State != admin.LinkValid {
					t.Fatalf("Link(mailed link) = %+v, %v; want valid", info, err)
				}
				orgs = append(orgs, info.Org.Slug)
			}
			slices.Sort(orgs)
			if !slices.Equal(orgs, []string{"alpha", "beta"}) {
				t.Errorf("reset links went to the accounts in %v, want [alpha beta]", orgs)
			}
		})

		t.Run("nothing sent", func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b)
			o := e.org(t, "acme")
			e.plainUser(t, o.ID, "gone@acme.example", roster.AllPermissionsSet, date(t, "2026-03-10"), goodPassword)
			for _, email := range []string{"nobody@acme.example", "not an email", "", "gone@acme.example"} {
				if err := e.svc.RequestPasswordReset(ctx, email); err != nil {
					t.Errorf("RequestPasswordReset(%q) = %v, want nil", email, err)
				}
			}
			if msgs := e.mails(t); len(msgs) != 0 {
				t.Errorf("mailbox holds %d messages (%+v), want none", len(msgs), msgs)
			}
		})
	})
}
