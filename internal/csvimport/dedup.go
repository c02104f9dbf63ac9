package csvimport

import "hash/maphash"

// Dedup finds rows whose email repeats an earlier row's (SPEC "Bulk Upload":
// a duplicate of an earlier row's email is an error). The zero value is ready
// to use; it is not safe for concurrent use.
//
// To keep memory bounded for a million rows it stores a 128-bit hash of each
// email (two 64-bit maphash sums with independent random seeds) and the row
// number, not the email: about 56 bytes per email, 53 MiB for a million
// (BenchmarkDedup measures it). Two different emails are taken for one with a probability of about
// n²/2¹²⁹, which for n = 1,000,000 is below 10⁻²⁶. Seeds are random per
// Dedup, so results are not comparable across processes; each pass over a
// file needs its own Dedup.
type Dedup struct {
	seeds [2]maphash.Seed
	first map[[2]uint64]int32
}

// Seen records that row has email, which should be normalized (Row.Email of a
// valid row). When an earlier row had the same email it returns that row's
// number and true; otherwise it returns row and false. Row numbers must fit
// in an int32, which a file within the limits always does.
func (d *Dedup) Seen(email string, row int) (firstRow int, dup bool) {
	if d.first == nil {
		d.seeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
		d.first = make(map[[2]uint64]int32)
	}
	key := [2]uint64{maphash.String(d.seeds[0], email), maphash.String(d.seeds[1], email)}
	if f, ok := d.first[key]; ok {
		return int(f), true
	}
	d.first[key] = int32(row)
	return row, false
}

// Len returns the number of distinct emails seen.
func (d *Dedup) Len() int { return len(d.first) }
