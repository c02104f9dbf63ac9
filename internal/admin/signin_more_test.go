package admin_test

import (
	"testing"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestSignInSkipsExpiredOrgs: with the same password in two organizations,
// one of which has ended the person's access, sign-in goes straight to the
// other instead of offering a choice that cannot work.
func TestSignInSkipsExpiredOrgs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		live, dead := e.org(t, "live"), e.org(t, "dead")
		today := dead.Today(e.clock.Now())
		e.plainUser(t, live.ID, "kim@multi.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
		e.plainUser(t, dead.ID, "kim@multi.example", roster.AllPermissionsSet, today, goodPassword)
		sess, err := e.signIn(t, "kim@multi.example", goodPassword)
		if err != nil || sess.Actor.Org.Slug != "live" {
			t.Fatalf("SignIn = %v, %v; want a session in live", sess, err)
		}
	})
}

// TestPasswordResetIsRateLimited: a few reset emails per address, then
// requests are dropped with the same (nil) answer.
func TestPasswordResetIsRateLimited(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		e := newEnv(t, b)
		o := e.org(t, "acme")
		e.plainUser(t, o.ID, "flood@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
		for i := range 6 {
			if err := e.svc.RequestPasswordReset(t.Context(), "flood@acme.example"); err != nil {
				t.Fatalf("RequestPasswordReset #%d = %v, want nil", i+1, err)
			}
		}
		if n := len(e.mails(t)); n != 3 {
			t.Errorf("6 reset requests in a row sent %d emails, want 3", n)
		}
	})
}
