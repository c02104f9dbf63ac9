package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

// Batch writes: a CSV import applies a thousand rows per transaction, and
// on PostgreSQL a statement per row would spend its time on round trips, so
// each of these is one statement there (arrays through unnest). SQLite runs
// in-process, where a prepared statement per row is as fast.

// UsersByEmails finds the organization's users with these normalized
// emails, keyed by email. On PostgreSQL it locks them until the transaction
// ends (in id order, so two batches cannot deadlock), as a counter is
// incremented from what it reads.
func (tx *Tx) UsersByEmails(ctx context.Context, orgID int64, emails []string) (map[string]*roster.User, error) {
	return tx.usersByEmails(ctx, orgID, emails, " ORDER BY id FOR UPDATE")
}

// FindUsersByEmails is UsersByEmails without locking, for a preview.
func (q *q) FindUsersByEmails(ctx context.Context, orgID int64, emails []string) (map[string]*roster.User, error) {
	return q.usersByEmails(ctx, orgID, emails, "")
}

func (q *q) usersByEmails(ctx context.Context, orgID int64, emails []string, pgLock string) (map[string]*roster.User, error) {
	out := make(map[string]*roster.User, len(emails))
	if len(emails) == 0 {
		return out, nil
	}
	var rows *sql.Rows
	var err error
	if q.d == Postgres {
		rows, err = q.ex.QueryContext(ctx,
			"SELECT "+userColumns+" FROM users WHERE org_id = $1 AND email = ANY($2)"+pgLock, orgID, emails)
	} else {
		list, _ := json.Marshal(emails)
		rows, err = q.ex.QueryContext(ctx,
			"SELECT "+userColumns+" FROM users WHERE org_id = $1 AND email IN (SELECT value FROM json_each($2))", orgID, string(list))
	}
	if err != nil {
		return nil, fmt.Errorf("store: users by email in org %d: %w", orgID, err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users by email in org %d: %w", orgID, err)
		}
		out[u.Email] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users by email in org %d: %w", orgID, err)
	}
	return out, nil
}

// CreateInvitedUsers inserts new users (emails normalized, unique in the
// organization and in the batch) counted as invited once at now, and sets
// their IDs, times and invitation fields. An email taken meanwhile is
// roster.ErrConflict.
func (tx *Tx) CreateInvitedUsers(ctx context.Context, orgID int64, users []*roster.User, now time.Time) error {
	if len(users) == 0 {
		return nil
	}
	now = utc(now)
	for _, u := range users {
		u.OrgID, u.CreatedAt, u.UpdatedAt = orgID, now, now
		u.LastInvitedAt, u.InvitationCount = now, 1
		u.DeliveryStatus, u.DeliveryDetail, u.DeliveryUpdatedAt = "queued", "", now
	}
	const cols = `org_id, email, first_name, last_name, permissions, expiration_date, welcome_message,
		created_at, updated_at, last_invited_at, invitation_count, delivery_status, delivery_detail, delivery_updated_at`
	if tx.d == Postgres {
		n := len(users)
		emails, first, last, welcome, exp := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		perms := make([]int64, n)
		byEmail := make(map[string]*roster.User, n)
		for i, u := range users {
			emails[i], first[i], last[i], welcome[i], perms[i] = u.Email, u.FirstName, u.LastName, u.WelcomeMessage, int64(u.Permissions)
			if !u.ExpirationDate.IsZero() {
				exp[i] = u.ExpirationDate.String()
			}
			byEmail[u.Email] = u
		}
		rows, err := tx.ex.QueryContext(ctx, `INSERT INTO users (`+cols+`)
			SELECT $1, t.e, t.f, t.l, t.p, NULLIF(t.x, '')::date, t.w, $2, $2, $2, 1, 'queued', '', $2
			FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[]) AS t(e, f, l, p, x, w)
			RETURNING id, email`, orgID, now, emails, first, last, perms, exp, welcome)
		if err != nil {
			return fmt.Errorf("store: create %d users in org %d: %w", n, orgID, mapErr(err))
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var email string
			if err := rows.Scan(&id, &email); err != nil {
				return fmt.Errorf("store: create users in org %d: %w", orgID, err)
			}
			byEmail[email].ID = id
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: create %d users in org %d: %w", n, orgID, mapErr(err))
		}
		return nil
	}
	stmt, err := tx.tx.PrepareContext(ctx, `INSERT INTO users (`+cols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, 1, 'queued', '', $8) RETURNING id`)
	if err != nil {
		return fmt.Errorf("store: create users in org %d: %w", orgID, err)
	}
	defer stmt.Close()
	for _, u := range users {
		if err := stmt.QueryRowContext(ctx, orgID, u.Email, u.FirstName, u.LastName, int64(u.Permissions),
			dateArg(u.ExpirationDate), u.WelcomeMessage, now).Scan(&u.ID); err != nil {
			return fmt.Errorf("store: create user in org %d: %w", orgID, mapErr(err))
		}
	}
	return nil
}

// UpdateInvitedUsers saves existing users' names, permissions, expiration
// dates and welcome messages and counts a new invitation for each at now,
// setting InvitationCount to the new invitation's number. The caller holds
// the rows (UsersByEmails).
func (tx *Tx) UpdateInvitedUsers(ctx context.Context, orgID int64, users []*roster.User, now time.Time) error {
	if len(users) == 0 {
		return nil
	}
	now = utc(now)
	for _, u := range users {
		u.UpdatedAt, u.LastInvitedAt = now, now
		u.DeliveryStatus, u.DeliveryDetail, u.DeliveryUpdatedAt = "queued", "", now
	}
	const set = `first_name = t.f, last_name = t.l, permissions = t.p, expiration_date = %s, welcome_message = t.w,
		updated_at = $2, last_invited_at = $2, invitation_count = users.invitation_count + 1,
		delivery_status = 'queued', delivery_detail = '', delivery_updated_at = $2`
	if tx.d == Postgres {
		n := len(users)
		ids, perms := make([]int64, n), make([]int64, n)
		first, last, welcome, exp := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		byID := make(map[int64]*roster.User, n)
		for i, u := range users {
			ids[i], perms[i], first[i], last[i], welcome[i] = u.ID, int64(u.Permissions), u.FirstName, u.LastName, u.WelcomeMessage
			if !u.ExpirationDate.IsZero() {
				exp[i] = u.ExpirationDate.String()
			}
			byID[u.ID] = u
		}
		rows, err := tx.ex.QueryContext(ctx, `UPDATE users SET `+fmt.Sprintf(set, "NULLIF(t.x, '')::date")+`
			FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[]) AS t(id, f, l, p, x, w)
			WHERE users.org_id = $1 AND users.id = t.id
			RETURNING users.id, users.invitation_count`, orgID, now, ids, first, last, perms, exp, welcome)
		if err != nil {
			return fmt.Errorf("store: update %d users in org %d: %w", n, orgID, mapErr(err))
		}
		defer rows.Close()
		seen := 0
		for rows.Next() {
			var id int64
			var seq int
			if err := rows.Scan(&id, &seq); err != nil {
				return fmt.Errorf("store: update users in org %d: %w", orgID, err)
			}
			byID[id].InvitationCount = seq
			seen++
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: update %d users in org %d: %w", n, orgID, mapErr(err))
		}
		if seen != n {
			return fmt.Errorf("store: update %d users in org %d: %d found: %w", n, orgID, seen, roster.ErrNotFound)
		}
		return nil
	}
	stmt, err := tx.tx.PrepareContext(ctx, `UPDATE users SET `+fmt.Sprintf(set, "t.x")+`
		FROM (SELECT $3 AS f, $4 AS l, $5 AS p, $6 AS x, $7 AS w) AS t
		WHERE users.org_id = $1 AND users.id = $8 RETURNING invitation_count`)
	if err != nil {
		return fmt.Errorf("store: update users in org %d: %w", orgID, err)
	}
	defer stmt.Close()
	for _, u := range users {
		err := stmt.QueryRowContext(ctx, orgID, now, u.FirstName, u.LastName, int64(u.Permissions),
			dateArg(u.ExpirationDate), u.WelcomeMessage, u.ID).Scan(&u.InvitationCount)
		if err != nil {
			return fmt.Errorf("store: update user %d in org %d: %w", u.ID, orgID, mapErr(err))
		}
	}
	return nil
}

// AuditMany appends events in the transaction of the changes they record.
func (tx *Tx) AuditMany(ctx context.Context, events []*AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	const insert = `INSERT INTO audit_events (org_id, actor_user_id, actor, action, target_user_id, target, before_json, after_json, created_at)`
	if tx.d == Postgres {
		n := len(events)
		orgs, actorIDs, targetIDs := make([]int64, n), make([]int64, n), make([]int64, n)
		actors, actions, targets, before, after := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		at := make([]time.Time, n)
		for i, e := range events {
			e.CreatedAt = utc(e.CreatedAt)
			orgs[i], actorIDs[i], targetIDs[i], at[i] = e.OrgID, e.ActorUserID, e.TargetUserID, e.CreatedAt
			actors[i], actions[i], targets[i], before[i], after[i] = e.Actor, e.Action, e.Target, e.Before, e.After
		}
		_, err := tx.ex.ExecContext(ctx, insert+`
			SELECT o, NULLIF(ai, 0), a, act, NULLIF(ti, 0), t, NULLIF(b, ''), NULLIF(af, ''), at
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
			AS x(o, ai, a, act, ti, t, b, af, at)`,
			orgs, actorIDs, actors, actions, targetIDs, targets, before, after, at)
		if err != nil {
			return fmt.Errorf("store: audit %d events: %w", n, err)
		}
		return nil
	}
	// SQLite: auditRowsPerInsert events per statement (a statement per event
	// spent as long getting through database/sql as inserting).
	values := func(n int) string {
		return insert + " VALUES " + strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?), ", n-1) + "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
	}
	var full *sql.Stmt
	if len(events) >= auditRowsPerInsert {
		var err error
		if full, err = tx.tx.PrepareContext(ctx, values(auditRowsPerInsert)); err != nil {
			return fmt.Errorf("store: audit events: %w", err)
		}
		defer full.Close()
	}
	args := make([]any, 0, 9*auditRowsPerInsert)
	for lo := 0; lo < len(events); lo += auditRowsPerInsert {
		part := events[lo:min(lo+auditRowsPerInsert, len(events))]
		args = args[:0]
		for _, e := range part {
			e.CreatedAt = utc(e.CreatedAt)
			args = append(args, e.OrgID, nullID(e.ActorUserID), e.Actor, e.Action, nullID(e.TargetUserID),
				e.Target, nullString(e.Before), nullString(e.After), e.CreatedAt)
		}
		var err error
		if len(part) == auditRowsPerInsert {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.tx.ExecContext(ctx, values(len(part)), args...)
		}
		if err != nil {
			return fmt.Errorf("store: audit %d events in org %d: %w", len(part), part[0].OrgID, err)
		}
	}
	return nil
}

// auditRowsPerInsert is how many events one INSERT writes on SQLite: 900
// arguments, within SQLite's limit of 32,766.
const auditRowsPerInsert = 100
