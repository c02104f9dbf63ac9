package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// The operator's use cases (SPEC "operator CLI"): whoever runs the
// deployment is trusted, so these take no actor. They are audited as the
// operator.

// CreateOrg validates and creates an organization.
func (s *Service) CreateOrg(ctx context.Context, o *roster.Org) error {
	if err := o.Validate(); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOrg(ctx, o, s.now()); err != nil {
			return err
		}
		after := fmt.Sprintf(`{"name":%q,"slug":%q,"user_management":%t,"locale":%q,"time_zone":%q}`, o.Name, o.Slug, o.UserManagement, o.Locale, o.TimeZone)
		return tx.Audit(ctx, &store.AuditEvent{OrgID: o.ID, Actor: "operator (CLI)", Action: "org.create", Target: o.Slug, After: after, CreatedAt: s.now()})
	})
	if errors.Is(err, roster.ErrConflict) {
		return roster.FieldError("slug", fmt.Sprintf("an organization with the slug %q already exists", o.Slug))
	}
	return wrap("create org", err)
}

// Org returns an organization by slug.
func (s *Service) Org(ctx context.Context, slug string) (*roster.Org, error) {
	o, err := s.db.OrgBySlug(ctx, slug)
	if errors.Is(err, roster.ErrNotFound) {
		return nil, fmt.Errorf("no organization with the slug %q: %w", slug, roster.ErrNotFound)
	}
	return o, err
}

// Orgs lists every organization.
func (s *Service) Orgs(ctx context.Context) ([]*roster.Org, error) { return s.db.Orgs(ctx) }

// AddAdmin makes email an admin of the organization with all four
// permissions (creating the user if needed, clearing an expiration date) and
// returns a one-time link: set a password, or sign in when one is set.
func (s *Service) AddAdmin(ctx context.Context, slug, email string) (*roster.User, string, error) {
	org, err := s.Org(ctx, slug)
	if err != nil {
		return nil, "", err
	}
	addr, err := roster.NormalizeEmail(email)
	if err != nil {
		return nil, "", roster.FieldError("email", err.Error())
	}
	var u *roster.User
	var link string
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		existing, err := tx.UserByEmail(ctx, org.ID, addr)
		switch {
		case errors.Is(err, roster.ErrNotFound):
			u = &roster.User{OrgID: org.ID, Email: addr, Permissions: roster.AllPermissionsSet}
			if err := tx.CreateUser(ctx, u, s.now()); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, org.ID, nil, "user.create_admin", u, "", snap(u)); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			u = existing
			before := snap(u)
			u.Permissions = roster.AllPermissionsSet
			u.ExpirationDate = roster.Date{}
			if err := tx.UpdateUser(ctx, u, s.now()); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, org.ID, nil, "user.make_admin", u, before, snap(u)); err != nil {
				return err
			}
		}
		link, _, err = s.mintLink(ctx, tx, u, store.LinkSetPassword, s.linkTTL)
		return err
	})
	if err != nil {
		return nil, "", wrap("add admin", err)
	}
	return u, link, nil
}

// CreateAPIToken mints an API token acting as the user with email, or as
// the organization's first admin when email is empty. The token is shown
// once; only its hash is stored.
func (s *Service) CreateAPIToken(ctx context.Context, slug, name, email string) (auth.Secret, *roster.User, error) {
	org, err := s.Org(ctx, slug)
	if err != nil {
		return "", nil, err
	}
	name = trimmed(name)
	if name == "" || len(name) > 100 {
		return "", nil, roster.FieldError("name", "give the token a name of 1 to 100 characters, saying what uses it")
	}
	var u *roster.User
	if email == "" {
		if u, err = s.db.FirstAdmin(ctx, org.ID, org.Today(s.now())); errors.Is(err, roster.ErrNotFound) {
			return "", nil, roster.FieldError("user", fmt.Sprintf("%s has no admin whose access is current; run roster admin add first, or name a user with --user", org.Slug))
		}
	} else {
		addr, nerr := roster.NormalizeEmail(email)
		if nerr != nil {
			return "", nil, roster.FieldError("user", nerr.Error())
		}
		if u, err = s.db.UserByEmail(ctx, org.ID, addr); errors.Is(err, roster.ErrNotFound) {
			return "", nil, roster.FieldError("user", fmt.Sprintf("%s has no user %s", org.Slug, addr))
		}
	}
	if err != nil {
		return "", nil, wrap("create API token", err)
	}
	tok, err := auth.NewToken("rst_")
	if err != nil {
		return "", nil, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.CreateAPIToken(ctx, org.ID, u.ID, name, auth.HashToken(tok.Reveal()), s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, org.ID, nil, "api_token.create", u, "", fmt.Sprintf(`{"name":%q}`, name))
	})
	if err != nil {
		return "", nil, wrap("create API token", err)
	}
	return tok, u, nil
}

// ActorFor builds the actor for a CLI action done on behalf of a user
// (the organization's first admin when email is empty), and checks the
// access gate as a dashboard request would.
func (s *Service) ActorFor(ctx context.Context, slug, email string) (*roster.Actor, error) {
	org, err := s.Org(ctx, slug)
	if err != nil {
		return nil, err
	}
	var u *roster.User
	if email == "" {
		u, err = s.db.FirstAdmin(ctx, org.ID, org.Today(s.now()))
	} else if addr, nerr := roster.NormalizeEmail(email); nerr != nil {
		return nil, roster.FieldError("as", nerr.Error())
	} else {
		u, err = s.db.UserByEmail(ctx, org.ID, addr)
	}
	if err != nil {
		return nil, wrap("find acting user", err)
	}
	a := &roster.Actor{Org: org, User: u, Via: "cli"}
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	return a, nil
}
