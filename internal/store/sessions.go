package store

import (
	"context"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

// Principal is a user with their organization, as a session or API token
// resolves to.
type Principal struct {
	User *roster.User
	Org  *roster.Org
	// SessionID or TokenID is the row that authenticated them.
	SessionID int64
	TokenID   int64
}

var principalColumns = prefixed("u.", userColumns) + ", " + prefixed("o.", orgColumns)

func scanPrincipal(row interface{ Scan(...any) error }, extra ...any) (*Principal, error) {
	var u roster.User
	var o roster.Org
	var perms int64
	dest := append(userDest(&u, &perms), orgDest(&o)...)
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, mapErr(err)
	}
	u.Permissions = roster.Permissions(perms)
	return &Principal{User: &u, Org: &o}, nil
}

// UserWithOrg finds a user and their organization in one query (the email
// worker needs both for every message it sends).
func (q *q) UserWithOrg(ctx context.Context, orgID, userID int64) (*Principal, error) {
	p, err := scanPrincipal(q.ex.QueryRowContext(ctx,
		"SELECT "+principalColumns+" FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.org_id = $1 AND u.id = $2", orgID, userID))
	if err != nil {
		return nil, fmt.Errorf("store: user %d of org %d: %w", userID, orgID, err)
	}
	return p, nil
}

// CreateSession stores a new session by the hash of its secret id.
func (tx *Tx) CreateSession(ctx context.Context, orgID, userID int64, hash []byte, now, expires time.Time) error {
	_, err := tx.ex.ExecContext(ctx,
		"INSERT INTO sessions (org_id, user_id, token_hash, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)",
		orgID, userID, hash, utc(now), utc(expires))
	if err != nil {
		return fmt.Errorf("store: create session for user %d: %w", userID, mapErr(err))
	}
	return nil
}

// SessionByHash resolves an unexpired session to its user and organization.
func (q *q) SessionByHash(ctx context.Context, hash []byte, now time.Time) (*Principal, time.Time, error) {
	var id int64
	var lastSeen time.Time
	p, err := scanPrincipal(q.ex.QueryRowContext(ctx,
		"SELECT "+principalColumns+", s.id, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id AND u.org_id = s.org_id"+
			" JOIN orgs o ON o.id = s.org_id WHERE s.token_hash = $1 AND s.expires_at > $2", hash, utc(now)), &id, timeCol{&lastSeen})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: session: %w", err)
	}
	p.SessionID = id
	return p, lastSeen, nil
}

// TouchSession extends a session that is in use.
func (db *DB) TouchSession(ctx context.Context, id int64, now, expires time.Time) error {
	_, err := db.w.ExecContext(ctx, "UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id = $1", id, utc(now), utc(expires))
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session, found by the hash of its id.
func (tx *Tx) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := tx.ex.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = $1", hash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user.
func (tx *Tx) DeleteUserSessions(ctx context.Context, orgID, userID int64) error {
	if _, err := tx.ex.ExecContext(ctx, "DELETE FROM sessions WHERE org_id = $1 AND user_id = $2", orgID, userID); err != nil {
		return fmt.Errorf("store: delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// CreateAPIToken stores an API token by its hash and returns its ID.
func (tx *Tx) CreateAPIToken(ctx context.Context, orgID, userID int64, name string, hash []byte, now time.Time) (int64, error) {
	var id int64
	err := tx.ex.QueryRowContext(ctx,
		"INSERT INTO api_tokens (org_id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
		orgID, userID, name, hash, utc(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: create API token in org %d: %w", orgID, mapErr(err))
	}
	return id, nil
}

// APITokenByHash resolves an API token to the user it acts as.
func (q *q) APITokenByHash(ctx context.Context, hash []byte) (*Principal, time.Time, error) {
	var id int64
	var lastUsed time.Time
	p, err := scanPrincipal(q.ex.QueryRowContext(ctx,
		"SELECT "+principalColumns+", t.id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.org_id = t.org_id"+
			" JOIN orgs o ON o.id = t.org_id WHERE t.token_hash = $1", hash), &id, timeCol{&lastUsed})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: API token: %w", err)
	}
	p.TokenID = id
	return p, lastUsed, nil
}

// TouchAPIToken records when a token was last used.
func (db *DB) TouchAPIToken(ctx context.Context, id int64, now time.Time) error {
	if _, err := db.w.ExecContext(ctx, "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", id, utc(now)); err != nil {
		return fmt.Errorf("store: touch API token: %w", err)
	}
	return nil
}

// DeleteUserAPITokens voids every API token acting as the user.
func (tx *Tx) DeleteUserAPITokens(ctx context.Context, orgID, userID int64) error {
	if _, err := tx.ex.ExecContext(ctx, "DELETE FROM api_tokens WHERE org_id = $1 AND user_id = $2", orgID, userID); err != nil {
		return fmt.Errorf("store: delete API tokens of user %d: %w", userID, err)
	}
	return nil
}
