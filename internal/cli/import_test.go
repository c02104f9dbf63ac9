package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/store/storetest"
)

func TestImportCommand(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var dbURL, dataDir string
			if b.Name == "postgres" {
				dbURL, dataDir = storetest.PostgresURL(t)
			} else {
				dataDir = filepath.Join(t.TempDir(), "data")
			}
			vars := map[string]string{"ROSTER_DATA_DIR": dataDir, "ROSTER_DATABASE_URL": dbURL}
			for _, args := range [][]string{
				{"org", "create", "--name", "Acme", "--slug", "acme", "--user-management"},
				{"admin", "add", "--org", "acme", "--email", "boss@acme.example"},
			} {
				if r := run(t, vars, args...); r.code != 0 {
					t.Fatalf("%v: %s", args, r)
				}
			}
			file := filepath.Join(t.TempDir(), "team.csv")
			csv := "Email,First Name,Last Name,Department\r\nada@acme.example,Ada,Lovelace,R&D\r\nbad,X,Y,\r\nBOSS@acme.example,The,Boss,\r\n"
			if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
				t.Fatal(err)
			}
			good := filepath.Join(t.TempDir(), "good.csv")
			if err := os.WriteFile(good, []byte("email\r\ngrace@acme.example\r\n"), 0o600); err != nil {
				t.Fatal(err)
			}

			// Flags after the file (SPEC "Interfaces"); a dry run changes nothing
			// and fails when rows would fail.
			r := run(t, vars, "import", file, "--dry-run", "--org", "acme")
			if r.code != 1 || !strings.Contains(r.stdout, "1 new, 1 updated, 2 invitations, 1 row with errors. Nothing changed.") ||
				!strings.Contains(r.stdout, "row 3, email:") || !strings.Contains(r.stdout, "Ignored columns: Department") {
				t.Errorf("dry run: %s", r)
			}
			r = run(t, vars, "import", "--org", "acme", good, "--dry-run", "--json")
			var dry struct {
				State  string
				Counts struct{ Created, Updated, Invited, Errors int }
			}
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &dry) != nil || dry.State != "previewed" || dry.Counts.Created != 1 {
				t.Errorf("dry run --json of a clean file: %s; want exit 0 and a previewed import creating 1", r)
			}

			r = run(t, vars, "import", "--org", "acme", file, "--welcome-message", "Hi!", "--expires", "2099-01-31")
			if r.code != 1 || !strings.Contains(r.stdout, "done: 1 created, 1 updated, 2 invited, 1 row with errors") ||
				!strings.Contains(r.stderr, "applied 3 of 3 rows (100%)") {
				t.Errorf("import with a bad row: %s; want exit 1, the counts, plain progress lines (not a terminal)", r)
			}
			r = run(t, vars, "import", "--org", "acme", good, "--json")
			var done struct {
				State  string
				Counts struct{ Created, Updated, Invited, Errors int }
			}
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &done) != nil || done.State != "done" || done.Counts.Created != 1 || done.Counts.Invited != 1 {
				t.Errorf("import --json: %s; want exit 0 and a done import", r)
			}
			// Re-running never duplicates: everyone is updated.
			r = run(t, vars, "import", "--org", "acme", file)
			if !strings.Contains(r.stdout, "0 created, 2 updated, 2 invited") {
				t.Errorf("re-run: %s; want 0 created, 2 updated", r)
			}

			for _, c := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"import", file}, 2, "--org is required"},
				{[]string{"import", "--org", "acme"}, 2, "exactly one FILE"},
				{[]string{"import", "--org", "acme", file, "--expires", "31/12/2099"}, 2, "not a date"},
				{[]string{"import", "--org", "acme", filepath.Join(t.TempDir(), "missing.csv")}, 1, "no such file"},
				{[]string{"import", "--org", "nope", file}, 1, "nope"},
				{[]string{"import", "--org", "acme", file, "--expires", "2001-01-01"}, 1, "not in the future"},
			} {
				if r := run(t, vars, c.args...); r.code != c.code || !strings.Contains(r.stderr, c.want) {
					t.Errorf("%v: %s; want exit %d mentioning %q", c.args, r, c.code, c.want)
				}
			}
			// Export: the template's columns, filters, and the count on stderr.
			r = run(t, vars, "export", "--org", "acme")
			if r.code != 0 || !strings.HasPrefix(r.stdout, "email,first_name,last_name,expiration_date,permissions\n") ||
				!strings.Contains(r.stdout, "ada@acme.example,Ada,Lovelace,2099-01-31,") || !strings.Contains(r.stderr, "Exported 3 users.") {
				t.Errorf("export: %s", r)
			}
			r = run(t, vars, "export", "--q", "grace", "--org", "acme")
			if r.code != 0 || strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, "grace@acme.example") {
				t.Errorf("export --q grace: %s; want the header and grace alone", r)
			}
			if r := run(t, vars, "export", "--org", "acme", "--status", "sleeping"); r.code != 2 || !strings.Contains(r.stderr, "--status") {
				t.Errorf("export --status sleeping: %s; want a usage error", r)
			}

			nocol := filepath.Join(t.TempDir(), "nocol.csv")
			os.WriteFile(nocol, []byte("Name,Mail\nA,a@acme.example\n"), 0o600)
			if r := run(t, vars, "import", "--org", "acme", nocol); r.code != 1 || !strings.Contains(r.stderr, "email") {
				t.Errorf("file without an email column: %s; want exit 1 naming the email column", r)
			}
		})
	}
}
