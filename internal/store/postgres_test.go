package store_test

import (
	"encoding/json"
	"testing"

	"github.com/roster-dev/roster/internal/store/storetest"
)

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.OpenPostgres)
}

// TestPostgresKnowsPermissionShares: the planner's estimate of how many hold
// a permission follows the data (migration 0008's statistics). Without them
// it took the test for one almost every row passes and counted "Manage
// Curations, active" by scanning the table at a million users.
func TestPostgresKnowsPermissionShares(t *testing.T) {
	t.Parallel()
	db := storetest.OpenPostgres(t)
	ctx := t.Context()
	org := storetest.MakeOrg(t, db, "acme")
	storetest.SeedUsers(t, db, org.ID, 5000, "seed")
	// 1 in 50 manage curations.
	if _, err := db.SQL().ExecContext(ctx, "UPDATE users SET permissions = 4 WHERE org_id = $1 AND id % 50 = 0", org.ID); err != nil {
		t.Fatal(err)
	}
	db.Optimize(ctx)
	var plan string
	if err := db.SQL().QueryRowContext(ctx,
		"EXPLAIN (FORMAT JSON) SELECT 1 FROM users u WHERE u.org_id = $1 AND (u.permissions & 4) <> 0", org.ID).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var p []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := json.Unmarshal([]byte(plan), &p); err != nil || len(p) == 0 {
		t.Fatalf("plan %s: %v", plan, err)
	}
	if est := p[0].Plan.Rows; est < 50 || est > 300 {
		t.Errorf("estimated %.0f holders of Manage Curations; 100 hold it", est)
	}
}
