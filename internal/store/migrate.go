package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// migration is one numbered SQL file.
type migration struct {
	version int
	name    string
	sql     string
}

// migrationLockID is the PostgreSQL advisory lock held while migrating, so
// several instances starting at once on one database migrate it once.
const migrationLockID = 0x526f73746572 // "Roster"

func (db *DB) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(db.dialect))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration file %s is not named NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migrations must be numbered 1, 2, 3…; found %04d at position %d", m.version, i+1)
		}
	}
	return ms, nil
}

// PendingMigrations returns how many migrations have not been applied yet.
func (db *DB) PendingMigrations(ctx context.Context) (int, error) {
	ms, err := db.migrations()
	if err != nil {
		return 0, err
	}
	applied, err := db.appliedVersion(ctx, db.w)
	if err != nil {
		return 0, err
	}
	if applied > len(ms) {
		return 0, fmt.Errorf("store: the database schema is at version %d, newer than this binary knows (%d); run a newer roster", applied, len(ms))
	}
	n := len(ms) - applied
	if pending, err := db.riverPending(ctx); err != nil {
		return 0, err
	} else if pending {
		n++
	}
	return n, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (db *DB) appliedVersion(ctx context.Context, ex queryer) (int, error) {
	create := "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"
	if db.dialect == Postgres {
		create = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
	}
	if _, err := ex.ExecContext(ctx, create); err != nil {
		return 0, fmt.Errorf("store: create schema_migrations: %w", err)
	}
	var v sql.NullInt64
	if err := ex.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Migrate applies every pending migration in order, each in its own
// transaction, and returns how many it applied. On PostgreSQL it holds an
// advisory lock meanwhile, so concurrent instances wait for one another.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	n, err := db.migrate(ctx)
	if err == nil {
		// River's tables after ours; on SQLite only once the migrating
		// connection is back (it is the only writing one). Concurrent
		// PostgreSQL instances may race here; River's migrations run in
		// transactions and a loser sees the versions already applied.
		if pending, perr := db.riverPending(ctx); perr != nil {
			err = perr
		} else if pending {
			err = db.migrateRiver(ctx)
			n++
		}
	}
	if n > 0 {
		// After the migrating connection is back in the pool: on SQLite it
		// is the only writing connection.
		db.Optimize(ctx)
	}
	return n, err
}

func (db *DB) migrate(ctx context.Context) (int, error) {
	ms, err := db.migrations()
	if err != nil {
		return 0, err
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if db.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
			return 0, fmt.Errorf("store: migrate: take advisory lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID)
	}
	applied, err := db.appliedVersion(ctx, conn)
	if err != nil {
		return 0, err
	}
	if applied > len(ms) {
		return 0, fmt.Errorf("store: the database schema is at version %d, newer than this binary knows (%d); run a newer roster", applied, len(ms))
	}
	n := 0
	for _, m := range ms[applied:] {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return n, fmt.Errorf("store: migration %04d: %w", m.version, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return n, fmt.Errorf("store: migration %04d_%s: %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", m.version, m.name, utc(time.Now())); err != nil {
			tx.Rollback()
			return n, fmt.Errorf("store: record migration %04d: %w", m.version, err)
		}
		if err := tx.Commit(); err != nil {
			return n, fmt.Errorf("store: migration %04d: commit: %w", m.version, err)
		}
		db.log.Info("Applied migration", "version", m.version, "name", m.name)
		n++
	}
	return n, nil
}

// Optimize refreshes the planner's statistics: run after migrations and large
// imports (PERF-NOTES: without statistics an exact lookup can scan).
func (db *DB) Optimize(ctx context.Context) {
	stmt := "ANALYZE"
	if db.dialect == SQLite {
		stmt = "PRAGMA optimize=0x10002"
	}
	if _, err := db.w.ExecContext(ctx, stmt); err != nil {
		db.log.Warn("Refresh planner statistics", "err", err)
	}
	if err := db.noSkipScan(ctx); err != nil {
		db.log.Warn("Refresh planner statistics", "err", err)
	}
}

// noSkipScan keeps SQLite from skip-scanning the users indexes, after each
// refresh of its statistics (which rewrites them). With one organization
// holding most users, the statistics say org_id hardly narrows anything,
// and the planner then walked a sort index "for any org_id" to use the
// keyset bound, sorting the result: the page after a cursor took 100-225 ms
// instead of 1-13 ms at a million users. The listing's plans all start
// with the organization; none needs a skip-scan.
func (db *DB) noSkipScan(ctx context.Context) error {
	if db.dialect != SQLite {
		return nil
	}
	var have int
	if err := db.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").Scan(&have); err != nil || have == 0 {
		return err
	}
	if _, err := db.w.ExecContext(ctx, "UPDATE sqlite_stat1 SET stat = stat || ' noskipscan' WHERE tbl = 'users' AND stat NOT LIKE '%noskipscan%'"); err != nil {
		return fmt.Errorf("store: statistics without skip-scan: %w", err)
	}
	// Reload the statistics just written.
	if _, err := db.w.ExecContext(ctx, "ANALYZE sqlite_schema"); err != nil {
		return fmt.Errorf("store: statistics without skip-scan: %w", err)
	}
	return nil
}

// MigrationFS exposes the embedded migrations (for tests that compare the
// dialects or fingerprint the schema).
func MigrationFS() fs.FS { return migrationFS }

// SchemaVersion is the number of the last migration applied; 0 for an
// empty database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	return db.appliedVersion(ctx, db.w)
}
