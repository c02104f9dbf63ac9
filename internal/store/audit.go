package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

// AuditEvent is one entry of an organization's audit log.
type AuditEvent struct {
	ID           int64
	OrgID        int64
	ActorUserID  int64 // 0 for the operator CLI or the system
	Actor        string
	Action       string
	TargetUserID int64
	Target       string
	Before       string // JSON, "" when there was nothing before
	After        string // JSON, "" when nothing is left after
	CreatedAt    time.Time
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Audit appends an event in the transaction of the change it records.
func (tx *Tx) Audit(ctx context.Context, e *AuditEvent) error {
	e.CreatedAt = utc(e.CreatedAt)
	err := tx.ex.QueryRowContext(ctx,
		`INSERT INTO audit_events (org_id, actor_user_id, actor, action, target_user_id, target, before_json, after_json, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		e.OrgID, nullID(e.ActorUserID), e.Actor, e.Action, nullID(e.TargetUserID), e.Target, nullString(e.Before), nullString(e.After), e.CreatedAt).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("store: audit %s in org %d: %w", e.Action, e.OrgID, err)
	}
	return nil
}

// AuditEvents returns the organization's newest events, newest first,
// older than beforeID when it is not 0.
func (q *q) AuditEvents(ctx context.Context, orgID int64, beforeID int64, limit int) ([]*AuditEvent, error) {
	return q.auditEvents(ctx, orgID, AuditFilter{}, beforeID, limit)
}

// AuditFilter narrows an organization's audit log; the zero value matches
// every event. Fields combine with AND.
type AuditFilter struct {
	ActorUserID int64     // done by this user
	ActorEmail  string    // done by the user with this (normalized) email, removed or not
	ByOperator  bool      // done by the operator CLI or the system (no acting user)
	Target      string    // exact target, as stored: a normalized email (or an org slug)
	TargetID    int64     // done to this user
	Action      string    // exact action name, e.g. user.bulk_expire
	From, To    time.Time // From <= created_at < To; zero for no bound
	Cursor      string    // from a previous page's NextCursor
	BeforeID    int64     // older than this id, when Cursor is ""
	Limit       int
}

// AuditPage is one page of an audit listing, newest first.
type AuditPage struct {
	Events     []*AuditEvent
	NextCursor string // "" on the last page
}

// auditSort names audit cursors, so a user listing's cursor is refused here
// and the other way round.
const auditSort = "audit"

// AuditLog returns a page of the organization's events matching f, newest
// first, by keyset on id (never OFFSET: after a bulk action an organization
// may hold millions of events). Each filter has an index (org_id, column,
// id), so a page reads about Limit rows whatever the log's size
// (migration 0006).
func (q *q) AuditLog(ctx context.Context, orgID int64, f AuditFilter) (*AuditPage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	beforeID := f.BeforeID
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil || c.Sort != auditSort {
			return nil, roster.FieldError("cursor", "the cursor is not valid; start again from the first page")
		}
		beforeID = c.ID
	}
	if f.ActorEmail != "" {
		id, err := q.auditUserID(ctx, orgID, f.ActorEmail)
		if errors.Is(err, roster.ErrNotFound) {
			return &AuditPage{}, nil // nobody by that address has ever been here
		} else if err != nil {
			return nil, err
		}
		if f.ActorUserID != 0 && f.ActorUserID != id {
			return &AuditPage{}, nil
		}
		f.ActorUserID = id
	}
	// One row more than the page tells whether another page follows.
	evs, err := q.auditEvents(ctx, orgID, f, beforeID, limit+1)
	if err != nil {
		return nil, err
	}
	p := &AuditPage{Events: evs}
	if len(evs) > limit {
		p.Events = evs[:limit]
		p.NextCursor = encodeCursor(cursor{Sort: auditSort, Desc: true, ID: evs[limit-1].ID})
	}
	return p, nil
}

// auditUserID finds the id of the user with email in the organization, or,
// when that account was removed, the id its events recorded (the removal
// event names the target by both): the log outlives the account.
func (q *q) auditUserID(ctx context.Context, orgID int64, email string) (int64, error) {
	var id int64
	err := q.ex.QueryRowContext(ctx, `SELECT id FROM users WHERE org_id = $1 AND email = $2`, orgID, email).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = q.ex.QueryRowContext(ctx,
			`SELECT target_user_id FROM audit_events WHERE org_id = $1 AND target = $2 AND target_user_id IS NOT NULL
			 ORDER BY id DESC LIMIT 1`, orgID, email).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, roster.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: audit actor %s in org %d: %w", email, orgID, err)
	}
	return id, nil
}

func (q *q) auditEvents(ctx context.Context, orgID int64, f AuditFilter, beforeID int64, limit int) ([]*AuditEvent, error) {
	var w where
	w.add("org_id = ?", orgID)
	if f.ActorUserID != 0 {
		w.add("actor_user_id = ?", f.ActorUserID)
	}
	if f.ByOperator {
		w.add("actor_user_id IS NULL")
	}
	if f.Target != "" {
		w.add("target = ?", f.Target)
	}
	if f.TargetID != 0 {
		w.add("target_user_id = ?", f.TargetID)
	}
	if f.Action != "" {
		w.add("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		w.add("created_at >= ?", utc(f.From))
	}
	if !f.To.IsZero() {
		w.add("created_at < ?", utc(f.To))
	}
	if beforeID > 0 {
		w.add("id < ?", beforeID)
	}
	cond, args := w.sql()
	args = append(args, limit)
	from := "audit_events"
	if q.d == SQLite {
		// SQLite's statistics hold the average number of rows per key, not
		// per value: with a million user.bulk_expire events and a few
		// invitations, it walks the whole organization looking for the
		// invitations, or walks the rowid past another organization's
		// million. So the index is chosen here, the most selective filter
		// first; PostgreSQL's per-value statistics choose well unaided.
		from += " INDEXED BY " + auditIndex(f)
	}
	rows, err := q.queryOn(ctx, q.ex,
		`SELECT id, org_id, actor_user_id, actor, action, target_user_id, target, before_json, after_json, created_at
		 FROM `+from+` WHERE `+cond+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit events of org %d: %w", orgID, err)
	}
	defer rows.Close()
	var out []*AuditEvent
	for rows.Next() {
		var e AuditEvent
		var actorID, targetID sql.NullInt64
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, &e.OrgID, &actorID, &e.Actor, &e.Action, &targetID, &e.Target, &before, &after, timeCol{&e.CreatedAt}); err != nil {
			return nil, fmt.Errorf("store: audit events of org %d: %w", orgID, err)
		}
		e.ActorUserID, e.TargetUserID, e.Before, e.After = actorID.Int64, targetID.Int64, before.String, after.String
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit events of org %d: %w", orgID, err)
	}
	return out, nil
}

// auditIndex is the index that serves f best, from the most selective kind
// of filter down: a user is the target of a few events, an actor does many
// (one per user in a bulk action), an action may be half the log. Each
// index but the time range's ends in id, so the page is read in order with
// no sort; a time range sorts what it holds.
func auditIndex(f AuditFilter) string {
	switch {
	case f.TargetID != 0:
		return "audit_events_org_target_user"
	case f.Target != "":
		return "audit_events_org_target"
	case f.ActorUserID != 0 || f.ByOperator:
		return "audit_events_org_actor"
	case f.Action != "":
		return "audit_events_org_action"
	case !f.From.IsZero() || !f.To.IsZero():
		return "audit_events_org_created"
	}
	return "audit_events_org"
}

// AuditActions lists the distinct actions in the organization's log, in
// order. Neither database skips through an index for DISTINCT, which would
// read every event; the recursive query seeks the next action in the index
// (org_id, action, id) once per action instead.
func (q *q) AuditActions(ctx context.Context, orgID int64) ([]string, error) {
	rows, err := q.queryOn(ctx, q.ex,
		`WITH RECURSIVE a(action) AS (
		   SELECT MIN(action) FROM audit_events WHERE org_id = $1
		   UNION ALL
		   SELECT (SELECT MIN(e.action) FROM audit_events e WHERE e.org_id = $1 AND e.action > a.action)
		   FROM a WHERE a.action IS NOT NULL
		 ) SELECT action FROM a WHERE action IS NOT NULL`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: audit actions of org %d: %w", orgID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: audit actions of org %d: %w", orgID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit actions of org %d: %w", orgID, err)
	}
	return out, nil
}
