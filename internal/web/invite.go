package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
)

// permChoice is one permission checkbox on the invite and edit forms.
type permChoice struct {
	Perm     roster.Permission
	Checked  bool
	Disabled bool // the admin does not hold it, so cannot grant or remove it
}

type userFormView struct {
	User    *roster.User // nil on the invite form
	Perms   []permChoice
	MaxWelc int
}

func permChoices(a *roster.Actor, checked roster.Permissions) []permChoice {
	var out []permChoice
	for _, p := range roster.AllPermissions {
		out = append(out, permChoice{Perm: p, Checked: checked.Has(p), Disabled: !a.User.Permissions.Has(p)})
	}
	return out
}

// formPermissions reads the checkboxes. A permission the admin does not
// hold cannot be ticked (its box is disabled and not submitted), so it keeps
// the user's current value.
func formPermissions(r *http.Request, a *roster.Actor, current roster.Permissions) roster.Permissions {
	var ps roster.Permissions
	for _, v := range r.PostForm["permissions"] {
		if p, err := roster.ParsePermission(v); err == nil && a.User.Permissions.Has(p) {
			ps = ps.With(p)
		}
	}
	for _, p := range roster.AllPermissions {
		if !a.User.Permissions.Has(p) && current.Has(p) {
			ps = ps.With(p)
		}
	}
	return ps
}

func formDate(s string) (roster.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return roster.Date{}, nil
	}
	return roster.ParseDate(s)
}

func (h *Handler) showInvite(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	h.render(w, r, "invite", &view{Title: "Invite user", Form: map[string]string{},
		Data: userFormView{Perms: permChoices(a, 0), MaxWelc: admin.MaxWelcomeMessage}})
}

func (h *Handler) invite(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	form := map[string]string{}
	for _, k := range []string{"email", "first_name", "last_name", "expiration_date", "welcome_message"} {
		form[k] = r.PostFormValue(k)
	}
	perms := formPermissions(r, a, 0)
	in := admin.InviteInput{Email: form["email"], FirstName: roster.Some(form["first_name"]), LastName: roster.Some(form["last_name"]),
		Permissions: roster.Some(perms), WelcomeMessage: roster.Some(form["welcome_message"])}
	var fields map[string]string
	if d, err := formDate(form["expiration_date"]); err != nil {
		fields = map[string]string{"expiration_date": err.Error()}
	} else {
		in.ExpirationDate = roster.Some(d)
	}
	var res *admin.InviteResult
	var err error
	if fields == nil {
		res, err = h.svc.Invite(r.Context(), a, in)
	}
	var ve *roster.ValidationError
	switch {
	case errors.As(err, &ve):
		fields = ve.Fields
	case errors.Is(err, roster.ErrLastAdmin):
		fields = map[string]string{"permissions": roster.ErrLastAdmin.Error()}
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if fields != nil {
		h.render(w, r, "invite", &view{Title: "Invite user", Form: form, Fields: fields, Status: http.StatusUnprocessableEntity,
			Error: "The invitation was not sent. Correct the fields marked below.",
			Data:  userFormView{Perms: permChoices(a, perms), MaxWelc: admin.MaxWelcomeMessage}})
		return
	}
	notice := "invited"
	if !res.Created {
		notice = "reinvited"
	}
	http.Redirect(w, r, "/users?"+url.Values{"notice": {notice}, "email": {res.User.Email}}.Encode(), http.StatusSeeOther)
}

// userFromPath loads the user named in the URL for the actor, answering
// 404 for a missing id and another organization's alike.
func (h *Handler) userFromPath(w http.ResponseWriter, r *http.Request, a *roster.Actor) *roster.User {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, roster.ErrNotFound)
		return nil
	}
	u, err := h.svc.User(r.Context(), a, id)
	if err != nil {
		h.fail(w, r, err)
		return nil
	}
	return u
}

func (h *Handler) showEdit(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	u := h.userFromPath(w, r, a)
	if u == nil {
		return
	}
	form := map[string]string{"first_name": u.FirstName, "last_name": u.LastName, "expiration_date": u.ExpirationDate.String(), "welcome_message": u.WelcomeMessage}
	h.render(w, r, "edit", &view{Title: "Edit " + u.Email, Form: form,
		Data: userFormView{User: u, Perms: permChoices(a, u.Permissions), MaxWelc: admin.MaxWelcomeMessage}})
}

func (h *Handler) edit(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	u := h.userFromPath(w, r, a)
	if u == nil {
		return
	}
	form := map[string]string{}
	for _, k := range []string{"first_name", "last_name", "expiration_date", "welcome_message"} {
		form[k] = r.PostFormValue(k)
	}
	perms := formPermissions(r, a, u.Permissions)
	p := admin.UserPatch{FirstName: roster.Some(form["first_name"]), LastName: roster.Some(form["last_name"]),
		Permissions: roster.Some(perms), WelcomeMessage: roster.Some(form["welcome_message"])}
	var fields map[string]string
	if d, err := formDate(form["expiration_date"]); err != nil {
		fields = map[string]string{"expiration_date": err.Error()}
	} else {
		p.ExpirationDate = roster.Some(d)
	}
	var err error
	if fields == nil {
		_, err = h.svc.UpdateUser(r.Context(), a, u.ID, p)
	}
	var ve *roster.ValidationError
	switch {
	case errors.As(err, &ve):
		fields = ve.Fields
	case errors.Is(err, roster.ErrLastAdmin):
		fields = map[string]string{"permissions": roster.ErrLastAdmin.Error()}
	case err != nil:
		h.fail(w, r, err)
		return
	}
	if fields != nil {
		h.render(w, r, "edit", &view{Title: "Edit " + u.Email, Form: form, Fields: fields, Status: http.StatusUnprocessableEntity,
			Error: "Nothing was changed. Correct the fields marked below.",
			Data:  userFormView{User: u, Perms: permChoices(a, perms), MaxWelc: admin.MaxWelcomeMessage}})
		return
	}
	http.Redirect(w, r, "/users?"+url.Values{"notice": {"updated"}, "email": {u.Email}}.Encode(), http.StatusSeeOther)
}

func (h *Handler) resend(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	u := h.userFromPath(w, r, a)
	if u == nil {
		return
	}
	_, err := h.svc.Resend(r.Context(), a, u.ID)
	var ee *admin.ExpiredError
	switch {
	case errors.As(err, &ee):
		http.Redirect(w, r, "/users?"+url.Values{"error": {"expired"}, "email": {u.Email}, "date": {ee.Expired.String()}}.Encode(), http.StatusSeeOther)
	case err != nil:
		h.fail(w, r, err)
	default:
		http.Redirect(w, r, "/users?"+url.Values{"notice": {"resent"}, "email": {u.Email}}.Encode(), http.StatusSeeOther)
	}
}

func (h *Handler) showRemove(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	u := h.userFromPath(w, r, a)
	if u == nil {
		return
	}
	h.render(w, r, "remove", &view{Title: "Remove " + u.Email, Data: u})
}

func (h *Handler) remove(w http.ResponseWriter, r *http.Request) {
	a := h.requireManager(w, r)
	if a == nil {
		return
	}
	u := h.userFromPath(w, r, a)
	if u == nil {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		// Nothing is removed without the confirmation page's button.
		http.Redirect(w, r, "/users/"+strconv.FormatInt(u.ID, 10)+"/remove", http.StatusSeeOther)
		return
	}
	err := h.svc.RemoveUser(r.Context(), a, u.ID)
	switch {
	case errors.Is(err, roster.ErrLastAdmin):
		h.render(w, r, "remove", &view{Title: "Remove " + u.Email, Data: u, Error: roster.ErrLastAdmin.Error(), Status: http.StatusConflict})
	case err != nil:
		h.fail(w, r, err)
	default:
		http.Redirect(w, r, "/users?"+url.Values{"notice": {"removed"}, "email": {u.Email}}.Encode(), http.StatusSeeOther)
	}
}

// userNotice turns a redirect's notice code into a sentence about email.
func userNotice(q url.Values) (notice, errMsg string) {
	email := q.Get("email")
	switch q.Get("notice") {
	case "invited":
		notice = "Invitation queued for " + email + "."
	case "reinvited":
		notice = email + " already had an account: it was updated and a new invitation is on its way."
	case "resent":
		notice = "A new invitation is on its way to " + email + "; earlier links no longer work."
	case "updated":
		notice = email + " was updated."
	case "removed":
		notice = email + " was removed: their account, sessions and API tokens are gone."
	}
	if q.Get("error") == "expired" {
		errMsg = "No invitation sent: " + email + "'s access expired on " + q.Get("date") + ". Update their expiration date first."
	}
	return notice, errMsg
}
