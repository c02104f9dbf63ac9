package store_test

import (
	"testing"

	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestStatisticsForbidSkipScan: every refresh of SQLite's statistics
// (Analyze after a demo fill, AnalyzeUsers after a large import, Optimize
// after migrations) leaves each users index marked noskipscan, once. At a
// million users in one organization, fresh statistics (with their stat4
// samples) led SQLite to skip-scan the sort index for the page after a
// cursor and sort the result: 100-225 ms instead of 4-14 ms (measured with
// scripts/bench-dashboard); a small database does not reproduce that plan,
// so this checks the statistics themselves.
func TestStatisticsForbidSkipScan(t *testing.T) {
	ctx := t.Context()
	db := storetest.OpenSQLite(t)
	org := storetest.MakeOrg(t, db, "big")
	storetest.SeedUsers(t, db, org.ID, 500, "s")
	check := func(after string) {
		t.Helper()
		var indexes, marked, twice int
		err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*),
			COALESCE(SUM(stat LIKE '%noskipscan%'), 0), COALESCE(SUM(stat LIKE '%noskipscan%noskipscan%'), 0)
			FROM sqlite_stat1 WHERE tbl = 'users' AND idx IS NOT NULL`).Scan(&indexes, &marked, &twice)
		if err != nil {
			t.Fatal(err)
		}
		if indexes == 0 || marked != indexes || twice != 0 {
			t.Errorf("after %s: %d users indexes in the statistics, %d marked noskipscan, %d twice", after, indexes, marked, twice)
		}
	}
	if err := db.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	check("Analyze")
	if err := db.AnalyzeUsers(ctx); err != nil {
		t.Fatal(err)
	}
	check("AnalyzeUsers")
	if _, err := db.SQL().ExecContext(ctx, "ANALYZE users"); err != nil { // statistics rewritten, unmarked
		t.Fatal(err)
	}
	db.Optimize(ctx)
	check("Optimize")
}
