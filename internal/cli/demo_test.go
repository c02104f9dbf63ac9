package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

func TestDemo(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var dbURL, dataDir string
			if b.Name == "postgres" {
				dbURL, dataDir = storetest.PostgresURL(t)
			} else {
				dataDir = filepath.Join(t.TempDir(), "data")
			}
			vars := map[string]string{"ROSTER_DATA_DIR": dataDir, "ROSTER_DATABASE_URL": dbURL}
			if r := run(t, vars, "org", "create", "--name", "Acme", "--slug", "acme", "--user-management"); r.code != 0 {
				t.Fatalf("org create: %s", r)
			}
			if r := run(t, vars, "org", "create", "--name", "Other", "--slug", "other"); r.code != 0 {
				t.Fatalf("org create: %s", r)
			}
			const n = 3000
			r := run(t, vars, "demo", "--org", "acme", "--users", "3000", "--seed", "7")
			if r.code != 0 {
				t.Fatalf("demo: %s", r)
			}
			for _, want := range []string{"Creating 3,000 demo users in Acme", "Created 3,000 demo users in acme in"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("demo: stdout %q lacks %q", r.stdout, want)
				}
			}
			// Flags after the count, and a second run adds as many again
			// (emails already taken are made anew).
			if r := run(t, vars, "demo", "--users", "500", "--org", "acme", "--seed", "7"); r.code != 0 || !strings.Contains(r.stdout, "Created 500 demo users") {
				t.Errorf("second demo run: %s", r)
			}
			for _, bad := range [][]string{{"demo", "--org", "acme"}, {"demo", "--users", "10"}, {"demo", "--org", "acme", "--users", "-1"}} {
				if r := run(t, vars, bad...); r.code != 2 {
					t.Errorf("roster %q: %s; want exit 2", bad, r)
				}
			}
			if r := run(t, vars, "demo", "--org", "nope", "--users", "10"); r.code != 1 || !strings.Contains(r.stderr, `"nope"`) {
				t.Errorf("demo for a missing org: %s; want exit 1 naming it", r)
			}

			db, err := store.Open(ctx, store.Options{URL: dbURL, DataDir: dataDir})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			acme, err := db.OrgBySlug(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			other, _ := db.OrgBySlug(ctx, "other")
			today := acme.Today(time.Now())
			counts, err := db.CountByStatus(ctx, acme.ID, today)
			if err != nil {
				t.Fatal(err)
			}
			total := counts[roster.StatusActive] + counts[roster.StatusNotLoggedIn] + counts[roster.StatusExpired]
			if total != n+500 {
				t.Errorf("demo made %d users (%v), want %d", total, counts, n+500)
			}
			// Mixed statuses, roughly as a real roster has them.
			for st, share := range map[roster.Status]float64{roster.StatusActive: 0.4, roster.StatusNotLoggedIn: 0.2, roster.StatusExpired: 0.05} {
				if float64(counts[st]) < share*float64(total) {
					t.Errorf("%s: %d of %d, want at least %.0f%%", st, counts[st], total, 100*share)
				}
			}
			if c, _ := db.CountByStatus(ctx, other.ID, today); c[roster.StatusActive]+c[roster.StatusNotLoggedIn]+c[roster.StatusExpired] != 0 {
				t.Errorf("the other organization got users: %v", c)
			}
			ids, err := db.UserIDs(ctx, acme.ID, roster.UserFilter{}, today, 0, 10*n)
			if err != nil {
				t.Fatal(err)
			}
			users, err := db.UsersByIDs(ctx, acme.ID, ids)
			if err != nil {
				t.Fatal(err)
			}
			emails := map[string]bool{}
			var perms [5]int
			var nonLatin, accented, expiring, invited int
			for _, u := range users {
				if _, err := roster.NormalizeEmail(u.Email); err != nil || emails[u.Email] {
					t.Errorf("email %q: %v (duplicate %v)", u.Email, err, emails[u.Email])
				}
				emails[u.Email] = true
				if !strings.Contains(u.Email, "example") {
					t.Errorf("email %q is not at a reserved example domain", u.Email)
				}
				if u.FirstName == "" || u.LastName == "" {
					t.Errorf("user %s has no name", u.Email)
				}
				for _, r := range u.FirstName + u.LastName {
					if r > unicode.MaxLatin1 && !unicode.In(r, unicode.Latin) {
						nonLatin++
						break
					}
				}
				if strings.ContainsAny(u.FirstName+u.LastName, "éáíóúüöäçñłøåğşÉÅ") {
					accented++
				}
				for i, p := range roster.AllPermissions {
					if u.Permissions.Has(p) {
						perms[i]++
					}
				}
				if !u.ExpirationDate.IsZero() && today.Before(u.ExpirationDate) {
					expiring++
				}
				if !u.LastInvitedAt.IsZero() {
					invited++
					if u.InvitationCount < 1 {
						t.Errorf("user %s invited with a count of %d", u.Email, u.InvitationCount)
					}
				}
				if !u.LastLoginAt.IsZero() && u.LastLoginAt.Before(u.LastInvitedAt) {
					t.Errorf("user %s logged in (%v) before being invited (%v)", u.Email, u.LastLoginAt, u.LastInvitedAt)
				}
			}
			for name, got := range map[string]int{"non-Latin names": nonLatin, "accented names": accented, "future expiration dates": expiring,
				"invited": invited, "view_analytics": perms[1], "manage_curations": perms[2], "manage_comments": perms[3]} {
				if got < len(users)/100 {
					t.Errorf("%s: %d of %d users, want a fair share", name, got, len(users))
				}
			}
			// Demo users are searchable (the triggers followed the inserts).
			some := users[len(users)/2]
			page, err := db.ListUsers(ctx, acme.ID, roster.UserFilter{Query: some.LastName}, today)
			if err != nil || page.Total == 0 {
				t.Errorf("search %q: %v, total %d", some.LastName, err, page.Total)
			}
			// No email and no invitation job: nothing in the mailbox, no job queued.
			if entries, _ := os.ReadDir(filepath.Join(dataDir, "mailbox")); len(entries) > 0 {
				t.Errorf("demo wrote %d messages to the mailbox", len(entries))
			}
			var jobs int
			if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM river_job").Scan(&jobs); err != nil || jobs != 0 {
				t.Errorf("river_job holds %d jobs (%v), want none", jobs, err)
			}
		})
	}
}
