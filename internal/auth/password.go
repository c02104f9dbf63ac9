// Package auth owns roster's credential primitives: hashing and verifying
// passwords with argon2id, the password policy (length limits, the
// common-password list, context words), and generating, hashing and
// redacting secret tokens such as session ids, API tokens and one-time
// link tokens.
//
// It holds no state beyond lazily built, read-only tables and does no I/O;
// storing hashes and tokens is the caller's business.
package auth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Parameters for new hashes: OWASP's argon2id baseline (19 MiB, 2 passes,
// 1 lane), which costs a few tens of milliseconds per hash.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds for parameters read back from a stored hash. Anything outside them
// is treated as malformed, so a tampered row cannot make a verify allocate
// gigabytes or spin for minutes.
const (
	maxArgonMemory  = 1024 * 1024 // KiB, i.e. 1 GiB
	maxArgonTime    = 20
	minArgonKeyLen  = 16
	maxArgonKeyLen  = 64
	minArgonSaltLen = 8
	maxArgonSaltLen = 64
	maxEncodedLen   = 512
)

// ErrMalformedHash is wrapped by the error VerifyPassword returns when the
// stored hash cannot be parsed or carries parameters outside safe bounds.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// b64 is the PHC string encoding: standard alphabet, no padding, canonical
// trailing bits.
var b64 = base64.RawStdEncoding.Strict()

// phcHash is a parsed argon2id PHC string.
type phcHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// String encodes h as a PHC string.
func (h phcHash) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.memory, h.time, h.threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// derive computes the argon2id key of pw with h's parameters and salt.
func (h phcHash) derive(pw string) []byte {
	return argon2.IDKey([]byte(pw), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
}

// HashPassword hashes pw with argon2id and a random 16-byte salt and returns
// it as a PHC string of the form
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, salt and hash in unpadded
// standard base64.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: reading salt: %w", err)
	}
	h := phcHash{
		memory:  argonMemory,
		time:    argonTime,
		threads: argonThreads,
		salt:    salt,
		key:     make([]byte, argonKeyLen),
	}
	h.key = h.derive(pw)
	return h.String(), nil
}

// VerifyPassword reports whether pw matches the PHC string encoded, as made
// by HashPassword, recomputing the hash with the parameters stored in it and
// comparing in constant time. A wrong password is (false, nil); an encoded
// string that is not a well-formed argon2id v19 hash within safe parameter
// bounds is (false, err) with err wrapping ErrMalformedHash.
func VerifyPassword(encoded, pw string) (bool, error) {
	h, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(h.derive(pw), h.key) == 1, nil
}

// malformed returns an error wrapping ErrMalformedHash with a detail.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformedHash}, args...)...)
}

// parsePHC parses a canonical argon2id v19 PHC string and checks its
// parameters against the safe bounds. It accepts exactly what
// phcHash.String produces, so parsing and re-encoding round-trips.
func parsePHC(encoded string) (phcHash, error) {
	var h phcHash
	if len(encoded) > maxEncodedLen {
		return h, malformed("longer than %d bytes", maxEncodedLen)
	}
	for i := 0; i < len(encoded); i++ {
		// Printable ASCII only; this also stops base64 from silently
		// skipping CR and LF.
		if c := encoded[i]; c < 0x21 || c > 0x7e {
			return h, malformed("unexpected byte 0x%02x", c)
		}
	}
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return h, malformed("want $argon2id$v=19$m=M,t=T,p=P$salt$hash")
	}
	if fields[1] != "argon2id" {
		return h, malformed("unsupported algorithm %q", fields[1])
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, malformed("unsupported version %q", fields[2])
	}

	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return h, malformed("want parameters m=M,t=T,p=P")
	}
	m, err := parseParam(params[0], "m", 32)
	if err != nil {
		return h, err
	}
	t, err := parseParam(params[1], "t", 32)
	if err != nil {
		return h, err
	}
	p, err := parseParam(params[2], "p", 8)
	if err != nil {
		return h, err
	}
	switch {
	case t < 1 || t > maxArgonTime:
		return h, malformed("t=%d outside 1..%d", t, maxArgonTime)
	case p < 1:
		return h, malformed("p=%d below 1", p)
	case m < 8*p || m > maxArgonMemory:
		return h, malformed("m=%d outside %d..%d", m, 8*p, maxArgonMemory)
	}
	h.memory, h.time, h.threads = uint32(m), uint32(t), uint8(p)

	if h.salt, err = b64.DecodeString(fields[4]); err != nil {
		return h, malformed("salt: %w", err)
	}
	if n := len(h.salt); n < minArgonSaltLen || n > maxArgonSaltLen {
		return h, malformed("salt of %d bytes outside %d..%d", n, minArgonSaltLen, maxArgonSaltLen)
	}
	if h.key, err = b64.DecodeString(fields[5]); err != nil {
		return h, malformed("hash: %w", err)
	}
	if n := len(h.key); n < minArgonKeyLen || n > maxArgonKeyLen {
		return h, malformed("hash of %d bytes outside %d..%d", n, minArgonKeyLen, maxArgonKeyLen)
	}
	return h, nil
}

// parseParam parses one "name=value" parameter with a canonical decimal
// value (no sign, no leading zeros) that fits in bits.
func parseParam(s, name string, bits int) (uint64, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, malformed("want parameter %s= in m=M,t=T,p=P", name)
	}
	if len(v) > 1 && v[0] == '0' {
		return 0, malformed("parameter %s has leading zeros", name)
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, malformed("parameter %s: %w", name, err)
	}
	return n, nil
}

var (
	dummyOnce sync.Once
	dummyHash string
)

// DummyVerify spends as long as VerifyPassword does on a hash made by
// HashPassword, and discards the result. Call it when sign-in names an
// unknown account, so that the response time does not reveal which emails
// have accounts. The hash it checks against is computed once, on first use.
func DummyVerify(pw string) {
	dummyOnce.Do(func() {
		h := phcHash{
			memory:  argonMemory,
			time:    argonTime,
			threads: argonThreads,
			salt:    make([]byte, argonSaltLen),
			key:     make([]byte, argonKeyLen),
		}
		// A random salt is not needed: this hash guards nothing.
		h.key = h.derive("roster dummy password")
		dummyHash = h.String()
	})
	_, _ = VerifyPassword(dummyHash, pw)
}

// DefaultMinPasswordLength is the minimum password length, in characters,
// that roster uses unless configured otherwise.
const DefaultMinPasswordLength = 15

// MaxPasswordLength is the longest password, in characters, that
// PasswordPolicy.Check accepts. 256 characters are at most 1024 bytes of
// UTF-8, which bounds the work a single sign-in can cause.
const MaxPasswordLength = 256

// minPasswordLengthFloor is the smallest minimum length a policy may have.
const minPasswordLengthFloor = 8

// PasswordPolicy decides whether a new password is acceptable. It checks
// length, the common-password list and the user's own details; it has no
// composition rules (no required digits, symbols or cases).
type PasswordPolicy struct {
	// MinLength is the minimum length in characters (Unicode code points).
	// Values below 8, including the zero value, are treated as 8; roster's
	// default is DefaultMinPasswordLength.
	MinLength int
}

// PasswordError is the error PasswordPolicy.Check returns for a rejected
// password. Reason is a sentence meant to be shown to the user.
type PasswordError struct {
	Reason string
}

// Error returns the reason prefixed with the package name.
func (e *PasswordError) Error() string {
	return "auth: password rejected: " + e.Reason
}

// Check returns a *PasswordError if pw is shorter than the policy's minimum
// length or longer than MaxPasswordLength (both counted in characters,
// without trimming), if it equals, ignoring case, any non-empty context
// string (such as the user's email, their name or the org's name; for a
// context string containing "@", the part before the last "@" too), or if
// it is on the common-password list, ignoring case. Otherwise it returns
// nil.
func (p PasswordPolicy) Check(pw string, context ...string) error {
	minLen := max(p.MinLength, minPasswordLengthFloor)
	n := utf8.RuneCountInString(pw)
	if n < minLen {
		return &PasswordError{Reason: fmt.Sprintf("use at least %d characters", minLen)}
	}
	if n > MaxPasswordLength {
		return &PasswordError{Reason: fmt.Sprintf("use at most %d characters", MaxPasswordLength)}
	}
	for _, c := range context {
		local := c
		if i := strings.LastIndexByte(c, '@'); i >= 0 {
			local = c[:i]
		}
		if (c != "" && strings.EqualFold(pw, c)) || (local != "" && strings.EqualFold(pw, local)) {
			return &PasswordError{Reason: "don't use your email address or name as password"}
		}
	}
	if isCommonPassword(pw) {
		return &PasswordError{Reason: "this password is too common; choose another"}
	}
	return nil
}

// commonPasswordsGz is the common-password list, one lowercase password a
// line, gzipped. COMMON-PASSWORDS.md says where it comes from.
//
//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

var (
	commonOnce sync.Once
	commonSet  map[string]struct{}
)

// commonPasswords returns the common-password set, decoding the embedded
// list on first use.
func commonPasswords() map[string]struct{} {
	commonOnce.Do(func() {
		set, err := parseCommonPasswords(commonPasswordsGz)
		if err != nil {
			// The list is compiled in; a broken one is a build mistake.
			panic(err)
		}
		commonSet = set
	})
	return commonSet
}

// parseCommonPasswords decodes a gzipped list of one password a line.
func parseCommonPasswords(gz []byte) (map[string]struct{}, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("auth: reading common passwords: %w", err)
	}
	set := make(map[string]struct{}, 50000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			set[line] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("auth: reading common passwords: %w", err)
	}
	if err := zr.Close(); err != nil {
		return nil, fmt.Errorf("auth: reading common passwords: %w", err)
	}
	return set, nil
}

// isCommonPassword reports whether pw, ignoring case, is on the list.
func isCommonPassword(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}
