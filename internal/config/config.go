// Package config loads Roster's configuration once, from ROSTER_* environment
// variables and command-line flags (flags win), validates it, and hands it
// down as a value. It holds no package-level state.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is every setting Roster reads.
type Config struct {
	Listen      string // ROSTER_LISTEN, --listen
	DataDir     string // ROSTER_DATA_DIR, --data-dir
	DatabaseURL string // ROSTER_DATABASE_URL, --database-url (secret: may hold a password)
	BaseURL     string // ROSTER_BASE_URL, --base-url; default http:// + Listen
	// SecureCookies forces the Secure cookie flag; it is also set when
	// BaseURL is https.
	SecureCookies     bool          // ROSTER_SECURE_COOKIES
	PasswordMinLength int           // ROSTER_PASSWORD_MIN_LENGTH, at least 8, default 15
	LinkTTL           time.Duration // ROSTER_LINK_TTL: lifetime of invitation links, default 7 days, at most 30
	SessionTTL        time.Duration // ROSTER_SESSION_TTL: idle lifetime of a session, default 14 days
	LogFormat         string        // ROSTER_LOG_FORMAT: text or json
	LogLevel          string        // ROSTER_LOG_LEVEL: debug, info, warn, error
	AutoMigrate       bool          // ROSTER_AUTO_MIGRATE, --migrate: serve applies migrations itself
	// SMTPURL configures the SMTP transport (secret: may hold a password);
	// empty keeps every message in DataDir/mailbox.
	SMTPURL  string // ROSTER_SMTP_URL, --smtp-url
	MailFrom string // ROSTER_MAIL_FROM: the From address
	// MailConcurrency is how many emails are sent at once per instance.
	MailConcurrency int // ROSTER_MAIL_CONCURRENCY, default 20
	// TakeoverAfter is how long background work (an import being applied,
	// an email being sent) held by an instance that stopped answering
	// (killed, crashed) waits before another instance, or this one
	// restarted, takes it over.
	TakeoverAfter time.Duration // ROSTER_TAKEOVER_AFTER, default 1m, at least 2s
}

// Default returns the configuration of a first run with nothing set.
func Default() Config {
	return Config{
		Listen:            "127.0.0.1:8080",
		DataDir:           "./roster-data",
		PasswordMinLength: 15,
		MailConcurrency:   20,
		TakeoverAfter:     time.Minute,
		LinkTTL:           7 * 24 * time.Hour,
		SessionTTL:        14 * 24 * time.Hour,
		LogFormat:         "text",
		LogLevel:          "info",
		AutoMigrate:       true,
	}
}

// FromEnv overlays ROSTER_* variables read through getenv on c. A variable
// NAME_FILE names a file holding the value (for secrets).
func FromEnv(c Config, getenv func(string) string) (Config, error) {
	var errs []error
	get := func(name string) (string, bool) {
		if v := getenv(name); v != "" {
			return v, true
		}
		if p := getenv(name + "_FILE"); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
				return "", false
			}
			return strings.TrimSpace(string(b)), true
		}
		return "", false
	}
	str := func(name string, dst *string) {
		if v, ok := get(name); ok {
			*dst = v
		}
	}
	boolean := func(name string, dst *bool) {
		if v, ok := get(name); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: use true or false", name, v))
				return
			}
			*dst = b
		}
	}
	str("ROSTER_LISTEN", &c.Listen)
	str("ROSTER_DATA_DIR", &c.DataDir)
	str("ROSTER_DATABASE_URL", &c.DatabaseURL)
	str("ROSTER_BASE_URL", &c.BaseURL)
	str("ROSTER_SMTP_URL", &c.SMTPURL)
	str("ROSTER_MAIL_FROM", &c.MailFrom)
	str("ROSTER_LOG_FORMAT", &c.LogFormat)
	str("ROSTER_LOG_LEVEL", &c.LogLevel)
	boolean("ROSTER_SECURE_COOKIES", &c.SecureCookies)
	boolean("ROSTER_AUTO_MIGRATE", &c.AutoMigrate)
	if v, ok := get("ROSTER_MAIL_CONCURRENCY"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			errs = append(errs, fmt.Errorf("ROSTER_MAIL_CONCURRENCY=%q: use a whole number from 1 to 200", v))
		}
		c.MailConcurrency = n
	}
	if v, ok := get("ROSTER_PASSWORD_MIN_LENGTH"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("ROSTER_PASSWORD_MIN_LENGTH=%q: use a whole number", v))
		}
		c.PasswordMinLength = n
	}
	for name, dst := range map[string]*time.Duration{"ROSTER_LINK_TTL": &c.LinkTTL, "ROSTER_SESSION_TTL": &c.SessionTTL, "ROSTER_TAKEOVER_AFTER": &c.TakeoverAfter} {
		if v, ok := get(name); ok {
			d, err := ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
			*dst = d
		}
	}
	return c, errors.Join(errs...)
}

// ParseDuration accepts Go durations (36h) and whole days (7d).
func ParseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, errors.New("use a duration such as 7d or 36h")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("use a duration such as 7d or 36h")
	}
	return d, nil
}

// CommonFlags registers the flags every subcommand that opens the database
// accepts, bound to c.
func CommonFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "`directory` for the SQLite file and the local mailbox (env ROSTER_DATA_DIR)")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL `postgres://…`; empty for SQLite in the data directory (env ROSTER_DATABASE_URL)")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "public `URL` of Roster, used in every link it sends or prints (env ROSTER_BASE_URL)")
}

// ServeFlags registers the flags only `serve` accepts.
func ServeFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "`address` to listen on (env ROSTER_LISTEN)")
	fs.BoolVar(&c.AutoMigrate, "migrate", c.AutoMigrate, "apply pending database migrations at start (env ROSTER_AUTO_MIGRATE)")
	fs.StringVar(&c.SMTPURL, "smtp-url", c.SMTPURL, "send email through SMTP: `smtp://user:pass@host:587` (STARTTLS) or smtps://host:465; empty keeps messages in DATA_DIR/mailbox (env ROSTER_SMTP_URL)")
}

// Validate fills derived defaults and reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: use host:port, as in 127.0.0.1:8080", c.Listen))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data directory: must not be empty"))
	}
	if c.BaseURL == "" {
		host := c.Listen
		if h, p, err := net.SplitHostPort(c.Listen); err == nil && (h == "" || h == "0.0.0.0" || h == "::") {
			host = net.JoinHostPort("localhost", p)
		}
		c.BaseURL = "http://" + host
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("base URL %q: use an absolute http:// or https:// URL", c.BaseURL))
	} else if u.Scheme == "https" {
		c.SecureCookies = true
	}
	if c.PasswordMinLength < 8 {
		errs = append(errs, fmt.Errorf("password minimum length %d: must be at least 8", c.PasswordMinLength))
	}
	if c.LinkTTL < time.Hour || c.LinkTTL > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("link lifetime %s: must be between 1h and 30d", c.LinkTTL))
	}
	if c.TakeoverAfter < 2*time.Second {
		errs = append(errs, fmt.Errorf("takeover delay %s: must be at least 2s", c.TakeoverAfter))
	}
	if c.SessionTTL < 5*time.Minute {
		errs = append(errs, fmt.Errorf("session lifetime %s: must be at least 5m", c.SessionTTL))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log format %q: use text or json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q: use debug, info, warn or error", c.LogLevel))
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

// Redacted returns lines "name = value" for `serve -print-config`, with the
// password of the database URL masked.
func (c Config) Redacted() string {
	db := c.DatabaseURL
	if u, err := url.Parse(db); err == nil && u.User != nil {
		db = u.Redacted()
	}
	if db == "" {
		db = "(SQLite file in the data directory)"
	}
	smtp := c.SMTPURL
	if u, err := url.Parse(smtp); err == nil && u.User != nil {
		smtp = u.Redacted()
	}
	if smtp == "" {
		smtp = "(none: messages are kept in the data directory's mailbox)"
	}
	return fmt.Sprintf("listen = %s\ndata_dir = %s\ndatabase_url = %s\nbase_url = %s\nsmtp_url = %s\nmail_from = %s\nsecure_cookies = %t\npassword_min_length = %d\nlink_ttl = %s\nsession_ttl = %s\nlog_format = %s\nlog_level = %s\nauto_migrate = %t\ntakeover_after = %s\n",
		c.Listen, c.DataDir, db, c.BaseURL, smtp, c.MailFrom, c.SecureCookies, c.PasswordMinLength, c.LinkTTL, c.SessionTTL, c.LogFormat, c.LogLevel, c.AutoMigrate, c.TakeoverAfter)
}
