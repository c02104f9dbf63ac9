package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
	"github.com/roster-dev/roster/internal/web"
)

const browserChromiumPath = "/usr/bin/chromium"

// TestBrowserFoundation drives the real dashboard in headless Chromium, as
// two people would: Ada sets Roster up and manages users; Bob, without the
// Manage Users permission, is refused User Management and later loses
// access when his expiration date comes. It saves a screenshot of each
// important screen (see the log for the directory; ROSTER_SCREENSHOTS, when
// set, names a directory that receives a copy too).
func TestBrowserFoundation(t *testing.T) {
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

	// The real server over SQLite. The service's clock can be moved forward,
	// so that an expiration date can arrive while Bob is signed in.
	db := storetest.OpenSQLite(t)
	mailbox, err := mail.NewMailbox(filepath.Join(t.TempDir(), "mailbox"), mail.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var clockOffset atomic.Int64
	ts := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + ts.Listener.Addr().String()
	svc := admin.New(admin.Options{DB: db, BaseURL: baseURL, Mailer: mailbox,
		Now: func() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) }})
	h, err := server.Handler(server.Options{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(ts.Close)
	setupLink, err := svc.FirstRunLink(ctx)
	if err != nil || setupLink == "" {
		t.Fatalf("FirstRunLink = %q, %v", setupLink, err)
	}

	shots := newBrowserShots(t)

	// One browser; each person gets a browser context of their own (their
	// own cookie jar).
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browserChromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ada := newBrowserPerson(t, browserCtx, "Ada", baseURL, shots)
	bob := newBrowserPerson(t, browserCtx, "Bob", baseURL, shots)

	const (
		adaEmail    = "ada@acme.example"
		adaPassword = "correct horse battery staple 42"
		bobEmail    = "bob@acme.example"
		bobPassword = "tulip marble anchor 1987 skyline"
		contact     = "it-help@acme.example"
	)

	// 1. First run: the setup form, with mistakes first.
	if st := ada.open(setupLink); st != http.StatusOK {
		t.Fatalf("setup link: status %d", st)
	}
	ada.wantHeading("Set up Roster")
	ada.fill("org_name", "Acme Corp")
	ada.fill("org_slug", "Acme Corp!")
	ada.fill("first_name", "Ada")
	ada.fill("last_name", "Lovelace")
	ada.fill("email", adaEmail)
	ada.fill("password", "short")
	if st := ada.submit(`form button[type=submit]`); st != http.StatusUnprocessableEntity {
		t.Errorf("setup with mistakes: status %d, want 422", st)
	}
	ada.wantHeading("Set up Roster")
	ada.wantText("use 1 to 63 lowercase letters, digits and dashes")
	ada.wantText("use at least 15 characters")
	for id, want := range map[string]string{"org_name": "Acme Corp", "org_slug": "Acme Corp!",
		"first_name": "Ada", "last_name": "Lovelace", "email": adaEmail, "password": ""} {
		if got := ada.value(id); got != want {
			t.Errorf("after a refused setup, #%s = %q, want %q", id, got, want)
		}
	}
	if n := ada.count(".field-error"); n != 2 {
		t.Errorf("setup shows %d field errors, want 2 (slug, password): %q", n, ada.bodyText())
	}
	ada.shot("setup")

	ada.fill("org_slug", "acme")
	ada.fill("password", adaPassword)
	if st := ada.submit(`form button[type=submit]`); st != http.StatusOK {
		t.Fatalf("setup: status %d, want 200 after the redirect", st)
	}
	ada.wantPath("/?notice=setup_done")
	ada.wantHeading("Welcome, Ada Lovelace")
	ada.wantText("Your organization is ready.")
	ada.wantText("You are signed in to Acme Corp as " + adaEmail)
	ada.shot("home")

	// 2. The profile menu, with the mouse…
	if ada.visible("#menu-user-management") {
		t.Error("the profile menu is open before anyone opened it")
	}
	ada.do(chromedp.Click(chromedp.CSS("#profile-menu > summary")),
		chromedp.WaitVisible(chromedp.ID("menu-sign-out")))
	menu := ada.text("#profile-menu .menu-items")
	for _, want := range []string{"Ada Lovelace", adaEmail, "User Management", "Profile", "Sign out"} {
		if !strings.Contains(menu, want) {
			t.Errorf("profile menu %q lacks %q", menu, want)
		}
	}
	ada.shot("menu")
	ada.do(chromedp.Click(chromedp.CSS("#profile-menu > summary")))
	if ada.eval(`document.getElementById("profile-menu").open`) || ada.visible("#menu-sign-out") {
		t.Error("a second click on the avatar did not close the profile menu")
	}

	// …and with the keyboard: Tab from the top reaches the skip link, the
	// brand, then the avatar; Enter opens the menu; Tab enters it.
	ada.open(baseURL + "/")
	ada.do(chromedp.KeyEvent(kb.Tab))
	ada.wantFocus(".skip")
	if !ada.visible(".skip") {
		t.Error("the focused skip link is not visible")
	}
	ada.do(chromedp.KeyEvent(kb.Tab))
	ada.wantFocus(".brand")
	ada.do(chromedp.KeyEvent(kb.Tab))
	ada.wantFocus("#profile-menu > summary")
	ada.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("menu-user-management")))
	if !ada.eval(`document.getElementById("profile-menu").open`) {
		t.Error("Enter on the avatar did not open the profile menu")
	}
	ada.do(chromedp.KeyEvent(kb.Tab))
	ada.wantFocus("#menu-user-management")

	// 3. User Management, from the menu.
	if st := ada.submit("#menu-user-management"); st != http.StatusOK {
		t.Fatalf("User Management: status %d", st)
	}
	ada.wantPath("/users")
	ada.wantHeading("User Management")
	ada.wantText("1 user")
	if row := ada.text("table.users tbody tr"); !strings.Contains(row, adaEmail) || !strings.Contains(row, "Active") ||
		!strings.Contains(row, "Ada Lovelace") {
		t.Errorf("users table row = %q, want Ada Lovelace, %s, Active", row, adaEmail)
	}
	ada.shot("users")

	// 4. Bob: invited as an admin, then left with View Analytics only.
	adaActor := ada.actor(svc)
	bobUser, bobLink, err := svc.AddAdmin(ctx, "acme", bobEmail)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateUser(ctx, adaActor, bobUser.ID,
		admin.UserPatch{Permissions: roster.Some(roster.Permissions(roster.ViewAnalytics))}); err != nil {
		t.Fatal(err)
	}
	// There is no service method to edit an organization; set its support
	// contact through the store, as the operator's tooling would.
	org, err := svc.Org(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	org.SupportContact = contact
	if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateOrg(ctx, org) }); err != nil {
		t.Fatal(err)
	}

	if st := bob.open(bobLink); st != http.StatusOK {
		t.Fatalf("Bob's link: status %d", st)
	}
	bob.wantHeading("Welcome to Acme Corp")
	bob.wantText("Set a password for " + bobEmail)
	bob.shot("set-password")
	bob.fill("password", bobPassword)
	bob.fill("confirm", bobPassword)
	if st := bob.submit(`form button[type=submit]`); st != http.StatusOK {
		t.Fatalf("set password: status %d", st)
	}
	bob.wantPath("/?notice=password_set")
	bob.wantText("Your password is set. You are signed in.")
	bob.wantHeading("Welcome, " + bobEmail)
	bob.do(chromedp.Click(chromedp.CSS("#profile-menu > summary")),
		chromedp.WaitVisible(chromedp.ID("menu-sign-out")))
	if bob.count("#menu-user-management") != 0 {
		t.Error("Bob's menu has User Management, though he lacks Manage Users")
	}
	if menu := bob.text("#profile-menu .menu-items"); strings.Contains(menu, "User Management") ||
		!strings.Contains(menu, "Profile") || !strings.Contains(menu, "Sign out") {
		t.Errorf("Bob's menu = %q, want Profile and Sign out only", menu)
	}
	if st := bob.open(baseURL + "/users"); st != http.StatusForbidden {
		t.Errorf("Bob on /users: status %d, want 403", st)
	}
	bob.wantPath("/users")
	bob.wantHeading("You don't have access to User Management")
	if got := bob.text("#forbidden-reason"); got != "Your account does not have the Manage Users permission." {
		t.Errorf("forbidden reason = %q", got)
	}
	bob.wantText("contact " + contact)
	bob.shot("forbidden")

	// 5. Expiration. Set to today, Bob's session ends at once: his next
	// request finds him signed out, and signing in again says why.
	today := svc.Today(adaActor)
	if _, err := svc.UpdateUser(ctx, adaActor, bobUser.ID,
		admin.UserPatch{ExpirationDate: roster.Some(today)}); err != nil {
		t.Fatal(err)
	}
	bob.open(baseURL + "/")
	bob.wantPath("/signin?next=%2F")
	bob.wantHeading("Sign in")
	bob.signIn(bobEmail, bobPassword, http.StatusForbidden)
	expiredMsg := fmt.Sprintf("Your access to Acme Corp expired on %s.", today)
	if got := bob.text("#forbidden-reason"); got != expiredMsg {
		t.Errorf("expired sign-in: reason %q, want %q", got, expiredMsg)
	}
	bob.wantHeading("Your access has ended")
	bob.wantText("contact " + contact)
	bob.wantNoText("Incorrect email or password")
	bob.shot("expired")

	// Set to tomorrow, Bob signs in; when tomorrow comes, his session stops
	// working on his next request, with the reason.
	tomorrow := today.AddDays(1)
	if _, err := svc.UpdateUser(ctx, adaActor, bobUser.ID,
		admin.UserPatch{ExpirationDate: roster.Some(tomorrow)}); err != nil {
		t.Fatal(err)
	}
	bob.open(baseURL + "/signin")
	bob.signIn(bobEmail, bobPassword, http.StatusOK)
	bob.wantPath("/")
	bob.wantHeading("Welcome, " + bobEmail)
	clockOffset.Store(int64(24 * time.Hour))
	if st := bob.reload(); st != http.StatusForbidden {
		t.Errorf("Bob's next request after his expiration date: status %d, want 403", st)
	}
	expiredMsg = fmt.Sprintf("Your access to Acme Corp expired on %s.", tomorrow)
	if got := bob.text("#forbidden-reason"); got != expiredMsg {
		t.Errorf("expired session: reason %q, want %q", got, expiredMsg)
	}
	bob.wantHeading("Your access has ended")
	bob.shot("expired-session")
	bob.open(baseURL + "/")
	bob.wantPath("/signin?next=%2F")

	// 6. Ada signs out from the menu, then mistypes her password.
	ada.open(baseURL + "/")
	ada.do(chromedp.Click(chromedp.CSS("#profile-menu > summary")),
		chromedp.WaitVisible(chromedp.ID("menu-sign-out")))
	if st := ada.submit("#menu-sign-out"); st != http.StatusOK {
		t.Errorf("sign out: status %d", st)
	}
	ada.wantPath("/signin?notice=signed_out")
	ada.wantText("You are signed out.")
	if ada.count("#profile-menu") != 0 {
		t.Error("the profile menu is still shown after signing out")
	}
	ada.shot("signed-out")
	ada.signIn(adaEmail, "not my password at all", http.StatusUnauthorized)
	ada.wantText("Incorrect email or password.")
	if got := ada.value("email"); got != adaEmail {
		t.Errorf("after a wrong password the email field holds %q, want %q", got, adaEmail)
	}
	if got := ada.value("password"); got != "" {
		t.Errorf("after a wrong password the password field holds %q, want it empty", got)
	}
	ada.shot("signin-error")

	// Signing in again from a bookmark of /users lands on /users.
	ada.open(baseURL + "/users")
	ada.wantPath("/signin?next=%2Fusers")
	ada.signIn(adaEmail, adaPassword, http.StatusOK)
	ada.wantPath("/users")
	ada.wantText("2 users")
	if rows := ada.text("table.users tbody"); !strings.Contains(rows, bobEmail) || !strings.Contains(rows, "Expired") {
		t.Errorf("users table = %q, want Bob listed as Expired", rows)
	}

	// At phone width, the page itself does not scroll sideways; the table
	// scrolls within its wrapper.
	ada.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	ada.reload()
	if w := ada.evalInt(`document.documentElement.scrollWidth`); w > 376 {
		t.Errorf("at 375 px the page is %d px wide: it scrolls sideways", w)
	}
	if w := ada.evalInt(`document.body.scrollWidth`); w > 376 {
		t.Errorf("at 375 px the body is %d px wide", w)
	}
	if ada.evalInt(`document.querySelector(".table-wrap").scrollWidth`) > ada.evalInt(`document.querySelector(".table-wrap").clientWidth`) &&
		ada.evalString(`getComputedStyle(document.querySelector(".table-wrap")).overflowX`) != "auto" {
		t.Error("the users table is wider than the phone and its wrapper does not scroll")
	}
	ada.shot("users-phone-first-run") // users-phone is the full dashboard's (browser_users_test.go)
}

// browserShots saves screenshots in the test's artifact directory and, when
// ROSTER_SCREENSHOTS is set, in that directory too.
type browserShots struct {
	t    *testing.T
	dirs []string
}

func newBrowserShots(t *testing.T) *browserShots {
	s := &browserShots{t: t, dirs: []string{t.ArtifactDir()}}
	if d := os.Getenv("ROSTER_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("ROSTER_SCREENSHOTS: %v", err)
		}
		s.dirs = append(s.dirs, d)
	}
	t.Logf("screenshots: %s", strings.Join(s.dirs, " and "))
	return s
}

func (s *browserShots) save(name string, png []byte) {
	s.t.Helper()
	for _, d := range s.dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			s.t.Errorf("save screenshot %s: %v", name, err)
		}
	}
}

// browserPerson is one person at one browser: a tab in a browser context of
// its own, so with its own cookies.
type browserPerson struct {
	t     *testing.T
	ctx   context.Context
	name  string
	base  string
	shots *browserShots
}

const browserStepTimeout = 15 * time.Second

func newBrowserPerson(t *testing.T, browserCtx context.Context, name, base string, shots *browserShots) *browserPerson {
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a browser context for %s: %v", name, err)
	}
	return &browserPerson{t: t, ctx: ctx, name: name, base: base, shots: shots}
}

func (p *browserPerson) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, browserStepTimeout)
}

func (p *browserPerson) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s, at %s: %v", p.name, p.location(), err)
	}
}

func browserRun[T any](p *browserPerson, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.t.Fatalf("%s, at %s: %v", p.name, p.location(), err)
	}
	return v
}

// open loads a URL and returns the HTTP status of the page it ends on.
func (p *browserPerson) open(u string) int {
	p.t.Helper()
	resp := browserRun(p, chromedp.NavigateResponse(u))
	if resp == nil {
		p.t.Fatalf("%s: no response for %s", p.name, u)
	}
	return int(resp.Status)
}

// submit clicks what the CSS selector names and waits for the page that
// follows, returning its HTTP status (after any redirect).
func (p *browserPerson) submit(css string) int {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil || resp == nil {
		p.t.Fatalf("%s: click %s at %s: %v", p.name, css, p.location(), err)
	}
	return int(resp.Status)
}

func (p *browserPerson) reload() int {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Reload())
	if err != nil || resp == nil {
		p.t.Fatalf("%s: reload %s: %v", p.name, p.location(), err)
	}
	return int(resp.Status)
}

// signIn fills the sign-in form on the current page and submits it.
func (p *browserPerson) signIn(email, password string, wantStatus int) {
	p.t.Helper()
	p.wantHeading("Sign in")
	p.fill("email", email)
	p.fill("password", password)
	if st := p.submit(`form[action="/signin"] button[type=submit]`); st != wantStatus {
		p.t.Errorf("%s signs in as %s: status %d, want %d; page: %q", p.name, email, st, wantStatus, p.bodyText())
	}
}

// fill replaces the value of the input with the id by typing.
func (p *browserPerson) fill(id, value string) {
	p.t.Helper()
	p.do(chromedp.WaitVisible(chromedp.ID(id)), chromedp.Clear(chromedp.ID(id)))
	if value != "" {
		p.do(chromedp.SendKeys(chromedp.ID(id), value))
	}
}

func (p *browserPerson) value(id string) string {
	p.t.Helper()
	return browserRun(p, chromedp.Value(chromedp.ID(id)))
}

func (p *browserPerson) text(css string) string {
	p.t.Helper()
	return strings.TrimSpace(browserRun(p, chromedp.Text(chromedp.CSS(css))))
}

func (p *browserPerson) evalString(js string) string {
	p.t.Helper()
	return browserRun(p, chromedp.Evaluate[string](js))
}

func (p *browserPerson) evalInt(js string) int {
	p.t.Helper()
	return browserRun(p, chromedp.Evaluate[int](js))
}

func (p *browserPerson) eval(js string) bool {
	p.t.Helper()
	return browserRun(p, chromedp.Evaluate[bool](js))
}

func (p *browserPerson) count(css string) int {
	p.t.Helper()
	return p.evalInt(fmt.Sprintf(`document.querySelectorAll(%q).length`, css))
}

// visible reports whether the element is rendered with a size.
func (p *browserPerson) visible(css string) bool {
	p.t.Helper()
	return p.eval(fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e || !e.checkVisibility()) return false;
		const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0; })()`, css))
}

// bodyText is the text a person sees on the page.
func (p *browserPerson) bodyText() string {
	p.t.Helper()
	return p.evalString(`document.body.innerText`)
}

func (p *browserPerson) location() string {
	ctx, cancel := p.step()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown page)"
	}
	return loc
}

// wantPath checks the path and query of the current page.
func (p *browserPerson) wantPath(want string) {
	p.t.Helper()
	loc := p.location()
	u, err := url.Parse(loc)
	if err != nil {
		p.t.Fatalf("%s: location %q: %v", p.name, loc, err)
	}
	if got := u.RequestURI(); got != want {
		p.t.Errorf("%s is on %s, want %s", p.name, got, want)
	}
}

func (p *browserPerson) wantHeading(want string) {
	p.t.Helper()
	if got := p.text("main h1"); got != want {
		p.t.Errorf("%s sees the heading %q at %s, want %q", p.name, got, p.location(), want)
	}
}

func (p *browserPerson) wantText(want string) {
	p.t.Helper()
	if body := p.bodyText(); !strings.Contains(body, want) {
		p.t.Errorf("%s does not see %q at %s; the page says:\n%s", p.name, want, p.location(), body)
	}
}

func (p *browserPerson) wantNoText(unwanted string) {
	p.t.Helper()
	if body := p.bodyText(); strings.Contains(body, unwanted) {
		p.t.Errorf("%s sees %q at %s; the page says:\n%s", p.name, unwanted, p.location(), body)
	}
}

func (p *browserPerson) wantFocus(css string) {
	p.t.Helper()
	if !p.eval(fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, css)) {
		p.t.Errorf("%s: focus is on %s, want %s", p.name,
			p.evalString(`document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : "nothing"`), css)
	}
}

func (p *browserPerson) shot(name string) {
	p.t.Helper()
	p.shots.save(name, browserRun(p, chromedp.FullScreenshot(100)))
}

// actor returns the person's actor, resolved from their session cookie.
func (p *browserPerson) actor(svc *admin.Service) *roster.Actor {
	p.t.Helper()
	ctx, cancel := p.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base + "/"}})
	if err != nil {
		p.t.Fatalf("%s: cookies: %v", p.name, err)
	}
	for _, c := range res.Cookies {
		if c.Name == web.SessionCookie {
			a, err := svc.ActorBySession(context.Background(), c.Value)
			if err != nil {
				p.t.Fatalf("%s: ActorBySession: %v", p.name, err)
			}
			return a
		}
	}
	p.t.Fatalf("%s has no %s cookie", p.name, web.SessionCookie)
	return nil
}
