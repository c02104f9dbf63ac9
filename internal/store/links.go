package store

import (
	"context"
	"fmt"
	"time"
)

// Purposes of one-time links.
const (
	LinkInvite      = "invite"
	LinkSetPassword = "set_password"
	LinkReset       = "reset"
)

// CreateLink stores a one-time link for a user and voids the user's older
// unused links of the same kinds (SPEC: "all of a user's older tokens void
// when a new one is sent").
func (tx *Tx) CreateLink(ctx context.Context, orgID, userID int64, purpose string, hash []byte, now, expires time.Time) error {
	if tx.d == Postgres {
		// Two links minted at once for one user must not both stay valid:
		// serialize on the user's row (SQLite write transactions already are).
		var id int64
		if err := tx.ex.QueryRowContext(ctx, "SELECT id FROM users WHERE org_id = $1 AND id = $2 FOR UPDATE", orgID, userID).Scan(&id); err != nil {
			return fmt.Errorf("store: lock user %d: %w", userID, mapErr(err))
		}
	}
	return tx.replaceLinks(ctx, orgID, userID, purpose, hash, now, expires)
}

// MintInvitationLink stores the link of the user's invitation number seq
// and voids older ones, but only while seq is the user's latest invitation
// (false otherwise, and nothing changes): a job for an older invitation
// that runs late must not void the newer one's link. It holds the user's
// row until the transaction ends, so a newer invitation waits for it.
//
// It also marks the invitation "sending" (see DB.MarkSending).
func (tx *Tx) MintInvitationLink(ctx context.Context, orgID, userID int64, seq int, hash []byte, now, expires time.Time) (bool, error) {
	latest, err := markSending(ctx, tx.ex, orgID, userID, seq, now)
	if err != nil || !latest {
		return false, err
	}
	return true, tx.replaceLinks(ctx, orgID, userID, LinkInvite, hash, now, expires)
}

// replaceLinks voids the user's unused links and inserts the new one; the
// caller holds the user's row.
func (tx *Tx) replaceLinks(ctx context.Context, orgID, userID int64, purpose string, hash []byte, now, expires time.Time) error {
	if tx.d == Postgres {
		// One round trip instead of two: a worker mints hundreds a second.
		// The statement starts after the row lock was taken, so its
		// snapshot sees any link a previous holder of the lock inserted.
		if _, err := tx.ex.ExecContext(ctx,
			`WITH voided AS (
			   UPDATE user_tokens SET used_at = $5, replaced = TRUE
			   WHERE org_id = $1 AND user_id = $2 AND used_at IS NULL)
			 INSERT INTO user_tokens (org_id, user_id, purpose, token_hash, created_at, expires_at)
			 VALUES ($1, $2, $3, $4, $5, $6)`,
			orgID, userID, purpose, hash, utc(now), utc(expires)); err != nil {
			return fmt.Errorf("store: create link for user %d: %w", userID, mapErr(err))
		}
		return nil
	}
	if _, err := tx.ex.ExecContext(ctx,
		"UPDATE user_tokens SET used_at = $3, replaced = TRUE WHERE org_id = $1 AND user_id = $2 AND used_at IS NULL",
		orgID, userID, utc(now)); err != nil {
		return fmt.Errorf("store: void older links of user %d: %w", userID, err)
	}
	if _, err := tx.ex.ExecContext(ctx,
		"INSERT INTO user_tokens (org_id, user_id, purpose, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
		orgID, userID, purpose, hash, utc(now), utc(expires)); err != nil {
		return fmt.Errorf("store: create link for user %d: %w", userID, mapErr(err))
	}
	return nil
}

// Link is a one-time link as stored.
type Link struct {
	OrgID, UserID int64
	Purpose       string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time // zero while unused; set also when a newer link voided it
	Replaced      bool      // a newer link voided this one
}

// LinkByHash finds a link whatever its state, so the page can say what
// happened to it (used, expired, replaced). It changes nothing.
func (q *q) LinkByHash(ctx context.Context, hash []byte) (*Link, error) {
	var l Link
	err := q.ex.QueryRowContext(ctx,
		"SELECT org_id, user_id, purpose, created_at, expires_at, used_at, replaced FROM user_tokens WHERE token_hash = $1", hash).
		Scan(&l.OrgID, &l.UserID, &l.Purpose, timeCol{&l.CreatedAt}, timeCol{&l.ExpiresAt}, timeCol{&l.UsedAt}, &l.Replaced)
	if err != nil {
		return nil, fmt.Errorf("store: link: %w", mapErr(err))
	}
	return &l, nil
}

// ConsumeLink marks an unused, unexpired link used and reports whether this
// call was the one that did: of concurrent submits exactly one wins.
func (tx *Tx) ConsumeLink(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	res, err := tx.ex.ExecContext(ctx,
		"UPDATE user_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2", hash, utc(now))
	if err != nil {
		return false, fmt.Errorf("store: consume link: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: consume link: %w", err)
	}
	return n == 1, nil
}

// CreateSetupLink stores the first-run link, voiding any earlier one.
func (tx *Tx) CreateSetupLink(ctx context.Context, hash []byte, now, expires time.Time) error {
	if _, err := tx.ex.ExecContext(ctx, "UPDATE setup_tokens SET used_at = $1 WHERE used_at IS NULL", utc(now)); err != nil {
		return fmt.Errorf("store: void setup links: %w", err)
	}
	if _, err := tx.ex.ExecContext(ctx, "INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
		hash, utc(now), utc(expires)); err != nil {
		return fmt.Errorf("store: create setup link: %w", err)
	}
	return nil
}

// SetupLinkValid reports whether the first-run link is unused and unexpired.
func (q *q) SetupLinkValid(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	var n int
	err := q.ex.QueryRowContext(ctx, "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
		hash, utc(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: setup link: %w", err)
	}
	return n == 1, nil
}

// ConsumeSetupLink marks the first-run link used; false if it was not valid.
func (tx *Tx) ConsumeSetupLink(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	res, err := tx.ex.ExecContext(ctx, "UPDATE setup_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
		hash, utc(now))
	if err != nil {
		return false, fmt.Errorf("store: consume setup link: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
