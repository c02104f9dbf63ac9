package roster

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestStatusOn(t *testing.T) {
	today := Date{2026, 11, 23}
	login := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		exp   Date
		login time.Time
		want  Status
	}{
		{"no expiry, never logged in", Date{}, time.Time{}, StatusNotLoggedIn},
		{"no expiry, logged in", Date{}, login, StatusActive},
		{"expires tomorrow, logged in", today.AddDays(1), login, StatusActive},
		{"expires today is expired", today, login, StatusExpired},
		{"expired yesterday, never logged in", today.AddDays(-1), time.Time{}, StatusExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := &User{ExpirationDate: tc.exp, LastLoginAt: tc.login}
			if got := u.StatusOn(today); got != tc.want {
				t.Errorf("StatusOn(%s) = %s, want %s", today, got, tc.want)
			}
		})
	}
}

func TestOrgTodayUsesTimeZone(t *testing.T) {
	// 2026-11-23 23:30 UTC is already the 24th in Auckland and still the 23rd in Los Angeles.
	now := time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC)
	for zone, want := range map[string]Date{"UTC": {2026, 11, 23}, "Pacific/Auckland": {2026, 11, 24}, "America/Los_Angeles": {2026, 11, 23}} {
		o := &Org{TimeZone: zone}
		if got := o.Today(now); got != want {
			t.Errorf("Org{%s}.Today(%s) = %s, want %s", zone, now, got, want)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	good := map[string]string{
		"  Ada@Example.COM ":    "ada@example.com",
		"first.last+tag@a.b.co": "first.last+tag@a.b.co",
		"o'neil@example.ie":     "o'neil@example.ie",
	}
	for in, want := range good {
		if got, err := NormalizeEmail(in); err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "not an email", "a@b", "@example.com", "ada@", "Ada <ada@example.com>", "ada@example..com",
		"ada@.example.com", "ada@example.com.", "a b@example.com", "ada@exam\nple.com", strings.Repeat("a", 250) + "@example.com"} {
		if got, err := NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) = %q, nil; want an error", in, got)
		}
	}
}

func TestCleanName(t *testing.T) {
	if got, err := CleanName("  Zoë  "); err != nil || got != "Zoë" {
		t.Errorf("CleanName = %q, %v", got, err)
	}
	for _, in := range []string{"Eve\r\nBcc: x@y.z", "tab\there", strings.Repeat("é", 101)} {
		if _, err := CleanName(in); err == nil {
			t.Errorf("CleanName(%q) err = nil, want an error", in)
		}
	}
	if _, err := CleanName(strings.Repeat("é", 100)); err != nil {
		t.Errorf("CleanName(100 runes) = %v, want ok", err)
	}
}

func TestPermissions(t *testing.T) {
	for _, in := range []string{"manage_users", "Manage Users", "MANAGE-USERS", " manageusers "} {
		if p, err := ParsePermission(in); err != nil || p != ManageUsers {
			t.Errorf("ParsePermission(%q) = %v, %v", in, p, err)
		}
	}
	if _, err := ParsePermission("admin"); err == nil || !strings.Contains(err.Error(), "manage_users") {
		t.Errorf("ParsePermission(admin) err = %v, want one naming the valid permissions", err)
	}
	ps, err := ParsePermissions([]string{"view_analytics", "", "manage_comments"})
	if err != nil || ps.Names()[0] != "view_analytics" || len(ps.Names()) != 2 {
		t.Errorf("ParsePermissions = %v, %v", ps.Names(), err)
	}
	if got := Permissions(0).Names(); got == nil || len(got) != 0 {
		t.Errorf("Names of empty set = %#v, want an empty non-nil slice", got)
	}
	if !AllPermissionsSet.Contains(ps) || ps.Contains(AllPermissionsSet) {
		t.Error("Contains is wrong")
	}
	if ps.With(ManageUsers).Without(ManageUsers) != ps {
		t.Error("With/Without do not round-trip")
	}
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2028-02-29")
	if err != nil || d.String() != "2028-02-29" || d.AddDays(1).String() != "2028-03-01" {
		t.Errorf("ParseDate/AddDays = %v, %v", d, err)
	}
	for _, in := range []string{"2027-02-29", "12/31/2026", "2026-13-01", ""} {
		if _, err := ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) err = nil", in)
		}
	}
	if !(Date{2026, 1, 2}).Before(Date{2026, 1, 3}) || (Date{2027, 1, 1}).Before(Date{2026, 12, 31}) {
		t.Error("Before is wrong")
	}
	if (Date{}).String() != "" || !(Date{}).IsZero() {
		t.Error("zero Date")
	}
}

func TestCanManageUsers(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	org := &Org{Name: "Acme", UserManagement: true, TimeZone: "UTC", SupportContact: "help@acme.example"}
	admin := &User{Permissions: AllPermissionsSet}
	if err := (&Actor{Org: org, User: admin}).CanManageUsers(now); err != nil {
		t.Errorf("admin: %v", err)
	}
	cases := map[string]*Actor{
		"not enabled":    {Org: &Org{Name: "Off", TimeZone: "UTC", SupportContact: "help@acme.example"}, User: admin},
		"no permission":  {Org: org, User: &User{Permissions: Permissions(ViewAnalytics)}},
		"expired itself": {Org: org, User: &User{Permissions: AllPermissionsSet, ExpirationDate: Date{2026, 11, 23}}},
	}
	for name, a := range cases {
		var ae *AccessError
		if err := a.CanManageUsers(now); !errors.As(err, &ae) || ae.Reason == "" || ae.Contact != "help@acme.example" {
			t.Errorf("%s: CanManageUsers = %v, want an AccessError with reason and contact", name, err)
		}
	}
}

func TestOrgValidate(t *testing.T) {
	o := &Org{Name: " ", Slug: "Bad Slug", Locale: "fr-FR", TimeZone: "Mars/Olympus"}
	var ve *ValidationError
	if err := o.Validate(); !errors.As(err, &ve) || len(ve.Fields) != 4 {
		t.Fatalf("Validate = %v, want 4 field errors", err)
	}
	ok := &Org{Name: "Acme", Slug: "acme-2"}
	if err := ok.Validate(); err != nil || ok.Locale != "en-US" || ok.TimeZone != "UTC" {
		t.Errorf("Validate(defaults) = %v, %+v", err, ok)
	}
}
