package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

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
