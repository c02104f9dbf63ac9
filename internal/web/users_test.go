package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
	"github.com/roster-dev/roster/internal/web"
)

// eachBackend runs fn on SQLite and on PostgreSQL, as the store's contract
// suite does, each with a fresh environment.
func eachBackend(t *testing.T, fn func(t *testing.T, e *importTestEnv)) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newImportTestEnvOn(t, b.Open))
		})
	}
}

// invite adds a user to the tenant's organization.
func (e *importTestEnv) invite(t *testing.T, tn *importTenant, email string, perms roster.Permissions) *roster.User {
	t.Helper()
	res, err := e.svc.Invite(t.Context(), tn.actor, admin.InviteInput{Email: email, Permissions: roster.Some(perms)})
	if err != nil {
		t.Fatalf("Invite %s: %v", email, err)
	}
	return res.User
}

// postForm posts a form as the session; flash, when set, is sent as the
// bulk result cookie a redirect carries.
func (e *importTestEnv) postForm(t *testing.T, cookie, path string, form url.Values) (*httptest.ResponseRecorder, string) {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(t, cookie, r)
}

// follow GETs a redirect's target with the cookies it set.
func (e *importTestEnv) follow(t *testing.T, cookie string, rec *httptest.ResponseRecorder) (*httptest.ResponseRecorder, string) {
	t.Helper()
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body:\n%s", rec.Code, rec.Body.String())
	}
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, rec.Header().Get("Location"), nil)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			r.AddCookie(c)
		}
	}
	return e.do(t, cookie, r)
}

func wantIn(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q; body:\n%s", what, w, body)
		}
	}
}

// TestUsersFilterURL: the filter form's fields become one short URL that
// names the view, and that URL shows the same view again (bookmarked,
// shared, reloaded); a bad value is a message on the page, not a redirect.
func TestUsersFilterURL(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *importTestEnv) {
		for i := range 60 {
			e.invite(t, e.acme, fmt.Sprintf("user%02d@acme.example", i), roster.Permissions(roster.ViewAnalytics))
		}
		form := url.Values{"q": {"acme"}, "status": {"not_logged_in"}, "permission": {"view_analytics"}, "expires_from": {""},
			"expires_to": {""}, "ll_after": {""}, "ll_before": {""}, "ll_never": {"1"}, "sort": {"-email"}}
		rec, _ := e.get(t, e.acme.cookie, "/users?"+form.Encode())
		want := "/users?last_login=never&permission=view_analytics&q=acme&sort=-email&status=not_logged_in"
		if got := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || got != want {
			t.Fatalf("GET /users from the form = %d Location %q, want 303 %q", rec.Code, got, want)
		}
		rec, body := e.get(t, e.acme.cookie, want)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d:\n%s", want, rec.Code, body)
		}
		wantIn(t, "the filtered page", body, `value="acme"`, `<option value="not_logged_in" selected>`,
			`<option value="view_analytics" selected>`, `id="ll_never" name="ll_never" type="checkbox" value="1" checked`,
			`class="c-email" aria-sort="descending"`, "60 users match this search and filter",
			`href="/users/export.csv?last_login=never&permission=view_analytics&q=acme&sort=-email&status=not_logged_in"`,
			`<input type="hidden" name="sort" value="-email">`, `name="view" value="last_login=never&permission=view_analytics&q=acme&sort=-email&status=not_logged_in"`)
		if n := strings.Count(body, `name="ids"`); n != 50 {
			t.Errorf("the first page has %d rows, want 50", n)
		}
		if !strings.Contains(body, "user59@acme.example") || strings.Contains(body, "user09@acme.example") {
			t.Error("the first page, by email descending, should start at user59 and not reach user09")
		}
		// Sorting by a header keeps the filter and starts again.
		wantIn(t, "the Name header", body, `<a class="sort" href="/users?last_login=never&permission=view_analytics&q=acme&sort=name&status=not_logged_in">Name</a>`)

		// Keyset paging: Next carries a cursor, the last page offers the first.
		i := strings.Index(body, `id="next-page"`)
		if i < 0 {
			t.Fatalf("no Next page link:\n%s", body)
		}
		href := body[strings.LastIndex(body[:i], `href="`)+6:]
		href = href[:strings.Index(href, `"`)]
		if !strings.Contains(href, "cursor=") || !strings.Contains(href, "status=not_logged_in") {
			t.Errorf("Next page = %q, want the filter and a cursor", href)
		}
		rec, body = e.get(t, e.acme.cookie, href)
		if rec.Code != http.StatusOK || strings.Count(body, `name="ids"`) != 10 || strings.Contains(body, `id="next-page"`) {
			t.Errorf("second page: %d, %d rows, want 200 with 10 rows and no Next", rec.Code, strings.Count(body, `name="ids"`))
		}
		wantIn(t, "the second page", body, `id="first-page"`, "user00@acme.example")

		// Counts per status, each a link that filters.
		_, body = e.get(t, e.acme.cookie, "/users")
		wantIn(t, "the counts", body, `<span class="n">60</span> Hasn't Logged In`, `<span class="n">2</span> Active`,
			`<span class="n">0</span> Expired`, `<span class="n">62</span> All users`, `href="/users?status=expired"`)

		// Bad values: a message naming each, the values kept, no redirect.
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"status=bogus&expires_from=2026-13-01", []string{"Status: use active, not_logged_in or expired.",
				`Expires from: "2026-13-01" is not a date; use YYYY-MM-DD.`, `value="2026-13-01"`}},
			{"expires_from=2026-05-01&expires_to=2026-04-01", []string{"Expires to: the end of the range is before its start."}},
			{"ll_never=1&ll_after=2026-01-01", []string{"Never logged in: choose “never logged in” or last-login dates, not both."}},
			{"ll_before=yesterday", []string{`Last login before: "yesterday" is not a date; use YYYY-MM-DD.`, `value="yesterday"`}},
			{"last_login=sometimes", []string{"Last login: use never, before:YYYY-MM-DD or after:YYYY-MM-DD."}},
			{"sort=shoe+size", []string{"Sort: use one of email, name"}},
			{"cursor=garbage", []string{"Page: the cursor is not valid; start again from the first page."}},
		} {
			rec, body := e.get(t, e.acme.cookie, "/users?"+tc.query)
			if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
				t.Errorf("GET /users?%s = %d Location %q, want 400 without a redirect", tc.query, rec.Code, rec.Header().Get("Location"))
			}
			wantIn(t, "GET /users?"+tc.query, body, append(tc.want, "This view could not be shown", `id="filter-invalid"`)...)
		}

		// Nothing matches: the empty state.
		_, body = e.get(t, e.acme.cookie, "/users?q=zzzzzz")
		wantIn(t, "an empty search", body, "No users match this search and filter.")
	})
}

// TestUsersBulk: the bulk form by ids and by filter, the confirmation that
// remove and expire need, other organizations' ids, and refusals.
func TestUsersBulk(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *importTestEnv) {
		ctx := t.Context()
		today := e.svc.Today(e.acme.actor)
		ann := e.invite(t, e.acme, "ann@acme.example", 0)
		ben := e.invite(t, e.acme, "ben@acme.example", 0)
		cat := e.invite(t, e.acme, "cat@acme.example", 0)
		if _, err := e.svc.UpdateUser(ctx, e.acme.actor, cat.ID, admin.UserPatch{ExpirationDate: roster.Some(today)}); err != nil {
			t.Fatal(err)
		}
		stranger := e.invite(t, e.birch, "stranger@birch.example", 0)
		view := "q=acme.example&sort=-email"

		// Resend Invitations by ids: Birch's id reads as no such user, the
		// expired user is skipped with the reason.
		rec, body := e.postForm(t, e.acme.cookie, "/users/bulk", url.Values{"action": {"resend_invitations"}, "view": {view},
			"ids": {fmt.Sprint(ann.ID), fmt.Sprint(ben.ID), fmt.Sprint(cat.ID), fmt.Sprint(stranger.ID)}})
		if got := rec.Header().Get("Location"); got != "/users?q=acme.example&sort=-email" {
			t.Errorf("after the bulk action, Location = %q, want back to the view; body:\n%s", got, body)
		}
		_, body = e.follow(t, e.acme.cookie, rec)
		wantIn(t, "the result", body, "Resend Invitations: 2 done, 2 skipped",
			"<strong>1 skipped:</strong> access expired; update their expiration date first", "<li>cat@acme.example</li>",
			"<strong>1 skipped:</strong> no such user", fmt.Sprintf("<li>user id %d</li>", stranger.ID))
		if strings.Contains(body, "stranger@birch.example") {
			t.Error("the result names Birch's user")
		}
		if u, _ := e.svc.User(ctx, e.birch.actor, stranger.ID); u.InvitationCount != 1 {
			t.Errorf("Birch's user was invited %d times, want 1 (untouched)", u.InvitationCount)
		}
		if u, _ := e.svc.User(ctx, e.acme.actor, ann.ID); u.InvitationCount != 2 {
			t.Errorf("Ann was invited %d times, want 2", u.InvitationCount)
		}
		// The result is shown once.
		if _, body = e.get(t, e.acme.cookie, "/users"); strings.Contains(body, "bulk-result") {
			t.Error("the result is shown again on the next visit")
		}

		// By filter ("select all matching"): a confirmation states the count.
		grant := url.Values{"action": {"grant_permission"}, "permission": {"manage_comments"}, "scope": {"filter"},
			"view": {"q=acme.example&status=not_logged_in"}, "ids": {fmt.Sprint(ann.ID)}}
		rec, body = e.postForm(t, e.acme.cookie, "/users/bulk", grant)
		if rec.Code != http.StatusOK {
			t.Fatalf("grant by filter = %d, want the confirmation; body:\n%s", rec.Code, body)
		}
		wantIn(t, "the confirmation", body, "Grant Manage Comments to 2 users?",
			"every user matching: name or email contains “acme.example”; status Hasn't Logged In",
			`<input type="hidden" name="confirm" value="2">`)
		if u, _ := e.svc.User(ctx, e.acme.actor, ben.ID); u.Permissions.Has(roster.ManageComments) {
			t.Fatal("the permission was granted before the confirmation")
		}
		grant.Set("confirmed", "1")
		grant.Set("confirm", "2")
		rec, _ = e.postForm(t, e.acme.cookie, "/users/bulk", grant)
		_, body = e.follow(t, e.acme.cookie, rec)
		wantIn(t, "the grant's result", body, "Grant permission: 2 done, 0 skipped")
		for _, u := range []*roster.User{ann, ben} {
			if got, _ := e.svc.User(ctx, e.acme.actor, u.ID); !got.Permissions.Has(roster.ManageComments) {
				t.Errorf("%s lacks Manage Comments after the grant by filter", u.Email)
			}
		}
		if got, _ := e.svc.User(ctx, e.acme.actor, cat.ID); got.Permissions.Has(roster.ManageComments) {
			t.Error("the expired user, outside the filter, was granted Manage Comments")
		}

		// Remove access: refused without the count, then with a wrong one.
		remove := url.Values{"action": {"remove"}, "view": {""}, "ids": {fmt.Sprint(ben.ID)}}
		rec, body = e.postForm(t, e.acme.cookie, "/users/bulk", remove)
		if rec.Code != http.StatusOK {
			t.Errorf("remove without confirmation = %d, want the confirmation page", rec.Code)
		}
		wantIn(t, "the remove confirmation", body, "Remove access for 1 user?", `Type <strong>1</strong> to confirm`)
		remove.Set("confirmed", "1")
		for _, typed := range []string{"", "2", "one"} {
			remove.Set("confirm", typed)
			rec, body = e.postForm(t, e.acme.cookie, "/users/bulk", remove)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("remove confirmed with %q = %d, want 422", typed, rec.Code)
			}
			wantIn(t, "a wrong count", body, "Nothing was changed: type 1, the number of users selected, to confirm.")
		}
		if _, err := e.svc.User(ctx, e.acme.actor, ben.ID); err != nil {
			t.Fatalf("Ben was removed without the right count: %v", err)
		}
		remove.Set("confirm", "1")
		rec, _ = e.postForm(t, e.acme.cookie, "/users/bulk", remove)
		_, body = e.follow(t, e.acme.cookie, rec)
		wantIn(t, "the remove's result", body, "Remove access: 1 done, 0 skipped")
		if _, err := e.svc.User(ctx, e.acme.actor, ben.ID); !admin.IsNotFound(err) {
			t.Errorf("Ben after the confirmed remove: %v, want not found", err)
		}

		// Expire: a confirmation too, since it ends access at once.
		expire := url.Values{"action": {"expire"}, "ids": {fmt.Sprint(ann.ID)}}
		rec, body = e.postForm(t, e.acme.cookie, "/users/bulk", expire)
		wantIn(t, "the expire confirmation", body, "Expire 1 user?", "their access ends immediately")
		expire.Set("confirmed", "1")
		expire.Set("confirm", "1")
		rec, _ = e.postForm(t, e.acme.cookie, "/users/bulk", expire)
		_, body = e.follow(t, e.acme.cookie, rec)
		wantIn(t, "the expire's result", body, "Expire: 1 done, 0 skipped")
		if u, _ := e.svc.User(ctx, e.acme.actor, ann.ID); u.ExpirationDate != today {
			t.Errorf("Ann expires %s, want today %s", u.ExpirationDate, today)
		}

		// Refusals: each says what is wrong and keeps the ticks.
		for _, tc := range []struct {
			name string
			form url.Values
			want string
		}{
			{"no action", url.Values{"ids": {fmt.Sprint(cat.ID)}}, "Nothing was changed. Action: choose an action."},
			{"nothing selected", url.Values{"action": {"clear_expiration"}}, "Nothing was changed. Selection: select at least one user."},
			{"no permission", url.Values{"action": {"grant_permission"}, "ids": {fmt.Sprint(cat.ID)}}, "Permission: choose a permission."},
			{"a past date", url.Values{"action": {"set_expiration"}, "date": {"2001-01-01"}, "ids": {fmt.Sprint(cat.ID)}},
				fmt.Sprintf("Expiration date: give a date after today (%s).", today)},
			{"a bad id", url.Values{"action": {"expire"}, "ids": {"abc"}}, `Selection: "abc" is not a user id.`},
			{"an unknown action", url.Values{"action": {"explode"}, "ids": {fmt.Sprint(cat.ID)}}, `Action: unknown action "explode"`},
		} {
			rec, body := e.postForm(t, e.acme.cookie, "/users/bulk", tc.form)
			if rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422", tc.name, rec.Code)
			}
			wantIn(t, tc.name, body, tc.want)
			if ids := tc.form["ids"]; len(ids) > 0 && ids[0] != "abc" {
				wantIn(t, tc.name, body, fmt.Sprintf(`value="%s" form="bulk" aria-label="Select cat@acme.example" checked`, ids[0]))
			}
		}

		// A member without Manage Users: 403 everywhere, nothing changed.
		for _, tc := range []struct{ method, path string }{{"GET", "/users"}, {"POST", "/users/bulk"}, {"GET", "/users/export.csv"}} {
			var rec *httptest.ResponseRecorder
			if tc.method == "GET" {
				rec, _ = e.get(t, e.member, tc.path)
			} else {
				rec, _ = e.postForm(t, e.member, tc.path, url.Values{"action": {"expire"}, "ids": {fmt.Sprint(cat.ID)}, "confirmed": {"1"}, "confirm": {"1"}})
			}
			if rec.Code != http.StatusForbidden {
				t.Errorf("%s %s as a member = %d, want 403", tc.method, tc.path, rec.Code)
			}
		}
	})
}

// TestUsersExport: the current view downloads as CSV, named for the
// organization and the day.
func TestUsersExport(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *importTestEnv) {
		e.invite(t, e.acme, "ann@acme.example", roster.Permissions(roster.ViewAnalytics))
		e.invite(t, e.acme, "ben@acme.example", 0)
		e.invite(t, e.birch, "bea@birch.example", roster.Permissions(roster.ViewAnalytics))
		rec, body := e.get(t, e.acme.cookie, "/users/export.csv?permission=view_analytics&status=not_logged_in")
		if rec.Code != http.StatusOK {
			t.Fatalf("export = %d:\n%s", rec.Code, body)
		}
		name := fmt.Sprintf(`attachment; filename="roster-acme-users-%s.csv"`, e.svc.Today(e.acme.actor))
		if got := rec.Header().Get("Content-Disposition"); got != name {
			t.Errorf("Content-Disposition = %q, want %q", got, name)
		}
		want := "email,first_name,last_name,expiration_date,permissions\nann@acme.example,,,,view_analytics\n"
		if body != want {
			t.Errorf("export body = %q, want %q", body, want)
		}
		rec, body = e.get(t, e.acme.cookie, "/users/export.csv?status=sleeping")
		if rec.Code != http.StatusBadRequest || strings.Contains(body, "email,first_name") {
			t.Errorf("export with a bad status = %d, want 400 with no CSV", rec.Code)
		}
		wantIn(t, "a refused export", body, "Nothing was exported: Status: use active, not_logged_in or expired.")
		_ = web.SessionCookie
	})
}

// TestUsersBulkInBackground: "select all matching" over more users than one
// transaction holds runs as a background job: the confirmation leads to
// the job's page, which shows the progress, then the result.
func TestUsersBulkInBackground(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *importTestEnv) {
		ctx := t.Context()
		today := e.svc.Today(e.acme.actor)
		if _, err := e.db.CreateDemoUsers(ctx, e.acme.actor.Org.ID, store.DemoOptions{Users: admin.BulkBackgroundMin + 200, Now: time.Now(), Today: today, Seed: 3}); err != nil {
			t.Fatal(err)
		}
		n, err := e.svc.BulkCount(ctx, e.acme.actor, admin.BulkRequest{Filter: &roster.UserFilter{}})
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"action": {"set_expiration"}, "date": {today.AddDays(400).String()}, "scope": {"filter"}, "view": {""},
			"confirmed": {"1"}, "confirm": {fmt.Sprint(n)}}
		rec, _ := e.postForm(t, e.acme.cookie, "/users/bulk", form)
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/bulk/") {
			t.Fatalf("bulk on %d users = %d to %q, want 303 to the job's page", n, rec.Code, loc)
		}
		_, body := e.get(t, e.acme.cookie, loc)
		wantIn(t, "the job's page while it runs", body, "Set expiration date: in progress", fmt.Sprintf("of <span data-field=\"total\">%s</span> users", thousandsOf(n)))
		if ran, err := e.svc.RunOneBulkJob(ctx, "test", 0); !ran || err != nil {
			t.Fatalf("RunOneBulkJob = %v, %v", ran, err)
		}
		_, body = e.get(t, e.acme.cookie, loc)
		wantIn(t, "the job's page when done", body, "Set expiration date: done", fmt.Sprintf("<strong>%s</strong> done", thousandsOf(n)))
		// Another organization's admin cannot see it.
		if rec, _ := e.get(t, e.birch.cookie, loc); rec.Code != http.StatusNotFound {
			t.Errorf("another organization's GET %s = %d, want 404", loc, rec.Code)
		}
	})
}

func thousandsOf(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
