package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestBrowserImport drives Bulk upload in headless Chromium: Ada opens it
// from User Management, drops a wrong file and then a 10,000-row file on the
// upload zone (a synthetic drop event carrying a File, as a person's drag
// would), reads the preview, presses Invite Users, watches the progress bar
// follow the import without reloading, and downloads the report. Then,
// with JavaScript off, the same pages work through the plain file input and
// the self-refreshing progress page. Screenshots: import-upload,
// import-preview, import-progress, import-result (and phone variants).
func TestBrowserImport(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := os.Stat(browserChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required under CI=true: %v", err)
		}
		t.Skipf("no Chromium at %s: %v", browserChromiumPath, err)
	}
	ctx := context.Background()

	db := storetest.OpenSQLite(t)
	ts := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + ts.Listener.Addr().String()
	svc := admin.New(admin.Options{DB: db, BaseURL: baseURL})
	h, err := server.Handler(server.Options{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)

	const (
		adaEmail    = "ada@acme.example"
		adaPassword = "correct horse battery staple 42"
		welcome     = "Welcome to Acme Corp! Your login is below."
		newUsers    = 9997
	)
	if err := svc.CreateOrg(ctx, &roster.Org{Name: "Acme Corp", Slug: "acme", UserManagement: true}); err != nil {
		t.Fatal(err)
	}
	_, link, err := svc.AddAdmin(ctx, "acme", adaEmail)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.UseLink(ctx, link[strings.LastIndex(link, "/")+1:], adaPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser(ctx, sess.Actor, sess.Actor.User.ID, admin.UserPatch{FirstName: roster.Some("Ada"), LastName: roster.Some("Lovelace")}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Invite(ctx, sess.Actor, admin.InviteInput{Email: "grace@acme.example", FirstName: roster.Some("Grace"), LastName: roster.Some("Hopper")}); err != nil {
		t.Fatal(err)
	}
	today := svc.Today(sess.Actor)
	expires := today.AddDays(90)

	shots := newBrowserShots(t)
	browserCtx := startInviteBrowser(t)
	ada := newBrowserPerson(t, browserCtx, "Ada", baseURL, shots)

	// 1. From User Management to Bulk upload.
	ada.open(baseURL + "/signin")
	ada.signIn(adaEmail, adaPassword, http.StatusOK)
	ada.do(chromedp.Click(chromedp.CSS("#profile-menu > summary")), chromedp.WaitVisible(chromedp.ID("menu-user-management")))
	if st := ada.submit("#menu-user-management"); st != http.StatusOK {
		t.Fatalf("User Management: status %d", st)
	}
	if got := ada.text("#bulk-upload"); got != "Bulk upload" {
		t.Errorf("the User Management button reads %q, want Bulk upload", got)
	}
	if st := ada.submit("#bulk-upload"); st != http.StatusOK {
		t.Fatalf("Bulk upload: status %d", st)
	}
	ada.wantPath("/users/import")
	ada.wantHeading("Bulk upload")
	ada.wantText("up to 1,000,000 rows and 256 MiB")
	ada.wantText("leave blank to keep each user's current message")
	if !ada.visible("#drop-hint") {
		t.Error("with JavaScript, the upload zone does not invite a drop")
	}
	// The sample file, as the link serves it.
	sample := ada.fetchText(`document.getElementById("sample-csv").href`)
	if !strings.HasPrefix(sample, "email,first_name,last_name,expiration_date,permissions\r\n") || strings.Count(sample, "\n") != 3 {
		t.Errorf("sample CSV:\n%s", sample)
	}

	// 2. A file over the size limit is stopped in the browser (the limit
	// is lowered here: a real one would be 256 MiB).
	ada.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("dropzone").dataset.maxBytes = "16"`))
	ada.dropFile("#dropzone", "big.csv", "email\nsomeone@acme.example\n")
	if got := ada.text("#file-name"); !strings.Contains(got, "This file is larger than 256 MiB") {
		t.Errorf("a file over the limit shows %q", got)
	}
	if !ada.eval(`!document.getElementById("file").checkValidity()`) {
		t.Error("a file over the limit can be submitted")
	}
	ada.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("dropzone").dataset.maxBytes = "268435456"`))

	// A file without an email column, dropped: refused whole, with what
	// was typed kept.
	ada.do(chromedp.SendKeys(chromedp.ID("welcome_message"), welcome))
	ada.dropFile("#dropzone", "names.csv", "First Name,Last Name,Department\nLin,Lee,R&D\n")
	if got := ada.text("#file-name"); !strings.HasPrefix(got, "names.csv") {
		t.Errorf("after the drop the zone shows %q, want names.csv", got)
	}
	if st := ada.submit("#preview-button"); st != http.StatusUnprocessableEntity {
		t.Errorf("preview of a file without email: status %d, want 422", st)
	}
	ada.wantHeading("Bulk upload")
	if got, want := ada.text("#file-error"), `no "email" column: expected email, first_name, last_name, expiration_date, permissions; found "First Name", "Last Name", "Department"`; got != want {
		t.Errorf("file error %q, want %q", got, want)
	}
	if got := ada.value("welcome_message"); got != welcome {
		t.Errorf("after a refused file the welcome message is %q, want %q", got, welcome)
	}
	ada.dropFile("#dropzone", "other.csv", "email\nother@acme.example\n")
	if ada.visible("#file-error") {
		t.Error("the refused file's message stays after another file is dropped")
	}

	// 3. The real file, on a fresh form: an update, two bad rows, and many
	// new users.
	ada.open(baseURL + "/users/import")
	ada.atPhoneWidth("import-upload-phone")
	ada.do(chromedp.SendKeys(chromedp.ID("welcome_message"), welcome))
	var csv strings.Builder
	csv.WriteString("Email,First Name,Last Name,Department\r\n")
	csv.WriteString("grace@acme.example,Grace,Murray Hopper,Navy\r\n")
	csv.WriteString("not-an-email,Bad,Row,\r\n")
	csv.WriteString("GRACE@acme.example,Grace,Again,\r\n")
	for i := range newUsers {
		fmt.Fprintf(&csv, "person%05d@acme.example,Person,%05d,Ops\r\n", i, i)
	}
	ada.dropFile("#dropzone", "team.csv", csv.String())
	if got := ada.text("#file-name"); !strings.HasPrefix(got, "team.csv (") {
		t.Errorf("after the drop the zone shows %q, want team.csv and its size", got)
	}
	if got := ada.evalString(`document.getElementById("file").files[0].name`); got != "team.csv" {
		t.Errorf("the file input holds %q after the drop, want team.csv", got)
	}
	// The file input, visually replaced by the Choose file button, keeps
	// the keyboard focus, which the button shows.
	ada.wantFocus("#file")
	if got := ada.evalString(`getComputedStyle(document.querySelector("#drop-hint .choose")).outlineStyle`); got != "solid" {
		t.Errorf("with the file input focused, Choose file has outline %q, want solid", got)
	}
	ada.typeDate("default_expiration_date", expires)
	ada.do(chromedp.Blur(chromedp.ID("default_expiration_date")))
	ada.shot("import-upload")
	if !ada.visible("#drop-hint .choose") {
		t.Error("the upload zone has no Choose file button")
	}
	if st := ada.submit("#preview-button"); st != http.StatusOK {
		t.Fatalf("preview: status %d; page %q", st, ada.bodyText())
	}
	loc := ada.location()
	m := regexp.MustCompile(`/imports/(\d+)$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("after Preview Ada is on %s, want /imports/{id}", loc)
	}
	page := "/imports/" + m[1]
	ada.wantHeading("Preview of team.csv")
	ada.wantText("Nothing has changed yet.")
	for id, want := range map[string]string{
		"count-create": fmt.Sprintf("%s new users", commas(newUsers)),
		"count-update": "1 existing user will be updated",
		"count-invite": fmt.Sprintf("%s invitations will be sent", commas(newUsers+1)),
		"count-errors": "2 rows have errors (they will be skipped)",
	} {
		if got := strings.Join(strings.Fields(ada.text("#"+id)), " "); got != want {
			t.Errorf("preview #%s = %q, want %q", id, got, want)
		}
	}
	if got := ada.text("#unknown-columns"); !strings.HasPrefix(got, "Ignored columns: Department.") {
		t.Errorf("unknown columns: %q", got)
	}
	errRows := ada.tableRows("#import-errors")
	if len(errRows) != 2 || strings.Join(errRows[0], "|") != "3|email|“not-an-email” is not a valid email address" ||
		strings.Join(errRows[1], "|") != "4|email|duplicate of row 2's email; each email may appear once" {
		t.Errorf("error rows = %q", errRows)
	}
	changes := ada.tableRows("#import-changes")
	if len(changes) != 1 || changes[0][0] != "2" || changes[0][1] != "grace@acme.example" ||
		!strings.Contains(changes[0][2], "Last name: Hopper → Murray Hopper") ||
		!strings.Contains(changes[0][2], "Expiration date: none → "+expires.String()) ||
		!strings.Contains(changes[0][2], "Welcome message: (blank) → "+welcome) {
		t.Errorf("changes = %q", changes)
	}
	if userByEmail(t, svc, sess.Actor, "person00000@acme.example") != nil {
		t.Error("the preview created a user")
	}
	ada.shot("import-preview")
	ada.atPhoneWidth("import-preview-phone")

	// 4. Invite Users: the progress page, then the result. The runner is
	// started only now, and held mid-way, so the page is seen moving.
	if st := ada.submit("#invite-users"); st != http.StatusOK {
		t.Fatalf("Invite Users: status %d", st)
	}
	ada.wantPath(page)
	ada.wantHeading("Inviting users")
	ada.wantText("You can close this page: the upload continues on the server.")
	if got := strings.Join(strings.Fields(ada.text("#progress-text")), " "); got != fmt.Sprintf("0 of %s rows", commas(newUsers+3)) {
		t.Errorf("progress before the runner started: %q", got)
	}
	ada.do(chromedp.Evaluate[chromedp.Void](`window.sameProgressPage = true`))

	stopRunner := startImportRunner(t, svc)
	id := mustAtoi(t, m[1])
	frozen := holdImportMidway(t, db, svc, sess.Actor, id)
	if frozen.State == store.ImportApplying {
		// Held between two batches: the page (by polling) shows where the
		// import stands, without a reload.
		want := commas(frozen.Processed)
		ada.waitFor(fmt.Sprintf("progress %s of %s", want, commas(frozen.Rows)), func() bool {
			return ada.evalString(`document.getElementById("processed").textContent`) == want
		})
		if !ada.eval(`window.sameProgressPage === true`) {
			t.Error("the progress page reloaded instead of updating in place")
		}
		if got := ada.evalInt(`document.getElementById("import-progress").value`); got != frozen.Processed {
			t.Errorf("progress bar value %d, want %d", got, frozen.Processed)
		}
		ada.shot("import-progress")
		ada.atPhoneWidth("import-progress-phone")
	} else {
		t.Logf("the import finished (%s) before it could be held mid-way; no progress screenshot", frozen.State)
	}
	frozen.release()

	ada.waitFor("the result page", func() bool {
		return ada.evalString(`(document.querySelector("main h1") || {}).textContent || ""`) == "Upload complete"
	})
	ada.wantPath(page)
	for id, want := range map[string]string{
		"count-created": fmt.Sprintf("%s users created", commas(newUsers)),
		"count-updated": "1 user updated",
		"count-invited": fmt.Sprintf("%s invitations queued", commas(newUsers+1)),
		"count-errors":  "2 rows with errors (skipped)",
	} {
		if got := strings.Join(strings.Fields(ada.text("#"+id)), " "); got != want {
			t.Errorf("result #%s = %q, want %q", id, got, want)
		}
	}
	if errRows := ada.tableRows("#import-errors"); len(errRows) != 2 || errRows[0][0] != "3" || errRows[1][0] != "4" {
		t.Errorf("result error rows = %q", errRows)
	}
	ada.shot("import-result")

	// The report, downloaded by its link…
	report := ada.download("#download-report")
	if report.name != "roster-import-"+m[1]+"-report.csv" {
		t.Errorf("the report downloads as %q", report.name)
	}
	lines := strings.Split(strings.TrimSpace(report.body), "\n")
	if len(lines) != newUsers+4 || lines[0] != "row,email,outcome,message" ||
		lines[1] != "2,grace@acme.example,updated,invitation queued" ||
		!strings.HasPrefix(lines[2], "3,not-an-email,error,email: ") ||
		!strings.HasPrefix(lines[3], "4,grace@acme.example,error,email: duplicate of row 2") ||
		lines[4] != "5,person00000@acme.example,created,invitation queued" {
		t.Errorf("report: %d lines, starting %q", len(lines), lines[:min(len(lines), 5)])
	}
	// …and as the link's address serves it.
	if body := ada.fetchText(`document.getElementById("download-report").href`); body != report.body {
		t.Errorf("the report fetched differs from the one downloaded")
	}
	grace := userByEmail(t, svc, sess.Actor, "grace@acme.example")
	if grace == nil || grace.LastName != "Murray Hopper" || grace.WelcomeMessage != welcome || grace.ExpirationDate != expires {
		t.Errorf("Grace after the upload: %+v", grace)
	}
	ada.atPhoneWidth("import-result-phone")

	// 5. Without JavaScript: the file picker, and a progress page that
	// refreshes itself.
	plain := newBrowserPerson(t, browserCtx, "Ada without JavaScript", baseURL, shots)
	plain.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))
	plain.open(baseURL + "/signin")
	plain.signIn(adaEmail, adaPassword, http.StatusOK)
	plain.open(baseURL + "/users/import")
	plain.wantHeading("Bulk upload")
	if plain.visible("#drop-hint") {
		t.Error("without JavaScript the page offers a drop it cannot take")
	}
	file := filepath.Join(t.TempDir(), "few.csv")
	if err := os.WriteFile(file, []byte("email,first_name\nfew1@acme.example,Few\nfew2@acme.example,Fewer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plain.do(chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}))
	if st := plain.submit("#preview-button"); st != http.StatusOK {
		t.Fatalf("no-JS preview: status %d; page %q", st, plain.bodyText())
	}
	plain.wantHeading("Preview of few.csv")
	if got := strings.Join(strings.Fields(plain.text("#count-create")), " "); got != "2 new users" {
		t.Errorf("no-JS preview: %q", got)
	}
	// With no runner, the import waits on the progress page, which reloads
	// itself until the import (run here) has finished.
	stopRunner()
	if st := plain.submit("#invite-users"); st != http.StatusOK {
		t.Fatalf("no-JS Invite Users: status %d", st)
	}
	plain.wantHeading("Inviting users")
	if n := plain.count(`meta[http-equiv=refresh][content="2"]`); n != 1 {
		t.Errorf("without JavaScript the progress page has %d refresh tags, want 1", n)
	}
	plainID := mustAtoi(t, strings.TrimPrefix(plain.location()[len(baseURL):], "/imports/"))
	if ran, err := svc.RunOneImport(ctx, "browser-test", plainID); !ran || err != nil {
		t.Fatalf("RunOneImport(%d) = %v, %v", plainID, ran, err)
	}
	plain.waitFor("the no-JS result page", func() bool {
		return plain.evalString(`(document.querySelector("main h1") || {}).textContent || ""`) == "Upload complete"
	})
	if got := strings.Join(strings.Fields(plain.text("#count-created")), " "); got != "2 users created" {
		t.Errorf("no-JS result: %q", got)
	}
}

func commas(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// startImportRunner runs the import runner, as `roster serve` does, until
// the returned func (or the test's end) stops it.
func startImportRunner(t *testing.T, svc *admin.Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.RunImports(ctx, "browser-test") }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunImports: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// dropFile drops a file holding content on the element, as a person
// dragging it from their desktop would: dragenter, dragover and drop
// events carrying a DataTransfer with a File.
func (p *browserPerson) dropFile(css, name, content string) {
	p.t.Helper()
	js := fmt.Sprintf(`(() => {
		const zone = document.querySelector(%q);
		const dt = new DataTransfer();
		dt.items.add(new File([%s], %q, {type: "text/csv"}));
		const r = zone.getBoundingClientRect();
		const at = {bubbles: true, cancelable: true, dataTransfer: dt, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2};
		zone.dispatchEvent(new DragEvent("dragenter", at));
		const over = zone.dispatchEvent(new DragEvent("dragover", at));
		zone.dispatchEvent(new DragEvent("drop", at));
		return over ? "dragover was not accepted" : "";
	})()`, css, jsString(content), name)
	if problem := p.evalString(js); problem != "" {
		p.t.Errorf("%s drops %s: %s", p.name, name, problem)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fetchText fetches the address the JavaScript expression gives, with the
// page's cookies, and returns the body.
func (p *browserPerson) fetchText(urlExpr string) string {
	p.t.Helper()
	return browserRun(p, chromedp.Evaluate[string](fmt.Sprintf(`fetch(%s).then(r => r.ok ? r.text() : Promise.reject(new Error("status " + r.status)))`, urlExpr),
		chromedp.EvalAwaitPromise))
}

// tableRows returns the cells of the table's body rows as they read.
func (p *browserPerson) tableRows(css string) [][]string {
	p.t.Helper()
	return browserRun(p, chromedp.Evaluate[[][]string](fmt.Sprintf(
		`[...document.querySelectorAll(%q)].map(tr => [...tr.cells].map(td => td.innerText.trim().replace(/\s+/g, " ")))`, css+" tbody tr")))
}

// waitFor polls ok for up to a minute.
func (p *browserPerson) waitFor(what string, ok func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s waited a minute for %s at %s; the page says:\n%s", p.name, what, p.location(), p.bodyText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// atPhoneWidth reloads the page at 375 px, checks that the page itself does
// not scroll sideways, saves a screenshot and returns to the laptop size.
func (p *browserPerson) atPhoneWidth(shot string) {
	p.t.Helper()
	p.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	p.reload()
	if w := p.evalInt(`document.documentElement.scrollWidth`); w > 376 {
		p.t.Errorf("at 375 px, %s is %d px wide: it scrolls sideways", p.location(), w)
	}
	p.shot(shot)
	// chromedp.ResetViewport leaves the page laid out at phone width;
	// clearing the override restores the window's size.
	p.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
		return err
	}))
	p.reload()
	if w := p.evalInt(`window.innerWidth`); w < 1000 {
		p.t.Errorf("back from phone width, the window is %d px wide", w)
	}
}

type downloaded struct{ name, body string }

// download clicks the link and returns the file the browser saved.
func (p *browserPerson) download(css string) downloaded {
	p.t.Helper()
	dir := p.t.TempDir()
	ctx, cancel := p.step()
	defer cancel()
	begin := chromedp.Events(ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	events := true
	_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events,
		BrowserContextID: chromedp.FromContext(p.ctx).BrowserContextID,
	})
	if err != nil {
		p.t.Fatalf("%s: set download behavior: %v", p.name, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible)); err != nil {
		p.t.Fatalf("%s: click %s: %v", p.name, css, err)
	}
	var name string
	for ev, err := range begin {
		if err != nil {
			p.t.Fatalf("%s: download did not begin: %v", p.name, err)
		}
		name = ev.SuggestedFilename
		break
	}
	for ev, err := range progress {
		if err != nil {
			p.t.Fatalf("%s: download did not complete: %v", p.name, err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			p.t.Fatalf("%s: the download was canceled", p.name)
		}
		if ev.State != browser.DownloadProgressStateCompleted {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
		if err != nil {
			p.t.Fatal(err)
		}
		return downloaded{name: name, body: string(b)}
	}
	p.t.Fatalf("%s: no download", p.name)
	return downloaded{}
}

// holdWrites takes the database's write connection (SQLite has one) until
// the returned func is called: every write waits meanwhile.
func holdWrites(t *testing.T, db *store.DB) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- db.InTx(context.Background(), func(*store.Tx) error {
			close(held)
			<-done
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-errc:
		t.Fatalf("hold writes: %v", err)
	}
	var once bool
	return func() {
		if !once {
			once = true
			close(done)
			if err := <-errc; err != nil {
				t.Errorf("hold writes: %v", err)
			}
		}
	}
}

// frozenImport is an import held between two of its batches.
type frozenImport struct {
	*store.Import
	release func()
}

// holdImportMidway waits until the runner has applied a first batch of the
// import, then holds the database's writes so that it stops between two
// batches, and returns the import as it then stands.
func holdImportMidway(t *testing.T, db *store.DB, svc *admin.Service, a *roster.Actor, id int64) frozenImport {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		p, err := svc.Import(context.Background(), a, id)
		if err != nil {
			t.Fatalf("Import(%d): %v", id, err)
		}
		if p.Import.State != store.ImportApplying {
			return frozenImport{Import: p.Import, release: func() {}}
		}
		if p.Import.Processed > 0 {
			release := holdWrites(t, db)
			// Re-read: a batch may have committed before the hold.
			p, err := svc.Import(context.Background(), a, id)
			if err != nil {
				release()
				t.Fatalf("Import(%d): %v", id, err)
			}
			return frozenImport{Import: p.Import, release: release}
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %d did not start within a minute", id)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
