package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// Background jobs (invitation emails, later imports) go through River, a
// durable queue on our own database: a job is inserted in the same
// transaction as the change that causes it, so a rolled-back change sends
// nothing and a committed one is worked even across a crash, by exactly one
// of the instances sharing the database.
//
// Both dialects use database/sql drivers (riversqlite, riverdatabasesql), so
// one client type serves both.

// QueueEmail is the queue invitation emails are worked from.
const QueueEmail = "email"

// InvitationArgs is the job that sends one invitation. The link is minted
// when the job runs (only its hash is stored, and a newer invitation must
// void older links at the moment it is sent); the job carries only ids.
type InvitationArgs struct {
	OrgID  int64 `json:"org_id"`
	UserID int64 `json:"user_id"`
	// Seq is the user's invitation_count when this invitation was queued:
	// a job whose Seq is no longer the latest does not overwrite the
	// delivery status of a newer one.
	Seq         int    `json:"seq"`
	InviterName string `json:"inviter_name"`
	// Email, when set, is the user's address when queued; the job sends
	// only while the user still has it. (User ids are never reused, on
	// either database, so this is a second lock on the door.)
	Email string `json:"email,omitempty"`
}

// Kind names the job for River.
func (InvitationArgs) Kind() string { return "invitation" }

// InsertOpts routes invitations to the email queue.
func (InvitationArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 10}
}

// QueueFanout is the queue of InvitationBatchArgs jobs.
const QueueFanout = "fanout"

// FanoutMin is the batch size from which EnqueueInvitations queues one
// InvitationBatchArgs job instead of a job per invitation.
const FanoutMin = 100

// InvitationBatchArgs carries many invitations in one job, which queues
// their InvitationArgs jobs when it runs, in the transaction that completes
// it (so exactly once). A large import's batch inserts one job instead of a
// thousand: half the cost of applying it on both databases was River's
// per-job insert, which now happens in the background, well ahead of the
// mail server's pace.
type InvitationBatchArgs struct {
	OrgID       int64  `json:"org_id"`
	InviterName string `json:"inviter_name"`
	// Users lists "userID:seq" pairs separated by commas: a thousand of them
	// are stored, and parsed, as one job, so they are kept short. (User ids
	// are never reused, on either database, so the email need not ride along
	// as it does in InvitationArgs.)
	Users string `json:"users"`
}

// Invitations returns the batch's invitation jobs.
func (b InvitationBatchArgs) Invitations() ([]InvitationArgs, error) {
	if b.Users == "" {
		return nil, nil
	}
	parts := strings.Split(b.Users, ",")
	out := make([]InvitationArgs, len(parts))
	for i, p := range parts {
		id, seq, ok := strings.Cut(p, ":")
		uid, err1 := strconv.ParseInt(id, 10, 64)
		n, err2 := strconv.Atoi(seq)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("store: invitation batch: bad entry %q", p)
		}
		out[i] = InvitationArgs{OrgID: b.OrgID, UserID: uid, Seq: n, InviterName: b.InviterName}
	}
	return out, nil
}

// Kind names the job for River.
func (InvitationBatchArgs) Kind() string { return "invitation_batch" }

// InsertOpts routes batches to their own queue, so that they are not
// waiting behind the emails they hold.
func (InvitationBatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFanout, MaxAttempts: 25}
}

// RiverDriver returns the River driver over the write pool.
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if db.dialect == SQLite {
		return riversqlite.New(db.w)
	}
	return riverdatabasesql.New(db.w)
}

// inserter is an insert-only River client: workers run elsewhere (outbox).
func (db *DB) inserter() (*river.Client[*sql.Tx], error) {
	db.jobsOnce.Do(func() {
		db.jobs, db.jobsErr = river.NewClient(db.RiverDriver(), &river.Config{})
	})
	return db.jobs, db.jobsErr
}

// EnqueueInvitation queues an invitation email in the transaction.
func (tx *Tx) EnqueueInvitation(ctx context.Context, args InvitationArgs) error {
	c, err := tx.db.inserter()
	if err != nil {
		return fmt.Errorf("store: job client: %w", err)
	}
	if err := tx.fillEmail(ctx, &args); err != nil {
		return err
	}
	if _, err := c.InsertTx(ctx, tx.tx, args, nil); err != nil {
		return fmt.Errorf("store: enqueue invitation for user %d: %w", args.UserID, err)
	}
	return nil
}

// EnqueueInvitations queues many invitations in the transaction at once:
// from FanoutMin on, as one InvitationBatchArgs job.
func (tx *Tx) EnqueueInvitations(ctx context.Context, args []InvitationArgs) error {
	if len(args) < FanoutMin {
		return tx.EnqueueEachInvitation(ctx, args)
	}
	c, err := tx.db.inserter()
	if err != nil {
		return fmt.Errorf("store: job client: %w", err)
	}
	// Split by organization and inviter (a batch names them once).
	type key struct {
		org     int64
		inviter string
	}
	users := map[key]*strings.Builder{}
	var order []key
	for _, a := range args {
		k := key{a.OrgID, a.InviterName}
		b := users[k]
		if b == nil {
			b = &strings.Builder{}
			users[k] = b
			order = append(order, k)
		} else {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(a.UserID, 10))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(a.Seq))
	}
	params := make([]river.InsertManyParams, len(order))
	for i, k := range order {
		params[i] = river.InsertManyParams{Args: InvitationBatchArgs{OrgID: k.org, InviterName: k.inviter, Users: users[k].String()}}
	}
	if _, err := c.InsertManyFastTx(ctx, tx.tx, params); err != nil {
		return fmt.Errorf("store: enqueue a batch of %d invitations: %w", len(args), err)
	}
	return nil
}

// EnqueueEachInvitation queues a job per invitation in the transaction.
func (tx *Tx) EnqueueEachInvitation(ctx context.Context, args []InvitationArgs) error {
	if len(args) == 0 {
		return nil
	}
	c, err := tx.db.inserter()
	if err != nil {
		return fmt.Errorf("store: job client: %w", err)
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	if _, err := c.InsertManyFastTx(ctx, tx.tx, params); err != nil {
		return fmt.Errorf("store: enqueue %d invitations: %w", len(args), err)
	}
	return nil
}

// fillEmail sets args.Email from the user when the caller left it empty.
func (tx *Tx) fillEmail(ctx context.Context, args *InvitationArgs) error {
	if args.Email != "" {
		return nil
	}
	err := tx.ex.QueryRowContext(ctx, "SELECT email FROM users WHERE org_id = $1 AND id = $2", args.OrgID, args.UserID).Scan(&args.Email)
	if err != nil {
		return fmt.Errorf("store: enqueue invitation for user %d: %w", args.UserID, mapErr(err))
	}
	return nil
}

// MarkSending records, before an invitation goes to the mail server, that
// it is being sent, when seq is still the user's latest invitation (false
// otherwise). A job that finds its invitation "sending" knows that an
// earlier attempt stopped mid-send (the instance was killed) and must not
// send again blindly. It keeps the detail of an earlier failed attempt.
// It commits before returning (synchronously).
func (db *DB) MarkSending(ctx context.Context, orgID, userID int64, seq int, now time.Time) (bool, error) {
	return markSending(ctx, db.w, orgID, userID, seq, now)
}

// markSending marks and, in a transaction, locks the user's row.
func markSending(ctx context.Context, ex execer, orgID, userID int64, seq int, now time.Time) (bool, error) {
	var id int64
	err := ex.QueryRowContext(ctx,
		`UPDATE users SET delivery_status = 'sending', delivery_updated_at = $4
		 WHERE org_id = $1 AND id = $2 AND invitation_count = $3 RETURNING id`, orgID, userID, seq, utc(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: mark invitation %d of user %d sending: %w", seq, userID, err)
	}
	return true, nil
}

// SetDelivery records the delivery state of a user's invitation number seq;
// an older invitation's job never overwrites a newer one's state.
func (db *DB) SetDelivery(ctx context.Context, orgID, userID int64, seq int, status, detail string, now time.Time) error {
	if len(detail) > 500 {
		detail = detail[:500]
	}
	query := `UPDATE users SET delivery_status = $4, delivery_detail = $5, delivery_updated_at = $6
		 WHERE org_id = $1 AND id = $2 AND invitation_count = $3`
	if db.d == Postgres {
		// The worker records a status for every email it sends, so waiting
		// for each commit's WAL flush was a quarter of its time. Commit
		// this one without waiting (synchronous_commit off for this
		// transaction only): WAL is flushed in order, so once the job's
		// completion (committed next, synchronously) is durable, so is
		// this; a crash before that re-runs the job, which rewrites it.
		query = `WITH async AS (SELECT set_config('synchronous_commit', 'off', true))
		 UPDATE users SET delivery_status = $4, delivery_detail = $5, delivery_updated_at = $6
		 FROM async WHERE org_id = $1 AND id = $2 AND invitation_count = $3`
	}
	_, err := db.w.ExecContext(ctx, query, orgID, userID, seq, status, detail, utc(now))
	if err != nil {
		return fmt.Errorf("store: set delivery of user %d: %w", userID, err)
	}
	return nil
}

// MarkInvited counts a new invitation for the user and returns its number.
func (tx *Tx) MarkInvited(ctx context.Context, orgID, userID int64, now time.Time) (int, error) {
	var seq int
	err := tx.ex.QueryRowContext(ctx,
		`UPDATE users SET last_invited_at = $3, invitation_count = invitation_count + 1,
		 delivery_status = 'queued', delivery_detail = '', delivery_updated_at = $3
		 WHERE org_id = $1 AND id = $2 RETURNING invitation_count`, orgID, userID, utc(now)).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store: mark user %d invited: %w", userID, mapErr(err))
	}
	return seq, nil
}

// migrateRiver applies River's own migrations (kept in its river_migration
// table, apart from ours).
func (db *DB) migrateRiver(ctx context.Context) error {
	m, err := rivermigrate.New(db.RiverDriver(), &rivermigrate.Config{Logger: slog.New(warnOnly{db.log.Handler()})})
	if err != nil {
		return fmt.Errorf("store: river migrator: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("store: migrate job queue tables: %w", err)
	}
	db.log.Info("Applied job queue migrations", "count", len(res.Versions))
	return nil
}

// warnOnly passes on warnings and errors only: River's migrator reports
// every step at info, which would drown a first run's setup link.
type warnOnly struct{ h slog.Handler }

func (w warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.h.Enabled(ctx, l)
}
func (w warnOnly) Handle(ctx context.Context, r slog.Record) error { return w.h.Handle(ctx, r) }
func (w warnOnly) WithAttrs(as []slog.Attr) slog.Handler           { return warnOnly{w.h.WithAttrs(as)} }
func (w warnOnly) WithGroup(name string) slog.Handler              { return warnOnly{w.h.WithGroup(name)} }

// riverPending reports whether River's tables need migrating.
func (db *DB) riverPending(ctx context.Context) (bool, error) {
	m, err := rivermigrate.New(db.RiverDriver(), &rivermigrate.Config{Logger: slog.New(warnOnly{db.log.Handler()})})
	if err != nil {
		return false, fmt.Errorf("store: river migrator: %w", err)
	}
	existing, err := m.ExistingVersions(ctx)
	if err != nil {
		// Before River's first migration its version table does not exist.
		return true, nil
	}
	return len(existing) < len(m.AllVersions()), nil
}
