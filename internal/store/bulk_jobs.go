package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

// Bulk job states.
const (
	BulkJobRunning = "running"
	BulkJobDone    = "done"
	BulkJobFailed  = "failed"
)

// MaxBulkJobSkips is how many skipped users a job keeps by name; the rest
// are counted by reason only.
const MaxBulkJobSkips = 1000

// BulkJob is a bulk action running in the background, a chunk of users per
// transaction (migration 0005).
type BulkJob struct {
	ID          int64
	OrgID       int64
	ActorUserID int64 // 0 once that user is removed
	Actor       string
	Action      string
	Request     string // JSON, as the admin package writes it
	State       string
	Total       int // users selected when the job started
	Processed   int
	Done        int
	Skipped     int
	SkipReasons map[string]int // why users were skipped, counted
	CursorID    int64          // the last user id handled
	MaxUserID   int64          // users with higher ids came later and are not part of it
	Failure     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FinishedAt  time.Time
}

// BulkJobSkip is a user a job left alone, and why.
type BulkJobSkip struct {
	UserID int64
	Email  string
	Reason string
}

const bulkJobColumns = `id, org_id, actor_user_id, actor, action, request, state, total, processed, done, skipped,
	skip_reasons, cursor_id, max_user_id, failure, created_at, updated_at, finished_at`

func scanBulkJob(row interface{ Scan(...any) error }) (*BulkJob, error) {
	var j BulkJob
	var actorID sql.NullInt64
	var reasons string
	err := row.Scan(&j.ID, &j.OrgID, &actorID, &j.Actor, &j.Action, &j.Request, &j.State, &j.Total, &j.Processed,
		&j.Done, &j.Skipped, &reasons, &j.CursorID, &j.MaxUserID, &j.Failure,
		timeCol{&j.CreatedAt}, timeCol{&j.UpdatedAt}, timeCol{&j.FinishedAt})
	if err != nil {
		return nil, mapErr(err)
	}
	j.ActorUserID = actorID.Int64
	if err := json.Unmarshal([]byte(reasons), &j.SkipReasons); err != nil {
		return nil, fmt.Errorf("store: bulk job %d: skip reasons: %w", j.ID, err)
	}
	return &j, nil
}

// CreateBulkJob stores a new job, running and unclaimed; it sets j.ID.
func (db *DB) CreateBulkJob(ctx context.Context, j *BulkJob, now time.Time) error {
	j.State, j.CreatedAt, j.UpdatedAt = BulkJobRunning, utc(now), utc(now)
	if j.SkipReasons == nil {
		j.SkipReasons = map[string]int{}
	}
	err := db.w.QueryRowContext(ctx,
		`INSERT INTO bulk_jobs (org_id, actor_user_id, actor, action, request, state, total, max_user_id, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`,
		j.OrgID, nullID(j.ActorUserID), j.Actor, j.Action, j.Request, j.State, j.Total, j.MaxUserID, utc(now)).Scan(&j.ID)
	if err != nil {
		return fmt.Errorf("store: create bulk job in org %d: %w", j.OrgID, mapErr(err))
	}
	return nil
}

// BulkJobByID returns one of the organization's jobs; another
// organization's id is roster.ErrNotFound.
func (q *q) BulkJobByID(ctx context.Context, orgID, id int64) (*BulkJob, error) {
	j, err := scanBulkJob(q.ex.QueryRowContext(ctx, "SELECT "+bulkJobColumns+" FROM bulk_jobs WHERE org_id = $1 AND id = $2", orgID, id))
	if err != nil {
		return nil, fmt.Errorf("store: bulk job %d in org %d: %w", id, orgID, err)
	}
	return j, nil
}

// BulkJobSkips returns the first skipped users a job kept, in id order.
func (q *q) BulkJobSkips(ctx context.Context, orgID, id int64, limit int) ([]BulkJobSkip, error) {
	rows, err := q.ex.QueryContext(ctx,
		`SELECT s.user_id, s.email, s.reason FROM bulk_job_skips s JOIN bulk_jobs j ON j.id = s.job_id
		 WHERE j.org_id = $1 AND s.job_id = $2 ORDER BY s.user_id LIMIT $3`, orgID, id, limit)
	if err != nil {
		return nil, fmt.Errorf("store: skips of bulk job %d: %w", id, err)
	}
	defer rows.Close()
	out := []BulkJobSkip{}
	for rows.Next() {
		var s BulkJobSkip
		if err := rows.Scan(&s.UserID, &s.Email, &s.Reason); err != nil {
			return nil, fmt.Errorf("store: skips of bulk job %d: %w", id, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ClaimBulkJob takes, for owner, the oldest running job no live instance
// holds (its lease ran out), or the given one when id is not 0. It is
// roster.ErrNotFound when none is free.
func (db *DB) ClaimBulkJob(ctx context.Context, owner string, id int64, now time.Time, lease time.Duration) (*BulkJob, error) {
	j, err := scanBulkJob(db.claimLeased(ctx, "bulk_jobs", BulkJobRunning, bulkJobColumns, owner, id, now, lease))
	if err != nil {
		return nil, fmt.Errorf("store: claim a bulk job: %w", err)
	}
	return j, nil
}

// BulkCheckpoint is one chunk's worth of a job's progress.
type BulkCheckpoint struct {
	CursorID  int64 // the last user id of the chunk
	Processed int   // users of the chunk (done, skipped or gone)
	Done      int
	Skips     []BulkJobSkip // all of the chunk's; the first MaxBulkJobSkips of the job are kept
	Reasons   map[string]int
}

// CheckpointBulkJob records a chunk in the transaction that changed its
// users, so that a restart resumes after it and never handles it twice. It
// renews owner's lease, and fails with ErrLeaseLost when owner no longer
// holds it.
func (tx *Tx) CheckpointBulkJob(ctx context.Context, j *BulkJob, owner string, c BulkCheckpoint, now time.Time, lease time.Duration) error {
	reasons := make(map[string]int, len(j.SkipReasons)+len(c.Reasons))
	for k, n := range j.SkipReasons {
		reasons[k] = n
	}
	for k, n := range c.Reasons {
		reasons[k] += n
	}
	rj, _ := json.Marshal(reasons)
	res, err := tx.ex.ExecContext(ctx,
		`UPDATE bulk_jobs SET cursor_id = $4, processed = processed + $5, done = done + $6, skipped = skipped + $7,
		 skip_reasons = $8, lease_until = $9, updated_at = $10
		 WHERE org_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'running' AND cursor_id = $11`,
		j.OrgID, j.ID, owner, c.CursorID, c.Processed, c.Done, len(c.Skips), string(rj), utc(now.Add(lease)), utc(now), j.CursorID)
	if err != nil {
		return fmt.Errorf("store: checkpoint bulk job %d: %w", j.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLeaseLost
	}
	keep := c.Skips[:min(len(c.Skips), max(MaxBulkJobSkips-j.Skipped, 0))]
	for _, s := range keep {
		if _, err := tx.ex.ExecContext(ctx, "INSERT INTO bulk_job_skips (job_id, user_id, email, reason) VALUES ($1, $2, $3, $4)",
			j.ID, s.UserID, s.Email, s.Reason); err != nil {
			return fmt.Errorf("store: checkpoint bulk job %d: %w", j.ID, mapErr(err))
		}
	}
	j.CursorID, j.Processed, j.Done, j.Skipped = c.CursorID, j.Processed+c.Processed, j.Done+c.Done, j.Skipped+len(c.Skips)
	j.SkipReasons = reasons
	return nil
}

// FinishBulkJob ends a job owner holds, as done or failed (with a reason).
func (db *DB) FinishBulkJob(ctx context.Context, j *BulkJob, owner, state, failure string, now time.Time) error {
	if err := db.finishLeased(ctx, "bulk_jobs", BulkJobRunning, j.OrgID, j.ID, owner, state, failure, now); err != nil {
		return fmt.Errorf("store: finish bulk job %d: %w", j.ID, err)
	}
	j.State, j.Failure, j.FinishedAt = state, failure, utc(now)
	return nil
}

// CountUsersMatching counts the organization's users matching f exactly,
// however many (a listing stops counting at MaxExactTotal). today is the
// organization's date, for statuses.
func (q *q) CountUsersMatching(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date) (int, error) {
	drv, _, err := q.chooseDriver(ctx, orgID, f, today)
	if err != nil {
		return 0, err
	}
	uq, err := q.filterQuery(ctx, orgID, f, today, drv)
	if err != nil {
		return 0, err
	}
	cond, args := uq.w.sql()
	var n int
	if err := q.queryRowOn(ctx, q.ex, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE %s", uq.from, cond), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users of org %d: %w", orgID, err)
	}
	return n, nil
}

// MaxUserID is the highest user id in the organization, 0 when it has none.
func (q *q) MaxUserID(ctx context.Context, orgID int64) (int64, error) {
	var id sql.NullInt64
	if err := q.ex.QueryRowContext(ctx, "SELECT MAX(id) FROM users WHERE org_id = $1", orgID).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: max user id of org %d: %w", orgID, err)
	}
	return id.Int64, nil
}
