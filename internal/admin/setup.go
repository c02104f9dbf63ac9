package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// setupTTL is how long a first-run link stays valid.
const setupTTL = 24 * time.Hour

// FirstRunLink returns a new one-time setup link when the database holds no
// organization yet (voiding any earlier link), and "" otherwise.
func (s *Service) FirstRunLink(ctx context.Context) (string, error) {
	n, err := s.db.CountOrgs(ctx)
	if err != nil || n > 0 {
		return "", wrap("first-run link", err)
	}
	tok, err := auth.NewToken("")
	if err != nil {
		return "", err
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		return tx.CreateSetupLink(ctx, auth.HashToken(tok.Reveal()), now, now.Add(setupTTL))
	})
	if err != nil {
		return "", wrap("first-run link", err)
	}
	return s.link("/setup/" + tok.Reveal()), nil
}

// SetupLinkValid reports whether a first-run link can still be used: it is
// unused and unexpired, and no organization exists yet.
func (s *Service) SetupLinkValid(ctx context.Context, token string) (bool, error) {
	if n, err := s.db.CountOrgs(ctx); err != nil || n > 0 {
		return false, err
	}
	return s.db.SetupLinkValid(ctx, auth.HashToken(token), s.now())
}

// SetupInput is the first-run form.
type SetupInput struct {
	OrgName   string
	OrgSlug   string
	TimeZone  string
	FirstName string
	LastName  string
	Email     string
	Password  string
}

// CompleteSetup uses the first-run link: it creates the first organization
// (User Management on) and its admin with all four permissions, and signs
// the admin in.
func (s *Service) CompleteSetup(ctx context.Context, token string, in SetupInput) (*Session, error) {
	org := &roster.Org{Name: in.OrgName, Slug: in.OrgSlug, UserManagement: true, Locale: "en-US", TimeZone: in.TimeZone}
	var v roster.ValidationError
	if err := org.Validate(); err != nil {
		var ve *roster.ValidationError
		errors.As(err, &ve)
		for k, msg := range ve.Fields {
			v.Add("org_"+k, msg)
		}
	}
	u := &roster.User{Permissions: roster.AllPermissionsSet}
	var err error
	if u.Email, err = roster.NormalizeEmail(in.Email); err != nil {
		v.Add("email", err.Error())
	}
	if u.FirstName, err = roster.CleanName(in.FirstName); err != nil {
		v.Add("first_name", err.Error())
	}
	if u.LastName, err = roster.CleanName(in.LastName); err != nil {
		v.Add("last_name", err.Error())
	}
	if err := s.checkPassword(in.Password, u.Email, u.FirstName, u.LastName, org.Name); err != nil {
		v.Add("password", err.Error())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sess, err := s.openSession(ctx, org, u, nil, func(tx *store.Tx) error {
		ok, err := tx.ConsumeSetupLink(ctx, auth.HashToken(token), now)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("setup link: %w", roster.ErrTokenInvalid)
		}
		// The link sets up the first organization only: once the operator
		// has created one (roster org create), an unused link is stale.
		if n, err := tx.CountOrgs(ctx); err != nil {
			return err
		} else if n > 0 {
			return fmt.Errorf("setup link: an organization already exists: %w", roster.ErrTokenInvalid)
		}
		if err := tx.CreateOrg(ctx, org, now); err != nil {
			if errors.Is(err, roster.ErrConflict) {
				return roster.FieldError("org_slug", "this slug is taken")
			}
			return err
		}
		u.OrgID = org.ID
		if err := tx.CreateUser(ctx, u, now); err != nil {
			return err
		}
		if err := tx.SetPassword(ctx, org.ID, u.ID, hash, now); err != nil {
			return err
		}
		u.HasPassword = true
		return s.audit(ctx, tx, org.ID, nil, "org.setup", u, "", snap(u))
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// checkPassword applies the password policy, returning the reason alone.
func (s *Service) checkPassword(pw string, context ...string) error {
	if err := s.policy.Check(pw, context...); err != nil {
		var pe *auth.PasswordError
		if errors.As(err, &pe) {
			return errors.New(pe.Reason)
		}
		return err
	}
	return nil
}
