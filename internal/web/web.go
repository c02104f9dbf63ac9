// Package web is Roster's server-rendered dashboard: sign-in, first-run
// setup, one-time links, the profile menu and User Management pages. Each
// handler decodes a form, calls one admin method and renders; no rule lives
// here. Templates and static files are embedded and parsed at startup.
package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/roster"
)

// Cookie names.
const (
	SessionCookie = "roster_session"
	DeviceCookie  = "roster_device"
)

//go:embed templates static
var files embed.FS

// Options configures the dashboard.
type Options struct {
	SecureCookies bool // set the Secure flag on cookies (always under https)
}

// Handler serves the dashboard.
type Handler struct {
	svc   *admin.Service
	log   *slog.Logger
	opt   Options
	pages map[string]*template.Template
}

// New parses every page template; a template that fails to parse is an error
// here, at startup, not on the first request.
func New(svc *admin.Service, log *slog.Logger, o Options) (*Handler, error) {
	h := &Handler{svc: svc, log: log, opt: o, pages: map[string]*template.Template{}}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	// Files named *.partial.html hold templates every page may use.
	shared := []string{"templates/layout.html"}
	for _, n := range names {
		if strings.HasSuffix(n, ".partial.html") {
			shared = append(shared, n)
		}
	}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || strings.HasSuffix(base, ".partial.html") {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(files, append(shared, n)...)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", base, err)
		}
		h.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return h, nil
}

// Pages lists the page names, for the test that renders every page.
func (h *Handler) Pages() []string {
	var out []string
	for n := range h.pages {
		out = append(out, n)
	}
	return out
}

// Mux is where routes are registered: an *http.ServeMux, or a wrapper that
// records the patterns (the tenancy test walks every route).
type Mux interface {
	Handle(pattern string, h http.Handler)
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
}

// Register adds the dashboard's routes to mux.
func (h *Handler) Register(mux Mux) {
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))

	// Home and profile
	mux.HandleFunc("GET /{$}", h.home)
	mux.HandleFunc("GET /profile", h.showProfile)

	// Signing in and out
	mux.HandleFunc("GET /signin", h.showSignIn)
	mux.HandleFunc("POST /signin", h.signIn)
	mux.HandleFunc("POST /signout", h.signOut)
	mux.HandleFunc("GET /forgot", h.showForgot)
	mux.HandleFunc("POST /forgot", h.forgot)

	// One-time links and first run
	mux.HandleFunc("GET /link/{token}", h.showLink)
	mux.HandleFunc("POST /link/{token}", h.useLink)
	mux.HandleFunc("GET /setup/{token}", h.showSetup)
	mux.HandleFunc("POST /setup/{token}", h.setup)

	// User Management
	mux.HandleFunc("GET /users", h.listUsers)
	mux.HandleFunc("POST /users/bulk", h.bulkUsers)
	mux.HandleFunc("GET /users/export.csv", h.exportUsers)
	mux.HandleFunc("GET /users/invite", h.showInvite)
	mux.HandleFunc("POST /users/invite", h.invite)
	mux.HandleFunc("GET /users/{id}/edit", h.showEdit)
	mux.HandleFunc("POST /users/{id}/edit", h.edit)
	mux.HandleFunc("POST /users/{id}/resend", h.resend)
	mux.HandleFunc("GET /users/{id}/remove", h.showRemove)
	mux.HandleFunc("POST /users/{id}/remove", h.remove)
	mux.HandleFunc("GET /audit", h.showAudit)
	mux.HandleFunc("GET /bulk/{id}", h.showBulkJob)
	mux.HandleFunc("GET /bulk/{id}/status", h.bulkJobStatus)

	// Bulk upload. An import's own pages sit under /imports/{id}: a pattern
	// /users/import/{id} would conflict with /users/{id}/edit (both match
	// /users/import/edit), which ServeMux refuses.
	mux.HandleFunc("GET /users/import", h.showImport)
	mux.HandleFunc("POST /users/import", h.uploadImport)
	mux.HandleFunc("GET /users/import/template.csv", h.importTemplate)
	mux.HandleFunc("GET /imports/{id}", h.showImportByID)
	mux.HandleFunc("GET /imports/{id}/status", h.importStatus)
	mux.HandleFunc("POST /imports/{id}/apply", h.applyImport)
	mux.HandleFunc("POST /imports/{id}/discard", h.discardImport)
	mux.HandleFunc("GET /imports/{id}/report.csv", h.importReport)
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// view is what every page template receives.
type view struct {
	Title     string
	Actor     *roster.Actor
	CanManage bool
	Notice    string
	Error     string
	Form      map[string]string
	Fields    map[string]string
	Data      any
	Status    int
}

var funcs = template.FuncMap{
	"date": func(d roster.Date) string {
		if d.IsZero() {
			return "none"
		}
		return d.String()
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"initials": func(u *roster.User) string {
		var b []rune
		for _, s := range []string{u.FirstName, u.LastName} {
			if r := []rune(strings.TrimSpace(s)); len(r) > 0 {
				b = append(b, r[0])
			}
		}
		if len(b) == 0 && u.Email != "" {
			b = []rune(u.Email)[:1]
		}
		return strings.ToUpper(string(b))
	},
	// num writes n with thousands separators: 12000 -> "12,000".
	"num": thousands,
	// plural picks the word for n: {{plural .N "row" "rows"}}.
	"plural": plural,
	// mib writes a byte count in whole MiB.
	"mib": func(n int64) string { return thousands(int(n>>20)) + " MiB" },
	// percent is part of whole, rounded down, 0 for an empty whole.
	"percent": func(part, whole int) int {
		if whole <= 0 {
			return 0
		}
		return part * 100 / whole
	},
	"permLabels": func(ps roster.Permissions) string {
		var out []string
		for _, p := range ps.List() {
			out = append(out, p.Label())
		}
		if len(out) == 0 {
			return "none"
		}
		return strings.Join(out, ", ")
	},
}

// plural picks the word for n: one for 1, many otherwise.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// thousands writes n with comma separators, as the pages show counts.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// render writes a page; errors in the template are logged and answered 500.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, name string, v *view) {
	t, ok := h.pages[name]
	if !ok {
		panic("web: no page " + name) // a programmer error: every page is parsed at startup
	}
	if v.Actor == nil {
		v.Actor = auth.ActorFrom(r.Context())
	}
	if v.Actor != nil {
		v.CanManage = h.svc.CanManageUsers(v.Actor)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.Error("Render page", "page", name, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if v.Status != 0 {
		w.WriteHeader(v.Status)
	}
	buf.WriteTo(w)
}

// requireManager returns the actor when they may use User Management, and
// otherwise answers: sign-in for nobody, the 403 page for the rest.
func (h *Handler) requireManager(w http.ResponseWriter, r *http.Request) *roster.Actor {
	a := h.requireSignIn(w, r)
	if a == nil {
		return nil
	}
	if err := h.svc.Authorize(a); err != nil {
		h.forbidden(w, r, err)
		return nil
	}
	return a
}

// requireSignIn returns the actor, or redirects to sign-in and returns nil.
func (h *Handler) requireSignIn(w http.ResponseWriter, r *http.Request) *roster.Actor {
	if a := auth.ActorFrom(r.Context()); a != nil {
		return a
	}
	var ae *roster.AccessError
	if errors.As(auth.AuthErrorFrom(r.Context()), &ae) {
		h.clearSession(w)
		h.accessEnded(w, r, ae)
		return nil
	}
	http.Redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	return nil
}

// forbiddenView is what the 403 page shows. Ended is set when the account's
// access has ended altogether (an expired user signing in, or an expired
// user's session), rather than User Management alone being refused.
type forbiddenView struct {
	Reason, Contact string
	Ended           bool
}

// forbidden renders the 403 page saying why and whom to ask.
func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request, err error) {
	var ae *roster.AccessError
	if !errors.As(err, &ae) {
		ae = &roster.AccessError{Reason: "You do not have access to this page."}
	}
	h.render(w, r, "forbidden", &view{Title: "No access", Data: forbiddenView{Reason: ae.Reason, Contact: ae.Contact}, Status: http.StatusForbidden})
}

// accessEnded renders the 403 page for an account whose access has ended.
func (h *Handler) accessEnded(w http.ResponseWriter, r *http.Request, ae *roster.AccessError) {
	h.render(w, r, "forbidden", &view{Title: "Access ended", Data: forbiddenView{Reason: ae.Reason, Contact: ae.Contact, Ended: true}, Status: http.StatusForbidden})
}

// fail answers an unexpected error: logged, never shown.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, roster.ErrNotFound) {
		h.render(w, r, "error", &view{Title: "Not found", Error: "There is nothing at this address.", Status: http.StatusNotFound})
		return
	}
	var ae *roster.AccessError
	if errors.As(err, &ae) {
		h.forbidden(w, r, ae)
		return
	}
	h.log.Error("Dashboard request failed", "method", r.Method, "path", RedactPath(r.URL.Path), "err", err)
	h.render(w, r, "error", &view{Title: "Something went wrong", Error: "Something went wrong on our side. Try again; if it keeps happening, tell your administrator.", Status: http.StatusInternalServerError})
}

func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, s *admin.Session) {
	secure := h.opt.SecureCookies || r.TLS != nil
	// The cookie outlives the session on purpose: the server slides the
	// session's expiry while it is used and is the one that ends it.
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: s.Secret.Reveal(), Path: "/", MaxAge: 400 * 24 * 3600,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	if s.Device != "" {
		http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: s.Device.Reveal(), Path: "/signin", MaxAge: 400 * 24 * 3600,
			HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	}
}

func (h *Handler) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// ClientAddr is the request's peer address (the load balancer's, behind one).
func ClientAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a
}

// RedactPath hides the secret in a one-time link's path before it is logged.
func RedactPath(p string) string {
	for _, prefix := range []string{"/link/", "/setup/"} {
		if strings.HasPrefix(p, prefix) {
			return prefix + "[REDACTED]"
		}
	}
	return p
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}
