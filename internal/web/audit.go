package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// auditFilters are the query parameters the filter form sets, in its order.
var auditFilters = []string{"actor", "target", "action", "from", "to"}

type auditView struct {
	Events   []auditRow
	Query    url.Values // the filters as given, to refill the form
	Actions  []string   // for the select: those the log holds
	Filtered bool
	Next     string // the older page's URL, "" on the last
}

type auditRow struct {
	*store.AuditEvent
	Changes []auditChange
}

// auditChange is one field of an event's before and after that differs.
// HasOld is false when the field did not exist before (a creation), HasNew
// when it is gone after (a removal).
type auditChange struct {
	Field          string
	Old, New       string
	HasOld, HasNew bool
}

// showAudit lists the organization's audit log, filtered by the form's
// fields, held in the URL so a view can be bookmarked and shared (issue 6,
// item 5; SPEC "Filter and search" for the URL).
func (h *Handler) showAudit(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	q := r.URL.Query()
	v := auditView{Query: url.Values{}}
	for _, k := range auditFilters {
		if s := strings.TrimSpace(q.Get(k)); s != "" {
			v.Query.Set(k, s)
			v.Filtered = true
		}
	}
	actions, err := h.svc.AuditActionsIn(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Actions = actions
	if act := v.Query.Get("action"); act != "" && !slices.Contains(actions, act) {
		v.Actions = append(v.Actions, act) // keep the choice shown, even when nothing matches it
	}
	page, err := h.svc.AuditLog(r.Context(), a, admin.AuditQuery{Actor: q.Get("actor"), Target: q.Get("target"),
		Action: q.Get("action"), From: q.Get("from"), To: q.Get("to"), Cursor: q.Get("cursor"), Limit: 100})
	var ve *roster.ValidationError
	if errors.As(err, &ve) {
		h.render(w, r, "audit", &view{Title: "Audit log", Fields: ve.Fields, Data: v, Status: http.StatusUnprocessableEntity,
			Error: "The filter could not be used; correct the fields marked below."})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, e := range page.Events {
		v.Events = append(v.Events, auditRow{AuditEvent: e, Changes: auditDiff(e.Before, e.After)})
	}
	if page.NextCursor != "" {
		next := url.Values{}
		for k, vs := range v.Query {
			next[k] = vs
		}
		next.Set("cursor", page.NextCursor)
		v.Next = "/audit?" + next.Encode()
	}
	h.render(w, r, "audit", &view{Title: "Audit log", Data: v})
}

// auditDiff lists the fields whose values differ between two JSON objects
// (an event's before and after), by name: "expiration_date: none →
// 2026-12-31". Either may be "" (a creation or a removal). Text that is not
// a JSON object is shown whole.
func auditDiff(before, after string) []auditChange {
	b, okB := jsonObject(before)
	a, okA := jsonObject(after)
	if !okB || !okA {
		return []auditChange{{Old: before, New: after, HasOld: before != "", HasNew: after != ""}}
	}
	keys := make([]string, 0, len(a)+len(b))
	for k := range b {
		keys = append(keys, k)
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []auditChange
	for _, k := range keys {
		ov, hasOld := b[k]
		nv, hasNew := a[k]
		if hasOld && hasNew && jsonEqual(ov, nv) {
			continue
		}
		out = append(out, auditChange{Field: k, Old: jsonText(ov), New: jsonText(nv), HasOld: hasOld, HasNew: hasNew})
	}
	return out
}

// jsonObject parses s as an object; "" is the empty object.
func jsonObject(s string) (map[string]json.RawMessage, bool) {
	m := map[string]json.RawMessage{}
	if s == "" {
		return m, true
	}
	return m, json.Unmarshal([]byte(s), &m) == nil
}

func jsonEqual(x, y json.RawMessage) bool {
	var a, b any
	if json.Unmarshal(x, &a) != nil || json.Unmarshal(y, &b) != nil {
		return string(x) == string(y)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// jsonText writes a value as a person reads it: null and [] are "none",
// strings without quotes, lists joined by commas.
func jsonText(raw json.RawMessage) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		if x == "" {
			return "(blank)"
		}
		return x
	case []any:
		if len(x) == 0 {
			return "none"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			b, _ := json.Marshal(e)
			parts[i] = jsonText(b)
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
