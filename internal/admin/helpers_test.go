package admin_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

const (
	baseURL = "http://roster.test"
	// goodPassword and otherPassword pass the policy (>= 15 characters, not common).
	goodPassword  = "correct horse battery staple 42"
	otherPassword = "purple elephant juggling at noon 7"
	// commonPassword is long enough but on the common-password list.
	commonPassword = "1qaz2wsx3edc4rfv"
)

// t0 is the default start of every test's clock: mid-day UTC, so that
// "today" is the same date in UTC and in most zones.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// clock is a controllable time source, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// env is a Service on a fresh database with a controllable clock and a
// local mailbox.
type env struct {
	svc     *admin.Service
	db      *store.DB
	clock   *clock
	mailDir string
}

// newEnv opens a fresh database of backend b. opt, when given, may change
// the options before the Service is made.
func newEnv(t *testing.T, b storetest.Backend, opt ...func(*admin.Options)) *env {
	t.Helper()
	db := b.Open(t)
	dir := filepath.Join(t.TempDir(), "mailbox")
	mb, err := mail.NewMailbox(dir, mail.Options{}, nil)
	if err != nil {
		t.Fatalf("mail.NewMailbox: %v", err)
	}
	c := &clock{now: t0}
	o := admin.Options{DB: db, Now: c.Now, BaseURL: baseURL, PasswordMinLength: 15, Mailer: mb}
	for _, f := range opt {
		f(&o)
	}
	return &env{svc: admin.New(o), db: db, clock: c, mailDir: dir}
}

// forEachBackend runs fn as a parallel subtest per database.
func forEachBackend(t *testing.T, fn func(t *testing.T, b storetest.Backend)) {
	t.Helper()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// org creates an organization with User Management on; mod may change it first.
func (e *env) org(t *testing.T, slug string, mod ...func(*roster.Org)) *roster.Org {
	t.Helper()
	o := &roster.Org{Name: "Org " + slug, Slug: slug, UserManagement: true, SupportContact: "help@" + slug + ".example"}
	for _, f := range mod {
		f(o)
	}
	if err := e.svc.CreateOrg(t.Context(), o); err != nil {
		t.Fatalf("CreateOrg(%s): %v", slug, err)
	}
	return o
}

// cliActor is the organization's user with email acting through the CLI;
// it checks the access gate, so only for admins. It costs no hashing.
func (e *env) cliActor(t *testing.T, slug, email string) *roster.Actor {
	t.Helper()
	a, err := e.svc.ActorFor(t.Context(), slug, email)
	if err != nil {
		t.Fatalf("ActorFor(%s, %s): %v", slug, email, err)
	}
	return a
}

// rawActor is the user as stored, as an actor, without any access check.
func (e *env) rawActor(t *testing.T, o *roster.Org, email string) *roster.Actor {
	t.Helper()
	org, err := e.db.OrgByID(t.Context(), o.ID)
	if err != nil {
		t.Fatalf("OrgByID(%d): %v", o.ID, err)
	}
	return &roster.Actor{Org: org, User: e.user(t, o.ID, email), Via: "session"}
}

// addAdminCLI adds an admin without setting a password (no hashing).
func (e *env) addAdminCLI(t *testing.T, slug, email string) *roster.User {
	t.Helper()
	u, _, err := e.svc.AddAdmin(t.Context(), slug, email)
	if err != nil {
		t.Fatalf("AddAdmin(%s, %s): %v", slug, email, err)
	}
	return u
}

// plainUser stores a user directly, with a password when pw is not "".
func (e *env) plainUser(t *testing.T, orgID int64, email string, perms roster.Permissions, exp roster.Date, pw string) *roster.User {
	t.Helper()
	u := &roster.User{OrgID: orgID, Email: email, Permissions: perms, ExpirationDate: exp, FirstName: "Pat", LastName: "Plain"}
	var hash string
	if pw != "" {
		var err error
		if hash, err = auth.HashPassword(pw); err != nil {
			t.Fatalf("HashPassword: %v", err)
		}
	}
	err := e.db.InTx(t.Context(), func(tx *store.Tx) error {
		if err := tx.CreateUser(t.Context(), u, e.clock.Now()); err != nil {
			return err
		}
		if hash != "" {
			return tx.SetPassword(t.Context(), orgID, u.ID, hash, e.clock.Now())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// user reads a user by email from the store.
func (e *env) user(t *testing.T, orgID int64, email string) *roster.User {
	t.Helper()
	u, err := e.db.UserByEmail(t.Context(), orgID, email)
	if err != nil {
		t.Fatalf("UserByEmail(%d, %s): %v", orgID, email, err)
	}
	return u
}

// audit returns the org's audit events with action, newest first.
func (e *env) audit(t *testing.T, orgID int64, action string) []*store.AuditEvent {
	t.Helper()
	evs, err := e.db.AuditEvents(t.Context(), orgID, 0, 1000)
	if err != nil {
		t.Fatalf("AuditEvents(%d): %v", orgID, err)
	}
	var out []*store.AuditEvent
	for _, ev := range evs {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

// signIn signs in from a fixed client address.
func (e *env) signIn(t *testing.T, email, pw string) (*admin.Session, error) {
	t.Helper()
	return e.svc.SignIn(t.Context(), admin.SignInInput{Email: email, Password: pw, Client: addr("192.0.2.10")})
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

var linkRE = regexp.MustCompile(`^` + regexp.QuoteMeta(baseURL) + `/link/([A-Za-z0-9_-]{43})$`)

// linkToken returns the token of a one-time link URL, failing unless the URL
// is BaseURL + "/link/" + a 43-character token.
func linkToken(t *testing.T, link string) string {
	t.Helper()
	m := linkRE.FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("link = %q, want %s/link/<43-character token>", link, baseURL)
	}
	return m[1]
}

// date parses YYYY-MM-DD.
func date(t *testing.T, s string) roster.Date {
	t.Helper()
	d, err := roster.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// validationFields returns the fields of a *roster.ValidationError in err,
// sorted, or nil when err is not one.
func validationFields(err error) []string {
	var ve *roster.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	keys := make([]string, 0, len(ve.Fields))
	for k := range ve.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isAccessError(err error) bool {
	var ae *roster.AccessError
	return errors.As(err, &ae)
}

// message is an email as the mailbox wrote it, with its plain-text body decoded.
type message struct {
	To, Subject, Text string
}

// mails reads every .eml file in the env's mailbox.
func (e *env) mails(t *testing.T) []message {
	t.Helper()
	entries, err := os.ReadDir(e.mailDir)
	if err != nil {
		t.Fatalf("read mailbox: %v", err)
	}
	var out []message
	for _, ent := range entries {
		if !strings.HasSuffix(ent.Name(), ".eml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(e.mailDir, ent.Name()))
		if err != nil {
			t.Fatalf("read %s: %v", ent.Name(), err)
		}
		out = append(out, parseEML(t, b))
	}
	return out
}

func parseEML(t *testing.T, b []byte) message {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse .eml: %v", err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode Subject: %v", err)
	}
	to, err := netmail.ParseAddress(m.Header.Get("To"))
	if err != nil {
		t.Fatalf("parse To %q: %v", m.Header.Get("To"), err)
	}
	text := textPart(t, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
	return message{To: to.Address, Subject: subject, Text: text}
}

// textPart returns the decoded text/plain part of a body.
func textPart(t *testing.T, contentType, encoding string, body io.Reader) string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("parse Content-Type %q: %v", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return ""
			}
			if err != nil {
				t.Fatalf("read MIME part: %v", err)
			}
			if s := textPart(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); s != "" {
				return s
			}
		}
	}
	if mt != "text/plain" {
		return ""
	}
	var r io.Reader = body
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode text part: %v", err)
	}
	return string(b)
}

var mailLinkRE = regexp.MustCompile(regexp.QuoteMeta(baseURL) + `/link/[A-Za-z0-9_-]+`)
