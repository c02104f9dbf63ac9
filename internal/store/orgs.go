package store

import (
	"context"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

const orgColumns = "id, name, slug, user_management, locale, time_zone, support_contact, created_at"

func scanOrg(row interface{ Scan(...any) error }) (*roster.Org, error) {
	var o roster.Org
	if err := row.Scan(orgDest(&o)...); err != nil {
		return nil, mapErr(err)
	}
	return &o, nil
}

// CreateOrg inserts o and sets its ID. A taken slug is roster.ErrConflict.
func (tx *Tx) CreateOrg(ctx context.Context, o *roster.Org, now time.Time) error {
	o.CreatedAt = utc(now)
	err := tx.ex.QueryRowContext(ctx,
		`INSERT INTO orgs (name, slug, user_management, locale, time_zone, support_contact, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		o.Name, o.Slug, o.UserManagement, o.Locale, o.TimeZone, o.SupportContact, o.CreatedAt).Scan(&o.ID)
	if err != nil {
		return fmt.Errorf("store: create org %q: %w", o.Slug, mapErr(err))
	}
	return nil
}

// UpdateOrg saves every field of o but its slug and creation time.
func (tx *Tx) UpdateOrg(ctx context.Context, o *roster.Org) error {
	res, err := tx.ex.ExecContext(ctx,
		`UPDATE orgs SET name = $2, user_management = $3, locale = $4, time_zone = $5, support_contact = $6 WHERE id = $1`,
		o.ID, o.Name, o.UserManagement, o.Locale, o.TimeZone, o.SupportContact)
	if err != nil {
		return fmt.Errorf("store: update org %d: %w", o.ID, mapErr(err))
	}
	return mustAffect(res, "store: update org")
}

// LockOrg serializes, until the transaction ends, every change that checks
// an org-wide rule such as the last-admin guard. SQLite write transactions
// are already serial (BEGIN IMMEDIATE); PostgreSQL needs the row lock.
func (tx *Tx) LockOrg(ctx context.Context, orgID int64) error {
	if tx.d != Postgres {
		return nil
	}
	var id int64
	if err := tx.ex.QueryRowContext(ctx, "SELECT id FROM orgs WHERE id = $1 FOR UPDATE", orgID).Scan(&id); err != nil {
		return fmt.Errorf("store: lock org %d: %w", orgID, mapErr(err))
	}
	return nil
}

// OrgBySlug finds an organization by its slug.
func (q *q) OrgBySlug(ctx context.Context, slug string) (*roster.Org, error) {
	o, err := scanOrg(q.ex.QueryRowContext(ctx, "SELECT "+orgColumns+" FROM orgs WHERE slug = $1", slug))
	if err != nil {
		return nil, fmt.Errorf("store: org %q: %w", slug, err)
	}
	return o, nil
}

// OrgByID finds an organization by its ID.
func (q *q) OrgByID(ctx context.Context, id int64) (*roster.Org, error) {
	o, err := scanOrg(q.ex.QueryRowContext(ctx, "SELECT "+orgColumns+" FROM orgs WHERE id = $1", id))
	if err != nil {
		return nil, fmt.Errorf("store: org %d: %w", id, err)
	}
	return o, nil
}

// Orgs lists every organization by slug (an operator's view).
func (q *q) Orgs(ctx context.Context) ([]*roster.Org, error) {
	rows, err := q.ex.QueryContext(ctx, "SELECT "+orgColumns+" FROM orgs ORDER BY slug")
	if err != nil {
		return nil, fmt.Errorf("store: list orgs: %w", err)
	}
	defer rows.Close()
	var out []*roster.Org
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list orgs: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// CountOrgs counts organizations; zero means a first run.
func (q *q) CountOrgs(ctx context.Context) (int, error) {
	var n int
	if err := q.ex.QueryRowContext(ctx, "SELECT COUNT(*) FROM orgs").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count orgs: %w", err)
	}
	return n, nil
}

func mustAffect(res interface{ RowsAffected() (int64, error) }, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, roster.ErrNotFound)
	}
	return nil
}
