package csvimport

import (
	"fmt"
	"runtime"
	"testing"
)

func TestDedup(t *testing.T) {
	var d Dedup
	tests := []struct {
		email     string
		row       int
		wantFirst int
		wantDup   bool
	}{
		{"a@example.com", 2, 2, false},
		{"b@example.com", 3, 3, false},
		{"a@example.com", 5, 2, true},
		{"a@example.com", 9, 2, true},
		{"b@example.com", 10, 3, true},
		{"c@example.com", 11, 11, false},
	}
	for _, tc := range tests {
		first, dup := d.Seen(tc.email, tc.row)
		if first != tc.wantFirst || dup != tc.wantDup {
			t.Errorf("Seen(%q, %d) = %d, %v; want %d, %v", tc.email, tc.row, first, dup, tc.wantFirst, tc.wantDup)
		}
	}
	if d.Len() != 3 {
		t.Errorf("Len() = %d, want 3", d.Len())
	}
}

// BenchmarkDedup records a million distinct emails and reports the heap they
// take, per email.
func BenchmarkDedup(b *testing.B) {
	const n = 1_000_000
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%d@example.com", i)
	}
	var heap uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var d Dedup
		for i, e := range emails {
			if _, dup := d.Seen(e, i+2); dup {
				b.Fatalf("%s reported as a duplicate", e)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(&d)
	}
	b.ReportMetric(float64(heap)/n, "heap-B/email")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB/1M")
}
