package cli

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/config"
	"github.com/roster-dev/roster/internal/roster"
)

// withService parses common flags and runs fn with a ready service; the
// schema must be current.
func withService(ctx context.Context, env *Env, c *config.Config, fn func(svc *admin.Service) error) error {
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := open(ctx, c, log, migrateIfEmpty)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := newService(*c, db, log)
	if err != nil {
		return err
	}
	return fn(svc)
}

func noArgs(pos []string) error {
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

func runMigrate(ctx context.Context, env *Env, args []string) error {
	c, err := loadConfig(env)
	if err != nil {
		return err
	}
	fs := newFlags(env, "migrate", "migrate [--data-dir DIR] [--database-url URL]")
	config.CommonFlags(fs, &c)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := open(ctx, &c, log, migrateNever)
	if err == nil {
		db.Close()
		fmt.Fprintln(env.Stdout, "The database schema is up to date; nothing to do.")
		return nil
	}
	db, err = open(ctx, &c, log, migrateAlways)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Migrated the %s database to schema version %d.\n", db.Dialect(), v)
	return nil
}

func runOrgCreate(ctx context.Context, env *Env, args []string) error {
	c, err := loadConfig(env)
	if err != nil {
		return err
	}
	fs := newFlags(env, "org create", "org create --name NAME --slug SLUG [--user-management] [--locale en-US] [--time-zone UTC] [--support-contact TEXT]")
	config.CommonFlags(fs, &c)
	var o roster.Org
	fs.StringVar(&o.Name, "name", "", "the organization's display `name` (required)")
	fs.StringVar(&o.Slug, "slug", "", "short `slug` used by the CLI: lowercase letters, digits and dashes (required)")
	fs.BoolVar(&o.UserManagement, "user-management", false, "turn User Management on for the organization")
	fs.StringVar(&o.Locale, "locale", "en-US", "how dates in uploaded CSV files are read: en-US or en-GB")
	fs.StringVar(&o.TimeZone, "time-zone", "UTC", "IANA `zone` in which expiration dates end")
	fs.StringVar(&o.SupportContact, "support-contact", "", "whom refused users should ask (shown on the no-access page)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if o.Name == "" || o.Slug == "" {
		return usagef("--name and --slug are required")
	}
	return withService(ctx, env, &c, func(svc *admin.Service) error {
		if err := svc.CreateOrg(ctx, &o); err != nil {
			return err
		}
		um := "off"
		if o.UserManagement {
			um = "on"
		}
		fmt.Fprintf(env.Stdout, "Created organization %s (%s), User Management %s, locale %s, time zone %s.\n", o.Name, o.Slug, um, o.Locale, o.TimeZone)
		return nil
	})
}

func runOrgList(ctx context.Context, env *Env, args []string) error {
	c, err := loadConfig(env)
	if err != nil {
		return err
	}
	fs := newFlags(env, "org list", "org list")
	config.CommonFlags(fs, &c)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	return withService(ctx, env, &c, func(svc *admin.Service) error {
		orgs, err := svc.Orgs(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tNAME\tUSER MANAGEMENT\tLOCALE\tTIME ZONE")
		for _, o := range orgs {
			fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", o.Slug, o.Name, o.UserManagement, o.Locale, o.TimeZone)
		}
		return tw.Flush()
	})
}

func runAdminAdd(ctx context.Context, env *Env, args []string) error {
	c, err := loadConfig(env)
	if err != nil {
		return err
	}
	fs := newFlags(env, "admin add", "admin add --org SLUG --email EMAIL")
	config.CommonFlags(fs, &c)
	slug := fs.String("org", "", "the organization's `slug` (required)")
	email := fs.String("email", "", "the admin's `email` (required)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *slug == "" || *email == "" {
		return usagef("--org and --email are required")
	}
	return withService(ctx, env, &c, func(svc *admin.Service) error {
		u, link, err := svc.AddAdmin(ctx, *slug, *email)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s is an admin of %s with all four permissions.\nSend them this one-time link to set a password (valid %s):\n\n    %s\n", u.Email, *slug, admin.HumanDuration(c.LinkTTL), link)
		return nil
	})
}

func runTokenCreate(ctx context.Context, env *Env, args []string) error {
	c, err := loadConfig(env)
	if err != nil {
		return err
	}
	fs := newFlags(env, "token create", "token create --org SLUG --name NAME [--user EMAIL]")
	config.CommonFlags(fs, &c)
	slug := fs.String("org", "", "the organization's `slug` (required)")
	name := fs.String("name", "", "what the token is for, e.g. \"learning platform\" (required)")
	user := fs.String("user", "", "`email` of the user the token acts as; default the organization's first admin")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *slug == "" || *name == "" {
		return usagef("--org and --name are required")
	}
	return withService(ctx, env, &c, func(svc *admin.Service) error {
		tok, u, err := svc.CreateAPIToken(ctx, *slug, *name, *user)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "API token %q acts as %s in %s, with their permissions. It is shown once; store it now.\n", *name, u.Email, *slug)
		fmt.Fprintln(env.Stdout, tok.Reveal())
		return nil
	})
}
