package api

import (
	"errors"
	"net/http"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
)

// bulkJSON is POST /api/v1/users/bulk's body (SPEC "Interfaces", bulk actions).
type bulkJSON struct {
	Action     string          `json:"action"`
	IDs        []int64         `json:"ids"`
	Filter     *bulkFilterJSON `json:"filter"`
	Permission string          `json:"permission"`
	Date       string          `json:"date"`
	Confirm    int             `json:"confirm"`
}

// bulkFilterJSON selects every user matching, as GET /api/v1/users does.
type bulkFilterJSON struct {
	Q          string `json:"q"`
	Status     string `json:"status"`
	Permission string `json:"permission"`
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
	if f := in.Filter; f != nil {
		uf := roster.UserFilter{Query: f.Q}
		if f.Status != "" {
			st, ok := roster.ParseStatus(f.Status)
			if !ok {
				v.Add("filter.status", "use active, not_logged_in or expired")
			}
			uf.Status = st
		}
		if f.Permission != "" {
			p, err := roster.ParsePermission(f.Permission)
			if err != nil {
				v.Add("filter.permission", err.Error())
			}
			uf.Permission = p
		}
		req.Filter = &uf
	}
	if err := v.Err(); err != nil {
		h.writeErr(w, r, err)
		return
	}
	res, err := h.svc.Bulk(r.Context(), a, req)
	var ce *admin.ErrConfirmCount
	if errors.As(err, &ce) {
		writeError(w, http.StatusConflict, "confirm", ce.Error(), map[string]string{"confirm": ce.Error()})
		return
	}
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	out := bulkResultJSON{Done: res.Done, Skipped: make([]bulkSkipJSON, len(res.Skipped))}
	for i, s := range res.Skipped {
		out.Skipped[i] = bulkSkipJSON{ID: s.ID, Email: s.Email, Reason: s.Reason}
	}
	writeJSON(w, http.StatusOK, out)
}

// exportUsers writes the users matching q, status and permission as CSV in
// the upload template's columns.
func (h *Handler) exportUsers(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	q := r.URL.Query()
	f := roster.UserFilter{Query: q.Get("q")}
	var v roster.ValidationError
	if s := q.Get("status"); s != "" {
		st, ok := roster.ParseStatus(s)
		if !ok {
			v.Add("status", "use active, not_logged_in or expired")
		}
		f.Status = st
	}
	if p := q.Get("permission"); p != "" {
		perm, err := roster.ParsePermission(p)
		if err != nil {
			v.Add("permission", err.Error())
		}
		f.Permission = perm
	}
	if err := v.Err(); err != nil {
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
