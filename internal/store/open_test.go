package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/store"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		dialect store.Dialect
		wantErr string
	}{
		{"", store.SQLite, ""},
		{"sqlite:/var/lib/roster/r.db", store.SQLite, ""},
		{"postgres://u@h:5432/db?sslmode=disable", store.Postgres, ""},
		{"postgresql://u@h/db", store.Postgres, ""},
		{"mysql://u@h/db", "", "unsupported database URL"},
		{"sqlite:", "", "needs a file path"},
		{"postgres://u:hunter2@h:99999999/db", "", "not a valid PostgreSQL URL"},
	}
	for _, tc := range tests {
		d, _, err := store.ParseURL(tc.url, "/data")
		if tc.wantErr == "" && (err != nil || d != tc.dialect) {
			t.Errorf("ParseURL(%q) = %s, %v; want %s", tc.url, d, err, tc.dialect)
		}
		if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ParseURL(%q) err = %v, want %q", tc.url, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q) error leaks the password: %v", tc.url, err)
		}
	}
}

func TestOpenUnwritableDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	_, err := store.Open(context.Background(), store.Options{DataDir: filepath.Join(file, "data")})
	if err == nil || !strings.Contains(err.Error(), "data directory") {
		t.Errorf("Open(dir under a file) err = %v, want one naming the data directory", err)
	}
}

func TestMigrateIsIdempotentAndCounted(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, _ := db.PendingMigrations(t.Context()); n == 0 {
		t.Fatal("PendingMigrations on an empty database = 0")
	}
	n1, err := db.Migrate(t.Context())
	if err != nil || n1 == 0 {
		t.Fatalf("Migrate = %d, %v", n1, err)
	}
	n2, err := db.Migrate(t.Context())
	if err != nil || n2 != 0 {
		t.Errorf("second Migrate = %d, %v; want 0, nil", n2, err)
	}
	if n, err := db.PendingMigrations(t.Context()); n != 0 || err != nil {
		t.Errorf("PendingMigrations after Migrate = %d, %v; want 0", n, err)
	}
	if v, _ := db.SchemaVersion(t.Context()); v < 2 {
		t.Errorf("SchemaVersion = %d, want at least 2", v)
	}
}
