package roster

import (
	"errors"
	"sort"
	"strings"
)

// Sentinel errors shared by every layer. Surfaces map them to statuses.
var (
	// ErrNotFound means the thing does not exist in the actor's organization.
	// Another organization's row is reported the same way (SPEC "Bad input").
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule was violated (an email or slug taken).
	ErrConflict = errors.New("already exists")
	// ErrLastAdmin refuses a change that would leave an organization without an
	// unexpired holder of manage_users (SPEC "Permissions").
	ErrLastAdmin = errors.New("this is the last user who can manage users in the organization; give the Manage Users permission to someone else first")
	// ErrUnauthenticated means no valid session or token came with the request.
	ErrUnauthenticated = errors.New("sign in required")
	// ErrBadCredentials answers a wrong email or password alike.
	ErrBadCredentials = errors.New("incorrect email or password")
	// ErrThrottled means too many failed attempts; try again later.
	ErrThrottled = errors.New("too many failed attempts")
	// ErrTokenInvalid covers a one-time link that is unknown, used, expired or void.
	ErrTokenInvalid = errors.New("this link is not valid")
)

// ValidationError reports per-field problems with an input. Fields maps a
// field name (as the form or JSON names it) to a human message.
type ValidationError struct {
	Fields map[string]string
}

// Error lists the fields in a stable order.
func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records a message for field, keeping the first one given.
func (e *ValidationError) Add(field, msg string) {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = msg
	}
}

// Err returns e when it holds at least one problem and nil otherwise.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// FieldError is a shortcut for a ValidationError with one field.
func FieldError(field, msg string) *ValidationError {
	return &ValidationError{Fields: map[string]string{field: msg}}
}

// AccessError says why an actor may not use User Management and whom to ask.
type AccessError struct {
	Reason  string // a sentence for the person, e.g. "User Management is not enabled for Acme."
	Contact string // the organization's support contact; may be empty
}

func (e *AccessError) Error() string { return "access denied: " + e.Reason }
