// Package admin holds Roster's use cases: setting up an organization,
// signing in, and managing users. The dashboard, the API and the CLI all
// call these methods and hold no rule of their own.
//
// Authorization lives here, and this is the only package that opens
// transactions. It imports roster, auth, store and mail; never web or api.
package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/auth"
	"github.com/roster-dev/roster/internal/mail"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store"
)

// Mailer delivers a rendered email; mail.Mailbox and mail.SMTP satisfy it.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Options configures a Service.
type Options struct {
	DB                *store.DB
	Logger            *slog.Logger
	Now               func() time.Time // default time.Now
	BaseURL           string           // no trailing slash; every link starts with it
	PasswordMinLength int
	LinkTTL           time.Duration // invitation and set-password links
	// ImportLease is how long an import stays with an instance that stops
	// checkpointing before another takes it over (default DefaultImportLease).
	ImportLease time.Duration
	ResetTTL    time.Duration // password-reset links; default 1 hour
	SessionTTL  time.Duration
	Mailer      Mailer // delivers rendered messages; may be nil in tests that send none
}

// Service runs the use cases.
type Service struct {
	db         *store.DB
	log        *slog.Logger
	now        func() time.Time
	baseURL    string
	policy     auth.PasswordPolicy
	linkTTL    time.Duration
	resetTTL   time.Duration
	sessionTTL time.Duration
	mailer     Mailer
	// importNudge wakes RunImports when an import is started here.
	importNudge chan struct{}
	// bulkNudge wakes RunBulkJobs when a bulk job is started here.
	bulkNudge   chan struct{}
	importLease time.Duration
}

// New returns a Service.
func New(o Options) *Service {
	s := &Service{db: o.DB, log: o.Logger, now: o.Now, baseURL: strings.TrimRight(o.BaseURL, "/"),
		policy: auth.PasswordPolicy{MinLength: o.PasswordMinLength}, linkTTL: o.LinkTTL, resetTTL: o.ResetTTL,
		sessionTTL: o.SessionTTL, mailer: o.Mailer, importNudge: make(chan struct{}, 1), bulkNudge: make(chan struct{}, 1), importLease: o.ImportLease}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.importLease <= 0 {
		s.importLease = DefaultImportLease
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.policy.MinLength == 0 {
		s.policy.MinLength = auth.DefaultMinPasswordLength
	}
	if s.linkTTL == 0 {
		s.linkTTL = 7 * 24 * time.Hour
	}
	if s.resetTTL == 0 {
		s.resetTTL = time.Hour
	}
	if s.sessionTTL == 0 {
		s.sessionTTL = 14 * 24 * time.Hour
	}
	return s
}

// DB returns the store, for read-only callers such as health checks.
func (s *Service) DB() *store.DB { return s.db }

// PasswordMinLength is the configured minimum, for forms to state it.
func (s *Service) PasswordMinLength() int { return max(s.policy.MinLength, 8) }

// BaseURL is the address links start with.
func (s *Service) BaseURL() string { return s.baseURL }

// authorize checks SPEC "Access to User Management" for the actor.
func (s *Service) authorize(a *roster.Actor) error {
	if a == nil || a.User == nil || a.Org == nil {
		return roster.ErrUnauthenticated
	}
	return a.CanManageUsers(s.now())
}

// snapshot is how a user appears in the audit log's before and after.
type snapshot struct {
	Email          string   `json:"email"`
	FirstName      string   `json:"first_name"`
	LastName       string   `json:"last_name"`
	Permissions    []string `json:"permissions"`
	ExpirationDate *string  `json:"expiration_date"`
	WelcomeMessage string   `json:"welcome_message,omitempty"`
}

func snap(u *roster.User) string {
	if u == nil {
		return ""
	}
	sn := snapshot{Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Permissions: u.Permissions.Names(),
		ExpirationDate: snapDate(u.ExpirationDate), WelcomeMessage: u.WelcomeMessage}
	b, _ := json.Marshal(sn)
	return string(b)
}

// snapDate is an expiration date as snapshots write it: null for none.
func snapDate(d roster.Date) *string {
	if d.IsZero() {
		return nil
	}
	s := d.String()
	return &s
}

// audit writes an event for actor (nil for the operator) in tx.
func (s *Service) audit(ctx context.Context, tx *store.Tx, orgID int64, a *roster.Actor, action string, target *roster.User, before, after string) error {
	return tx.Audit(ctx, s.auditEvent(orgID, a, action, target, before, after))
}

// auditEvent builds an event for actor (nil for the operator).
func (s *Service) auditEvent(orgID int64, a *roster.Actor, action string, target *roster.User, before, after string) *store.AuditEvent {
	e := &store.AuditEvent{OrgID: orgID, Actor: "operator (CLI)", Action: action, Before: before, After: after, CreatedAt: s.now()}
	if a != nil && a.User != nil {
		e.ActorUserID, e.Actor = a.User.ID, a.User.Email
		if a.Via == "token" {
			e.Actor += " (API token)"
		}
	}
	if target != nil {
		e.TargetUserID, e.Target = target.ID, target.Email
	}
	return e
}

// link builds an absolute URL for a path.
func (s *Service) link(path string) string { return s.baseURL + path }

// mintLink creates a one-time link for u in tx and returns its URL.
func (s *Service) mintLink(ctx context.Context, tx *store.Tx, u *roster.User, purpose string, ttl time.Duration) (string, time.Time, error) {
	tok, err := auth.NewToken("")
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	exp := now.Add(ttl)
	if err := tx.CreateLink(ctx, u.OrgID, u.ID, purpose, auth.HashToken(tok.Reveal()), now, exp); err != nil {
		return "", time.Time{}, err
	}
	return s.link("/link/" + tok.Reveal()), exp, nil
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("admin: %s: %w", op, err)
}
