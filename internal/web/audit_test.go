package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// newAuditTestEnv is newImportTestEnv on either database.
func newAuditTestEnv(t *testing.T, b storetest.Backend) *importTestEnv {
	t.Helper()
	db := b.Open(t)
	svc := admin.New(admin.Options{DB: db, BaseURL: "http://roster.test"})
	root, err := server.Handler(server.Options{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	e := &importTestEnv{db: db, svc: svc, root: root}
	e.acme = e.tenant(t, "Acme", "acme")
	e.birch = e.tenant(t, "Birch", "birch")
	_, sess := e.signUp(t, "acme", "mia@acme.example")
	if _, err := svc.UpdateUser(t.Context(), e.acme.actor, sess.Actor.User.ID,
		admin.UserPatch{Permissions: roster.Some(roster.Permissions(roster.ViewAnalytics))}); err != nil {
		t.Fatal(err)
	}
	e.member = sess.Secret.Reveal()
	return e
}

var auditRowRE = regexp.MustCompile(`<td data-label="Action"><code>([^<]*)</code>`)

// auditActions lists the action of each row of an audit page.
func auditActions(body string) []string {
	var out []string
	for _, m := range auditRowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestAuditPage(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newAuditTestEnv(t, b)
			ctx := t.Context()
			bob, _ := e.signUp(t, "acme", "bob@acme.example")
			exp, _ := roster.ParseDate("2026-12-31")
			if _, err := e.svc.UpdateUser(ctx, e.acme.actor, bob.ID, admin.UserPatch{ExpirationDate: roster.Some(exp),
				Permissions: roster.Some(roster.Permissions(roster.ViewAnalytics))}); err != nil {
				t.Fatal(err)
			}
			zed, _ := e.signUp(t, "birch", "zed@birch.example")
			if _, err := e.svc.UpdateUser(ctx, e.birch.actor, zed.ID, admin.UserPatch{FirstName: roster.Some("Secret-Birch-Name")}); err != nil {
				t.Fatal(err)
			}

			t.Run("the log with readable changes", func(t *testing.T) {
				rec, body := e.get(t, e.acme.cookie, "/audit")
				text := pageText(body)
				if rec.Code != http.StatusOK {
					t.Fatalf("GET /audit = %d", rec.Code)
				}
				for _, want := range []string{"expiration_date: none → 2026-12-31",
					"permissions: manage_users, view_analytics, manage_curations, manage_comments → view_analytics",
					"When UTC", "bob@acme.example"} {
					if !strings.Contains(text, want) {
						t.Errorf("GET /audit lacks %q in:\n%s", want, text)
					}
				}
				for _, id := range []string{"audit-actor", "audit-target", "audit-action", "audit-from", "audit-to"} {
					if !strings.Contains(body, `<label for="`+id+`"`) || !strings.Contains(body, `id="`+id+`"`) {
						t.Errorf("GET /audit: control %s has no label", id)
					}
				}
				if strings.Contains(body, "birch") || strings.Contains(body, "Secret-Birch-Name") {
					t.Errorf("GET /audit shows another organization's events")
				}
				if !strings.Contains(body, `<option value="user.update" >user.update</option>`) {
					t.Errorf("GET /audit: the action select lacks user.update")
				}
			})

			t.Run("filters narrow and stay in the form", func(t *testing.T) {
				rec, body := e.get(t, e.acme.cookie, "/audit?action=user.update&target=BOB@acme.example")
				got := auditActions(body)
				if rec.Code != http.StatusOK || len(got) != 1 || got[0] != "user.update" {
					t.Errorf("GET /audit?action=user.update&target=bob = %d, rows %v; want one user.update", rec.Code, got)
				}
				if !strings.Contains(body, `value="BOB@acme.example"`) || !strings.Contains(body, `<option value="user.update" selected>`) {
					t.Errorf("the form does not keep the filters:\n%s", body)
				}
				_, body = e.get(t, e.acme.cookie, "/audit?actor=operator")
				for _, a := range auditActions(body) {
					if a != "user.create_admin" && a != "org.create" {
						t.Errorf("GET /audit?actor=operator shows %s, want only the operator's events", a)
					}
				}
				for _, q := range []string{"target=zed@birch.example", fmt.Sprintf("target=%d", zed.ID), "actor=admin@birch.example", "from=2099-01-01"} {
					rec, body := e.get(t, e.acme.cookie, "/audit?"+q)
					if rec.Code != http.StatusOK || !strings.Contains(pageText(body), "No events match these filters") || len(auditActions(body)) != 0 {
						t.Errorf("GET /audit?%s = %d, rows %v; want the empty state", q, rec.Code, auditActions(body))
					}
				}
			})

			t.Run("bad input is named on the page", func(t *testing.T) {
				for _, tc := range []struct{ query, want string }{
					{"action=user.fly", "unknown action “user.fly”; use one of"},
					{"from=2026-13-01", "“2026-13-01” is not a date; use YYYY-MM-DD"},
					{"from=2026-05-02&to=2026-05-01", "is before the start date"},
					{"cursor=bad", "the cursor is not valid"},
					{"actor=someone", "neither a user id nor an email address"},
				} {
					rec, body := e.get(t, e.acme.cookie, "/audit?"+tc.query)
					if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(pageText(body), tc.want) || !strings.Contains(body, "The filter could not be used") {
						t.Errorf("GET /audit?%s = %d, want 422 saying %q:\n%s", tc.query, rec.Code, tc.want, pageText(body))
					}
				}
			})

			t.Run("next page keeps the filters and ends", func(t *testing.T) {
				var evs []*store.AuditEvent
				for i := range 130 {
					evs = append(evs, &store.AuditEvent{OrgID: e.acme.actor.Org.ID, ActorUserID: e.acme.actor.User.ID, Actor: e.acme.actor.User.Email,
						Action: "user.bulk_expire", TargetUserID: bob.ID, Target: bob.Email, Before: `{"expiration_date":null}`,
						After: fmt.Sprintf(`{"expiration_date":"2026-01-%02d"}`, i%28+1), CreatedAt: time.Now()})
				}
				if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.AuditMany(context.Background(), evs) }); err != nil {
					t.Fatal(err)
				}
				_, body := e.get(t, e.acme.cookie, "/audit?action=user.bulk_expire")
				m := regexp.MustCompile(`<a class="button" href="([^"]*)" rel="next">`).FindStringSubmatch(body)
				if got := auditActions(body); len(got) != 100 || m == nil {
					t.Fatalf("first page: %d rows, next link %v; want 100 and a link", len(got), m)
				}
				next := html.UnescapeString(m[1])
				if !strings.Contains(next, "action=user.bulk_expire") || !strings.Contains(next, "cursor=") {
					t.Errorf("next link %q lacks the filter or the cursor", next)
				}
				_, body = e.get(t, e.acme.cookie, next)
				got := auditActions(body)
				if len(got) != 30 || strings.Contains(body, `rel="next"`) {
					t.Errorf("second page: %d rows, next link %v; want the last 30 and no link", len(got), strings.Contains(body, `rel="next"`))
				}
				for _, a := range got {
					if a != "user.bulk_expire" {
						t.Errorf("second page shows %s, want the filter kept", a)
					}
				}
			})

			t.Run("members without Manage Users get 403", func(t *testing.T) {
				if rec, _ := e.get(t, e.member, "/audit"); rec.Code != http.StatusForbidden {
					t.Errorf("GET /audit as a member = %d, want 403", rec.Code)
				}
			})
		})
	}
}
