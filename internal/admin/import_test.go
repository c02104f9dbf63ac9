package admin_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/csvimport"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// importFile is a file that exercises every rule of SPEC "Bulk Upload";
// its rows (spreadsheet numbering) are described in TestImportRules.
const importFile = "Email,First Name,last_name,expiration_date,permissions,Department\r\n" +
	"new@acme.example,Nia,Novak,,view_analytics;manage_comments,Sales\r\n" + // 2 created
	"OLD@acme.example,,Renamed,,manage_curations,\r\n" + // 3 updated: blank first name clears
	"exp@acme.example,Ex,Pired,2030-01-31,,\r\n" + // 4 expired, future date: re-invited
	"exp2@acme.example,Ex,Two,,,\r\n" + // 5 expired, no date: error
	"=1+1,X,Y,,,\r\n" + // 6 invalid email (and a formula)
	"\r\n" + // 7 blank: skipped
	"new@acme.example,Dup,Row,,,\r\n" + // 8 duplicate of row 2
	"date@acme.example,D,D,31/12/2030,,\r\n" + // 9 not an en-US date
	"perm@acme.example,P,P,,fly_planes,\r\n" // 10 unknown permission

func TestImportRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		acme := e.org(t, "acme")
		other := e.org(t, "other")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		e.addAdminCLI(t, "other", "chief@other.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		chief := e.cliActor(t, "other", "chief@other.example")
		yesterday := e.svc.Today(boss).AddDays(-1)
		old := e.plainUser(t, acme.ID, "old@acme.example", invVA, roster.Date{}, "")
		e.plainUser(t, acme.ID, "exp@acme.example", 0, yesterday, "")
		e.plainUser(t, acme.ID, "exp2@acme.example", 0, yesterday, "")
		e.plainUser(t, other.ID, "new@acme.example", 0, roster.Date{}, "")
		if _, err := e.svc.Invite(ctx, boss, admin.InviteInput{Email: old.Email}); err != nil {
			t.Fatal(err)
		}
		before := e.invCounts(t, acme.ID)
		opts := admin.ImportOptions{FileName: "team.csv", WelcomeMessage: roster.Some("Welcome aboard")}

		p, err := e.svc.PreviewImport(ctx, boss, strings.NewReader(importFile), opts)
		if err != nil {
			t.Fatalf("PreviewImport: %v", err)
		}
		im := p.Import
		if im.State != store.ImportPreviewed || im.Rows != 8 || im.WillCreate != 1 || im.WillUpdate != 2 || im.WillFail != 5 {
			t.Errorf("preview = state %s, rows %d, create %d, update %d, fail %d; want previewed, 8, 1, 2, 5",
				im.State, im.Rows, im.WillCreate, im.WillUpdate, im.WillFail)
		}
		if im.UnknownColumns != "Department" {
			t.Errorf("unknown columns = %q, want Department", im.UnknownColumns)
		}
		wantIssues := map[int]string{5: "expiration_date", 6: "email", 8: "email", 9: "expiration_date", 10: "permissions"}
		for _, is := range p.Issues {
			if col, ok := wantIssues[is.Row]; ok && col == is.Column {
				delete(wantIssues, is.Row)
			}
		}
		if len(wantIssues) > 0 {
			t.Errorf("preview issues %+v lack rows/columns %v", p.Issues, wantIssues)
		}
		if !slices.ContainsFunc(p.Issues, func(is store.ImportIssue) bool {
			return is.Row == 5 && strings.Contains(is.Message, "give a future expiration_date")
		}) {
			t.Errorf("row 5 (expired, no date) issue missing the SPEC's advice: %+v", p.Issues)
		}
		if len(p.Changes) != 2 || p.Changes[0].Row != 3 || !strings.Contains(p.Changes[0].Before, `"first_name":"Pat"`) ||
			!strings.Contains(p.Changes[0].After, `"last_name":"Renamed"`) || !strings.Contains(p.Changes[0].After, `"welcome_message":"Welcome aboard"`) {
			t.Errorf("preview changes = %+v, want row 3 old -> new first", p.Changes)
		}
		if got := e.invCounts(t, acme.ID); got != before {
			t.Errorf("preview changed something: counts %v -> %v", before, got)
		}

		// Another organization cannot see or apply it.
		if _, err := e.svc.Import(ctx, chief, im.ID); !errors.Is(err, roster.ErrNotFound) {
			t.Errorf("Import(other org) = %v, want ErrNotFound", err)
		}
		if _, err := e.svc.ApplyImport(ctx, chief, im.ID); !errors.Is(err, roster.ErrNotFound) {
			t.Errorf("ApplyImport(other org) = %v, want ErrNotFound", err)
		}

		apply(t, e, boss, im.ID)
		got, err := e.svc.Import(ctx, boss, im.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g := got.Import; g.State != store.ImportDone || g.Processed != 8 || g.Created != 1 || g.Updated != 2 || g.Invited != 3 || g.Errors != 5 {
			t.Errorf("applied = %+v; want done, processed 8, created 1, updated 2, invited 3, errors 5", g)
		}
		after := e.invCounts(t, acme.ID)
		if after.users != before.users+1 || after.jobs != before.jobs+3 {
			t.Errorf("apply: users %d -> %d (want +1), invitation jobs %d -> %d (want +3)", before.users, after.users, before.jobs, after.jobs)
		}
		nia := e.user(t, acme.ID, "new@acme.example")
		if nia.FirstName != "Nia" || nia.LastName != "Novak" || nia.Permissions != invVA|invMCm || nia.WelcomeMessage != "Welcome aboard" || nia.InvitationCount != 1 {
			t.Errorf("created user = %+v", nia)
		}
		o := e.user(t, acme.ID, "old@acme.example")
		if o.FirstName != "" || o.LastName != "Renamed" || o.Permissions != invMC || o.InvitationCount != 2 {
			t.Errorf("updated user = %+v; want first name cleared, Renamed, manage_curations, invited twice (ALWAYS re-invited)", o)
		}
		if x := e.user(t, acme.ID, "exp@acme.example"); x.ExpirationDate != invDate("2030-01-31") || x.InvitationCount != 1 {
			t.Errorf("expired user with a future date = %+v; want 2030-01-31, invited", x)
		}
		if x := e.user(t, acme.ID, "exp2@acme.example"); x.ExpirationDate != yesterday || x.InvitationCount != 0 || x.FirstName != "Pat" {
			t.Errorf("expired user without a date = %+v; want unchanged, not invited", x)
		}
		for _, email := range []string{"date@acme.example", "perm@acme.example"} {
			if _, err := e.db.UserByEmail(ctx, acme.ID, email); !errors.Is(err, roster.ErrNotFound) {
				t.Errorf("error row %s created a user (%v)", email, err)
			}
		}

		report := readReport(t, e, boss, im.ID)
		wantOutcomes := [][2]string{{"2", "created"}, {"3", "updated"}, {"4", "updated"}, {"5", "error"}, {"6", "error"}, {"8", "error"}, {"9", "error"}, {"10", "error"}}
		if len(report) != len(wantOutcomes)+1 || !slices.Equal(report[0], admin.ImportReportHeader) {
			t.Fatalf("report = %q, want header and %d rows", report, len(wantOutcomes))
		}
		for i, w := range wantOutcomes {
			if r := report[i+1]; r[0] != w[0] || r[2] != w[1] {
				t.Errorf("report line %d = %q, want row %s %s", i+1, r, w[0], w[1])
			}
		}
		if r := report[5]; r[1] != "'=1+1" || !strings.HasPrefix(r[3], "email: ") {
			t.Errorf("report of row 6 = %q, want the formula neutralized ('=1+1) and the email problem", r)
		}

		// The report is valid for re-upload: its email column is read, the
		// rest is reported as unknown columns.
		var rep bytes.Buffer
		if err := e.svc.WriteImportReport(ctx, boss, im.ID, &rep); err != nil {
			t.Fatal(err)
		}
		rp, err := e.svc.PreviewImport(ctx, boss, &rep, admin.ImportOptions{})
		if err != nil {
			t.Fatalf("re-uploading the report: %v", err)
		}
		if rp.Import.Rows != 8 || rp.Import.WillUpdate != 3 || rp.Import.UnknownColumns != "row, outcome, message" {
			t.Errorf("report re-uploaded: %+v; want 8 rows, the 3 applied ones updated, row/outcome/message ignored", rp.Import)
		}
		if err := e.svc.DiscardImport(ctx, boss, rp.Import.ID); err != nil {
			t.Fatal(err)
		}

		if _, err := e.svc.ApplyImport(ctx, boss, im.ID); !errors.Is(err, admin.ErrImportNotPreviewed) {
			t.Errorf("ApplyImport(twice) = %v, want ErrImportNotPreviewed", err)
		}

		// SPEC: re-running the same file updates and re-invites, never duplicates.
		p2, err := e.svc.PreviewImport(ctx, boss, strings.NewReader(importFile), opts)
		if err != nil {
			t.Fatal(err)
		}
		if p2.Import.WillCreate != 0 || p2.Import.WillUpdate != 3 {
			t.Errorf("second preview: create %d, update %d; want 0, 3", p2.Import.WillCreate, p2.Import.WillUpdate)
		}
		apply(t, e, boss, p2.Import.ID)
		again := e.invCounts(t, acme.ID)
		if again.users != after.users || again.jobs != after.jobs+3 {
			t.Errorf("re-run: users %d -> %d (want same), jobs %d -> %d (want +3)", after.users, again.users, after.jobs, again.jobs)
		}
		if n := e.user(t, acme.ID, "new@acme.example").InvitationCount; n != 2 {
			t.Errorf("re-run: new@ invitation count %d, want 2", n)
		}
		if evs := e.audit(t, acme.ID, "import.apply"); len(evs) != 2 {
			t.Errorf("import.apply audit events = %d, want 2", len(evs))
		}
	})
}

func TestImportRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		acme := e.org(t, "acme")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		before := e.invCounts(t, acme.ID)
		imports := func() int {
			list, err := e.db.Imports(ctx, acme.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}

		_, err := e.svc.PreviewImport(ctx, boss, strings.NewReader("Name,Mail\nA,a@acme.example\n"), admin.ImportOptions{})
		var he *csvimport.HeaderError
		if !errors.As(err, &he) || !strings.Contains(err.Error(), "email") || !strings.Contains(err.Error(), "Mail") {
			t.Errorf("no email column: err = %v, want a HeaderError naming expected and found columns", err)
		}
		_, err = e.svc.PreviewImport(ctx, boss, strings.NewReader("email\na@acme.example\nb@acme.example\nc@acme.example\n"), admin.ImportOptions{MaxRows: 2})
		var le *csvimport.LimitError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), "2") {
			t.Errorf("over the row limit: err = %v, want a LimitError stating the limit", err)
		}
		_, err = e.svc.PreviewImport(ctx, boss, strings.NewReader("email\na@acme.example\n"),
			admin.ImportOptions{DefaultExpiration: e.svc.Today(boss), WelcomeMessage: roster.Some(strings.Repeat("x", admin.MaxWelcomeMessage+1))})
		if f := validationFields(err); !slices.Equal(f, []string{"default_expiration_date", "welcome_message"}) {
			t.Errorf("bad options: fields %v (err %v), want default_expiration_date and welcome_message", f, err)
		}
		if n := imports(); n != 0 {
			t.Errorf("refused uploads left %d imports behind", n)
		}
		if got := e.invCounts(t, acme.ID); got != before {
			t.Errorf("refused uploads changed something: %v -> %v", before, got)
		}

		// No granting what the uploader lacks (SPEC "Bulk Upload").
		e.plainUser(t, acme.ID, "limited@acme.example", invMU, roster.Date{}, "")
		limited := e.cliActor(t, "acme", "limited@acme.example")
		p, err := e.svc.PreviewImport(ctx, limited, strings.NewReader("email,permissions\nx@acme.example,view_analytics\ny@acme.example,\n"), admin.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Import.WillFail != 1 || p.Import.WillCreate != 1 || len(p.Issues) != 1 || p.Issues[0].Row != 2 || p.Issues[0].Column != "permissions" {
			t.Errorf("granting a lacked permission: preview %+v issues %+v; want row 2 permissions error, row 3 created", p.Import, p.Issues)
		}
	})
}

// TestImportBatches applies a file larger than one batch and checks that
// every row is applied once, in order, with its report line.
func TestImportBatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		acme := e.org(t, "acme")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		const n = 2500
		var f bytes.Buffer
		f.WriteString("email,first_name\n")
		for i := range n {
			fmt.Fprintf(&f, "user%04d@acme.example,User %d\n", i, i)
		}
		p, err := e.svc.PreviewImport(ctx, boss, &f, admin.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Import.WillCreate != n {
			t.Fatalf("preview creates %d, want %d", p.Import.WillCreate, n)
		}
		before := e.invCounts(t, acme.ID)
		apply(t, e, boss, p.Import.ID)
		got, err := e.svc.Import(ctx, boss, p.Import.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g := got.Import; g.Created != n || g.Invited != n || g.Batches != 3 || g.LastRow != n+1 {
			t.Errorf("applied %+v; want %d created and invited in 3 batches, last row %d", g, n, n+1)
		}
		if after := e.invCounts(t, acme.ID); after.users != before.users+n || after.jobs != before.jobs+n {
			t.Errorf("users +%d, jobs +%d; want +%d each", after.users-before.users, after.jobs-before.jobs, n)
		}
		report := readReport(t, e, boss, p.Import.ID)
		if len(report) != n+1 || report[n][0] != fmt.Sprint(n+1) || report[n][1] != fmt.Sprintf("user%04d@acme.example", n-1) {
			t.Errorf("report has %d lines, last %q; want %d lines ending with row %d", len(report), report[len(report)-1], n+1, n+1)
		}
	})
}

// TestImportLeaseTakeover: an instance that claimed an import and died
// (stopped renewing its lease) loses it to another, which finishes it.
func TestImportLeaseTakeover(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		acme := e.org(t, "acme")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		p, err := e.svc.PreviewImport(ctx, boss, strings.NewReader("email\na@acme.example\nb@acme.example\n"), admin.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.ApplyImport(ctx, boss, p.Import.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.ClaimImport(ctx, "dead-instance", p.Import.ID, e.clock.Now(), admin.DefaultImportLease); err != nil {
			t.Fatal(err)
		}
		if ran, err := e.svc.RunOneImport(ctx, "live-instance", 0); ran || err != nil {
			t.Errorf("RunOneImport while the lease holds = %v, %v; want false, nil", ran, err)
		}
		e.clock.Advance(admin.DefaultImportLease + time.Second)
		if ran, err := e.svc.RunOneImport(ctx, "live-instance", 0); !ran || err != nil {
			t.Fatalf("RunOneImport after the lease ran out = %v, %v; want true, nil", ran, err)
		}
		got, err := e.svc.Import(ctx, boss, p.Import.ID)
		if err != nil || got.Import.State != store.ImportDone || got.Import.Created != 2 {
			t.Errorf("taken-over import = %+v, %v; want done with 2 created", got.Import, err)
		}
		_ = acme
	})
}

// TestImportDiscardAndExpiry: a preview can be discarded (never an applied
// import), and previews nobody applied are forgotten after ImportPreviewTTL.
func TestImportDiscardAndExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		acme := e.org(t, "acme")
		e.org(t, "other")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		e.addAdminCLI(t, "other", "chief@other.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		chief := e.cliActor(t, "other", "chief@other.example")
		preview := func() int64 {
			p, err := e.svc.PreviewImport(ctx, boss, strings.NewReader("email\na@acme.example\n"), admin.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return p.Import.ID
		}
		id := preview()
		if err := e.svc.DiscardImport(ctx, chief, id); !errors.Is(err, roster.ErrNotFound) {
			t.Errorf("DiscardImport(other org) = %v, want ErrNotFound", err)
		}
		if err := e.svc.DiscardImport(ctx, boss, id); err != nil {
			t.Fatalf("DiscardImport: %v", err)
		}
		if _, err := e.svc.Import(ctx, boss, id); !errors.Is(err, roster.ErrNotFound) {
			t.Errorf("Import(discarded) = %v, want ErrNotFound", err)
		}
		applied := preview()
		apply(t, e, boss, applied)
		if err := e.svc.DiscardImport(ctx, boss, applied); !errors.Is(err, admin.ErrImportNotPreviewed) {
			t.Errorf("DiscardImport(applied) = %v, want ErrImportNotPreviewed", err)
		}

		stale := preview()
		e.clock.Advance(admin.ImportPreviewTTL + time.Hour)
		fresh := preview()
		n, err := e.db.DeleteStaleImports(ctx, e.clock.Now().Add(-admin.ImportPreviewTTL))
		if err != nil || n != 1 {
			t.Errorf("DeleteStaleImports = %d, %v; want 1", n, err)
		}
		if _, err := e.svc.ImportStatus(ctx, boss, stale); !errors.Is(err, roster.ErrNotFound) {
			t.Errorf("stale preview still there (%v)", err)
		}
		for _, id := range []int64{fresh, applied} {
			if _, err := e.svc.ImportStatus(ctx, boss, id); err != nil {
				t.Errorf("ImportStatus(%d) after the sweep: %v", id, err)
			}
		}
		_ = acme
	})
}

// TestImportOrgLocaleDates: slash dates are read in the organization's
// locale, never guessed across locales (SPEC "Bulk Upload").
func TestImportOrgLocaleDates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		uk := e.org(t, "uk", func(o *roster.Org) { o.Locale = "en-GB" })
		e.addAdminCLI(t, "uk", "boss@uk.example")
		boss := e.cliActor(t, "uk", "boss@uk.example")
		p, err := e.svc.PreviewImport(ctx, boss, strings.NewReader("email,expiration_date\r\ngb@uk.example,31/12/2030\r\nus@uk.example,12/31/2030\r\niso@uk.example,2030-12-31\r\n"), admin.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Import.WillCreate != 2 || len(p.Issues) != 1 || p.Issues[0].Row != 3 || p.Issues[0].Column != "expiration_date" {
			t.Fatalf("en-GB preview: %+v, issues %+v; want rows 2 and 4 created, row 3 (a US date) an expiration_date error", p.Import, p.Issues)
		}
		apply(t, e, boss, p.Import.ID)
		for _, email := range []string{"gb@uk.example", "iso@uk.example"} {
			if u := e.user(t, uk.ID, email); u.ExpirationDate != invDate("2030-12-31") {
				t.Errorf("%s expires %v, want 2030-12-31", email, u.ExpirationDate)
			}
		}
	})
}

// apply starts an import and runs it to the end in this goroutine.
func apply(t *testing.T, e *env, a *roster.Actor, id int64) {
	t.Helper()
	if _, err := e.svc.ApplyImport(t.Context(), a, id); err != nil {
		t.Fatalf("ApplyImport(%d): %v", id, err)
	}
	if ran, err := e.svc.RunOneImport(t.Context(), "test", id); !ran || err != nil {
		t.Fatalf("RunOneImport(%d) = %v, %v", id, ran, err)
	}
}

func readReport(t *testing.T, e *env, a *roster.Actor, id int64) [][]string {
	t.Helper()
	var buf bytes.Buffer
	if err := e.svc.WriteImportReport(t.Context(), a, id, &buf); err != nil {
		t.Fatalf("WriteImportReport: %v", err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("report is not CSV: %v\n%s", err, buf.String())
	}
	return recs
}
