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
	// The search index is a table on SQLite (FTS5: a virtual table and its
	// shadow tables) and an index on PostgreSQL: both are left out here, and
	// checked to exist below.
	liteDB, pgDB := storetest.OpenSQLite(t), storetest.OpenPostgres(t)
	lite := columns(t, liteDB,
		`SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
		 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%'
		   AND NOT EXISTS (SELECT 1 FROM sqlite_master v WHERE v.type = 'table' AND v.sql LIKE 'CREATE VIRTUAL TABLE%'
		                   AND m.name LIKE v.name || '\_%' ESCAPE '\')`)
	pg := columns(t, pgDB,
		"SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'")
	for _, c := range []struct {
		db    *store.DB
		query string
	}{
		{liteDB, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'users_fts' AND sql LIKE '%fts5%trigram%'"},
		{pgDB, "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'users_search' AND indexdef LIKE '%gin_trgm_ops%'"},
	} {
		var n int
		if err := c.db.SQL().QueryRowContext(context.Background(), c.query).Scan(&n); err != nil || n != 1 {
			t.Errorf("%s: the trigram search index is missing (%d, %v)", c.db.Dialect(), n, err)
		}
	}
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
