package admin_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestSignInThrottleBurst: parallel guesses are counted one by one, so a
// burst gets no more password checks than the limit allows.
func TestSignInThrottleBurst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {

		e := newEnv(t, b)
		o := e.org(t, "acme")
		e.plainUser(t, o.ID, "victim@acme.example", roster.AllPermissionsSet, roster.Date{}, goodPassword)
		in := admin.SignInInput{Email: "victim@acme.example", Password: otherPassword, Client: addr("198.51.100.9")}
		var wg sync.WaitGroup
		var mu sync.Mutex
		checked, throttled := 0, 0
		for range 20 {
			wg.Go(func() {
				_, err := e.svc.SignIn(t.Context(), in)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, roster.ErrBadCredentials):
					checked++
				case errors.Is(err, roster.ErrThrottled):
					throttled++
				default:
					t.Errorf("SignIn = %v, want bad credentials or throttled", err)
				}
			})
		}
		wg.Wait()
		if checked > 5 || checked+throttled != 20 {
			t.Errorf("20 parallel wrong passwords: %d checked, %d throttled; want at most 5 checked", checked, throttled)
		}
	})
}
