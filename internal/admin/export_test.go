package admin_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/admin"
	"github.com/roster-dev/roster/internal/roster"
	"github.com/roster-dev/roster/internal/store/storetest"
)

// TestExportRoundTrip: an export, uploaded again unedited, changes nothing
// but re-inviting; edited, it changes exactly what was edited.
func TestExportRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b storetest.Backend) {
		ctx := t.Context()
		e := newEnv(t, b)
		acme := e.org(t, "acme")
		e.org(t, "other")
		e.addAdminCLI(t, "acme", "boss@acme.example")
		boss := e.cliActor(t, "acme", "boss@acme.example")
		future := e.svc.Today(boss).AddDays(90)
		for _, in := range []admin.InviteInput{
			{Email: "zoë@acme.example", FirstName: roster.Some("Zoë"), LastName: roster.Some("Ångström, Jr."), Permissions: roster.Some(invVA | invMCm), ExpirationDate: roster.Some(future)},
			{Email: "formula@acme.example", FirstName: roster.Some("=cmd|' /C calc'!A0"), LastName: roster.Some("-minus")},
			{Email: "yamada@acme.example", FirstName: roster.Some("太郎"), LastName: roster.Some("山田 \"Taro\"")},
		} {
			if _, err := e.svc.Invite(ctx, boss, in); err != nil {
				t.Fatal(err)
			}
		}
		e.plainUser(t, e.org(t, "third").ID, "third@acme.example", 0, roster.Date{}, "")

		var out bytes.Buffer
		n, err := e.svc.ExportUsers(ctx, boss, roster.UserFilter{}, &out)
		if err != nil || n != 4 {
			t.Fatalf("ExportUsers = %d, %v; want boss and the 3 invited", n, err)
		}
		text := out.String()
		if !strings.HasPrefix(text, "email,first_name,last_name,expiration_date,permissions\n") || !strings.Contains(text, `'=cmd`) ||
			!strings.Contains(text, "'-minus") || strings.Contains(text, "third@") || !strings.Contains(text, "view_analytics;manage_comments") {
			t.Errorf("export:\n%s", text)
		}
		p, err := e.svc.PreviewImport(ctx, boss, bytes.NewReader(out.Bytes()), admin.ImportOptions{})
		if err != nil {
			t.Fatalf("re-upload the export: %v", err)
		}
		if p.Import.WillUpdate != 4 || p.Import.WillCreate != 0 || p.Import.WillFail != 0 || len(p.Changes) != 0 {
			t.Errorf("unedited export re-uploaded: %+v, changes %+v; want 4 updates with no change", p.Import, p.Changes)
		}
		edited := strings.Replace(out.String(), "太郎", "花子", 1)
		p, err = e.svc.PreviewImport(ctx, boss, strings.NewReader(edited), admin.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Changes) != 1 || p.Changes[0].Email != "yamada@acme.example" || p.Changes[0].After != `{"first_name":"花子"}` {
			t.Errorf("edited export: changes %+v; want only yamada's first name", p.Changes)
		}
		_ = acme
	})
}
