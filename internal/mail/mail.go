// Package mail owns outgoing email: turning a rendered Message into an
// RFC 5322 MIME message (multipart/alternative, text and HTML) and handing it
// to a Sender. Two senders exist: Mailbox, the default, which keeps each
// message as an .eml file the operator can read, and SMTP, configured from a
// URL. Callers classify failures with IsPermanent.
//
// This package must not import store, admin, web or api: it is a leaf that
// those packages use.
package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
)

// Default sender identity, used when Options leaves a field empty.
const (
	// DefaultFrom is the From address used when Options.From is empty.
	DefaultFrom = "roster@localhost"
	// DefaultFromName is the From display name used when Options.FromName is empty.
	DefaultFromName = "Roster"
)

// maxIDLength bounds Message.ID, which ends up in a file name and a header.
const maxIDLength = 128

// Message is one email, rendered: senders only deliver.
type Message struct {
	To      string // one bare address, e.g. ada@example.org
	ToName  string // display name, may be empty
	Subject string
	Text    string // plain-text body, required
	HTML    string // HTML body, may be empty (the message is then text only)
	// ID is a stable id the caller chooses (e.g. "reset-42-1700000000");
	// used as the Message-ID local part and in the mailbox file name; may be
	// empty, in which case a random one is used. Letters, digits, '.', '_'
	// and '-' only.
	ID string
}

// Sender delivers a message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Options is the sender identity shared by every Sender.
type Options struct {
	From     string // bare address; default DefaultFrom
	FromName string // display name; default DefaultFromName
}

// PermanentError wraps a delivery failure that retrying cannot fix (SMTP
// 5xx, invalid address or message). Temporary failures (4xx, connection
// refused, timeouts) are returned as other errors.
type PermanentError struct{ Err error }

// Error returns the wrapped error's message.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err, or an error it wraps, is a
// *PermanentError: retrying the same message will fail the same way.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// withDefaults fills empty fields and validates the result.
func (o Options) withDefaults() (Options, error) {
	if o.From == "" {
		o.From = DefaultFrom
	}
	if o.FromName == "" {
		o.FromName = DefaultFromName
	}
	if err := checkAddress("From", o.From); err != nil {
		return o, err
	}
	if err := checkHeaderText("FromName", o.FromName); err != nil {
		return o, err
	}
	return o, nil
}

// checkHeaderText refuses text that is not valid UTF-8 or holds a control
// character (CR and LF above all: they would start a new header).
func checkHeaderText(field, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("mail: %s is not valid UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("mail: %s contains a control character (%U); CR, LF and other control characters are refused", field, r)
		}
	}
	return nil
}

// checkAddress accepts one bare address such as ada@example.org.
func checkAddress(field, addr string) error {
	if addr == "" {
		return fmt.Errorf("mail: %s address is empty", field)
	}
	if err := checkHeaderText(field, addr); err != nil {
		return err
	}
	a, err := netmail.ParseAddress(addr)
	if err != nil {
		return fmt.Errorf("mail: %s address %q: %w", field, addr, err)
	}
	if a.Name != "" || a.Address != addr {
		return fmt.Errorf("mail: %s address %q: want a bare address like user@example.org (the display name is a separate field)", field, addr)
	}
	return nil
}

// checkID accepts the characters that are safe in both a file name and a
// Message-ID local part.
func checkID(id string) error {
	if len(id) > maxIDLength {
		return fmt.Errorf("mail: ID is longer than %d bytes", maxIDLength)
	}
	if strings.HasPrefix(id, ".") || strings.HasSuffix(id, ".") || strings.Contains(id, "..") {
		return fmt.Errorf("mail: ID %q: dots must separate other characters", id)
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return fmt.Errorf("mail: ID %q: only letters, digits, '.', '_' and '-' are allowed", id)
		}
	}
	return nil
}

// validate checks every field a caller controls; its errors are permanent.
func (m Message) validate() error {
	if err := checkAddress("To", m.To); err != nil {
		return err
	}
	if err := checkHeaderText("ToName", m.ToName); err != nil {
		return err
	}
	if err := checkHeaderText("Subject", m.Subject); err != nil {
		return err
	}
	if strings.TrimSpace(m.Subject) == "" {
		return errors.New("mail: Subject is empty")
	}
	if strings.TrimSpace(m.Text) == "" {
		return errors.New("mail: Text body is empty")
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return errors.New("mail: body is not valid UTF-8")
	}
	return checkID(m.ID)
}

// built is a message ready to write or send.
type built struct {
	msg       *gomail.Msg
	id        string // Message.ID, or the random one chosen for it
	messageID string // the Message-ID header value, with angle brackets
}

// build validates m and assembles it with go-mail. Validation failures are
// returned as *PermanentError.
func build(m Message, o Options, now time.Time) (built, error) {
	if err := m.validate(); err != nil {
		return built{}, &PermanentError{Err: err}
	}
	id := m.ID
	if id == "" {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return built{}, fmt.Errorf("mail: random message id: %w", err)
		}
		id = hex.EncodeToString(b[:])
	}
	domain := o.From[strings.LastIndexByte(o.From, '@')+1:]
	messageID := id + "@" + domain

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(&netmail.Address{Name: o.FromName, Address: o.From})
	msg.ToMailAddress(&netmail.Address{Name: m.ToName, Address: m.To})
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(messageID)
	// RFC 3834: keeps vacation responders from answering.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return built{msg: msg, id: id, messageID: "<" + messageID + ">"}, nil
}

// orDiscard returns log, or a logger that drops everything when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
