package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
)

// redacted is what a Secret shows instead of its value.
const redacted = "[REDACTED]"

// tokenBytes is the number of random bytes in a token: 256 bits.
const tokenBytes = 32

// Secret is a secret value such as a session id, an API token or a
// one-time link token. Printing it with fmt (any verb), logging it with
// slog, or marshalling it to JSON or text shows "[REDACTED]"; Reveal
// returns the value, and is the only way to get it out.
//
// fmt cannot call methods on unexported struct fields, so a Secret held in
// an unexported field is still printed in full when the enclosing struct is
// formatted; don't format such structs.
type Secret string

// Reveal returns the secret value. Call it only where the value must leave
// the process: a cookie, a response body, a database lookup key.
func (s Secret) Reveal() string { return string(s) }

// String returns "[REDACTED]", not the value.
func (s Secret) String() string { return redacted }

// GoString returns "[REDACTED]", not the value.
func (s Secret) GoString() string { return redacted }

// Format writes "[REDACTED]" for every verb, so that no verb, %d or %x
// included, prints the value.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, redacted) }

// LogValue returns "[REDACTED]" for slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText returns "[REDACTED]", so encoding/json and other text
// encoders do not write the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// NewToken returns prefix followed by 32 random bytes from crypto/rand in
// unpadded URL-safe base64 (43 characters). The prefix, such as "rst_" for
// API tokens, may be empty.
func NewToken(prefix string) (Secret, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: reading random token: %w", err)
	}
	return Secret(prefix + base64.RawURLEncoding.EncodeToString(b)), nil
}

// HashToken returns the 32-byte SHA-256 digest of tok, to store and look up
// tokens by without storing the tokens themselves. A fast hash is right
// here, unlike for passwords: a token from NewToken carries 256 random bits,
// so no amount of hashing speed makes guessing one feasible, and a slow
// hash like argon2 would only add cost to every authenticated request.
func HashToken(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}
