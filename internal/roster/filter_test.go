package roster

import (
	"errors"
	"net/url"
	"testing"
)

func TestParseUserFilter(t *testing.T) {
	d := func(s string) Date {
		v, err := ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	good := []struct {
		query string
		want  UserFilter
	}{
		{"", UserFilter{}},
		{"q=ann&status=active&permission=manage_users", UserFilter{Query: "ann", Status: StatusActive, Permission: ManageUsers}},
		{"status=Hasn't+Logged+In", UserFilter{Status: StatusNotLoggedIn}},
		{"expires_from=2026-01-01&expires_to=2026-12-31", UserFilter{ExpiresFrom: d("2026-01-01"), ExpiresTo: d("2026-12-31")}},
		{"last_login=never", UserFilter{LastLogin: LastLoginFilter{Never: true}}},
		{"last_login=before:2026-05-01", UserFilter{LastLogin: LastLoginFilter{Before: d("2026-05-01")}}},
		{"last_login=after:2026-01-01,before:2026-02-01", UserFilter{LastLogin: LastLoginFilter{After: d("2026-01-01"), Before: d("2026-02-01")}}},
		{"sort=-last_login_at&limit=20&cursor=abc", UserFilter{Sort: "last_login_at", Desc: true, Limit: 20, Cursor: "abc"}},
		{"sort=created", UserFilter{Sort: "created_at"}},
		{"sort=name", UserFilter{Sort: "name"}},
	}
	for _, c := range good {
		v, _ := url.ParseQuery(c.query)
		got, err := ParseUserFilter(v)
		if err != nil || got != c.want {
			t.Errorf("ParseUserFilter(%q) = %+v, %v; want %+v", c.query, got, err, c.want)
			continue
		}
		// Values round-trips (limit and cursor are the page's, not the view's).
		c.want.Limit, c.want.Cursor = 0, ""
		back, err := ParseUserFilter(got.Values())
		if err != nil || back != c.want {
			t.Errorf("ParseUserFilter(%q).Values() = %q, read back as %+v, %v", c.query, got.Values().Encode(), back, err)
		}
	}
	bad := map[string][]string{
		"status=gone":             {"status"},
		"permission=root":         {"permission"},
		"expires_from=12/31/2026": {"expires_from"},
		"expires_from=2026-02-01&expires_to=2026-01-01": {"expires_to"},
		"last_login=yesterday":                          {"last_login"},
		"last_login=before:2026-02-30":                  {"last_login"},
		"sort=password":                                 {"sort"},
		"limit=1001&sort=-x&status=x":                   {"limit", "sort", "status"},
	}
	for q, fields := range bad {
		v, _ := url.ParseQuery(q)
		_, err := ParseUserFilter(v)
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("ParseUserFilter(%q) = %v, want a ValidationError", q, err)
			continue
		}
		for _, f := range fields {
			if ve.Fields[f] == "" {
				t.Errorf("ParseUserFilter(%q): no message for %s in %v", q, f, ve.Fields)
			}
		}
	}
}
