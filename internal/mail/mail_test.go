package mail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"
)

// parsed is a message read back with the standard library only.
type parsed struct {
	header  netmail.Header
	to      *netmail.Address
	from    *netmail.Address
	subject string
	parts   map[string]string // media type -> decoded body, CRLF as LF
	charset map[string]string // media type -> charset parameter
}

// parseMessage reads raw as RFC 5322 + MIME and fails the test on anything
// malformed.
func parseMessage(t *testing.T, raw []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v\n%s", err, raw)
	}
	p := parsed{header: msg.Header, parts: map[string]string{}, charset: map[string]string{}}
	tos, err := msg.Header.AddressList("To")
	if err != nil || len(tos) != 1 {
		t.Fatalf("To %q: %v, %d addresses", msg.Header.Get("To"), err, len(tos))
	}
	p.to = tos[0]
	froms, err := msg.Header.AddressList("From")
	if err != nil || len(froms) != 1 {
		t.Fatalf("From %q: %v, %d addresses", msg.Header.Get("From"), err, len(froms))
	}
	p.from = froms[0]
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("decode Subject %q: %v", msg.Header.Get("Subject"), err)
	}

	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		var r io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		p.parts[mediaType] = crlfToLF(body)
		p.charset[mediaType] = params["charset"]
		return p
	}
	if got, want := mediaType, "multipart/alternative"; got != want {
		t.Fatalf("Content-Type = %q, want %q", got, want)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		pt, pparams, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("read %s part: %v", pt, err)
		}
		p.parts[pt] = crlfToLF(body)
		p.charset[pt] = pparams["charset"]
	}
	return p
}

func crlfToLF(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", "\n") }

func matches(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// render builds m as the senders do and returns the bytes.
func render(t *testing.T, m Message, o Options) ([]byte, error) {
	t.Helper()
	o, err := o.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	b, err := build(m, o, time.Now())
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := b.msg.WriteTo(&buf); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	return buf.Bytes(), nil
}

func validMessage() Message {
	return Message{
		To:      "ada@example.org",
		ToName:  "Ada Lovelace",
		Subject: "Reset your password",
		Text:    "Hello Ada,\n\nhttps://roster.example.org/reset/abc\n",
		HTML:    "<p>Hello Ada,</p>",
		ID:      "reset-42-1700000000",
	}
}

func TestMessageValidation(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Message)
		wantErr string // substring; empty means valid
	}{
		{"valid", func(*Message) {}, ""},
		{"no ToName", func(m *Message) { m.ToName = "" }, ""},
		{"no ID", func(m *Message) { m.ID = "" }, ""},
		{"no HTML", func(m *Message) { m.HTML = "" }, ""},
		{"non-ASCII name", func(m *Message) { m.ToName = "Zoë Ça ✓" }, ""},
		{"quote in name", func(m *Message) { m.ToName = `Eve "the" <evil@x>` }, ""},
		{"empty To", func(m *Message) { m.To = "" }, "To address is empty"},
		{"To with name", func(m *Message) { m.To = "Ada <ada@example.org>" }, "bare address"},
		{"To two addresses", func(m *Message) { m.To = "ada@example.org, eve@example.org" }, "To address"},
		{"To not an address", func(m *Message) { m.To = "ada" }, "To address"},
		{"To CRLF", func(m *Message) { m.To = "ada@example.org\r\nBcc: victim@x" }, "To contains a control character"},
		{"ToName CRLF", func(m *Message) { m.ToName = "Eve\r\nBcc: victim@x" }, "ToName contains a control character"},
		{"ToName LF", func(m *Message) { m.ToName = "Eve\nBcc: victim@x" }, "ToName contains a control character"},
		{"ToName CR", func(m *Message) { m.ToName = "Eve\rBcc: victim@x" }, "ToName contains a control character"},
		{"ToName NUL", func(m *Message) { m.ToName = "Eve\x00" }, "ToName contains a control character"},
		{"ToName NEL", func(m *Message) { m.ToName = "Eve\u0085Bcc: victim@x" }, "ToName contains a control character"},
		{"ToName bad UTF-8", func(m *Message) { m.ToName = "Eve\xff" }, "ToName is not valid UTF-8"},
		{"Subject LF", func(m *Message) { m.Subject = "Hi\nBcc: victim@x" }, "Subject contains a control character"},
		{"Subject tab", func(m *Message) { m.Subject = "Hi\tthere" }, "Subject contains a control character"},
		{"empty Subject", func(m *Message) { m.Subject = " " }, "Subject is empty"},
		{"empty Text", func(m *Message) { m.Text = "" }, "Text body is empty"},
		{"ID path", func(m *Message) { m.ID = "../../etc/passwd" }, "ID"},
		{"ID slash", func(m *Message) { m.ID = "a/b" }, "only letters"},
		{"ID at", func(m *Message) { m.ID = "a@b" }, "only letters"},
		{"ID space", func(m *Message) { m.ID = "a b" }, "only letters"},
		{"ID leading dot", func(m *Message) { m.ID = ".hidden" }, "dots"},
		{"ID too long", func(m *Message) { m.ID = strings.Repeat("a", maxIDLength+1) }, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMessage()
			tt.edit(&m)
			_, err := render(t, m, Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("err = nil, want one containing %q", tt.wantErr)
			}
			if got := err.Error(); !strings.Contains(got, tt.wantErr) || !strings.HasPrefix(got, "mail: ") {
				t.Errorf("err = %q, want prefix %q and %q", got, "mail: ", tt.wantErr)
			}
			if !IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = false, want true", err)
			}
		})
	}
}

// TestHeaderInjection checks that a name crafted to add a Bcc header is
// refused, and that the same words without CR/LF stay inside the To header.
func TestHeaderInjection(t *testing.T) {
	for _, name := range []string{"Eve\r\nBcc: victim@x", "Eve\nBcc: victim@x", "Eve\rBcc: victim@x"} {
		m := validMessage()
		m.ToName = name
		raw, err := render(t, m, Options{})
		if err == nil {
			t.Errorf("ToName %q: err = nil, want refusal; message:\n%s", name, raw)
		}
		if bytes.Contains(bytes.ToLower(raw), []byte("bcc:")) {
			t.Errorf("ToName %q produced a Bcc header:\n%s", name, raw)
		}
	}

	m := validMessage()
	m.ToName = "Eve Bcc: victim@x"
	m.Subject = "Hi Bcc: victim@x"
	raw, err := render(t, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, raw)
	for key := range p.header {
		if strings.EqualFold(key, "Bcc") || strings.EqualFold(key, "Cc") {
			t.Errorf("header %s present:\n%s", key, raw)
		}
	}
	if got, want := p.to.Name, m.ToName; got != want {
		t.Errorf("To name = %q, want %q", got, want)
	}
	if got, want := p.to.Address, m.To; got != want {
		t.Errorf("To address = %q, want %q", got, want)
	}
	if got, want := p.subject, m.Subject; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
}

func TestBuildHeaders(t *testing.T) {
	tests := []struct {
		name        string
		opts        Options
		id          string
		wantFrom    netmail.Address
		wantMsgID   string // exact, or "" to check the shape only
		wantMsgIDRE string
	}{
		{"defaults", Options{}, "reset-42-1700000000",
			netmail.Address{Name: "Roster", Address: "roster@localhost"}, "<reset-42-1700000000@localhost>", ""},
		{"custom from", Options{From: "noreply@acme.example", FromName: "Acme Ünïcode"}, "invite-7",
			netmail.Address{Name: "Acme Ünïcode", Address: "noreply@acme.example"}, "<invite-7@acme.example>", ""},
		{"random id", Options{From: "noreply@acme.example"}, "",
			netmail.Address{Name: "Roster", Address: "noreply@acme.example"}, "", "^<[0-9a-f]{24}@acme.example>$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := validMessage()
			m.ID = tt.id
			raw, err := render(t, m, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			p := parseMessage(t, raw)
			if got, want := *p.from, tt.wantFrom; got != want {
				t.Errorf("From = %+v, want %+v", got, want)
			}
			gotID := p.header.Get("Message-ID")
			if tt.wantMsgID != "" && gotID != tt.wantMsgID {
				t.Errorf("Message-ID = %q, want %q", gotID, tt.wantMsgID)
			}
			if tt.wantMsgIDRE != "" && !matches(tt.wantMsgIDRE, gotID) {
				t.Errorf("Message-ID = %q, want match for %s", gotID, tt.wantMsgIDRE)
			}
			if got, want := p.header.Get("Auto-Submitted"), "auto-generated"; got != want {
				t.Errorf("Auto-Submitted = %q, want %q", got, want)
			}
			if got := p.header.Get("X-Mailer") + p.header.Get("User-Agent"); got != "" {
				t.Errorf("mailer header = %q, want none", got)
			}
		})
	}
}

func TestTextOnlyMessage(t *testing.T) {
	m := validMessage()
	m.HTML = ""
	raw, err := render(t, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, raw)
	if got, want := len(p.parts), 1; got != want {
		t.Fatalf("%d parts, want %d", got, want)
	}
	if got, want := p.parts["text/plain"], m.Text; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"defaults", Options{}, ""},
		{"custom", Options{From: "noreply@acme.example", FromName: "Acme"}, ""},
		{"From with name", Options{From: "Acme <noreply@acme.example>"}, "bare address"},
		{"From not an address", Options{From: "acme"}, "From address"},
		{"FromName CRLF", Options{FromName: "Acme\r\nBcc: x@y"}, "FromName contains a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.opts.withDefaults()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestIsPermanent(t *testing.T) {
	base := errors.New("550 no such user")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", base, false},
		{"permanent", &PermanentError{Err: base}, true},
		{"wrapped permanent", fmt.Errorf("send reset: %w", &PermanentError{Err: base}), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	pe := &PermanentError{Err: base}
	if got, want := pe.Error(), base.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(pe, base) {
		t.Error("errors.Is(PermanentError, base) = false, want true")
	}
}
