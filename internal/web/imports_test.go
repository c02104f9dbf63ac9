package web_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/server"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
	"github.com/roster-dev/roster/internal/web"
)

// importTestEnv is the real root handler over SQLite with two
// organizations, each with a signed-in admin.
type importTestEnv struct {
	db     *store.DB
	svc    *admin.Service
	root   http.Handler
	acme   *importTenant
	birch  *importTenant
	member string // session of an Acme user without Manage Users
}

type importTenant struct {
	actor  *roster.Actor
	cookie string
}

const importTestPassword = "correct horse battery staple 42"

func newImportTestEnv(t *testing.T) *importTestEnv {
	t.Helper()
	return newImportTestEnvOn(t, storetest.OpenSQLite)
}

// newImportTestEnvOn is newImportTestEnv on the database open returns, so
// that a test can run on each of storetest.Backends().
func newImportTestEnvOn(t *testing.T, open func(testing.TB) *store.DB) *importTestEnv {
	t.Helper()
	db := open(t)
	svc := admin.New(admin.Options{DB: db, BaseURL: "http://roster.test"})
	root, err := server.Handler(server.Options{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	e := &importTestEnv{db: db, svc: svc, root: root}
	e.acme = e.tenant(t, "Acme", "acme")
	e.birch = e.tenant(t, "Birch", "birch")
	_, sess := e.signUp(t, "acme", "mia@acme.example")
	if _, err := svc.UpdateUser(t.Context(), e.acme.actor, sess.Actor.User.ID,
		admin.UserPatch{Permissions: roster.Some(roster.Permissions(roster.ViewAnalytics))}); err != nil {
		t.Fatal(err)
	}
	e.member = sess.Secret.Reveal()
	return e
}

func (e *importTestEnv) tenant(t *testing.T, name, slug string) *importTenant {
	t.Helper()
	if err := e.svc.CreateOrg(t.Context(), &roster.Org{Name: name, Slug: slug, UserManagement: true}); err != nil {
		t.Fatal(err)
	}
	_, sess := e.signUp(t, slug, "admin@"+slug+".example")
	return &importTenant{actor: sess.Actor, cookie: sess.Secret.Reveal()}
}

// signUp adds an admin and sets their password through the one-time link.
func (e *importTestEnv) signUp(t *testing.T, slug, email string) (*roster.User, *admin.Session) {
	t.Helper()
	u, link, err := e.svc.AddAdmin(t.Context(), slug, email)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := e.svc.UseLink(t.Context(), link[strings.LastIndex(link, "/")+1:], importTestPassword)
	if err != nil {
		t.Fatal(err)
	}
	return u, sess
}

// do sends a request through the whole middleware chain as the session.
func (e *importTestEnv) do(t *testing.T, cookie string, r *http.Request) (*httptest.ResponseRecorder, string) {
	t.Helper()
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: cookie})
	}
	rec := httptest.NewRecorder()
	e.root.ServeHTTP(rec, r)
	return rec, html.UnescapeString(rec.Body.String())
}

func (e *importTestEnv) get(t *testing.T, cookie, path string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	return e.do(t, cookie, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
}

func (e *importTestEnv) post(t *testing.T, cookie, path string) (*httptest.ResponseRecorder, string) {
	t.Helper()
	return e.do(t, cookie, httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, nil))
}

// upload posts the upload form: its text fields, then the file part
// (skipped when name and content are both empty and noFile is set).
type upload struct {
	welcome, date string
	fileName      string
	content       []byte
	noFilePart    bool
}

func (u upload) request(t *testing.T) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("welcome_message", u.welcome)
	mw.WriteField("default_expiration_date", u.date)
	if !u.noFilePart {
		fw, err := mw.CreateFormFile("file", u.fileName)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(u.content)
	}
	mw.Close()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/users/import", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

var importLocation = regexp.MustCompile(`^/imports/(\d+)$`)

// preview uploads a file that must be accepted and returns its page path.
func (e *importTestEnv) preview(t *testing.T, cookie string, u upload) string {
	t.Helper()
	rec, body := e.do(t, cookie, u.request(t))
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !importLocation.MatchString(loc) {
		t.Fatalf("upload %s: %d Location %q, want 303 to /imports/{id}; body:\n%s", u.fileName, rec.Code, loc, body)
	}
	return loc
}

// noImports checks that the organization keeps no import at all.
func (e *importTestEnv) noImports(t *testing.T, tn *importTenant) {
	t.Helper()
	for id := int64(1); id <= 50; id++ {
		if im, err := e.db.ImportByID(t.Context(), tn.actor.Org.ID, id); err == nil {
			t.Errorf("import %d (%s, state %s) was kept; want none", id, im.FileName, im.State)
		}
	}
}

// TestImportUploadRefused: every file or field the upload form cannot take
// is refused with a specific message on the form, keeping what was typed,
// and keeps nothing (SPEC "Bad input").
func TestImportUploadRefused(t *testing.T) {
	e := newImportTestEnv(t)
	today := e.svc.Today(e.acme.actor)
	good := []byte("email\nnew@acme.example\n")
	urlencoded := func(t *testing.T) *http.Request {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/users/import", strings.NewReader("welcome_message=hi"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	oversize := func(t *testing.T) *http.Request {
		r := upload{fileName: "huge.csv", content: good}.request(t)
		r.ContentLength = 300 << 20 // claimed; the body is small
		return r
	}
	tests := []struct {
		name       string
		req        func(*testing.T) *http.Request
		wantStatus int
		want       []string // in the page, unescaped
	}{
		{"no file chosen", upload{welcome: "Hello", fileName: "", content: nil}.request, 422,
			[]string{"choose a CSV file to upload", `id="file-error"`, ">Hello</textarea>"}},
		{"no file part", upload{welcome: "Hello", noFilePart: true}.request, 422,
			[]string{"choose a CSV file to upload"}},
		{"not a multipart form", urlencoded, 400,
			[]string{"choose a CSV file and press Preview"}},
		{"an Excel workbook", upload{fileName: "people.xlsx", content: []byte("PK\x03\x04\x14\x00\x06\x00binary")}.request, 422,
			[]string{"this is an Excel workbook (.xlsx), not a CSV file"}},
		{"binary data", upload{fileName: "photo.csv", content: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")}.request, 422,
			[]string{"not CSV text"}},
		{"an empty file", upload{fileName: "empty.csv", content: []byte{}}.request, 422,
			[]string{"the file is empty"}},
		{"no email column", upload{welcome: "Welcome aboard", date: today.AddDays(30).String(), fileName: "names.csv",
			content: []byte("First Name,Department\nAda,R&D\n")}.request, 422,
			[]string{`no "email" column: expected email, first_name, last_name, expiration_date, permissions; found "First Name", "Department"`,
				">Welcome aboard</textarea>", `value="` + today.AddDays(30).String() + `"`, "choose the file again"}},
		{"over the size limit (claimed length)", oversize, 413,
			[]string{"the file is larger than 256 MiB", "up to 1,000,000 rows and 256 MiB"}},
		{"a default expiration date in the past", upload{date: today.AddDays(-1).String(), fileName: "ok.csv", content: good}.request, 422,
			[]string{`id="default_expiration_date-error"`, "is not in the future", `value="` + today.AddDays(-1).String() + `"`}},
		{"a default expiration date that is not a date", upload{date: "31/31/2030", fileName: "ok.csv", content: good}.request, 422,
			[]string{`id="default_expiration_date-error"`, `value="31/31/2030"`}},
		{"a welcome message over 2000 characters", upload{welcome: strings.Repeat("w", 2001), fileName: "ok.csv", content: good}.request, 422,
			[]string{`id="welcome_message-error"`, "use at most 2000 characters"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, body := e.do(t, e.acme.cookie, tc.req(t))
			if rec.Code != tc.wantStatus {
				t.Errorf("status %d, want %d; body:\n%s", rec.Code, tc.wantStatus, body)
			}
			if !strings.Contains(body, "<h1>Bulk upload</h1>") || !strings.Contains(body, "Nothing was uploaded.") {
				t.Errorf("the answer is not the upload form with an error:\n%s", body)
			}
			for _, s := range tc.want {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
		})
	}
	e.noImports(t, e.acme)
}

// TestImportFlow walks one upload from the form to the report: preview
// (counts, ignored columns, row errors, old -> new values), apply, progress,
// applying twice, result and report.
func TestImportFlow(t *testing.T) {
	e := newImportTestEnv(t)
	ctx := t.Context()
	a := e.acme.actor
	today := e.svc.Today(a)
	if _, err := e.svc.Invite(ctx, a, admin.InviteInput{Email: "grace@acme.example", FirstName: roster.Some("Grace"),
		LastName: roster.Some("Hopper"), WelcomeMessage: roster.Some("Hi Grace")}); err != nil {
		t.Fatal(err)
	}

	// The upload page itself.
	rec, body := e.get(t, e.acme.cookie, "/users/import")
	for _, s := range []string{"<h1>Bulk upload</h1>", `href="/users/import/template.csv"`, `enctype="multipart/form-data"`,
		`accept=".csv,.txt,text/csv"`, `type="date"`, "at most 2000 characters", "leave blank to keep each user's current message",
		"up to 1,000,000 rows and 256 MiB", `<script src="/static/import.js" defer></script>`} {
		if !strings.Contains(body, s) {
			t.Errorf("GET /users/import (%d) lacks %q", rec.Code, s)
		}
	}
	// The text fields come before the file input, as the handler reads them.
	if i, j, k := strings.Index(body, `name="welcome_message"`), strings.Index(body, `name="default_expiration_date"`),
		strings.Index(body, `name="file"`); !(i >= 0 && i < j && j < k) {
		t.Errorf("form order: welcome_message at %d, default_expiration_date at %d, file at %d; want the file last", i, j, k)
	}
	rec, body = e.get(t, e.acme.cookie, "/users/import/template.csv")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment;") ||
		!strings.HasPrefix(body, "email,first_name,last_name,expiration_date,permissions\r\n") {
		t.Errorf("template: %d %q %q\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"), body)
	}
	if _, body := e.get(t, e.acme.cookie, "/users"); !strings.Contains(body, `href="/users/import" id="bulk-upload">Bulk upload</a>`) {
		t.Errorf("User Management has no Bulk upload button:\n%s", body)
	}

	// Preview. The welcome message field is blank: Grace keeps hers.
	csv := "Email,First Name,Last Name,Department\r\n" +
		"lin@acme.example,Lin,Lee,R&D\r\n" +
		"grace@acme.example,Grace,Murray Hopper,Navy\r\n" +
		"not-an-email,Bad,Row,\r\n" +
		"max@acme.example,Max,,Sales\r\n"
	page := e.preview(t, e.acme.cookie, upload{date: today.AddDays(90).String(), fileName: "people.csv", content: []byte(csv)})
	id := strings.TrimPrefix(page, "/imports/")
	rec, body = e.get(t, e.acme.cookie, page)
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d\n%s", page, rec.Code, body)
	}
	text := pageText(body)
	for _, s := range []string{"Preview of people.csv", "Nothing has changed yet.", "2 new users", "1 existing user will be updated",
		"3 invitations will be sent", "1 row has errors (it will be skipped)", "Ignored columns: Department",
		"4 email", "Last name: Hopper → Murray Hopper", "Invite Users", "Cancel"} {
		if !strings.Contains(text, s) {
			t.Errorf("preview lacks %q:\n%s", s, text)
		}
	}
	if strings.Contains(text, "Welcome message:") {
		t.Errorf("a blank welcome message field changes welcome messages:\n%s", text)
	}
	if !strings.Contains(body, `action="`+page+`/apply"`) {
		t.Errorf("preview has no form posting to %s/apply", page)
	}
	if u := userByEmail(t, e.svc, a, "lin@acme.example"); u != nil {
		t.Errorf("the preview created %s", u.Email)
	}

	// Apply: the progress page until a runner takes it.
	rec, _ = e.post(t, e.acme.cookie, page+"/apply")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != page {
		t.Fatalf("apply: %d Location %q, want 303 to %s", rec.Code, rec.Header().Get("Location"), page)
	}
	_, body = e.get(t, e.acme.cookie, page)
	for _, s := range []string{"<h1>Inviting users</h1>", `<progress id="import-progress" data-value="processed" data-max="rows" value="0" max="4"`, `0</strong> of <span id="rows" data-field="rows">4</span> rows`,
		`<noscript><meta http-equiv="refresh" content="2"></noscript>`, `data-progress-url="` + page + `/status"`, "You can close this page"} {
		if !strings.Contains(body, s) {
			t.Errorf("progress page lacks %q:\n%s", s, body)
		}
	}
	rec, body = e.get(t, e.acme.cookie, page+"/status")
	var st struct {
		State     string         `json:"state"`
		Rows      int            `json:"rows"`
		Processed int            `json:"processed"`
		Counts    map[string]int `json:"counts"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil || rec.Code != 200 || st.State != "applying" || st.Rows != 4 || st.Processed != 0 ||
		len(st.Counts) != 4 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("status: %d %s (%v), want applying, 4 rows, 0 processed, four counts", rec.Code, body, err)
	}

	// Applying twice is refused with a notice, and changes nothing.
	rec, _ = e.post(t, e.acme.cookie, page+"/apply")
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != page+"?notice=already_applied" {
		t.Errorf("second apply: %d Location %q, want 303 to %s?notice=already_applied", rec.Code, loc, page)
	}
	if _, body := e.get(t, e.acme.cookie, page+"?notice=already_applied"); !strings.Contains(body, "This upload was already applied, so it was not applied again.") {
		t.Errorf("the page after a second apply lacks the notice:\n%s", body)
	}

	if ran, err := e.svc.RunOneImport(ctx, "test", mustAtoi(t, id)); !ran || err != nil {
		t.Fatalf("RunOneImport = %v, %v", ran, err)
	}
	_, body = e.get(t, e.acme.cookie, page)
	text = pageText(body)
	for _, s := range []string{"Upload complete", "2 users created", "1 user updated", "3 invitations queued", "1 row with errors (skipped)",
		"4 email", "Download report"} {
		if !strings.Contains(text, s) {
			t.Errorf("result lacks %q:\n%s", s, text)
		}
	}
	if !strings.Contains(body, `href="`+page+`/report.csv"`) {
		t.Errorf("result has no link to %s/report.csv", page)
	}
	rec, body = e.get(t, e.acme.cookie, page+"/report.csv")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		rec.Header().Get("Content-Disposition") != `attachment; filename="roster-import-`+id+`-report.csv"` {
		t.Errorf("report: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"))
	}
	for _, s := range []string{"row,email,outcome,message\n", "2,lin@acme.example,created,invitation queued",
		"3,grace@acme.example,updated,invitation queued", "4,not-an-email,error,email: ", "5,max@acme.example,created,invitation queued"} {
		if !strings.Contains(body, s) {
			t.Errorf("report lacks %q:\n%s", s, body)
		}
	}
	grace := userByEmail(t, e.svc, a, "grace@acme.example")
	if grace == nil || grace.LastName != "Murray Hopper" || grace.WelcomeMessage != "Hi Grace" || grace.ExpirationDate != today.AddDays(90) {
		t.Errorf("Grace after the upload: %+v; want Murray Hopper, her welcome message kept, the default expiration date", grace)
	}
}

// TestImportWelcomeMessage: a welcome message typed in the form replaces
// each user's.
func TestImportWelcomeMessage(t *testing.T) {
	e := newImportTestEnv(t)
	if _, err := e.svc.Invite(t.Context(), e.acme.actor, admin.InviteInput{Email: "grace@acme.example", WelcomeMessage: roster.Some("Hi Grace")}); err != nil {
		t.Fatal(err)
	}
	page := e.preview(t, e.acme.cookie, upload{welcome: "Welcome to Acme!", fileName: "g.csv", content: []byte("email\ngrace@acme.example\n")})
	if _, body := e.get(t, e.acme.cookie, page); !strings.Contains(pageText(body), "Welcome message: Hi Grace → Welcome to Acme!") {
		t.Errorf("preview lacks the welcome message change:\n%s", pageText(body))
	}
}

// TestImportDiscard: Cancel on the preview forgets the upload; an applied
// one cannot be discarded.
func TestImportDiscard(t *testing.T) {
	e := newImportTestEnv(t)
	page := e.preview(t, e.acme.cookie, upload{fileName: "d.csv", content: []byte("email\nnobody@acme.example\n")})
	if _, body := e.get(t, e.acme.cookie, page); !strings.Contains(body, `formaction="`+page+`/discard"`) {
		t.Fatalf("the preview has no Cancel that discards:\n%s", body)
	}
	rec, _ := e.post(t, e.acme.cookie, page+"/discard")
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/users/import?notice=discarded" {
		t.Errorf("discard: %d Location %q, want 303 to the upload page", rec.Code, loc)
	}
	if _, body := e.get(t, e.acme.cookie, "/users/import?notice=discarded"); !strings.Contains(body, "The upload was discarded; nothing changed.") {
		t.Errorf("upload page lacks the discard notice")
	}
	if rec, _ := e.get(t, e.acme.cookie, page); rec.Code != http.StatusNotFound {
		t.Errorf("discarded preview: %d, want 404", rec.Code)
	}
	if _, err := e.svc.ImportStatus(t.Context(), e.acme.actor, mustAtoi(t, strings.TrimPrefix(page, "/imports/"))); !errors.Is(err, roster.ErrNotFound) {
		t.Errorf("ImportStatus(discarded) = %v, want ErrNotFound", err)
	}
	applied := e.preview(t, e.acme.cookie, upload{fileName: "a.csv", content: []byte("email\nsomebody@acme.example\n")})
	e.post(t, e.acme.cookie, applied+"/apply")
	rec, _ = e.post(t, e.acme.cookie, applied+"/discard")
	if loc := rec.Header().Get("Location"); loc != applied+"?notice=already_applied" {
		t.Errorf("discarding an applied upload: %d Location %q, want the already-applied notice", rec.Code, loc)
	}
}

// TestImportLargerThanTheDefaultBodyLimit: the dashboard's upload is not
// held to the 1 MiB every other request is.
func TestImportLargerThanTheDefaultBodyLimit(t *testing.T) {
	e := newImportTestEnv(t)
	var b strings.Builder
	b.WriteString("email,notes\n")
	note := strings.Repeat("n", 1500)
	for i := 0; b.Len() < 2<<20; i++ {
		fmt.Fprintf(&b, "user%d@acme.example,%s\n", i, note)
	}
	page := e.preview(t, e.acme.cookie, upload{fileName: "big.csv", content: []byte(b.String())})
	if _, body := e.get(t, e.acme.cookie, page); !strings.Contains(pageText(body), "Ignored columns: notes") {
		t.Errorf("preview of a 2 MiB file:\n%s", pageText(body))
	}
}

// TestImportNothingToApply: a file whose every row has an error cannot be
// applied, and the preview says so.
func TestImportNothingToApply(t *testing.T) {
	e := newImportTestEnv(t)
	page := e.preview(t, e.acme.cookie, upload{fileName: "bad.csv", content: []byte("email,permissions\nnope,\nx@acme.example,fly\n")})
	_, body := e.get(t, e.acme.cookie, page)
	if !strings.Contains(body, `id="invite-users" disabled`) || !strings.Contains(body, "there is nothing to invite") ||
		!strings.Contains(pageText(body), "2 rows have errors (they will be skipped)") {
		t.Errorf("preview of a file with only errors:\n%s", body)
	}
}

// TestImportManyErrors: the preview lists the first 1,000 problems and
// says that there are more; the counts stay exact.
func TestImportManyErrors(t *testing.T) {
	e := newImportTestEnv(t)
	var b strings.Builder
	b.WriteString("email\n")
	for i := range 1200 {
		fmt.Fprintf(&b, "bad%d\n", i)
	}
	b.WriteString("good@acme.example\n")
	page := e.preview(t, e.acme.cookie, upload{fileName: "many.csv", content: []byte(b.String())})
	_, body := e.get(t, e.acme.cookie, page)
	text := pageText(body)
	for _, s := range []string{"1,200 rows have errors (they will be skipped)", "1 invitation will be sent",
		"Only the first 1,000 problems are listed; the count above is exact."} {
		if !strings.Contains(text, s) {
			t.Errorf("preview lacks %q", s)
		}
	}
	if n := strings.Count(body, `<tr><td class="num">`); n != admin.ImportIssueLimit {
		t.Errorf("the errors table has %d rows, want %d", n, admin.ImportIssueLimit)
	}
}

// TestImportTenancy: another organization's import is a 404 on every
// import route, indistinguishable from a missing one (SPEC "Bad input").
func TestImportTenancy(t *testing.T) {
	e := newImportTestEnv(t)
	page := e.preview(t, e.acme.cookie, upload{fileName: "acme.csv", content: []byte("email\nsecret-person@acme.example\n")})
	missing := "/imports/999999"
	for _, sub := range []string{"", "/status", "/report.csv", "/apply", "/discard"} {
		send := e.get
		if sub == "/apply" || sub == "/discard" {
			send = e.post
		}
		rec, body := send(t, e.birch.cookie, page+sub)
		mrec, mbody := send(t, e.birch.cookie, missing+sub)
		if rec.Code != http.StatusNotFound {
			t.Errorf("Birch on %s%s: status %d, want 404", page, sub, rec.Code)
		}
		if rec.Code != mrec.Code || body != mbody {
			t.Errorf("Birch on %s%s: %d %q differs from a missing id's %d %q", page, sub, rec.Code, body, mrec.Code, mbody)
		}
		if strings.Contains(body, "secret-person") || strings.Contains(body, "acme.csv") {
			t.Errorf("Birch on %s%s sees Acme's upload:\n%s", page, sub, body)
		}
	}
	if _, body := e.get(t, e.acme.cookie, page); !strings.Contains(body, "Preview of acme.csv") {
		t.Errorf("Acme's own upload after Birch's attempts:\n%s", body)
	}
	if rec, _ := e.get(t, e.acme.cookie, "/imports/abc"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /imports/abc: %d, want 404", rec.Code)
	}
}

// TestImportAccess: the upload pages follow User Management's access rule.
func TestImportAccess(t *testing.T) {
	e := newImportTestEnv(t)
	page := e.preview(t, e.acme.cookie, upload{fileName: "a.csv", content: []byte("email\nz@acme.example\n")})
	for _, path := range []string{"/users/import", "/users/import/template.csv", page, page + "/status", page + "/report.csv"} {
		if rec, body := e.get(t, e.member, path); rec.Code != http.StatusForbidden || !strings.Contains(body, "Manage Users permission") {
			t.Errorf("member GET %s: %d, want 403 naming the permission", path, rec.Code)
		}
		rec, _ := e.get(t, "", path)
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "/signin?next="+url.QueryEscape(path) {
			t.Errorf("signed out GET %s: %d Location %q, want 303 to sign-in", path, rec.Code, loc)
		}
	}
	if rec, _ := e.do(t, e.member, upload{fileName: "a.csv", content: []byte("email\ny@acme.example\n")}.request(t)); rec.Code != http.StatusForbidden {
		t.Errorf("member upload: %d, want 403", rec.Code)
	}
	if rec, _ := e.post(t, e.member, page+"/apply"); rec.Code != http.StatusForbidden {
		t.Errorf("member apply: %d, want 403", rec.Code)
	}
	if _, body := e.get(t, e.acme.cookie, page); !strings.Contains(body, "Nothing has changed yet.") {
		t.Errorf("after the member's attempts the upload is no longer a preview:\n%s", pageText(body))
	}
}

// importsInEveryState makes one import in each state the pages show, for
// TestEveryPageRenders.
type importPages struct{ previewed, nothing, applying, done, failed string }

func importsInEveryState(t *testing.T, svc *admin.Service, a *roster.Actor) importPages {
	t.Helper()
	ctx := t.Context()
	prev := func(a *roster.Actor, name, csv string) int64 {
		t.Helper()
		p, err := svc.PreviewImport(ctx, a, strings.NewReader(csv), admin.ImportOptions{FileName: name})
		if err != nil {
			t.Fatalf("PreviewImport(%s): %v", name, err)
		}
		return p.Import.ID
	}
	apply := func(a *roster.Actor, id int64) {
		t.Helper()
		if _, err := svc.ApplyImport(ctx, a, id); err != nil {
			t.Fatalf("ApplyImport(%d): %v", id, err)
		}
	}
	run := func(id int64) {
		t.Helper()
		if ran, err := svc.RunOneImport(ctx, "test", id); !ran || err != nil {
			t.Fatalf("RunOneImport(%d) = %v, %v", id, ran, err)
		}
	}
	path := func(id int64) string { return fmt.Sprintf("/imports/%d", id) }
	csv := "email,first_name,department\n" + a.User.Email + ",Adeline,HQ\nnew@acme.example,New,Ops\nbad-email,,\n"
	var out importPages
	out.previewed = path(prev(a, "people.csv", csv))
	out.nothing = path(prev(a, "bad.csv", "email\nnope\n"))
	id := prev(a, "applying.csv", csv)
	apply(a, id)
	out.applying = path(id)
	id = prev(a, "done.csv", csv)
	apply(a, id)
	run(id)
	out.done = path(id)

	// Failed: the admin who applied it lost Manage Users before it ran.
	u, link, err := svc.AddAdmin(ctx, a.Org.Slug, "bob@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := svc.UseLink(ctx, link[strings.LastIndex(link, "/")+1:], importTestPassword)
	if err != nil {
		t.Fatal(err)
	}
	id = prev(bob.Actor, "failed.csv", "email\nlate@acme.example\n")
	apply(bob.Actor, id)
	if _, err := svc.UpdateUser(ctx, a, u.ID, admin.UserPatch{Permissions: roster.Some(roster.Permissions(roster.ViewAnalytics))}); err != nil {
		t.Fatal(err)
	}
	run(id)
	out.failed = path(id)
	return out
}

var (
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// pageText is a page's text with tags dropped and white space folded, for
// checking sentences that span elements.
func pageText(body string) string {
	return strings.TrimSpace(spaceRE.ReplaceAllString(tagRE.ReplaceAllString(body, " "), " "))
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// userByEmail finds a user of the actor's organization, or nil.
func userByEmail(t *testing.T, svc *admin.Service, a *roster.Actor, email string) *roster.User {
	t.Helper()
	list, err := svc.ListUsers(t.Context(), a, roster.UserFilter{Query: email})
	if err != nil {
		t.Fatalf("ListUsers(%s): %v", email, err)
	}
	for _, u := range list.Users {
		if u.Email == email {
			return u
		}
	}
	return nil
}
