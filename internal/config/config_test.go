package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvAndValidate(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "db")
	os.WriteFile(secret, []byte("postgres://u:pw@db:5432/roster\n"), 0o600)
	c, err := FromEnv(Default(), env(map[string]string{
		"ROSTER_LISTEN": "0.0.0.0:9000", "ROSTER_DATABASE_URL_FILE": secret, "ROSTER_LINK_TTL": "30d", "ROSTER_PASSWORD_MIN_LENGTH": "12",
	}))
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.DatabaseURL != "postgres://u:pw@db:5432/roster" || c.LinkTTL != 30*24*time.Hour || c.PasswordMinLength != 12 {
		t.Errorf("FromEnv = %+v", c)
	}
	if c.BaseURL != "http://localhost:9000" {
		t.Errorf("BaseURL = %q, want http://localhost:9000 for a wildcard listen address", c.BaseURL)
	}
	if r := c.Redacted(); strings.Contains(r, ":pw@") || !strings.Contains(r, "database_url") {
		t.Errorf("Redacted leaks the password or lacks the URL:\n%s", r)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := Default()
	c.Listen, c.BaseURL, c.PasswordMinLength, c.LinkTTL, c.LogFormat = "nope", "ftp://x", 6, 31*24*time.Hour, "xml"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate = nil, want errors")
	}
	for _, want := range []string{"listen address", "base URL", "at least 8", "link lifetime", "log format"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q lacks %q", err, want)
		}
	}
}

func TestFromEnvBadValues(t *testing.T) {
	_, err := FromEnv(Default(), env(map[string]string{"ROSTER_SECURE_COOKIES": "maybe", "ROSTER_SESSION_TTL": "soon", "ROSTER_DATABASE_URL_FILE": "/nonexistent/x"}))
	for _, want := range []string{"ROSTER_SECURE_COOKIES", "ROSTER_SESSION_TTL", "ROSTER_DATABASE_URL_FILE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FromEnv error %v lacks %s", err, want)
		}
	}
}

func TestHTTPSBaseURLSetsSecureCookies(t *testing.T) {
	c := Default()
	c.BaseURL = "https://roster.example.com/"
	if err := c.Validate(); err != nil || !c.SecureCookies || c.BaseURL != "https://roster.example.com" {
		t.Errorf("Validate = %v, SecureCookies %t, BaseURL %q", err, c.SecureCookies, c.BaseURL)
	}
}
