package admin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// Throttling of failed sign-ins (SPEC "Signing in"). Counters live in the
// database so every instance shares them. Failures per email slow down
// guesses against one account; per client address, guesses across many.
// A browser that has signed in to the account before (a known device) is
// counted on its own key instead of the account's, so an attacker cannot
// lock the real owner out by failing on purpose.
const (
	throttleWindow       = 15 * time.Minute
	throttleMaxBlock     = 15 * time.Minute
	accountFreeFailures  = 5
	deviceFreeFailures   = 10
	addressFreeFailures  = 30
	maxAccountsPerSignIn = 10
	resetFreeRequests    = 3 // password-reset emails per address before slowing down
)

// ThrottledError says how long to wait before trying again.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-in attempts; try again in %s", roundUp(e.RetryAfter))
}

// Unwrap makes errors.Is(err, roster.ErrThrottled) hold.
func (e *ThrottledError) Unwrap() error { return roster.ErrThrottled }

func roundUp(d time.Duration) string {
	n, unit := int(d.Seconds())+1, "second"
	if d >= time.Minute {
		n, unit = int(d.Minutes())+1, "minute"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// ChooseOrgError asks which organization to sign in to when the email and
// password match accounts in several. It is returned only after the
// password was verified, so it reveals nothing to a stranger.
type ChooseOrgError struct{ Orgs []*roster.Org }

func (e *ChooseOrgError) Error() string { return "choose the organization to sign in to" }

// SignInInput is what the sign-in form sends.
type SignInInput struct {
	Email    string
	Password string
	OrgSlug  string // optional: which organization, when the email has several
	Client   netip.Addr
	Device   string // the known-device cookie, if any
}

// Session is a signed-in browser: the secret goes in a cookie.
type Session struct {
	Secret  auth.Secret
	Device  auth.Secret // set when a new known-device cookie should be stored
	Actor   *roster.Actor
	Expires time.Time
}

// SignIn checks an email and password and opens a session.
func (s *Service) SignIn(ctx context.Context, in SignInInput) (*Session, error) {
	addr, err := roster.NormalizeEmail(in.Email)
	if err != nil || in.Password == "" {
		auth.DummyVerify(in.Password)
		return nil, roster.ErrBadCredentials
	}
	creds, err := s.db.CredentialsByEmail(ctx, addr, maxAccountsPerSignIn)
	if err != nil {
		return nil, wrap("sign in", err)
	}
	deviceHash := []byte(nil)
	if in.Device != "" {
		deviceHash = auth.HashToken(in.Device)
	}
	known := false
	for _, c := range creds {
		if deviceHash != nil {
			if ok, _ := s.db.IsKnownDevice(ctx, c.User.ID, deviceHash); ok {
				known = true
			}
		}
	}
	keys := []string{"ip:" + clientKey(in.Client)}
	if known {
		keys = append(keys, fmt.Sprintf("dev:%x:%s", deviceHash[:8], addr))
	} else {
		keys = append(keys, "acct:"+addr)
	}
	// Count the attempt before checking the password, in one transaction
	// per attempt: a burst of parallel guesses is counted one by one, and
	// those past the limit are refused without a check.
	if wait, err := s.countAttempt(ctx, keys); err != nil {
		return nil, err
	} else if wait > 0 {
		auth.DummyVerify(in.Password)
		return nil, &ThrottledError{RetryAfter: wait}
	}

	var matched []store.Credential
	for _, c := range creds {
		if in.OrgSlug != "" && c.Org.Slug != in.OrgSlug {
			continue
		}
		ok, err := auth.VerifyPassword(c.PasswordHash, in.Password)
		if err != nil {
			s.log.Error("Verify stored password hash", "org_id", c.Org.ID, "user_id", c.User.ID, "err", err)
		}
		if ok {
			matched = append(matched, c)
		}
	}
	if len(creds) == 0 {
		auth.DummyVerify(in.Password) // the same time as a wrong password
	}
	if len(matched) == 0 {
		return nil, roster.ErrBadCredentials // already counted
	}
	if len(matched) > 1 {
		// Offer only the organizations the person can still sign in to.
		var live []store.Credential
		for _, c := range matched {
			if !roster.IsExpired(c.User.ExpirationDate, c.Org.Today(s.now())) {
				live = append(live, c)
			}
		}
		if len(live) > 0 {
			matched = live
		}
	}
	if len(matched) > 1 {
		orgs := make([]*roster.Org, len(matched))
		for i, c := range matched {
			orgs[i] = c.Org
		}
		return nil, &ChooseOrgError{Orgs: orgs}
	}
	c := matched[0]
	if roster.IsExpired(c.User.ExpirationDate, c.Org.Today(s.now())) {
		return nil, &roster.AccessError{
			Reason:  fmt.Sprintf("Your access to %s expired on %s.", c.Org.Name, c.User.ExpirationDate),
			Contact: c.Org.SupportContact,
		}
	}
	sess, err := s.openSession(ctx, c.Org, c.User, deviceHash, func(tx *store.Tx) error {
		// A success forgets the account's failures and gives the address
		// back the attempt counted in advance.
		for _, k := range keys[1:] {
			if err := tx.ClearThrottle(ctx, k); err != nil {
				return err
			}
		}
		return tx.UncountThrottle(ctx, keys[0])
	})
	return sess, err
}

func clientKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() && !a.Is4In6() {
		// One IPv6 host usually owns a whole /64.
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.Unmap().String()
}

// countAttempt counts one sign-in attempt on every key and returns how
// long to wait when any key is blocked. A key's first free attempts pass;
// past them each attempt blocks the key for twice as long as the last
// (1 s, 2 s, 4 s … up to 15 minutes), so guessing slows to a crawl while
// the owner, after a typo or two, waits seconds at most.
func (s *Service) countAttempt(ctx context.Context, keys []string) (time.Duration, error) {
	now := s.now()
	var wait time.Duration
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		wait = 0
		states := make([]store.ThrottleState, len(keys))
		for i, k := range keys {
			st, err := tx.LockThrottle(ctx, k, now)
			if err != nil {
				return err
			}
			if d := st.BlockedUntil.Sub(now); d > wait {
				wait = d
			}
			states[i] = st
		}
		if wait > 0 {
			return nil // refused attempts are not counted: waiting must end the block
		}
		for i, k := range keys {
			st := states[i]
			if now.Sub(st.WindowStart) > throttleWindow {
				st = store.ThrottleState{WindowStart: now}
			}
			st.Failures++
			free := accountFreeFailures
			switch {
			case strings.HasPrefix(k, "ip:"):
				free = addressFreeFailures
			case strings.HasPrefix(k, "dev:"):
				free = deviceFreeFailures
			case strings.HasPrefix(k, "reset:"):
				free = resetFreeRequests
			}
			if over := st.Failures - free; over >= 0 {
				st.BlockedUntil = now.Add(min(time.Second<<min(over, 10), throttleMaxBlock))
			}
			if err := tx.SetThrottle(ctx, k, st); err != nil {
				return err
			}
		}
		return nil
	})
	return wait, wrap("count sign-in attempt", err)
}

// openSession records the login and creates a session (and remembers the
// browser as a known device) in one transaction, plus whatever extra does.
func (s *Service) openSession(ctx context.Context, org *roster.Org, u *roster.User, deviceHash []byte, extra func(tx *store.Tx) error) (*Session, error) {
	secret, err := auth.NewToken("")
	if err != nil {
		return nil, err
	}
	sess := &Session{Secret: secret, Expires: s.now().Add(s.sessionTTL)}
	if deviceHash == nil {
		if sess.Device, err = auth.NewToken(""); err != nil {
			return nil, err
		}
		deviceHash = auth.HashToken(sess.Device.Reveal())
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		if err := tx.RecordLogin(ctx, org.ID, u.ID, now); err != nil {
			return err
		}
		if err := tx.AddKnownDevice(ctx, org.ID, u.ID, deviceHash, now); err != nil {
			return err
		}
		return tx.CreateSession(ctx, org.ID, u.ID, auth.HashToken(secret.Reveal()), now, sess.Expires)
	})
	if err != nil {
		return nil, wrap("open session", err)
	}
	u.LastLoginAt = now
	sess.Actor = &roster.Actor{Org: org, User: u, Via: "session"}
	return sess, nil
}

// SignOut ends the session whose secret is given.
func (s *Service) SignOut(ctx context.Context, secret string) error {
	if secret == "" {
		return nil
	}
	return wrap("sign out", s.db.InTx(ctx, func(tx *store.Tx) error {
		return tx.DeleteSession(ctx, auth.HashToken(secret))
	}))
}

// ActorBySession resolves a session cookie. An expired user's session ends
// on their next request (SPEC "Status").
func (s *Service) ActorBySession(ctx context.Context, secret string) (*roster.Actor, error) {
	if secret == "" {
		return nil, roster.ErrUnauthenticated
	}
	now := s.now()
	p, lastSeen, err := s.db.SessionByHash(ctx, auth.HashToken(secret), now)
	if errors.Is(err, roster.ErrNotFound) {
		return nil, roster.ErrUnauthenticated
	} else if err != nil {
		return nil, wrap("resolve session", err)
	}
	if roster.IsExpired(p.User.ExpirationDate, p.Org.Today(now)) {
		_ = s.SignOut(ctx, secret)
		return nil, &roster.AccessError{Reason: fmt.Sprintf("Your access to %s expired on %s.", p.Org.Name, p.User.ExpirationDate), Contact: p.Org.SupportContact}
	}
	if now.Sub(lastSeen) > time.Minute {
		// Sliding expiry, written at most once a minute per session.
		if err := s.db.TouchSession(ctx, p.SessionID, now, now.Add(s.sessionTTL)); err != nil {
			s.log.Warn("Extend session", "org_id", p.Org.ID, "err", err)
		}
	}
	return &roster.Actor{Org: p.Org, User: p.User, Via: "session"}, nil
}

// ActorByToken resolves an API token. A token acting as an expired user
// stops working on its next request.
func (s *Service) ActorByToken(ctx context.Context, secret string) (*roster.Actor, error) {
	if !strings.HasPrefix(secret, "rst_") {
		return nil, roster.ErrUnauthenticated
	}
	now := s.now()
	p, lastUsed, err := s.db.APITokenByHash(ctx, auth.HashToken(secret))
	if errors.Is(err, roster.ErrNotFound) {
		return nil, roster.ErrUnauthenticated
	} else if err != nil {
		return nil, wrap("resolve API token", err)
	}
	if roster.IsExpired(p.User.ExpirationDate, p.Org.Today(now)) {
		return nil, &roster.AccessError{Reason: fmt.Sprintf("The user this token acts as (%s) has expired access since %s.", p.User.Email, p.User.ExpirationDate), Contact: p.Org.SupportContact}
	}
	if now.Sub(lastUsed) > time.Minute {
		if err := s.db.TouchAPIToken(ctx, p.TokenID, now); err != nil {
			s.log.Warn("Record API token use", "org_id", p.Org.ID, "err", err)
		}
	}
	return &roster.Actor{Org: p.Org, User: p.User, Via: "token"}, nil
}
