package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// LinkState says whether a one-time link can be used, and if not, why.
type LinkState string

// The states a link page can show.
const (
	LinkValid       LinkState = "valid"
	LinkUnknown     LinkState = "unknown"      // mistyped, or the account was removed
	LinkUsed        LinkState = "used"         // already used
	LinkReplaced    LinkState = "replaced"     // a newer link was sent since
	LinkExpired     LinkState = "expired"      // past its lifetime
	LinkUserExpired LinkState = "user_expired" // the account's access has ended
)

// LinkInfo is what the page behind a one-time link shows. Reading it
// changes nothing (SPEC: opening the link is a GET).
type LinkInfo struct {
	State   LinkState
	Purpose string
	User    *roster.User
	Org     *roster.Org
}

// Link inspects a one-time link without using it.
func (s *Service) Link(ctx context.Context, token string) (*LinkInfo, error) {
	l, err := s.db.LinkByHash(ctx, auth.HashToken(token))
	if errors.Is(err, roster.ErrNotFound) {
		return &LinkInfo{State: LinkUnknown}, nil
	} else if err != nil {
		return nil, wrap("inspect link", err)
	}
	info := &LinkInfo{Purpose: l.Purpose}
	if info.User, err = s.db.UserByID(ctx, l.OrgID, l.UserID); err != nil {
		return nil, wrap("inspect link", err)
	}
	if info.Org, err = s.db.OrgByID(ctx, l.OrgID); err != nil {
		return nil, wrap("inspect link", err)
	}
	now := s.now()
	switch {
	case !l.UsedAt.IsZero():
		info.State = LinkUsed
		if l.Replaced {
			info.State = LinkReplaced
		}
	case !now.Before(l.ExpiresAt):
		info.State = LinkExpired
	case roster.IsExpired(info.User.ExpirationDate, info.Org.Today(now)):
		info.State = LinkUserExpired
	default:
		info.State = LinkValid
	}
	return info, nil
}

// LinkError is a link that cannot be used, with its state for the page.
type LinkError struct{ Info *LinkInfo }

func (e *LinkError) Error() string { return fmt.Sprintf("link %s", e.Info.State) }

// Unwrap makes errors.Is(err, roster.ErrTokenInvalid) hold.
func (e *LinkError) Unwrap() error { return roster.ErrTokenInvalid }

// UseLink sets the password through a set-password, reset or invitation
// link and signs the user in. Of concurrent submits of one link exactly one
// succeeds.
func (s *Service) UseLink(ctx context.Context, token, password string) (*Session, error) {
	info, err := s.Link(ctx, token)
	if err != nil {
		return nil, err
	}
	if info.State != LinkValid {
		return nil, &LinkError{Info: info}
	}
	u, org := info.User, info.Org
	if err := s.checkPassword(password, u.Email, u.FirstName, u.LastName, org.Name); err != nil {
		return nil, roster.FieldError("password", err.Error())
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.openSession(ctx, org, u, nil, func(tx *store.Tx) error {
		ok, err := tx.ConsumeLink(ctx, auth.HashToken(token), now)
		if err != nil {
			return err
		}
		if !ok {
			// Lost a race with another submit of the same link.
			return &LinkError{Info: &LinkInfo{State: LinkUsed, Purpose: info.Purpose, User: u, Org: org}}
		}
		if err := tx.SetPassword(ctx, org.ID, u.ID, hash, now); err != nil {
			return err
		}
		// A new password ends every other session of the account.
		if err := tx.DeleteUserSessions(ctx, org.ID, u.ID); err != nil {
			return err
		}
		u.HasPassword = true
		return s.audit(ctx, tx, org.ID, &roster.Actor{Org: org, User: u}, "user.set_password", u, "", "")
	})
}

// RequestPasswordReset emails a reset link to every unexpired account with
// the address. It answers the same whether or not any exists.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	addr, err := roster.NormalizeEmail(email)
	if err != nil {
		return nil // same answer as for an unknown address
	}
	// Nobody may flood an inbox with reset emails: past a few per address,
	// requests are dropped silently (the answer stays the same).
	if wait, err := s.countAttempt(ctx, []string{"reset:" + addr}); err != nil {
		return err
	} else if wait > 0 {
		s.log.Warn("Password reset requests throttled", "retry_after", wait.String())
		return nil
	}
	accounts, err := s.db.AccountsByEmail(ctx, addr, maxAccountsPerSignIn)
	if err != nil {
		return wrap("password reset", err)
	}
	now := s.now()
	for _, c := range accounts {
		if roster.IsExpired(c.User.ExpirationDate, c.Org.Today(now)) {
			continue
		}
		var link string
		err := s.db.InTx(ctx, func(tx *store.Tx) (err error) {
			link, _, err = s.mintLink(ctx, tx, c.User, store.LinkReset, s.resetTTL)
			return err
		})
		if err != nil {
			return wrap("password reset", err)
		}
		if err := s.sendReset(ctx, c.Org, c.User, link); err != nil {
			s.log.Error("Send password reset", "org_id", c.Org.ID, "user_id", c.User.ID, "err", err)
		}
	}
	return nil
}
