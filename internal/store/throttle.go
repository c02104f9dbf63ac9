package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

// ThrottleState is the failed-attempt counter behind one key ("acct:42",
// "ip:192.0.2.1", "dev:…").
type ThrottleState struct {
	Failures     int
	WindowStart  time.Time
	BlockedUntil time.Time
}

// Throttle reads a key's state; a key never seen has the zero state.
func (q *q) Throttle(ctx context.Context, key string) (ThrottleState, error) {
	var s ThrottleState
	err := q.ex.QueryRowContext(ctx, "SELECT failures, window_start, blocked_until FROM signin_throttle WHERE key = $1", key).
		Scan(&s.Failures, timeCol{&s.WindowStart}, timeCol{&s.BlockedUntil})
	if err = mapErr(err); errors.Is(err, roster.ErrNotFound) {
		return ThrottleState{}, nil
	} else if err != nil {
		return s, fmt.Errorf("store: throttle %s: %w", key, err)
	}
	return s, nil
}

// SetThrottle writes a key's state.
func (tx *Tx) SetThrottle(ctx context.Context, key string, s ThrottleState) error {
	_, err := tx.ex.ExecContext(ctx,
		`INSERT INTO signin_throttle (key, failures, window_start, blocked_until) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, blocked_until = excluded.blocked_until`,
		key, s.Failures, utc(s.WindowStart), nullTime(s.BlockedUntil))
	if err != nil {
		return fmt.Errorf("store: set throttle %s: %w", key, err)
	}
	return nil
}

// ClearThrottle forgets a key's failures.
func (tx *Tx) ClearThrottle(ctx context.Context, key string) error {
	if _, err := tx.ex.ExecContext(ctx, "DELETE FROM signin_throttle WHERE key = $1", key); err != nil {
		return fmt.Errorf("store: clear throttle %s: %w", key, err)
	}
	return nil
}

// AddKnownDevice remembers that a browser signed in as the user.
func (tx *Tx) AddKnownDevice(ctx context.Context, orgID, userID int64, hash []byte, now time.Time) error {
	_, err := tx.ex.ExecContext(ctx,
		`INSERT INTO known_devices (org_id, user_id, device_hash, created_at) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (user_id, device_hash) DO NOTHING`, orgID, userID, hash, utc(now))
	if err != nil {
		return fmt.Errorf("store: add known device for user %d: %w", userID, err)
	}
	return nil
}

// IsKnownDevice reports whether the browser has signed in as the user before.
func (q *q) IsKnownDevice(ctx context.Context, userID int64, hash []byte) (bool, error) {
	var n int
	if err := q.ex.QueryRowContext(ctx, "SELECT COUNT(*) FROM known_devices WHERE user_id = $1 AND device_hash = $2", userID, hash).Scan(&n); err != nil {
		return false, fmt.Errorf("store: known device: %w", err)
	}
	return n > 0, nil
}

// LockThrottle reads a key's state for update, creating it at zero: until
// the transaction ends, concurrent attempts on the key wait (PostgreSQL row
// lock; SQLite write transactions are serial anyway).
func (tx *Tx) LockThrottle(ctx context.Context, key string, now time.Time) (ThrottleState, error) {
	if _, err := tx.ex.ExecContext(ctx,
		"INSERT INTO signin_throttle (key, failures, window_start) VALUES ($1, 0, $2) ON CONFLICT (key) DO NOTHING", key, utc(now)); err != nil {
		return ThrottleState{}, fmt.Errorf("store: lock throttle %s: %w", key, err)
	}
	q := "SELECT failures, window_start, blocked_until FROM signin_throttle WHERE key = $1"
	if tx.d == Postgres {
		q += " FOR UPDATE"
	}
	var s ThrottleState
	if err := tx.ex.QueryRowContext(ctx, q, key).Scan(&s.Failures, timeCol{&s.WindowStart}, timeCol{&s.BlockedUntil}); err != nil {
		return s, fmt.Errorf("store: lock throttle %s: %w", key, mapErr(err))
	}
	return s, nil
}

// UncountThrottle takes one attempt back from a key (a sign-in that
// succeeded was counted in advance).
func (tx *Tx) UncountThrottle(ctx context.Context, key string) error {
	if _, err := tx.ex.ExecContext(ctx, "UPDATE signin_throttle SET failures = failures - 1 WHERE key = $1 AND failures > 0", key); err != nil {
		return fmt.Errorf("store: uncount throttle %s: %w", key, err)
	}
	return nil
}
