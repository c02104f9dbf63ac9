package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
)

type usersView struct {
	List   *admin.UserList
	Query  url.Values
	Next   string
	Status []roster.Status
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	q := r.URL.Query()
	f := roster.UserFilter{Query: q.Get("q"), Desc: q.Get("dir") == "desc", Cursor: q.Get("cursor")}
	if sort, ok := roster.ParseSort(q.Get("sort")); ok {
		f.Sort = sort // an unknown one lists by email rather than redirect in a loop
	}
	f.Limit, _ = strconv.Atoi(q.Get("limit"))
	if s, ok := roster.ParseStatus(q.Get("status")); ok {
		f.Status = s
	}
	if p, err := roster.ParsePermission(q.Get("permission")); err == nil {
		f.Permission = p
	}
	list, err := h.svc.ListUsers(r.Context(), a, f)
	var ve *roster.ValidationError
	if errors.As(err, &ve) {
		q.Del("cursor")
		http.Redirect(w, r, "/users?"+q.Encode(), http.StatusSeeOther)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	next := ""
	if list.NextCursor != "" {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("cursor", list.NextCursor)
		next = "/users?" + nq.Encode()
	}
	notice, errMsg := userNotice(q)
	h.render(w, r, "users", &view{Title: "User Management", Notice: notice, Error: errMsg,
		Data: usersView{List: list, Query: q, Next: next, Status: roster.AllStatuses}})
}
