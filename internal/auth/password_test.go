package auth

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// cheapHash is a valid hash with tiny parameters, made by the argon2
// reference CLI: echo -n hunter2 | argon2 somesalt12345678 -id -t 1 -k 64 -p 1 -l 32 -e
const cheapHash = "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQxMjM0NTY3OA$VtT+ggfT+6CRmfCQTLN/Mc4R4JmwbTzJ3tDmvd1V0eA"

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashPasswordRoundTrip(t *testing.T) {
	tests := []struct {
		name, pw, wrong string
	}{
		{"ascii", "correct horse battery staple", "correct horse battery stapl"},
		{"empty", "", " "},
		{"multibyte", "pässwörd 🔑 密码", "passwörd 🔑 密码"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := HashPassword(tt.pw)
			if err != nil {
				t.Fatalf("HashPassword(%q) error: %v", tt.pw, err)
			}
			if !phcRE.MatchString(enc) {
				t.Errorf("HashPassword(%q) = %q, want PHC string matching %s", tt.pw, enc, phcRE)
			}
			if got, err := VerifyPassword(enc, tt.pw); !got || err != nil {
				t.Errorf("VerifyPassword(enc, %q) = %v, %v; want true, nil", tt.pw, got, err)
			}
			if got, err := VerifyPassword(enc, tt.wrong); got || err != nil {
				t.Errorf("VerifyPassword(enc, %q) = %v, %v; want false, nil", tt.wrong, got, err)
			}
		})
	}
}

func TestHashPasswordSalted(t *testing.T) {
	a, errA := HashPassword("same password")
	b, errB := HashPassword("same password")
	if errA != nil || errB != nil {
		t.Fatalf("HashPassword errors: %v, %v", errA, errB)
	}
	if a == b {
		t.Errorf("HashPassword twice gave %q both times; want different salts", a)
	}
}

// TestVerifyPasswordInterop checks hashes made by the argon2 reference CLI
// (Debian package argon2), e.g.
// echo -n 'pässwörd' | argon2 somesalt -id -t 3 -k 256 -p 2 -l 16 -e
func TestVerifyPasswordInterop(t *testing.T) {
	tests := []struct {
		name, encoded, pw string
	}{
		{"default params", "$argon2id$v=19$m=19456,t=2,p=1$cm9zdGVyLWludGVyb3Atc2FsdA$N1EeujkIrkoP6fY+hcMUPqVgByZcGuxrUopDUBrnpeg", "correct horse battery staple"},
		{"cheap", cheapHash, "hunter2"},
		{"two lanes short key", "$argon2id$v=19$m=256,t=3,p=2$c29tZXNhbHQ$f+FFEJrQSKZaHcxYwEVQ9A", "pässwörd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := VerifyPassword(tt.encoded, tt.pw); !got || err != nil {
				t.Errorf("VerifyPassword(%q, %q) = %v, %v; want true, nil", tt.encoded, tt.pw, got, err)
			}
			for _, wrong := range []string{"", tt.pw + "x", strings.ToUpper(tt.pw)} {
				if got, err := VerifyPassword(tt.encoded, wrong); got || err != nil {
					t.Errorf("VerifyPassword(%q, %q) = %v, %v; want false, nil", tt.encoded, wrong, got, err)
				}
			}
		})
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	const (
		salt = "c29tZXNhbHQxMjM0NTY3OA"
		key  = "VtT+ggfT+6CRmfCQTLN/Mc4R4JmwbTzJ3tDmvd1V0eA"
	)
	with := func(params, s, k string) string {
		return "$argon2id$v=19$" + params + "$" + s + "$" + k
	}
	tests := []struct {
		name, encoded string
	}{
		{"empty", ""},
		{"plain text", "hunter2"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"upper-case algorithm", "$ARGON2ID$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"no algorithm", "$$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"version with leading zero", "$argon2id$v=019$m=64,t=1,p=1$" + salt + "$" + key},
		{"no leading dollar", "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"extra field", cheapHash + "$"},
		{"truncated to salt", with("m=64,t=1,p=1", salt, "")[:len(with("m=64,t=1,p=1", salt, ""))-1]},
		{"empty hash", with("m=64,t=1,p=1", salt, "")},
		{"empty salt", with("m=64,t=1,p=1", "", key)},
		{"truncated hash", cheapHash[:len(cheapHash)-2]},
		{"params reordered", with("t=1,m=64,p=1", salt, key)},
		{"param missing", with("m=64,t=1", salt, key)},
		{"param extra", with("m=64,t=1,p=1,keyid=abc", salt, key)},
		{"params empty", with("", salt, key)},
		{"param no value", with("m=,t=1,p=1", salt, key)},
		{"param not numeric", with("m=64k,t=1,p=1", salt, key)},
		{"param negative", with("m=64,t=-1,p=1", salt, key)},
		{"param plus sign", with("m=64,t=+1,p=1", salt, key)},
		{"param leading zero", with("m=064,t=1,p=1", salt, key)},
		{"param hex", with("m=0x40,t=1,p=1", salt, key)},
		{"param underscore", with("m=6_4,t=1,p=1", salt, key)},
		{"param space", with("m=64, t=1,p=1", salt, key)},
		{"memory overflows uint32", with("m=4294967296,t=1,p=1", salt, key)},
		{"memory above 1 GiB", with("m=1048577,t=1,p=1", salt, key)},
		{"memory below 8 per lane", with("m=15,t=1,p=2", salt, key)},
		{"memory zero", with("m=0,t=1,p=1", salt, key)},
		{"time zero", with("m=64,t=0,p=1", salt, key)},
		{"time above 20", with("m=64,t=21,p=1", salt, key)},
		{"time huge", with("m=64,t=4294967295,p=1", salt, key)},
		{"threads zero", with("m=64,t=1,p=0", salt, key)},
		{"threads overflow uint8", with("m=4096,t=1,p=256", salt, key)},
		{"salt bad base64", with("m=64,t=1,p=1", "c29t!!ZXNhbHQ", key)},
		{"salt padded", with("m=64,t=1,p=1", "c29tZXNhbHQ=", key)},
		{"salt url alphabet", with("m=64,t=1,p=1", "c29tZXNhbHQxMjM0NTY3-_", key)},
		{"salt non-canonical bits", with("m=64,t=1,p=1", "c29tZXNhbHR", key)},
		{"salt too short", with("m=64,t=1,p=1", "c29tZXNh", key)},
		{"salt too long", with("m=64,t=1,p=1", strings.Repeat("A", 88), key)},
		{"hash bad base64", with("m=64,t=1,p=1", salt, "VtT+ggfT*6CRmfCQTLN/Mc4R4JmwbTzJ3tDmvd1V0eA")},
		{"hash cut by one character", with("m=64,t=1,p=1", salt, key[:len(key)-1])},
		{"hash 15 bytes", with("m=64,t=1,p=1", salt, "AAAAAAAAAAAAAAAAAAAA")},
		{"hash 65 bytes", with("m=64,t=1,p=1", salt, strings.Repeat("A", 86)+"Q")},
		{"leading space", " " + cheapHash},
		{"trailing newline", cheapHash + "\n"},
		{"newline inside hash", cheapHash[:len(cheapHash)-10] + "\n" + cheapHash[len(cheapHash)-10:]},
		{"non-ascii", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "é"},
		{"nul byte", "$argon2id$v=19$m=64,t=1,p=1\x00$" + salt + "$" + key},
		{"too long", with("m=64,t=1,p=1", salt, key) + strings.Repeat("A", 600)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(tt.encoded, "hunter2")
			if got || !errors.Is(err, ErrMalformedHash) {
				t.Errorf("VerifyPassword(%q, pw) = %v, %v; want false, error wrapping ErrMalformedHash", tt.encoded, got, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "auth: ") {
				t.Errorf("VerifyPassword(%q, pw) error %q, want prefix %q", tt.encoded, err, "auth: ")
			}
		})
	}
}

func TestParsePHCBounds(t *testing.T) {
	// Parameters at the edge of the bounds parse; they are not hashed, as
	// m=1048576 would take a gigabyte.
	tests := []struct {
		name, encoded string
	}{
		{"max memory and time", "$argon2id$v=19$m=1048576,t=20,p=1$c29tZXNhbHQxMjM0NTY3OA$VtT+ggfT+6CRmfCQTLN/Mc4R4JmwbTzJ3tDmvd1V0eA"},
		{"min memory for lanes", "$argon2id$v=19$m=16,t=1,p=2$c29tZXNhbHQ$VtT+ggfT+6CRmfCQTLN/Mc4R4JmwbTzJ3tDmvd1V0eA"},
		{"max lanes", "$argon2id$v=19$m=2040,t=1,p=255$c29tZXNhbHQ$VtT+ggfT+6CRmfCQTLN/Mc4R4JmwbTzJ3tDmvd1V0eA"},
		{"16-byte hash", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA"},
		{"64-byte hash, 64-byte salt", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 86) + "$" + strings.Repeat("A", 86)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parsePHC(tt.encoded)
			if err != nil {
				t.Fatalf("parsePHC(%q) error: %v", tt.encoded, err)
			}
			if got := h.String(); got != tt.encoded {
				t.Errorf("parsePHC(%q).String() = %q, want the input", tt.encoded, got)
			}
		})
	}
}

func TestDummyVerify(t *testing.T) {
	DummyVerify("anything") // must not panic, and builds the dummy hash
	dummy, err := parsePHC(dummyHash)
	if err != nil {
		t.Fatalf("parsePHC(dummyHash) error: %v", err)
	}
	enc, err := HashPassword("anything")
	if err != nil {
		t.Fatalf("HashPassword error: %v", err)
	}
	real, err := parsePHC(enc)
	if err != nil {
		t.Fatalf("parsePHC(HashPassword()) error: %v", err)
	}
	// Same parameters and key length means the same cost as a real verify.
	if dummy.memory != real.memory || dummy.time != real.time || dummy.threads != real.threads || len(dummy.key) != len(real.key) {
		t.Errorf("DummyVerify hash params m=%d,t=%d,p=%d,len=%d; want those of HashPassword m=%d,t=%d,p=%d,len=%d",
			dummy.memory, dummy.time, dummy.threads, len(dummy.key), real.memory, real.time, real.threads, len(real.key))
	}
	if got, err := VerifyPassword(dummyHash, "anything"); got || err != nil {
		t.Errorf("VerifyPassword(dummyHash, %q) = %v, %v; want false, nil", "anything", got, err)
	}
}

func TestPasswordPolicyCheck(t *testing.T) {
	const (
		tooShort15 = "use at least 15 characters"
		tooShort8  = "use at least 8 characters"
		tooLong    = "use at most 256 characters"
		common     = "this password is too common; choose another"
		personal   = "don't use your email address or name as password"
	)
	def := PasswordPolicy{MinLength: DefaultMinPasswordLength}
	eight := PasswordPolicy{MinLength: 8}
	tests := []struct {
		name    string
		policy  PasswordPolicy
		pw      string
		context []string
		want    string // reason, "" for accepted
	}{
		{"default ok", def, "violet staple lantern", nil, ""},
		{"empty", def, "", nil, tooShort15},
		{"14 ascii", def, "abcdefghijklmn", nil, tooShort15},
		{"15 ascii", def, "abcdefghijklmnz", nil, ""},
		{"14 two-byte runes", def, strings.Repeat("é", 14), nil, tooShort15},
		{"15 two-byte runes", def, strings.Repeat("é", 15), nil, ""},
		{"14 four-byte runes", def, strings.Repeat("🔑", 14), nil, tooShort15},
		{"15 four-byte runes", def, strings.Repeat("🔑", 15), nil, ""},
		{"14 mixed plus space not trimmed", def, "pässwörd 密码🔑xy ", nil, ""},
		{"13 mixed plus space", def, "pässwörd 密码🔑x ", nil, tooShort15},
		{"spaces count", def, strings.Repeat(" ", 15), nil, ""},
		{"256 runes", def, strings.Repeat("ab", 128), nil, ""},
		{"257 runes", def, strings.Repeat("ab", 128) + "c", nil, tooLong},
		{"256 four-byte runes", def, strings.Repeat("🔑", 256), nil, ""},
		{"257 four-byte runes", def, strings.Repeat("🔑", 257), nil, tooLong},
		{"long common", def, "1qaz2wsx3edc4rfv", nil, common},
		{"long common upper", def, "1QAZ2WSX3EDC4RFV", nil, common},
		{"common", eight, "password", nil, common},
		{"common mixed case", eight, "PassWord", nil, common},
		{"common qwertyuiop", eight, "qwertyuiop", nil, common},
		{"common with suffix ok", eight, "password-violet", nil, ""},
		{"email", def, "alice.smith@example.com", []string{"Alice.Smith@Example.com"}, personal},
		{"email local part", eight, "ALICE.SMITH", []string{"alice.smith@example.com"}, personal},
		{"name", eight, "roster dev team", []string{"alice@example.com", "Roster Dev Team"}, personal},
		{"personal before common", eight, "password", []string{"password@example.com"}, personal},
		{"near email ok", def, "alice.smith@example.co", []string{"alice.smith@example.com"}, ""},
		{"empty context ignored", eight, "zq8Vr!xk", []string{"", "@example.com"}, ""},
		{"length before personal", def, "alice", []string{"alice@example.com"}, tooShort15},
		{"exactly 8", eight, "zq8Vr!xk", nil, ""},
		{"7 at 8", eight, "zq8Vr!x", nil, tooShort8},
		{"zero value clamps to 8", PasswordPolicy{}, "zq8Vr!x", nil, tooShort8},
		{"zero value accepts 8", PasswordPolicy{}, "zq8Vr!xk", nil, ""},
		{"5 clamps to 8", PasswordPolicy{MinLength: 5}, "zq8Vr!", nil, tooShort8},
		{"negative clamps to 8", PasswordPolicy{MinLength: -3}, "zq8Vr!x", nil, tooShort8},
		{"9 not clamped", PasswordPolicy{MinLength: 9}, "zq8Vr!xk", nil, "use at least 9 characters"},
		{"9 accepts 9", PasswordPolicy{MinLength: 9}, "zq8Vr!xkm", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.pw, tt.context...)
			if tt.want == "" {
				if err != nil {
					t.Errorf("PasswordPolicy%+v.Check(%q, %q) = %v, want nil", tt.policy, tt.pw, tt.context, err)
				}
				return
			}
			var pe *PasswordError
			if !errors.As(err, &pe) {
				t.Fatalf("PasswordPolicy%+v.Check(%q, %q) = %v, want *PasswordError %q", tt.policy, tt.pw, tt.context, err, tt.want)
			}
			if pe.Reason != tt.want {
				t.Errorf("PasswordPolicy%+v.Check(%q, %q) reason = %q, want %q", tt.policy, tt.pw, tt.context, pe.Reason, tt.want)
			}
			if got, want := err.Error(), "auth: password rejected: "+tt.want; got != want {
				t.Errorf("PasswordPolicy.Check error = %q, want %q", got, want)
			}
		})
	}
}

func TestCommonPasswords(t *testing.T) {
	set := commonPasswords()
	if got, want := len(set), 10000; got < want {
		t.Errorf("len(commonPasswords()) = %d, want >= %d", got, want)
	}
	for pw := range set {
		if pw == "" || pw != strings.ToLower(pw) || strings.TrimSpace(pw) != pw {
			t.Errorf("commonPasswords() has %q; want non-empty, lowercase, trimmed entries", pw)
			break
		}
	}
	tests := []struct {
		pw   string
		want bool
	}{
		{"password", true},
		{"123456", true},
		{"qwerty", true},
		{"QWERTY", true},
		{"iloveyou", true},
		{"trustno1", true},
		{"", false},
		{"violet staple lantern", false},
		{"zq8Vr!xk", false},
		{"password ", false},
	}
	for _, tt := range tests {
		t.Run(tt.pw, func(t *testing.T) {
			if got := isCommonPassword(tt.pw); got != tt.want {
				t.Errorf("isCommonPassword(%q) = %v, want %v", tt.pw, got, tt.want)
			}
		})
	}
}

func TestParseCommonPasswordsBadInput(t *testing.T) {
	if _, err := parseCommonPasswords([]byte("not gzip")); err == nil {
		t.Errorf("parseCommonPasswords(not gzip) error = nil, want error")
	}
	truncated := commonPasswordsGz[:len(commonPasswordsGz)/2]
	if _, err := parseCommonPasswords(truncated); err == nil {
		t.Errorf("parseCommonPasswords(truncated) error = nil, want error")
	}
}

func FuzzVerifyPassword(f *testing.F) {
	for _, s := range []string{
		cheapHash,
		"$argon2id$v=19$m=256,t=3,p=2$c29tZXNhbHQ$f+FFEJrQSKZaHcxYwEVQ9A",
		"$argon2id$v=19$m=19456,t=2,p=1$cm9zdGVyLWludGVyb3Atc2FsdA$N1EeujkIrkoP6fY+hcMUPqVgByZcGuxrUopDUBrnpeg",
		"$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=64,t=1,p=1$$",
		"$$$$$",
		"",
	} {
		f.Add(s, "hunter2")
	}
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		h, err := parsePHC(encoded)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("parsePHC(%q) error %v does not wrap ErrMalformedHash", encoded, err)
			}
			if ok, verr := VerifyPassword(encoded, pw); ok || verr == nil {
				t.Fatalf("VerifyPassword(%q, %q) = %v, %v; want false, error", encoded, pw, ok, verr)
			}
			return
		}
		// The parser accepts only canonical encodings.
		if got := h.String(); got != encoded {
			t.Fatalf("parsePHC(%q).String() = %q, want the input", encoded, got)
		}
		// Hash only when cheap, to keep the fuzzer fast.
		if uint64(h.memory)*uint64(h.time) <= 4096 {
			if _, err := VerifyPassword(encoded, pw); err != nil {
				t.Fatalf("VerifyPassword(%q, %q) error %v after parsePHC succeeded", encoded, pw, err)
			}
		}
	})
}
