package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/store/storetest"
)

func TestAuditLog(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			resp, body := f.do(t, http.MethodPost, "/api/v1/users", `{"email":"audited@acme.example","first_name":"Aud"}`, f.token)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST /api/v1/users = %d %s", resp.StatusCode, body)
			}
			resp, body = f.do(t, http.MethodGet, "/api/v1/audit?limit=1", "", f.token)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /api/v1/audit = %d %s", resp.StatusCode, body)
			}
			var got struct {
				Events []struct {
					Action, Actor, Target string
					Before, After         json.RawMessage
				}
				NextBefore *string `json:"next_before"`
			}
			if err := json.Unmarshal(body, &got); err != nil || len(got.Events) != 1 {
				t.Fatalf("GET /api/v1/audit body = %s (%v), want one event", body, err)
			}
			e := got.Events[0]
			if e.Action != "user.invite" || e.Target != "audited@acme.example" || string(e.Before) != "null" ||
				!strings.Contains(string(e.After), `"first_name":"Aud"`) || !strings.Contains(e.Actor, "(API token)") {
				t.Errorf("newest audit event = %+v, want the invite by the token's user with after values", e)
			}
			if got.NextBefore == nil {
				t.Error("next_before = null with limit=1 and more events, want a cursor")
			}
			for _, q := range []string{"limit=0", "limit=501", "before=x"} {
				if resp, _ := f.do(t, http.MethodGet, "/api/v1/audit?"+q, "", f.token); resp.StatusCode != http.StatusUnprocessableEntity {
					t.Errorf("GET /api/v1/audit?%s = %d, want 422", q, resp.StatusCode)
				}
			}
		})
	}
}

// errorBody is the body of an error answer.
type errorBody struct {
	Error struct {
		Code, Message string
		Fields        map[string]string
	}
}

// auditPage is the body of GET /api/v1/audit.
type auditPage struct {
	Events []struct {
		ID            int64
		Action, Actor string
		Target        string
		TargetUserID  *int64 `json:"target_user_id"`
		Before, After json.RawMessage
		At            time.Time
	}
	NextBefore *string `json:"next_before"`
	NextCursor *string `json:"next_cursor"`
}

func (f *fixture) audit(t *testing.T, query string) auditPage {
	t.Helper()
	resp, body := f.do(t, http.MethodGet, "/api/v1/audit?"+query, "", f.token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/audit?%s = %d %s", query, resp.StatusCode, body)
	}
	var p auditPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("GET /api/v1/audit?%s: %v in %s", query, err, body)
	}
	return p
}

func TestAuditLogFilters(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			bob, dan := f.members[0], f.members[2]
			for _, c := range []struct{ method, path, body string }{
				{http.MethodPost, "/api/v1/users", `{"email":"fay@acme.example","first_name":"Fay"}`},
				{http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", bob.ID), `{"expiration_date":"` + f.future.String() + `"}`},
				{http.MethodDelete, fmt.Sprintf("/api/v1/users/%d", dan.ID), ""},
			} {
				if resp, body := f.do(t, c.method, c.path, c.body, f.token); resp.StatusCode >= 300 {
					t.Fatalf("%s %s = %d %s", c.method, c.path, resp.StatusCode, body)
				}
			}
			all := f.audit(t, "limit=500")
			if len(all.Events) < 10 || all.NextCursor != nil {
				t.Fatalf("GET /api/v1/audit?limit=500 = %d events, next %v; want the whole log on one page", len(all.Events), all.NextCursor)
			}

			t.Run("each filter narrows", func(t *testing.T) {
				today := time.Now().UTC().Format(time.DateOnly)
				tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
				for _, tc := range []struct {
					query string
					want  int // events, -1 for "all of them"
					check func(action, actor, target string) bool
				}{
					{"action=user.remove", 1, func(a, _, tg string) bool { return a == "user.remove" && tg == "dan@acme.example" }},
					{"action=user.invite", 1, func(a, ac, tg string) bool {
						return a == "user.invite" && tg == "fay@acme.example" && strings.Contains(ac, "(API token)")
					}},
					{"actor=ADA@acme.example&action=user.update", -2, func(a, ac, _ string) bool { return a == "user.update" && strings.HasPrefix(ac, "ada@acme.example") }},
					{"actor=operator", -2, func(_, ac, _ string) bool { return ac == "operator (CLI)" }},
					{"target=Bob@Acme.Example", 3, func(_, _, tg string) bool { return tg == "bob@acme.example" }},
					{fmt.Sprintf("target=%d", bob.ID), 3, func(_, _, tg string) bool { return tg == "bob@acme.example" }},
					{fmt.Sprintf("target=%d&actor=ada@acme.example", bob.ID), 2, func(_, ac, tg string) bool { return tg == "bob@acme.example" && ac != "operator (CLI)" }},
					{"from=" + today + "&to=" + today, -1, func(string, string, string) bool { return true }},
					{"from=" + tomorrow, 0, nil},
					{"actor=olga@other.example", 0, nil},
					{"target=otto@other.example", 0, nil},
					{fmt.Sprintf("target=%d", f.other.ID), 0, nil},
					{"actor=nobody@acme.example", 0, nil},
				} {
					p := f.audit(t, tc.query+"&limit=500")
					switch {
					case tc.want == -1 && len(p.Events) != len(all.Events),
						tc.want == -2 && (len(p.Events) == 0 || len(p.Events) >= len(all.Events)),
						tc.want >= 0 && len(p.Events) != tc.want:
						t.Errorf("GET /api/v1/audit?%s = %d events, want %d (of %d)", tc.query, len(p.Events), tc.want, len(all.Events))
					}
					for _, e := range p.Events {
						if !tc.check(e.Action, e.Actor, e.Target) {
							t.Errorf("GET /api/v1/audit?%s returned %s by %q on %q", tc.query, e.Action, e.Actor, e.Target)
						}
					}
				}
				upd := f.audit(t, fmt.Sprintf("action=user.update&target=%d&limit=1", bob.ID))
				if len(upd.Events) != 1 || !strings.Contains(string(upd.Events[0].After), f.future.String()) ||
					!strings.Contains(string(upd.Events[0].Before), `"expiration_date":null`) {
					t.Errorf("newest user.update of bob = %+v, want expiration_date null before and %s after", upd.Events, f.future)
				}
			})

			t.Run("cursor walks every event once", func(t *testing.T) {
				var got []int64
				q := "limit=3"
				for range 100 {
					p := f.audit(t, q)
					for _, e := range p.Events {
						got = append(got, e.ID)
					}
					if p.NextCursor == nil {
						break
					}
					if p.NextBefore == nil || *p.NextBefore != fmt.Sprint(p.Events[len(p.Events)-1].ID) {
						t.Errorf("next_before = %v, want the last event's id %d", p.NextBefore, p.Events[len(p.Events)-1].ID)
					}
					q = "limit=3&cursor=" + url.QueryEscape(*p.NextCursor)
				}
				var want []int64
				for _, e := range all.Events {
					want = append(want, e.ID)
				}
				if !slices.Equal(got, want) {
					t.Errorf("walking limit=3 by cursor = %v, want %v", got, want)
				}
			})

			t.Run("bad input", func(t *testing.T) {
				for _, tc := range []struct{ query, field, want string }{
					{"action=user.fly", "action", "unknown action “user.fly”; use one of"},
					{"action=user.fly", "action", "user.bulk_expire"},
					{"from=2026-02-30", "from", "“2026-02-30” is not a date; use YYYY-MM-DD"},
					{"to=12/31/2026", "to", "is not a date"},
					{"from=2026-05-02&to=2026-05-01", "to", "is before the start date"},
					{"cursor=garbage", "cursor", "the cursor is not valid"},
					{"actor=nobody", "actor", "neither a user id nor an email address"},
					{"target=-4", "target", "is not a user id"},
				} {
					resp, body := f.do(t, http.MethodGet, "/api/v1/audit?"+tc.query, "", f.token)
					var e errorBody
					json.Unmarshal(body, &e)
					if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(e.Error.Fields[tc.field], tc.want) {
						t.Errorf("GET /api/v1/audit?%s = %d %s, want 422 with %s: %q", tc.query, resp.StatusCode, body, tc.field, tc.want)
					}
				}
			})
		})
	}
}
