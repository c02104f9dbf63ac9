package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// BulkBackgroundMin is the selection size from which the dashboard runs a
// bulk action as a background job with progress rather than in the
// request: above one transaction's worth of users.
const BulkBackgroundMin = bulkChunk + 1

// MaxBulkIDs caps the ids one request may tick; larger selections are
// given as a filter.
const MaxBulkIDs = 100_000

// bulkJobRequest is a job's BulkRequest as stored: the filter as the query
// string the dashboard shows.
type bulkJobRequest struct {
	IDs        []int64 `json:"ids,omitempty"`
	Filter     *string `json:"filter,omitempty"`
	Permission string  `json:"permission,omitempty"`
	Date       string  `json:"date,omitempty"`
}

// StartBulk checks a bulk action as Bulk does and queues it as a
// background job: a runner (RunBulkJobs, in every `roster serve`) applies
// it a chunk per transaction, checkpointed, so that it survives a restart
// and shows its progress. The selection is the users matching now: users
// created after this call are never part of it. Remove needs Confirm to
// equal that count, as for Bulk.
func (s *Service) StartBulk(ctx context.Context, a *roster.Actor, req BulkRequest) (*store.BulkJob, error) {
	if err := s.checkBulk(a, req); err != nil {
		return nil, err
	}
	if len(req.IDs) > MaxBulkIDs {
		return nil, roster.FieldError("ids", fmt.Sprintf("at most %d ids in one request; select by filter instead", MaxBulkIDs))
	}
	j := &store.BulkJob{OrgID: a.Org.ID, ActorUserID: a.User.ID, Actor: actorName(a), Action: req.Action}
	var stored bulkJobRequest
	if req.Permission != 0 {
		stored.Permission = req.Permission.Name()
	}
	if !req.Date.IsZero() {
		stored.Date = req.Date.String()
	}
	if req.Filter == nil {
		ids := slices.Clone(req.IDs)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		stored.IDs, j.Total, j.MaxUserID = ids, len(ids), ids[len(ids)-1]
	} else {
		f := selectionFilter(*req.Filter)
		q := f.Values().Encode()
		stored.Filter = &q
		var err error
		if j.Total, err = s.db.CountUsersMatching(ctx, a.Org.ID, f, a.Org.Today(s.now())); err != nil {
			return nil, wrap("start bulk "+req.Action, err)
		}
		if j.MaxUserID, err = s.db.MaxUserID(ctx, a.Org.ID); err != nil {
			return nil, wrap("start bulk "+req.Action, err)
		}
	}
	if req.Action == BulkRemove && req.Confirm != j.Total {
		return nil, &ErrConfirmCount{Selected: j.Total}
	}
	body, err := json.Marshal(stored)
	if err != nil {
		return nil, wrap("start bulk "+req.Action, err)
	}
	j.Request = string(body)
	if err := s.db.CreateBulkJob(ctx, j, s.now()); err != nil {
		return nil, wrap("start bulk "+req.Action, err)
	}
	select {
	case s.bulkNudge <- struct{}{}:
	default:
	}
	return j, nil
}

// selectionFilter is f without what orders or pages a listing: a bulk
// action takes every match.
func selectionFilter(f roster.UserFilter) roster.UserFilter {
	f.Sort, f.Desc, f.Limit, f.Cursor = "", false, 0, ""
	return f
}

// BulkJob returns one of the organization's background bulk actions with
// the first skipped users it kept (at most limit).
func (s *Service) BulkJob(ctx context.Context, a *roster.Actor, id int64, limit int) (*store.BulkJob, []store.BulkJobSkip, error) {
	if err := s.authorize(a); err != nil {
		return nil, nil, err
	}
	j, err := s.db.BulkJobByID(ctx, a.Org.ID, id)
	if err != nil {
		return nil, nil, wrap("bulk job", err)
	}
	skips, err := s.db.BulkJobSkips(ctx, a.Org.ID, id, limit)
	if err != nil {
		return nil, nil, wrap("bulk job", err)
	}
	return j, skips, nil
}

// RunBulkJobs runs background bulk actions until ctx ends: those started
// here and those another instance left unfinished (its lease ran out).
// owner names this instance in the lease.
func (s *Service) RunBulkJobs(ctx context.Context, owner string) error {
	s.runJobs(ctx, s.bulkNudge, func() (bool, error) { return s.RunOneBulkJob(ctx, owner, 0) }, "Run bulk action", nil)
	return nil
}

// RunOneBulkJob claims one bulk job that needs running (the given one when
// id is not 0) and runs it to the end. It reports false when none was free.
func (s *Service) RunOneBulkJob(ctx context.Context, owner string, id int64) (bool, error) {
	j, err := s.db.ClaimBulkJob(ctx, owner, id, s.now(), s.importLease)
	if errors.Is(err, roster.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	log := s.log.With("org_id", j.OrgID, "bulk_job_id", j.ID, "action", j.Action)
	log.Info("Running bulk action", "total", j.Total, "resume_after_user", j.CursorID)
	failure, err := s.runBulkJob(ctx, owner, j)
	if err != nil {
		// The database, the context or the lease failed us: the job stays
		// running and is resumed from its checkpoint.
		return true, fmt.Errorf("admin: bulk job %d: %w", j.ID, err)
	}
	state := store.BulkJobDone
	if failure != "" {
		state = store.BulkJobFailed
	}
	if err := s.db.FinishBulkJob(ctx, j, owner, state, failure, s.now()); err != nil {
		return true, fmt.Errorf("admin: finish bulk job %d: %w", j.ID, err)
	}
	log.Info("Ran bulk action", "state", state, "done", j.Done, "skipped", j.Skipped, "failure", failure)
	return true, nil
}

// runBulkJob applies j from its checkpoint to the end, as its actor: their
// rights are checked again first, so a job outlives no one's access. A
// failure that is the job's own is returned as a message for it; other
// errors leave it to be resumed.
func (s *Service) runBulkJob(ctx context.Context, owner string, j *store.BulkJob) (string, error) {
	a, failure, err := s.backgroundActor(ctx, j.OrgID, j.ActorUserID, j.Actor, "action", "bulk")
	if a == nil {
		return failure, err
	}
	req, err := decodeBulkJob(j)
	if err != nil {
		return err.Error(), nil
	}
	if err := s.checkBulk(a, req); err != nil {
		return err.Error(), nil // e.g. the actor no longer holds the permission to grant
	}
	for {
		chunk, err := s.bulkJobChunk(ctx, a, req, j)
		if err != nil || len(chunk) == 0 {
			return "", err
		}
		res := &BulkResult{}
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			if err := s.bulkChunk(ctx, tx, a, req, chunk, res); err != nil {
				return err
			}
			cp := store.BulkCheckpoint{CursorID: chunk[len(chunk)-1], Processed: len(chunk), Done: res.Done, Reasons: map[string]int{}}
			for _, sk := range res.Skipped {
				cp.Skips = append(cp.Skips, store.BulkJobSkip{UserID: sk.ID, Email: sk.Email, Reason: sk.Reason})
				cp.Reasons[sk.Kind]++
			}
			return tx.CheckpointBulkJob(ctx, j, owner, cp, s.now(), s.importLease)
		})
		if err != nil {
			return "", err
		}
	}
}

// bulkJobChunk returns the next chunk of j's selection after its cursor,
// in id order; none when it is through.
func (s *Service) bulkJobChunk(ctx context.Context, a *roster.Actor, req BulkRequest, j *store.BulkJob) ([]int64, error) {
	if req.Filter == nil {
		i, _ := slices.BinarySearch(req.IDs, j.CursorID+1)
		return req.IDs[i:min(i+bulkChunk, len(req.IDs))], nil
	}
	ids, err := s.db.UserIDs(ctx, a.Org.ID, *req.Filter, a.Org.Today(s.now()), j.CursorID, bulkChunk)
	if err != nil {
		return nil, err
	}
	if i, _ := slices.BinarySearch(ids, j.MaxUserID+1); i < len(ids) {
		ids = ids[:i] // created after the job started
	}
	return ids, nil
}

// decodeBulkJob reads back the request StartBulk stored.
func decodeBulkJob(j *store.BulkJob) (BulkRequest, error) {
	var in bulkJobRequest
	if err := json.Unmarshal([]byte(j.Request), &in); err != nil {
		return BulkRequest{}, fmt.Errorf("the stored request is unreadable: %v", err)
	}
	req := BulkRequest{Action: j.Action, IDs: in.IDs}
	var err error
	if in.Permission != "" {
		if req.Permission, err = roster.ParsePermission(in.Permission); err != nil {
			return req, fmt.Errorf("the stored request is unreadable: %v", err)
		}
	}
	if in.Date != "" {
		if req.Date, err = roster.ParseDate(in.Date); err != nil {
			return req, fmt.Errorf("the stored request is unreadable: %v", err)
		}
	}
	if in.Filter != nil {
		q, err := url.ParseQuery(*in.Filter)
		if err != nil {
			return req, fmt.Errorf("the stored filter is unreadable: %v", err)
		}
		f, err := roster.ParseUserFilter(q)
		if err != nil {
			return req, fmt.Errorf("the stored filter is unreadable: %v", err)
		}
		req.Filter = &f
	}
	return req, nil
}
