package web

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
)

// usersView is what the User Management page shows: the counts per status,
// the filter form, the bulk bar and one page of the users table.
type usersView struct {
	List       *admin.UserList // nil when the filter is invalid
	Counts     []statusCount
	All        statusCount
	Filter     filterForm
	Filtered   bool // a search or a filter is applied
	Invalid    bool
	Columns    []column
	View       string // the page's query, which the bulk form posts back
	Next       string
	First      string // set when this is not the first page
	ExportHref string
	Result     *bulkFlash
	Bulk       bulkBar
}

type statusCount struct {
	Label   string
	N       int
	Href    string
	Current bool
}

// filterForm holds the filter fields as typed, for the form, and the
// messages for the ones that are wrong.
type filterForm struct {
	Q, Status, Permission, ExpiresFrom, ExpiresTo, LoginAfter, LoginBefore string
	Sort, Limit                                                            string // kept as the form is applied
	LoginNever                                                             bool
	Errors                                                                 map[string]string
	Statuses                                                               []roster.Status
	Permissions                                                            []roster.Permission
}

// column is a header of the users table; Href is set on sortable ones.
type column struct {
	Label, Class, Note, Href, AriaSort, Arrow string
}

// bulkBar is the bulk action form's state: the actions, and what was chosen
// and ticked when a request is shown again with an error.
type bulkBar struct {
	Actions    []bulkChoice
	Perms      []permChoice
	Action     string
	Permission string
	Date       string
	Tomorrow   string
	Selected   map[int64]bool
	Scope      string
}

type bulkChoice struct{ Value, Label string }

// bulkLabels names the bulk actions as the menu shows them (SPEC "Bulk
// actions on selected users", seed 000 option 1).
var bulkLabels = map[string]string{
	admin.BulkResend:           "Resend Invitations",
	admin.BulkExpire:           "Expire",
	admin.BulkGrantPermission:  "Grant permission",
	admin.BulkRevokePermission: "Revoke permission",
	admin.BulkSetExpiration:    "Set expiration date",
	admin.BulkClearExpiration:  "Clear expiration date",
	admin.BulkRemove:           "Remove access",
}

// userColumns are the table's columns after the checkbox; sort names the
// roster.SortKeys entry a header sorts by.
var userColumns = []struct{ label, class, note, sort string }{
	{"Name", "c-name", "", "name"},
	{"Email", "c-email", "", "email"},
	{"Status", "c-status", "", ""},
	{"Permissions", "c-perms", "", ""},
	{"Last login", "c-date", "UTC", "last_login_at"},
	{"Last invited", "c-invited", "UTC", "last_invited_at"},
	{"Delivery", "c-delivery", "", ""},
	{"Expires", "c-expires", "", "expiration_date"},
}

// filterKeys are the query parameters of a filter, as
// roster.ParseUserFilter reads them.
var filterKeys = []string{"q", "status", "permission", "expires_from", "expires_to", "last_login", "sort", "limit", "cursor"}

// The filter form's last-login fields; the page turns them into the one
// last_login parameter of the URL.
const (
	loginAfterKey  = "ll_after"
	loginBeforeKey = "ll_before"
	loginNeverKey  = "ll_never"
)

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	q := r.URL.Query()
	fq, errs, submitted := filterQuery(q)
	f, err := roster.ParseUserFilter(fq)
	var ve *roster.ValidationError
	if errors.As(err, &ve) {
		for k, m := range ve.Fields {
			errs[k] = m
		}
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	if submitted && len(errs) == 0 {
		// The filter form sends every field, empty or not, and the last
		// login as three fields: answer with the short URL that names the
		// same view, which is what gets bookmarked and shared.
		v := f.Values()
		if l := fq.Get("limit"); l != "" {
			v.Set("limit", l)
		}
		http.Redirect(w, r, usersHref(v), http.StatusSeeOther)
		return
	}
	st := &usersState{notice: q, typed: q}
	h.showUsers(w, r, a, fq, f, errs, st)
}

// usersState is what a request adds to the users page: the redirect's
// notice, or a refused bulk request's message and selection.
type usersState struct {
	notice url.Values
	typed  url.Values // the filter form's fields as typed, when it was sent
	err    string
	status int
	bar    bulkBar
}

// showUsers renders the users page for the filter f read from q; errs holds
// the filter's problems, by parameter.
func (h *Handler) showUsers(w http.ResponseWriter, r *http.Request, a *roster.Actor, q url.Values, f roster.UserFilter, errs map[string]string, st *usersState) {
	ctx := r.Context()
	typed := q
	if st.typed != nil {
		typed = st.typed
	}
	v := usersView{Filter: filterFormOf(typed, f, errs), Filtered: len(f.Values()) > 0 && !onlySort(f)}
	var list *admin.UserList
	if len(errs) == 0 {
		var err error
		list, err = h.svc.ListUsers(ctx, a, f)
		var ve *roster.ValidationError
		if errors.As(err, &ve) {
			// A stale cursor, say: say so, and offer the first page, rather
			// than redirect (which could loop).
			errs = ve.Fields
			v.Filter.Errors = errs
		} else if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	counts, err := h.svc.StatusCounts(ctx, a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	current := url.Values{}
	for _, k := range filterKeys {
		if s := q.Get(k); s != "" {
			current.Set(k, s)
		}
	}
	v.View = current.Encode()
	for _, s := range roster.AllStatuses {
		n := counts[s]
		v.All.N += n
		v.Counts = append(v.Counts, statusCount{Label: s.Label(), N: n, Href: usersHref(url.Values{"status": {string(s)}}),
			Current: f.Status == s && statusOnly(f)})
	}
	v.All = statusCount{Label: "All users", N: v.All.N, Href: "/users", Current: !v.Filtered}
	v.Columns = columnsFor(f, q.Get("limit"))
	filterOnly := f.Values()
	if l := q.Get("limit"); l != "" {
		filterOnly.Set("limit", l)
	}
	if q.Get("cursor") != "" {
		v.First = usersHref(filterOnly)
	}
	v.ExportHref = "/users/export.csv"
	if e := f.Values().Encode(); e != "" {
		v.ExportHref += "?" + e
	}
	if list != nil && list.NextCursor != "" {
		nq := url.Values{}
		for k, vs := range filterOnly {
			nq[k] = vs
		}
		nq.Set("cursor", list.NextCursor)
		v.Next = usersHref(nq)
	}
	v.List = list
	v.Invalid = len(errs) > 0
	v.Bulk = st.bar
	if v.Bulk.Selected == nil {
		v.Bulk.Selected = map[int64]bool{}
	}
	v.Bulk.Actions = nil
	for _, act := range admin.BulkActions {
		v.Bulk.Actions = append(v.Bulk.Actions, bulkChoice{Value: act, Label: bulkLabels[act]})
	}
	v.Bulk.Perms = permChoices(a, 0)
	v.Bulk.Tomorrow = h.svc.Today(a).AddDays(1).String()
	v.Result = readBulkFlash(w, r)

	page := &view{Title: "User Management", Data: v, Status: st.status}
	if st.notice != nil {
		page.Notice, page.Error = userNotice(st.notice)
	}
	switch {
	case st.err != "":
		page.Error = st.err
	case v.Invalid:
		page.Error = "This view could not be shown: " + filterProblems(errs)
		if page.Status == 0 {
			page.Status = http.StatusBadRequest
		}
	}
	h.render(w, r, "users", page)
}

// statusOnly reports whether f filters on nothing but the status, so that a
// status count is marked current only on exactly its own view.
func statusOnly(f roster.UserFilter) bool {
	g := f
	g.Status, g.Sort, g.Desc = "", "", false
	return len(g.Values()) == 0
}

func onlySort(f roster.UserFilter) bool {
	g := f
	g.Sort, g.Desc = "", false
	return len(g.Values()) == 0
}

func usersHref(v url.Values) string {
	if len(v) == 0 {
		return "/users"
	}
	return "/users?" + v.Encode()
}

// filterQuery turns the filter form's fields into the URL's parameters:
// the three last-login fields become last_login, and empty fields are
// dropped. It reports the problems with the last-login fields and whether
// the request came from the form (so is worth a redirect to the short URL).
func filterQuery(q url.Values) (url.Values, map[string]string, bool) {
	fq := url.Values{}
	for k, vs := range q {
		fq[k] = slices.Clone(vs)
	}
	errs := map[string]string{}
	submitted := false
	if q.Has(loginAfterKey) || q.Has(loginBeforeKey) || q.Has(loginNeverKey) {
		submitted = true
		never := q.Get(loginNeverKey) != ""
		var parts []string
		for _, b := range []struct{ key, kind string }{{loginAfterKey, "after"}, {loginBeforeKey, "before"}} {
			s := strings.TrimSpace(q.Get(b.key))
			if s == "" {
				continue
			}
			if _, err := roster.ParseDate(s); err != nil {
				errs[b.key] = fmt.Sprintf("%q is not a date; use YYYY-MM-DD", s)
				continue
			}
			parts = append(parts, b.kind+":"+s)
		}
		if never && len(parts) > 0 {
			errs[loginNeverKey] = "choose “never logged in” or last-login dates, not both"
		}
		fq.Del("last_login")
		switch {
		case never:
			fq.Set("last_login", "never")
		case len(parts) > 0:
			fq.Set("last_login", strings.Join(parts, ","))
		}
		fq.Del(loginAfterKey)
		fq.Del(loginBeforeKey)
		fq.Del(loginNeverKey)
	}
	for _, k := range filterKeys {
		if fq.Has(k) && strings.TrimSpace(fq.Get(k)) == "" {
			fq.Del(k)
			submitted = true
		}
	}
	return fq, errs, submitted
}

// filterFormOf fills the filter form from the URL, as typed.
func filterFormOf(q url.Values, f roster.UserFilter, errs map[string]string) filterForm {
	ff := filterForm{Q: q.Get("q"), Status: q.Get("status"), Permission: q.Get("permission"),
		ExpiresFrom: q.Get("expires_from"), ExpiresTo: q.Get("expires_to"), Errors: errs,
		Statuses: roster.AllStatuses, Permissions: roster.AllPermissions, Sort: q.Get("sort"), Limit: q.Get("limit")}
	if f.Status != "" {
		ff.Status = string(f.Status)
	}
	if f.Permission != 0 {
		ff.Permission = f.Permission.Name()
	}
	if q.Has(loginAfterKey) || q.Has(loginBeforeKey) || q.Has(loginNeverKey) {
		ff.LoginAfter, ff.LoginBefore, ff.LoginNever = q.Get(loginAfterKey), q.Get(loginBeforeKey), q.Get(loginNeverKey) != ""
	} else {
		ff.LoginAfter, ff.LoginBefore, ff.LoginNever = f.LastLogin.After.String(), f.LastLogin.Before.String(), f.LastLogin.Never
	}
	return ff
}

// filterLabels names a filter parameter in a message.
var filterLabels = map[string]string{
	"q": "Search", "status": "Status", "permission": "Permission", "expires_from": "Expires from",
	"expires_to": "Expires to", "last_login": "Last login", "sort": "Sort", "limit": "Page size",
	"cursor": "Page", loginAfterKey: "Last login after", loginBeforeKey: "Last login before", loginNeverKey: "Never logged in",
}

// filterProblems writes a filter's problems as sentences, in a stable order.
func filterProblems(errs map[string]string) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s: %s.", cmp.Or(filterLabels[k], k), strings.TrimSuffix(errs[k], "."))
	}
	return b.String()
}

// columnsFor builds the headers: a sortable one links to the same view
// sorted by it, ascending, or descending when it already sorts ascending.
func columnsFor(f roster.UserFilter, limit string) []column {
	sortKey := cmp.Or(f.Sort, "email")
	var out []column
	for _, c := range userColumns {
		col := column{Label: c.label, Class: c.class, Note: c.note}
		if c.sort != "" {
			v := f.Values()
			if limit != "" {
				v.Set("limit", limit)
			}
			dir := c.sort
			if sortKey == c.sort {
				col.AriaSort, col.Arrow = "ascending", "▲"
				if f.Desc {
					col.AriaSort, col.Arrow = "descending", "▼"
				} else {
					dir = "-" + c.sort
				}
			}
			v.Set("sort", dir)
			col.Href = usersHref(v)
		}
		out = append(out, col)
	}
	return out
}

// exportUsers downloads the users of the current view as CSV, in the
// upload template's columns.
func (h *Handler) exportUsers(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	fq, errs, _ := filterQuery(r.URL.Query())
	f, err := roster.ParseUserFilter(fq)
	var ve *roster.ValidationError
	if errors.As(err, &ve) {
		for k, m := range ve.Fields {
			errs[k] = m
		}
	}
	if len(errs) > 0 {
		h.render(w, r, "error", &view{Title: "Export refused", Status: http.StatusBadRequest,
			Error: "Nothing was exported: " + filterProblems(errs)})
		return
	}
	f.Cursor, f.Limit = "", 0
	name := fmt.Sprintf("roster-%s-users-%s.csv", a.Org.Slug, h.svc.Today(a))
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if _, err := h.svc.ExportUsers(r.Context(), a, f, w); err != nil {
		// The header is sent; all that is left is to log it.
		h.log.Error("Export users", "org_id", a.Org.ID, "err", err)
	}
}

// bulkFlash is a bulk action's result, carried to the users page after the
// redirect in a short-lived cookie.
type bulkFlash struct {
	Action  string      `json:"a"`
	Done    int         `json:"d"`
	Skipped int         `json:"s"`
	Groups  []skipGroup `json:"g,omitempty"`
}

// skipGroup is the users skipped for one reason; Users lists some of them.
type skipGroup struct {
	Reason string   `json:"r"`
	Count  int      `json:"n"`
	Users  []string `json:"u,omitempty"`
	More   int      `json:"m,omitempty"`
}

const (
	bulkFlashCookie = "roster_bulk_result"
	flashMaxUsers   = 20   // skipped users listed by name
	flashMaxBytes   = 2400 // of their emails, so the cookie stays small
)

// onDate is the date in a skip reason; reasons are grouped without it.
var onDate = regexp.MustCompile(` on \d{4}-\d{2}-\d{2}`)

// newBulkFlash groups the skipped users by reason, the largest group first.
func newBulkFlash(action string, res *admin.BulkResult) *bulkFlash {
	fl := &bulkFlash{Action: bulkLabels[action], Done: res.Done, Skipped: len(res.Skipped)}
	idx := map[string]int{}
	listed, bytes := 0, 0
	for _, s := range res.Skipped {
		reason := onDate.ReplaceAllString(s.Reason, "")
		i, ok := idx[reason]
		if !ok {
			i = len(fl.Groups)
			idx[reason] = i
			fl.Groups = append(fl.Groups, skipGroup{Reason: reason})
		}
		g := &fl.Groups[i]
		g.Count++
		who := s.Email
		if who == "" {
			who = fmt.Sprintf("user id %d", s.ID)
		}
		if listed < flashMaxUsers && bytes+len(who) <= flashMaxBytes {
			g.Users = append(g.Users, who)
			listed++
			bytes += len(who)
		} else {
			g.More++
		}
	}
	slices.SortStableFunc(fl.Groups, func(a, b skipGroup) int { return b.Count - a.Count })
	return fl
}

func (h *Handler) setBulkFlash(w http.ResponseWriter, r *http.Request, fl *bulkFlash) {
	b, _ := json.Marshal(fl)
	http.SetCookie(w, &http.Cookie{Name: bulkFlashCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/users",
		MaxAge: 120, HttpOnly: true, Secure: h.opt.SecureCookies || r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// readBulkFlash takes the result of the bulk action just made, once.
func readBulkFlash(w http.ResponseWriter, r *http.Request) *bulkFlash {
	c, err := r.Cookie(bulkFlashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: bulkFlashCookie, Value: "", Path: "/users", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	var fl bulkFlash
	if json.Unmarshal(b, &fl) != nil || fl.Action == "" {
		return nil
	}
	return &fl
}
