package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

// Import states (SPEC "Interfaces", imports).
const (
	ImportUploading = "uploading" // the file is still being received
	ImportPreviewed = "previewed"
	ImportApplying  = "applying"
	ImportDone      = "done"
	ImportFailed    = "failed"
)

// Import is one CSV upload, from preview to result.
type Import struct {
	ID, OrgID         int64
	ActorUserID       int64
	Actor             string
	FileName          string
	SizeBytes         int64
	WelcomeMessage    roster.Optional[string]
	DefaultExpiration roster.Date
	State             string
	Rows              int // data rows in the file (blank rows not counted)
	Processed         int // rows applied so far
	LastRow           int // spreadsheet row number of the last row applied
	Batches           int
	// What the preview expects.
	WillCreate, WillUpdate, WillFail int
	// What applying did.
	Created, Updated, Invited, Errors int
	UnknownColumns                    string // as the file spells them, comma-separated
	Failure                           string
	CreatedAt, UpdatedAt, FinishedAt  time.Time
}

// ImportIssue is a row problem found by the preview or while applying.
type ImportIssue struct {
	Row     int
	Column  string
	Message string
}

// ImportChange is an existing user's old and new values (JSON).
type ImportChange struct {
	Row           int
	Email         string
	Before, After string
}

// ErrLeaseLost means another instance took over an import this one was
// applying (this one stalled past its lease); the batch must not commit.
var ErrLeaseLost = errors.New("store: import taken over by another instance")

const importColumns = `id, org_id, actor_user_id, actor, file_name, size_bytes, welcome_message, default_expiration, state,
	rows_total, processed, last_row, batches, will_create, will_update, will_fail, created, updated, invited, errors,
	unknown_columns, failure, created_at, updated_at, finished_at`

func scanImport(row interface{ Scan(...any) error }) (*Import, error) {
	var im Import
	var actorID sql.NullInt64
	var welcome sql.NullString
	err := row.Scan(&im.ID, &im.OrgID, &actorID, &im.Actor, &im.FileName, &im.SizeBytes, &welcome, dateCol{&im.DefaultExpiration},
		&im.State, &im.Rows, &im.Processed, &im.LastRow, &im.Batches, &im.WillCreate, &im.WillUpdate, &im.WillFail,
		&im.Created, &im.Updated, &im.Invited, &im.Errors, &im.UnknownColumns, &im.Failure,
		timeCol{&im.CreatedAt}, timeCol{&im.UpdatedAt}, timeCol{&im.FinishedAt})
	if err != nil {
		return nil, mapErr(err)
	}
	im.ActorUserID = actorID.Int64
	if welcome.Valid {
		im.WelcomeMessage = roster.Some(welcome.String)
	}
	return &im, nil
}

// CreateImport records a new upload in state "uploading" and sets its ID.
func (db *DB) CreateImport(ctx context.Context, im *Import, now time.Time) error {
	im.State, im.CreatedAt, im.UpdatedAt = ImportUploading, utc(now), utc(now)
	var welcome any
	if im.WelcomeMessage.Set {
		welcome = im.WelcomeMessage.Value
	}
	err := db.w.QueryRowContext(ctx,
		`INSERT INTO imports (org_id, actor_user_id, actor, file_name, welcome_message, default_expiration, state, created_at, updated_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
		im.OrgID, nullID(im.ActorUserID), im.Actor, im.FileName, welcome, dateArg(im.DefaultExpiration), im.State, im.CreatedAt).Scan(&im.ID)
	if err != nil {
		return fmt.Errorf("store: create import in org %d: %w", im.OrgID, mapErr(err))
	}
	return nil
}

// AddImportChunk stores the next piece of an upload's file. Each is its own
// short transaction, so a slow upload never holds the database.
func (db *DB) AddImportChunk(ctx context.Context, orgID, importID int64, seq int, data []byte) error {
	_, err := db.w.ExecContext(ctx,
		`INSERT INTO import_chunks (import_id, seq, data)
		 SELECT id, $3, $4 FROM imports WHERE org_id = $1 AND id = $2`, orgID, importID, seq, data)
	if err != nil {
		return fmt.Errorf("store: store chunk %d of import %d: %w", seq, importID, err)
	}
	return nil
}

// ImportFile streams an upload's file back, a chunk at a time.
func (db *DB) ImportFile(ctx context.Context, orgID, importID int64) io.Reader {
	return &chunkReader{ctx: ctx, db: db, orgID: orgID, importID: importID}
}

type chunkReader struct {
	ctx      context.Context
	db       *DB
	orgID    int64
	importID int64
	seq      int
	buf      bytes.Reader
	err      error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for r.buf.Len() == 0 {
		if r.err != nil {
			return 0, r.err
		}
		var data []byte
		err := r.db.r.QueryRowContext(r.ctx,
			`SELECT c.data FROM import_chunks c JOIN imports i ON i.id = c.import_id
			 WHERE i.org_id = $1 AND c.import_id = $2 AND c.seq = $3`, r.orgID, r.importID, r.seq).Scan(&data)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			r.err = io.EOF
		case err != nil:
			r.err = fmt.Errorf("store: read chunk %d of import %d: %w", r.seq, r.importID, err)
		default:
			r.seq++
			r.buf.Reset(data)
		}
	}
	return r.buf.Read(p)
}

// SavePreview records what the preview found and moves the import to
// "previewed": counts, the first issues and changes (the caller caps them).
func (db *DB) SavePreview(ctx context.Context, im *Import, issues []ImportIssue, changes []ImportChange, now time.Time) error {
	return db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ex.ExecContext(ctx,
			`UPDATE imports SET state = $3, size_bytes = $4, rows_total = $5, will_create = $6, will_update = $7, will_fail = $8,
			 unknown_columns = $9, updated_at = $10 WHERE org_id = $1 AND id = $2 AND state = 'uploading'`,
			im.OrgID, im.ID, ImportPreviewed, im.SizeBytes, im.Rows, im.WillCreate, im.WillUpdate, im.WillFail, im.UnknownColumns, utc(now))
		if err != nil {
			return fmt.Errorf("store: save preview of import %d: %w", im.ID, err)
		}
		if err := mustAffect(res, "store: save preview"); err != nil {
			return err
		}
		im.State = ImportPreviewed
		if err := tx.addIssues(ctx, im.ID, "preview", issues); err != nil {
			return err
		}
		stmt, err := tx.tx.PrepareContext(ctx, "INSERT INTO import_changes (import_id, row_num, email, before_json, after_json) VALUES ($1, $2, $3, $4, $5)")
		if err != nil {
			return fmt.Errorf("store: save preview changes: %w", err)
		}
		defer stmt.Close()
		for _, c := range changes {
			if _, err := stmt.ExecContext(ctx, im.ID, c.Row, c.Email, c.Before, c.After); err != nil {
				return fmt.Errorf("store: save preview change: %w", err)
			}
		}
		return nil
	})
}

func (tx *Tx) addIssues(ctx context.Context, importID int64, phase string, issues []ImportIssue) error {
	if len(issues) == 0 {
		return nil
	}
	stmt, err := tx.tx.PrepareContext(ctx, "INSERT INTO import_issues (import_id, phase, row_num, column_name, message) VALUES ($1, $2, $3, $4, $5)")
	if err != nil {
		return fmt.Errorf("store: save import issues: %w", err)
	}
	defer stmt.Close()
	for _, is := range issues {
		if _, err := stmt.ExecContext(ctx, importID, phase, is.Row, is.Column, is.Message); err != nil {
			return fmt.Errorf("store: save import issue: %w", err)
		}
	}
	return nil
}

// DeleteImport forgets an upload that was refused (too large, not a CSV).
func (db *DB) DeleteImport(ctx context.Context, orgID, id int64) error {
	if _, err := db.w.ExecContext(ctx, "DELETE FROM imports WHERE org_id = $1 AND id = $2", orgID, id); err != nil {
		return fmt.Errorf("store: delete import %d: %w", id, err)
	}
	return nil
}

// DeleteImportIn deletes an import of the organization only while it is
// in state, and reports how many it deleted (0 or 1).
func (db *DB) DeleteImportIn(ctx context.Context, orgID, id int64, state string) (int64, error) {
	res, err := db.w.ExecContext(ctx, "DELETE FROM imports WHERE org_id = $1 AND id = $2 AND state = $3", orgID, id, state)
	if err != nil {
		return 0, fmt.Errorf("store: delete import %d: %w", id, err)
	}
	return res.RowsAffected()
}

// DeleteStaleImports deletes, in every organization, previews nobody
// applied and uploads that never finished, last touched before before. It
// is housekeeping, run by the system for all organizations.
func (db *DB) DeleteStaleImports(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, "DELETE FROM imports WHERE state IN ('previewed', 'uploading') AND updated_at < $1", utc(before))
	if err != nil {
		return 0, fmt.Errorf("store: delete stale imports: %w", err)
	}
	return res.RowsAffected()
}

// ImportByID finds an import of the organization.
func (q *q) ImportByID(ctx context.Context, orgID, id int64) (*Import, error) {
	im, err := scanImport(q.ex.QueryRowContext(ctx, "SELECT "+importColumns+" FROM imports WHERE org_id = $1 AND id = $2", orgID, id))
	if err != nil {
		return nil, fmt.Errorf("store: import %d in org %d: %w", id, orgID, err)
	}
	return im, nil
}

// Imports lists the organization's newest imports.
func (q *q) Imports(ctx context.Context, orgID int64, limit int) ([]*Import, error) {
	rows, err := q.ex.QueryContext(ctx, "SELECT "+importColumns+" FROM imports WHERE org_id = $1 ORDER BY id DESC LIMIT $2", orgID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: imports of org %d: %w", orgID, err)
	}
	defer rows.Close()
	var out []*Import
	for rows.Next() {
		im, err := scanImport(rows)
		if err != nil {
			return nil, fmt.Errorf("store: imports of org %d: %w", orgID, err)
		}
		out = append(out, im)
	}
	return out, rows.Err()
}

// ImportIssues returns an import's first issues of a phase ("preview" or
// "apply") in row order.
func (q *q) ImportIssues(ctx context.Context, orgID, id int64, phase string, limit int) ([]ImportIssue, error) {
	rows, err := q.ex.QueryContext(ctx,
		`SELECT s.row_num, s.column_name, s.message FROM import_issues s JOIN imports i ON i.id = s.import_id
		 WHERE i.org_id = $1 AND s.import_id = $2 AND s.phase = $3 ORDER BY s.row_num LIMIT $4`, orgID, id, phase, limit)
	if err != nil {
		return nil, fmt.Errorf("store: issues of import %d: %w", id, err)
	}
	defer rows.Close()
	var out []ImportIssue
	for rows.Next() {
		var is ImportIssue
		if err := rows.Scan(&is.Row, &is.Column, &is.Message); err != nil {
			return nil, fmt.Errorf("store: issues of import %d: %w", id, err)
		}
		out = append(out, is)
	}
	return out, rows.Err()
}

// ImportChanges returns the first changes the preview planned, in row order.
func (q *q) ImportChanges(ctx context.Context, orgID, id int64, limit int) ([]ImportChange, error) {
	rows, err := q.ex.QueryContext(ctx,
		`SELECT c.row_num, c.email, c.before_json, c.after_json FROM import_changes c JOIN imports i ON i.id = c.import_id
		 WHERE i.org_id = $1 AND c.import_id = $2 ORDER BY c.row_num LIMIT $3`, orgID, id, limit)
	if err != nil {
		return nil, fmt.Errorf("store: changes of import %d: %w", id, err)
	}
	defer rows.Close()
	var out []ImportChange
	for rows.Next() {
		var c ImportChange
		if err := rows.Scan(&c.Row, &c.Email, &c.Before, &c.After); err != nil {
			return nil, fmt.Errorf("store: changes of import %d: %w", id, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// StartApply moves a previewed import to "applying" on behalf of the actor
// who pressed "Invite Users" (the invitations carry their name). It is
// roster.ErrConflict when the import is not in the previewed state.
func (db *DB) StartApply(ctx context.Context, orgID, id, actorUserID int64, actor string, now time.Time) error {
	res, err := db.w.ExecContext(ctx,
		`UPDATE imports SET state = $3, actor_user_id = $4, actor = $5, updated_at = $6, lease_owner = NULL, lease_until = NULL
		 WHERE org_id = $1 AND id = $2 AND state = 'previewed'`, orgID, id, ImportApplying, nullID(actorUserID), actor, utc(now))
	if err != nil {
		return fmt.Errorf("store: start import %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := db.ImportByID(ctx, orgID, id); err != nil {
			return err
		}
		return fmt.Errorf("store: start import %d: %w", id, roster.ErrConflict)
	}
	return nil
}

// ClaimImport takes, for owner, the oldest import that is applying and
// that no live instance holds (its lease ran out: that instance died), or
// the given one when id is not 0. It is roster.ErrNotFound when none is
// free.
func (db *DB) ClaimImport(ctx context.Context, owner string, id int64, now time.Time, lease time.Duration) (*Import, error) {
	im, err := scanImport(db.claimLeased(ctx, "imports", "applying", importColumns, owner, id, now, lease))
	if err != nil {
		return nil, fmt.Errorf("store: claim an import: %w", err)
	}
	return im, nil
}

// claimLeased takes, for owner, the oldest row of table in state that no
// live instance holds (its lease_until passed), or the given one when id
// is not 0, and returns its columns; the row scans as sql.ErrNoRows when
// none is free. Background work (imports, bulk jobs) is claimed this way.
func (db *DB) claimLeased(ctx context.Context, table, state, columns, owner string, id int64, now time.Time, lease time.Duration) *sql.Row {
	pick := "SELECT id FROM " + table + " WHERE state = $5 AND (lease_until IS NULL OR lease_until < $2)"
	if id != 0 {
		pick += " AND id = $4"
	} else {
		pick += " AND $4 = 0"
	}
	pick += " ORDER BY id LIMIT 1"
	if db.d == Postgres {
		pick += " FOR UPDATE SKIP LOCKED"
	}
	return db.w.QueryRowContext(ctx,
		`UPDATE `+table+` SET lease_owner = $1, lease_until = $3 WHERE id = (`+pick+`) RETURNING `+columns,
		owner, utc(now), utc(now.Add(lease)), id, state)
}

// ImportBatch is one transaction's worth of applied rows.
type ImportBatch struct {
	LastRow                           int
	Rows                              int // rows of the file the batch covers (valid or not)
	Created, Updated, Invited, Errors int
	Issues                            []ImportIssue // the batch's row problems to keep (the caller caps them)
	ReportCSV                         string        // the batch's lines of the report
}

// CheckpointImport records a batch in the transaction that applied it, so
// that a restart resumes after it and never applies it twice. It renews
// owner's lease, and fails with ErrLeaseLost when owner no longer holds it.
func (tx *Tx) CheckpointImport(ctx context.Context, im *Import, owner string, b ImportBatch, now time.Time, lease time.Duration) error {
	res, err := tx.ex.ExecContext(ctx,
		`UPDATE imports SET processed = processed + $4, last_row = $5, batches = batches + 1,
		 created = created + $6, updated = updated + $7, invited = invited + $8, errors = errors + $9,
		 lease_until = $10, updated_at = $11
		 WHERE org_id = $1 AND id = $2 AND lease_owner = $3 AND state = 'applying'`,
		im.OrgID, im.ID, owner, b.Rows, b.LastRow, b.Created, b.Updated, b.Invited, b.Errors, utc(now.Add(lease)), utc(now))
	if err != nil {
		return fmt.Errorf("store: checkpoint import %d: %w", im.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLeaseLost
	}
	if _, err := tx.ex.ExecContext(ctx, "INSERT INTO import_batches (import_id, seq, last_row, report_csv) VALUES ($1, $2, $3, $4)",
		im.ID, im.Batches, b.LastRow, b.ReportCSV); err != nil {
		return fmt.Errorf("store: checkpoint import %d: %w", im.ID, mapErr(err))
	}
	if err := tx.addIssues(ctx, im.ID, "apply", b.Issues); err != nil {
		return err
	}
	im.Processed += b.Rows
	im.LastRow, im.Batches = b.LastRow, im.Batches+1
	im.Created, im.Updated, im.Invited, im.Errors = im.Created+b.Created, im.Updated+b.Updated, im.Invited+b.Invited, im.Errors+b.Errors
	return nil
}

// FinishImport ends an import owner holds, as done or failed (with a reason).
func (db *DB) FinishImport(ctx context.Context, im *Import, owner, state, failure string, now time.Time) error {
	if err := db.finishLeased(ctx, "imports", ImportApplying, im.OrgID, im.ID, owner, state, failure, now); err != nil {
		return fmt.Errorf("store: finish import %d: %w", im.ID, err)
	}
	im.State, im.Failure, im.FinishedAt = state, failure, utc(now)
	return nil
}

// finishLeased moves a row of table that owner holds from the running
// state to state (done or failed, with a reason) and drops the lease. It is
// ErrLeaseLost when owner no longer holds it.
func (db *DB) finishLeased(ctx context.Context, table, running string, orgID, id int64, owner, state, failure string, now time.Time) error {
	res, err := db.w.ExecContext(ctx,
		`UPDATE `+table+` SET state = $4, failure = $5, finished_at = $6, updated_at = $6, lease_owner = NULL, lease_until = NULL
		 WHERE org_id = $1 AND id = $2 AND lease_owner = $3 AND state = $7`,
		orgID, id, owner, state, failure, utc(now), running)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// WriteImportReport writes the report lines of every applied batch, in
// order (the caller writes the header).
func (db *DB) WriteImportReport(ctx context.Context, orgID, id int64, w io.Writer) error {
	// A batch at a time: a million rows' report is never in memory.
	for seq := 0; ; seq++ {
		var part string
		err := db.r.QueryRowContext(ctx,
			`SELECT b.report_csv FROM import_batches b JOIN imports i ON i.id = b.import_id
			 WHERE i.org_id = $1 AND b.import_id = $2 AND b.seq = $3`, orgID, id, seq).Scan(&part)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: report of import %d: %w", id, err)
		}
		if _, err := io.WriteString(w, part); err != nil {
			return err
		}
	}
}

// AnalyzeUsers refreshes the planner's statistics of the users table. A
// large import grows it faster than autovacuum notices: planned as the
// small table it was, each batch's lookup by email became a full scan.
func (db *DB) AnalyzeUsers(ctx context.Context) error {
	q := "ANALYZE users"
	if db.d == SQLite {
		q = "PRAGMA optimize"
	}
	if _, err := db.w.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("store: analyze users: %w", err)
	}
	return db.noSkipScan(ctx)
}

// ImportApplying reports whether an import of the organization is being
// applied.
func (db *DB) ImportApplying(ctx context.Context, orgID int64) (bool, error) {
	var n int
	err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM imports WHERE org_id = $1 AND state = 'applying'", orgID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: imports applying in org %d: %w", orgID, err)
	}
	return n > 0, nil
}

// UsersEstimate is the planner's idea of how many users rows there are (0
// when never analyzed; always 0 on SQLite, whose planner uses the email
// index without statistics).
func (db *DB) UsersEstimate(ctx context.Context) (int64, error) {
	if db.d == SQLite {
		return 0, nil
	}
	var n int64
	if err := db.r.QueryRowContext(ctx, "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = 'users'::regclass").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: estimate users: %w", err)
	}
	return n, nil
}
