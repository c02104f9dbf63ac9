package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
)

type meJSON struct {
	User         userJSON `json:"user"`
	Organization struct {
		ID             int64  `json:"id"`
		Name           string `json:"name"`
		Slug           string `json:"slug"`
		UserManagement bool   `json:"user_management"`
		TimeZone       string `json:"time_zone"`
	} `json:"organization"`
	Permissions       []string `json:"permissions"`
	CanManageUsers    bool     `json:"can_manage_users"`
	AuthenticatedWith string   `json:"authenticated_with"`
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	var m meJSON
	m.User = toJSON(a.User, h.svc.Today(a))
	m.Organization.ID, m.Organization.Name, m.Organization.Slug = a.Org.ID, a.Org.Name, a.Org.Slug
	m.Organization.UserManagement, m.Organization.TimeZone = a.Org.UserManagement, a.Org.TimeZone
	m.Permissions = a.User.Permissions.Names()
	m.CanManageUsers = h.svc.CanManageUsers(a)
	m.AuthenticatedWith = a.Via
	writeJSON(w, http.StatusOK, m)
}

type listJSON struct {
	Users      []userJSON `json:"users"`
	Total      int        `json:"total"`
	TotalExact bool       `json:"total_exact"`
	NextCursor *string    `json:"next_cursor"`
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	f, err := roster.ParseUserFilter(r.URL.Query())
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	list, err := h.svc.ListUsers(r.Context(), a, f)
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	out := listJSON{Users: make([]userJSON, len(list.Users)), Total: list.Total, TotalExact: list.TotalExact}
	for i, u := range list.Users {
		out.Users[i] = toJSON(u, list.Today)
	}
	if list.NextCursor != "" {
		out.NextCursor = &list.NextCursor
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	id, err := pathID(r)
	if err == nil {
		var u *roster.User
		if u, err = h.svc.User(r.Context(), a, id); err == nil {
			writeJSON(w, http.StatusOK, toJSON(u, h.svc.Today(a)))
			return
		}
	}
	h.writeErr(w, r, err)
}

// patchJSON holds raw fields so that absent and null differ from blank.
type patchJSON map[string]json.RawMessage

func (p patchJSON) toPatch() (admin.UserPatch, error) {
	var out admin.UserPatch
	var v roster.ValidationError
	str := func(key string, dst *roster.Optional[string]) {
		raw, ok := p[key]
		if !ok {
			return
		}
		var s *string
		if err := json.Unmarshal(raw, &s); err != nil {
			v.Add(key, "must be a string")
			return
		}
		if s == nil {
			*dst = roster.Some("")
		} else {
			*dst = roster.Some(*s)
		}
	}
	for key := range p {
		switch key {
		case "first_name", "last_name", "welcome_message", "permissions", "expiration_date":
		default:
			v.Add(key, "unknown field; PATCH takes first_name, last_name, permissions, expiration_date, welcome_message")
		}
	}
	str("first_name", &out.FirstName)
	str("last_name", &out.LastName)
	str("welcome_message", &out.WelcomeMessage)
	if raw, ok := p["permissions"]; ok {
		var names []string
		if err := json.Unmarshal(raw, &names); err != nil {
			v.Add("permissions", "must be a list of permission names")
		} else if ps, err := roster.ParsePermissions(names); err != nil {
			v.Add("permissions", err.Error())
		} else {
			out.Permissions = roster.Some(ps)
		}
	}
	if raw, ok := p["expiration_date"]; ok {
		var s *string
		if err := json.Unmarshal(raw, &s); err != nil {
			v.Add("expiration_date", "must be a date YYYY-MM-DD or null")
		} else if s == nil || *s == "" {
			out.ExpirationDate = roster.Some(roster.Date{})
		} else if d, err := roster.ParseDate(*s); err != nil {
			v.Add("expiration_date", err.Error())
		} else {
			out.ExpirationDate = roster.Some(d)
		}
	}
	return out, v.Err()
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	id, err := pathID(r)
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	var body patchJSON
	if err := decode(r, &body); err != nil {
		h.writeErr(w, r, err)
		return
	}
	patch, err := body.toPatch()
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	u, err := h.svc.UpdateUser(r.Context(), a, id, patch)
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(u, h.svc.Today(a)))
}

func (h *Handler) removeUser(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	id, err := pathID(r)
	if err == nil {
		err = h.svc.RemoveUser(r.Context(), a, id)
	}
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// inviteJSON is the body of POST /api/v1/users; absent fields keep an
// existing user's values, null or "" clears them.
func (p patchJSON) toInvite() (admin.InviteInput, error) {
	var in admin.InviteInput
	var v roster.ValidationError
	raw, ok := p["email"]
	if !ok {
		v.Add("email", "required")
	} else if err := json.Unmarshal(raw, &in.Email); err != nil {
		v.Add("email", "must be a string")
	}
	rest := patchJSON{}
	for k, val := range p {
		if k != "email" {
			rest[k] = val
		}
	}
	patch, err := rest.toPatch()
	var ve *roster.ValidationError
	if errors.As(err, &ve) {
		for k, msg := range ve.Fields {
			v.Add(k, strings.Replace(msg, "PATCH takes", "invite takes email,", 1))
		}
	}
	in.FirstName, in.LastName, in.WelcomeMessage = patch.FirstName, patch.LastName, patch.WelcomeMessage
	in.Permissions, in.ExpirationDate = patch.Permissions, patch.ExpirationDate
	return in, v.Err()
}

func (h *Handler) inviteUser(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	var body patchJSON
	if err := decode(r, &body); err != nil {
		h.writeErr(w, r, err)
		return
	}
	in, err := body.toInvite()
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	res, err := h.svc.Invite(r.Context(), a, in)
	if err != nil {
		h.writeErr(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/users/"+strconv.FormatInt(res.User.ID, 10))
	}
	writeJSON(w, status, toJSON(res.User, h.svc.Today(a)))
}

func (h *Handler) resendInvitation(w http.ResponseWriter, r *http.Request) {
	a := h.actor(w, r)
	if a == nil {
		return
	}
	id, err := pathID(r)
	if err == nil {
		var u *roster.User
		if u, err = h.svc.Resend(r.Context(), a, id); err == nil {
			writeJSON(w, http.StatusAccepted, toJSON(u, h.svc.Today(a)))
			return
		}
	}
	h.writeErr(w, r, err)
}
