package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestBulkInBackground: "background": true answers 202 with the job and
// its address; the job, once run, reports what it did, skips included;
// another organization's token cannot read it; a bad filter names the
// field.
func TestBulkInBackground(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, b)
			resp, body := f.do(t, "POST", "/api/v1/users/bulk", `{"action":"resend_invitations","filter":{"q":"acme.example"},"background":true}`, f.token)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("POST bulk background = %d %s, want 202", resp.StatusCode, body)
			}
			var j struct {
				ID          int64          `json:"id"`
				State       string         `json:"state"`
				Total       int            `json:"total"`
				Processed   int            `json:"processed"`
				Done        int            `json:"done"`
				SkippedN    int            `json:"skipped_count"`
				SkipReasons map[string]int `json:"skip_reasons"`
				Skipped     []struct {
					ID     int64  `json:"id"`
					Reason string `json:"reason"`
				} `json:"skipped"`
			}
			json.Unmarshal(body, &j)
			if loc := resp.Header.Get("Location"); loc != fmt.Sprintf("/api/v1/bulk/%d", j.ID) || j.State != "running" || j.Total != 5 {
				t.Fatalf("202 = Location %q, %s; want the job's address, running, 5 users", loc, body)
			}
			if ran, err := f.svc.RunOneBulkJob(t.Context(), "test", j.ID); !ran || err != nil {
				t.Fatalf("RunOneBulkJob = %v, %v", ran, err)
			}
			resp, body = f.do(t, "GET", resp.Header.Get("Location"), "", f.token)
			json.Unmarshal(body, &j)
			if resp.StatusCode != 200 || j.State != "done" || j.Processed != 5 || j.Done != 4 || j.SkippedN != 1 ||
				len(j.Skipped) != 1 || j.Skipped[0].ID != f.expired.ID || j.SkipReasons["access expired; update their expiration date first"] != 1 {
				t.Errorf("GET job = %d %s; want done: 4 invited, eve@ skipped as expired", resp.StatusCode, body)
			}
			// Another organization's token reads the same as a missing job.
			otherTok := f.tokenFor(t, "other")
			if resp, _ := f.do(t, "GET", fmt.Sprintf("/api/v1/bulk/%d", j.ID), "", otherTok); resp.StatusCode != 404 {
				t.Errorf("another organization's GET = %d, want 404", resp.StatusCode)
			}
			resp, body = f.do(t, "POST", "/api/v1/users/bulk", `{"action":"expire","filter":{"status":"gone","colour":"red"},"background":true}`, f.token)
			if resp.StatusCode != 422 || !strings.Contains(string(body), "filter.status") || !strings.Contains(string(body), "filter.colour") {
				t.Errorf("bad filter = %d %s; want 422 naming filter.status and filter.colour", resp.StatusCode, body)
			}
			resp, body = f.do(t, "POST", "/api/v1/users/bulk", `{"action":"remove","filter":{"status":"expired"},"confirm":3,"background":true}`, f.token)
			if resp.StatusCode != 409 || !strings.Contains(string(body), "confirm = 1") {
				t.Errorf("remove with a wrong count = %d %s; want 409 asking to confirm 1", resp.StatusCode, body)
			}
		})
	}
}

// tokenFor is an API token of the organization's first admin.
func (f *fixture) tokenFor(t *testing.T, slug string) string {
	t.Helper()
	secret, _, err := f.svc.CreateAPIToken(t.Context(), slug, "tests", "")
	if err != nil {
		t.Fatalf("CreateAPIToken(%s): %v", slug, err)
	}
	return secret.Reveal()
}
