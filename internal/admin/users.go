package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// MaxWelcomeMessage bounds the welcome message, in characters.
const MaxWelcomeMessage = 2000

// UserList is a page of users with the day their statuses were derived on.
type UserList struct {
	*store.UserPage
	Today roster.Date
}

// ListUsers lists the actor's organization's users matching f.
func (s *Service) ListUsers(ctx context.Context, a *roster.Actor, f roster.UserFilter) (*UserList, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	today := a.Org.Today(s.now())
	page, err := s.db.ListUsers(ctx, a.Org.ID, f, today)
	if err != nil {
		return nil, wrap("list users", err)
	}
	return &UserList{UserPage: page, Today: today}, nil
}

// User returns one user of the actor's organization.
func (s *Service) User(ctx context.Context, a *roster.Actor, id int64) (*roster.User, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	u, err := s.db.UserByID(ctx, a.Org.ID, id)
	return u, wrap("get user", err)
}

// Today is the actor's organization's current date.
func (s *Service) Today(a *roster.Actor) roster.Date { return a.Org.Today(s.now()) }

// UserPatch is a partial update of a user; unset fields keep their value.
type UserPatch struct {
	FirstName      roster.Optional[string]
	LastName       roster.Optional[string]
	Permissions    roster.Optional[roster.Permissions]
	ExpirationDate roster.Optional[roster.Date]
	WelcomeMessage roster.Optional[string]
}

// apply validates the patch against the actor's rights and writes it into u.
func (p UserPatch) apply(a *roster.Actor, u *roster.User) error {
	var v roster.ValidationError
	applyFields(&v, a, u, p.FirstName, p.LastName, p.WelcomeMessage, p.Permissions)
	if p.ExpirationDate.Set {
		u.ExpirationDate = p.ExpirationDate.Value
	}
	return v.Err()
}

// applyFields validates the fields an edit and an invitation share and
// writes the valid ones into u; problems go into v under the field's name.
func applyFields(v *roster.ValidationError, a *roster.Actor, u *roster.User,
	first, last, welcome roster.Optional[string], perms roster.Optional[roster.Permissions]) {
	setName := func(field string, o roster.Optional[string], dst *string) {
		if !o.Set {
			return
		}
		if n, err := roster.CleanName(o.Value); err != nil {
			v.Add(field, err.Error())
		} else {
			*dst = n
		}
	}
	setName("first_name", first, &u.FirstName)
	setName("last_name", last, &u.LastName)
	if welcome.Set {
		msg := strings.TrimSpace(welcome.Value)
		if n := utf8.RuneCountInString(msg); n > MaxWelcomeMessage {
			v.Add("welcome_message", fmt.Sprintf("use at most %d characters (this one has %d)", MaxWelcomeMessage, n))
		} else {
			u.WelcomeMessage = msg
		}
	}
	if perms.Set {
		// SPEC "Permissions": no one grants (or takes away) what they do not hold.
		changed := perms.Value ^ u.Permissions
		if lacking := changed &^ a.User.Permissions; lacking != 0 {
			v.Add("permissions", "you cannot grant or remove a permission you do not hold: "+strings.Join(lacking.Names(), ", "))
		} else {
			u.Permissions = perms.Value
		}
	}
}

// UpdateUser applies a patch to a user of the actor's organization.
func (s *Service) UpdateUser(ctx context.Context, a *roster.Actor, id int64, p UserPatch) (*roster.User, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	var u *roster.User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockOrg(ctx, a.Org.ID); err != nil {
			return err
		}
		var err error
		if u, err = tx.UserByID(ctx, a.Org.ID, id); err != nil {
			return err
		}
		before := snap(u)
		if err := p.apply(a, u); err != nil {
			return err
		}
		if err := s.guardLastAdmin(ctx, tx, a.Org, u); err != nil {
			return err
		}
		if err := tx.UpdateUser(ctx, u, s.now()); err != nil {
			return err
		}
		if roster.IsExpired(u.ExpirationDate, a.Org.Today(s.now())) {
			// Access ends at once, not when the session would time out.
			if err := tx.DeleteUserSessions(ctx, a.Org.ID, u.ID); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, a.Org.ID, a, "user.update", u, before, snap(u))
	})
	if err != nil {
		return nil, wrap("update user", err)
	}
	return u, nil
}

// guardLastAdmin refuses a change that leaves the organization with no
// unexpired holder of manage_users (SPEC "Permissions"). u is the user as it
// would be after the change; call it inside a transaction that locked the org.
func (s *Service) guardLastAdmin(ctx context.Context, tx *store.Tx, org *roster.Org, u *roster.User) error {
	today := org.Today(s.now())
	if u.Permissions.Has(roster.ManageUsers) && !roster.IsExpired(u.ExpirationDate, today) {
		return nil
	}
	others, err := tx.CountActiveAdmins(ctx, org.ID, today, u.ID)
	if err != nil {
		return err
	}
	if others == 0 {
		return roster.ErrLastAdmin
	}
	return nil
}

// RemoveUser deletes a user's account in the actor's organization, which
// ends their sessions and voids their API tokens and links.
func (s *Service) RemoveUser(ctx context.Context, a *roster.Actor, id int64) error {
	if err := s.authorize(a); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockOrg(ctx, a.Org.ID); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, a.Org.ID, id)
		if err != nil {
			return err
		}
		gone := *u
		gone.Permissions = 0
		if err := s.guardLastAdmin(ctx, tx, a.Org, &gone); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, a.Org.ID, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.Org.ID, a, "user.remove", u, snap(u), "")
	})
	return wrap("remove user", err)
}

func trimmed(s string) string { return strings.TrimSpace(s) }

// IsNotFound reports whether err means "no such thing here".
func IsNotFound(err error) bool { return errors.Is(err, roster.ErrNotFound) }

// CanManageUsers reports whether the actor passes the access gate now.
func (s *Service) CanManageUsers(a *roster.Actor) bool { return s.authorize(a) == nil }

// Authorize checks the access gate for the actor on the service's clock and
// says why not (an *roster.AccessError).
func (s *Service) Authorize(a *roster.Actor) error { return s.authorize(a) }
