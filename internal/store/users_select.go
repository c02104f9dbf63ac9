package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/roster-dev/roster/internal/roster"
)

// Whole filtered sets, for bulk actions and exports (SPEC "Bulk actions":
// "bulk actions must work on the whole filtered set, not just the visible
// page"): ids in id order, in batches, then the users of a batch.

// UserIDs returns the ids of the organization's users matching f (its
// search and filters; its sort, cursor and limit are ignored), in id order,
// greater than afterID, at most limit of them. today is the organization's
// date, for statuses. Walk a whole set by passing the last id returned as
// the next afterID until fewer than limit come back.
func (q *q) UserIDs(ctx context.Context, orgID int64, f roster.UserFilter, today roster.Date, afterID int64, limit int) ([]int64, error) {
	if limit <= 0 {
		return nil, nil
	}
	// The side with fewer candidates drives, as for a listing; the filters'
	// side walks users_org_id, which holds the filtered columns, in id order.
	mode, _, err := q.chooseDriver(ctx, orgID, f, today)
	if err != nil {
		return nil, err
	}
	switch {
	case len(searchWords(f.Query)) == 0:
		mode = searchScan
	case mode == searchIntersect:
		// Batches resume by FTS rowid (below), which an intersection,
		// computed whole each time, would not.
		mode = searchIndex
	}
	uq, err := q.filterQuery(ctx, orgID, f, today, mode)
	if err != nil {
		return nil, err
	}
	if mode == searchScan && q.d == SQLite {
		uq.from += " INDEXED BY users_org_id"
	}
	// On SQLite with a search, the FTS table's rowid is the id: it serves
	// both the order and the bound, so each batch resumes where the last
	// one stopped instead of collecting every match again.
	idCol := "u.id"
	if strings.HasPrefix(uq.from, "users_fts ") {
		idCol = "f.rowid"
	}
	uq.w.add(idCol+" > ?", afterID)
	cond, args := uq.w.sql()
	args = append(args, limit)
	rows, err := q.queryOn(ctx, q.ex, fmt.Sprintf("SELECT u.id FROM %s WHERE %s ORDER BY %s LIMIT $%d",
		uq.from, cond, idCol, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: user ids of org %d: %w", orgID, err)
	}
	defer rows.Close()
	ids := make([]int64, 0, min(limit, 10000))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: user ids of org %d: %w", orgID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: user ids of org %d: %w", orgID, err)
	}
	return ids, nil
}

// UsersByIDs returns the organization's users with these ids, in id order.
// Ids of missing users and of other organizations' users are left out
// without error: a bulk action reports what it did to the ones it found.
func (q *q) UsersByIDs(ctx context.Context, orgID int64, ids []int64) ([]*roster.User, error) {
	if len(ids) == 0 {
		return []*roster.User{}, nil
	}
	var rows *sql.Rows
	var err error
	if q.d == Postgres {
		rows, err = q.ex.QueryContext(ctx,
			"SELECT "+userColumns+" FROM users WHERE org_id = $1 AND id = ANY($2) ORDER BY id", orgID, ids)
	} else {
		list, _ := json.Marshal(ids)
		rows, err = q.ex.QueryContext(ctx,
			"SELECT "+userColumns+" FROM users WHERE org_id = $1 AND id IN (SELECT value FROM json_each($2)) ORDER BY id", orgID, string(list))
	}
	if err != nil {
		return nil, fmt.Errorf("store: users by id in org %d: %w", orgID, err)
	}
	defer rows.Close()
	out := make([]*roster.User, 0, len(ids))
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users by id in org %d: %w", orgID, err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users by id in org %d: %w", orgID, err)
	}
	return out, nil
}
