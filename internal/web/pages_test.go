package web_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/store/storetest"
	"github.com/roster-dev/roster/internal/web"
)

// TestEveryPageRenders parses every template at startup (web.New) and then
// renders each dashboard page through the real server, so a template that
// fails at execution time fails here rather than in front of a user.
func TestEveryPageRenders(t *testing.T) {
	db := storetest.OpenSQLite(t)
	svc := admin.New(admin.Options{DB: db, BaseURL: "http://roster.test"})
	h, err := web.New(svc, nil, web.Options{})
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	if len(h.Pages()) < 10 {
		t.Errorf("Pages() = %v, want every page", h.Pages())
	}
	ctx := t.Context()
	if err := svc.CreateOrg(ctx, &roster.Org{Name: "Acme", Slug: "acme", UserManagement: true}); err != nil {
		t.Fatal(err)
	}
	u, link, err := svc.AddAdmin(ctx, "acme", "ada@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.UseLink(ctx, link[strings.LastIndex(link, "/")+1:], "correct horse battery staple 42")
	if err != nil {
		t.Fatal(err)
	}
	root, err := server.Handler(server.Options{Service: svc, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	id := "/users/" + itoa(u.ID)
	imports := importsInEveryState(t, svc, sess.Actor)
	// Bulk jobs: one running, one done (ada herself is skipped: she has
	// no expiration date to clear).
	running, err := svc.StartBulk(ctx, sess.Actor, admin.BulkRequest{Action: admin.BulkExpire, Filter: &roster.UserFilter{Query: "nobody"}})
	if err != nil {
		t.Fatal(err)
	}
	done, err := svc.StartBulk(ctx, sess.Actor, admin.BulkRequest{Action: admin.BulkClearExpiration, IDs: []int64{u.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RunOneBulkJob(ctx, "test", done.ID); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{
		"/": "Welcome", "/profile": "Profile", "/users": "User Management", "/users/invite": "Invite user",
		id + "/edit": "Edit ada@acme.example", id + "/remove": "Remove access for 1 user?",
		"/users/999999/edit": "Not found", "/link/nope": "This link cannot be used", "/setup/nope": "Set up Roster",
		"/forgot": "Forgot password", "/audit": "Audit log",
		"/users/import": "Bulk upload", "/users/import/template.csv": "email,first_name,last_name,expiration_date,permissions",
		imports.previewed: "Nothing has changed yet.", imports.nothing: "there is nothing to invite",
		imports.applying: "Inviting users", imports.applying + "/status": `"state":"applying"`,
		imports.done: "Upload complete", imports.done + "/report.csv": "row,email,outcome,message",
		imports.failed: "Upload stopped", "/imports/999999": "Not found",
		"/bulk/" + itoa(running.ID): "Expire: in progress", "/bulk/" + itoa(running.ID) + "/status": `"state":"running"`,
		"/bulk/" + itoa(done.ID): "has no expiration date", "/bulk/999999": "Not found",
	}
	for path, want := range pages {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: sess.Secret.Reveal()})
		rec := httptest.NewRecorder()
		root.ServeHTTP(rec, req)
		if rec.Code >= 500 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET %s = %d, body lacks %q", path, rec.Code, want)
		}
	}
	// The sign-in page, signed out.
	rec := httptest.NewRecorder()
	root.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/signin", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Sign in") {
		t.Errorf("GET /signin = %d", rec.Code)
	}
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for n > 0 || i == len(b) {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
