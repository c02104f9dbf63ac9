package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/roster-dev/roster/internal/roster"
)

type auditJSON struct {
	ID           int64           `json:"id"`
	Actor        string          `json:"actor"`
	ActorUserID  *int64          `json:"actor_user_id"`
	Action       string          `json:"action"`
	Target       string          `json:"target"`
	TargetUserID *int64          `json:"target_user_id"`
	Before       json.RawMessage `json:"before"`
	After        json.RawMessage `json:"after"`
	At           time.Time       `json:"at"`
}

func rawOrNull(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

func idOrNull(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// listAudit returns the organization's audit log, newest first, in pages
// (before= the last id of the previous page).
func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	q := r.URL.Query()
	var v roster.ValidationError
	limit, before := 50, int64(0)
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			v.Add("limit", "use a whole number from 1 to 500")
		}
		limit = n
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			v.Add("before", "use the id of the last event of the previous page")
		}
		before = n
	}
	if err := v.Err(); err != nil {
		h.writeErr(w, r, err)
		return
	}
	evs, err := h.svc.AuditLog(r.Context(), a, before, limit)
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	out := struct {
		Events []auditJSON `json:"events"`
		Next   *string     `json:"next_before"`
	}{Events: []auditJSON{}}
	for _, e := range evs {
		out.Events = append(out.Events, auditJSON{ID: e.ID, Actor: e.Actor, ActorUserID: idOrNull(e.ActorUserID), Action: e.Action,
			Target: e.Target, TargetUserID: idOrNull(e.TargetUserID), Before: rawOrNull(e.Before), After: rawOrNull(e.After), At: e.CreatedAt})
	}
	if len(evs) == limit {
		s := strconv.FormatInt(evs[len(evs)-1].ID, 10)
		out.Next = &s
	}
	writeJSON(w, http.StatusOK, out)
}
