package draw

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

// The digest formatted on every CPU hashes exactly the canonical text,
// whatever the number of entries against the chunk size.
func TestDigestParallelIsTheCanonicalText(t *testing.T) {
	t.Parallel()
	for _, n := range []int{parallelFrom - 1, parallelFrom, parallelFrom + 1, 21*digestChunk + parallelFrom + 5, 300_001} {
		es := make([]Entry, n)
		for i := range es {
			es[i] = Entry{ID: int64(3*i + 1), Tier: tiersOf[i%len(tiersOf)], Tickets: 1 + i%5, MSISDN: fmt.Sprintf("********%03d", i%1000), Receipt: "5d41402abc"}
		}
		h := sha256.New()
		fmt.Fprintf(h, "care360-draw-v1 entries draw=9 count=%d\n", n)
		for _, e := range es {
			fmt.Fprintf(h, "%d,%s,%d,%s,%s\n", e.ID, e.Tier, e.Tickets, e.MSISDN, e.Receipt)
		}
		var want [32]byte
		h.Sum(want[:0])
		if got := Digest(9, es); got != want {
			t.Fatalf("%d entries: %x, want %x", n, got, want)
		}
	}
}

var tiersOf = []string{"dong", "bac", "titan", "vang", "kim_cuong"}
