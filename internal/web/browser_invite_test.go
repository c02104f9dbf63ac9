package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/outbox"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestBrowserInvitation drives the invitation flow end to end in headless
// Chromium, with the real server over SQLite and the real outbox worker
// writing .eml files into a mailbox directory: Ada invites Grace from the
// invite form, Grace reads the email, follows its link and sets a password;
// Ada then resends (a sign-in link this time), edits and removes Grace, and
// is refused a resend to a user whose access has expired. Screenshots of
// the key screens go where TestBrowserFoundation's go.
func TestBrowserInvitation(t *testing.T) {
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

	// The real server over SQLite, and the outbox worker sending the queued
	// invitations into a mailbox directory.
	db := storetest.OpenSQLite(t)
	mailDir := filepath.Join(t.TempDir(), "mailbox")
	mb, err := mail.NewMailbox(mailDir, mail.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + ts.Listener.Addr().String()
	svc := admin.New(admin.Options{DB: db, BaseURL: baseURL, Mailer: mb})
	h, err := server.Handler(server.Options{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)

	w, err := outbox.New(outbox.Options{DB: db, Sender: mb, BaseURL: baseURL, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	workerCtx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan error, 1)
	go func() { workerDone <- w.Run(workerCtx) }()
	t.Cleanup(func() {
		stopWorker()
		if err := <-workerDone; err != nil {
			t.Errorf("outbox worker: %v", err)
		}
	})
	inbox := &testMailbox{t: t, dir: mailDir}

	setupLink, err := svc.FirstRunLink(ctx)
	if err != nil || setupLink == "" {
		t.Fatalf("FirstRunLink = %q, %v", setupLink, err)
	}

	shots := newBrowserShots(t)
	browserCtx := startInviteBrowser(t)
	ada := newBrowserPerson(t, browserCtx, "Ada", baseURL, shots)
	grace := newBrowserPerson(t, browserCtx, "Grace", baseURL, shots)
	reader := newBrowserPerson(t, browserCtx, "Grace's mail reader", baseURL, shots)

	const (
		adaEmail      = "ada@acme.example"
		adaPassword   = "correct horse battery staple 42"
		graceEmail    = "grace@acme.example"
		gracePassword = "correct horse battery staple 42"
		welcome       = "Welcome to the team! <b>not bold</b>"
		linEmail      = "lin@acme.example"
	)

	// 1. Ada sets Roster up through the first-run link and opens User
	// Management from her profile menu.
	if st := ada.open(setupLink); st != http.StatusOK {
		t.Fatalf("setup link: status %d", st)
	}
	ada.wantHeading("Set up Roster")
	for id, v := range map[string]string{"org_name": "Acme Corp", "org_slug": "acme", "first_name": "Ada",
		"last_name": "Lovelace", "email": adaEmail, "password": adaPassword} {
		ada.fill(id, v)
	}
	if st := ada.submit(`form button[type=submit]`); st != http.StatusOK {
		t.Fatalf("setup: status %d, want 200 after the redirect; page: %q", st, ada.bodyText())
	}
	ada.wantHeading("Welcome, Ada Lovelace")
	ada.do(chromedp.Click(chromedp.CSS("#profile-menu > summary")),
		chromedp.WaitVisible(chromedp.ID("menu-user-management")))
	if st := ada.submit("#menu-user-management"); st != http.StatusOK {
		t.Fatalf("User Management: status %d", st)
	}
	ada.wantPath("/users")
	ada.wantHeading("User Management")
	adaActor := ada.actor(svc)
	today := svc.Today(adaActor)
	expires := today.AddDays(30)

	// 2. The invite form: first with a mistake, then right.
	if st := ada.submit("#invite-user"); st != http.StatusOK {
		t.Fatalf("Invite user: status %d", st)
	}
	ada.wantPath("/users/invite")
	ada.wantHeading("Invite user")
	for _, id := range []string{"email", "first_name", "last_name"} {
		if !ada.visible("#" + id) {
			t.Errorf("the invite form has no visible #%s field", id)
		}
	}
	var perms []string
	for _, p := range roster.AllPermissions {
		perms = append(perms, p.Label())
	}
	if got := ada.evalString(`[...document.querySelectorAll("fieldset label.check")].map(l => l.innerText.trim()).join("|")`); got != strings.Join(perms, "|") {
		t.Errorf("permission checkboxes %q, want %q", got, strings.Join(perms, "|"))
	}
	if n := ada.count(`input[type=checkbox][name=permissions]:not(:checked):not(:disabled)`); n != 4 {
		t.Errorf("the invite form has %d enabled, unticked permission checkboxes, want 4", n)
	}
	if got := ada.text("details.more > summary"); got != "Additional settings" {
		t.Errorf("the additional settings are under %q", got)
	}
	if ada.visible("#expiration_date") || ada.visible("#welcome_message") {
		t.Error("the additional settings are shown before anyone opened them")
	}
	ada.do(chromedp.Click(chromedp.CSS("details.more > summary")), chromedp.WaitVisible(chromedp.ID("welcome_message")))
	if !ada.visible("#expiration_date") {
		t.Error("Additional settings, opened, does not show the expiration date")
	}
	if got := ada.evalString(`document.getElementById("expiration_date").type`); got != "date" {
		t.Errorf("the expiration date input has type %q, want date", got)
	}

	ada.fill("email", "not-an-email")
	ada.fill("first_name", "Grace")
	ada.do(chromedp.SendKeys(chromedp.ID("welcome_message"), welcome))
	if st := ada.submit(`form[action="/users/invite"] button[type=submit]`); st != http.StatusUnprocessableEntity {
		t.Errorf("invite with a bad email: status %d, want 422", st)
	}
	ada.wantPath("/users/invite")
	ada.wantText("The invitation was not sent. Correct the fields marked below.")
	if got := ada.text("#email-error"); !strings.Contains(got, "is not a valid email address") {
		t.Errorf("email error %q", got)
	}
	if n := ada.count(".field-error"); n != 1 {
		t.Errorf("%d field errors, want 1 (email): %q", n, ada.bodyText())
	}
	for id, want := range map[string]string{"email": "not-an-email", "first_name": "Grace", "last_name": "",
		"expiration_date": "", "welcome_message": welcome} {
		if got := ada.value(id); got != want {
			t.Errorf("after a refused invitation, #%s = %q, want %q", id, got, want)
		}
	}
	if !ada.eval(`document.querySelector("details.more").open`) {
		t.Error("after a refused invitation with a welcome message, Additional settings is closed")
	}
	ada.shot("invite-error")

	ada.fill("email", graceEmail)
	ada.fill("last_name", "Hopper")
	ada.do(chromedp.Click(chromedp.CSS(`input[name=permissions][value=view_analytics]`)))
	ada.typeDate("expiration_date", expires)
	ada.shot("invite-form")
	if st := ada.submit(`form[action="/users/invite"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("invite Grace: status %d; page: %q", st, ada.bodyText())
	}
	ada.wantPath("/users?email=grace%40acme.example&notice=invited")
	ada.wantNotice("Invitation queued for grace@acme.example.")
	row := ada.userRow(graceEmail)
	if row.name != "Grace Hopper" || row.status != "Hasn't Logged In" || row.perms != "View Analytics" ||
		row.lastLogin != "never" || !strings.HasSuffix(row.lastInvited, "(1×)") || row.expires != expires.String() ||
		(row.delivery != "queued" && row.delivery != "sending" && row.delivery != "sent") {
		t.Errorf("Grace's row after the invitation: %+v", row)
	}
	ada.shot("users-after-invite")

	// 3. The email: text and HTML, from Ada, with the welcome message
	// verbatim and one link.
	m := inbox.wait(graceEmail, 1)
	for _, want := range []string{"Acme Corp", "Ada Lovelace", welcome, expires.String(), "Hello Grace Hopper"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the invitation's text lacks %q:\n%s", want, m.Text)
		}
	}
	if m.Subject != "Ada Lovelace invited you to Acme Corp" {
		t.Errorf("subject %q", m.Subject)
	}
	linkRE := regexp.MustCompile(`https?://\S+/link/[A-Za-z0-9_-]+`)
	links := linkRE.FindAllString(m.Text, -1)
	if len(links) != 1 || !strings.HasPrefix(links[0], baseURL+"/link/") {
		t.Fatalf("the invitation's text has links %q, want one %s/link/…:\n%s", links, baseURL, m.Text)
	}
	link := links[0]
	if m.HTML == "" {
		t.Fatal("the invitation has no HTML part")
	}
	reader.do(chromedp.Navigate("data:text/html;charset=utf-8;base64," + base64.StdEncoding.EncodeToString([]byte(m.HTML))))
	if got := reader.text("blockquote"); got != welcome {
		t.Errorf("the HTML email shows the welcome message as %q, want %q verbatim", got, welcome)
	}
	if n := reader.count("blockquote *"); n != 0 {
		t.Errorf("the welcome message's markup became %d elements in the HTML email", n)
	}
	reader.wantText("You're invited to Acme Corp")
	reader.wantText("Ada Lovelace invited you to Acme Corp")
	reader.wantText("Your access lasts until " + expires.String())
	if got := reader.evalString(`[...document.querySelectorAll("a")].map(a => a.innerText.trim() + " " + a.href).join("|")`); got != "Accept invitation "+link {
		t.Errorf("the HTML email's links: %q, want the button to %s", got, link)
	}
	reader.shot("email")

	// 4. Grace follows the link in a browser of her own.
	if st := grace.open(link); st != http.StatusOK {
		t.Fatalf("Grace's link: status %d", st)
	}
	grace.wantHeading("Welcome to Acme Corp")
	grace.wantText("Set a password for " + graceEmail)
	before := grace.bodyText()
	if st := grace.reload(); st != http.StatusOK {
		t.Errorf("Grace reloads her link: status %d", st)
	}
	if after := grace.bodyText(); after != before {
		t.Errorf("opening the link a second time changed the page:\n%s\nthen:\n%s", before, after)
	}
	grace.shot("accept")
	// A too-short password is stopped by the browser (the field has
	// minlength): the form is not sent, the field is flagged and focused.
	grace.fill("password", "too short")
	grace.fill("confirm", "too short")
	grace.do(chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
	grace.wantPath(strings.TrimPrefix(link, baseURL))
	if msg := grace.evalString(`(() => { const e = document.getElementById("password");
		return e.validity.tooShort && document.activeElement === e ? e.validationMessage : ""; })()`); !strings.Contains(msg, "15") {
		t.Errorf("a too-short password is not flagged by the browser (validation message %q)", msg)
	}
	// Two passwords that differ are refused by the server.
	grace.open(link)
	grace.fill("password", gracePassword)
	grace.fill("confirm", gracePassword+"!")
	if st := grace.submit(`form button[type=submit]`); st != http.StatusUnprocessableEntity {
		t.Errorf("two different passwords: status %d, want 422", st)
	}
	grace.wantHeading("Welcome to Acme Corp")
	grace.wantText("the two passwords differ")
	grace.shot("accept-error")
	grace.fill("password", gracePassword)
	grace.fill("confirm", gracePassword)
	if st := grace.submit(`form button[type=submit]`); st != http.StatusOK {
		t.Fatalf("set password: status %d; page %q", st, grace.bodyText())
	}
	grace.wantPath("/?notice=password_set")
	grace.wantHeading("Welcome, Grace Hopper")
	grace.wantText("You are signed in to Acme Corp as " + graceEmail)
	grace.do(chromedp.Click(chromedp.CSS("#profile-menu > summary")), chromedp.WaitVisible(chromedp.ID("menu-sign-out")))
	if menu := grace.text("#profile-menu .menu-items"); strings.Contains(menu, "User Management") ||
		!strings.Contains(menu, "Grace Hopper") || !strings.Contains(menu, "Profile") || !strings.Contains(menu, "Sign out") {
		t.Errorf("Grace's menu = %q, want her name, Profile and Sign out, no User Management", menu)
	}

	// 5. The link works once.
	if st := grace.open(link); st != http.StatusGone {
		t.Errorf("Grace reopens her used link: status %d, want 410", st)
	}
	grace.wantHeading("This link cannot be used")
	grace.wantText("This link has already been used.")
	grace.shot("link-used")

	// 6. Ada sees Grace active; resends (a sign-in link now), edits, removes.
	ada.open(baseURL + "/users")
	row = ada.waitRow(graceEmail, func(r userRow) bool { return r.delivery == "sent" })
	if row.status != "Active" || row.lastLogin == "never" || !regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$`).MatchString(row.lastLogin) || row.delivery != "sent" {
		t.Errorf("Grace's row after she set her password: %+v", row)
	}
	ada.rowMenu(graceEmail, "users-row-menu")
	if st := ada.submit(ada.rowItem(graceEmail, "Resend invitation")); st != http.StatusOK {
		t.Fatalf("resend: status %d", st)
	}
	ada.wantNotice("A new invitation is on its way to grace@acme.example; earlier links no longer work.")
	if row := ada.userRow(graceEmail); !strings.HasSuffix(row.lastInvited, "(2×)") {
		t.Errorf("after the resend, Grace was last invited %q, want (2×)", row.lastInvited)
	}
	m = inbox.wait(graceEmail, 2)
	if !strings.Contains(m.Text, baseURL+"/signin?email=grace%40acme.example") || strings.Contains(m.Text, "/link/") ||
		!strings.Contains(m.Text, "You already have a password for "+graceEmail) {
		t.Errorf("the second invitation should carry a sign-in link, not a one-time link:\n%s", m.Text)
	}

	ada.rowMenu(graceEmail, "")
	if st := ada.submit(ada.rowItem(graceEmail, "Edit user")); st != http.StatusOK {
		t.Fatalf("edit: status %d", st)
	}
	ada.wantHeading("Edit " + graceEmail)
	for id, want := range map[string]string{"first_name": "Grace", "last_name": "Hopper",
		"expiration_date": expires.String(), "welcome_message": welcome} {
		if got := ada.value(id); got != want {
			t.Errorf("the edit form's #%s = %q, want %q", id, got, want)
		}
	}
	if got := ada.evalString(`[...document.querySelectorAll("input[name=permissions]:checked")].map(e => e.value).join()`); got != "view_analytics" {
		t.Errorf("the edit form has ticked %q, want view_analytics", got)
	}
	ada.fill("last_name", "Murray Hopper")
	if st := ada.submit(`form button[type=submit].primary`); st != http.StatusOK {
		t.Fatalf("save: status %d; page %q", st, ada.bodyText())
	}
	ada.wantNotice("grace@acme.example was updated.")
	if row := ada.userRow(graceEmail); row.name != "Grace Murray Hopper" || row.expires != expires.String() || row.perms != "View Analytics" {
		t.Errorf("Grace's row after the edit: %+v", row)
	}

	ada.rowMenu(graceEmail, "")
	if st := ada.submit(ada.rowItem(graceEmail, "Remove access")); st != http.StatusOK {
		t.Fatalf("remove: status %d", st)
	}
	ada.wantHeading("Remove access for 1 user?")
	ada.wantText(graceEmail + " (Grace Murray Hopper) will lose access at once")
	ada.shot("remove-confirm")
	if st := ada.submit(`form button[type=submit].danger`); st != http.StatusOK {
		t.Fatalf("remove 1 user: status %d", st)
	}
	ada.wantNotice("grace@acme.example was removed: their account, sessions and API tokens are gone.")
	ada.wantText("1 user")
	if ada.hasRow(graceEmail) {
		t.Error("Grace is still listed after her removal")
	}
	// Her session went with her account.
	grace.open(baseURL + "/")
	grace.wantPath("/signin?next=%2F")

	// 7. No invitation for a user whose access has expired.
	ada.open(baseURL + "/users/invite")
	ada.fill("email", linEmail)
	ada.fill("first_name", "Lin")
	ada.fill("last_name", "Lee")
	if st := ada.submit(`form[action="/users/invite"] button[type=submit]`); st != http.StatusOK {
		t.Fatalf("invite Lin: status %d; page: %q", st, ada.bodyText())
	}
	ada.wantNotice("Invitation queued for lin@acme.example.")
	if row := ada.userRow(linEmail); row.expires != "none" || row.status != "Hasn't Logged In" {
		t.Errorf("Lin's row: %+v", row)
	}
	inbox.wait(linEmail, 1)
	ada.rowMenu(linEmail, "")
	if st := ada.submit(ada.rowItem(linEmail, "Edit user")); st != http.StatusOK {
		t.Fatalf("edit Lin: status %d", st)
	}
	ada.do(chromedp.Click(chromedp.CSS("details.more > summary")), chromedp.WaitVisible(chromedp.ID("expiration_date")))
	ada.typeDate("expiration_date", today)
	if st := ada.submit(`form button[type=submit].primary`); st != http.StatusOK {
		t.Fatalf("save Lin: status %d; page %q", st, ada.bodyText())
	}
	ada.wantNotice("lin@acme.example was updated.")
	if row := ada.userRow(linEmail); row.status != "Expired" || row.expires != today.String() {
		t.Errorf("Lin's row after her expiration date was set to today: %+v", row)
	}
	ada.rowMenu(linEmail, "")
	if st := ada.submit(ada.rowItem(linEmail, "Resend invitation")); st != http.StatusOK {
		t.Fatalf("resend to Lin: status %d", st)
	}
	wantErr := fmt.Sprintf("No invitation sent: lin@acme.example's access expired on %s. Update their expiration date first.", today)
	if got := ada.text("main .error"); got != wantErr {
		t.Errorf("resend to an expired user says %q, want %q", got, wantErr)
	}
	if ada.count("main .notice") != 0 {
		t.Errorf("resend to an expired user shows a notice: %q", ada.text("main .notice"))
	}
	if row := ada.userRow(linEmail); !strings.HasSuffix(row.lastInvited, "(1×)") {
		t.Errorf("Lin's invitation count moved: %+v", row)
	}
	ada.shot("resend-expired")
	sentBefore := time.Now()

	// At phone width the table scrolls within its wrapper, yet the •••
	// button stays in view and its menu is whole; the page itself does
	// not scroll sideways.
	ada.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	ada.open(baseURL + "/users")
	if w := ada.evalInt(`document.documentElement.scrollWidth`); w > 376 {
		t.Errorf("at 375 px the users page is %d px wide: it scrolls sideways", w)
	}
	ada.rowMenu(linEmail, "users-row-menu-phone")
	ada.do(chromedp.ResetViewport())

	time.Sleep(2*time.Second - time.Since(sentBefore))
	if n := len(inbox.to(linEmail)); n != 1 {
		t.Errorf("Lin has %d invitation emails, want 1 (none for the refused resend)", n)
	}
}

// startInviteBrowser starts one headless Chromium for the test, with the
// same flags as TestBrowserFoundation's plus an en-US locale, so that a
// date input takes its keys in mm/dd/yyyy order.
func startInviteBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserChromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return browserCtx
}

// typeDate types d into the date input as a person would, in the en-US
// order of its fields (month, day, year), and checks the value it took.
func (p *browserPerson) typeDate(id string, d roster.Date) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.ID(id)), chromedp.Focus(chromedp.ID(id)),
		chromedp.SendKeys(chromedp.ID(id), fmt.Sprintf("%02d%02d%04d", int(d.Month), d.Day, d.Year)))
	if got := p.value(id); got != d.String() {
		p.t.Fatalf("%s typed %s into #%s, which holds %q", p.name, d, id, got)
	}
}

func (p *browserPerson) wantNotice(want string) {
	p.t.Helper()
	if p.count("main .notice") == 0 {
		p.t.Errorf("%s sees no notice at %s, want %q; the page says:\n%s", p.name, p.location(), want, p.bodyText())
		return
	}
	if got := p.text("main .notice"); got != want {
		p.t.Errorf("%s sees the notice %q, want %q", p.name, got, want)
	}
}

// userRow is one row of the users table as it reads.
type userRow struct {
	name, email, status, perms, lastLogin, lastInvited, delivery, expires string
}

// userRowsJS reads the rows' cells, leaving out the selection checkbox's.
const userRowsJS = `[...document.querySelectorAll("table.users tbody tr")].map(tr => [...tr.cells].filter(td => !td.classList.contains("select")).map(td => td.innerText.trim()))`

func (p *browserPerson) rows() map[string]userRow {
	p.t.Helper()
	cells := browserRun(p, chromedp.Evaluate[[][]string](userRowsJS))
	out := map[string]userRow{}
	for _, c := range cells {
		if len(c) < 8 {
			p.t.Fatalf("a users table row has %d cells: %q", len(c), c)
		}
		out[c[1]] = userRow{name: c[0], email: c[1], status: c[2], perms: c[3], lastLogin: c[4], lastInvited: c[5],
			delivery: c[6], expires: c[7]}
	}
	return out
}

func (p *browserPerson) hasRow(email string) bool {
	p.t.Helper()
	_, ok := p.rows()[email]
	return ok
}

func (p *browserPerson) userRow(email string) userRow {
	p.t.Helper()
	r, ok := p.rows()[email]
	if !ok {
		p.t.Fatalf("%s does not see %s in the users table:\n%s", p.name, email, p.bodyText())
	}
	return r
}

// waitRow reloads the users page until the row satisfies ok (the delivery
// status is set by the worker just after the email is written), for up to
// 5 s, and returns the row as last seen.
func (p *browserPerson) waitRow(email string, ok func(userRow) bool) userRow {
	p.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := p.userRow(email)
		if ok(r) || time.Now().After(deadline) {
			return r
		}
		time.Sleep(100 * time.Millisecond)
		p.reload()
	}
}

// rowMenu opens the ••• menu of the user's row and checks that each of its
// items can be seen and clicked where it is: not clipped by the table's
// scrolling wrapper nor covered by anything. A non-empty shot names a
// screenshot taken with the menu open.
func (p *browserPerson) rowMenu(email, shot string) {
	p.t.Helper()
	summary := fmt.Sprintf(`summary[aria-label="Actions for %s"]`, email)
	// The ••• button is in view without scrolling the table sideways (the
	// page may scroll down to the row: filters and the bulk bar are above).
	if problem := p.evalString(fmt.Sprintf(`(() => {
		const s = document.querySelector(%q);
		if (!s) return "there is no ••• button";
		let b = s.getBoundingClientRect();
		if (b.bottom > innerHeight || b.top < 0) { scrollBy(0, b.top - innerHeight / 2); b = s.getBoundingClientRect(); }
		if (b.bottom > innerHeight || b.right > innerWidth) return "the ••• button is outside the window";
		const at = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
		return at && s.contains(at) ? "" : "the ••• button is hidden (" + (at ? at.outerHTML.slice(0, 60) : "outside the viewport") + ")";
	})()`, summary)); problem != "" {
		p.t.Errorf("%s, on %s: %s", p.name, email, problem)
	}
	p.do(chromedp.Click(chromedp.CSS(summary)), chromedp.WaitVisible(chromedp.CSS(summary+" + .menu-items")))
	problem := p.evalString(fmt.Sprintf(`(() => {
		const menu = document.querySelector(%q);
		let r = menu.getBoundingClientRect();
		if (r.bottom > innerHeight) { scrollBy(0, r.bottom - innerHeight + 8); }
		if (r.top < 0) { scrollBy(0, r.top - 8); }
		const wrap = menu.closest(".table-wrap");
		if (wrap && wrap.scrollTop > 0) return "opening the menu scrolled the table wrapper by " + wrap.scrollTop + " px";
		const bad = [];
		for (const it of menu.querySelectorAll("[role=menuitem]")) {
			const b = it.getBoundingClientRect();
			for (const y of [b.top + 2, b.top + b.height / 2, b.bottom - 2]) {
				const at = document.elementFromPoint(b.left + b.width / 2, y);
				if (!at || !it.contains(at)) {
					bad.push(JSON.stringify(it.innerText) + " is hidden at y=" + Math.round(y) + " (" + (at ? at.outerHTML.slice(0, 60) : "outside the viewport") + ")");
					break;
				}
			}
		}
		return bad.join("; ");
	})()`, summary+" + .menu-items"))
	if shot != "" {
		// Of the viewport only: capturing beyond it relays the page out,
		// and leaves Chromium's anchored menu misplaced afterwards.
		p.shots.save(shot, browserRun(p, chromedp.CaptureScreenshot()))
	}
	if problem != "" {
		p.t.Errorf("%s opens the actions menu for %s: %s", p.name, email, problem)
	}
}

// rowItem returns a selector for the item of the user's open row menu
// labelled label, checking the label.
func (p *browserPerson) rowItem(email, label string) string {
	p.t.Helper()
	menu := fmt.Sprintf(`summary[aria-label="Actions for %s"] + .menu-items`, email)
	i := p.evalInt(fmt.Sprintf(`[...document.querySelectorAll(%q)].findIndex(e => e.innerText.trim() === %q)`,
		menu+" [role=menuitem]", label))
	if i < 0 {
		p.t.Fatalf("%s: the menu for %s has no %q: %q", p.name, email, label, p.text(menu))
	}
	return fmt.Sprintf("%s [role=menuitem]:nth-child(%d), %s form:nth-child(%d) [role=menuitem]", menu, i+1, menu, i+1)
}

// testMailbox reads the .eml files the Mailbox sender writes.
type testMailbox struct {
	t   *testing.T
	dir string
}

// email is one message, decoded.
type email struct {
	File, To, Subject, Text, HTML string
}

// to returns the messages sent to addr, oldest first.
func (b *testMailbox) to(addr string) []email {
	b.t.Helper()
	names, err := filepath.Glob(filepath.Join(b.dir, "*.eml"))
	if err != nil {
		b.t.Fatal(err)
	}
	slices.Sort(names)
	var out []email
	for _, n := range names {
		m := parseEML(b.t, n)
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

// wait polls the mailbox for up to 15 s until addr has n messages, and
// returns the nth.
func (b *testMailbox) wait(addr string, n int) email {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ms := b.to(addr)
		if len(ms) >= n {
			if len(ms) > n {
				b.t.Errorf("%s has %d messages, want %d", addr, len(ms), n)
			}
			return ms[n-1]
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("after 15 s, %s has %d messages in %s, want %d", addr, len(ms), b.dir, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// parseEML decodes a message with its text/plain and text/html parts,
// whatever their nesting and transfer encoding.
func parseEML(t *testing.T, name string) email {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m := email{File: filepath.Base(name)}
	if to, err := netmail.ParseAddress(msg.Header.Get("To")); err == nil {
		m.To = to.Address
	} else {
		t.Errorf("%s: To %q: %v", name, msg.Header.Get("To"), err)
	}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Errorf("%s: Subject: %v", name, err)
	}
	var walk func(ctype, cte string, body io.Reader)
	walk = func(ctype, cte string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ctype)
		if err != nil {
			t.Fatalf("%s: Content-Type %q: %v", name, ctype, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
			}
		}
		switch strings.ToLower(cte) {
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("%s: %s body: %v", name, mt, err)
		}
		s := strings.ReplaceAll(string(b), "\r\n", "\n")
		switch mt {
		case "text/plain":
			m.Text = s
		case "text/html":
			m.HTML = s
		}
	}
	walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if m.Text == "" {
		t.Errorf("%s has no text/plain part", name)
	}
	return m
}
