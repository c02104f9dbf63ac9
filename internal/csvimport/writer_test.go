package csvimport

import (
	"bytes"
	"errors"
	"testing"
)

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	for _, rec := range [][]string{
		{"row", "email", "outcome", "message"},
		{"2", "ada@example.com", "created", ""},
		{"3", "=cmd|' /C calc'!A0", "error", "email: not valid, \"really\"\nsecond line"},
		{"4", "+a@example.com", "updated", "-1 permission"},
	} {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "row,email,outcome,message\n" +
		"2,ada@example.com,created,\n" +
		"3,'=cmd|' /C calc'!A0,error,\"email: not valid, \"\"really\"\"\nsecond line\"\n" +
		"4,'+a@example.com,updated,'-1 permission\n"
	if got := b.String(); got != want {
		t.Errorf("Writer wrote\n%s\nwant\n%s", got, want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterError(t *testing.T) {
	w := NewWriter(failingWriter{})
	if err := w.Write([]string{"a"}); err != nil {
		t.Fatalf("Write buffers, got %v", err)
	}
	if err := w.Flush(); err == nil || err.Error() != "csvimport: flush: disk full" {
		t.Errorf("Flush() = %v, want csvimport: flush: disk full", err)
	}
}
