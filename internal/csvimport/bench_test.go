package csvimport

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
)

// benchRows is the size of the benchmark file, the SPEC's 1,000,000 rows.
const benchRows = 1_000_000

var benchFile = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	b.WriteString("email,first_name,last_name,expiration_date,permissions,welcome_message\r\n")
	dates := []string{"2026-12-31", "12/31/2026", "1/5/27", ""}
	permissions := []string{"manage_users;view_analytics", "view_analytics", "", "Manage Comments"}
	for i := range benchRows {
		email := fmt.Sprintf("user.%d@example.com", i)
		if i%5 == 0 {
			email = fmt.Sprintf("User.%d@Example.COM", i)
		}
		fmt.Fprintf(&b, "%s,First%d,Last%d,%s,%s,Welcome aboard\r\n", email, i%1000, i%777, dates[i%4], permissions[i%3])
	}
	return b.Bytes()
})

// BenchmarkParse reads a 1,000,000-row file with every column, validating
// every cell, and reports rows per second.
func BenchmarkParse(b *testing.B) {
	data := benchFile()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			row, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if len(row.Errors) > 0 {
				b.Fatalf("row %d: %v", row.Num, row.Errors)
			}
			n++
		}
		if n != benchRows {
			b.Fatalf("read %d rows, want %d", n, benchRows)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
