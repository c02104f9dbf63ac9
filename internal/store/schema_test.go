package store_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestDialectsHaveTheSameSchema migrates both databases and compares their
// tables and columns, so a migration added to one dialect only fails here.
func TestDialectsHaveTheSameSchema(t *testing.T) {
	t.Parallel()
	lite := columns(t, storetest.OpenSQLite(t),
		"SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'")
	pg := columns(t, storetest.OpenPostgres(t),
		"SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'")
	if strings.Join(lite, "\n") != strings.Join(pg, "\n") {
		t.Errorf("schemas differ:\nsqlite only: %v\npostgres only: %v", minus(lite, pg), minus(pg, lite))
	}
	if len(lite) < 20 {
		t.Errorf("found only %d columns; the query is broken", len(lite))
	}
}

func columns(t *testing.T, db *store.DB, q string) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var tbl, col string
		if err := rows.Scan(&tbl, &col); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s.%s", tbl, col))
	}
	sort.Strings(out)
	return out
}

func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}
