package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/csvimport"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// Import tuning. A batch is one transaction: its rows are applied, their
// invitations queued and the checkpoint written together, so a crash
// loses no row and repeats none.
const (
	importBatchRows = 1000
	importChunk     = 1 << 20 // bytes of the uploaded file per stored chunk
	// ImportIssueLimit is how many row problems, and how many planned
	// changes, an import keeps to show; the counts are always exact.
	ImportIssueLimit = 1000
)

// ImportOptions are an upload's settings besides the file.
type ImportOptions struct {
	FileName string
	// WelcomeMessage, when set, overwrites each user's welcome message (a
	// welcome_message column in the file wins for its rows).
	WelcomeMessage roster.Optional[string]
	// DefaultExpiration applies to rows that give no expiration_date.
	DefaultExpiration roster.Date
	// MaxRows and MaxBytes override csvimport's limits (tests).
	MaxRows  int
	MaxBytes int64
}

// ImportPreview is what PreviewImport found: the import (with its counts)
// and the first row problems and planned changes.
type ImportPreview struct {
	Import  *store.Import
	Issues  []store.ImportIssue
	Changes []store.ImportChange
}

// ImportLimits states the upload limits, for the UI and errors.
func ImportLimits() (rows int, bytes int64) {
	return csvimport.DefaultMaxRows, csvimport.DefaultMaxBytes
}

// PreviewImport reads an uploaded CSV file, keeps it for applying later,
// and reports what applying it would do (SPEC "Bulk Upload" step 3): new
// users, updated users with old and new values, row problems. It changes
// no user. A file that cannot be imported at all (no email column, over a
// limit, not a CSV file) is refused whole with a *csvimport.HeaderError or
// *csvimport.LimitError, and nothing is kept.
func (s *Service) PreviewImport(ctx context.Context, a *roster.Actor, body io.Reader, opts ImportOptions) (*ImportPreview, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	now := s.now()
	var v roster.ValidationError
	if opts.WelcomeMessage.Set {
		if n := utf8.RuneCountInString(opts.WelcomeMessage.Value); n > MaxWelcomeMessage {
			v.Add("welcome_message", fmt.Sprintf("use at most %d characters (this one has %d)", MaxWelcomeMessage, n))
		}
	}
	if d := opts.DefaultExpiration; !d.IsZero() && roster.IsExpired(d, a.Org.Today(now)) {
		v.Add("default_expiration_date", fmt.Sprintf("%s is not in the future; give a date after today (%s)", d, a.Org.Today(now)))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	im := &store.Import{OrgID: a.Org.ID, ActorUserID: a.User.ID, Actor: actorName(a), FileName: opts.FileName,
		WelcomeMessage: opts.WelcomeMessage, DefaultExpiration: opts.DefaultExpiration}
	if err := s.db.CreateImport(ctx, im, now); err != nil {
		return nil, wrap("preview import", err)
	}
	p, err := s.preview(ctx, a, im, body, opts)
	if err != nil {
		// Refused whole: keep nothing of it.
		if derr := s.db.DeleteImport(context.WithoutCancel(ctx), a.Org.ID, im.ID); derr != nil {
			s.log.Error("Delete refused import", "org_id", a.Org.ID, "import_id", im.ID, "err", derr)
		}
		return nil, wrap("preview import", err)
	}
	return p, nil
}

func actorName(a *roster.Actor) string {
	n := a.User.Email
	if a.Via == "token" {
		n += " (API token)"
	}
	return n
}

func (s *Service) preview(ctx context.Context, a *roster.Actor, im *store.Import, body io.Reader, opts ImportOptions) (*ImportPreview, error) {
	keep := &chunkWriter{ctx: ctx, db: s.db, orgID: im.OrgID, importID: im.ID}
	r, err := csvimport.NewReader(io.TeeReader(body, keep), csvimport.Options{Locale: a.Org.Locale, MaxRows: opts.MaxRows, MaxBytes: opts.MaxBytes})
	if err != nil {
		return nil, err
	}
	h := r.Header()
	im.UnknownColumns = strings.Join(h.Unknown, ", ")
	p := &ImportPreview{Import: im}
	today := a.Org.Today(s.now())
	var dedup csvimport.Dedup
	batch := make([]*csvimport.Row, 0, importBatchRows)
	issue := func(row int, column, msg string) {
		if len(p.Issues) < ImportIssueLimit {
			p.Issues = append(p.Issues, store.ImportIssue{Row: row, Column: column, Message: msg})
		}
	}
	flush := func() error {
		emails := make([]string, len(batch))
		for i, row := range batch {
			emails[i] = row.Email
		}
		existing, err := s.db.FindUsersByEmails(ctx, a.Org.ID, emails)
		if err != nil {
			return err
		}
		for _, row := range batch {
			before := existing[row.Email]
			u, err := PlanInvite(a, inviteInput(row, im), before, today)
			switch {
			case err != nil:
				im.WillFail++
				for _, is := range rowIssues(row.Num, err) {
					issue(is.Row, is.Column, is.Message)
				}
			case before == nil:
				im.WillCreate++
			default:
				im.WillUpdate++
				if len(p.Changes) < ImportIssueLimit {
					if b, a := changed(before, u); b != "" {
						p.Changes = append(p.Changes, store.ImportChange{Row: row.Num, Email: u.Email, Before: b, After: a})
					}
				}
			}
		}
		batch = batch[:0]
		return nil
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		im.Rows++
		if len(row.Errors) > 0 {
			im.WillFail++
			for _, e := range row.Errors {
				issue(e.Row, e.Column, e.Reason)
			}
			continue
		}
		if first, dup := dedup.Seen(row.Email, row.Num); dup {
			im.WillFail++
			issue(row.Num, csvimport.ColumnEmail, fmt.Sprintf("duplicate of row %d's email; each email may appear once", first))
			continue
		}
		cp := *row
		batch = append(batch, &cp)
		if len(batch) == importBatchRows {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if err := keep.Close(); err != nil {
		return nil, err
	}
	im.SizeBytes = keep.n
	sort.SliceStable(p.Issues, func(i, j int) bool { return p.Issues[i].Row < p.Issues[j].Row })
	if err := s.db.SavePreview(ctx, im, p.Issues, p.Changes, s.now()); err != nil {
		return nil, err
	}
	return p, nil
}

// inviteInput turns a valid row into the invitation it asks for.
func inviteInput(row *csvimport.Row, im *store.Import) InviteInput {
	in := InviteInput{Email: row.Email, FirstName: row.FirstName, LastName: row.LastName, Permissions: row.Permissions,
		ExpirationDate: row.ExpirationDate, WelcomeMessage: row.WelcomeMessage, DefaultExpiration: im.DefaultExpiration}
	if !in.WelcomeMessage.Set {
		in.WelcomeMessage = im.WelcomeMessage
	}
	return in
}

// rowIssues turns a row's rule error into issues naming the columns.
func rowIssues(row int, err error) []store.ImportIssue {
	var ve *roster.ValidationError
	if errors.As(err, &ve) {
		fields := make([]string, 0, len(ve.Fields))
		for f := range ve.Fields {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		out := make([]store.ImportIssue, len(fields))
		for i, f := range fields {
			out[i] = store.ImportIssue{Row: row, Column: f, Message: ve.Fields[f]}
		}
		return out
	}
	switch {
	case errors.Is(err, roster.ErrLastAdmin):
		return []store.ImportIssue{{Row: row, Column: csvimport.ColumnPermissions, Message: err.Error()}}
	case errors.Is(err, ErrDuplicateRow):
		return []store.ImportIssue{{Row: row, Column: csvimport.ColumnEmail, Message: err.Error()}}
	}
	return []store.ImportIssue{{Row: row, Message: err.Error()}}
}

// changed returns the before and after of the fields an invitation sets,
// as JSON objects holding only what differs ("" when nothing does).
func changed(before, after *roster.User) (string, string) {
	b, a := map[string]any{}, map[string]any{}
	diff := func(k string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			b[k], a[k] = x, y
		}
	}
	diff("first_name", before.FirstName, after.FirstName)
	diff("last_name", before.LastName, after.LastName)
	diff("permissions", before.Permissions.Names(), after.Permissions.Names())
	diff("expiration_date", dateOrNone(before.ExpirationDate), dateOrNone(after.ExpirationDate))
	diff("welcome_message", before.WelcomeMessage, after.WelcomeMessage)
	if len(b) == 0 {
		return "", ""
	}
	bj, _ := json.Marshal(b)
	aj, _ := json.Marshal(a)
	return string(bj), string(aj)
}

func dateOrNone(d roster.Date) string {
	if d.IsZero() {
		return "none"
	}
	return d.String()
}

// chunkWriter keeps an upload in the database as it streams by, a chunk
// per short transaction.
type chunkWriter struct {
	ctx      context.Context
	db       *store.DB
	orgID    int64
	importID int64
	buf      bytes.Buffer
	seq      int
	n        int64
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	w.n += int64(len(p))
	for w.buf.Len() >= importChunk {
		if err := w.db.AddImportChunk(w.ctx, w.orgID, w.importID, w.seq, w.buf.Next(importChunk)); err != nil {
			return 0, err
		}
		w.seq++
	}
	return len(p), nil
}

// Close stores what is left.
func (w *chunkWriter) Close() error {
	if w.buf.Len() == 0 {
		return nil
	}
	err := w.db.AddImportChunk(w.ctx, w.orgID, w.importID, w.seq, w.buf.Bytes())
	w.buf.Reset()
	w.seq++
	return err
}

// Import returns one of the organization's imports with its first issues
// (of the preview, or of applying once it started) and planned changes.
func (s *Service) Import(ctx context.Context, a *roster.Actor, id int64) (*ImportPreview, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	im, err := s.db.ImportByID(ctx, a.Org.ID, id)
	if err != nil {
		return nil, wrap("import", err)
	}
	if im.State == store.ImportUploading {
		return nil, wrap("import", roster.ErrNotFound)
	}
	p := &ImportPreview{Import: im}
	phase := "preview"
	if im.State != store.ImportPreviewed {
		phase = "apply"
	}
	if p.Issues, err = s.db.ImportIssues(ctx, a.Org.ID, id, phase, ImportIssueLimit); err != nil {
		return nil, wrap("import", err)
	}
	if p.Changes, err = s.db.ImportChanges(ctx, a.Org.ID, id, ImportIssueLimit); err != nil {
		return nil, wrap("import", err)
	}
	return p, nil
}

// ImportStatus returns an import's state, progress and counts, without its
// issues and changes (what a progress bar polls).
func (s *Service) ImportStatus(ctx context.Context, a *roster.Actor, id int64) (*store.Import, error) {
	if err := s.authorize(a); err != nil {
		return nil, err
	}
	im, err := s.db.ImportByID(ctx, a.Org.ID, id)
	if err == nil && im.State == store.ImportUploading {
		err = roster.ErrNotFound
	}
	if err != nil {
		return nil, wrap("import status", err)
	}
	return im, nil
}

// DiscardImport forgets a previewed import ("Cancel"): its stored file goes
// with it. Once applying, an import is kept (ErrImportNotPreviewed).
func (s *Service) DiscardImport(ctx context.Context, a *roster.Actor, id int64) error {
	if err := s.authorize(a); err != nil {
		return err
	}
	n, err := s.db.DeleteImportIn(ctx, a.Org.ID, id, store.ImportPreviewed)
	if err != nil {
		return wrap("discard import", err)
	}
	if n == 0 {
		if _, err := s.ImportStatus(ctx, a, id); err != nil {
			return err
		}
		return wrap("discard import", ErrImportNotPreviewed)
	}
	return nil
}

// ImportPreviewTTL is how long a preview that nobody applied is kept.
const ImportPreviewTTL = 7 * 24 * time.Hour

// ImportReportHeader is the report's header (SPEC: row, email, outcome,
// message).
var ImportReportHeader = []string{"row", "email", "outcome", "message"}

// WriteImportReport writes an import's result report as CSV.
func (s *Service) WriteImportReport(ctx context.Context, a *roster.Actor, id int64, w io.Writer) error {
	if err := s.authorize(a); err != nil {
		return err
	}
	im, err := s.db.ImportByID(ctx, a.Org.ID, id)
	if err != nil {
		return wrap("import report", err)
	}
	if im.State == store.ImportUploading {
		return wrap("import report", roster.ErrNotFound)
	}
	cw := csvimport.NewWriter(w)
	if err := cw.Write(ImportReportHeader); err != nil {
		return err
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	return s.db.WriteImportReport(ctx, a.Org.ID, id, w)
}

// reportLine is one row of the report, formula-safe.
func reportLines(buf *bytes.Buffer, lines [][]string) (string, error) {
	buf.Reset()
	cw := csvimport.NewWriter(buf)
	for _, l := range lines {
		if err := cw.Write(l); err != nil {
			return "", err
		}
	}
	if err := cw.Flush(); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func itoa(n int) string { return strconv.Itoa(n) }
