package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/store"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// syncBuffer is a bytes.Buffer safe to write from a running command while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// newEnv returns an Env whose environment is vars alone (never the test
// process's own ROSTER_* variables).
func newEnv(vars map[string]string, stdout, stderr io.Writer) *Env {
	return &Env{Stdout: stdout, Stderr: stderr, Stdin: strings.NewReader(""),
		Getenv: func(k string) string { return vars[k] }}
}

// run runs the command line in-process and returns its exit status and output.
func run(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	code := Run(t.Context(), args, newEnv(vars, &out, &errb))
	return result{code, out.String(), errb.String()}
}

func TestHelp(t *testing.T) {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	for _, want := range []string{"serve", "migrate", "org create", "org list", "admin add", "token create"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("commands %q lack %q (SPEC \"Interfaces\")", names, want)
		}
	}
	for _, name := range names {
		for _, flag := range []string{"--help", "-h"} {
			args := append(strings.Fields(name), flag)
			r := run(t, nil, args...)
			if r.code != 0 {
				t.Errorf("roster %s %s: %s; want exit 0", name, flag, r)
			}
			if n := strings.Count(r.stdout, "Usage: roster "+name); n != 1 || !strings.Contains(r.stdout, "-data-dir") {
				t.Errorf("roster %s %s: stdout %q has the usage %d times, want once with its flags", name, flag, r.stdout, n)
			}
			if r.stderr != "" {
				t.Errorf("roster %s %s: stderr %q, want nothing", name, flag, r.stderr)
			}
		}
	}
	for _, args := range [][]string{nil, {"--help"}, {"help"}} {
		r := run(t, nil, args...)
		if r.code != 0 {
			t.Errorf("roster %q: %s; want exit 0", args, r)
		}
		for _, n := range names {
			if !strings.Contains(r.stdout, n) {
				t.Errorf("roster %q: usage %q lacks the command %q", args, r.stdout, n)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		vars  map[string]string
		wants []string // in stderr
	}{
		{name: "unknown command", args: []string{"frobnicate"}, wants: []string{`unknown command "frobnicate"`, "Usage:"}},
		{name: "group without a verb", args: []string{"org"}, wants: []string{"unknown command"}},
		{name: "unknown verb", args: []string{"org", "delete", "--slug", "acme"}, wants: []string{`unknown command "org delete"`}},
		{name: "unknown flag", args: []string{"org", "list", "--bogus"}, wants: []string{"bogus", "roster org list --help"}},
		{name: "unknown flag after a good one", args: []string{"token", "create", "--org", "acme", "--name", "x", "--colour", "red"}, wants: []string{"colour"}},
		{name: "flag without its value", args: []string{"admin", "add", "--org"}, wants: []string{"org"}},
		{name: "bad boolean", args: []string{"org", "create", "--name", "A", "--slug", "a", "--user-management=maybe"}, wants: []string{"user-management"}},
		{name: "org create without --slug", args: []string{"org", "create", "--name", "Acme"}, wants: []string{"--slug"}},
		{name: "org create without --name", args: []string{"org", "create", "--slug", "acme"}, wants: []string{"--name"}},
		{name: "admin add without --email", args: []string{"admin", "add", "--org", "acme"}, wants: []string{"--email"}},
		{name: "token create without --name", args: []string{"token", "create", "--org", "acme"}, wants: []string{"--name"}},
		{name: "stray positional", args: []string{"org", "list", "extra"}, wants: []string{`"extra"`}},
		{name: "stray positional between flags", args: []string{"migrate", "--base-url", "http://x.example", "extra", "--data-dir", "d"}, wants: []string{`"extra"`}},
		{name: "serve with a positional", args: []string{"serve", "now"}, wants: []string{`"now"`}},
		{name: "serve with a bad listen address", args: []string{"serve", "--listen", "nonsense"}, wants: []string{"nonsense", "host:port"}},
		{name: "bad base URL", args: []string{"admin", "add", "--org", "acme", "--email", "a@b.example", "--base-url", "ftp://x"}, wants: []string{"ftp://x"}},
		{name: "bad environment variable", args: []string{"org", "list"}, vars: map[string]string{"ROSTER_LINK_TTL": "forever"}, wants: []string{"ROSTER_LINK_TTL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dataDir := filepath.Join(t.TempDir(), "data")
			vars := map[string]string{"ROSTER_DATA_DIR": dataDir}
			for k, v := range tc.vars {
				vars[k] = v
			}
			r := run(t, vars, tc.args...)
			if r.code != 2 {
				t.Errorf("roster %q: %s; want exit 2", tc.args, r)
			}
			for _, w := range tc.wants {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("roster %q: stderr %q lacks %q", tc.args, r.stderr, w)
				}
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("roster %q: a usage error created the data directory (stat: %v)", tc.args, err)
			}
		})
	}
}

// TestFlagsAnywhere: flags may come before or after positionals, and a
// command's flags mean the same in any order (SPEC "Interfaces").
func TestFlagsAnywhere(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if r := run(t, nil, "org", "create", "--data-dir", dir, "--name", "First", "--slug", "first"); r.code != 0 {
		t.Fatalf("--data-dir first: %s", r)
	}
	if r := run(t, nil, "org", "create", "--name", "Second", "--slug", "second", "--data-dir", dir); r.code != 0 {
		t.Fatalf("--data-dir last: %s", r)
	}
	first := run(t, nil, "org", "list", "--data-dir", dir)
	last := run(t, nil, "org", "list", "--data-dir="+dir)
	if first.code != 0 || last.code != 0 {
		t.Fatalf("org list: %s\n%s", first, last)
	}
	if first.stdout != last.stdout {
		t.Errorf("org list --data-dir X and --data-dir=X differ:\n%s\n%s", first.stdout, last.stdout)
	}
	for _, slug := range []string{"first", "second"} {
		if !strings.Contains(first.stdout, slug) {
			t.Errorf("org list in %s: %q lacks %q; both creates must have used the same directory", dir, first.stdout, slug)
		}
	}
	// The flag wins over the environment.
	other := filepath.Join(t.TempDir(), "env-data")
	r := run(t, map[string]string{"ROSTER_DATA_DIR": other}, "org", "list", "--data-dir", dir)
	if r.code != 0 || r.stdout != first.stdout {
		t.Errorf("--data-dir with ROSTER_DATA_DIR set elsewhere: %s; want the flag's directory listed:\n%s", r, first.stdout)
	}
}

var tokenLine = regexp.MustCompile(`^rst_[A-Za-z0-9_-]{43}$`)

// TestOperatorFlow runs SPEC "operator CLI" on SQLite (the data directory
// from ROSTER_DATA_DIR) and PostgreSQL (ROSTER_DATABASE_URL).
func TestOperatorFlow(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			var dbURL, dataDir string
			if b.Name == "postgres" {
				dbURL, dataDir = storetest.PostgresURL(t)
			} else {
				dataDir = filepath.Join(t.TempDir(), "data")
			}
			const baseURL = "https://roster.example.test"
			vars := map[string]string{"ROSTER_DATA_DIR": dataDir, "ROSTER_DATABASE_URL": dbURL, "ROSTER_BASE_URL": baseURL + "/"}

			r := run(t, vars, "org", "create", "--name", "Acme Corp", "--slug", "acme", "--user-management", "--support-contact", "help@acme.example")
			if r.code != 0 || !strings.Contains(r.stdout, "Acme Corp (acme), User Management on") {
				t.Fatalf("org create: %s", r)
			}
			r = run(t, vars, "org", "create", "--name", "Acme Again", "--slug", "acme")
			if r.code != 1 || !strings.Contains(r.stderr, `"acme"`) || !strings.Contains(r.stderr, "already exists") {
				t.Errorf("duplicate org create: %s; want exit 1 naming the slug \"acme\"", r)
			}
			r = run(t, vars, "org", "create", "--name", "Bad", "--slug", "Bad Slug")
			if r.code != 1 || !strings.Contains(r.stderr, "--slug") {
				t.Errorf("org create with a bad slug: %s; want exit 1 explaining --slug", r)
			}
			r = run(t, vars, "org", "list")
			if r.code != 0 || !strings.Contains(r.stdout, "acme") || !strings.Contains(r.stdout, "Acme Corp") || strings.Contains(r.stdout, "Acme Again") {
				t.Errorf("org list: %s; want acme (Acme Corp) alone", r)
			}

			r = run(t, vars, "admin", "add", "--org", "acme", "--email", " Ada@Acme.example ")
			if r.code != 0 {
				t.Fatalf("admin add: %s", r)
			}
			link := regexp.MustCompile(`\S+/link/\S+`).FindString(r.stdout)
			if !strings.HasPrefix(link, baseURL+"/link/") {
				t.Fatalf("admin add: link %q in %q, want it to start with %s/link/ (ROSTER_BASE_URL)", link, r.stdout, baseURL)
			}
			if !strings.Contains(r.stdout, "ada@acme.example") {
				t.Errorf("admin add: stdout %q does not name the normalized email", r.stdout)
			}
			r = run(t, vars, "admin", "add", "--org", "nope", "--email", "x@nope.example")
			if r.code != 1 || !strings.Contains(r.stderr, `"nope"`) {
				t.Errorf("admin add to a missing org: %s; want exit 1 naming \"nope\"", r)
			}
			r = run(t, vars, "admin", "add", "--org", "acme", "--email", "bo@acme.example", "--base-url", "http://flag.example:9")
			if r.code != 0 || !strings.Contains(r.stdout, "http://flag.example:9/link/") {
				t.Errorf("admin add --base-url: %s; want the flag's URL (it wins over ROSTER_BASE_URL)", r)
			}

			r = run(t, vars, "token", "create", "--org", "acme", "--name", "learning platform")
			if r.code != 0 {
				t.Fatalf("token create: %s", r)
			}
			lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
			token := lines[len(lines)-1]
			if !tokenLine.MatchString(token) {
				t.Errorf("token create: last line %q, want the token alone (rst_ + 43 characters)", token)
			}
			r = run(t, vars, "token", "create", "--org", "acme", "--name", "lp", "--user", "nobody@acme.example")
			if r.code != 1 || !strings.Contains(r.stderr, "nobody@acme.example") {
				t.Errorf("token create for a missing user: %s; want exit 1 naming the user", r)
			}

			// What the CLI printed works against the same database.
			db, err := store.Open(ctx, store.Options{URL: dbURL, DataDir: dataDir})
			if err != nil {
				t.Fatalf("open the CLI's database: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			svc := admin.New(admin.Options{DB: db, BaseURL: baseURL})
			a, err := svc.ActorByToken(ctx, token)
			if err != nil {
				t.Fatalf("the printed token does not authenticate: %v", err)
			}
			if a.User.Email != "ada@acme.example" || a.Org.Slug != "acme" || !svc.CanManageUsers(a) || a.Org.SupportContact != "help@acme.example" {
				t.Errorf("token acts as %s in %s (can manage %t, contact %q); want ada@acme.example in acme, an admin, help@acme.example",
					a.User.Email, a.Org.Slug, svc.CanManageUsers(a), a.Org.SupportContact)
			}
			_, secret, _ := strings.Cut(link, "/link/")
			if _, err := svc.UseLink(ctx, secret, "violet lantern orbit 7 quietly"); err != nil {
				t.Errorf("the printed link cannot set a password: %v", err)
			}
			_, sqliteErr := os.Stat(filepath.Join(dataDir, "roster.db"))
			if usesSQLite := sqliteErr == nil; usesSQLite != (dbURL == "") {
				t.Errorf("roster.db in %s exists = %t, want %t (the database must follow ROSTER_DATABASE_URL)", dataDir, usesSQLite, dbURL == "")
			}
		})
	}
}

func TestBadDatabaseURL(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		wants []string
	}{
		{"mysql", "mysql://x", []string{"mysql", "postgres://"}},
		{"bad host", "postgres://bad host:99999/x", []string{"PostgreSQL URL"}},
		{"bad host with a password", "postgres://u:secretpw@bad host:99999/x", []string{"PostgreSQL URL"}},
		{"bad port with a password", "postgresql://u:secretpw@db.example:notaport/x", []string{"PostgreSQL URL"}},
		{"unreachable with a password", "postgres://u:secretpw@127.0.0.1:1/x?connect_timeout=3", []string{"PostgreSQL"}},
		{"sqlite without a path", "sqlite:", []string{"file path"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, via := range []string{"flag", "env"} {
				vars := map[string]string{"ROSTER_DATA_DIR": t.TempDir()}
				args := []string{"org", "list"}
				if via == "flag" {
					args = append(args, "--database-url", tc.url)
				} else {
					vars["ROSTER_DATABASE_URL"] = tc.url
				}
				r := run(t, vars, args...)
				if r.code != 1 && r.code != 2 {
					t.Errorf("%s via %s: %s; want exit 1 or 2", tc.url, via, r)
				}
				for _, w := range tc.wants {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("%s via %s: stderr %q lacks %q", tc.url, via, r.stderr, w)
					}
				}
				if strings.Contains(r.stdout+r.stderr, "secretpw") {
					t.Errorf("%s via %s: the output shows the password:\n%s", tc.url, via, r)
				}
			}
		})
	}
}

func TestUnwritableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, dir string }{
		{"data dir is a file", file},
		{"data dir below a file", filepath.Join(file, "data")},
	}
	for _, tc := range tests {
		for _, args := range [][]string{{"org", "list"}, {"migrate"}, {"org", "create", "--name", "A", "--slug", "a"}} {
			r := run(t, map[string]string{"ROSTER_DATA_DIR": tc.dir}, args...)
			if r.code != 1 {
				t.Errorf("%s: roster %q: %s; want exit 1", tc.name, args, r)
			}
			if !strings.Contains(r.stderr, file) || !strings.Contains(r.stderr, "director") {
				t.Errorf("%s: roster %q: stderr %q, want it to name the directory problem at %s", tc.name, args, r.stderr, file)
			}
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// TestServe starts roster serve in-process on an empty database, waits
// for /healthz, checks the first-run link, a second serve on the same
// port, and a graceful stop.
func TestServe(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"ROSTER_DATA_DIR": filepath.Join(t.TempDir(), "data")}
			if b.Name == "postgres" {
				vars["ROSTER_DATABASE_URL"], vars["ROSTER_DATA_DIR"] = storetest.PostgresURL(t)
			}
			addr := "127.0.0.1:" + freePort(t)
			ctx, cancel := context.WithCancel(t.Context())
			var out, errb syncBuffer
			done := make(chan int, 1)
			go func() { done <- Run(ctx, []string{"serve", "--listen", addr}, newEnv(vars, &out, &errb)) }()
			stopped := false
			t.Cleanup(func() {
				cancel()
				if !stopped {
					select {
					case <-done:
					case <-time.After(20 * time.Second):
					}
				}
			})

			base := "http://" + addr
			client := &http.Client{Timeout: 2 * time.Second}
			deadline := time.Now().Add(20 * time.Second)
			for {
				select {
				case code := <-done:
					stopped = true
					t.Fatalf("serve exited with %d before it was ready\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
				default:
				}
				resp, err := client.Get(base + "/healthz")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET /healthz never answered 200 (last error %v)\nstderr:\n%s", err, errb.String())
				}
				time.Sleep(50 * time.Millisecond)
			}

			link := regexp.MustCompile(`http://\S+/setup/\S+`).FindString(out.String())
			if !strings.HasPrefix(link, base+"/setup/") {
				t.Errorf("stdout %q: setup link %q, want one starting %s/setup/", out.String(), link, base)
			} else {
				resp, err := client.Get(link)
				if err != nil {
					t.Fatalf("GET setup link: %v", err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), "Set up Roster") {
					t.Errorf("GET %s: %d, want 200 with the setup form", link, resp.StatusCode)
				}
			}

			second := run(t, map[string]string{"ROSTER_DATA_DIR": t.TempDir()}, "serve", "--listen", addr)
			if second.code != 1 || !strings.Contains(second.stderr, "already in use") || !strings.Contains(second.stderr, addr) {
				t.Errorf("second serve on %s: %s; want exit 1 saying the address is already in use", addr, second)
			}

			cancel()
			select {
			case code := <-done:
				stopped = true
				if code != 0 {
					t.Errorf("serve after cancel: exit %d, want 0\nstderr:\n%s", code, errb.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("serve did not stop within 20 s of cancel")
			}
			if _, err := client.Get(base + "/healthz"); err == nil {
				t.Errorf("GET /healthz after serve returned: no error, want the port closed")
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := run(t, map[string]string{"ROSTER_DATA_DIR": dir}, "migrate")
	if r.code != 0 || !strings.Contains(r.stdout, "Migrated the sqlite database to schema version") {
		t.Fatalf("migrate on a fresh data dir: %s", r)
	}
	r = run(t, map[string]string{"ROSTER_DATA_DIR": dir}, "migrate")
	if r.code != 0 || !strings.Contains(r.stdout, "up to date") {
		t.Errorf("migrate again: %s; want exit 0 \"up to date\"", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "roster.db")); err != nil {
		t.Errorf("migrate did not create the SQLite file: %v", err)
	}
	t.Run("postgres", func(t *testing.T) {
		u, d := storetest.PostgresURL(t) // already migrated
		r := run(t, map[string]string{"ROSTER_DATA_DIR": d}, "migrate", "--database-url", u)
		if r.code != 0 || !strings.Contains(r.stdout, "up to date") {
			t.Errorf("migrate on a migrated PostgreSQL database: %s; want exit 0 \"up to date\"", r)
		}
	})
}
