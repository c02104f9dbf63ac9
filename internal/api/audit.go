package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/roster-dev/roster/internal/admin"
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

// listAudit returns the organization's audit log, newest first, in pages,
// filtered by actor, target, action and dates (issue 6, item 5). The next
// page comes from cursor=next_cursor; before=next_before still works for
// older clients.
func (h *Handler) listAudit(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	q := r.URL.Query()
	var v roster.ValidationError
	aq := admin.AuditQuery{Actor: q.Get("actor"), Target: q.Get("target"), Action: q.Get("action"),
		From: q.Get("from"), To: q.Get("to"), Cursor: q.Get("cursor"), Limit: 50}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			v.Add("limit", "use a whole number from 1 to 500")
		}
		aq.Limit = n
	}
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			v.Add("before", "use the id of the last event of the previous page")
		}
		aq.Before = n
	}
	if err := v.Err(); err != nil {
		h.writeErr(w, r, err)
		return
	}
	page, err := h.svc.AuditLog(r.Context(), a, aq)
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	out := struct {
		Events     []auditJSON `json:"events"`
		Next       *string     `json:"next_before"`
		NextCursor *string     `json:"next_cursor"`
	}{Events: []auditJSON{}}
	for _, e := range page.Events {
		out.Events = append(out.Events, auditJSON{ID: e.ID, Actor: e.Actor, ActorUserID: idOrNull(e.ActorUserID), Action: e.Action,
			Target: e.Target, TargetUserID: idOrNull(e.TargetUserID), Before: rawOrNull(e.Before), After: rawOrNull(e.After), At: e.CreatedAt})
	}
	if page.NextCursor != "" {
		s := strconv.FormatInt(page.Events[len(page.Events)-1].ID, 10)
		out.Next, out.NextCursor = &s, &page.NextCursor
	}
	writeJSON(w, http.StatusOK, out)
}
