package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/roster-dev/roster/internal/config"
	"github.com/roster-dev/roster/internal/outbox"
	"github.com/roster-dev/roster/internal/server"
)

func runServe(ctx context.Context, env *Env, args []string) error {
	c, err := loadConfig(env)
	if err != nil {
		return err
	}
	c.AutoMigrate = false // serve migrates an empty database, or an outdated one only when told to
	if v := env.Getenv("ROSTER_AUTO_MIGRATE"); v == "true" || v == "1" {
		c.AutoMigrate = true
	}
	fs := newFlags(env, "serve", "serve [--listen ADDR] [--data-dir DIR] [--database-url URL] [--base-url URL] [--migrate] [--print-config]")
	config.CommonFlags(fs, &c)
	config.ServeFlags(fs, &c)
	printConfig := fs.Bool("print-config", false, "print the effective configuration (secrets masked) and exit")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", pos[0])
	}
	if err := c.Validate(); err != nil {
		return usagef("%s", err)
	}
	if *printConfig {
		fmt.Fprint(env.Stdout, c.Redacted())
		return nil
	}
	log := newLogger(c, env.Stderr)

	// Listen before anything slow, so a taken port fails at once.
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("cannot listen on %s: the address is already in use (is another roster serve running?); choose another with --listen", c.Listen)
		}
		return fmt.Errorf("cannot listen on %s: %w", c.Listen, err)
	}
	defer ln.Close()

	policy := migrateIfEmpty
	if c.AutoMigrate {
		policy = migrateAlways
	}
	db, err := open(ctx, &c, log, policy)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := newService(c, db, log)
	if err != nil {
		return err
	}
	var ready atomic.Bool
	h, err := server.Handler(server.Options{Service: svc, Logger: log, SecureCookies: c.SecureCookies, Ready: &ready})
	if err != nil {
		return err
	}
	link, err := svc.FirstRunLink(ctx)
	if err != nil {
		return err
	}
	if link != "" {
		fmt.Fprintf(env.Stdout, "\nRoster has no organization yet. Open this one-time link to set it up (valid 24 hours):\n\n    %s\n\n", link)
	}
	sender, err := newSender(c, log)
	if err != nil {
		return err
	}
	instance := instanceName()
	worker, err := outbox.New(outbox.Options{DB: db, Sender: sender, Logger: log, BaseURL: c.BaseURL, LinkTTL: c.LinkTTL, Workers: c.MailConcurrency, TakeoverAfter: c.TakeoverAfter, ID: instance})
	if err != nil {
		return err
	}
	ready.Store(true)
	log.Info("Roster is listening", "address", "http://"+ln.Addr().String(), "base_url", c.BaseURL, "database", string(db.Dialect()), "mail", fmt.Sprint(sender))
	// The HTTP server and the background worker stop together: when ctx
	// ends (SIGINT, SIGTERM) or when either fails.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	workerDone := make(chan error, 1)
	go func() {
		err := worker.Run(runCtx)
		if err != nil {
			cancel() // no server without its worker
		}
		workerDone <- err
	}()
	// CSV imports are applied in the background by whichever instance
	// claims them, so a restart (or another instance) resumes one that a
	// dead instance left.
	importsDone := make(chan error, 1)
	go func() { importsDone <- svc.RunImports(runCtx, instance) }()
	// Bulk actions over many users run the same way.
	bulkDone := make(chan error, 1)
	go func() { bulkDone <- svc.RunBulkJobs(runCtx, instance) }()
	err = server.Run(runCtx, ln, h, log)
	cancel()
	if werr := <-workerDone; werr != nil && err == nil {
		err = werr
	}
	if ierr := <-importsDone; ierr != nil && err == nil {
		err = ierr
	}
	if berr := <-bulkDone; berr != nil && err == nil {
		err = berr
	}
	return err
}

// instanceName names this process in the leases it takes (host, pid and a
// random part, so a restarted process is a new owner).
func instanceName() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}
