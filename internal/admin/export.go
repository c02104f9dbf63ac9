package admin

import (
	"context"
	"io"
	"strings"

	"github.com/roster-dev/roster/internal/csvimport"
	"github.com/roster-dev/roster/internal/roster"
)

// ExportUsers writes the users matching f as CSV in the upload template's
// columns (email, first_name, last_name, expiration_date, permissions), so
// that the file, edited in a spreadsheet and uploaded again, changes only
// what was edited. Cells that would start a formula are neutralized. It
// returns how many users it wrote.
func (s *Service) ExportUsers(ctx context.Context, a *roster.Actor, f roster.UserFilter, w io.Writer) (int, error) {
	if err := s.authorize(a); err != nil {
		return 0, err
	}
	today := a.Org.Today(s.now())
	cw := csvimport.NewWriter(w)
	if err := cw.Write(csvimport.Columns); err != nil {
		return 0, err
	}
	n := 0
	var after int64
	rec := make([]string, len(csvimport.Columns))
	for {
		// A chunk at a time: a million users are never in memory at once.
		ids, err := s.db.UserIDs(ctx, a.Org.ID, f, today, after, 1000)
		if err != nil {
			return n, wrap("export users", err)
		}
		users, err := s.db.UsersByIDs(ctx, a.Org.ID, ids)
		if err != nil {
			return n, wrap("export users", err)
		}
		for _, u := range users {
			exp := ""
			if !u.ExpirationDate.IsZero() {
				exp = u.ExpirationDate.String()
			}
			rec[0], rec[1], rec[2], rec[3], rec[4] = u.Email, u.FirstName, u.LastName, exp, strings.Join(u.Permissions.Names(), ";")
			if err := cw.Write(rec); err != nil {
				return n, err
			}
			n++
		}
		if err := cw.Flush(); err != nil {
			return n, err
		}
		if len(ids) < 1000 {
			return n, nil
		}
		after = ids[len(ids)-1]
	}
}
