package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
)

// bulkInput is the bulk form as posted: the request for admin.Bulk, the
// view it was posted from, and the confirmation step's fields.
type bulkInput struct {
	req       admin.BulkRequest
	view      url.Values // the users page's query (filter, sort, page)
	filter    roster.UserFilter
	scope     string // "ids" or "filter"
	confirmed bool   // posted from the confirmation step
	confirm   string // the count typed or confirmed there
	bar       bulkBar
}

// bulkUsers applies a bulk action to the ticked users, or to every user
// matching the page's filter ("select all N users that match"). Remove
// access, Expire and any action on a whole filtered set first show a
// confirmation step that states the count (SPEC "Bulk actions on selected
// users"); the result is shown on the users page after a redirect.
func (h *Handler) bulkUsers(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	in, fields := parseBulkForm(r)
	if fields != nil {
		h.bulkRefused(w, r, a, in, fields)
		return
	}
	act := in.req.Action
	needsConfirm := act == admin.BulkRemove || act == admin.BulkExpire || in.req.Filter != nil
	count := len(in.req.IDs)
	if needsConfirm {
		var err error
		count, err = h.svc.BulkCount(r.Context(), a, in.req)
		var ve *roster.ValidationError
		if errors.As(err, &ve) {
			h.bulkRefused(w, r, a, in, ve.Fields)
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		typed, typedOK := parseCount(in.confirm)
		switch {
		case !in.confirmed:
			h.showBulkConfirm(w, r, a, in, count, "", http.StatusOK)
			return
		case !typedOK || typed != count:
			msg := fmt.Sprintf("Nothing was changed: type %s, the number of users selected, to confirm.", thousands(count))
			if act != admin.BulkRemove {
				msg = fmt.Sprintf("Nothing was changed: the selection now holds %s %s. Check the count and confirm again.", thousands(count), plural(count, "user", "users"))
			}
			h.showBulkConfirm(w, r, a, in, count, msg, http.StatusUnprocessableEntity)
			return
		}
		in.req.Confirm = typed
	}
	res, jobID, err := h.runBulk(r.Context(), a, in.req, count)
	var ce *admin.ErrConfirmCount
	var ve *roster.ValidationError
	switch {
	case errors.As(err, &ce):
		// The selection changed between the confirmation and now.
		h.showBulkConfirm(w, r, a, in, ce.Selected, fmt.Sprintf("Nothing was removed: the selection now holds %s %s. Type the new count to confirm.",
			thousands(ce.Selected), plural(ce.Selected, "user", "users")), http.StatusConflict)
		return
	case errors.As(err, &ve):
		h.bulkRefused(w, r, a, in, ve.Fields)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if jobID != 0 {
		http.Redirect(w, r, bulkJobPath(jobID), http.StatusSeeOther)
		return
	}
	h.setBulkFlash(w, r, newBulkFlash(act, res))
	http.Redirect(w, r, usersHref(in.view), http.StatusSeeOther)
}

// runBulk runs a bulk action on count users: to the end, within the
// request, for up to a transaction's worth; as a background job beyond
// that, whose id it returns (its page shows the progress, then the result).
func (h *Handler) runBulk(ctx context.Context, a *roster.Actor, req admin.BulkRequest, count int) (*admin.BulkResult, int64, error) {
	if count >= admin.BulkBackgroundMin {
		j, err := h.svc.StartBulk(ctx, a, req)
		if err != nil {
			return nil, 0, err
		}
		return nil, j.ID, nil
	}
	res, err := h.svc.Bulk(ctx, a, req)
	return res, 0, err
}

// parseCount reads a count typed with or without thousands separators.
func parseCount(s string) (int, bool) {
	s = strings.NewReplacer(",", "", " ", "", ".", "", "\u00a0", "").Replace(strings.TrimSpace(s))
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// parseBulkForm reads the bulk form; the fields it cannot read are returned
// with a message each.
func parseBulkForm(r *http.Request) (*bulkInput, map[string]string) {
	var v roster.ValidationError
	in := &bulkInput{}
	view, err := url.ParseQuery(r.PostFormValue("view"))
	if err != nil {
		v.Add("view", "the page's filter could not be read; reload the page and try again")
		view = url.Values{}
	}
	in.view = view
	f, err := roster.ParseUserFilter(view)
	if err != nil {
		v.Add("view", "the page's filter is not valid; reload the page and try again")
	}
	f.Cursor, f.Limit = "", 0
	in.filter = f
	act := r.PostFormValue("action")
	in.req.Action = act
	in.bar.Action = act
	if act == "" {
		v.Add("action", "choose an action")
	}
	in.scope = r.PostFormValue("scope")
	in.bar.Scope = in.scope
	in.bar.Selected = map[int64]bool{}
	switch in.scope {
	case "filter":
		in.req.Filter = &in.filter
	case "", "ids":
		in.scope = "ids"
		for _, s := range r.PostForm["ids"] {
			id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil || id <= 0 {
				v.Add("ids", fmt.Sprintf("%q is not a user id", s))
				continue
			}
			in.req.IDs = append(in.req.IDs, id)
			in.bar.Selected[id] = true
		}
	default:
		v.Add("scope", `use "ids" or "filter"`)
	}
	in.bar.Permission = r.PostFormValue("permission")
	if act == admin.BulkGrantPermission || act == admin.BulkRevokePermission {
		if s := in.bar.Permission; s != "" {
			p, err := roster.ParsePermission(s)
			if err != nil {
				v.Add("permission", err.Error())
			}
			in.req.Permission = p
		}
	}
	in.bar.Date = strings.TrimSpace(r.PostFormValue("date"))
	if act == admin.BulkSetExpiration && in.bar.Date != "" {
		d, err := roster.ParseDate(in.bar.Date)
		if err != nil {
			v.Add("date", err.Error())
		}
		in.req.Date = d
	}
	in.confirmed = r.PostFormValue("confirmed") != ""
	in.confirm = r.PostFormValue("confirm")
	if err := v.Err(); err != nil {
		return in, v.Fields
	}
	return in, nil
}

// bulkFieldLabels names a bulk form field in a message.
var bulkFieldLabels = map[string]string{"action": "Action", "ids": "Selection", "scope": "Selection",
	"permission": "Permission", "date": "Expiration date", "view": "Filter"}

// bulkRefused shows the users page again, the ticked users still ticked,
// with what is wrong with the request.
func (h *Handler) bulkRefused(w http.ResponseWriter, r *http.Request, a *roster.Actor, in *bulkInput, fields map[string]string) {
	var msgs []string
	for _, k := range []string{"ids", "scope", "action", "permission", "date", "view"} {
		if m, ok := fields[k]; ok {
			msgs = append(msgs, bulkFieldLabels[k]+": "+strings.TrimSuffix(m, ".")+".")
		}
	}
	for k, m := range fields {
		if _, ok := bulkFieldLabels[k]; !ok {
			msgs = append(msgs, m)
		}
	}
	q := url.Values{}
	f := in.filter
	if _, bad := fields["view"]; !bad {
		q = in.view
	} else {
		f = roster.UserFilter{}
	}
	h.showUsers(w, r, a, q, f, map[string]string{}, &usersState{
		err: "Nothing was changed. " + strings.Join(msgs, " "), status: http.StatusUnprocessableEntity, bar: in.bar})
}

// confirmView is the confirmation step of a bulk action.
type confirmView struct {
	Heading, Body, Button string
	Date, BodyAfter       string // a date kept on one line, and the text after it
	Count                 int
	TypeCount             bool // remove: the count must be typed
	Danger                bool
	Filter                string // the filter a whole-set action applies to
	Hidden                [][2]string
	Cancel                string
}

func (h *Handler) showBulkConfirm(w http.ResponseWriter, r *http.Request, a *roster.Actor, in *bulkInput, count int, errMsg string, status int) {
	n := thousands(count) + " " + plural(count, "user", "users")
	today := h.svc.Today(a)
	cv := confirmView{Count: count, Cancel: usersHref(in.view)}
	req := in.req
	switch req.Action {
	case admin.BulkRemove:
		cv.Heading = "Remove access for " + n + "?"
		cv.Body = "Their accounts in " + a.Org.Name + ", their sessions and their API tokens are deleted at once. The audit log keeps a record. This cannot be undone; to give access back, invite them again."
		cv.Button, cv.TypeCount, cv.Danger = "Remove access for "+n, true, true
	case admin.BulkExpire:
		cv.Heading = "Expire " + n + "?"
		cv.Body, cv.Date = "Their expiration date becomes today, ", today.String()
		cv.BodyAfter = ": their access ends immediately and they are signed out. Users already expired are skipped."
		cv.Button, cv.Danger = "Expire "+n, true
	case admin.BulkResend:
		cv.Heading = "Resend invitations to " + n + "?"
		cv.Body = "Each gets a new invitation email; their earlier links stop working. Expired users are skipped: update their expiration date first."
		cv.Button = "Resend invitations to " + n
	case admin.BulkGrantPermission, admin.BulkRevokePermission:
		verb, prep := "Grant", "to"
		if req.Action == admin.BulkRevokePermission {
			verb, prep = "Revoke", "from"
		}
		cv.Heading = fmt.Sprintf("%s %s %s %s?", verb, req.Permission.Label(), prep, n)
		cv.Body = "Users who already have it (or lack it) are skipped."
		cv.Button = fmt.Sprintf("%s %s %s %s", verb, req.Permission.Label(), prep, n)
	case admin.BulkSetExpiration:
		cv.Heading = fmt.Sprintf("Set the expiration date of %s to %s?", n, req.Date)
		cv.Body = "Their access ends on that date."
		cv.Button = "Set the expiration date of " + n
	case admin.BulkClearExpiration:
		cv.Heading = "Clear the expiration date of " + n + "?"
		cv.Body = "Their access no longer ends on a date; expired users get their access back."
		cv.Button = "Clear the expiration date of " + n
	}
	if req.Filter != nil {
		cv.Filter = filterSummary(*req.Filter)
	}
	add := func(k, v string) { cv.Hidden = append(cv.Hidden, [2]string{k, v}) }
	add("action", req.Action)
	add("scope", in.scope)
	add("view", in.view.Encode())
	add("confirmed", "1")
	if in.req.Filter == nil {
		for _, id := range in.req.IDs {
			add("ids", strconv.FormatInt(id, 10))
		}
	}
	if in.bar.Permission != "" {
		add("permission", in.bar.Permission)
	}
	if in.bar.Date != "" {
		add("date", in.bar.Date)
	}
	if !cv.TypeCount {
		add("confirm", strconv.Itoa(count))
	}
	h.render(w, r, "bulk_confirm", &view{Title: cv.Heading, Data: cv, Error: errMsg, Status: status})
}

// filterSummary describes a filter in words, for a confirmation.
func filterSummary(f roster.UserFilter) string {
	var parts []string
	if f.Query != "" {
		parts = append(parts, fmt.Sprintf("name or email contains “%s”", f.Query))
	}
	if f.Status != "" {
		parts = append(parts, "status "+f.Status.Label())
	}
	if f.Permission != 0 {
		parts = append(parts, "permission "+f.Permission.Label())
	}
	switch {
	case !f.ExpiresFrom.IsZero() && !f.ExpiresTo.IsZero():
		parts = append(parts, fmt.Sprintf("expires %s to %s", f.ExpiresFrom, f.ExpiresTo))
	case !f.ExpiresFrom.IsZero():
		parts = append(parts, fmt.Sprintf("expires on or after %s", f.ExpiresFrom))
	case !f.ExpiresTo.IsZero():
		parts = append(parts, fmt.Sprintf("expires on or before %s", f.ExpiresTo))
	}
	l := f.LastLogin
	switch {
	case l.Never:
		parts = append(parts, "never logged in")
	default:
		if !l.After.IsZero() {
			parts = append(parts, "last login after "+l.After.String())
		}
		if !l.Before.IsZero() {
			parts = append(parts, "last login before "+l.Before.String())
		}
	}
	if len(parts) == 0 {
		return "every user in the organization"
	}
	return "every user matching: " + strings.Join(parts, "; ")
}
