package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

var tokenBodyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestNewToken(t *testing.T) {
	for _, prefix := range []string{"", "rst_", "sess_", "é-"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			tok, err := NewToken(prefix)
			if err != nil {
				t.Fatalf("NewToken(%q) error: %v", prefix, err)
			}
			raw := tok.Reveal()
			if got, want := len(raw), len(prefix)+43; got != want {
				t.Errorf("len(NewToken(%q)) = %d, want %d", prefix, got, want)
			}
			body, ok := strings.CutPrefix(raw, prefix)
			if !ok {
				t.Fatalf("NewToken(%q) = %q, want that prefix", prefix, raw)
			}
			if !tokenBodyRE.MatchString(body) {
				t.Errorf("NewToken(%q) body %q, want 43 URL-safe base64 characters", prefix, body)
			}
			b, err := base64.RawURLEncoding.DecodeString(body)
			if err != nil || len(b) != 32 {
				t.Errorf("NewToken(%q) body decodes to %d bytes, %v; want 32 bytes, nil", prefix, len(b), err)
			}
		})
	}
}

func TestNewTokenUnique(t *testing.T) {
	const n = 1000
	seen := make(map[string]bool, n)
	for i := range n {
		tok, err := NewToken("rst_")
		if err != nil {
			t.Fatalf("NewToken error: %v", err)
		}
		if seen[tok.Reveal()] {
			t.Fatalf("NewToken repeated a token after %d calls", i)
		}
		seen[tok.Reveal()] = true
	}
}

func TestHashToken(t *testing.T) {
	tests := []struct {
		tok, want string
	}{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		t.Run(tt.tok, func(t *testing.T) {
			if got := hex.EncodeToString(HashToken(tt.tok)); got != tt.want {
				t.Errorf("HashToken(%q) = %s, want %s", tt.tok, got, tt.want)
			}
		})
	}

	tok, err := NewToken("rst_")
	if err != nil {
		t.Fatalf("NewToken error: %v", err)
	}
	a, b := HashToken(tok.Reveal()), HashToken(tok.Reveal())
	if len(a) != 32 {
		t.Errorf("len(HashToken(tok)) = %d, want 32", len(a))
	}
	if !bytes.Equal(a, b) {
		t.Errorf("HashToken(tok) = %x then %x, want the same", a, b)
	}
	other, err := NewToken("rst_")
	if err != nil {
		t.Fatalf("NewToken error: %v", err)
	}
	if bytes.Equal(a, HashToken(other.Reveal())) {
		t.Errorf("HashToken gave %x for two different tokens", a)
	}
}

func TestSecretRedacted(t *testing.T) {
	const raw = "rst_s3cr3tV4lue"
	s := Secret(raw)
	if got := s.Reveal(); got != raw {
		t.Fatalf("Secret.Reveal() = %q, want %q", got, raw)
	}
	type exported struct {
		Name  string
		Token Secret
	}
	wrapped := exported{Name: "alice", Token: s}
	tests := []struct {
		name string
		out  func() string
	}{
		{"Sprint", func() string { return fmt.Sprint(s) }},
		{"Sprintln", func() string { return fmt.Sprintln("token", s) }},
		{"%v", func() string { return fmt.Sprintf("%v", s) }},
		{"%+v", func() string { return fmt.Sprintf("%+v", s) }},
		{"%#v", func() string { return fmt.Sprintf("%#v", s) }},
		{"%s", func() string { return fmt.Sprintf("%s", s) }},
		{"%q", func() string { return fmt.Sprintf("%q", s) }},
		{"%x", func() string { return fmt.Sprintf("%x", s) }},
		{"%d", func() string { return fmt.Sprintf("%d", s) }},
		{"%20s", func() string { return fmt.Sprintf("%20s", s) }},
		{"String", func() string { return s.String() }},
		{"GoString", func() string { return s.GoString() }},
		{"pointer %v", func() string { return fmt.Sprintf("%v", &s) }},
		{"slice %v", func() string { return fmt.Sprintf("%v", []Secret{s}) }},
		{"map %v", func() string { return fmt.Sprintf("%v", map[string]Secret{"k": s}) }},
		{"struct %+v", func() string { return fmt.Sprintf("%+v", wrapped) }},
		{"struct %#v", func() string { return fmt.Sprintf("%#v", wrapped) }},
		{"error %v", func() string { return fmt.Errorf("auth: bad token %v", s).Error() }},
		{"json", func() string {
			b, err := json.Marshal(wrapped)
			if err != nil {
				t.Fatalf("json.Marshal error: %v", err)
			}
			return string(b)
		}},
		{"slog json", func() string {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			log.Info("signed in", "token", s, slog.Any("any", s), slog.Group("g", "token", s), "struct", wrapped)
			return buf.String()
		}},
		{"slog text", func() string {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			log.Info("signed in", "token", s, "struct", wrapped)
			return buf.String()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.out()
			if strings.Contains(out, raw) || strings.Contains(out, hex.EncodeToString([]byte(raw))) {
				t.Errorf("%s of Secret = %q, contains the secret", tt.name, out)
			}
			if !strings.Contains(out, "REDACTED") {
				t.Errorf("%s of Secret = %q, want it to contain REDACTED", tt.name, out)
			}
		})
	}
}
