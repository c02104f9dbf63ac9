package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// bulkJSON is POST /api/v1/users/bulk's body (SPEC "Interfaces", bulk actions).
type bulkJSON struct {
	Action     string            `json:"action"`
	IDs        []int64           `json:"ids"`
	Filter     map[string]string `json:"filter"` // the keys GET /api/v1/users reads: q, status, permission, expires_from, expires_to, last_login
	Permission string            `json:"permission"`
	Date       string            `json:"date"`
	Confirm    int               `json:"confirm"`
	// Background runs the action as a job: 202 with the job, whose
	// progress GET /api/v1/bulk/{id} reports.
	Background bool `json:"background"`
}

type bulkSkipJSON struct {
	ID     int64  `json:"id"`
	Email  string `json:"email,omitempty"`
	Reason string `json:"reason"`
}

type bulkResultJSON struct {
	Done    int            `json:"done"`
	Skipped []bulkSkipJSON `json:"skipped"`
}

// bulkJobJSON is a background bulk action: its progress, then its result.
// skipped lists the first 1,000 skipped users; skip_reasons counts them all.
type bulkJobJSON struct {
	ID          int64          `json:"id"`
	Action      string         `json:"action"`
	State       string         `json:"state"` // running, done, failed
	Total       int            `json:"total"`
	Processed   int            `json:"processed"`
	Done        int            `json:"done"`
	SkippedN    int            `json:"skipped_count"`
	SkipReasons map[string]int `json:"skip_reasons"`
	Skipped     []bulkSkipJSON `json:"skipped"`
	Failure     string         `json:"failure,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	FinishedAt  *time.Time     `json:"finished_at"`
}

func (h *Handler) bulkUsers(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	var in bulkJSON
	if err := decode(r, &in); err != nil {
		h.writeErr(w, r, err)
		return
	}
	req := admin.BulkRequest{Action: in.Action, IDs: in.IDs, Confirm: in.Confirm}
	var v roster.ValidationError
	if in.IDs != nil && in.Filter != nil {
		v.Add("filter", "give ids or a filter, not both")
	}
	if in.Permission != "" {
		p, err := roster.ParsePermission(in.Permission)
		if err != nil {
			v.Add("permission", err.Error())
		}
		req.Permission = p
	}
	if in.Date != "" {
		d, err := roster.ParseDate(in.Date)
		if err != nil {
			v.Add("date", "use YYYY-MM-DD")
		}
		req.Date = d
	}
	if in.Filter != nil {
		q := url.Values{}
		for k, val := range in.Filter {
			switch k {
			case "q", "status", "permission", "expires_from", "expires_to", "last_login":
				q.Set(k, val)
			default:
				v.Add("filter."+k, "unknown filter; use q, status, permission, expires_from, expires_to or last_login")
			}
		}
		f, err := roster.ParseUserFilter(q)
		var ve *roster.ValidationError
		if errors.As(err, &ve) {
			for field, msg := range ve.Fields {
				v.Add("filter."+field, msg)
			}
		}
		req.Filter = &f
	}
	if err := v.Err(); err != nil {
		h.writeErr(w, r, err)
		return
	}
	if in.Background {
		j, err := h.svc.StartBulk(r.Context(), a, req)
		if h.bulkErr(w, r, err) {
			return
		}
		w.Header().Set("Location", fmt.Sprintf("/api/v1/bulk/%d", j.ID))
		writeJSON(w, http.StatusAccepted, bulkJob(j, nil))
		return
	}
	res, err := h.svc.Bulk(r.Context(), a, req)
	if h.bulkErr(w, r, err) {
		return
	}
	out := bulkResultJSON{Done: res.Done, Skipped: make([]bulkSkipJSON, len(res.Skipped))}
	for i, s := range res.Skipped {
		out.Skipped[i] = bulkSkipJSON{ID: s.ID, Email: s.Email, Reason: s.Reason}
	}
	writeJSON(w, http.StatusOK, out)
}

// bulkErr answers err, if any: a remove not confirmed is 409 with the
// count to confirm.
func (h *Handler) bulkErr(w http.ResponseWriter, r *http.Request, err error) bool {
	var ce *admin.ErrConfirmCount
	if errors.As(err, &ce) {
		writeError(w, http.StatusConflict, "confirm", ce.Error(), map[string]string{"confirm": ce.Error()})
		return true
	}
	if err != nil {
		h.writeErr(w, r, err)
		return true
	}
	return false
}

// getBulkJob reports a background bulk action's progress and result.
func (h *Handler) getBulkJob(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	id, err := pathID(r)
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	j, skips, err := h.svc.BulkJob(r.Context(), a, id, store.MaxBulkJobSkips)
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, bulkJob(j, skips))
}

func bulkJob(j *store.BulkJob, skips []store.BulkJobSkip) bulkJobJSON {
	out := bulkJobJSON{ID: j.ID, Action: j.Action, State: j.State, Total: j.Total, Processed: j.Processed, Done: j.Done,
		SkippedN: j.Skipped, SkipReasons: j.SkipReasons, Skipped: make([]bulkSkipJSON, len(skips)), Failure: j.Failure, CreatedAt: j.CreatedAt}
	if out.SkipReasons == nil {
		out.SkipReasons = map[string]int{}
	}
	for i, s := range skips {
		out.Skipped[i] = bulkSkipJSON{ID: s.UserID, Email: s.Email, Reason: s.Reason}
	}
	if !j.FinishedAt.IsZero() {
		out.FinishedAt = &j.FinishedAt
	}
	return out
}

// exportUsers writes the users matching the filter (the parameters GET
// /api/v1/users reads) as CSV in the upload template's columns.
func (h *Handler) exportUsers(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	f, err := roster.ParseUserFilter(r.URL.Query())
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="roster-users.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := h.svc.ExportUsers(r.Context(), a, f, w); err != nil {
		h.log.Error("Export users", "org_id", a.Org.ID, "err", err)
	}
}
