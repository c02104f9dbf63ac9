package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// Bulk actions (SPEC "Bulk actions on selected users"), as the API names them.
const (
	BulkResend           = "resend_invitations"
	BulkExpire           = "expire"
	BulkGrantPermission  = "grant_permission"
	BulkRevokePermission = "revoke_permission"
	BulkSetExpiration    = "set_expiration"
	BulkClearExpiration  = "clear_expiration"
	BulkRemove           = "remove"
)

// BulkActions lists the actions in menu order.
var BulkActions = []string{BulkResend, BulkExpire, BulkGrantPermission, BulkRevokePermission, BulkSetExpiration, BulkClearExpiration, BulkRemove}

// bulkChunk is how many users one transaction changes.
const bulkChunk = 1000

// BulkRequest is one bulk action on selected users: the ids ticked, or
// every user matching a filter ("select all N users that match").
type BulkRequest struct {
	Action     string
	IDs        []int64
	Filter     *roster.UserFilter
	Permission roster.Permission // grant_permission, revoke_permission
	Date       roster.Date       // set_expiration
	// Confirm is, for remove, the number of users the admin confirmed
	// removing; nothing is removed unless it equals the number selected.
	Confirm int
}

// BulkSkip is a selected user the action left alone, and why.
type BulkSkip struct {
	ID     int64
	Email  string
	Reason string
	// Kind is the reason without this user's particulars (a date), for
	// counting skips by reason.
	Kind string
}

// BulkResult says what a bulk action did: N done, the others skipped with
// reasons.
type BulkResult struct {
	Done    int
	Skipped []BulkSkip
}

// ErrConfirmCount refuses a remove whose confirmation does not state the
// number of users it removes.
type ErrConfirmCount struct{ Selected int }

func (e *ErrConfirmCount) Error() string {
	return fmt.Sprintf("confirm removing %d users: send confirm = %d", e.Selected, e.Selected)
}

// Bulk applies an action to the selected users of the actor's organization,
// a chunk of users per transaction, each user checked as a single change
// would be: expired users get no invitation, nobody is granted what the
// actor lacks, and the organization keeps an active admin.
func (s *Service) Bulk(ctx context.Context, a *roster.Actor, req BulkRequest) (*BulkResult, error) {
	if err := s.checkBulk(a, req); err != nil {
		return nil, err
	}
	ids, err := s.bulkSelection(ctx, a, req)
	if err != nil {
		return nil, wrap("bulk "+req.Action, err)
	}
	if req.Action == BulkRemove && req.Confirm != len(ids) {
		return nil, &ErrConfirmCount{Selected: len(ids)}
	}
	res := &BulkResult{}
	for lo := 0; lo < len(ids); lo += bulkChunk {
		chunk := ids[lo:min(lo+bulkChunk, len(ids))]
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			return s.bulkChunk(ctx, tx, a, req, chunk, res)
		})
		if err != nil {
			return res, wrap("bulk "+req.Action, err)
		}
	}
	return res, nil
}

// checkBulk refuses a request the actor may not make or that names no
// action, no users, or an action's missing argument.
func (s *Service) checkBulk(a *roster.Actor, req BulkRequest) error {
	if err := s.authorize(a); err != nil {
		return err
	}
	var v roster.ValidationError
	today := a.Org.Today(s.now())
	switch req.Action {
	case BulkResend, BulkExpire, BulkClearExpiration, BulkRemove:
	case BulkGrantPermission, BulkRevokePermission:
		switch {
		case req.Permission == 0:
			v.Add("permission", "choose a permission")
		case !a.User.Permissions.Has(req.Permission):
			v.Add("permission", fmt.Sprintf("you cannot grant or revoke %s: you do not hold it", req.Permission.Label()))
		}
	case BulkSetExpiration:
		if req.Date.IsZero() || !today.Before(req.Date) {
			v.Add("date", fmt.Sprintf("give a date after today (%s)", today))
		}
	default:
		v.Add("action", fmt.Sprintf("unknown action %q; use one of %v", req.Action, BulkActions))
	}
	if len(req.IDs) == 0 && req.Filter == nil {
		v.Add("ids", "select at least one user")
	}
	return v.Err()
}

// bulkSelection resolves the request to user ids, without duplicates.
func (s *Service) bulkSelection(ctx context.Context, a *roster.Actor, req BulkRequest) ([]int64, error) {
	if req.Filter == nil {
		ids := slices.Clone(req.IDs)
		slices.Sort(ids)
		return slices.Compact(ids), nil
	}
	today := a.Org.Today(s.now())
	var ids []int64
	var after int64
	for {
		page, err := s.db.UserIDs(ctx, a.Org.ID, *req.Filter, today, after, 10_000)
		if err != nil {
			return nil, err
		}
		ids = append(ids, page...)
		if len(page) < 10_000 {
			return ids, nil
		}
		after = page[len(page)-1]
	}
}

// bulkChunk applies the action to one chunk of ids in tx.
func (s *Service) bulkChunk(ctx context.Context, tx *store.Tx, a *roster.Actor, req BulkRequest, ids []int64, res *BulkResult) error {
	now := s.now()
	today := a.Org.Today(now)
	if err := tx.LockOrg(ctx, a.Org.ID); err != nil {
		return err
	}
	users, err := tx.UsersForBulk(ctx, a.Org.ID, ids)
	if err != nil {
		return err
	}
	skip := func(u *roster.User, id int64, kind, reason string) {
		if reason == "" {
			reason = kind
		}
		sk := BulkSkip{ID: id, Reason: reason, Kind: kind}
		if u != nil {
			sk.Email = u.Email
		}
		res.Skipped = append(res.Skipped, sk)
	}
	// What each user would become; those that would lose admin rights are
	// checked against the last-admin guard together.
	var todo []*roster.User
	after := map[int64]roster.User{}
	for _, id := range ids {
		u := users[id]
		if u == nil {
			skip(nil, id, "no such user", "") // another organization's id reads the same
			continue
		}
		n := *u
		switch req.Action {
		case BulkResend:
			if roster.IsExpired(u.ExpirationDate, today) {
				skip(u, id, "access expired; update their expiration date first",
					fmt.Sprintf("access expired on %s; update their expiration date first", u.ExpirationDate))
				continue
			}
		case BulkExpire:
			if roster.IsExpired(u.ExpirationDate, today) {
				skip(u, id, "already expired", fmt.Sprintf("already expired on %s", u.ExpirationDate))
				continue
			}
			n.ExpirationDate = today
		case BulkGrantPermission:
			if u.Permissions.Has(req.Permission) {
				skip(u, id, "already has "+req.Permission.Label(), "")
				continue
			}
			n.Permissions = u.Permissions.With(req.Permission)
		case BulkRevokePermission:
			if !u.Permissions.Has(req.Permission) {
				skip(u, id, "does not have "+req.Permission.Label(), "")
				continue
			}
			n.Permissions = u.Permissions.Without(req.Permission)
		case BulkSetExpiration:
			n.ExpirationDate = req.Date
		case BulkClearExpiration:
			if u.ExpirationDate.IsZero() {
				skip(u, id, "has no expiration date", "")
				continue
			}
			n.ExpirationDate = roster.Date{}
		}
		todo = append(todo, u)
		after[id] = n
	}
	todo, err = s.bulkGuardLastAdmin(ctx, tx, a, req, todo, after, today, skip)
	if err != nil {
		return err
	}
	if len(todo) == 0 {
		return nil
	}
	ids = make([]int64, len(todo))
	for i, u := range todo {
		ids[i] = u.ID
	}
	var seqs map[int64]int
	switch req.Action {
	case BulkResend:
		if seqs, err = tx.MarkInvitedMany(ctx, a.Org.ID, ids, now); err != nil {
			return err
		}
		jobs := make([]store.InvitationArgs, 0, len(todo))
		for _, u := range todo {
			jobs = append(jobs, store.InvitationArgs{OrgID: a.Org.ID, UserID: u.ID, Seq: seqs[u.ID], InviterName: a.User.Name(), Email: u.Email})
		}
		err = tx.EnqueueInvitations(ctx, jobs)
	case BulkExpire:
		err = tx.SetExpiration(ctx, a.Org.ID, ids, today, now)
	case BulkSetExpiration:
		err = tx.SetExpiration(ctx, a.Org.ID, ids, req.Date, now)
	case BulkClearExpiration:
		err = tx.SetExpiration(ctx, a.Org.ID, ids, roster.Date{}, now)
	case BulkGrantPermission, BulkRevokePermission:
		err = tx.ChangePermission(ctx, a.Org.ID, ids, req.Permission, req.Action == BulkGrantPermission, now)
	case BulkRemove:
		err = tx.DeleteUsers(ctx, a.Org.ID, ids)
	}
	if err != nil {
		return err
	}
	events := make([]*store.AuditEvent, len(todo))
	for i, u := range todo {
		n := after[u.ID]
		before, afterJSON, action := bulkSnap(req.Action, u), bulkSnap(req.Action, &n), "user.bulk_"+req.Action
		switch req.Action {
		case BulkResend:
			before, afterJSON, action = "", fmt.Sprintf(`{"invitation_count":%d}`, seqs[u.ID]), "user.resend_invitation"
		case BulkRemove:
			before, afterJSON, action = snap(u), "", "user.remove"
		}
		events[i] = s.auditEvent(a.Org.ID, a, action, u, before, afterJSON)
	}
	if err := tx.AuditMany(ctx, events); err != nil {
		return err
	}
	res.Done += len(todo)
	return nil
}

// bulkSnap is how a user appears in a bulk action's audit event: the field
// the action changes, by the name a full snapshot gives it (the email is the
// event's target). A bulk action writes an event per user, 100,000 at a
// time; the whole user, welcome message included, twice over, made the log
// several times larger and its writes the largest part of the action.
func bulkSnap(action string, u *roster.User) string {
	var b []byte
	switch action {
	case BulkGrantPermission, BulkRevokePermission:
		b, _ = json.Marshal(struct {
			Permissions []string `json:"permissions"`
		}{u.Permissions.Names()})
	case BulkExpire, BulkSetExpiration, BulkClearExpiration:
		b, _ = json.Marshal(struct {
			ExpirationDate *string `json:"expiration_date"`
		}{snapDate(u.ExpirationDate)})
	default:
		return snap(u)
	}
	return string(b)
}

// bulkGuardLastAdmin keeps the organization's last active admins: when the
// action would leave none, the admins among todo are skipped (SPEC
// "Permissions"). The organization is locked, so the count holds.
func (s *Service) bulkGuardLastAdmin(ctx context.Context, tx *store.Tx, a *roster.Actor, req BulkRequest, todo []*roster.User,
	after map[int64]roster.User, today roster.Date, skip func(*roster.User, int64, string, string)) ([]*roster.User, error) {
	isAdmin := func(u roster.User) bool {
		return u.Permissions.Has(roster.ManageUsers) && !roster.IsExpired(u.ExpirationDate, today)
	}
	var losing []int64
	for _, u := range todo {
		if n := after[u.ID]; isAdmin(*u) && (req.Action == BulkRemove || !isAdmin(n)) {
			losing = append(losing, u.ID)
		}
	}
	if len(losing) == 0 {
		return todo, nil
	}
	others, err := tx.CountActiveAdmins(ctx, a.Org.ID, today, losing...)
	if err != nil {
		return nil, err
	}
	if others > 0 {
		return todo, nil
	}
	keep := todo[:0]
	for _, u := range todo {
		if slices.Contains(losing, u.ID) {
			skip(u, u.ID, roster.ErrLastAdmin.Error(), "")
			continue
		}
		keep = append(keep, u)
	}
	return keep, nil
}

// IsConfirmCount reports whether err asks for the remove confirmation.
func IsConfirmCount(err error) bool {
	var ce *ErrConfirmCount
	return errors.As(err, &ce)
}
