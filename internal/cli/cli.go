// Package cli is the roster command: one file per subcommand, each parsing
// its own flags and calling the same admin methods the server does,
// in-process. Exit status: 0 success, 1 failure, 2 usage error.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/config"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// Env is what a command runs with.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string
}

// command is one subcommand.
type command struct {
	name    string // "org create"
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the web dashboard, the API and background work", runServe},
		{"migrate", "apply pending database migrations", runMigrate},
		{"org create", "create an organization", runOrgCreate},
		{"org list", "list organizations", runOrgList},
		{"admin add", "make a user an admin with all four permissions; prints a one-time link", runAdminAdd},
		{"token create", "create an API token; prints it alone on the last line", runTokenCreate},
		{"import", "invite users from a CSV file (preview with --dry-run)", runImport},
		{"export", "write users as CSV in the upload template's columns", runExport},
		{"demo", "fill an organization with realistic demo users (no email sent)", runDemo},
	}
}

// usageError is a mistake in how the command was called: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// Run runs the command line args (without the program name) and returns the
// exit status.
func Run(ctx context.Context, args []string, env *Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	cmd, rest, ok := find(args)
	if !ok {
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			printUsage(env.Stdout)
			return 0
		}
		if group := groupCommands(args[0]); len(group) > 0 {
			// "roster org" alone, or with --help: list the group's subcommands.
			w, code := env.Stderr, 2
			if len(args) > 1 && (args[1] == "-h" || args[1] == "--help") {
				w, code = env.Stdout, 0
			} else {
				fmt.Fprintf(w, "roster: unknown command %q\n\n", strings.Join(args[:min(len(args), 2)], " "))
			}
			fmt.Fprintf(w, "Usage: roster %s <subcommand>\n\nSubcommands:\n", args[0])
			for _, c := range group {
				fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
			}
			return code
		}
		fmt.Fprintf(env.Stderr, "roster: unknown command %q\n\n", strings.Join(args[:min(len(args), 2)], " "))
		printUsage(env.Stderr)
		return 2
	}
	err := cmd.run(ctx, env, rest)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "roster %s: %s\nRun 'roster %s --help' for usage.\n", cmd.name, ue.msg, cmd.name)
		return 2
	default:
		fmt.Fprintf(env.Stderr, "roster %s: %s\n", cmd.name, describe(err))
		return 1
	}
}

// describe turns an error into a message for a person at a terminal.
func describe(err error) string {
	var ve *roster.ValidationError
	if errors.As(err, &ve) {
		keys := make([]string, 0, len(ve.Fields))
		for k := range ve.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for i, k := range keys {
			if i > 0 {
				b.WriteString("\n  ")
			}
			fmt.Fprintf(&b, "--%s: %s", strings.ReplaceAll(k, "_", "-"), ve.Fields[k])
		}
		return b.String()
	}
	var ae *roster.AccessError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return err.Error()
}

func find(args []string) (command, []string, bool) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], true
		}
	}
	return command{}, nil, false
}

// groupCommands returns the commands whose name starts with word and a space.
func groupCommands(word string) []command {
	var out []command
	for _, c := range commands() {
		if strings.HasPrefix(c.name, word+" ") {
			out = append(out, c)
		}
	}
	return out
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: roster <command> [flags] [arguments]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --help. Flags may come before or after arguments.")
}

// newFlags returns a FlagSet for a subcommand whose errors we report ourselves.
func newFlags(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("roster "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fs.SetOutput(env.Stdout)
		fmt.Fprintf(env.Stdout, "Usage: roster %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses flags that may come before or after positional arguments
// (the stdlib stops at the first positional; we keep going) and returns
// the positionals.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				// FlagSet.Parse has already printed the usage.
				return nil, flag.ErrHelp
			}
			return nil, usagef("%s", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// loadConfig returns the configuration from defaults and the environment,
// for flags to overlay.
func loadConfig(env *Env) (config.Config, error) {
	c, err := config.FromEnv(config.Default(), env.Getenv)
	if err != nil {
		return c, usagef("%s", err)
	}
	return c, nil
}

// migratePolicy says when open applies pending migrations.
type migratePolicy int

const (
	migrateNever   migratePolicy = iota // refuse an outdated schema
	migrateIfEmpty                      // a first run migrates; an outdated schema is refused
	migrateAlways
)

// open validates the configuration, opens the database and checks its
// schema, applying pending migrations as the policy allows.
func open(ctx context.Context, c *config.Config, log *slog.Logger, policy migratePolicy) (*store.DB, error) {
	if err := c.Validate(); err != nil {
		return nil, usagef("%s", err)
	}
	db, err := store.Open(ctx, store.Options{URL: c.DatabaseURL, DataDir: c.DataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	n, err := db.PendingMigrations(ctx)
	if err == nil && n > 0 {
		var v int
		v, err = db.SchemaVersion(ctx)
		switch {
		case err != nil:
		case policy == migrateAlways || (policy == migrateIfEmpty && v == 0):
			_, err = db.Migrate(ctx)
		default:
			err = fmt.Errorf("the database schema is %d migration(s) behind this binary; run 'roster migrate' (or 'roster serve --migrate') first", n)
		}
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// newSender returns the configured mail transport: SMTP when a URL is
// given, otherwise the local mailbox.
func newSender(c config.Config, log *slog.Logger) (mail.Sender, error) {
	o := mail.Options{From: c.MailFrom}
	if c.SMTPURL != "" {
		return mail.NewSMTP(c.SMTPURL, o, log)
	}
	return mail.NewMailbox(mailboxDir(c), o, log)
}

// newService wires the admin service the way serve does.
func newService(c config.Config, db *store.DB, log *slog.Logger) (*admin.Service, error) {
	sender, err := newSender(c, log)
	if err != nil {
		return nil, err
	}
	return admin.New(admin.Options{DB: db, Logger: log, BaseURL: c.BaseURL, PasswordMinLength: c.PasswordMinLength,
		LinkTTL: c.LinkTTL, SessionTTL: c.SessionTTL, Mailer: sender, ImportLease: c.TakeoverAfter}), nil
}

func mailboxDir(c config.Config) string { return strings.TrimRight(c.DataDir, "/") + "/mailbox" }

// newLogger builds the process's logger from the configuration.
func newLogger(c config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
