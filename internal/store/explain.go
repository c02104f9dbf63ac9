package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Explained collects the plans of the statements a listing or a count runs,
// for benchmarks that print them (PERF-NOTES: "let the benchmarks print the
// plans they get", so a lost index shows).
type Explained struct {
	mu    sync.Mutex
	plans []string
}

type explainKey struct{}

// WithExplain returns a context under which ListUsers, CountByStatus and
// UserIDs also explain each statement they run (on PostgreSQL with
// EXPLAIN ANALYZE: the statement runs twice), into the returned Explained.
func WithExplain(ctx context.Context) (context.Context, *Explained) {
	e := &Explained{}
	return context.WithValue(ctx, explainKey{}, e), e
}

// String is every statement explained, with its plan.
func (e *Explained) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.plans, "\n")
}

// queryOn runs a read on ex (the pool, or a transaction holding planner
// settings), explaining it first when ctx asks for it.
func (q *q) queryOn(ctx context.Context, ex execer, query string, args ...any) (*sql.Rows, error) {
	q.explain(ctx, ex, query, args)
	return ex.QueryContext(ctx, query, args...)
}

func (q *q) queryRowOn(ctx context.Context, ex execer, query string, args ...any) *sql.Row {
	q.explain(ctx, ex, query, args)
	return ex.QueryRowContext(ctx, query, args...)
}

func (q *q) explain(ctx context.Context, ex execer, query string, args []any) {
	e, ok := ctx.Value(explainKey{}).(*Explained)
	if !ok {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n  args %v\n", strings.Join(strings.Fields(query), " "), args)
	if err := q.writePlan(ctx, ex, &b, query, args); err != nil {
		fmt.Fprintf(&b, "  (no plan: %v)\n", err)
	}
	// And how long it takes, rows read to the end.
	start := time.Now()
	if rows, err := ex.QueryContext(ctx, query, args...); err == nil {
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		fmt.Fprintf(&b, "  (%d rows in %v)\n", n, time.Since(start).Round(10*time.Microsecond))
	}
	e.mu.Lock()
	e.plans = append(e.plans, b.String())
	e.mu.Unlock()
}

func (q *q) writePlan(ctx context.Context, ex execer, b *strings.Builder, query string, args []any) error {
	if q.d == Postgres {
		rows, err := ex.QueryContext(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			fmt.Fprintf(b, "  %s\n", line)
		}
		return rows.Err()
	}
	rows, err := ex.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	depth := map[int]int{}
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return err
		}
		depth[id] = depth[parent] + 1
		fmt.Fprintf(b, "  %s%s\n", strings.Repeat("  ", depth[id]-1), detail)
	}
	return rows.Err()
}
