package admin

import (
	"context"
	"slices"

	"github.com/roster-dev/roster/internal/roster"
)

// StatusCounts counts the actor's organization's users by status, exactly,
// in one call (SPEC "Filter and search": the dashboard shows the count per
// status). Every status is present in the map.
func (s *Service) StatusCounts(ctx context.Context, a *roster.Actor) (map[roster.Status]int, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	counts, err := s.db.CountByStatus(ctx, a.Org.ID, a.Org.Today(s.now()))
	return counts, wrap("count users by status", err)
}

// BulkCount is how many users a bulk request selects, exactly as Bulk
// counts them: the distinct ids given, or every user matching the filter
// now. A confirmation page states it, and for remove it is the Confirm that
// Bulk expects.
func (s *Service) BulkCount(ctx context.Context, a *roster.Actor, req BulkRequest) (int, error) {
	if err := s.authorize(a); err != nil {
		return 0, err
	}
	if req.Filter == nil {
		ids := slices.Clone(req.IDs)
		slices.Sort(ids)
		return len(slices.Compact(ids)), nil
	}
	n, err := s.db.CountUsersMatching(ctx, a.Org.ID, selectionFilter(*req.Filter), a.Org.Today(s.now()))
	return n, wrap("count bulk selection", err)
}
