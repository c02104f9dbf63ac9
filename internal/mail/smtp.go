package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultSMTPTimeout bounds dialing and each SMTP command when the URL sets
// no timeout.
const DefaultSMTPTimeout = 30 * time.Second

// Default ports per URL scheme: message submission (RFC 6409) and
// submission over implicit TLS (RFC 8314).
const (
	defaultSMTPPort  = 587
	defaultSMTPSPort = 465
)

// smtpURLHelp ends every SMTP URL parse error.
const smtpURLHelp = "use smtp://user:pass@host:587 or smtps://host:465"

// SMTP is a Sender that delivers through an SMTP server, dialing once per
// message. Configure it with NewSMTP.
type SMTP struct {
	host        string
	port        int
	implicitTLS bool             // smtps://
	policy      gomail.TLSPolicy // STARTTLS policy for smtp://
	user, pass  string           // empty user: no AUTH
	tlsConfig   *tls.Config      // shared, never modified after NewSMTP
	timeout     time.Duration    // dial and per-command deadline
	opts        Options          // From, FromName
	redacted    string           // URL with the password hidden
	log         *slog.Logger
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns an SMTP sender configured from rawURL:
//
//	smtp://user:pass@host:587    STARTTLS when the server offers it
//	smtps://user:pass@host:465   implicit TLS
//
// The port defaults to 587 (smtp) or 465 (smtps). User info, when present,
// enables AUTH (PLAIN, else LOGIN, else what the server offers; never a
// cleartext password to a remote host without TLS). Query parameters:
//
//	starttls=opportunistic|required|off  smtp:// only; default opportunistic
//	from=addr                            overrides o.From
//	insecure_skip_verify=true            accept any certificate (tests, self-signed)
//	timeout=30s                          dial and per-command timeout
//
// A nil log discards log records.
func NewSMTP(rawURL string, o Options, log *slog.Logger) (*SMTP, error) {
	s, err := parseSMTPURL(rawURL, o)
	if err != nil {
		return nil, err
	}
	s.log = orDiscard(log)
	return s, nil
}

// parseSMTPURL does NewSMTP's work. Its errors never echo the password.
func parseSMTPURL(rawURL string, o Options) (*SMTP, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, fmt.Errorf("mail: SMTP URL is empty: %s", smtpURLHelp)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// *url.Error repeats the URL, password included: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("mail: SMTP URL does not parse (%v): %s", err, smtpURLHelp)
	}
	redacted := u.Redacted()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("mail: SMTP URL %q: %s: %s", redacted, fmt.Sprintf(format, args...), smtpURLHelp)
	}

	s := &SMTP{redacted: redacted, timeout: DefaultSMTPTimeout, policy: gomail.TLSOpportunistic}
	switch u.Scheme {
	case "smtp":
		s.port = defaultSMTPPort
	case "smtps":
		s.port = defaultSMTPSPort
		s.implicitTLS = true
	default:
		return nil, bad("scheme %q is not smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return nil, bad("missing // after the scheme")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, bad("unexpected path %q", u.Path)
	}
	if u.Fragment != "" {
		return nil, bad("unexpected fragment")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, bad("no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, bad("invalid port %q", p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" && s.pass != "" {
			return nil, bad("password without a user name")
		}
	}

	insecure := false
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, bad("query does not parse: %v", err)
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return nil, bad("parameter %s given %d times", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "starttls":
			if s.implicitTLS {
				return nil, bad("starttls does not apply to smtps://, whose TLS is implicit")
			}
			switch v {
			case "opportunistic", "":
				s.policy = gomail.TLSOpportunistic
			case "required":
				s.policy = gomail.TLSMandatory
			case "off":
				s.policy = gomail.NoTLS
			default:
				return nil, bad("starttls=%q: want opportunistic, required or off", v)
			}
		case "from":
			o.From = v
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad("insecure_skip_verify=%q: want true or false", v)
			}
			insecure = b
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, bad("timeout=%q: want a positive duration such as 30s", v)
			}
			s.timeout = d
		default:
			return nil, bad("unknown parameter %q (known: starttls, from, insecure_skip_verify, timeout)", key)
		}
	}
	if s.opts, err = o.withDefaults(); err != nil {
		return nil, err
	}
	s.tlsConfig = &tls.Config{
		ServerName:         s.host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: insecure, // opt-in: tests and self-signed relays
	}
	return s, nil
}

// String returns the server URL with the password redacted, for logs.
func (s *SMTP) String() string { return s.redacted }

// Send delivers m over a new connection. A 5xx reply, a refused login or an
// invalid message is returned as *PermanentError; a 4xx reply, a network
// failure or a timeout is returned as a plain error worth retrying.
// Cancelling ctx aborts the exchange.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: smtp send: %w", err)
	}
	bm, err := build(m, s.opts, time.Now())
	if err != nil {
		return err
	}

	// go-mail dials through dial so that the connection can be closed when
	// ctx is cancelled (go-mail only honours ctx while dialing) and always
	// released (go-mail leaves it open when the greeting, STARTTLS or AUTH
	// fails).
	var (
		mu   sync.Mutex
		conn net.Conn
	)
	closeConn := func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			_ = conn.Close()
		}
	}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if s.implicitTLS {
			d := tls.Dialer{Config: s.tlsConfig}
			c, err = d.DialContext(dctx, network, addr)
		} else {
			var d net.Dialer
			c, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		conn = c
		mu.Unlock()
		if err := ctx.Err(); err != nil {
			_ = c.Close()
			return nil, err
		}
		return c, nil
	}
	stop := context.AfterFunc(ctx, closeConn)
	defer stop()
	defer closeConn()

	opts := []gomail.Option{
		gomail.WithPort(s.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(s.tlsConfig),
		gomail.WithDialContextFunc(dial),
		// With implicit TLS the connection is already encrypted: go-mail
		// then sees no STARTTLS offer and records the session as secure.
		gomail.WithTLSPolicy(s.policy),
	}
	if s.user != "" {
		// go-mail's PLAIN and LOGIN refuse to send a password in clear to
		// anything but localhost; other mechanisms fall back to its
		// auto-discovery.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.user),
			gomail.WithPassword(s.pass),
		)
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client for %s: %w", s.redacted, err)
	}
	if err := client.DialAndSendWithContext(ctx, bm.msg); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("mail: smtp send via %s: %w (%w)", s.redacted, ctxErr, err)
		}
		err = fmt.Errorf("mail: smtp send via %s: %w", s.redacted, err)
		if smtpPermanent(err) {
			return &PermanentError{Err: err}
		}
		return err
	}
	s.log.Debug("Message sent", "server", s.redacted, "to", m.To, "message_id", bm.messageID)
	return nil
}

// smtpPermanent reports whether err carries a 5xx SMTP reply. go-mail
// reports MAIL/RCPT/DATA failures as *gomail.SendError, which keeps the
// reply code but does not unwrap to it; greeting, STARTTLS and AUTH
// failures arrive as *textproto.Error.
func smtpPermanent(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if c := se.ErrorCode(); c >= 500 && c <= 599 {
			return true
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code <= 599 {
		return true
	}
	return false
}
