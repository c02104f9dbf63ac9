package outbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/outbox"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

const (
	baseURL = "http://roster.test"
	// goodPassword passes the password policy (>= 15 characters, not common).
	goodPassword = "correct horse battery staple 42"
	orgName      = "Acme Learning"
	inviterName  = "Grace Hopper"
)

// linkRE matches an invitation link and captures its token.
var linkRE = regexp.MustCompile(regexp.QuoteMeta(baseURL) + `/link/([A-Za-z0-9_-]+)`)

// ---------------------------------------------------------------------------
// A real SMTP server (go-smtp) on 127.0.0.1:0.

// smtpMsg is one message the server accepted.
type smtpMsg struct {
	From string
	To   []string
	Data []byte
}

// smtpServer records accepted messages. fail, when set, is called for each
// DATA command with its 1-based number and the recipients; a non-nil result
// is the server's answer instead of 250.
type smtpServer struct {
	addr string
	fail func(n int, to []string) error

	mu       sync.Mutex
	msgs     []smtpMsg
	attempts int // DATA commands seen
}

// startSMTP runs a server until the test ends.
func startSMTP(t testing.TB, fail func(n int, to []string) error) *smtpServer {
	t.Helper()
	srv := &smtpServer{fail: fail}
	s := smtp.NewServer(srv)
	s.Domain = "localhost"
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	s.ErrorLog = stdlog.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		// Server.Close only closes listeners Serve has registered: if Serve
		// has not started yet, closing l is what stops it.
		_ = l.Close()
		<-done
	})
	return srv
}

// URL is the server's address as Roster's SMTP URL.
func (s *smtpServer) URL() string { return "smtp://" + s.addr + "?starttls=off" }

func (s *smtpServer) received() []smtpMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMsg(nil), s.msgs...)
}

func (s *smtpServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func (s *smtpServer) dataAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// waitCount waits until the server holds at least n messages.
func (s *smtpServer) waitCount(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for s.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("SMTP server received %d messages after %v, want %d", s.count(), timeout, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }

type smtpSession struct {
	srv *smtpServer
	msg smtpMsg
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.msg.From = from
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.srv
	s.mu.Lock()
	s.attempts++
	n := s.attempts
	s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(n, ss.msg.To); err != nil {
			return err
		}
	}
	m := ss.msg
	m.Data = b
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.msg = smtpMsg{} }
func (ss *smtpSession) Logout() error { return nil }

// newSender returns Roster's SMTP sender for the server at rawURL.
func newSender(t testing.TB, rawURL string) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(rawURL, mail.Options{}, nil)
	if err != nil {
		t.Fatalf("mail.NewSMTP(%q): %v", rawURL, err)
	}
	return s
}

// closedPort returns the address of a port nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// ---------------------------------------------------------------------------
// A parsed message.

type parsedMsg struct {
	To        string
	Subject   string
	MessageID string
	Text      string
	HTML      string
}

func parseMsg(t testing.TB, data []byte) parsedMsg {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
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
	p := parsedMsg{To: to.Address, Subject: subject, MessageID: m.Header.Get("Message-ID")}
	parts := map[string]string{}
	collectParts(t, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, parts)
	p.Text, p.HTML = parts["text/plain"], parts["text/html"]
	return p
}

// collectParts decodes every leaf part of a (possibly nested multipart) body
// into parts, by media type.
func collectParts(t testing.TB, contentType, encoding string, body io.Reader, parts map[string]string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("parse Content-Type %q: %v", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("read MIME part: %v", err)
			}
			collectParts(t, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, parts)
		}
	}
	r := body
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s part: %v", mt, err)
	}
	if _, dup := parts[mt]; dup {
		t.Fatalf("message has two %s parts", mt)
	}
	parts[mt] = string(b)
}

// linkToken returns the token of the one invitation link in s.
func linkToken(t testing.TB, s string) string {
	t.Helper()
	m := linkRE.FindAllStringSubmatch(s, -1)
	if got, want := len(m), 1; got != want {
		t.Fatalf("found %d invitation links, want %d, in:\n%s", got, want, s)
	}
	return m[0][1]
}

// ---------------------------------------------------------------------------
// An organization with an admin acting through an API token.

type env struct {
	db    *store.DB
	svc   *admin.Service
	org   *roster.Org
	actor *roster.Actor
}

// newEnv makes an organization named orgName whose admin is inviterName.
func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	ctx := t.Context()
	svc := admin.New(admin.Options{DB: db, BaseURL: baseURL, PasswordMinLength: 15})
	org := &roster.Org{Name: orgName, Slug: "acme", UserManagement: true, SupportContact: "help@acme.example"}
	if err := svc.CreateOrg(ctx, org); err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	if _, _, err := svc.AddAdmin(ctx, org.Slug, "grace@acme.example"); err != nil {
		t.Fatalf("AddAdmin: %v", err)
	}
	tok, _, err := svc.CreateAPIToken(ctx, org.Slug, "tests", "")
	if err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	a, err := svc.ActorByToken(ctx, tok.Reveal())
	if err != nil {
		t.Fatalf("ActorByToken: %v", err)
	}
	first, last, _ := strings.Cut(inviterName, " ")
	if _, err := svc.UpdateUser(ctx, a, a.User.ID, admin.UserPatch{FirstName: roster.Some(first), LastName: roster.Some(last)}); err != nil {
		t.Fatalf("UpdateUser(admin name): %v", err)
	}
	if a, err = svc.ActorByToken(ctx, tok.Reveal()); err != nil {
		t.Fatalf("ActorByToken: %v", err)
	}
	return &env{db: db, svc: svc, org: org, actor: a}
}

// invite invites email with first name Ada and returns the user.
func (e *env) invite(t testing.TB, email string, mod ...func(*admin.InviteInput)) *roster.User {
	t.Helper()
	in := admin.InviteInput{Email: email, FirstName: roster.Some("Ada"), LastName: roster.Some("Lovelace")}
	for _, f := range mod {
		f(&in)
	}
	res, err := e.svc.Invite(t.Context(), e.actor, in)
	if err != nil {
		t.Fatalf("Invite(%s): %v", email, err)
	}
	return res.User
}

// waitStatus polls the user's delivery status until it is want.
func (e *env) waitStatus(t testing.TB, userID int64, want string, timeout time.Duration) *roster.User {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		u, err := e.db.UserByID(t.Context(), e.org.ID, userID)
		if err != nil {
			t.Fatalf("UserByID(%d): %v", userID, err)
		}
		if u.DeliveryStatus == want {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery status of %s = %q (%q) after %v, want %q", u.Email, u.DeliveryStatus, u.DeliveryDetail, timeout, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------------
// The worker.

type worker struct {
	*outbox.Worker
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startWorker runs an outbox worker on db until the test ends (or stop).
func startWorker(t testing.TB, db *store.DB, sender mail.Sender, mod ...func(*outbox.Options)) *worker {
	t.Helper()
	o := outbox.Options{DB: db, Sender: sender, BaseURL: baseURL, RetryBase: 50 * time.Millisecond, PollInterval: 20 * time.Millisecond}
	for _, f := range mod {
		f(&o)
	}
	w, err := outbox.New(o)
	if err != nil {
		t.Fatalf("outbox.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wk := &worker{Worker: w, cancel: cancel, done: make(chan error, 1)}
	go func() { wk.done <- w.Run(ctx) }()
	t.Cleanup(func() { wk.stop(t) })
	return wk
}

// stop cancels the worker and waits for Run to return.
func (w *worker) stop(t testing.TB) {
	t.Helper()
	w.once.Do(func() {
		w.cancel()
		select {
		case err := <-w.done:
			if err != nil {
				t.Errorf("Worker.Run: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Errorf("Worker.Run did not return 40 s after cancel")
		}
	})
}

// jobs lists every invitation job.
func (w *worker) jobs(t testing.TB) []*rivertype.JobRow {
	t.Helper()
	var out []*rivertype.JobRow
	p := river.NewJobListParams().Kinds(store.InvitationArgs{}.Kind()).First(10000)
	res, err := w.Client().JobList(t.Context(), p)
	if err != nil {
		t.Fatalf("JobList: %v", err)
	}
	out = append(out, res.Jobs...)
	return out
}

// waitJobStates polls until there are n invitation jobs, all in state want.
func (w *worker) waitJobStates(t testing.TB, n int, want rivertype.JobState, timeout time.Duration) []*rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		jobs := w.jobs(t)
		ok := len(jobs) == n
		for _, j := range jobs {
			ok = ok && j.State == want
		}
		if ok {
			return jobs
		}
		if time.Now().After(deadline) {
			var states []string
			for _, j := range jobs {
				states = append(states, string(j.State))
			}
			t.Fatalf("invitation jobs in states %v after %v, want %d %s", states, timeout, n, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
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

// unmarshalArgs decodes an invitation job's arguments.
func unmarshalArgs(j *rivertype.JobRow, a *store.InvitationArgs) error {
	if err := json.Unmarshal(j.EncodedArgs, a); err != nil {
		return fmt.Errorf("job %d args %s: %w", j.ID, j.EncodedArgs, err)
	}
	return nil
}
