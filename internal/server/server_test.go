package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
	"github.com/roster-dev/roster/internal/web"
)

// testPassword passes the password policy (long, not common, unrelated to
// any test user's name or email).
const testPassword = "violet lantern orbit 7 quietly"

// clock is a settable time source for the service, so a test can let an
// expiration date pass.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

type envOptions struct {
	secure bool
	ready  *atomic.Bool
	clock  *clock
}

// testEnv is the real server (every middleware, both route sets) on a
// fresh database, served over HTTP.
type testEnv struct {
	svc      *admin.Service
	url      string
	mailDir  string
	patterns []string
	client   *http.Client
}

func newEnv(t *testing.T, b storetest.Backend, o envOptions) *testEnv {
	t.Helper()
	db := b.Open(t)
	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	base := "http://" + ts.Listener.Addr().String()
	mailDir := filepath.Join(t.TempDir(), "mailbox")
	mb, err := mail.NewMailbox(mailDir, mail.Options{}, nil)
	if err != nil {
		t.Fatalf("NewMailbox: %v", err)
	}
	ao := admin.Options{DB: db, BaseURL: base, Mailer: mb}
	if o.clock != nil {
		ao.Now = o.clock.Now
	}
	svc := admin.New(ao)
	h, patterns, err := build(Options{Service: svc, SecureCookies: o.secure, Ready: o.ready})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	ts.Config.Handler = h
	ts.Start()
	if ts.URL != base {
		t.Fatalf("test server URL = %q, want %q", ts.URL, base)
	}
	client := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &testEnv{svc: svc, url: base, mailDir: mailDir, patterns: patterns, client: client}
}

// tenant is an organization with an admin who has a password, a session
// and an API token.
type tenant struct {
	org     *roster.Org
	admin   *roster.User
	actor   *roster.Actor
	token   string
	session string
}

func (e *testEnv) addTenant(t *testing.T, name, slug string, userManagement bool, contact string) *tenant {
	t.Helper()
	ctx := t.Context()
	o := &roster.Org{Name: name, Slug: slug, UserManagement: userManagement, Locale: "en-US", TimeZone: "UTC", SupportContact: contact}
	if err := e.svc.CreateOrg(ctx, o); err != nil {
		t.Fatalf("CreateOrg(%s): %v", slug, err)
	}
	u, sess := e.addUser(t, slug, "admin@"+slug+".example")
	tok, _, err := e.svc.CreateAPIToken(ctx, slug, "tests", "")
	if err != nil {
		t.Fatalf("CreateAPIToken(%s): %v", slug, err)
	}
	return &tenant{org: o, admin: u, actor: sess.Actor, token: tok.Reveal(), session: sess.Secret.Reveal()}
}

// addUser adds an admin (all four permissions) through the operator path
// and sets their password through the one-time link, which signs them in.
func (e *testEnv) addUser(t *testing.T, slug, email string) (*roster.User, *admin.Session) {
	t.Helper()
	ctx := t.Context()
	u, link, err := e.svc.AddAdmin(ctx, slug, email)
	if err != nil {
		t.Fatalf("AddAdmin(%s, %s): %v", slug, email, err)
	}
	_, tok, ok := strings.Cut(link, "/link/")
	if !ok || !strings.HasPrefix(link, e.url) {
		t.Fatalf("AddAdmin link = %q, want %s/link/…", link, e.url)
	}
	sess, err := e.svc.UseLink(ctx, tok, testPassword)
	if err != nil {
		t.Fatalf("UseLink for %s: %v", email, err)
	}
	return u, sess
}

// addMember adds a user without manage_users (View Analytics only), with a
// password and a session.
func (e *testEnv) addMember(t *testing.T, tn *tenant, email, first, last string) (*roster.User, string) {
	t.Helper()
	u, sess := e.addUser(t, tn.org.Slug, email)
	u, err := e.svc.UpdateUser(t.Context(), tn.actor, u.ID, admin.UserPatch{
		FirstName:   roster.Some(first),
		LastName:    roster.Some(last),
		Permissions: roster.Some(roster.Permissions(roster.ViewAnalytics)),
	})
	if err != nil {
		t.Fatalf("UpdateUser(%s): %v", email, err)
	}
	return u, sess.Secret.Reveal()
}

// signIn opens a new session for email through the service.
func (e *testEnv) signIn(t *testing.T, email string) string {
	t.Helper()
	sess, err := e.svc.SignIn(t.Context(), admin.SignInInput{Email: email, Password: testPassword, Client: netip.MustParseAddr("192.0.2.1")})
	if err != nil {
		t.Fatalf("SignIn(%s): %v", email, err)
	}
	return sess.Secret.Reveal()
}

// req is one HTTP request to the test server.
type req struct {
	method, path string
	body         string
	contentType  string
	token        string // Authorization: Bearer
	auth         string // raw Authorization header
	cookie       string // session cookie value
	header       map[string]string
}

func (e *testEnv) do(t *testing.T, r req) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequestWithContext(t.Context(), r.method, e.url+r.path, body)
	if err != nil {
		t.Fatalf("NewRequest(%s %s): %v", r.method, r.path, err)
	}
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.auth != "" {
		hr.Header.Set("Authorization", r.auth)
	}
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: r.cookie})
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
	}
	return resp, string(b)
}

func jsonError(t *testing.T, body string) (code, msg string, fields map[string]string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Fields  map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("body is not a JSON error: %v\n%s", err, body)
	}
	return e.Error.Code, e.Error.Message, e.Error.Fields
}

// userState is what must not change when a request is refused.
func userState(u *roster.User) string {
	return fmt.Sprintf("email=%s first=%q last=%q perms=%v exp=%s welcome=%q password=%t",
		u.Email, u.FirstName, u.LastName, u.Permissions.Names(), u.ExpirationDate, u.WelcomeMessage, u.HasPassword)
}

func (e *testEnv) reread(t *testing.T, tn *tenant, id int64) string {
	t.Helper()
	u, err := e.svc.User(t.Context(), tn.actor, id)
	if err != nil {
		t.Fatalf("re-read user %d: %v", id, err)
	}
	return userState(u)
}

// fillPattern turns a route pattern into a method (empty: any) and a
// concrete path, or reports a wildcard it does not know how to fill.
func fillPattern(pattern string, fill map[string]string) (method, path string, hasID bool, err error) {
	method, rest, ok := strings.Cut(pattern, " ")
	if !ok {
		method, rest = "", pattern
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "/") {
		return "", "", false, fmt.Errorf("pattern %q has a host part; teach TestTenancyEveryRoute about hosts", pattern)
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
		switch {
		case name == "$" && i == len(segs)-1:
			segs[i] = ""
		case name == "id":
			segs[i], hasID = fill["id"], true
		default:
			v, ok := fill[name]
			if !ok {
				return "", "", false, fmt.Errorf("pattern %q has the wildcard {%s}, which TestTenancyEveryRoute does not know how to fill; add a plausible value to its fill map (and, if it names a tenant's row, check it like {id})", pattern, name)
			}
			segs[i] = v
		}
	}
	path = strings.Join(segs, "/")
	if strings.HasSuffix(rest, "/") && !strings.HasSuffix(rest, "{$}") {
		// A prefix pattern: probe below it with the victim's id.
		path += fill["id"]
	}
	return method, path, hasID, nil
}

func TestFillPattern(t *testing.T) {
	fill := map[string]string{"id": "42", "token": "tok"}
	tests := []struct {
		pattern, method, path string
		hasID, wantErr        bool
	}{
		{"GET /api/v1/users/{id}", "GET", "/api/v1/users/42", true, false},
		{"POST /link/{token}", "POST", "/link/tok", false, false},
		{"GET /{$}", "GET", "/", false, false},
		{"GET /static/", "GET", "/static/42", false, false},
		{"/api/v1/", "", "/api/v1/42", false, false},
		{"GET /imports/{importID}/apply", "", "", false, true},
		{"GET example.com/x", "", "", false, true},
	}
	for _, tc := range tests {
		m, p, hasID, err := fillPattern(tc.pattern, fill)
		if (err != nil) != tc.wantErr {
			t.Errorf("fillPattern(%q) error = %v, want error %t", tc.pattern, err, tc.wantErr)
			continue
		}
		if err == nil && (m != tc.method || p != tc.path || hasID != tc.hasID) {
			t.Errorf("fillPattern(%q) = %q, %q, %t; want %q, %q, %t", tc.pattern, m, p, hasID, tc.method, tc.path, tc.hasID)
		}
	}
}

// TestTenancyEveryRoute requests every registered route as organization B
// with organization A's user's id in it, and checks that nothing of A's
// leaks or changes (SPEC "Words": nothing ever crosses between two
// organizations; "Bad input": another organization's id is a 404
// indistinguishable from a missing one).
func TestTenancyEveryRoute(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, envOptions{})
			ctx := t.Context()
			orgA := e.addTenant(t, "Acorn Alpha", "acorn", true, "")
			victim, _ := e.addMember(t, orgA, "zebulon@acorn.example", "Zebulon", "Quartermaine")
			orgB := e.addTenant(t, "Birch Beta", "birch", true, "")
			e.addMember(t, orgB, "bertha@birch.example", "Bertha", "Bystander")

			secrets := []string{victim.Email, victim.FirstName, victim.LastName, orgA.admin.Email, orgA.org.Name}
			before := e.reread(t, orgA, victim.ID)
			auditBefore, err := e.svc.AuditLog(ctx, orgA.actor, admin.AuditQuery{Limit: 500})
			if err != nil {
				t.Fatalf("AuditLog: %v", err)
			}

			for _, want := range []string{"GET /api/v1/users/{id}", "PATCH /api/v1/users/{id}", "DELETE /api/v1/users/{id}"} {
				if !slices.Contains(e.patterns, want) {
					t.Errorf("routes = %q, want them to include %q", e.patterns, want)
				}
			}
			if len(e.patterns) < 10 {
				t.Fatalf("build registered %d routes (%q); want every dashboard and API route", len(e.patterns), e.patterns)
			}

			tok, err := auth.NewToken("")
			if err != nil {
				t.Fatal(err)
			}
			fill := map[string]string{"token": tok.Reveal()}
			jsonBody := `{"first_name":"Hacked","last_name":"Hacked","permissions":["view_analytics"],"expiration_date":"2001-01-01","welcome_message":"pwned"}`
			formBody := url.Values{
				"email": {"intruder@birch.example"}, "password": {testPassword + " x"}, "confirm": {testPassword + " x"},
				"first_name": {"Hacked"}, "last_name": {"Hacked"}, "org_name": {"Hacked"}, "org_slug": {"hacked"},
				"time_zone": {"UTC"}, "next": {"/"}, "welcome_message": {"pwned"}, "permissions": {"manage_users"},
			}.Encode()

			for _, pattern := range e.patterns {
				fill["id"] = fmt.Sprint(victim.ID)
				method, path, hasID, err := fillPattern(pattern, fill)
				if err != nil {
					t.Error(err)
					continue
				}
				fill["id"] = "999999999"
				_, missingPath, _, _ := fillPattern(pattern, fill)
				methods := []string{method}
				if method == "" {
					methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}
				}
				for _, m := range methods {
					for _, via := range []string{"token", "session"} {
						mk := func(p string) req {
							r := req{method: m, path: p}
							if via == "token" {
								r.token = orgB.token
							} else {
								r.cookie = e.signIn(t, orgB.admin.Email)
							}
							if m != "GET" && m != "HEAD" {
								r.header = map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.url}
								if strings.HasPrefix(p, "/api/") {
									r.body, r.contentType = jsonBody, "application/json"
								} else {
									r.body, r.contentType = formBody, "application/x-www-form-urlencoded"
								}
							}
							return r
						}
						name := fmt.Sprintf("%s %s (route %q, as B via %s)", m, path, pattern, via)
						resp, body := e.do(t, mk(path))
						if resp.StatusCode >= 500 {
							t.Errorf("%s: status %d, want no server error; body:\n%s", name, resp.StatusCode, body)
						}
						for _, s := range secrets {
							if strings.Contains(body, s) {
								t.Errorf("%s: body contains org A's %q:\n%s", name, s, body)
							}
						}
						if !hasID {
							continue
						}
						mresp, mbody := e.do(t, mk(missingPath))
						if resp.StatusCode != http.StatusNotFound {
							t.Errorf("%s: status %d, want 404", name, resp.StatusCode)
						}
						if resp.StatusCode != mresp.StatusCode || body != mbody {
							t.Errorf("%s: answer %d %q differs from a missing id's %d %q", name, resp.StatusCode, body, mresp.StatusCode, mbody)
						}
					}
				}
			}

			if got := e.reread(t, orgA, victim.ID); got != before {
				t.Errorf("org A's user after B's requests: %s, want unchanged %s", got, before)
			}
			auditAfter, err := e.svc.AuditLog(ctx, orgA.actor, admin.AuditQuery{Limit: 500})
			if err != nil {
				t.Fatalf("AuditLog: %v", err)
			}
			if len(auditAfter.Events) != len(auditBefore.Events) || auditBefore.NextCursor != "" {
				t.Errorf("org A's audit log has %d events after B's requests, want %d (no change)", len(auditAfter.Events), len(auditBefore.Events))
			}
			// A's credentials still work: B's requests voided nothing of A's.
			if resp, body := e.do(t, req{method: "GET", path: "/api/v1/users/" + fmt.Sprint(victim.ID), token: orgA.token}); resp.StatusCode != http.StatusOK || !strings.Contains(body, victim.Email) {
				t.Errorf("A's own GET of its user: %d %s, want 200 with %s", resp.StatusCode, body, victim.Email)
			}
		})
	}
}

func cspDirectives(csp string) map[string]string {
	out := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		d = strings.TrimSpace(d)
		name, val, _ := strings.Cut(d, " ")
		if name != "" {
			out[strings.ToLower(name)] = val
		}
	}
	return out
}

func TestSecurityHeaders(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, envOptions{})
			acme := e.addTenant(t, "Acme", "acme", true, "")
			tests := []struct {
				name       string
				path       string
				token      string
				wantStatus int
			}{
				{"healthz", "/healthz", "", 200},
				{"sign-in page", "/signin", "", 200},
				{"me without token", "/api/v1/me", "", 401},
				{"me with token", "/api/v1/me", acme.token, 200},
				{"me with bad token", "/api/v1/me", "rst_nope", 401},
				{"not found", "/no/such/page", "", 404},
				{"static", "/static/app.css", "", 200},
			}
			ids := map[string]bool{}
			for _, tc := range tests {
				resp, body := e.do(t, req{method: "GET", path: tc.path, token: tc.token})
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("%s: GET %s status %d, want %d; body %s", tc.name, tc.path, resp.StatusCode, tc.wantStatus, body)
				}
				h := resp.Header
				csp := h.Get("Content-Security-Policy")
				d := cspDirectives(csp)
				script, ok := d["script-src"]
				if !ok {
					script = d["default-src"]
				}
				if script == "" || strings.Contains(script, "'unsafe-inline'") || strings.Contains(script, "'unsafe-eval'") {
					t.Errorf("%s: CSP %q: script-src %q, want one without 'unsafe-inline' or 'unsafe-eval'", tc.name, csp, script)
				}
				if d["frame-ancestors"] != "'none'" {
					t.Errorf("%s: CSP %q: frame-ancestors %q, want 'none'", tc.name, csp, d["frame-ancestors"])
				}
				if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("%s: X-Content-Type-Options %q, want nosniff", tc.name, got)
				}
				if got := h.Get("Referrer-Policy"); got == "" || strings.Contains(got, "unsafe-url") {
					t.Errorf("%s: Referrer-Policy %q, want a restrictive policy", tc.name, got)
				}
				id := h.Get("X-Request-ID")
				if len(id) < 8 {
					t.Errorf("%s: X-Request-ID %q, want an id", tc.name, id)
				}
				if ids[id] {
					t.Errorf("%s: X-Request-ID %q repeats an earlier request's", tc.name, id)
				}
				ids[id] = true
			}
		})
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, envOptions{})
			acme := e.addTenant(t, "Acme", "acme", true, "")
			form := url.Values{"email": {acme.admin.Email}, "password": {testPassword}}.Encode()
			tests := []struct {
				name       string
				header     map[string]string
				wantStatus int
			}{
				{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
				{"same-site other origin", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
				{"foreign Origin, no Sec-Fetch-Site", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
				{"same-origin fetch", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.url}, http.StatusSeeOther},
				{"no browser headers (curl)", nil, http.StatusSeeOther},
			}
			for _, tc := range tests {
				resp, body := e.do(t, req{method: "POST", path: "/signin", body: form, contentType: "application/x-www-form-urlencoded", header: tc.header})
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("%s: POST /signin status %d, want %d; body %s", tc.name, resp.StatusCode, tc.wantStatus, body)
				}
				gotCookie := false
				for _, c := range resp.Cookies() {
					if c.Name == web.SessionCookie && c.Value != "" {
						gotCookie = true
					}
				}
				if gotCookie != (tc.wantStatus == http.StatusSeeOther) {
					t.Errorf("%s: session cookie set = %t, want %t", tc.name, gotCookie, tc.wantStatus == http.StatusSeeOther)
				}
			}
			// An API write from another site is refused too, before it changes anything.
			before := e.reread(t, acme, acme.admin.ID)
			resp, body := e.do(t, req{method: "PATCH", path: fmt.Sprintf("/api/v1/users/%d", acme.admin.ID), token: acme.token,
				body: `{"first_name":"Evil"}`, contentType: "application/json", header: map[string]string{"Sec-Fetch-Site": "cross-site"}})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("cross-site PATCH: status %d, want 403; body %s", resp.StatusCode, body)
			}
			if got := e.reread(t, acme, acme.admin.ID); got != before {
				t.Errorf("after refused cross-site PATCH: %s, want %s", got, before)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, envOptions{})
			acme := e.addTenant(t, "Acme", "acme", true, "")
			member, _ := e.addMember(t, acme, "mia@acme.example", "Mia", "Member")
			before := e.reread(t, acme, member.ID)
			big := `{"first_name":"` + strings.Repeat("a", 2<<20) + `"}`
			resp, body := e.do(t, req{method: "PATCH", path: fmt.Sprintf("/api/v1/users/%d", member.ID), token: acme.token, body: big, contentType: "application/json"})
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("2 MiB PATCH: status %d, want 4xx", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("2 MiB PATCH: Content-Type %q, want JSON", ct)
			}
			_, msg, fields := jsonError(t, body)
			all := msg + " " + fmt.Sprint(fields)
			if !strings.Contains(all, fmt.Sprint(MaxBodyBytes)) && !strings.Contains(all, "1 MiB") {
				t.Errorf("2 MiB PATCH: error %s, want it to state the limit (%d bytes)", body, MaxBodyBytes)
			}
			if got := e.reread(t, acme, member.ID); got != before {
				t.Errorf("after oversized PATCH: %s, want unchanged %s", got, before)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var ready atomic.Bool
			e := newEnv(t, b, envOptions{ready: &ready})
			resp, body := e.do(t, req{method: "GET", path: "/healthz"})
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("healthz before ready: %d %q, want 503", resp.StatusCode, body)
			}
			ready.Store(true)
			resp, body = e.do(t, req{method: "GET", path: "/healthz"})
			if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "ok" {
				t.Errorf("healthz when ready: %d %q, want 200 \"ok\"", resp.StatusCode, body)
			}
			// Without a Ready flag the server is ready as soon as it serves.
			e2 := newEnv(t, b, envOptions{})
			if resp, body := e2.do(t, req{method: "GET", path: "/healthz"}); resp.StatusCode != http.StatusOK {
				t.Errorf("healthz with no Ready option: %d %q, want 200", resp.StatusCode, body)
			}
		})
	}
}

// TestAccessGate checks SPEC "Access to User Management" over HTTP.
func TestAccessGate(t *testing.T) {
	const contact = "help@acme.example"
	const menuItem = `id="menu-user-management"`
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			clk := &clock{}
			e := newEnv(t, b, envOptions{clock: clk})
			ctx := t.Context()
			acme := e.addTenant(t, "Acme", "acme", true, contact)
			member, memberSession := e.addMember(t, acme, "mia@acme.example", "Mia", "Member")
			memberTok, _, err := e.svc.CreateAPIToken(ctx, "acme", "member token", member.Email)
			if err != nil {
				t.Fatalf("CreateAPIToken(member): %v", err)
			}
			noUM := e.addTenant(t, "Nomad", "nomad", false, contact)

			tests := []struct {
				name       string
				r          req
				wantStatus int
				want       []string
				wantNot    []string
				check      func(t *testing.T, resp *http.Response, body string)
			}{
				{name: "no UM: admin token lists users", r: req{method: "GET", path: "/api/v1/users", token: noUM.token}, wantStatus: 403,
					want: []string{`"code":"forbidden"`, "User Management is not enabled for Nomad", contact}},
				{name: "no UM: admin token reads me", r: req{method: "GET", path: "/api/v1/me", token: noUM.token}, wantStatus: 200,
					want: []string{`"user_management":false`, `"permissions":["manage_users","view_analytics","manage_curations","manage_comments"]`, `"can_manage_users":false`}},
				{name: "no UM: admin session opens /users", r: req{method: "GET", path: "/users", cookie: noUM.session}, wantStatus: 403,
					want: []string{"User Management is not enabled for Nomad", contact, "text/html"}},
				{name: "no UM: admin's home has no menu entry", r: req{method: "GET", path: "/", cookie: noUM.session}, wantStatus: 200,
					want: []string{"Welcome"}, wantNot: []string{menuItem, `href="/users"`}},
				{name: "member session opens /users", r: req{method: "GET", path: "/users", cookie: memberSession}, wantStatus: 403,
					want: []string{"does not have the Manage Users permission", contact}},
				{name: "member's home has no menu entry", r: req{method: "GET", path: "/", cookie: memberSession}, wantStatus: 200,
					want: []string{"Mia Member"}, wantNot: []string{menuItem}},
				{name: "member token lists users", r: req{method: "GET", path: "/api/v1/users", token: memberTok.Reveal()}, wantStatus: 403,
					want: []string{`"code":"forbidden"`, "Manage Users permission", contact}},
				{name: "member token reads a user", r: req{method: "GET", path: fmt.Sprintf("/api/v1/users/%d", acme.admin.ID), token: memberTok.Reveal()}, wantStatus: 403,
					want: []string{`"code":"forbidden"`}, wantNot: []string{acme.admin.Email}},
				{name: "member token reads me", r: req{method: "GET", path: "/api/v1/me", token: memberTok.Reveal()}, wantStatus: 200,
					want: []string{`"permissions":["view_analytics"]`, `"can_manage_users":false`, member.Email}},
				{name: "admin's home has the menu entry", r: req{method: "GET", path: "/", cookie: acme.session}, wantStatus: 200,
					want: []string{menuItem, "User Management"}},
				{name: "admin opens /users", r: req{method: "GET", path: "/users", cookie: acme.session}, wantStatus: 200,
					want: []string{member.Email}},
				{name: "anonymous /users", r: req{method: "GET", path: "/users?q=mia"}, wantStatus: 303,
					check: func(t *testing.T, resp *http.Response, body string) {
						if got, want := resp.Header.Get("Location"), "/signin?next="+url.QueryEscape("/users?q=mia"); got != want {
							t.Errorf("Location %q, want %q", got, want)
						}
					}},
				{name: "bad token", r: req{method: "GET", path: "/api/v1/users", token: "rst_notatoken"}, wantStatus: 401,
					want: []string{`"code":"unauthenticated"`},
					check: func(t *testing.T, resp *http.Response, body string) {
						if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
							t.Errorf("WWW-Authenticate %q, want Bearer …", got)
						}
					}},
				{name: "not a Bearer header", r: req{method: "GET", path: "/api/v1/me", auth: "Basic YTpi"}, wantStatus: 401,
					want: []string{`"code":"unauthenticated"`, "Bearer"}},
				{name: "no credentials on the API", r: req{method: "GET", path: "/api/v1/users"}, wantStatus: 401,
					want: []string{`"code":"unauthenticated"`}},
			}
			for _, tc := range tests {
				resp, body := e.do(t, tc.r)
				all := resp.Header.Get("Content-Type") + "\n" + body
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("%s: %s %s status %d, want %d; body:\n%s", tc.name, tc.r.method, tc.r.path, resp.StatusCode, tc.wantStatus, body)
				}
				for _, s := range tc.want {
					if !strings.Contains(all, s) {
						t.Errorf("%s: body lacks %q:\n%s", tc.name, s, body)
					}
				}
				for _, s := range tc.wantNot {
					if strings.Contains(all, s) {
						t.Errorf("%s: body contains %q, want it absent:\n%s", tc.name, s, body)
					}
				}
				if tc.check != nil {
					tc.check(t, resp, body)
				}
			}

			// Expiry ends a session and a token on their next request.
			exp, expSess := e.addUser(t, "acme", "eve@acme.example")
			expTok, _, err := e.svc.CreateAPIToken(ctx, "acme", "eve token", exp.Email)
			if err != nil {
				t.Fatalf("CreateAPIToken(eve): %v", err)
			}
			tomorrow := e.svc.Today(acme.actor).AddDays(1)
			if _, err := e.svc.UpdateUser(ctx, acme.actor, exp.ID, admin.UserPatch{ExpirationDate: roster.Some(tomorrow)}); err != nil {
				t.Fatalf("set eve's expiration date: %v", err)
			}
			cookie := expSess.Secret.Reveal()
			if resp, body := e.do(t, req{method: "GET", path: "/users", cookie: cookie}); resp.StatusCode != 200 {
				t.Fatalf("eve before expiry: GET /users %d, want 200; body:\n%s", resp.StatusCode, body)
			}
			clk.Advance(48 * time.Hour)
			resp, body := e.do(t, req{method: "GET", path: "/users", cookie: cookie})
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired on "+tomorrow.String()) || !strings.Contains(body, contact) {
				t.Errorf("eve after expiry: GET /users %d, want 403 saying access expired on %s and naming %s; body:\n%s", resp.StatusCode, tomorrow, contact, body)
			}
			resp, body = e.do(t, req{method: "GET", path: "/users", cookie: cookie})
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
				t.Errorf("eve's cookie after expiry, second request: %d Location %q, want 303 to /signin (session ended); body:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			resp, body = e.do(t, req{method: "GET", path: "/api/v1/me", cookie: cookie})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("eve's cookie on the API after expiry: %d, want 401; body:\n%s", resp.StatusCode, body)
			}
			resp, body = e.do(t, req{method: "GET", path: "/api/v1/users", token: expTok.Reveal()})
			if code, msg, _ := jsonError(t, body); resp.StatusCode != http.StatusForbidden || code != "forbidden" || !strings.Contains(msg, "expired") {
				t.Errorf("eve's token after expiry: %d %s, want 403 forbidden saying expired", resp.StatusCode, body)
			}
		})
	}
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == web.SessionCookie {
			return c
		}
	}
	return nil
}

func emlFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignInFlowHTTP(t *testing.T) {
	for _, b := range storetest.Backends() {
		for _, secure := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/secure=%t", b.Name, secure), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, b, envOptions{secure: secure})
				acme := e.addTenant(t, "Acme", "acme", true, "")
				email := acme.admin.Email
				post := func(path string, form url.Values, cookie string) (*http.Response, string) {
					return e.do(t, req{method: "POST", path: path, body: form.Encode(), contentType: "application/x-www-form-urlencoded", cookie: cookie})
				}

				resp, body := post("/signin", url.Values{"email": {email}, "password": {"wrong " + testPassword}}, "")
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("wrong password: status %d, want 401", resp.StatusCode)
				}
				if !strings.Contains(body, "Incorrect email or password.") {
					t.Errorf("wrong password: body lacks the message:\n%s", body)
				}
				if !strings.Contains(body, `value="`+email+`"`) {
					t.Errorf("wrong password: the form does not keep the email %q:\n%s", email, body)
				}
				if c := sessionCookie(resp); c != nil && c.Value != "" {
					t.Errorf("wrong password set a session cookie %v", c)
				}

				resp, _ = post("/signin", url.Values{"email": {"  " + strings.ToUpper(email) + " "}, "password": {testPassword}, "next": {"/users"}}, "")
				if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/users" {
					t.Fatalf("right password: %d Location %q, want 303 to /users", resp.StatusCode, resp.Header.Get("Location"))
				}
				c := sessionCookie(resp)
				if c == nil || c.Value == "" {
					t.Fatalf("right password: no %s cookie in %q", web.SessionCookie, resp.Header.Values("Set-Cookie"))
				}
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure || c.Path != "/" {
					t.Errorf("session cookie %q: HttpOnly=%t SameSite=%v Secure=%t Path=%q, want HttpOnly, Lax, Secure=%t, /",
						resp.Header.Values("Set-Cookie"), c.HttpOnly, c.SameSite, c.Secure, c.Path, secure)
				}
				if resp, body := e.do(t, req{method: "GET", path: "/api/v1/me", cookie: c.Value}); resp.StatusCode != 200 || !strings.Contains(body, `"authenticated_with":"session"`) {
					t.Errorf("me with the new cookie: %d %s, want 200 via session", resp.StatusCode, body)
				}

				// A next that leaves the site is ignored.
				resp, _ = post("/signin", url.Values{"email": {email}, "password": {testPassword}, "next": {"//evil.example/x"}}, "")
				if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != "/" {
					t.Errorf("next=//evil.example: %d Location %q, want 303 to /", resp.StatusCode, got)
				}

				resp, _ = post("/signout", nil, c.Value)
				if resp.StatusCode != http.StatusSeeOther {
					t.Errorf("sign out: status %d, want 303", resp.StatusCode)
				}
				if cc := sessionCookie(resp); cc == nil || cc.MaxAge >= 0 && cc.Value != "" {
					t.Errorf("sign out: cookie %v, want it cleared", cc)
				}
				if resp, body := e.do(t, req{method: "GET", path: "/api/v1/me", cookie: c.Value}); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("me after sign-out with the old cookie: %d %s, want 401", resp.StatusCode, body)
				}
				if resp, _ := e.do(t, req{method: "GET", path: "/users", cookie: c.Value}); resp.StatusCode != http.StatusSeeOther {
					t.Errorf("/users after sign-out with the old cookie: %d, want 303 to sign-in", resp.StatusCode)
				}

				// Forgot password answers the same whether or not the address exists.
				if n := len(emlFiles(t, e.mailDir)); n != 0 {
					t.Fatalf("mailbox holds %d messages before /forgot, want 0", n)
				}
				r1, b1 := post("/forgot", url.Values{"email": {email}}, "")
				r2, b2 := post("/forgot", url.Values{"email": {"nobody@nowhere.example"}}, "")
				sig := func(r *http.Response, body string) string {
					return fmt.Sprintf("%d %q %q %q %q", r.StatusCode, r.Header.Get("Location"), r.Header.Values("Set-Cookie"), r.Header.Get("Content-Type"), body)
				}
				if s1, s2 := sig(r1, b1), sig(r2, b2); s1 != s2 {
					t.Errorf("forgot for an existing address answered %s, for a missing one %s; want identical", s1, s2)
				}
				if r1.StatusCode != http.StatusSeeOther {
					t.Errorf("forgot: status %d, want 303", r1.StatusCode)
				}
				files := emlFiles(t, e.mailDir)
				if len(files) != 1 {
					t.Fatalf("mailbox holds %d messages after /forgot, want exactly 1 (for %s)", len(files), email)
				}
				msg, err := os.ReadFile(files[0])
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(msg), email) || !strings.Contains(string(msg), e.url+"/link/") {
					t.Errorf("reset message lacks %s or a %s/link/ link:\n%s", email, e.url, msg)
				}
			})
		}
	}
}

// TestRecoverPanics checks a panicking handler answers 500 and the server
// keeps serving (the middleware every route runs behind).
func TestRecoverPanics(t *testing.T) {
	h := recoverPanics(slog.New(slog.DiscardHandler), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), "GET", "/", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("panicking handler: %d %q, want 500 without the panic value", rec.Code, rec.Body.String())
	}
}

// TestSignInThrottle: repeated failures slow a stranger down with a 429 and
// a valid Retry-After (whole seconds, RFC 9110), while the account's owner
// signing in from a browser that signed in before still gets in.
func TestSignInThrottle(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, envOptions{})
			acme := e.addTenant(t, "Acme", "acme", true, "")
			form := func(pw string) string {
				return url.Values{"email": {acme.admin.Email}, "password": {pw}}.Encode()
			}
			resp, _ := e.do(t, req{method: "POST", path: "/signin", body: form(testPassword), contentType: "application/x-www-form-urlencoded"})
			var device *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == web.DeviceCookie {
					device = c
				}
			}
			if resp.StatusCode != http.StatusSeeOther || device == nil {
				t.Fatalf("owner's first sign-in: %d, device cookie %v; want 303 and a %s cookie", resp.StatusCode, device, web.DeviceCookie)
			}

			var throttled *http.Response
			var body string
			for i := 0; i < 12 && throttled == nil; i++ {
				resp, b := e.do(t, req{method: "POST", path: "/signin", body: form("wrong " + testPassword), contentType: "application/x-www-form-urlencoded"})
				switch resp.StatusCode {
				case http.StatusTooManyRequests:
					throttled, body = resp, b
				case http.StatusUnauthorized:
				default:
					t.Fatalf("failed sign-in %d: status %d, want 401 or 429", i+1, resp.StatusCode)
				}
			}
			if throttled == nil {
				t.Fatalf("12 failed sign-ins for one account were never slowed down (no 429)")
			}
			if !strings.Contains(body, "too many failed sign-in attempts") {
				t.Errorf("429 page lacks the reason:\n%s", body)
			}
			ra := throttled.Header.Get("Retry-After")
			if n, err := strconv.Atoi(ra); err != nil || n < 1 {
				t.Errorf("Retry-After %q, want a whole number of seconds ≥ 1", ra)
			}

			// The owner's known browser is not locked out by a stranger's failures.
			r := req{method: "POST", path: "/signin", body: form(testPassword), contentType: "application/x-www-form-urlencoded",
				header: map[string]string{"Cookie": web.DeviceCookie + "=" + device.Value}}
			if resp, body := e.do(t, r); resp.StatusCode != http.StatusSeeOther {
				t.Errorf("owner's sign-in from a known browser during the throttle: %d, want 303; body:\n%s", resp.StatusCode, body)
			}
		})
	}
}
