package storetest

import (
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/store"
)

// SeedUsers inserts n plain users into the organization inside the
// database (no round trip per row), with emails prefix<i>@example.org for
// i in [0, n), and refreshes the planner's statistics, as after a large
// import. It is for benchmarks that need a big organization quickly.
func SeedUsers(t testing.TB, db *store.DB, orgID int64, n int, prefix string) {
	t.Helper()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var q string
	if db.Dialect() == store.Postgres {
		q = `INSERT INTO users (org_id, email, first_name, last_name, permissions, created_at, updated_at)
		     SELECT $1, $2 || i || '@example.org', 'First' || i, 'Last' || i, 0, $4, $4 FROM generate_series(0, $3 - 1) AS i`
	} else {
		q = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $3 - 1)
		     INSERT INTO users (org_id, email, first_name, last_name, permissions, created_at, updated_at)
		     SELECT $1, $2 || i || '@example.org', 'First' || i, 'Last' || i, 0, $4, $4 FROM n`
	}
	if _, err := db.SQL().ExecContext(t.Context(), q, orgID, prefix, n, at); err != nil {
		t.Fatalf("seed %d users: %v", n, err)
	}
	analyze := "ANALYZE"
	if db.Dialect() == store.SQLite {
		analyze = "PRAGMA optimize=0x10002"
	}
	if _, err := db.SQL().ExecContext(t.Context(), analyze); err != nil {
		t.Fatalf("seed: %s: %v", analyze, err)
	}
}
