package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// doCT sends a request with the given Content-Type ("" sends none).
func (f *fixture) doCT(t *testing.T, method, path, body, contentType, token string) (*http.Response, []byte) {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), method, f.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
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

// jobs is the number of queued invitation jobs.
func (f *fixture) jobs(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.svc.DB().SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM river_job WHERE kind = 'invitation'`).Scan(&n); err != nil {
		t.Fatalf("count invitation jobs: %v", err)
	}
	return n
}

// users is the number of users in every organization.
func (f *fixture) users(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.svc.DB().SQL().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		t.Fatalf("count users: %v", err)
	}
	return n
}

func decodeUser(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var u map[string]any
	if err := json.Unmarshal(body, &u); err != nil {
		t.Fatalf("user body is not JSON: %v\n%s", err, body)
	}
	checkUser(t, u)
	return u
}

func decodeAPIError(t *testing.T, body []byte) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %s, want {\"error\":{\"code\",\"message\"}} (%v)", body, err)
	}
	return e
}

// limitedToken makes a user holding only manage_users and a token acting as them.
func (f *fixture) limitedToken(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	u, _, err := f.svc.AddAdmin(ctx, "acme", "mu@acme.example")
	if err != nil {
		t.Fatalf("AddAdmin(mu): %v", err)
	}
	if _, err := f.svc.UpdateUser(ctx, f.actor, u.ID, admin.UserPatch{Permissions: roster.Some(roster.Permissions(roster.ManageUsers))}); err != nil {
		t.Fatalf("limit mu to manage_users: %v", err)
	}
	secret, _, err := f.svc.CreateAPIToken(ctx, "acme", "limited", "mu@acme.example")
	if err != nil {
		t.Fatalf("CreateAPIToken(mu): %v", err)
	}
	return secret.Reveal()
}

func TestAPIInvite(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			limited := f.limitedToken(t)
			bob := f.members[0]
			today := f.svc.Today(f.actor)

			var nia map[string]any
			t.Run("new user", func(t *testing.T) {
				jobs, users := f.jobs(t), f.users(t)
				body := fmt.Sprintf(`{"email":" Nia@Acme.Example ","first_name":"Nia","last_name":"Novak",
					"permissions":["manage_comments","view_analytics"],"expiration_date":%q,"welcome_message":"Hello Nia"}`, f.future)
				resp, rb := f.do(t, "POST", "/api/v1/users", body, f.token)
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("POST /api/v1/users (new) = %d, want 201; body %s", resp.StatusCode, rb)
				}
				nia = decodeUser(t, rb)
				want := map[string]any{"email": "nia@acme.example", "first_name": "Nia", "last_name": "Novak", "status": "not_logged_in",
					"expiration_date": f.future.String(), "invitation_count": float64(1), "welcome_message": "Hello Nia",
					"last_login_at": nil, "delivery_status": "queued"}
				for k, w := range want {
					if got := nia[k]; got != w {
						t.Errorf("new user %s = %v, want %v", k, got, w)
					}
				}
				if got := fmt.Sprint(nia["permissions"]); got != "[view_analytics manage_comments]" {
					t.Errorf("new user permissions = %s, want [view_analytics manage_comments]", got)
				}
				if nia["last_invited_at"] == nil {
					t.Errorf("new user last_invited_at = null, want the time it was sent")
				}
				loc := resp.Header.Get("Location")
				if want := fmt.Sprintf("/api/v1/users/%v", nia["id"]); loc != want {
					t.Errorf("Location = %q, want %q", loc, want)
				}
				if resp, rb := f.do(t, "GET", loc, "", f.token); resp.StatusCode != 200 {
					t.Errorf("GET Location %s = %d, want 200; body %s", loc, resp.StatusCode, rb)
				} else if got := decodeUser(t, rb); got["id"] != nia["id"] || got["email"] != "nia@acme.example" || got["invitation_count"] != float64(1) {
					t.Errorf("GET Location = %v, want the invited user", got)
				}
				if got := f.jobs(t); got != jobs+1 {
					t.Errorf("jobs %d -> %d, want one more", jobs, got)
				}
				if got := f.users(t); got != users+1 {
					t.Errorf("users %d -> %d, want one more", users, got)
				}
			})

			t.Run("same email again", func(t *testing.T) {
				if nia == nil {
					t.Skip("the new user was not created")
				}
				jobs, users := f.jobs(t), f.users(t)
				resp, rb := f.do(t, "POST", "/api/v1/users", `{"email":"NIA@acme.EXAMPLE","first_name":"Nina"}`, f.token)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("POST /api/v1/users (existing) = %d, want 200; body %s", resp.StatusCode, rb)
				}
				if loc := resp.Header.Get("Location"); loc != "" {
					t.Errorf("Location %q on an update, want none", loc)
				}
				u := decodeUser(t, rb)
				if u["id"] != nia["id"] || u["invitation_count"] != float64(2) || u["first_name"] != "Nina" || u["last_name"] != "Novak" ||
					u["expiration_date"] != f.future.String() || u["welcome_message"] != "Hello Nia" {
					t.Errorf("re-invited user = %v, want id %v, invitation_count 2, first_name Nina and other fields kept", u, nia["id"])
				}
				if got := f.jobs(t); got != jobs+1 {
					t.Errorf("jobs %d -> %d, want one more", jobs, got)
				}
				if got := f.users(t); got != users {
					t.Errorf("users %d -> %d, want unchanged (no duplicate)", users, got)
				}
			})

			t.Run("bad input", func(t *testing.T) {
				tests := []struct {
					name    string
					body    string
					ct      string // Content-Type; "" for application/json
					token   string // "" for the admin's
					field   string // key of error.fields
					wantMsg []string
				}{
					{name: "missing email", body: `{"first_name":"X"}`, field: "email", wantMsg: []string{"required"}},
					{name: "null email", body: `{"email":null}`, field: "email", wantMsg: []string{"enter an email address"}},
					{name: "invalid email", body: `{"email":"not-an-email"}`, field: "email", wantMsg: []string{"not-an-email", "not a valid email"}},
					{name: "email not a string", body: `{"email":42}`, field: "email", wantMsg: []string{"must be a string"}},
					{name: "first_name not a string", body: `{"email":"x1@acme.example","first_name":5}`, field: "first_name", wantMsg: []string{"must be a string"}},
					{name: "last_name with a line break", body: `{"email":"x1@acme.example","last_name":"a\nb"}`, field: "last_name", wantMsg: []string{"line breaks"}},
					{name: "permissions not a list", body: `{"email":"x1@acme.example","permissions":"view_analytics"}`, field: "permissions", wantMsg: []string{"list"}},
					{name: "unknown permission", body: `{"email":"x1@acme.example","permissions":["view_analytics","fly"]}`, field: "permissions", wantMsg: []string{"fly"}},
					{name: "permission the token's user lacks", body: `{"email":"x1@acme.example","permissions":["view_analytics"]}`, token: limited,
						field: "permissions", wantMsg: []string{"view_analytics"}},
					{name: "removing a permission the token's user lacks", body: `{"email":"bob@acme.example","permissions":[]}`, token: limited,
						field: "permissions", wantMsg: []string{"view_analytics"}},
					{name: "expiration in the past", body: fmt.Sprintf(`{"email":"x1@acme.example","expiration_date":%q}`, today.AddDays(-1)),
						field: "expiration_date", wantMsg: []string{"not in the future"}},
					{name: "expiration today", body: fmt.Sprintf(`{"email":"x1@acme.example","expiration_date":%q}`, today),
						field: "expiration_date", wantMsg: []string{"not in the future"}},
					{name: "expiration not ISO", body: `{"email":"x1@acme.example","expiration_date":"12/31/2030"}`, field: "expiration_date", wantMsg: []string{"YYYY-MM-DD"}},
					{name: "expired user without a new date", body: `{"email":"eve@acme.example"}`, field: "expiration_date",
						wantMsg: []string{"access expired on " + f.expired.ExpirationDate.String() + "; give a future expiration_date"}},
					{name: "welcome message of 2001 characters", body: `{"email":"x1@acme.example","welcome_message":"` + strings.Repeat("w", 2001) + `"}`,
						field: "welcome_message", wantMsg: []string{"2000", "2001"}},
					{name: "unknown field", body: `{"email":"x1@acme.example","nickname":"X"}`, field: "nickname", wantMsg: []string{"unknown field", "email"}},
					{name: "wrong Content-Type", body: `{"email":"x1@acme.example"}`, ct: "text/plain", field: "body", wantMsg: []string{"application/json"}},
					{name: "form Content-Type", body: `email=x1@acme.example`, ct: "application/x-www-form-urlencoded", field: "body", wantMsg: []string{"application/json"}},
					{name: "malformed JSON", body: `{"email":"x1@acme.example"`, field: "body", wantMsg: []string{"invalid JSON"}},
					{name: "not an object", body: `["x1@acme.example"]`, field: "body", wantMsg: []string{"invalid JSON"}},
					{name: "trailing data", body: `{"email":"x1@acme.example"} {}`, field: "body", wantMsg: []string{"invalid JSON"}},
				}
				for _, tc := range tests {
					t.Run(tc.name, func(t *testing.T) {
						ct := tc.ct
						if ct == "" {
							ct = "application/json"
						}
						token := tc.token
						if token == "" {
							token = f.token
						}
						jobs, users := f.jobs(t), f.users(t)
						bobBefore, eveBefore := f.state(t, bob.ID), f.state(t, f.expired.ID)
						resp, rb := f.doCT(t, "POST", "/api/v1/users", tc.body, ct, token)
						if resp.StatusCode != http.StatusUnprocessableEntity {
							t.Errorf("POST /api/v1/users %s = %d, want 422; body %s", tc.body, resp.StatusCode, rb)
						}
						e := decodeAPIError(t, rb)
						if e.Error.Code != "invalid" {
							t.Errorf("error code %q, want invalid", e.Error.Code)
						}
						msg := e.Error.Fields[tc.field]
						if msg == "" {
							t.Errorf("error fields %v lack %q", e.Error.Fields, tc.field)
						}
						for _, s := range tc.wantMsg {
							if !strings.Contains(msg, s) {
								t.Errorf("message for %s = %q, want it to contain %q", tc.field, msg, s)
							}
						}
						if got := f.jobs(t); got != jobs {
							t.Errorf("jobs %d -> %d, want unchanged", jobs, got)
						}
						if got := f.users(t); got != users {
							t.Errorf("users %d -> %d, want unchanged", users, got)
						}
						if got := f.state(t, bob.ID); got != bobBefore {
							t.Errorf("bob is now %s, want unchanged %s", got, bobBefore)
						}
						if got := f.state(t, f.expired.ID); got != eveBefore {
							t.Errorf("eve is now %s, want unchanged %s", got, eveBefore)
						}
					})
				}
			})

			t.Run("several bad fields at once", func(t *testing.T) {
				resp, rb := f.do(t, "POST", "/api/v1/users", `{"first_name":5,"permissions":["fly"],"expiration_date":"soon","nickname":1}`, f.token)
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422; body %s", resp.StatusCode, rb)
				}
				e := decodeAPIError(t, rb)
				var got []string
				for k := range e.Error.Fields {
					got = append(got, k)
				}
				slices.Sort(got)
				if want := []string{"email", "expiration_date", "first_name", "nickname", "permissions"}; !slices.Equal(got, want) {
					t.Errorf("error fields %q, want %q", got, want)
				}
			})

			t.Run("limited token may re-state a permission it lacks", func(t *testing.T) {
				jobs := f.jobs(t)
				resp, rb := f.do(t, "POST", "/api/v1/users", `{"email":"bob@acme.example","permissions":["view_analytics"]}`, limited)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d, want 200; body %s", resp.StatusCode, rb)
				}
				if u := decodeUser(t, rb); fmt.Sprint(u["permissions"]) != "[view_analytics]" || u["invitation_count"] != float64(1) {
					t.Errorf("bob = %v, want permissions [view_analytics] and invitation_count 1", u)
				}
				if got := f.jobs(t); got != jobs+1 {
					t.Errorf("jobs %d -> %d, want one more", jobs, got)
				}
			})

			t.Run("another organization's email is a separate account", func(t *testing.T) {
				otherBefore, err := f.svc.DB().UserByID(t.Context(), f.other.OrgID, f.other.ID)
				if err != nil {
					t.Fatal(err)
				}
				resp, rb := f.do(t, "POST", "/api/v1/users", `{"email":"otto@other.example","first_name":"Acme Otto"}`, f.token)
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("status %d, want 201 (a new acme account); body %s", resp.StatusCode, rb)
				}
				if u := decodeUser(t, rb); u["id"] == float64(f.other.ID) || u["invitation_count"] != float64(1) {
					t.Errorf("acme's otto = %v, want a new id (not %d) and invitation_count 1", u, f.other.ID)
				}
				otherAfter, err := f.svc.DB().UserByID(t.Context(), f.other.OrgID, f.other.ID)
				if err != nil {
					t.Fatal(err)
				}
				if *otherAfter != *otherBefore {
					t.Errorf("other org's otto = %+v, want untouched %+v", otherAfter, otherBefore)
				}
			})

			t.Run("resend", func(t *testing.T) {
				for _, u := range []*roster.User{f.members[2], f.admin} { // not logged in, active
					before, err := f.svc.User(t.Context(), f.actor, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					jobs := f.jobs(t)
					resp, rb := f.do(t, "POST", fmt.Sprintf("/api/v1/users/%d/resend", u.ID), "", f.token)
					if resp.StatusCode != http.StatusAccepted {
						t.Fatalf("resend to %s = %d, want 202; body %s", u.Email, resp.StatusCode, rb)
					}
					got := decodeUser(t, rb)
					if got["email"] != u.Email || got["invitation_count"] != float64(before.InvitationCount+1) || got["delivery_status"] != "queued" {
						t.Errorf("resend to %s = %v, want invitation_count %d, queued", u.Email, got, before.InvitationCount+1)
					}
					if n := f.jobs(t); n != jobs+1 {
						t.Errorf("resend to %s: jobs %d -> %d, want one more", u.Email, jobs, n)
					}
				}
			})

			t.Run("resend to an expired user", func(t *testing.T) {
				jobs := f.jobs(t)
				before, err := f.svc.User(t.Context(), f.actor, f.expired.ID)
				if err != nil {
					t.Fatal(err)
				}
				resp, rb := f.do(t, "POST", fmt.Sprintf("/api/v1/users/%d/resend", f.expired.ID), "", f.token)
				if resp.StatusCode != http.StatusConflict {
					t.Errorf("resend to an expired user = %d, want 409; body %s", resp.StatusCode, rb)
				}
				e := decodeAPIError(t, rb)
				if e.Error.Code != "expired" {
					t.Errorf("error code %q, want expired", e.Error.Code)
				}
				for _, s := range []string{f.expired.Email, "update their expiration date first"} {
					if !strings.Contains(e.Error.Message, s) {
						t.Errorf("error message %q lacks %q", e.Error.Message, s)
					}
				}
				if n := f.jobs(t); n != jobs {
					t.Errorf("jobs %d -> %d, want unchanged", jobs, n)
				}
				if after, err := f.svc.User(t.Context(), f.actor, f.expired.ID); err != nil || after.InvitationCount != before.InvitationCount {
					t.Errorf("expired user after a refused resend = %+v, %v; want invitation_count %d", after, err, before.InvitationCount)
				}
			})

			t.Run("resend to a user out of reach", func(t *testing.T) {
				jobs := f.jobs(t)
				for _, path := range []string{fmt.Sprintf("/api/v1/users/%d/resend", f.other.ID), "/api/v1/users/999999999/resend", "/api/v1/users/abc/resend"} {
					resp, rb := f.do(t, "POST", path, "", f.token)
					if resp.StatusCode != http.StatusNotFound {
						t.Errorf("POST %s = %d, want 404; body %s", path, resp.StatusCode, rb)
					}
					if e := decodeAPIError(t, rb); e.Error.Code != "not_found" || strings.Contains(string(rb), f.other.Email) {
						t.Errorf("POST %s body %s, want code not_found without the other org's email", path, rb)
					}
				}
				if n := f.jobs(t); n != jobs {
					t.Errorf("jobs %d -> %d, want unchanged", jobs, n)
				}
				if u, err := f.svc.DB().UserByID(t.Context(), f.other.OrgID, f.other.ID); err != nil || u.InvitationCount != 0 {
					t.Errorf("other org's user = %+v, %v; want invitation_count 0", u, err)
				}
			})

			t.Run("without a token", func(t *testing.T) {
				users, jobs := f.users(t), f.jobs(t)
				if resp, rb := f.do(t, "POST", "/api/v1/users", `{"email":"anon@acme.example"}`, ""); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("POST /api/v1/users without a token = %d, want 401; body %s", resp.StatusCode, rb)
				}
				if resp, rb := f.do(t, "POST", fmt.Sprintf("/api/v1/users/%d/resend", bob.ID), "", ""); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("resend without a token = %d, want 401; body %s", resp.StatusCode, rb)
				}
				if f.users(t) != users || f.jobs(t) != jobs {
					t.Errorf("an unauthenticated request changed users or jobs")
				}
			})
		})
	}
}

// newLeanFixture is the real server with one organization holding only its
// admin and an API token acting as them.
func newLeanFixture(t *testing.T, b storetest.Backend) *fixture {
	t.Helper()
	ctx := context.Background()
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
	if err := svc.CreateOrg(ctx, &roster.Org{Name: "Acme", Slug: "acme", UserManagement: true}); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	u, _, err := svc.AddAdmin(ctx, "acme", "ada@acme.example")
	if err != nil {
		t.Fatalf("AddAdmin: %v", err)
	}
	secret, _, err := svc.CreateAPIToken(ctx, "acme", "tests", "")
	if err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	return &fixture{svc: svc, url: base, admin: u, token: secret.Reveal()}
}

func TestAPIInviteMany(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newLeanFixture(t, b)
			const n = 50
			for i := range n {
				body := fmt.Sprintf(`{"email":"user%02d@acme.example","first_name":"User","last_name":"%02d","permissions":["view_analytics"]}`, i, i)
				if resp, rb := f.do(t, "POST", "/api/v1/users", body, f.token); resp.StatusCode != http.StatusCreated {
					t.Fatalf("POST #%d = %d, want 201; body %s", i, resp.StatusCode, rb)
				}
			}
			resp, rb := f.do(t, "GET", "/api/v1/users?limit=100", "", f.token)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /api/v1/users?limit=100 = %d; body %s", resp.StatusCode, rb)
			}
			l := decodeList(t, rb)
			if l.Total != n+1 || len(l.Users) != n+1 || l.NextCursor != nil {
				t.Errorf("list: total %d, %d users, next_cursor %v; want %d, %d, null", l.Total, len(l.Users), l.NextCursor, n+1, n+1)
			}
			seen := map[string]bool{}
			for _, u := range l.Users {
				seen[fmt.Sprint(u["email"])] = true
				if u["email"] != f.admin.Email && (u["status"] != "not_logged_in" || u["invitation_count"] != float64(1)) {
					t.Errorf("invited user %v: status %v, invitation_count %v; want not_logged_in, 1", u["email"], u["status"], u["invitation_count"])
				}
			}
			for i := range n {
				if e := fmt.Sprintf("user%02d@acme.example", i); !seen[e] {
					t.Errorf("list lacks %s", e)
				}
			}
			if got := f.jobs(t); got != n {
				t.Errorf("%d invitation jobs, want %d", got, n)
			}
		})
	}
}
