package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"math/big"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message as the test server saw it.
type received struct {
	from     string
	to       []string
	data     []byte
	tls      bool   // the DATA command arrived over TLS
	authUser string // user name of a successful AUTH, if any
}

// backend is a go-smtp backend that records messages and can be told to
// fail or to require AUTH PLAIN.
type backend struct {
	user, pass string // non-empty user: AUTH PLAIN offered and required
	rcptErr    error  // returned by RCPT TO
	dataErr    error  // returned after DATA

	mu       sync.Mutex
	msgs     []received
	authSeen []string // mechanisms clients tried
}

func (be *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{be: be, conn: c}, nil
}

func (be *backend) received() []received {
	be.mu.Lock()
	defer be.mu.Unlock()
	return append([]received(nil), be.msgs...)
}

type session struct {
	be   *backend
	conn *smtp.Conn
	rcv  received
}

func (s *session) AuthMechanisms() []string {
	if s.be.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	s.be.mu.Lock()
	s.be.authSeen = append(s.be.authSeen, mech)
	s.be.mu.Unlock()
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != s.be.user || pass != s.be.pass {
			return smtp.ErrAuthFailed
		}
		s.rcv.authUser = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.be.user != "" && s.rcv.authUser == "" {
		return smtp.ErrAuthRequired
	}
	s.rcv.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.be.rcptErr != nil {
		return s.be.rcptErr
	}
	s.rcv.to = append(s.rcv.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.be.dataErr != nil {
		return s.be.dataErr
	}
	rcv := s.rcv
	rcv.data = b
	_, rcv.tls = s.conn.TLSConnectionState()
	s.be.mu.Lock()
	s.be.msgs = append(s.be.msgs, rcv)
	s.be.mu.Unlock()
	return nil
}

func (s *session) Reset() {
	user := s.rcv.authUser
	s.rcv = received{authUser: user}
}

func (s *session) Logout() error { return nil }

// serverConfig says how to run a test server.
type serverConfig struct {
	tls          *tls.Config // offered via STARTTLS, or used for implicit TLS
	implicitTLS  bool
	insecureAuth bool // allow AUTH without TLS
}

// startServer runs a real SMTP server on 127.0.0.1:0 until the test ends
// and returns its address.
func startServer(t *testing.T, be *backend, cfg serverConfig) string {
	t.Helper()
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.ReadTimeout = 5 * time.Second
	s.WriteTimeout = 5 * time.Second
	s.AllowInsecureAuth = cfg.insecureAuth
	s.TLSConfig = cfg.tls
	s.ErrorLog = stdlog.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.implicitTLS {
		l = tls.NewListener(l, cfg.tls)
	}
	serve(t, s, l)
	return l.Addr().String()
}

// serve runs s on l until the test ends.
func serve(t *testing.T, s *smtp.Server, l net.Listener) {
	t.Helper()
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
}

// selfSignedTLS returns a server TLS config with a fresh ECDSA certificate
// for localhost and 127.0.0.1.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
}

func newTestSMTP(t *testing.T, rawURL string) *SMTP {
	t.Helper()
	s, err := NewSMTP(rawURL, Options{From: "noreply@acme.example", FromName: "Acme"}, nil)
	if err != nil {
		t.Fatalf("NewSMTP(%q): %v", rawURL, err)
	}
	return s
}

func TestSMTPDelivers(t *testing.T) {
	tlsCfg := selfSignedTLS(t)
	tests := []struct {
		name    string
		be      *backend
		cfg     serverConfig
		url     string // %s is the server address
		wantTLS bool
	}{
		{"plain, starttls=off", &backend{}, serverConfig{}, "smtp://%s?starttls=off", false},
		{"plain, opportunistic without STARTTLS offer", &backend{}, serverConfig{}, "smtp://%s", false},
		{"STARTTLS opportunistic", &backend{}, serverConfig{tls: tlsCfg}, "smtp://%s?insecure_skip_verify=true", true},
		{"STARTTLS required", &backend{}, serverConfig{tls: tlsCfg}, "smtp://%s?starttls=required&insecure_skip_verify=true", true},
		{"implicit TLS", &backend{}, serverConfig{tls: tlsCfg, implicitTLS: true}, "smtps://%s?insecure_skip_verify=true", true},
		{"AUTH PLAIN without TLS to localhost",
			&backend{user: "roster", pass: "p@ss:w/rd"}, serverConfig{insecureAuth: true},
			"smtp://roster:p%%40ss%%3Aw%%2Frd@%s?starttls=off", false},
		{"AUTH PLAIN after STARTTLS",
			&backend{user: "roster", pass: "secret"}, serverConfig{tls: tlsCfg},
			"smtp://roster:secret@%s?starttls=required&insecure_skip_verify=true", true},
		{"AUTH PLAIN over implicit TLS",
			&backend{user: "roster", pass: "secret"}, serverConfig{tls: tlsCfg, implicitTLS: true},
			"smtps://roster:secret@%s?insecure_skip_verify=true", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startServer(t, tt.be, tt.cfg)
			s := newTestSMTP(t, fmt.Sprintf(tt.url, addr))
			m := Message{
				To:      "zoe@example.org",
				ToName:  "Zoë Çağlar",
				Subject: "Bienvenue à Acme ✓",
				Text:    "Bonjour Zoë ✓\n",
				HTML:    "<p>Bonjour Zoë ✓</p>",
				ID:      "invite-7-1700000000",
			}
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := tt.be.received()
			if got, want := len(msgs), 1; got != want {
				t.Fatalf("server received %d messages, want %d", got, want)
			}
			rcv := msgs[0]
			if got, want := rcv.from, "noreply@acme.example"; got != want {
				t.Errorf("MAIL FROM = %q, want %q", got, want)
			}
			if got, want := strings.Join(rcv.to, ","), m.To; got != want {
				t.Errorf("RCPT TO = %q, want %q", got, want)
			}
			if got, want := rcv.tls, tt.wantTLS; got != want {
				t.Errorf("TLS = %v, want %v", got, want)
			}
			if got, want := rcv.authUser, tt.be.user; got != want {
				t.Errorf("AUTH user = %q, want %q", got, want)
			}
			p := parseMessage(t, rcv.data)
			if got, want := *p.to, (netmail.Address{Name: m.ToName, Address: m.To}); got != want {
				t.Errorf("To = %+v, want %+v", got, want)
			}
			if got, want := p.from.Address, "noreply@acme.example"; got != want {
				t.Errorf("From = %q, want %q", got, want)
			}
			if got, want := p.subject, m.Subject; got != want {
				t.Errorf("Subject = %q, want %q", got, want)
			}
			if got, want := p.header.Get("Message-ID"), "<invite-7-1700000000@acme.example>"; got != want {
				t.Errorf("Message-ID = %q, want %q", got, want)
			}
			if _, err := p.header.Date(); err != nil {
				t.Errorf("Date: %v", err)
			}
			if got, want := p.parts["text/plain"], m.Text; got != want {
				t.Errorf("text = %q, want %q", got, want)
			}
			if got, want := p.parts["text/html"], m.HTML; got != want {
				t.Errorf("html = %q, want %q", got, want)
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	tlsCfg := selfSignedTLS(t)
	temp := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	perm := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	_ = closed.Close()

	tests := []struct {
		name      string
		be        *backend
		cfg       serverConfig
		addr      string // used instead of a server when set
		url       string // %s is the address
		permanent bool
		wantErr   string
	}{
		{"RCPT 451", &backend{rcptErr: temp}, serverConfig{}, "", "smtp://%s?starttls=off", false, "451"},
		{"DATA 451", &backend{dataErr: temp}, serverConfig{}, "", "smtp://%s?starttls=off", false, "451"},
		{"RCPT 550", &backend{rcptErr: perm}, serverConfig{}, "", "smtp://%s?starttls=off", true, "550"},
		{"DATA 550", &backend{dataErr: perm}, serverConfig{}, "", "smtp://%s?starttls=off", true, "550"},
		{"connection refused", nil, serverConfig{}, closedAddr, "smtp://%s", false, "refused"},
		{"wrong password", &backend{user: "roster", pass: "secret"}, serverConfig{insecureAuth: true}, "",
			"smtp://roster:wrong@%s?starttls=off", true, "535"},
		{"AUTH required, no credentials", &backend{user: "roster", pass: "secret"}, serverConfig{insecureAuth: true}, "",
			"smtp://%s?starttls=off", true, "502"},
		{"STARTTLS required, not offered", &backend{}, serverConfig{}, "",
			"smtp://%s?starttls=required", false, "STARTTLS"},
		{"self-signed certificate not trusted", &backend{}, serverConfig{tls: tlsCfg}, "",
			"smtp://%s", false, "certificate"},
		{"implicit TLS, certificate not trusted", &backend{}, serverConfig{tls: tlsCfg, implicitTLS: true}, "",
			"smtps://%s", false, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.addr
			if addr == "" {
				addr = startServer(t, tt.be, tt.cfg)
			}
			s := newTestSMTP(t, fmt.Sprintf(tt.url, addr))
			err := s.Send(context.Background(), validMessage())
			if err == nil {
				t.Fatal("Send = nil, want an error")
			}
			if got := err.Error(); !strings.HasPrefix(got, "mail: ") || !strings.Contains(got, tt.wantErr) {
				t.Errorf("err = %q, want prefix %q and %q", got, "mail: ", tt.wantErr)
			}
			if got, want := IsPermanent(err), tt.permanent; got != want {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, want)
			}
			if tt.be != nil {
				if got := len(tt.be.received()); got != 0 {
					t.Errorf("server received %d messages, want 0", got)
				}
			}
		})
	}
}

// TestSMTPHeaderInjection checks that a crafted name never reaches the
// server.
func TestSMTPHeaderInjection(t *testing.T) {
	be := &backend{}
	s := newTestSMTP(t, "smtp://"+startServer(t, be, serverConfig{})+"?starttls=off")
	m := validMessage()
	m.ToName = "Eve\r\nBcc: victim@x"
	err := s.Send(context.Background(), m)
	if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "ToName") {
		t.Fatalf("err = %v, want a permanent error about ToName", err)
	}
	if got := len(be.received()); got != 0 {
		t.Errorf("server received %d messages, want 0", got)
	}
}

// TestSMTPNoCleartextPassword checks that a password is not sent over an
// unencrypted connection to a host that is not localhost, even when the
// server offers AUTH PLAIN there. The server listens on 127.0.0.2, which
// go-mail does not treat as localhost.
func TestSMTPNoCleartextPassword(t *testing.T) {
	be := &backend{user: "roster", pass: "secret"}
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 loopback: %v", err)
	}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = stdlog.New(io.Discard, "", 0)
	serve(t, srv, l)

	s := newTestSMTP(t, "smtp://roster:secret@"+l.Addr().String()+"?starttls=off")
	err = s.Send(context.Background(), validMessage())
	if err == nil || !strings.Contains(err.Error(), "unencrypted") {
		t.Fatalf("Send = %v, want an error about the unencrypted connection", err)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.authSeen) != 0 {
		t.Errorf("client tried AUTH %v in cleartext", be.authSeen)
	}
}

// silentServer accepts connections and never answers, to exercise
// timeouts and cancellation.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return l.Addr().String()
}

func TestSMTPTimeoutAndCancel(t *testing.T) {
	addr := silentServer(t)

	t.Run("timeout", func(t *testing.T) {
		s := newTestSMTP(t, "smtp://"+addr+"?timeout=200ms")
		start := time.Now()
		err := s.Send(context.Background(), validMessage())
		if err == nil {
			t.Fatal("Send = nil, want a timeout")
		}
		if IsPermanent(err) {
			t.Errorf("IsPermanent(%v) = true, want false", err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("err = %v, want a net.Error timeout", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %v, want about 200ms", d)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		s := newTestSMTP(t, "smtp://"+addr) // default 30 s timeout
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		err := s.Send(ctx, validMessage())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if IsPermanent(err) {
			t.Errorf("IsPermanent(%v) = true, want false", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %v after cancel, want prompt return", d)
		}
	})
}

func TestNewSMTP(t *testing.T) {
	tests := []struct {
		name       string
		url        string
		wantErr    string // substring; empty means valid
		wantString string
		check      func(t *testing.T, s *SMTP)
	}{
		{name: "smtp with auth", url: "smtp://user:hunter2@mail.example.org:587",
			wantString: "smtp://user:xxxxx@mail.example.org:587",
			check: func(t *testing.T, s *SMTP) {
				if s.host != "mail.example.org" || s.port != 587 || s.implicitTLS || s.user != "user" || s.pass != "hunter2" {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "smtp default port", url: "smtp://mail.example.org",
			wantString: "smtp://mail.example.org",
			check: func(t *testing.T, s *SMTP) {
				if s.port != 587 || s.timeout != DefaultSMTPTimeout || s.tlsConfig.InsecureSkipVerify {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "smtps default port", url: "smtps://u:p@mail.example.org",
			wantString: "smtps://u:xxxxx@mail.example.org",
			check: func(t *testing.T, s *SMTP) {
				if s.port != 465 || !s.implicitTLS {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "escaped password", url: "smtp://me%40example.org:p%40ss%2Fw@mail.example.org:25",
			wantString: "smtp://me%40example.org:xxxxx@mail.example.org:25",
			check: func(t *testing.T, s *SMTP) {
				if s.user != "me@example.org" || s.pass != "p@ss/w" || s.port != 25 {
					t.Errorf("got user %q pass %q port %d", s.user, s.pass, s.port)
				}
			}},
		{name: "all parameters", url: "smtp://h:2525/?starttls=required&from=alerts@acme.example&insecure_skip_verify=true&timeout=5s",
			check: func(t *testing.T, s *SMTP) {
				if s.opts.From != "alerts@acme.example" || s.opts.FromName != "Acme" || !s.tlsConfig.InsecureSkipVerify || s.timeout != 5*time.Second {
					t.Errorf("got %+v, opts %+v", s, s.opts)
				}
			}},
		{name: "IPv6 host", url: "smtp://[::1]:25?starttls=off",
			check: func(t *testing.T, s *SMTP) {
				if s.host != "::1" || s.port != 25 {
					t.Errorf("got host %q port %d", s.host, s.port)
				}
			}},
		{name: "uppercase scheme", url: "SMTP://mail.example.org"},
		{name: "empty", url: "", wantErr: "empty"},
		{name: "no scheme", url: "mail.example.org:587", wantErr: "use smtp://user:pass@host:587 or smtps://host:465"},
		{name: "http scheme", url: "http://mail.example.org", wantErr: `scheme "http"`},
		{name: "no host", url: "smtp://:587", wantErr: "no host"},
		{name: "opaque", url: "smtp:mail.example.org", wantErr: "missing //"},
		{name: "bad port", url: "smtp://mail.example.org:99999", wantErr: "invalid port"},
		{name: "path", url: "smtp://mail.example.org/inbox", wantErr: "unexpected path"},
		{name: "bad starttls", url: "smtp://mail.example.org?starttls=yes", wantErr: "starttls"},
		{name: "starttls on smtps", url: "smtps://mail.example.org?starttls=off", wantErr: "implicit"},
		{name: "unknown parameter", url: "smtp://mail.example.org?tls=on", wantErr: `unknown parameter "tls"`},
		{name: "bad bool", url: "smtp://mail.example.org?insecure_skip_verify=maybe", wantErr: "insecure_skip_verify"},
		{name: "bad timeout", url: "smtp://mail.example.org?timeout=-1s", wantErr: "timeout"},
		{name: "bad from", url: "smtp://mail.example.org?from=nobody", wantErr: "From address"},
		{name: "repeated parameter", url: "smtp://mail.example.org?from=a@b.c&from=d@e.f", wantErr: "2 times"},
		{name: "password hidden in errors", url: "smtp://user:hunter2@mail.example.org:0", wantErr: "user:xxxxx@"},
		{name: "password hidden when unparsable", url: "smtp://user:hunter2@mail example.org", wantErr: "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSMTP(tt.url, Options{FromName: "Acme"}, nil)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("NewSMTP(%q) = %v, want error containing %q", tt.url, s, tt.wantErr)
				}
				got := err.Error()
				if !strings.Contains(got, tt.wantErr) || !strings.HasPrefix(got, "mail: ") {
					t.Errorf("err = %q, want prefix %q and %q", got, "mail: ", tt.wantErr)
				}
				if strings.Contains(got, "hunter2") {
					t.Errorf("err = %q reveals the password", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSMTP(%q): %v", tt.url, err)
			}
			if tt.wantString != "" {
				if got := s.String(); got != tt.wantString {
					t.Errorf("String() = %q, want %q", got, tt.wantString)
				}
			}
			if strings.Contains(s.String(), "hunter2") {
				t.Errorf("String() = %q reveals the password", s.String())
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}
