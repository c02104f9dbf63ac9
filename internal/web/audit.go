package web

import (
	"net/http"
	"strconv"

	"github.com/roster-dev/roster/internal/store"
)

type auditView struct {
	Events []*store.AuditEvent
	Next   string
}

func (h *Handler) showAudit(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	const limit = 100
	evs, err := h.svc.AuditLog(r.Context(), a, before, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := auditView{Events: evs}
	if len(evs) == limit {
		v.Next = "/audit?before=" + strconv.FormatInt(evs[len(evs)-1].ID, 10)
	}
	h.render(w, r, "audit", &view{Title: "Audit log", Data: v})
}
