// Package store holds Roster's SQL for SQLite and PostgreSQL: one file per
// aggregate, migrations per dialect, and the mapping of driver errors to
// roster errors. Every method that reads or writes tenant data takes the
// organization's ID and puts it in the WHERE clause.
//
// It imports roster and the database drivers; never admin, web or api.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names the SQL flavour of a database.
type Dialect string

// The two supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is Roster's database. Reads go through DB's methods; writes happen in a
// transaction opened with InTx.
type DB struct {
	q
	dialect Dialect
	w       *sql.DB // writes; on SQLite a single connection, so writers queue in Go, not in busy loops
	r       *sql.DB // reads; on PostgreSQL the same pool as w
	log     *slog.Logger
	url     string

	jobsOnce sync.Once
	jobs     *river.Client[*sql.Tx]
	jobsErr  error
}

// Options says which database to open.
type Options struct {
	// URL is empty for the default SQLite file in DataDir, "postgres://…"
	// (or "postgresql://…") for PostgreSQL, or "sqlite:PATH" for another file.
	URL     string
	DataDir string
	Logger  *slog.Logger
}

// ParseURL checks a database URL and returns its dialect and, for SQLite,
// the file path. An empty URL means the SQLite file in dataDir.
func ParseURL(raw, dataDir string) (Dialect, string, error) {
	switch {
	case raw == "":
		return SQLite, filepath.Join(dataDir, "roster.db"), nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := pgx.ParseConfig(raw); err != nil {
			return "", "", fmt.Errorf("store: database URL is not a valid PostgreSQL URL: %s", redactPGError(err))
		}
		return Postgres, raw, nil
	case strings.HasPrefix(raw, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if p == "" {
			return "", "", errors.New("store: database URL sqlite: needs a file path, as in sqlite:/var/lib/roster/roster.db")
		}
		return SQLite, p, nil
	}
	scheme := raw
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		scheme = u.Scheme + "://…"
	} else if len(scheme) > 20 {
		scheme = scheme[:20] + "…"
	}
	return "", "", fmt.Errorf("store: unsupported database URL %q: use postgres://user@host:5432/dbname or sqlite:PATH (or nothing, for the SQLite file in the data directory)", scheme)
}

// redactPGError drops a password that pgx may echo back from the URL.
func redactPGError(err error) string {
	s := err.Error()
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.Index(s[i:], "@"); j >= 0 {
			s = s[:i+3] + "…" + s[i+j:]
		}
	}
	return s
}

// Open connects to the database named by o. It does not migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dialect, target, err := ParseURL(o.URL, o.DataDir)
	if err != nil {
		return nil, err
	}
	db := &DB{dialect: dialect, log: log, url: target}
	switch dialect {
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
		// busy_timeout first: the pragmas after it may already need to wait
		// for another process holding the file (PocketBase does the same).
		// mmap_size: pages are read from the file mapped in memory, shared
		// by every connection, instead of a read system call into each
		// connection's own small cache; a search at a million users looks
		// up thousands of rows (3x faster measured, PERF-NOTES).
		base := "file:" + target + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(ON)&_pragma=synchronous(NORMAL)&_pragma=mmap_size(2147483648)&_time_format=sqlite"
		if db.w, err = sql.Open("sqlite", base+"&_txlock=immediate"); err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		db.w.SetMaxOpenConns(1)
		db.w.SetConnMaxIdleTime(0)
		if db.r, err = sql.Open("sqlite", base+"&_pragma=query_only(ON)"); err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		db.r.SetMaxOpenConns(8)
	case Postgres:
		cfg, err := pgx.ParseConfig(target)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %s", redactPGError(err))
		}
		// pgx prepares each statement once per connection; after five runs
		// PostgreSQL may switch to a generic plan, made without the
		// arguments' values, for which a search term LIKE $1 could be
		// anything: the listing's plans then fell to full scans (1.3 s
		// instead of 10 ms, one request in twenty at a million users). Plan
		// every run for its own values, unless the URL says otherwise.
		if _, set := cfg.RuntimeParams["plan_cache_mode"]; !set {
			cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
		}
		db.w = stdlib.OpenDB(*cfg)
		// Idle equal to open: a pool that closes and reopens connections
		// under load (20 email workers plus requests) spends its time dialing.
		db.w.SetMaxOpenConns(40)
		db.w.SetMaxIdleConns(40)
		db.r = db.w
	}
	db.q = q{ex: db.r, d: dialect}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.w.PingContext(pingCtx); err != nil {
		db.Close()
		if dialect == SQLite {
			return nil, fmt.Errorf("store: open %s: %w (is the data directory writable?)", target, err)
		}
		return nil, fmt.Errorf("store: connect to PostgreSQL: %s", redactPGError(err))
	}
	if dialect == SQLite {
		// The WAL switch needs a write; do it now so a read-only directory
		// fails here with a clear message instead of on the first insert.
		if _, err := db.w.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: cannot write %s: %w (is the data directory writable?)", target, err)
		}
	}
	return db, nil
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes every pool.
func (db *DB) Close() error {
	var errs []error
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if db.r != nil && db.r != db.w {
		errs = append(errs, db.r.Close())
	}
	return errors.Join(errs...)
}

// SQL returns the write pool, for code that needs the raw connection (the
// job queue, the contract tests).
func (db *DB) SQL() *sql.DB { return db.w }

// Tx is a write transaction. Its methods see the transaction's own writes.
type Tx struct {
	q
	tx *sql.Tx
	db *DB
}

// SQL returns the underlying transaction, for the job queue's inserts.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// InTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise. fn must not keep tx after it returns.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", mapErr(err))
	}
	tx := &Tx{q: q{ex: sqlTx, d: db.dialect}, tx: sqlTx, db: db}
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapErr(err))
	}
	return nil
}

// execer is what both *sql.DB and *sql.Tx offer.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q holds the queries that both DB (reads) and Tx (reads inside a write) run.
type q struct {
	ex execer
	d  Dialect
	// exactTotal overrides MaxExactTotal when positive (tests, through
	// SetMaxExactTotal); transactions use the default.
	exactTotal int
	// collectPercent overrides the package's when positive (tests,
	// through SetCollectPercent).
	collectPercent int
}

// Ping checks the connection.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// utc truncates t to microseconds in UTC, the precision both databases keep,
// so a time read back compares equal to the one written.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return utc(t)
}
