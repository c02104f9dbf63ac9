package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestBrowserUsersDashboard follows seed 000, "Option 1: Use the bulk
// actions menu", word for word in headless Chromium, for Resend Invitations
// and for Bulk Expire: "Go to the User Management dashboard. Use the
// checkboxes to select the users you want to update. Choose an action from
// the top menu." Then a search, a filter, "select all N users that match
// this filter" and the CSV export. Screenshots: users-laptop,
// users-bulk-result and users-phone (ROSTER_SCREENSHOTS=docs/screenshots
// to refresh the committed ones).
func TestBrowserUsersDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := os.Stat(browserChromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required under CI=true: %v", err)
		}
		t.Skipf("no Chromium at %s: %v", browserChromiumPath, err)
	}
	ctx := t.Context()
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

	// Acme: Ada, the admin, and 60 learners invited who have not logged in
	// yet, two of whom have already expired.
	if err := svc.CreateOrg(ctx, &roster.Org{Name: "Acme Corp", Slug: "acme", UserManagement: true}); err != nil {
		t.Fatal(err)
	}
	_, adaLink, err := svc.AddAdmin(ctx, "acme", "ada@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.UseLink(ctx, adaLink[strings.LastIndex(adaLink, "/")+1:], "correct horse battery staple 42")
	if err != nil {
		t.Fatal(err)
	}
	adaActor := sess.Actor
	if _, err := svc.UpdateUser(ctx, adaActor, adaActor.User.ID, admin.UserPatch{FirstName: roster.Some("Ada"), LastName: roster.Some("Lovelace")}); err != nil {
		t.Fatal(err)
	}
	first := []string{"Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken", "Radia"}
	last := []string{"Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Thompson", "Perlman"}
	today := svc.Today(adaActor)
	learner := func(i int) string { return fmt.Sprintf("learner%02d@acme.example", i) }
	for i := range 60 {
		in := admin.InviteInput{Email: learner(i), FirstName: roster.Some(first[i%10]), LastName: roster.Some(last[(i/10+i)%10]),
			Permissions: roster.Some(roster.Permissions(0))}
		if i%7 == 3 {
			in.Permissions = roster.Some(roster.Permissions(roster.ViewAnalytics))
		}
		if i%5 == 4 {
			in.ExpirationDate = roster.Some(today.AddDays(30 + i))
		}
		if _, err := svc.Invite(ctx, adaActor, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{2, 5} {
		if _, err := svc.UpdateUser(ctx, adaActor, mustUserID(t, svc, adaActor, learner(i)), admin.UserPatch{ExpirationDate: roster.Some(today.AddDays(-3))}); err != nil {
			t.Fatal(err)
		}
	}

	shots := newBrowserShots(t)
	browserCtx := startInviteBrowser(t)
	ada := newBrowserPerson(t, browserCtx, "Ada", baseURL, shots)
	ada.open(baseURL + "/signin")
	ada.signIn("ada@acme.example", "correct horse battery staple 42", http.StatusOK)

	// 1. "Go to the User Management dashboard."
	ada.do(chromedp.Click(chromedp.CSS("#profile-menu > summary")), chromedp.WaitVisible(chromedp.ID("menu-user-management")))
	if st := ada.submit("#menu-user-management"); st != http.StatusOK {
		t.Fatalf("User Management: status %d", st)
	}
	ada.wantPath("/users")
	ada.wantHeading("User Management")
	counts := strings.Join(strings.Fields(ada.text(".status-counts")), " ")
	if want := "61 All users 1 Active 58 Hasn't Logged In 2 Expired"; counts != want {
		t.Errorf("status counts = %q, want %q", counts, want)
	}
	if got := ada.count(`input[name="ids"]`); got != 50 {
		t.Errorf("the first page has %d rows, want 50", got)
	}
	ada.shot("users-laptop")

	// The keyboard: after "Skip to content", "Skip to users table" takes
	// focus to the table; every focus is outlined.
	ada.do(chromedp.KeyEvent(kb.Tab))
	ada.do(chromedp.KeyEvent(kb.Tab))
	if got := ada.evalString(`document.activeElement.textContent`); got != "Skip to users table" {
		t.Errorf("the second Tab focuses %q, want the skip link to the users table", got)
	}
	if !ada.visible(`a[href="#users-table"]`) {
		t.Error("the focused skip link is not visible")
	}
	ada.do(chromedp.KeyEvent(kb.Enter))
	ada.wantFocus("#users-table")
	ada.do(chromedp.Focus(chromedp.ID("bulk-action")))
	if ada.evalString(`getComputedStyle(document.activeElement).outlineStyle`) == "none" {
		t.Error("the focused bulk action select has no outline")
	}
	if n := ada.evalInt(`[...document.querySelectorAll("main input, main select, main button")].filter(c => c.type !== "hidden" && !c.labels?.length && !c.getAttribute("aria-label") && !(c.tagName === "BUTTON" && c.textContent.trim())).length`); n != 0 {
		t.Errorf("%d controls have no label", n)
	}

	// 2. "Use the checkboxes to select the users you want to update."
	// Two who have not logged in and one whose access has expired.
	tableTop := ada.evalInt(`Math.round(document.querySelector("#users-table").getBoundingClientRect().top + scrollY)`)
	if ada.eval(`document.getElementById("bulk-apply").disabled`) == false {
		t.Error("the bulk button is enabled with nothing selected")
	}
	for _, i := range []int{0, 1, 2} {
		ada.tick(learner(i))
	}
	if got := ada.text("#selected-count"); got != "3 selected" {
		t.Errorf("the bar says %q, want 3 selected", got)
	}
	if !ada.eval(`document.getElementById("select-page").indeterminate`) {
		t.Error("the page checkbox is not indeterminate with 3 of 50 rows ticked")
	}
	if top := ada.evalInt(`Math.round(document.querySelector("#users-table").getBoundingClientRect().top + scrollY)`); top != tableTop {
		t.Errorf("ticking rows moved the table from %d to %d px", tableTop, top)
	}

	// 3. "Choose an action from the top menu: Resend Invitations: Resends an
	// email to selected users who haven't logged in or are still active.
	// You cannot resend invites to users whose accounts have already
	// expired. You'll need to update their expiration dates first."
	ada.choose("bulk-action", admin.BulkResend)
	if got := ada.text("#bulk-apply"); got != "Resend Invitations (3)" {
		t.Errorf("the bulk button says %q", got)
	}
	if st := ada.submit("#bulk-apply"); st != http.StatusOK {
		t.Fatalf("Resend Invitations: status %d", st)
	}
	ada.wantPath("/users")
	ada.wantText("Resend Invitations: 2 done, 1 skipped")
	ada.wantText("1 skipped: access expired; update their expiration date first")
	if got := ada.text("#bulk-result ul"); got != learner(2) {
		t.Errorf("the skipped list = %q, want %s", got, learner(2))
	}
	for i, want := range map[int]string{0: "(2×)", 1: "(2×)", 2: "(1×)"} {
		if row := ada.userRow(learner(i)); !strings.HasSuffix(row.lastInvited, want) {
			t.Errorf("%s was last invited %q, want %s", learner(i), row.lastInvited, want)
		}
	}
	ada.shot("users-bulk-result")

	// "Bulk Expire: Sets the expiration date to today, immediately ending
	// access for selected users."
	for _, i := range []int{0, 1} {
		if row := ada.userRow(learner(i)); row.status != "Hasn't Logged In" {
			t.Errorf("%s is %q before Bulk Expire", learner(i), row.status)
		}
		ada.tick(learner(i))
	}
	ada.choose("bulk-action", admin.BulkExpire)
	if st := ada.submit("#bulk-apply"); st != http.StatusOK {
		t.Fatalf("Expire: status %d", st)
	}
	ada.wantHeading("Expire 2 users?")
	ada.shot("users-bulk-confirm")
	ada.wantText(fmt.Sprintf("Their expiration date becomes today, %s: their access ends immediately", today))
	if st := ada.submit("#confirm-bulk"); st != http.StatusOK {
		t.Fatalf("confirm Expire: status %d", st)
	}
	ada.wantPath("/users")
	ada.wantText("Expire: 2 done, 0 skipped")
	for _, i := range []int{0, 1} {
		if row := ada.userRow(learner(i)); row.status != "Expired" || row.expires != today.String() {
			t.Errorf("%s after Bulk Expire: %q, expires %q; want Expired, %s", learner(i), row.status, row.expires, today)
		}
	}

	// A search, typed and sent with Enter.
	ada.fill("q", "learner1")
	ada.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#q[value="learner1"]`)))
	ada.wantPath("/users?q=learner1")
	if got := strings.Join(strings.Fields(ada.text("#user-count")), " "); got != "10 users match this search and filter" {
		t.Errorf("search count = %q", got)
	}
	for email := range ada.rows() {
		if !strings.HasPrefix(email, "learner1") {
			t.Errorf("the search for learner1 shows %s", email)
		}
	}

	// A filter: Hasn't Logged In, from the form; then "select all matching".
	ada.do(chromedp.Clear(chromedp.ID("q")))
	ada.choose("status", "not_logged_in")
	if st := ada.submit("#apply-filters"); st != http.StatusOK {
		t.Fatalf("filter: status %d", st)
	}
	ada.wantPath("/users?status=not_logged_in")
	if got := strings.Join(strings.Fields(ada.text("#user-count")), " "); got != "56 users match this search and filter" {
		t.Errorf("filter count = %q", got)
	}
	ada.do(chromedp.Click(chromedp.ID("select-page")))
	if got := ada.text("#select-banner"); got != "All 50 users on this page are selected. Select all 56 users that match this filter" {
		t.Errorf("banner = %q", got)
	}
	ada.do(chromedp.Click(chromedp.CSS("#select-banner button")))
	if got := ada.text("#selected-count"); got != "All 56 matching users selected" {
		t.Errorf("after select all matching, the bar says %q", got)
	}
	ada.choose("bulk-action", admin.BulkGrantPermission)
	ada.choose("bulk-permission", "manage_comments")
	if st := ada.submit("#bulk-apply"); st != http.StatusOK {
		t.Fatalf("grant to all matching: status %d", st)
	}
	ada.wantHeading("Grant Manage Comments to 56 users?")
	ada.wantText("every user matching: status Hasn't Logged In")
	if st := ada.submit("#confirm-bulk"); st != http.StatusOK {
		t.Fatalf("confirm grant: status %d", st)
	}
	ada.wantPath("/users?status=not_logged_in")
	ada.wantText("Grant permission: 56 done, 0 skipped")
	list, err := svc.ListUsers(ctx, adaActor, roster.UserFilter{Permission: roster.ManageComments, Limit: 1000})
	if err != nil || list.Total != 57 { // Ada held it already
		t.Errorf("after the grant to all matching, %d users hold Manage Comments (%v), want 57", list.Total, err)
	}

	// The export downloads the current view.
	dl := t.TempDir()
	bctx := chromedp.FromContext(ada.ctx)
	if _, err := chromedp.CallBrowser(ada.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: bctx.BrowserContextID, DownloadPath: dl}); err != nil {
		t.Fatalf("SetDownloadBehavior: %v", err)
	}
	if href := ada.evalString(`document.getElementById("export-csv").getAttribute("href")`); href != "/users/export.csv?status=not_logged_in" {
		t.Errorf("Export CSV links to %q", href)
	}
	ada.do(chromedp.Click(chromedp.ID("export-csv")))
	file := filepath.Join(dl, fmt.Sprintf("roster-acme-users-%s.csv", today))
	var csv []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if csv, err = os.ReadFile(file); err == nil && strings.Count(string(csv), "\n") == 57 {
			break
		}
	}
	if lines := strings.Split(strings.TrimSpace(string(csv)), "\n"); len(lines) != 57 || lines[0] != "email,first_name,last_name,expiration_date,permissions" {
		entries, _ := os.ReadDir(dl)
		t.Errorf("the export %s has %d lines, want a header and 56 users (download dir: %v)", file, len(lines), entries)
	}

	// At phone width: nothing scrolls sideways but the table's wrapper.
	ada.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	ada.open(baseURL + "/users")
	if w := ada.evalInt(`document.documentElement.scrollWidth`); w > 376 {
		t.Errorf("at 375 px the users page is %d px wide: it scrolls sideways", w)
	}
	if ada.evalString(`getComputedStyle(document.querySelector(".table-wrap")).overflowX`) != "auto" {
		t.Error("the table wrapper does not scroll")
	}
	ada.shot("users-phone")

	// The audit log, still at phone width: from the dashboard's "Audit
	// log", filtered to the Bulk Expire above, it says who expired whom
	// and the date before and after; nothing scrolls sideways.
	if st := ada.submit(`a[href="/audit"]`); st != http.StatusOK {
		t.Fatalf("Audit log: status %d", st)
	}
	ada.wantHeading("Audit log")
	ada.choose("audit-action", "user.bulk_"+admin.BulkExpire)
	if st := ada.submit(`.audit-filters button[type="submit"]`); st != http.StatusOK {
		t.Fatalf("filter the audit log: status %d", st)
	}
	if got := ada.count("table.audit tbody tr"); got != 2 {
		t.Errorf("the audit log filtered to Bulk Expire has %d rows, want 2:\n%s", got, ada.bodyText())
	}
	body := ada.bodyText()
	for _, want := range []string{learner(0), learner(1), "ada@acme.example", "expiration_date", today.String()} {
		if !strings.Contains(body, want) {
			t.Errorf("the filtered audit log does not show %q:\n%s", want, body)
		}
	}
	if w := ada.evalInt(`document.documentElement.scrollWidth`); w > 376 {
		t.Errorf("at 375 px the audit page is %d px wide: it scrolls sideways", w)
	}
	ada.shot("audit-phone")
	ada.do(chromedp.ResetViewport())
}

func mustUserID(t *testing.T, svc *admin.Service, a *roster.Actor, email string) int64 {
	t.Helper()
	list, err := svc.ListUsers(t.Context(), a, roster.UserFilter{Query: email})
	if err != nil || len(list.Users) != 1 {
		t.Fatalf("find %s: %v (%d found)", email, err, len(list.Users))
	}
	return list.Users[0].ID
}

// tick clicks the checkbox of the user's row.
func (p *browserPerson) tick(email string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[aria-label="Select %s"]`, email))))
}

// choose picks an option of the select with the id, as a person would,
// with the change event that follows.
func (p *browserPerson) choose(id, value string) {
	p.t.Helper()
	p.do(chromedp.SetValue(chromedp.ID(id), value))
	p.evalString(fmt.Sprintf(`document.getElementById(%q).dispatchEvent(new Event("change", {bubbles: true})), ""`, id))
	if got := p.value(id); got != value {
		p.t.Fatalf("%s chose %q in #%s, which holds %q", p.name, value, id, got)
	}
}
