package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/api"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/store/storetest"
)

const testPassword = "violet lantern orbit 7 quietly"

// fixture is the real server on a fresh database with one organization:
// an admin (signed in once, so Active) holding an API token, three members
// who never logged in (one with an expiration date and a welcome message),
// an expired member, and another organization's user.
type fixture struct {
	svc     *admin.Service
	url     string
	actor   *roster.Actor
	admin   *roster.User
	token   string
	members []*roster.User // not logged in
	expired *roster.User
	other   *roster.User // in organization "other"
	future  roster.Date
}

func newFixture(t *testing.T, b storetest.Backend) *fixture {
	t.Helper()
	ctx := t.Context()
	db := b.Open(t)
	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	base := "http://" + ts.Listener.Addr().String()
	mb, err := mail.NewMailbox(filepath.Join(t.TempDir(), "mailbox"), mail.Options{}, nil)
	if err != nil {
		t.Fatalf("NewMailbox: %v", err)
	}
	svc := admin.New(admin.Options{DB: db, BaseURL: base, Mailer: mb})
	h, err := server.Handler(server.Options{Service: svc})
	if err != nil {
		t.Fatalf("server.Handler: %v", err)
	}
	ts.Config.Handler = h
	ts.Start()

	f := &fixture{svc: svc, url: base}
	for _, slug := range []string{"acme", "other"} {
		if err := svc.CreateOrg(ctx, &roster.Org{Name: strings.ToUpper(slug[:1]) + slug[1:], Slug: slug, UserManagement: true}); err != nil {
			t.Fatalf("CreateOrg(%s): %v", slug, err)
		}
	}
	var link string
	f.admin, link, err = svc.AddAdmin(ctx, "acme", "ada@acme.example")
	if err != nil {
		t.Fatalf("AddAdmin: %v", err)
	}
	_, tok, _ := strings.Cut(link, "/link/")
	sess, err := svc.UseLink(ctx, tok, testPassword)
	if err != nil {
		t.Fatalf("UseLink: %v", err)
	}
	f.actor = sess.Actor
	if f.admin, err = svc.UpdateUser(ctx, f.actor, f.admin.ID, admin.UserPatch{FirstName: roster.Some("Ada"), LastName: roster.Some("Admin")}); err != nil {
		t.Fatalf("name the admin: %v", err)
	}
	secret, _, err := svc.CreateAPIToken(ctx, "acme", "tests", "")
	if err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	f.token = secret.Reveal()

	today := svc.Today(f.actor)
	f.future = today.AddDays(30)
	member := func(slug string, a *roster.Actor, email, first, last string, p admin.UserPatch) *roster.User {
		t.Helper()
		u, _, err := svc.AddAdmin(ctx, slug, email)
		if err != nil {
			t.Fatalf("AddAdmin(%s): %v", email, err)
		}
		p.FirstName, p.LastName = roster.Some(first), roster.Some(last)
		p.Permissions = roster.Some(roster.Permissions(roster.ViewAnalytics))
		if u, err = svc.UpdateUser(ctx, a, u.ID, p); err != nil {
			t.Fatalf("UpdateUser(%s): %v", email, err)
		}
		return u
	}
	f.members = []*roster.User{
		member("acme", f.actor, "bob@acme.example", "Bob", "Baker", admin.UserPatch{}),
		member("acme", f.actor, "cat@acme.example", "Cat", "Cooper", admin.UserPatch{
			ExpirationDate: roster.Some(f.future), WelcomeMessage: roster.Some("Welcome aboard, Cat!")}),
		member("acme", f.actor, "dan@acme.example", "Dan", "Dunn", admin.UserPatch{}),
	}
	f.expired = member("acme", f.actor, "eve@acme.example", "Eve", "Ended", admin.UserPatch{ExpirationDate: roster.Some(today.AddDays(-1))})

	_, link, err = svc.AddAdmin(ctx, "other", "olga@other.example")
	if err != nil {
		t.Fatalf("AddAdmin(other): %v", err)
	}
	_, tok, _ = strings.Cut(link, "/link/")
	osess, err := svc.UseLink(ctx, tok, testPassword)
	if err != nil {
		t.Fatalf("UseLink(other): %v", err)
	}
	f.other = member("other", osess.Actor, "otto@other.example", "Otto", "Outsider", admin.UserPatch{})
	return f
}

func (f *fixture) do(t *testing.T, method, path, body, token string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequestWithContext(t.Context(), method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// state is what a refused request must leave as it was.
func (f *fixture) state(t *testing.T, id int64) string {
	t.Helper()
	u, err := f.svc.User(t.Context(), f.actor, id)
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%s %q %q %v %s %q", u.Email, u.FirstName, u.LastName, u.Permissions.Names(), u.ExpirationDate, u.WelcomeMessage)
}

type apiError struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

// userFields are SPEC "user fields".
var userFields = []string{"id", "email", "first_name", "last_name", "permissions", "status", "expiration_date",
	"last_login_at", "last_invited_at", "invitation_count", "welcome_message"}

type listBody struct {
	Users      []map[string]any `json:"users"`
	Total      int              `json:"total"`
	NextCursor *string          `json:"next_cursor"`
}

func decodeList(t *testing.T, body []byte) listBody {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("list body is not JSON: %v\n%s", err, body)
	}
	for _, k := range []string{"users", "total", "next_cursor"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("list body lacks %q: %s", k, body)
		}
	}
	var l listBody
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatalf("list body: %v\n%s", err, body)
	}
	return l
}

func emails(l listBody) []string {
	var out []string
	for _, u := range l.Users {
		out = append(out, fmt.Sprint(u["email"]))
	}
	return out
}

// checkUser checks that one user object has every SPEC field with its type.
func checkUser(t *testing.T, u map[string]any) {
	t.Helper()
	for _, k := range userFields {
		if _, ok := u[k]; !ok {
			t.Errorf("user %v lacks the field %q", u["email"], k)
		}
	}
	if _, ok := u["id"].(float64); !ok {
		t.Errorf("user %v: id %v is not a number", u["email"], u["id"])
	}
	if _, ok := u["permissions"].([]any); !ok {
		t.Errorf("user %v: permissions %v is not a list", u["email"], u["permissions"])
	}
	if _, ok := u["invitation_count"].(float64); !ok {
		t.Errorf("user %v: invitation_count %v is not a number", u["email"], u["invitation_count"])
	}
	if d := u["expiration_date"]; d != nil {
		if s, ok := d.(string); !ok || len(s) != 10 {
			t.Errorf("user %v: expiration_date %v, want YYYY-MM-DD or null", u["email"], d)
		}
	}
	for _, k := range []string{"last_login_at", "last_invited_at"} {
		if v := u[k]; v != nil {
			if s, ok := v.(string); !ok {
				t.Errorf("user %v: %s %v, want a timestamp or null", u["email"], k, v)
			} else if _, err := time.Parse(time.RFC3339, s); err != nil {
				t.Errorf("user %v: %s %q is not RFC 3339: %v", u["email"], k, s, err)
			}
		}
	}
}

func TestAPI(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			bob, cat, dan := f.members[0], f.members[1], f.members[2]
			user := func(id int64) string { return fmt.Sprintf("/api/v1/users/%d", id) }

			tests := []struct {
				name       string
				method     string
				path       string
				body       string
				token      string // "" for the admin's; "-" for none
				wantStatus int
				want       []string // substrings of the body
				wantNot    []string
				wantFields []string // keys of error.fields
				unchanged  []int64  // users a refused request must leave as they were
				check      func(t *testing.T, body []byte)
			}{
				{name: "me", method: "GET", path: "/api/v1/me", wantStatus: 200,
					check: func(t *testing.T, body []byte) {
						var m struct {
							User         map[string]any `json:"user"`
							Organization struct {
								Slug string `json:"slug"`
								Name string `json:"name"`
							} `json:"organization"`
							Permissions []string `json:"permissions"`
						}
						if err := json.Unmarshal(body, &m); err != nil {
							t.Fatalf("me: %v\n%s", err, body)
						}
						checkUser(t, m.User)
						if m.User["email"] != f.admin.Email || m.Organization.Slug != "acme" || m.Organization.Name != "Acme" {
							t.Errorf("me: user %v in %q (%q), want %s in acme (Acme)", m.User["email"], m.Organization.Slug, m.Organization.Name, f.admin.Email)
						}
						want := []string{"manage_users", "view_analytics", "manage_curations", "manage_comments"}
						if !slices.Equal(m.Permissions, want) {
							t.Errorf("me: permissions %q, want %q", m.Permissions, want)
						}
					}},
				{name: "me without a token", method: "GET", path: "/api/v1/me", token: "-", wantStatus: 401, want: []string{`"code":"unauthenticated"`}},
				{name: "list", method: "GET", path: "/api/v1/users", wantStatus: 200,
					wantNot: []string{f.other.Email},
					check: func(t *testing.T, body []byte) {
						l := decodeList(t, body)
						if l.Total != 5 || len(l.Users) != 5 || l.NextCursor != nil {
							t.Errorf("list: total %d, %d users, next_cursor %v; want 5, 5, null", l.Total, len(l.Users), l.NextCursor)
						}
						wantStatus := map[string]string{f.admin.Email: "active", bob.Email: "not_logged_in", cat.Email: "not_logged_in",
							dan.Email: "not_logged_in", f.expired.Email: "expired"}
						for _, u := range l.Users {
							checkUser(t, u)
							if got, want := u["status"], wantStatus[fmt.Sprint(u["email"])]; got != want {
								t.Errorf("list: %v has status %v, want %q", u["email"], got, want)
							}
							if u["email"] == cat.Email {
								if u["expiration_date"] != f.future.String() || u["welcome_message"] != "Welcome aboard, Cat!" || u["first_name"] != "Cat" || u["last_name"] != "Cooper" {
									t.Errorf("list: cat is %v, want expiration %s, her welcome message and name", u, f.future)
								}
							}
							if u["email"] == bob.Email && (u["expiration_date"] != nil || u["last_login_at"] != nil) {
								t.Errorf("list: bob is %v, want null expiration_date and last_login_at", u)
							}
							if u["email"] == f.admin.Email && u["last_login_at"] == nil {
								t.Errorf("list: the admin signed in but last_login_at is null: %v", u)
							}
						}
						if got := emails(l); !sort.StringsAreSorted(got) {
							t.Errorf("list: emails %q, want them sorted (the default order)", got)
						}
					}},
				{name: "list expired", method: "GET", path: "/api/v1/users?status=expired", wantStatus: 200,
					check: func(t *testing.T, body []byte) {
						if l := decodeList(t, body); l.Total != 1 || !slices.Equal(emails(l), []string{f.expired.Email}) {
							t.Errorf("status=expired: total %d, %q; want only %s", l.Total, emails(l), f.expired.Email)
						}
					}},
				{name: "list by permission", method: "GET", path: "/api/v1/users?permission=manage_users", wantStatus: 200,
					check: func(t *testing.T, body []byte) {
						if l := decodeList(t, body); l.Total != 1 || !slices.Equal(emails(l), []string{f.admin.Email}) {
							t.Errorf("permission=manage_users: total %d, %q; want only %s", l.Total, emails(l), f.admin.Email)
						}
					}},
				{name: "search", method: "GET", path: "/api/v1/users?q=COOP", wantStatus: 200,
					check: func(t *testing.T, body []byte) {
						if l := decodeList(t, body); l.Total != 1 || !slices.Equal(emails(l), []string{cat.Email}) {
							t.Errorf("q=COOP: total %d, %q; want only %s", l.Total, emails(l), cat.Email)
						}
					}},
				{name: "sort by email descending", method: "GET", path: "/api/v1/users?sort=-email", wantStatus: 200,
					check: func(t *testing.T, body []byte) {
						got := emails(decodeList(t, body))
						if len(got) != 5 || got[0] != f.expired.Email || got[4] != f.admin.Email {
							t.Errorf("sort=-email: %q, want eve first and ada last", got)
						}
					}},
				{name: "bad status", method: "GET", path: "/api/v1/users?status=bogus", wantStatus: 422, wantFields: []string{"status"}, want: []string{`"code":"invalid"`}},
				{name: "bad permission", method: "GET", path: "/api/v1/users?permission=fly", wantStatus: 422, wantFields: []string{"permission"}},
				{name: "limit 0", method: "GET", path: "/api/v1/users?limit=0", wantStatus: 422, wantFields: []string{"limit"}},
				{name: "limit 5000", method: "GET", path: "/api/v1/users?limit=5000", wantStatus: 422, wantFields: []string{"limit"}},
				{name: "limit not a number", method: "GET", path: "/api/v1/users?limit=ten", wantStatus: 422, wantFields: []string{"limit"}},
				{name: "bad sort", method: "GET", path: "/api/v1/users?sort=bogus", wantStatus: 422, wantFields: []string{"sort"}},
				{name: "garbage cursor", method: "GET", path: "/api/v1/users?cursor=garbage", wantStatus: 422, wantFields: []string{"cursor"}},
				{name: "several bad params at once", method: "GET", path: "/api/v1/users?status=bogus&limit=0&sort=x", wantStatus: 422, wantFields: []string{"status", "limit", "sort"}},
				{name: "get one", method: "GET", path: user(cat.ID), wantStatus: 200,
					check: func(t *testing.T, body []byte) {
						var u map[string]any
						if err := json.Unmarshal(body, &u); err != nil {
							t.Fatalf("get one: %v", err)
						}
						checkUser(t, u)
						if u["email"] != cat.Email || u["id"] != float64(cat.ID) {
							t.Errorf("get one: %v, want %s (id %d)", u, cat.Email, cat.ID)
						}
					}},
				{name: "get abc", method: "GET", path: "/api/v1/users/abc", wantStatus: 404, want: []string{`"code":"not_found"`}},
				{name: "get 0", method: "GET", path: "/api/v1/users/0", wantStatus: 404, want: []string{`"code":"not_found"`}},
				{name: "get missing", method: "GET", path: "/api/v1/users/999999999", wantStatus: 404, want: []string{`"code":"not_found"`}},
				{name: "get another org's user", method: "GET", path: user(f.other.ID), wantStatus: 404, want: []string{`"code":"not_found"`}, wantNot: []string{f.other.Email}},
				{name: "patch unknown field", method: "PATCH", path: user(bob.ID), body: `{"nickname":"Bobby"}`, wantStatus: 422,
					wantFields: []string{"nickname"}, want: []string{"unknown field"}, unchanged: []int64{bob.ID}},
				{name: "patch wrong types", method: "PATCH", path: user(bob.ID),
					body:       `{"first_name":5,"last_name":true,"welcome_message":["x"],"permissions":"manage_users","expiration_date":7}`,
					wantStatus: 422, wantFields: []string{"first_name", "last_name", "welcome_message", "permissions", "expiration_date"}, unchanged: []int64{bob.ID}},
				{name: "patch bad date", method: "PATCH", path: user(bob.ID), body: `{"expiration_date":"2026-02-30"}`, wantStatus: 422,
					wantFields: []string{"expiration_date"}, want: []string{"YYYY-MM-DD"}, unchanged: []int64{bob.ID}},
				{name: "patch locale date", method: "PATCH", path: user(bob.ID), body: `{"expiration_date":"12/31/2026"}`, wantStatus: 422,
					wantFields: []string{"expiration_date"}, unchanged: []int64{bob.ID}},
				{name: "patch unknown permission", method: "PATCH", path: user(bob.ID), body: `{"permissions":["view_analytics","fly"]}`, wantStatus: 422,
					wantFields: []string{"permissions"}, want: []string{"fly"}, unchanged: []int64{bob.ID}},
				{name: "patch good and bad fields together", method: "PATCH", path: user(bob.ID), body: `{"first_name":"Robert","permissions":["fly"]}`, wantStatus: 422,
					wantFields: []string{"permissions"}, unchanged: []int64{bob.ID}},
				{name: "patch name too long", method: "PATCH", path: user(bob.ID), body: `{"last_name":"` + strings.Repeat("x", 101) + `"}`, wantStatus: 422,
					wantFields: []string{"last_name"}, unchanged: []int64{bob.ID}},
				{name: "patch invalid JSON", method: "PATCH", path: user(bob.ID), body: `{"first_name":`, wantStatus: 422,
					wantFields: []string{"body"}, unchanged: []int64{bob.ID}},
				{name: "patch trailing data", method: "PATCH", path: user(bob.ID), body: `{"first_name":"Rob"} {"first_name":"Bo"}`, wantStatus: 422,
					wantFields: []string{"body"}, unchanged: []int64{bob.ID}},
				{name: "patch another org's user", method: "PATCH", path: user(f.other.ID), body: `{"first_name":"Hacked"}`, wantStatus: 404},
				{name: "patch missing", method: "PATCH", path: "/api/v1/users/999999999", body: `{"first_name":"Ghost"}`, wantStatus: 404, want: []string{`"code":"not_found"`}},
				{name: "patch first_name", method: "PATCH", path: user(bob.ID), body: `{"first_name":"  Robert "}`, wantStatus: 200,
					check: func(t *testing.T, body []byte) {
						var u map[string]any
						if err := json.Unmarshal(body, &u); err != nil {
							t.Fatalf("patch: %v", err)
						}
						checkUser(t, u)
						if u["first_name"] != "Robert" || u["last_name"] != "Baker" || u["email"] != bob.Email {
							t.Errorf("after patch: %v, want first_name Robert, last_name Baker kept", u)
						}
						if got := f.state(t, bob.ID); !strings.Contains(got, `"Robert" "Baker"`) {
							t.Errorf("stored after patch: %s, want Robert Baker", got)
						}
					}},
				{name: "patch clears expiration with null", method: "PATCH", path: user(cat.ID), body: `{"expiration_date":null}`, wantStatus: 200,
					want: []string{`"expiration_date":null`, `"welcome_message":"Welcome aboard, Cat!"`}},
				{name: "patch sets permissions", method: "PATCH", path: user(dan.ID), body: `{"permissions":["view_analytics","manage_comments"]}`, wantStatus: 200,
					want: []string{`"permissions":["view_analytics","manage_comments"]`}},
				{name: "remove the last admin's manage_users", method: "PATCH", path: user(f.admin.ID), body: `{"permissions":["view_analytics"]}`, wantStatus: 409,
					want: []string{`"code":"last_admin"`, "Manage Users"}, unchanged: []int64{f.admin.ID}},
				{name: "expire the last admin", method: "PATCH", path: user(f.admin.ID), body: `{"expiration_date":"2000-01-01"}`, wantStatus: 409,
					want: []string{`"code":"last_admin"`}, unchanged: []int64{f.admin.ID}},
				{name: "delete the last admin", method: "DELETE", path: user(f.admin.ID), wantStatus: 409,
					want: []string{`"code":"last_admin"`}, unchanged: []int64{f.admin.ID}},
				{name: "delete another org's user", method: "DELETE", path: user(f.other.ID), wantStatus: 404, want: []string{`"code":"not_found"`}},
				{name: "delete a member", method: "DELETE", path: user(dan.ID), wantStatus: 204,
					check: func(t *testing.T, body []byte) {
						if len(body) != 0 {
							t.Errorf("204 with a body: %q", body)
						}
					}},
				{name: "get the removed member", method: "GET", path: user(dan.ID), wantStatus: 404, want: []string{`"code":"not_found"`}},
				{name: "delete the removed member again", method: "DELETE", path: user(dan.ID), wantStatus: 404},
				{name: "list after removal", method: "GET", path: "/api/v1/users", wantStatus: 200, wantNot: []string{dan.Email},
					check: func(t *testing.T, body []byte) {
						if l := decodeList(t, body); l.Total != 4 {
							t.Errorf("total after removal %d, want 4", l.Total)
						}
					}},
				{name: "unknown route", method: "GET", path: "/api/v1/nope", wantStatus: 404, want: []string{`"code":"not_found"`, "/api/v1/nope"}},
				{name: "unknown route, no token", method: "POST", path: "/api/v1/users/1/nope", token: "-", wantStatus: 404, want: []string{`"code":"not_found"`}},
				{name: "openapi", method: "GET", path: "/api/v1/openapi.json", token: "-", wantStatus: 200,
					check: func(t *testing.T, body []byte) {
						var doc struct {
							OpenAPI string                    `json:"openapi"`
							Paths   map[string]map[string]any `json:"paths"`
						}
						if err := json.Unmarshal(body, &doc); err != nil {
							t.Fatalf("openapi.json is not JSON: %v", err)
						}
						if !strings.HasPrefix(doc.OpenAPI, "3.") {
							t.Errorf("openapi version %q, want 3.x", doc.OpenAPI)
						}
						if _, ok := doc.Paths["/api/v1/users/{id}"]["patch"]; !ok {
							t.Errorf("openapi paths %v lack PATCH /api/v1/users/{id}", doc.Paths)
						}
					}},
			}
			for _, tc := range tests {
				token := tc.token
				switch token {
				case "":
					token = f.token
				case "-":
					token = ""
				}
				before := map[int64]string{}
				for _, id := range tc.unchanged {
					before[id] = f.state(t, id)
				}
				resp, body := f.do(t, tc.method, tc.path, tc.body, token)
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("%s: %s %s status %d, want %d; body %s", tc.name, tc.method, tc.path, resp.StatusCode, tc.wantStatus, body)
				}
				if tc.wantStatus != 204 {
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("%s: Content-Type %q, want application/json", tc.name, ct)
					}
				}
				for _, s := range tc.want {
					if !strings.Contains(string(body), s) {
						t.Errorf("%s: body %s lacks %q", tc.name, body, s)
					}
				}
				for _, s := range tc.wantNot {
					if strings.Contains(string(body), s) {
						t.Errorf("%s: body %s contains %q", tc.name, body, s)
					}
				}
				if tc.wantStatus >= 400 {
					var e apiError
					if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
						t.Errorf("%s: body %s, want {\"error\":{\"code\",\"message\"}} (%v)", tc.name, body, err)
					}
					for _, k := range tc.wantFields {
						if e.Error.Fields[k] == "" {
							t.Errorf("%s: error fields %v lack a message for %q", tc.name, e.Error.Fields, k)
						}
					}
				}
				for _, id := range tc.unchanged {
					if got := f.state(t, id); got != before[id] {
						t.Errorf("%s: user %d is now %s, want unchanged %s", tc.name, id, got, before[id])
					}
				}
				if tc.check != nil {
					tc.check(t, body)
				}
			}
		})
	}
}

// TestListPaging walks every page with limit=2 in both sort orders and
// checks that pages neither overlap nor skip anyone.
func TestListPaging(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			for _, sortBy := range []string{"", "email", "-email", "created", "-created"} {
				seen := map[string]bool{}
				var order []string
				path := "/api/v1/users?limit=2&sort=" + sortBy
				pages := 0
				for {
					resp, body := f.do(t, "GET", path, "", f.token)
					if resp.StatusCode != 200 {
						t.Fatalf("sort=%q: GET %s: %d %s", sortBy, path, resp.StatusCode, body)
					}
					l := decodeList(t, body)
					pages++
					if l.Total != 5 {
						t.Errorf("sort=%q page %d: total %d, want 5 on every page", sortBy, pages, l.Total)
					}
					if len(l.Users) > 2 {
						t.Errorf("sort=%q page %d: %d users, want at most 2", sortBy, pages, len(l.Users))
					}
					for _, e := range emails(l) {
						if seen[e] {
							t.Errorf("sort=%q page %d: %s was already on an earlier page", sortBy, pages, e)
						}
						seen[e] = true
						order = append(order, e)
					}
					if l.NextCursor == nil {
						break
					}
					if *l.NextCursor == "" {
						t.Fatalf("sort=%q: next_cursor is \"\", want null or a cursor", sortBy)
					}
					if pages > 5 {
						t.Fatalf("sort=%q: more than 5 pages of 2 for 5 users", sortBy)
					}
					path = "/api/v1/users?limit=2&sort=" + sortBy + "&cursor=" + *l.NextCursor
				}
				if len(seen) != 5 || pages != 3 {
					t.Errorf("sort=%q: %d users on %d pages (%q), want 5 on 3", sortBy, len(seen), pages, order)
				}
				switch sortBy {
				case "", "email":
					if !sort.StringsAreSorted(order) {
						t.Errorf("sort=%q: order %q, want ascending email", sortBy, order)
					}
				case "-email":
					if !sort.SliceIsSorted(order, func(i, j int) bool { return order[i] > order[j] }) {
						t.Errorf("sort=-email: order %q, want descending email", order)
					}
				}
			}
		})
	}
}

type recordingMux struct{ patterns []string }

func (m *recordingMux) HandleFunc(p string, _ func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, p)
}

// TestOpenAPIDocumentsEveryRoute fails when a route is added without
// describing it in openapi.json (SPEC "Interfaces").
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var mux recordingMux
	api.New(nil, slog.New(slog.DiscardHandler)).Register(&mux)
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	rec := httptest.NewRecorder()
	realMux := http.NewServeMux()
	api.New(nil, slog.New(slog.DiscardHandler)).Register(realMux)
	realMux.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), "GET", "/api/v1/openapi.json", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	n := 0
	for _, p := range mux.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok || path == "/api/v1/openapi.json" {
			continue
		}
		n++
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %q is not in openapi.json (paths: %v)", p, keys(doc.Paths))
		}
	}
	if n < 5 {
		t.Errorf("found %d API routes in %q, want at least 5", n, mux.patterns)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
