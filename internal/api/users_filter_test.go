package api_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestListFilters checks the filters of GET /api/v1/users beyond q, status
// and permission: expiration range, last login, every sort, total_exact.
func TestListFilters(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			today := f.actor.Org.Today(time.Now())
			bob, cat, dan, eve, ada := f.members[0].Email, f.members[1].Email, f.members[2].Email, f.expired.Email, f.admin.Email
			cases := []struct {
				query string
				want  []string
			}{
				{"status=active", []string{ada}},
				{"status=expired", []string{eve}},
				{"expires_from=" + today.String(), []string{cat}},
				{"expires_to=" + today.String(), []string{eve}},
				{"expires_from=" + today.AddDays(-1).String() + "&expires_to=" + f.future.String(), []string{cat, eve}},
				{"last_login=never", []string{bob, cat, dan, eve}},
				{"last_login=after:" + today.AddDays(-2).String(), []string{ada}},
				{"last_login=before:" + today.AddDays(-2).String(), nil},
				{"last_login=never&status=not_logged_in&q=o", nil},
				{"last_login=never&q=c", []string{cat}},
				{"q=DUNN", []string{dan}},
				{"q=acme.example&status=not_logged_in&sort=-name", []string{bob, cat, dan}},
			}
			for _, c := range cases {
				resp, body := f.do(t, "GET", "/api/v1/users?"+c.query, "", f.token)
				if resp.StatusCode != 200 {
					t.Errorf("%s: %d %s", c.query, resp.StatusCode, body)
					continue
				}
				l := decodeList(t, body)
				got := emails(l)
				slices.Sort(got)
				if strings.Join(got, " ") != strings.Join(c.want, " ") || l.Total != len(c.want) {
					t.Errorf("%s: %q (total %d), want %q", c.query, got, l.Total, c.want)
				}
				var raw map[string]any
				json.Unmarshal(body, &raw)
				if raw["total_exact"] != true {
					t.Errorf("%s: total_exact %v, want true", c.query, raw["total_exact"])
				}
			}
			for _, s := range []string{"email", "name", "last_login_at", "last_invited_at", "expiration_date", "created_at"} {
				for _, dir := range []string{"", "-"} {
					var all []string
					path := "/api/v1/users?limit=2&sort=" + dir + s
					for range 5 {
						resp, body := f.do(t, "GET", path, "", f.token)
						if resp.StatusCode != 200 {
							t.Fatalf("sort=%s%s: %d %s", dir, s, resp.StatusCode, body)
						}
						l := decodeList(t, body)
						all = append(all, emails(l)...)
						if l.NextCursor == nil {
							break
						}
						path = "/api/v1/users?limit=2&sort=" + dir + s + "&cursor=" + url.QueryEscape(*l.NextCursor)
					}
					slices.Sort(all)
					if want := []string{ada, bob, cat, dan, eve}; strings.Join(all, " ") != strings.Join(want, " ") {
						t.Errorf("sort=%s%s: paged through %q, want each of %q once", dir, s, all, want)
					}
				}
			}
			bad := map[string]string{
				"last_login=sometime":                           "last_login",
				"last_login=before:2026-13-01":                  "last_login",
				"expires_from=tomorrow":                         "expires_from",
				"expires_from=2030-01-02&expires_to=2030-01-01": "expires_to",
				"sort=password_hash":                            "sort",
				"status=gone":                                   "status",
				"limit=0":                                       "limit",
			}
			for q, field := range bad {
				resp, body := f.do(t, "GET", "/api/v1/users?"+q, "", f.token)
				if resp.StatusCode != 422 || !strings.Contains(string(body), `"`+field+`"`) {
					t.Errorf("%s: %d %s; want 422 naming %s", q, resp.StatusCode, body, field)
				}
			}
		})
	}
}
