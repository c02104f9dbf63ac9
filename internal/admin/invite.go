package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// InviteInput is one invitation: the invite form, POST /api/v1/users and one
// row of a CSV upload all fill it, and all go through Invite's rules
// (SPEC "Invite one user": same rules as one row of a bulk upload).
// Unset fields keep an existing user's value; set-but-blank clears it.
type InviteInput struct {
	Email          string
	FirstName      roster.Optional[string]
	LastName       roster.Optional[string]
	Permissions    roster.Optional[roster.Permissions]
	ExpirationDate roster.Optional[roster.Date]
	WelcomeMessage roster.Optional[string]
	// DefaultExpiration applies when ExpirationDate is unset or blank (the
	// upload's default expiration date).
	DefaultExpiration roster.Date
}

// InviteResult says what an invitation did.
type InviteResult struct {
	User    *roster.User
	Before  *roster.User // nil when the user was created
	Created bool
}

// PlanInvite applies the rules of SPEC "Bulk Upload" to one invitation
// against the existing user (nil when new) without changing anything: it
// returns the user as it would be after, or a *roster.ValidationError whose
// fields name the input's fields.
func PlanInvite(a *roster.Actor, in InviteInput, existing *roster.User, today roster.Date) (*roster.User, error) {
	var v roster.ValidationError
	email, err := roster.NormalizeEmail(in.Email)
	if err != nil {
		v.Add("email", err.Error())
	}
	u := &roster.User{OrgID: a.Org.ID, Email: email}
	if existing != nil {
		cp := *existing
		u = &cp
	}
	applyFields(&v, a, u, in.FirstName, in.LastName, in.WelcomeMessage, in.Permissions)
	exp := u.ExpirationDate
	switch {
	case in.ExpirationDate.Set && !in.ExpirationDate.Value.IsZero():
		exp = in.ExpirationDate.Value
	case !in.DefaultExpiration.IsZero():
		exp = in.DefaultExpiration
	case in.ExpirationDate.Set:
		exp = roster.Date{} // a blank date clears it
	}
	switch {
	case exp != u.ExpirationDate && roster.IsExpired(exp, today):
		v.Add("expiration_date", fmt.Sprintf("%s is not in the future; an invitation needs an expiration date after today (%s), or none", exp, today))
	case existing != nil && roster.IsExpired(existing.ExpirationDate, today) && (exp.IsZero() || roster.IsExpired(exp, today)):
		// SPEC "Bulk Upload": an expired user is re-invited only with a future
		// date; a blank date (which would clear the expiry) is not one.
		v.Add("expiration_date", fmt.Sprintf("access expired on %s; give a future expiration_date", existing.ExpirationDate))
	default:
		u.ExpirationDate = exp
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return u, nil
}

// Invite creates the user or updates the existing one with the same email,
// and queues an invitation, with its audit event, in one transaction.
func (s *Service) Invite(ctx context.Context, a *roster.Actor, in InviteInput) (*InviteResult, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	var res []RowResult
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		res, err = s.inviteRows(ctx, tx, a, []InviteInput{in})
		if err == nil && res[0].Err != nil {
			err = res[0].Err
		}
		return err
	})
	if err != nil {
		return nil, wrap("invite", err)
	}
	return &res[0].InviteResult, nil
}

// RowResult is what inviteRows did with one row: Err is the row's own
// problem (a *roster.ValidationError, roster.ErrLastAdmin or
// ErrDuplicateRow), in which case the row changed nothing and sent nothing.
type RowResult struct {
	InviteResult
	Err error
}

// ErrDuplicateRow refuses a second row for the same email in one batch
// (SPEC "Bulk Upload": a duplicate of an earlier row's email is an error).
var ErrDuplicateRow = errors.New("duplicate of an earlier row's email")

// inviteRows is the one code path of an invitation, for the invite form,
// POST /api/v1/users (a batch of one) and every row of a CSV import (many
// rows per transaction): the rules (PlanInvite), create-or-update by email,
// the last-admin guard, the invitation job and the audit event, all in tx.
// A row that breaks a rule is reported in its RowResult and the others
// still apply; any other error aborts the batch.
func (s *Service) inviteRows(ctx context.Context, tx *store.Tx, a *roster.Actor, rows []InviteInput) ([]RowResult, error) {
	now := s.now()
	today := a.Org.Today(now)
	if err := tx.LockOrg(ctx, a.Org.ID); err != nil {
		return nil, err
	}
	emails := make([]string, 0, len(rows))
	for _, in := range rows {
		if email, err := roster.NormalizeEmail(in.Email); err == nil {
			emails = append(emails, email)
		}
	}
	existing, err := tx.UsersByEmails(ctx, a.Org.ID, emails)
	if err != nil {
		return nil, err
	}
	out := make([]RowResult, len(rows))
	seen := make(map[string]bool, len(rows))
	var created, updated []*roster.User
	var demoted []int // rows that take Manage Users from an active admin
	newAdmins := 0
	for i, in := range rows {
		var before *roster.User
		if email, err := roster.NormalizeEmail(in.Email); err == nil {
			if seen[email] {
				out[i].Err = ErrDuplicateRow
				continue
			}
			seen[email] = true
			before = existing[email]
		}
		u, err := PlanInvite(a, in, before, today)
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].InviteResult = InviteResult{User: u, Before: before, Created: before == nil}
		isAdmin := u.Permissions.Has(roster.ManageUsers) && !roster.IsExpired(u.ExpirationDate, today)
		switch {
		case before == nil:
			created = append(created, u)
			if isAdmin {
				newAdmins++
			}
		default:
			updated = append(updated, u)
			if !isAdmin && before.Permissions.Has(roster.ManageUsers) && !roster.IsExpired(before.ExpirationDate, today) {
				demoted = append(demoted, i)
			}
		}
	}
	if len(demoted) > 0 && newAdmins == 0 {
		// SPEC "Permissions": the organization keeps an active admin. The
		// org is locked, so the count holds until commit.
		ids := make([]int64, len(demoted))
		for k, i := range demoted {
			ids[k] = out[i].User.ID
		}
		others, err := tx.CountActiveAdmins(ctx, a.Org.ID, today, ids...)
		if err != nil {
			return nil, err
		}
		if others == 0 {
			drop := make(map[*roster.User]bool, len(demoted))
			for _, i := range demoted {
				drop[out[i].User] = true
				out[i] = RowResult{Err: roster.ErrLastAdmin}
			}
			updated = slices.DeleteFunc(updated, func(u *roster.User) bool { return drop[u] })
		}
	}
	if err := tx.CreateInvitedUsers(ctx, a.Org.ID, created, now); err != nil {
		return nil, err
	}
	if err := tx.UpdateInvitedUsers(ctx, a.Org.ID, updated, now); err != nil {
		return nil, err
	}
	jobs := make([]store.InvitationArgs, 0, len(created)+len(updated))
	events := make([]*store.AuditEvent, 0, cap(jobs))
	inviter := a.User.Name()
	for _, r := range out {
		if r.Err != nil {
			continue
		}
		u := r.User
		jobs = append(jobs, store.InvitationArgs{OrgID: u.OrgID, UserID: u.ID, Seq: u.InvitationCount, InviterName: inviter, Email: u.Email})
		action := "user.invite"
		if !r.Created {
			action = "user.reinvite"
		}
		events = append(events, s.auditEvent(a.Org.ID, a, action, u, snap(r.Before), snap(u)))
	}
	if err := tx.EnqueueInvitations(ctx, jobs); err != nil {
		return nil, err
	}
	return out, tx.AuditMany(ctx, events)
}

// queueInvitation counts the invitation on the user and queues its email.
func (s *Service) queueInvitation(ctx context.Context, tx *store.Tx, a *roster.Actor, u *roster.User, now time.Time) error {
	seq, err := tx.MarkInvited(ctx, u.OrgID, u.ID, now)
	if err != nil {
		return err
	}
	u.InvitationCount, u.LastInvitedAt = seq, now.UTC().Truncate(time.Microsecond)
	u.DeliveryStatus, u.DeliveryDetail = "queued", ""
	return tx.EnqueueInvitation(ctx, store.InvitationArgs{OrgID: u.OrgID, UserID: u.ID, Seq: seq, InviterName: a.User.Name()})
}

// ErrExpiredNoResend refuses to email an expired user (SPEC "Bulk actions":
// expired users are skipped; "update their expiration date first").
var ErrExpiredNoResend = errors.New("access has expired; update their expiration date first")

// ExpiredError names the expired user an invitation was refused for.
type ExpiredError struct {
	Email   string
	Expired roster.Date
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("%s: access expired on %s; update their expiration date first", e.Email, e.Expired)
}

// Unwrap makes errors.Is(err, ErrExpiredNoResend) hold.
func (e *ExpiredError) Unwrap() error { return ErrExpiredNoResend }

// Resend queues a new invitation to a user who has not expired.
func (s *Service) Resend(ctx context.Context, a *roster.Actor, id int64) (*roster.User, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	var u *roster.User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if u, err = tx.UserByID(ctx, a.Org.ID, id); err != nil {
			return err
		}
		now := s.now()
		if roster.IsExpired(u.ExpirationDate, a.Org.Today(now)) {
			return &ExpiredError{Email: u.Email, Expired: u.ExpirationDate}
		}
		if err := s.queueInvitation(ctx, tx, a, u, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.Org.ID, a, "user.resend_invitation", u, "", fmt.Sprintf(`{"invitation_count":%d}`, u.InvitationCount))
	})
	if err != nil {
		return nil, wrap("resend invitation", err)
	}
	return u, nil
}
