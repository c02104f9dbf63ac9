package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// auditWorld is two organizations with the same people and the same kinds
// of events, so a filter that forgets org_id returns the other's events.
type auditWorld struct {
	acme, other *roster.Org
	ann, bob    *roster.User // acme's; bob is removed after acting
	cat         *roster.User
	otherAnn    *roster.User
	// ids of acme's events by a short name
	ev map[string]int64
}

func makeAuditWorld(t *testing.T, db *store.DB) *auditWorld {
	t.Helper()
	w := &auditWorld{ev: map[string]int64{}}
	w.acme, w.other = MakeOrg(t, db, "acme"), MakeOrg(t, db, "other")
	w.ann = MakeUser(t, db, w.acme, "ann@acme.example", roster.Permissions(0).With(roster.ManageUsers))
	w.bob = MakeUser(t, db, w.acme, "bob@acme.example", 0)
	w.cat = MakeUser(t, db, w.acme, "cat@acme.example", 0)
	w.otherAnn = MakeUser(t, db, w.other, "ann@acme.example", roster.Permissions(0).With(roster.ManageUsers))
	otherBob := MakeUser(t, db, w.other, "bob@acme.example", 0)
	otherCat := MakeUser(t, db, w.other, "cat@acme.example", 0)

	type ev struct {
		name          string
		actor         *roster.User // nil: the operator
		action        string
		target        *roster.User
		at            time.Duration
		before, after string
	}
	events := []ev{
		{"create", nil, "org.create", nil, 0, "", `{"slug":"acme"}`},
		{"inviteBob", w.ann, "user.invite", w.bob, time.Hour, "", `{"email":"bob@acme.example","expiration_date":null}`},
		{"inviteCat", w.ann, "user.invite", w.cat, 24 * time.Hour, "", `{"email":"cat@acme.example"}`},
		{"expireBob", w.ann, "user.bulk_expire", w.bob, 48 * time.Hour, `{"expiration_date":null}`, `{"expiration_date":"2026-11-25"}`},
		{"bobEditsCat", w.bob, "user.update", w.cat, 72 * time.Hour, `{"first_name":"C"}`, `{"first_name":"Cat"}`},
		{"removeBob", w.ann, "user.remove", w.bob, 72*time.Hour + time.Minute, `{"email":"bob@acme.example"}`, ""},
	}
	mirror := map[*roster.User]*roster.User{w.ann: w.otherAnn, w.bob: otherBob, w.cat: otherCat}
	for _, e := range events {
		for _, org := range []*roster.Org{w.acme, w.other} {
			a := &store.AuditEvent{OrgID: org.ID, Actor: "operator (CLI)", Action: e.action, Target: org.Slug,
				Before: e.before, After: e.after, CreatedAt: t0.Add(e.at)}
			actor, target := e.actor, e.target
			if org == w.other {
				actor, target = mirror[actor], mirror[target]
			}
			if actor != nil {
				a.ActorUserID, a.Actor = actor.ID, actor.Email
			}
			if target != nil {
				a.TargetUserID, a.Target = target.ID, target.Email
			}
			if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.Audit(ctx, a) }); err != nil {
				t.Fatal(err)
			}
			if org == w.acme {
				w.ev[e.name] = a.ID
			}
		}
	}
	// An action only the other organization has, for the action list.
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error {
		return tx.Audit(ctx, &store.AuditEvent{OrgID: w.other.ID, Actor: "x", Action: "user.only_other", CreatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	// bob's account goes, his events stay (SPEC "Signing in and leaving").
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.DeleteUser(ctx, w.acme.ID, w.bob.ID) }); err != nil {
		t.Fatal(err)
	}
	return w
}

// auditAll walks every page of a filtered listing and returns the event
// ids in the order met, failing on an event seen twice or out of order.
func auditAll(t *testing.T, db *store.DB, orgID int64, f store.AuditFilter) []int64 {
	t.Helper()
	var ids []int64
	seen := map[int64]bool{}
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("AuditLog(%+v): more than 1000 pages; the cursor does not advance", f)
		}
		p, err := db.AuditLog(t.Context(), orgID, f)
		if err != nil {
			t.Fatalf("AuditLog(%+v) = %v", f, err)
		}
		for _, e := range p.Events {
			if e.OrgID != orgID {
				t.Errorf("AuditLog(org %d, %+v) returned event %d of org %d", orgID, f, e.ID, e.OrgID)
			}
			if seen[e.ID] {
				t.Errorf("AuditLog(%+v): event %d on two pages", f, e.ID)
			}
			if len(ids) > 0 && e.ID >= ids[len(ids)-1] {
				t.Errorf("AuditLog(%+v): event %d after %d, want newest (highest id) first", f, e.ID, ids[len(ids)-1])
			}
			seen[e.ID] = true
			ids = append(ids, e.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		if len(p.Events) == 0 {
			t.Fatalf("AuditLog(%+v): an empty page with a next cursor", f)
		}
		f.Cursor = p.NextCursor
	}
}

func testAuditLogFilters(t *testing.T, db *store.DB) {
	w := makeAuditWorld(t, db)
	ids := func(names ...string) []int64 {
		var out []int64
		for _, n := range names {
			out = append(out, w.ev[n])
		}
		slices.Sort(out)
		slices.Reverse(out)
		return out
	}
	acme := map[int64]bool{}
	for _, id := range w.ev {
		acme[id] = true
	}
	day := func(d int) time.Time { return time.Date(2026, 11, 23+d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		want []int64
	}{
		{"no filter", store.AuditFilter{}, ids("create", "inviteBob", "inviteCat", "expireBob", "bobEditsCat", "removeBob")},
		{"actor by email", store.AuditFilter{ActorEmail: "ann@acme.example"}, ids("inviteBob", "inviteCat", "expireBob", "removeBob")},
		{"actor by id", store.AuditFilter{ActorUserID: w.ann.ID}, ids("inviteBob", "inviteCat", "expireBob", "removeBob")},
		{"removed actor by email", store.AuditFilter{ActorEmail: "bob@acme.example"}, ids("bobEditsCat")},
		{"actor nobody knows", store.AuditFilter{ActorEmail: "zed@acme.example"}, nil},
		{"actor of the other org by id", store.AuditFilter{ActorUserID: w.otherAnn.ID}, nil},
		{"actor email and another id", store.AuditFilter{ActorEmail: "ann@acme.example", ActorUserID: w.cat.ID}, nil},
		{"operator", store.AuditFilter{ByOperator: true}, ids("create")},
		{"target by email", store.AuditFilter{Target: "bob@acme.example"}, ids("inviteBob", "expireBob", "removeBob")},
		{"target by id", store.AuditFilter{TargetID: w.cat.ID}, ids("inviteCat", "bobEditsCat")},
		{"action", store.AuditFilter{Action: "user.invite"}, ids("inviteBob", "inviteCat")},
		{"bulk action", store.AuditFilter{Action: "user.bulk_expire"}, ids("expireBob")},
		{"action only the other org has", store.AuditFilter{Action: "user.only_other"}, nil},
		{"action and target", store.AuditFilter{Action: "user.invite", Target: "cat@acme.example"}, ids("inviteCat")},
		{"actor and target", store.AuditFilter{ActorEmail: "ann@acme.example", TargetID: w.bob.ID}, ids("inviteBob", "expireBob", "removeBob")},
		{"from", store.AuditFilter{From: day(2)}, ids("expireBob", "bobEditsCat", "removeBob")},
		{"to is exclusive", store.AuditFilter{To: day(1)}, ids("create", "inviteBob")},
		{"from and to", store.AuditFilter{From: day(1), To: day(3)}, ids("inviteCat", "expireBob")},
		{"everything at once", store.AuditFilter{ActorUserID: w.ann.ID, Target: "bob@acme.example", Action: "user.remove", From: day(3), To: day(4)}, ids("removeBob")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 50} {
				f := tc.f
				f.Limit = limit
				if got := auditAll(t, db, w.acme.ID, f); !slices.Equal(got, tc.want) {
					t.Errorf("AuditLog(acme, %+v) walked = %v, want %v", f, got, tc.want)
				}
			}
			// The same filter on the other organization never shows acme's.
			f := tc.f
			f.Limit = 50
			for _, id := range auditAll(t, db, w.other.ID, f) {
				if acme[id] {
					t.Errorf("AuditLog(other, %+v) returned acme's event %d", f, id)
				}
			}
		})
	}

	t.Run("a full page with nothing after has no cursor", func(t *testing.T) {
		p, err := db.AuditLog(t.Context(), w.acme.ID, store.AuditFilter{Action: "user.invite", Limit: 2})
		if err != nil || len(p.Events) != 2 || p.NextCursor != "" {
			t.Errorf("AuditLog(2 invites, limit 2) = %d events, cursor %q, %v; want 2 and no cursor", len(p.Events), p.NextCursor, err)
		}
	})

	t.Run("bad cursors", func(t *testing.T) {
		userCursor := ""
		if pg, err := db.ListUsers(t.Context(), w.acme.ID, roster.UserFilter{Limit: 1}, roster.DateOf(t0)); err == nil {
			userCursor = pg.NextCursor
		}
		for _, c := range []string{"garbage", "eyJpZCI6LTF9", userCursor} {
			if c == "" {
				continue
			}
			_, err := db.AuditLog(t.Context(), w.acme.ID, store.AuditFilter{Cursor: c})
			var ve *roster.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Fields["cursor"], "not valid") {
				t.Errorf("AuditLog(cursor %q) = %v, want a ValidationError on cursor", c, err)
			}
		}
	})

	t.Run("actions", func(t *testing.T) {
		got, err := db.AuditActions(t.Context(), w.acme.ID)
		want := []string{"org.create", "user.bulk_expire", "user.invite", "user.remove", "user.update"}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("AuditActions(acme) = %v, %v; want %v", got, err, want)
		}
		empty := MakeOrg(t, db, "empty")
		if got, err := db.AuditActions(t.Context(), empty.ID); err != nil || len(got) != 0 {
			t.Errorf("AuditActions(empty org) = %v, %v; want none", got, err)
		}
	})
}

// testAuditLogPlans fills an organization with a bulk action's worth of
// events (ROSTER_AUDIT_PLAN_EVENTS, default 20,000; an organization may hold
// millions) and checks that every filtered page is read through an index,
// walked in id order with no sort of the matches, and logs the plans.
func testAuditLogPlans(t *testing.T, db *store.DB) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("ROSTER_AUDIT_PLAN_EVENTS")); err == nil && v > 0 {
		n = v
	}
	org, other := MakeOrg(t, db, "big"), MakeOrg(t, db, "small")
	admin := MakeUser(t, db, org, "admin@big.example", roster.Permissions(0).With(roster.ManageUsers))
	target := MakeUser(t, db, org, "target@big.example", 0)
	// The small organization's events come first: walking the table from
	// its newest row to find them would pass every one of big's.
	var smallEvs []*store.AuditEvent
	for i := range 200 {
		smallEvs = append(smallEvs, &store.AuditEvent{OrgID: other.ID, Actor: "x", Action: "user.invite", Target: fmt.Sprintf("s%d@small.example", i), CreatedAt: t0})
	}
	if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.AuditMany(ctx, smallEvs) }); err != nil {
		t.Fatal(err)
	}
	const chunk = 5000
	for start := 0; start < n; start += chunk {
		var evs []*store.AuditEvent
		for i := start; i < min(n, start+chunk); i++ {
			e := &store.AuditEvent{OrgID: org.ID, ActorUserID: admin.ID, Actor: admin.Email, Action: "user.bulk_expire",
				TargetUserID: int64(1_000_000 + i), Target: fmt.Sprintf("u%d@big.example", i),
				Before: `{"expiration_date":null}`, After: `{"expiration_date":"2026-11-23"}`, CreatedAt: t0.Add(time.Duration(i) * time.Second)}
			if i%100 == 0 {
				e.Action, e.TargetUserID, e.Target = "user.invite", target.ID, target.Email
			}
			evs = append(evs, e)
		}
		if err := tx(t, db, func(ctx context.Context, tx *store.Tx) error { return tx.AuditMany(ctx, evs) }); err != nil {
			t.Fatal(err)
		}
	}
	db.Optimize(t.Context())

	mid := t0.Add(time.Duration(n/2) * time.Second)
	for _, tc := range []struct {
		name  string
		org   *roster.Org
		f     store.AuditFilter
		sorts bool // a time range sorts the events it holds
	}{
		{"unfiltered", org, store.AuditFilter{}, false},
		{"small org behind a big one", other, store.AuditFilter{}, false},
		{"small org, action", other, store.AuditFilter{Action: "user.invite"}, false},
		{"common action", org, store.AuditFilter{Action: "user.bulk_expire"}, false},
		{"rare action", org, store.AuditFilter{Action: "user.invite"}, false},
		{"actor", org, store.AuditFilter{ActorUserID: admin.ID}, false},
		{"target email", org, store.AuditFilter{Target: target.Email}, false},
		{"target id", org, store.AuditFilter{TargetID: target.ID}, false},
		{"rare action and actor", org, store.AuditFilter{Action: "user.invite", ActorUserID: admin.ID}, false},
		{"one hour", org, store.AuditFilter{From: mid, To: mid.Add(time.Hour)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.Limit = 50
			first, err := db.AuditLog(t.Context(), tc.org.ID, f)
			if err != nil || len(first.Events) == 0 || first.NextCursor == "" {
				t.Fatalf("AuditLog(%+v) = %v; want a full first page", f, err)
			}
			f.Cursor = first.NextCursor
			ctx, ex := store.WithExplain(t.Context())
			if _, err := db.AuditLog(ctx, tc.org.ID, f); err != nil {
				t.Fatal(err)
			}
			plan := ex.String()
			t.Logf("%s, page 2, %d events in the big org:\n%s", tc.name, n, plan)
			bad := []string{"Seq Scan", "SCAN audit_events"} // SQLite: SCAN reads all, SEARCH a range
			if !tc.sorts {
				bad = append(bad, "Sort", "TEMP B-TREE")
			}
			for _, b := range bad {
				if strings.Contains(plan, b) {
					t.Errorf("plan of %s holds %q, want an index walked in id order:\n%s", tc.name, b, plan)
				}
			}
			// PostgreSQL may walk the primary key back from the cursor when
			// most rows match: as cheap, and bounded by the check below.
			if !strings.Contains(plan, "Index Scan") && !strings.Contains(plan, "SEARCH audit_events USING") {
				t.Errorf("plan of %s uses no index:\n%s", tc.name, plan)
			}
			// PostgreSQL says how many rows it read and threw away.
			for _, line := range strings.Split(plan, "\n") {
				if _, after, ok := strings.Cut(line, "Rows Removed by Filter: "); ok {
					if removed, _ := strconv.Atoi(strings.TrimSpace(after)); removed > 1000 {
						t.Errorf("plan of %s reads %d rows it does not return:\n%s", tc.name, removed, plan)
					}
				}
			}
		})
	}
}
