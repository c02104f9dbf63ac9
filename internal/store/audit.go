package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
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
	if beforeID <= 0 {
		beforeID = 1 << 62
	}
	rows, err := q.ex.QueryContext(ctx,
		`SELECT id, org_id, actor_user_id, actor, action, target_user_id, target, before_json, after_json, created_at
		 FROM audit_events WHERE org_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, orgID, beforeID, limit)
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
	return out, rows.Err()
}
