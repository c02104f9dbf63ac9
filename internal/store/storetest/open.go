// Package storetest holds the store's contract suite, run against SQLite and
// PostgreSQL alike, and the helpers every package's tests use to get a fresh
// migrated database of either kind.
package storetest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/roster-dev/roster/internal/store"
)

// DefaultPostgresURL is used when ROSTER_TEST_POSTGRES is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Backend opens a fresh migrated database of one kind for a test.
type Backend struct {
	Name string
	Open func(t testing.TB) *store.DB
	// URL returns a fresh migrated database's URL and data directory
	// without opening it, for tests that start roster as a child process.
	URL func(t testing.TB) (dbURL, dataDir string)
}

// Backends returns SQLite and PostgreSQL. Tests loop over it so that both
// run in the same `go test ./...`.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", Open: OpenSQLite, URL: SQLiteURL},
		{Name: "postgres", Open: OpenPostgres, URL: PostgresURL},
	}
}

// OpenSQLite returns a migrated SQLite database in a fresh temp directory.
func OpenSQLite(t testing.TB) *store.DB {
	t.Helper()
	u, dir := SQLiteURL(t)
	return open(t, u, dir)
}

// SQLiteURL returns a migrated SQLite database's URL in a fresh directory.
func SQLiteURL(t testing.TB) (string, string) {
	t.Helper()
	dir := t.TempDir()
	u := "sqlite:" + filepath.Join(dir, "roster.db")
	db := open(t, u, dir)
	db.Close()
	return u, dir
}

func open(t testing.TB, u, dir string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{URL: u, DataDir: dir})
	if err != nil {
		t.Fatalf("store.Open(%s): %v", u, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// OpenPostgres returns a fresh PostgreSQL database cloned from a migrated
// template; it is dropped when the test ends. Without a server it skips the
// test loudly, and under CI=true it fails it.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	u, dir := PostgresURL(t)
	db, err := store.Open(context.Background(), store.Options{URL: u, DataDir: dir})
	if err != nil {
		t.Fatalf("store.Open(postgres): %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var (
	pgOnce     sync.Once
	pgAdmin    *sql.DB
	pgTemplate string
	pgErr      error
	pgSeq      atomic.Int64
)

// PostgresURL creates a fresh database from the migrated template and
// returns its URL; it is dropped when the test ends.
func PostgresURL(t testing.TB) (string, string) {
	t.Helper()
	base := os.Getenv("ROSTER_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgresURL
	}
	pgOnce.Do(func() { pgAdmin, pgTemplate, pgErr = prepareTemplate(base) })
	if pgErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required under CI=true: %v", redact(base), pgErr)
		}
		t.Skipf("\n\n*** SKIPPING PostgreSQL tests: %v\n*** Start PostgreSQL or set ROSTER_TEST_POSTGRES.\n\n", pgErr)
	}
	name := fmt.Sprintf("roster_t_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, pgSeq.Add(1))
	if _, err := pgAdmin.Exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, pgTemplate)); err != nil {
		t.Fatalf("create test database from template: %v", err)
	}
	t.Cleanup(func() {
		pgAdmin.Exec(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return withDB(base, name), t.TempDir()
}

func withDB(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "the configured URL"
}

// prepareTemplate makes (once per migration set, shared by concurrent test
// processes) a database holding the migrated schema to clone.
func prepareTemplate(base string) (*sql.DB, string, error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return nil, "", fmt.Errorf("cannot reach PostgreSQL: %w", err)
	}
	admin.SetMaxOpenConns(4)
	h := sha256.New()
	fs.WalkDir(store.MigrationFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, "postgres") {
			b, _ := fs.ReadFile(store.MigrationFS(), p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	// River's migrations come with its module: its version is part of the schema.
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/riverqueue/river" {
				h.Write([]byte(d.Version))
			}
		}
	}
	name := "roster_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]
	// Concurrent test binaries (go test runs packages in parallel) take
	// turns: one builds the template, the others find it.
	conn, err := admin.Conn(context.Background())
	if err != nil {
		return nil, "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_lock(7426)"); err != nil {
		return nil, "", err
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock(7426)")
	var exists bool
	if err := conn.QueryRowContext(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return nil, "", err
	}
	if exists {
		// A template made by an older build (River upgraded, say) is stale:
		// rebuild it rather than hand tests an outdated schema.
		if db, err := store.Open(context.Background(), store.Options{URL: withDB(base, name)}); err == nil {
			n, err := db.PendingMigrations(context.Background())
			db.Close()
			if err == nil && n == 0 {
				return admin, name, nil
			}
		}
		conn.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	building := name + "_build"
	conn.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
	if _, err := conn.ExecContext(context.Background(), "CREATE DATABASE "+building); err != nil {
		return nil, "", err
	}
	db, err := store.Open(context.Background(), store.Options{URL: withDB(base, building)})
	if err != nil {
		return nil, "", err
	}
	_, err = db.Migrate(context.Background())
	db.Close()
	if err != nil {
		return nil, "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.ExecContext(context.Background(), "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return nil, "", err
	}
	return admin, name, nil
}
