package cli

import (
	"bufio"
	"context"
	"fmt"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/config"
	"github.com/roster-dev/roster/internal/roster"
)

func runExport(ctx context.Context, env *Env, args []string) error {
	c, err := loadConfig(env)
	if err != nil {
		return err
	}
	fs := newFlags(env, "export", "export --org SLUG [--q TEXT] [--status active|not_logged_in|expired] [--permission NAME] [--as EMAIL] > users.csv\n\nWrites the matching users as CSV in the upload template's columns, ready to edit and upload again.")
	config.CommonFlags(fs, &c)
	slug := fs.String("org", "", "the organization's `slug` (required)")
	q := fs.String("q", "", "only users whose name or email contains `text`")
	status := fs.String("status", "", "only users with this `status`")
	perm := fs.String("permission", "", "only users holding this `permission`")
	as := fs.String("as", "", "`email` of the admin the export acts as (default the organization's first admin)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	if *slug == "" {
		return usagef("--org is required")
	}
	f := roster.UserFilter{Query: *q}
	if *status != "" {
		st, ok := roster.ParseStatus(*status)
		if !ok {
			return usagef("--status %q: use active, not_logged_in or expired", *status)
		}
		f.Status = st
	}
	if *perm != "" {
		p, err := roster.ParsePermission(*perm)
		if err != nil {
			return usagef("--permission: %v", err)
		}
		f.Permission = p
	}
	return withService(ctx, env, &c, func(svc *admin.Service) error {
		a, err := svc.ActorFor(ctx, *slug, *as)
		if err != nil {
			return err
		}
		out := bufio.NewWriterSize(env.Stdout, 1<<16)
		n, err := svc.ExportUsers(ctx, a, f, out)
		if err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "Exported %s.\n", plural(n, "user"))
		return nil
	})
}
