package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/roster"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// notices are the fixed messages a redirect may ask a page to show.
var notices = map[string]string{
	"signed_out":   "You are signed out.",
	"reset_sent":   "If an account uses that address, we have sent it a link to choose a new password. Check your email.",
	"setup_done":   "Your organization is ready.",
	"password_set": "Your password is set. You are signed in.",
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	a := h.requireSignIn(w, r)
	if a == nil {
		return
	}
	h.render(w, r, "home", &view{Title: a.Org.Name, Notice: notices[r.URL.Query().Get("notice")]})
}

func (h *Handler) showProfile(w http.ResponseWriter, r *http.Request) {
	a := h.requireSignIn(w, r)
	if a == nil {
		return
	}
	h.render(w, r, "profile", &view{Title: "Profile", Data: a.User.StatusOn(h.svc.Today(a))})
}

func (h *Handler) showSignIn(w http.ResponseWriter, r *http.Request) {
	if auth.ActorFrom(r.Context()) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	q := r.URL.Query()
	notice := notices[q.Get("notice")]
	if n, err := h.svc.DB().CountOrgs(r.Context()); err == nil && n == 0 {
		notice = "Roster is not set up yet. Open the one-time setup link that roster serve printed when it started."
	}
	h.render(w, r, "signin", &view{Title: "Sign in", Notice: notice,
		Form: map[string]string{"next": q.Get("next"), "email": q.Get("email")}})
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.render(w, r, "signin", &view{Title: "Sign in", Error: "The form could not be read; try again.", Status: http.StatusBadRequest})
		return
	}
	form := map[string]string{"email": r.PostFormValue("email"), "next": r.PostFormValue("next"), "org": r.PostFormValue("org")}
	in := admin.SignInInput{Email: form["email"], Password: r.PostFormValue("password"), OrgSlug: form["org"], Client: ClientAddr(r)}
	if c, err := r.Cookie(DeviceCookie); err == nil {
		in.Device = c.Value
	}
	sess, err := h.svc.SignIn(r.Context(), in)
	if err != nil {
		v := &view{Title: "Sign in", Form: form, Status: http.StatusUnauthorized}
		var choose *admin.ChooseOrgError
		var throttled *admin.ThrottledError
		var ae *roster.AccessError
		switch {
		case errors.As(err, &choose):
			v.Data, v.Status = choose.Orgs, http.StatusOK
			v.Notice = "This email has accounts in several organizations. Choose one and enter your password again."
		case errors.As(err, &throttled):
			v.Error, v.Status = throttled.Error()+".", http.StatusTooManyRequests
			// Retry-After is whole seconds (RFC 9110), rounded up.
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int((throttled.RetryAfter+time.Second-1)/time.Second))))
		case errors.As(err, &ae):
			h.accessEnded(w, r, ae)
			return
		case errors.Is(err, roster.ErrBadCredentials):
			v.Error = "Incorrect email or password."
		default:
			h.fail(w, r, err)
			return
		}
		h.render(w, r, "signin", v)
		return
	}
	h.setSession(w, r, sess)
	http.Redirect(w, r, safeNext(form["next"]), http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := h.svc.SignOut(r.Context(), c.Value); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.clearSession(w)
	http.Redirect(w, r, "/signin?notice=signed_out", http.StatusSeeOther)
}

func (h *Handler) showForgot(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, "forgot", &view{Title: "Forgot password", Form: map[string]string{"email": r.URL.Query().Get("email")}})
}

func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.RequestPasswordReset(r.Context(), r.PostFormValue("email")); err != nil {
		h.fail(w, r, err)
		return
	}
	// The same answer whether or not the address has an account.
	http.Redirect(w, r, "/signin?notice=reset_sent", http.StatusSeeOther)
}

func (h *Handler) showLink(w http.ResponseWriter, r *http.Request) {
	info, err := h.svc.Link(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.renderLink(w, r, info, nil)
}

func (h *Handler) renderLink(w http.ResponseWriter, r *http.Request, info *admin.LinkInfo, fields map[string]string) {
	v := &view{Title: "Choose your password", Data: linkView{Info: info, MinLength: h.svc.PasswordMinLength()}, Fields: fields}
	if info.State != admin.LinkValid {
		v.Title, v.Status = "This link cannot be used", http.StatusGone
		if info.State == admin.LinkUnknown {
			v.Status = http.StatusNotFound
		}
	} else if fields != nil {
		v.Status = http.StatusUnprocessableEntity
	}
	h.render(w, r, "link", v)
}

type linkView struct {
	Info      *admin.LinkInfo
	MinLength int
}

func (h *Handler) useLink(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	if pw != confirm {
		info, err := h.svc.Link(r.Context(), token)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.renderLink(w, r, info, map[string]string{"confirm": "the two passwords differ"})
		return
	}
	sess, err := h.svc.UseLink(r.Context(), token, pw)
	var le *admin.LinkError
	var ve *roster.ValidationError
	switch {
	case errors.As(err, &le):
		h.renderLink(w, r, le.Info, nil)
		return
	case errors.As(err, &ve):
		info, err := h.svc.Link(r.Context(), token)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.renderLink(w, r, info, ve.Fields)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.setSession(w, r, sess)
	http.Redirect(w, r, "/?notice=password_set", http.StatusSeeOther)
}

func (h *Handler) showSetup(w http.ResponseWriter, r *http.Request) {
	ok, err := h.svc.SetupLinkValid(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := &view{Title: "Set up Roster", Form: map[string]string{"time_zone": "UTC"}, Data: h.svc.PasswordMinLength()}
	if !ok {
		v.Error, v.Status = "This setup link has been used or has expired. Restart roster serve on the empty database to print a new one, or sign in.", http.StatusGone
	}
	h.render(w, r, "setup", v)
}

func (h *Handler) setup(w http.ResponseWriter, r *http.Request) {
	form := map[string]string{}
	for _, k := range []string{"org_name", "org_slug", "time_zone", "first_name", "last_name", "email"} {
		form[k] = r.PostFormValue(k)
	}
	in := admin.SetupInput{OrgName: form["org_name"], OrgSlug: form["org_slug"], TimeZone: form["time_zone"],
		FirstName: form["first_name"], LastName: form["last_name"], Email: form["email"], Password: r.PostFormValue("password")}
	sess, err := h.svc.CompleteSetup(r.Context(), r.PathValue("token"), in)
	var ve *roster.ValidationError
	switch {
	case errors.As(err, &ve):
		h.render(w, r, "setup", &view{Title: "Set up Roster", Form: form, Fields: ve.Fields, Data: h.svc.PasswordMinLength(), Status: http.StatusUnprocessableEntity})
		return
	case errors.Is(err, roster.ErrTokenInvalid):
		h.render(w, r, "setup", &view{Title: "Set up Roster", Error: "This setup link has been used or has expired.", Status: http.StatusGone, Data: h.svc.PasswordMinLength()})
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	h.setSession(w, r, sess)
	http.Redirect(w, r, "/?notice=setup_done", http.StatusSeeOther)
}
