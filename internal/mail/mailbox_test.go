package mail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// emlFiles lists the .eml files in dir, and fails on any other entry (a
// temporary file left behind).
func emlFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			t.Errorf("unexpected file %s in mailbox", e.Name())
			continue
		}
		names = append(names, e.Name())
	}
	return names
}

func newTestMailbox(t *testing.T, o Options) *Mailbox {
	t.Helper()
	b, err := NewMailbox(filepath.Join(t.TempDir(), "mailbox"), o, nil)
	if err != nil {
		t.Fatalf("NewMailbox: %v", err)
	}
	return b
}

func TestMailboxSendRoundTrip(t *testing.T) {
	b := newTestMailbox(t, Options{From: "noreply@acme.example", FromName: "Acme Société"})
	m := Message{
		To:      "zoe@example.org",
		ToName:  "Zoë Çağlar",
		Subject: "Bienvenue à Acme ✓",
		Text:    "Bonjour Zoë,\n\nVotre compte est prêt ✓ — ünïcödé 日本語.\nhttps://roster.example.org/invite/abc?x=1&y=2\n",
		HTML:    "<p>Bonjour Zoë,</p>\n<p>Votre compte est prêt ✓ — ünïcödé 日本語.</p>\n<p>&lt;b&gt;not bold&lt;/b&gt;</p>\n",
		ID:      "invite-7-1700000000",
	}
	before := time.Now().Truncate(time.Second)
	if err := b.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	after := time.Now()

	names := emlFiles(t, b.Dir())
	if got, want := len(names), 1; got != want {
		t.Fatalf("%d files, want %d: %v", got, want, names)
	}
	if !matches(`^\d{8}T\d{6}\.\d{9}Z-invite-7-1700000000\.eml$`, names[0]) {
		t.Errorf("file name = %q, want <UTC time>-<ID>.eml", names[0])
	}
	path := filepath.Join(b.Dir(), names[0])
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fi.Mode().Perm(), os.FileMode(0o640); got != want {
		t.Errorf("file mode = %v, want %v", got, want)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, raw)

	if got, want := p.to.Address, m.To; got != want {
		t.Errorf("To address = %q, want %q", got, want)
	}
	if got, want := p.to.Name, m.ToName; got != want {
		t.Errorf("To name = %q, want %q", got, want)
	}
	if got, want := p.from.String(), `=?utf-8?q?Acme_Soci=C3=A9t=C3=A9?= <noreply@acme.example>`; got != want {
		t.Errorf("From = %q, want %q", got, want)
	}
	if got, want := p.subject, m.Subject; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	date, err := p.header.Date()
	if err != nil {
		t.Fatalf("Date %q: %v", p.header.Get("Date"), err)
	}
	if date.Before(before) || date.After(after) {
		t.Errorf("Date = %v, want between %v and %v", date, before, after)
	}
	if got, want := p.header.Get("Message-ID"), "<invite-7-1700000000@acme.example>"; got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	if got, want := p.header.Get("MIME-Version"), "1.0"; got != want {
		t.Errorf("MIME-Version = %q, want %q", got, want)
	}
	if got, want := len(p.parts), 2; got != want {
		t.Errorf("%d parts, want %d", got, want)
	}
	for _, tt := range []struct{ media, want string }{
		{"text/plain", m.Text},
		{"text/html", m.HTML},
	} {
		if got := p.parts[tt.media]; got != tt.want {
			t.Errorf("%s part = %q, want %q", tt.media, got, tt.want)
		}
		if got, want := strings.ToUpper(p.charset[tt.media]), "UTF-8"; got != want {
			t.Errorf("%s charset = %q, want %q", tt.media, got, want)
		}
	}
}

func TestMailboxFileNames(t *testing.T) {
	b := newTestMailbox(t, Options{})
	fixed := time.Date(2024, 3, 5, 7, 8, 9, 123456789, time.FixedZone("CET", 3600))
	b.now = func() time.Time { return fixed }
	tests := []struct {
		id     string
		wantRE string
	}{
		{"reset-42-1700000000", `^20240305T060809\.123456789Z-reset-42-1700000000\.eml$`},
		{"", `^20240305T060809\.123456789Z-[0-9a-f]{24}\.eml$`},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			dir := t.TempDir()
			b.dir = dir
			m := validMessage()
			m.ID = tt.id
			if err := b.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			names := emlFiles(t, dir)
			if len(names) != 1 || !matches(tt.wantRE, names[0]) {
				t.Fatalf("files = %v, want one matching %s", names, tt.wantRE)
			}
			if tt.id == "" {
				raw, err := os.ReadFile(filepath.Join(dir, names[0]))
				if err != nil {
					t.Fatal(err)
				}
				// The random id is shared by the file name and the Message-ID.
				random := strings.TrimSuffix(names[0][strings.IndexByte(names[0], '-')+1:], ".eml")
				if got, want := parseMessage(t, raw).header.Get("Message-ID"), "<"+random+"@localhost>"; got != want {
					t.Errorf("Message-ID = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestMailboxSendRefuses(t *testing.T) {
	tests := []struct {
		name      string
		ctx       func() context.Context
		edit      func(*Message)
		permanent bool
		wantErr   string
	}{
		{"header injection in name", context.Background, func(m *Message) { m.ToName = "Eve\r\nBcc: victim@x" }, true, "ToName contains a control character"},
		{"header injection in subject", context.Background, func(m *Message) { m.Subject = "Hi\r\nBcc: victim@x" }, true, "Subject contains a control character"},
		{"path in ID", context.Background, func(m *Message) { m.ID = "../escape" }, true, "ID"},
		{"cancelled", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, func(*Message) {}, false, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			b, err := NewMailbox(filepath.Join(parent, "mailbox"), Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			m := validMessage()
			tt.edit(&m)
			err = b.Send(tt.ctx(), m)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if got := IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			if names := emlFiles(t, b.Dir()); len(names) != 0 {
				t.Errorf("files written: %v", names)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 1 {
				t.Errorf("parent holds %d entries, want only the mailbox", len(entries))
			}
		})
	}
}

func TestNewMailbox(t *testing.T) {
	t.Run("creates the directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data", "mailbox")
		b, err := NewMailbox(dir, Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := b.Dir(), dir; got != want {
			t.Errorf("Dir() = %q, want %q", got, want)
		}
		if got, want := b.String(), "mailbox "+dir; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			t.Fatalf("Stat(%s) = %v, %v; want a directory", dir, fi, err)
		}
		if fi.Mode().Perm()&0o007 != 0 {
			t.Errorf("directory mode = %v, want no access for others", fi.Mode().Perm())
		}
		if names := emlFiles(t, dir); len(names) != 0 {
			t.Errorf("files = %v, want none (the writability probe is removed)", names)
		}
	})

	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	readOnly := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		dir      string
		opts     Options
		skipRoot bool
		wantErr  string
	}{
		{"empty dir", "", Options{}, false, "mail: mailbox directory is empty"},
		{"parent is a file", filepath.Join(file, "mailbox"), Options{}, false, "mail: create mailbox directory"},
		{"dir is a file", file, Options{}, false, "mail: create mailbox directory"},
		{"read-only dir", readOnly, Options{}, true, "is not writable"},
		{"bad From", t.TempDir(), Options{From: "nobody"}, false, "mail: From address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skipRoot && os.Geteuid() == 0 {
				t.Skip("root writes to read-only directories")
			}
			b, err := NewMailbox(tt.dir, tt.opts, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewMailbox = %v, %v; want error containing %q", b, err, tt.wantErr)
			}
		})
	}
}

func TestMailboxConcurrentSends(t *testing.T) {
	b := newTestMailbox(t, Options{})
	const n = 20
	errs := make(chan error, n)
	for range n {
		go func() {
			m := validMessage()
			m.ID = ""
			errs <- b.Send(context.Background(), m)
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got, want := len(emlFiles(t, b.Dir())), n; got != want {
		t.Errorf("%d files, want %d", got, want)
	}
}
