package admin

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// AuditActions are the actions Roster writes to the audit log, for the
// filter's choices and its validation (an action the log holds but this
// list lacks, from an older or newer version, is accepted too).
var AuditActions = []string{
	"api_token.create", "demo.create", "import.apply", "org.create", "org.setup",
	"user.bulk_" + BulkClearExpiration, "user.bulk_" + BulkExpire, "user.bulk_" + BulkGrantPermission,
	"user.bulk_" + BulkRevokePermission, "user.bulk_" + BulkSetExpiration,
	"user.create_admin", "user.invite", "user.make_admin", "user.reinvite", "user.remove",
	"user.resend_invitation", "user.set_password", "user.update",
}

// AuditQuery is an audit log request as a form or the API gives it; every
// field is optional.
type AuditQuery struct {
	Actor  string // an email, a user id, or "operator" (the CLI or the system)
	Target string // an email (exact, any case) or a user id
	Action string // an exact action name, e.g. user.bulk_expire
	From   string // YYYY-MM-DD, UTC, inclusive
	To     string // YYYY-MM-DD, UTC, inclusive
	Cursor string // the previous page's NextCursor
	Before int64  // older API clients: the last id of the previous page
	Limit  int
}

// AuditLog returns the organization's events, newest first, one page at a
// time. ValidationError names each bad field; no field filters across
// organizations (the store scopes every query by the actor's).
func (s *Service) AuditLog(ctx context.Context, a *roster.Actor, q AuditQuery) (*store.AuditPage, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	f, err := s.auditFilter(ctx, a.Org.ID, q)
	if err != nil {
		return nil, err
	}
	p, err := s.db.AuditLog(ctx, a.Org.ID, f)
	return p, wrap("audit log", err)
}

// AuditActionsIn lists the actions the organization's log holds, for the
// filter's select box.
func (s *Service) AuditActionsIn(ctx context.Context, a *roster.Actor) ([]string, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	acts, err := s.db.AuditActions(ctx, a.Org.ID)
	return acts, wrap("audit actions", err)
}

func (s *Service) auditFilter(ctx context.Context, orgID int64, q AuditQuery) (store.AuditFilter, error) {
	f := store.AuditFilter{Cursor: strings.TrimSpace(q.Cursor), BeforeID: q.Before, Limit: q.Limit}
	var v roster.ValidationError
	switch actor := strings.TrimSpace(q.Actor); {
	case actor == "":
	case strings.EqualFold(actor, "operator"):
		f.ByOperator = true
	default:
		id, email, msg := userRef(actor)
		if msg != "" {
			v.Add("actor", msg+`, or "operator"`)
		}
		f.ActorUserID, f.ActorEmail = id, email
	}
	if target := strings.TrimSpace(q.Target); target != "" {
		id, email, msg := userRef(target)
		if msg != "" {
			v.Add("target", msg)
		}
		f.TargetID, f.Target = id, email
	}
	if action := strings.TrimSpace(q.Action); action != "" {
		known := slices.Contains(AuditActions, action)
		if !known {
			// An action from another version of Roster that the log holds.
			held, err := s.db.AuditActions(ctx, orgID)
			if err != nil {
				return f, wrap("audit actions", err)
			}
			known = slices.Contains(held, action)
		}
		if !known {
			v.Add("action", "unknown action “"+action+"”; use one of "+strings.Join(AuditActions, ", "))
		}
		f.Action = action
	}
	from, fromOK := auditDate(&v, "from", q.From)
	to, toOK := auditDate(&v, "to", q.To)
	if fromOK && toOK && !from.IsZero() && !to.IsZero() && to.Before(from) {
		v.Add("to", "the end date "+q.To+" is before the start date "+q.From)
	}
	if !from.IsZero() {
		f.From = time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, time.UTC)
	}
	if !to.IsZero() {
		// Inclusive: every event of that day (UTC), as the log shows times.
		f.To = time.Date(to.Year, to.Month, to.Day+1, 0, 0, 0, 0, time.UTC)
	}
	if q.Limit < 0 || q.Limit > 500 {
		v.Add("limit", "use a whole number from 1 to 500")
	}
	return f, v.Err()
}

// userRef reads a user reference: a user id or an email address. msg says
// what is wrong with anything else.
func userRef(s string) (id int64, email string, msg string) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 1 {
			return 0, "", "“" + s + "” is not a user id; give a user id or an email address"
		}
		return n, "", ""
	}
	e, err := roster.NormalizeEmail(s)
	if err != nil {
		return 0, "", "“" + s + "” is neither a user id nor an email address"
	}
	return 0, e, ""
}

// auditDate parses a YYYY-MM-DD bound; ok is false when it was bad.
func auditDate(v *roster.ValidationError, field, s string) (roster.Date, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return roster.Date{}, true
	}
	d, err := roster.ParseDate(s)
	if err != nil {
		v.Add(field, "“"+s+"” is not a date; use YYYY-MM-DD, e.g. 2026-12-31")
		return roster.Date{}, false
	}
	return d, true
}
