package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/csvimport"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// DefaultImportLease is how long an instance holds an import it applies
// without a checkpoint; another instance takes it over after that (the
// first one died). Every batch renews it.
const DefaultImportLease = time.Minute

// ApplyImport starts applying a previewed import ("Invite Users"): it
// moves to "applying" at once, and a runner (RunImports, in every `roster
// serve`) applies it in the background. The actor's rights are checked
// again when it runs, and the invitations carry the actor's name.
func (s *Service) ApplyImport(ctx context.Context, a *roster.Actor, id int64) (*store.Import, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	if err := s.db.StartApply(ctx, a.Org.ID, id, a.User.ID, actorName(a), s.now()); err != nil {
		if errors.Is(err, roster.ErrConflict) {
			return nil, wrap("apply import", ErrImportNotPreviewed)
		}
		return nil, wrap("apply import", err)
	}
	select {
	case s.importNudge <- struct{}{}:
	default:
	}
	im, err := s.db.ImportByID(ctx, a.Org.ID, id)
	return im, wrap("apply import", err)
}

// ErrImportNotPreviewed refuses to apply an import twice.
var ErrImportNotPreviewed = fmt.Errorf("this upload was already applied or is being applied: %w", roster.ErrConflict)

// RunImports applies imports until ctx ends: those started here and those
// another instance left unfinished (it died, so its lease ran out).
// owner names this instance in the lease.
func (s *Service) RunImports(ctx context.Context, owner string) error {
	var lastSweep time.Time
	s.runJobs(ctx, s.importNudge, func() (bool, error) { return s.RunOneImport(ctx, owner, 0) }, "Apply import", func() {
		if time.Since(lastSweep) < time.Hour {
			return
		}
		lastSweep = time.Now()
		// Previews nobody applied hold their file: forget them in time.
		n, err := s.db.DeleteStaleImports(ctx, s.now().Add(-ImportPreviewTTL))
		if err != nil && ctx.Err() == nil {
			s.log.Error("Delete stale imports", "err", err)
		} else if n > 0 {
			s.log.Info("Deleted imports previewed but never applied", "count", n, "older_than", ImportPreviewTTL)
		}
	})
	return nil
}

// runJobs runs background work until ctx ends: one() claims and runs one
// piece of it, and reports whether there was one; it is called until it
// finds none, then again each second or when nudged. tick, when not nil,
// runs between rounds.
func (s *Service) runJobs(ctx context.Context, nudge <-chan struct{}, one func() (bool, error), what string, tick func()) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			ran, err := one()
			if err != nil && ctx.Err() == nil {
				s.log.Error(what, "err", err)
			}
			if !ran || err != nil {
				break
			}
		}
		if tick != nil {
			tick()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-nudge:
		}
	}
}

// RunOneImport claims one import that needs applying (the given one when id
// is not 0) and applies it to the end. It reports false when none was free.
func (s *Service) RunOneImport(ctx context.Context, owner string, id int64) (bool, error) {
	im, err := s.db.ClaimImport(ctx, owner, id, s.now(), s.importLease)
	if errors.Is(err, roster.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	log := s.log.With("org_id", im.OrgID, "import_id", im.ID)
	log.Info("Applying import", "rows", im.Rows, "resume_after_row", im.LastRow)
	failure, err := s.applyImport(ctx, owner, im)
	if err != nil {
		// The database, the context or the lease failed us: the import
		// stays "applying" and is resumed from its checkpoint.
		return true, fmt.Errorf("admin: apply import %d: %w", im.ID, err)
	}
	state := store.ImportDone
	if failure != "" {
		state = store.ImportFailed
	}
	if err := s.db.FinishImport(ctx, im, owner, state, failure, s.now()); err != nil {
		return true, fmt.Errorf("admin: finish import %d: %w", im.ID, err)
	}
	a := &roster.Actor{Org: &roster.Org{ID: im.OrgID}, User: &roster.User{ID: im.ActorUserID, Email: im.Actor}}
	after := fmt.Sprintf(`{"import_id":%d,"state":%q,"rows":%d,"created":%d,"updated":%d,"invited":%d,"errors":%d}`,
		im.ID, state, im.Rows, im.Created, im.Updated, im.Invited, im.Errors)
	if err := s.db.InTx(ctx, func(tx *store.Tx) error {
		return s.audit(ctx, tx, im.OrgID, a, "import.apply", nil, "", after)
	}); err != nil {
		log.Error("Audit import", "err", err)
	}
	log.Info("Applied import", "state", state, "created", im.Created, "updated", im.Updated, "errors", im.Errors)
	return true, nil
}

// applyImport applies im from its checkpoint to the end. A failure that is
// the import's own (the actor lost the right to manage users) is returned
// as a message for the import; other errors leave it to be resumed.
func (s *Service) applyImport(ctx context.Context, owner string, im *store.Import) (string, error) {
	a, failure, err := s.backgroundActor(ctx, im.OrgID, im.ActorUserID, im.Actor, "upload", "import")
	if a == nil {
		return failure, err
	}
	r, err := csvimport.NewReader(s.db.ImportFile(ctx, im.OrgID, im.ID), csvimport.Options{Locale: a.Org.Locale})
	if err != nil {
		return "", fmt.Errorf("read the stored file: %w", err)
	}
	var dedup csvimport.Dedup
	b := &importBatch{im: im}
	// Refresh the planner's statistics each time the import doubles the
	// users table as last analyzed: a few ANALYZEs keep each batch's lookups
	// on the index, and an import small next to the table needs none.
	base, err := s.db.UsersEstimate(ctx)
	if err != nil {
		return "", err
	}
	analyzedAt, applied := max(base, 5_000), 0
	analyze := func() {
		if err := s.db.AnalyzeUsers(ctx); err != nil {
			s.log.Warn("Analyze users during an import", "import_id", im.ID, "err", err)
		}
		analyzedAt = base + int64(applied)
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read the stored file: %w", err)
		}
		first, dup := 0, false
		if len(row.Errors) == 0 {
			first, dup = dedup.Seen(row.Email, row.Num)
		}
		if row.Num <= im.LastRow {
			continue // applied before a restart; Dedup still had to see it
		}
		b.add(row, first, dup)
		if len(b.rows) == importBatchRows {
			if err := s.applyBatch(ctx, owner, a, b); err != nil {
				return "", err
			}
			applied += importBatchRows
			if base+int64(applied) >= 2*analyzedAt {
				analyze()
			}
		}
	}
	if err := s.applyBatch(ctx, owner, a, b); err != nil {
		return "", err
	}
	if applied >= 10_000 && int64(applied) >= base/5 {
		analyze() // (SQLite: PRAGMA optimize, as after any large change)
	}
	return "", nil
}

// backgroundActor is the admin who started background work (what: "upload")
// as its actor, checked again now: a job outlives no one's access. When
// they are gone or may no longer manage users, it returns a nil actor and
// the reason for the work to fail with; other errors leave it to resume.
func (s *Service) backgroundActor(ctx context.Context, orgID, userID int64, name, what, via string) (*roster.Actor, string, error) {
	p, err := s.db.UserWithOrg(ctx, orgID, userID)
	if errors.Is(err, roster.ErrNotFound) {
		return nil, fmt.Sprintf("the admin who started this %s no longer exists", what), nil
	}
	if err != nil {
		return nil, "", err
	}
	a := &roster.Actor{Org: p.Org, User: p.User, Via: via}
	if err := s.authorize(a); err != nil {
		var ae *roster.AccessError
		if errors.As(err, &ae) {
			return nil, fmt.Sprintf("%s can no longer manage users (%s)", name, strings.TrimSuffix(ae.Reason, ".")), nil
		}
		return nil, fmt.Sprintf("%s can no longer manage users", name), nil
	}
	return a, "", nil
}

// importBatch collects rows for one transaction.
type importBatch struct {
	im      *store.Import
	rows    []batchRow
	inputs  []InviteInput
	lastRow int
	buf     bytes.Buffer
}

type batchRow struct {
	num    int
	email  string
	input  int // index into inputs, or -1 for a row refused before the rules
	issues []store.ImportIssue
}

func (b *importBatch) add(row *csvimport.Row, first int, dup bool) {
	br := batchRow{num: row.Num, email: row.Email, input: -1}
	switch {
	case len(row.Errors) > 0:
		for _, e := range row.Errors {
			br.issues = append(br.issues, store.ImportIssue{Row: e.Row, Column: e.Column, Message: e.Reason})
		}
	case dup:
		br.issues = []store.ImportIssue{{Row: row.Num, Column: csvimport.ColumnEmail,
			Message: fmt.Sprintf("duplicate of row %d's email; each email may appear once", first)}}
	default:
		br.input = len(b.inputs)
		b.inputs = append(b.inputs, inviteInput(row, b.im))
	}
	b.rows = append(b.rows, br)
	b.lastRow = row.Num
}

// applyBatch applies the batch's rows, queues their invitations and
// checkpoints, in one transaction.
func (s *Service) applyBatch(ctx context.Context, owner string, a *roster.Actor, b *importBatch) error {
	if len(b.rows) == 0 {
		return nil
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := s.inviteRows(ctx, tx, a, b.inputs)
		if err != nil {
			return err
		}
		cp := store.ImportBatch{LastRow: b.lastRow, Rows: len(b.rows)}
		lines := make([][]string, 0, len(b.rows))
		for _, br := range b.rows {
			issues := br.issues
			if br.input >= 0 {
				if r := res[br.input]; r.Err != nil {
					issues = rowIssues(br.num, r.Err)
				} else {
					outcome := "updated"
					if r.Created {
						outcome = "created"
						cp.Created++
					} else {
						cp.Updated++
					}
					cp.Invited++
					lines = append(lines, []string{itoa(br.num), r.User.Email, outcome, "invitation queued"})
					continue
				}
			}
			cp.Errors++
			msg := ""
			for i, is := range issues {
				if i > 0 {
					msg += "; "
				}
				if is.Column != "" {
					msg += is.Column + ": "
				}
				msg += is.Message
			}
			lines = append(lines, []string{itoa(br.num), br.email, "error", msg})
			if room := ImportIssueLimit - b.im.Errors - len(cp.Issues); room > 0 {
				cp.Issues = append(cp.Issues, issues[:min(room, len(issues))]...)
			}
		}
		if cp.ReportCSV, err = reportLines(&b.buf, lines); err != nil {
			return err
		}
		return tx.CheckpointImport(ctx, b.im, owner, cp, s.now(), s.importLease)
	})
	if err != nil {
		return err
	}
	b.rows, b.inputs = b.rows[:0], b.inputs[:0]
	return nil
}
