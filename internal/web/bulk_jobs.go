package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// A bulk action over many users runs as a background job (admin.StartBulk);
// its page shows the progress, then the result: N done, M skipped with
// the reasons counted and the first skipped users named.

// bulkJobSkipsShown is how many skipped users the result page lists.
const bulkJobSkipsShown = 100

type bulkJobView struct {
	Job     *store.BulkJob
	Label   string // the action, as the menu names it
	Path    string
	Reasons []bulkReason
	Skips   []store.BulkJobSkip
	More    bool // more skipped users than listed
}

type bulkReason struct {
	Reason string
	Count  int
}

// bulkActionLabels names the actions as the dashboard's menu does.
var bulkActionLabels = map[string]string{
	admin.BulkResend:           "Resend invitations",
	admin.BulkExpire:           "Expire",
	admin.BulkGrantPermission:  "Grant permission",
	admin.BulkRevokePermission: "Revoke permission",
	admin.BulkSetExpiration:    "Set expiration date",
	admin.BulkClearExpiration:  "Clear expiration date",
	admin.BulkRemove:           "Remove access",
}

func bulkJobPath(id int64) string { return fmt.Sprintf("/bulk/%d", id) }

// bulkJobFromPath reads the job the URL names, answering 404 itself.
func (h *Handler) bulkJobFromPath(w http.ResponseWriter, r *http.Request, a *roster.Actor, skips int) (*store.BulkJob, []store.BulkJobSkip, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		err = roster.ErrNotFound
	}
	var j *store.BulkJob
	var sk []store.BulkJobSkip
	if err == nil {
		j, sk, err = h.svc.BulkJob(r.Context(), a, id, skips)
	}
	if err != nil {
		h.fail(w, r, err)
		return nil, nil, false
	}
	return j, sk, true
}

func (h *Handler) showBulkJob(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	j, skips, ok := h.bulkJobFromPath(w, r, a, bulkJobSkipsShown)
	if !ok {
		return
	}
	v := bulkJobView{Job: j, Label: bulkActionLabels[j.Action], Path: bulkJobPath(j.ID), Skips: skips, More: j.Skipped > len(skips)}
	for reason, n := range j.SkipReasons {
		v.Reasons = append(v.Reasons, bulkReason{reason, n})
	}
	slices.SortFunc(v.Reasons, func(x, y bulkReason) int { return y.Count - x.Count })
	title := v.Label + ": done"
	switch j.State {
	case store.BulkJobRunning:
		title = v.Label + ": in progress"
	case store.BulkJobFailed:
		title = v.Label + ": stopped"
	}
	h.render(w, r, "bulk_job", &view{Title: title, Data: v})
}

// bulkJobStatus is the progress page's poll: the job's figures as JSON.
func (h *Handler) bulkJobStatus(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var j *store.BulkJob
	if err == nil {
		j, _, err = h.svc.BulkJob(r.Context(), a, id, 0)
	} else {
		err = roster.ErrNotFound
	}
	if errors.Is(err, roster.ErrNotFound) {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	if err != nil {
		h.log.Error("Dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"state": j.State, "total": j.Total, "processed": j.Processed, "done": j.Done, "skipped": j.Skipped})
}
