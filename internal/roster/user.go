package roster

import (
	"net/mail"
	"strings"
	"time"
)

// MaxNameLength bounds first and last names, in characters.
const MaxNameLength = 100

// User is one person's account in one organization.
type User struct {
	ID              int64
	OrgID           int64
	Email           string // normalized: trimmed, lowercase
	FirstName       string
	LastName        string
	Permissions     Permissions
	ExpirationDate  Date // zero: none
	LastLoginAt     time.Time
	LastInvitedAt   time.Time
	InvitationCount int
	WelcomeMessage  string
	HasPassword     bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Delivery of the latest invitation: "", queued, sent, retrying or
	// failed, with a detail such as the mail server's answer.
	DeliveryStatus    string
	DeliveryDetail    string
	DeliveryUpdatedAt time.Time
}

// Name is the user's full name, or the email when no name is known.
func (u *User) Name() string {
	n := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if n == "" {
		return u.Email
	}
	return n
}

// Status is a user's derived state; it is never stored (SPEC "Status").
type Status string

// The three statuses, with their API values.
const (
	StatusActive      Status = "active"
	StatusNotLoggedIn Status = "not_logged_in"
	StatusExpired     Status = "expired"
)

// AllStatuses lists the statuses in display order.
var AllStatuses = []Status{StatusActive, StatusNotLoggedIn, StatusExpired}

// Label is the status as the dashboard shows it.
func (s Status) Label() string {
	switch s {
	case StatusActive:
		return "Active"
	case StatusNotLoggedIn:
		return "Hasn't Logged In"
	case StatusExpired:
		return "Expired"
	}
	return string(s)
}

// ParseStatus accepts an API value or a label, ignoring case and separators.
func ParseStatus(s string) (Status, bool) {
	k := foldName(s)
	for _, st := range AllStatuses {
		if k == foldName(string(st)) || k == foldName(st.Label()) {
			return st, true
		}
	}
	return "", false
}

// IsExpired reports whether an expiration date has passed on the given day:
// a date that is today or earlier has expired (SPEC "Status").
func IsExpired(exp Date, today Date) bool {
	return !exp.IsZero() && !today.Before(exp)
}

// StatusOn derives the user's status on the day today (in the org's zone).
func (u *User) StatusOn(today Date) Status {
	switch {
	case IsExpired(u.ExpirationDate, today):
		return StatusExpired
	case !u.LastLoginAt.IsZero():
		return StatusActive
	default:
		return StatusNotLoggedIn
	}
}

// NormalizeEmail trims and lowercases an address and checks that it is a
// plain addr-spec (no display name, no angle brackets) with a dotted domain.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", errEmail("enter an email address")
	}
	if len(s) > 254 {
		return "", errEmail("an email address has at most 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", errEmail("“" + s + "” is not a valid email address")
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if at < 1 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", errEmail("“" + s + "” is not a valid email address")
	}
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return "", errEmail("an email address cannot contain spaces or control characters")
		}
	}
	return s, nil
}

type emailError string

func (e emailError) Error() string { return string(e) }

func errEmail(msg string) error { return emailError(msg) }

// CleanName trims a name and refuses control characters (CR/LF would
// otherwise reach mail headers) and overlong values.
func CleanName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := len([]rune(s)); n > MaxNameLength {
		return "", emailError("use at most 100 characters")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", emailError("a name cannot contain line breaks or control characters")
		}
	}
	return s, nil
}
