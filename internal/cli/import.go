package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/api"
	"github.com/roster-dev/roster/internal/config"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// errRowsFailed makes the exit status 1 when rows had errors, after the
// report was printed.
var errRowsFailed = errors.New("some rows were not applied; see the errors above")

func runImport(ctx context.Context, env *Env, args []string) error {
	c, err := loadConfig(env)
	if err != nil {
		return err
	}
	fs := newFlags(env, "import", "import --org SLUG FILE [--welcome-message TEXT] [--expires DATE] [--dry-run] [--json] [--as EMAIL]\n\nFILE is a CSV file (- reads standard input). Rows are checked first; with --dry-run nothing changes.")
	config.CommonFlags(fs, &c)
	slug := fs.String("org", "", "the organization's `slug` (required)")
	welcome := fs.String("welcome-message", "", "welcome `text` for every invitation (overwrites each user's; a welcome_message column wins)")
	expires := fs.String("expires", "", "default expiration `date` (YYYY-MM-DD) for rows that give none")
	dryRun := fs.Bool("dry-run", false, "preview only: report what would change, change nothing")
	asJSON := fs.Bool("json", false, "print the result as JSON (the API's import object) on standard output")
	as := fs.String("as", "", "`email` of the admin the import acts as (default the organization's first admin)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *slug == "":
		return usagef("--org is required")
	case len(pos) != 1:
		return usagef("give exactly one FILE (or - for standard input)")
	}
	opts := admin.ImportOptions{FileName: filepath.Base(pos[0])}
	if flagSet(fs, "welcome-message") {
		opts.WelcomeMessage = roster.Some(*welcome)
	}
	if *expires != "" {
		d, err := roster.ParseDate(*expires)
		if err != nil {
			return usagef("--expires %q is not a date; use YYYY-MM-DD", *expires)
		}
		opts.DefaultExpiration = d
	}
	var in io.Reader = env.Stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	} else {
		opts.FileName = "stdin"
	}
	return withService(ctx, env, &c, func(svc *admin.Service) error {
		a, err := svc.ActorFor(ctx, *slug, *as)
		if err != nil {
			return err
		}
		p, err := svc.PreviewImport(ctx, a, in, opts)
		if err != nil {
			return err
		}
		im := p.Import
		if *dryRun {
			if *asJSON {
				writeJSONOut(env.Stdout, api.ImportView(p))
			} else {
				fmt.Fprintf(env.Stdout, "Dry run of %s (%s): %d new, %d updated, %s, %s. Nothing changed.\n",
					opts.FileName, plural(im.Rows, "row"), im.WillCreate, im.WillUpdate, plural(im.WillCreate+im.WillUpdate, "invitation"), withErrors(im.WillFail))
				printImportIssues(env.Stdout, im, p.Issues, im.WillFail)
			}
			if im.WillFail > 0 {
				return errRowsFailed
			}
			return nil
		}
		if !*asJSON {
			fmt.Fprintf(env.Stderr, "Checked %s: %s, %d new, %d updated, %s. Applying…\n",
				opts.FileName, plural(im.Rows, "row"), im.WillCreate, im.WillUpdate, withErrors(im.WillFail))
		}
		if _, err := svc.ApplyImport(ctx, a, im.ID); err != nil {
			return err
		}
		if err := applyWithProgress(ctx, env, svc, a, im.ID, *asJSON); err != nil {
			return err
		}
		p, err = svc.Import(ctx, a, im.ID)
		if err != nil {
			return err
		}
		im = p.Import
		if *asJSON {
			writeJSONOut(env.Stdout, api.ImportView(p))
		} else {
			fmt.Fprintf(env.Stdout, "Import %d %s: %d created, %d updated, %d invited, %s.\n",
				im.ID, im.State, im.Created, im.Updated, im.Invited, withErrors(im.Errors))
			if im.Invited > 0 {
				fmt.Fprintf(env.Stdout, "The %s queued; `roster serve` sends them (with no SMTP configured, into %s).\n",
					plural(im.Invited, "invitation is", "invitations are"), filepath.Join(c.DataDir, "mailbox"))
			}
			if im.Failure != "" {
				fmt.Fprintf(env.Stdout, "It stopped: %s\n", im.Failure)
			}
			printImportIssues(env.Stdout, im, p.Issues, im.Errors)
		}
		switch {
		case im.State == store.ImportFailed:
			return fmt.Errorf("import %d failed: %s", im.ID, im.Failure)
		case im.Errors > 0:
			return errRowsFailed
		}
		return nil
	})
}

// applyWithProgress applies the import in this process, drawing progress
// on a terminal (plain lines otherwise) from the checkpoints in the
// database. If a running `roster serve` claimed it first, it waits for it.
func applyWithProgress(ctx context.Context, env *Env, svc *admin.Service, a *roster.Actor, id int64, quiet bool) error {
	done := make(chan error, 1)
	go func() {
		ran, err := svc.RunOneImport(ctx, "cli/"+instanceName(), id)
		if err == nil && !ran {
			err = waitImport(ctx, svc, a, id)
		}
		done <- err
	}()
	bar := newProgress(env.Stderr, quiet)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if p, perr := svc.Import(ctx, a, id); perr == nil {
				bar.show(p.Import.Processed, p.Import.Rows)
			}
			bar.end()
			return err
		case <-tick.C:
			if p, err := svc.Import(ctx, a, id); err == nil {
				bar.show(p.Import.Processed, p.Import.Rows)
			}
		}
	}
}

// waitImport waits until another process has finished applying the import.
func waitImport(ctx context.Context, svc *admin.Service, a *roster.Actor, id int64) error {
	for {
		p, err := svc.Import(ctx, a, id)
		if err != nil {
			return err
		}
		if s := p.Import.State; s == store.ImportDone || s == store.ImportFailed {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// progress draws a bar on a terminal, or a line per tenth otherwise.
type progress struct {
	w          io.Writer
	tty, quiet bool
	lastTenth  int
	drawn      bool
}

func newProgress(w io.Writer, quiet bool) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, tty: tty, quiet: quiet, lastTenth: -1}
}

func (p *progress) show(done, total int) {
	if p.quiet || total == 0 {
		return
	}
	if p.tty {
		const width = 30
		n := done * width / total
		fmt.Fprintf(p.w, "\r[%s%s] %3d%%  %d/%d rows", strings.Repeat("#", n), strings.Repeat(".", width-n), done*100/total, done, total)
		p.drawn = true
		return
	}
	if tenth := done * 10 / total; tenth > p.lastTenth {
		p.lastTenth = tenth
		fmt.Fprintf(p.w, "applied %d of %d rows (%d%%)\n", done, total, done*100/total)
	}
}

func (p *progress) end() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// printImportIssues lists the first row problems.
func printImportIssues(w io.Writer, im *store.Import, issues []store.ImportIssue, failedRows int) {
	if im.UnknownColumns != "" {
		fmt.Fprintf(w, "Ignored columns: %s\n", im.UnknownColumns)
	}
	const show = 20
	for i, is := range issues {
		if i == show {
			fmt.Fprintf(w, "  … and more (%d rows with errors in all; the report has every one)\n", failedRows)
			break
		}
		col := is.Column
		if col != "" {
			col = ", " + col
		}
		fmt.Fprintf(w, "  row %d%s: %s\n", is.Row, col, is.Message)
	}
}

func writeJSONOut(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// flagSet reports whether the flag was given (an empty --welcome-message
// clears, an absent one keeps).
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// plural is "1 row" or "3 rows"; with two words, the singular and plural
// phrases without the count ("invitation is", "invitations are").
func plural(n int, one string, many ...string) string {
	if len(many) > 0 {
		if n == 1 {
			return one
		}
		return many[0]
	}
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

func withErrors(n int) string {
	if n == 0 {
		return "no errors"
	}
	return plural(n, "row") + " with errors"
}
