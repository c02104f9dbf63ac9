package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/roster-dev/roster/internal/config"
	"github.com/roster-dev/roster/internal/store"
)

// maxDemoUsers bounds one demo run.
const maxDemoUsers = 10_000_000

func runDemo(ctx context.Context, env *Env, args []string) error {
	c, err := loadConfig(env)
	if err != nil {
		return err
	}
	fs := newFlags(env, "demo", "demo --org SLUG --users N [--seed N]\n\n"+
		"Fills the organization with N realistic demo users: names from many languages, unique emails at\n"+
		"reserved example domains, mixed statuses, permissions, expiration dates, last logins and invitations.\n"+
		"No email is sent and no invitation queued. A million users take a few minutes.")
	config.CommonFlags(fs, &c)
	slug := fs.String("org", "", "the organization's `slug` (required)")
	users := fs.Int("users", 0, "how many users to create (required)")
	seed := fs.Uint64("seed", 0, "make the same users as an earlier run with this `seed` (default: random)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *slug == "" || *users <= 0 {
		return usagef("--org and --users (a positive number) are required")
	}
	if *users > maxDemoUsers {
		return usagef("--users: at most %d", maxDemoUsers)
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := open(ctx, &c, log, migrateIfEmpty)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := newService(c, db, log)
	if err != nil {
		return err
	}
	org, err := svc.Org(ctx, *slug)
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(env.Stdout, "Creating %s demo users in %s (%s)…\n", thousands(*users), org.Name, db.Dialect())
	step := max(*users/10, 1)
	nextReport, lastReport := step, start
	o := store.DemoOptions{Users: *users, Now: start, Today: org.Today(start), Seed: *seed,
		Progress: func(n int) {
			if n >= nextReport && n < *users || time.Since(lastReport) > 10*time.Second && n < *users {
				fmt.Fprintf(env.Stdout, "  %s of %s (%s)\n", thousands(n), thousands(*users), time.Since(start).Round(100*time.Millisecond))
				for nextReport <= n {
					nextReport += step
				}
				lastReport = time.Now()
			}
		}}
	var loaded time.Duration
	o.Progress = chainProgress(o.Progress, *users, func() { loaded = time.Since(start) })
	n, err := db.CreateDemoUsers(ctx, org.ID, o)
	if err != nil {
		return err
	}
	total := time.Since(start)
	if err := db.InTx(ctx, func(tx *store.Tx) error {
		return tx.Audit(ctx, &store.AuditEvent{OrgID: org.ID, Actor: "operator (CLI)", Action: "demo.create",
			Target: fmt.Sprintf("%d demo users", n), CreatedAt: time.Now()})
	}); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Created %s demo users in %s in %s (%s users/s; inserting %s, then indexing and statistics %s).\n",
		thousands(n), org.Slug, total.Round(100*time.Millisecond), thousands(int(float64(n)/total.Seconds())),
		loaded.Round(100*time.Millisecond), (total - loaded).Round(100*time.Millisecond))
	return nil
}

// chainProgress calls fn, then done once every user is in.
func chainProgress(fn func(int), users int, done func()) func(int) {
	return func(n int) {
		fn(n)
		if n >= users {
			done()
		}
	}
}

// thousands writes n with thousands separators: 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
