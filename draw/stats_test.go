package draw_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/care360/care360/draw"
)

func sha256Of(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// chi2Crit is the chi-square critical value for 4 degrees of freedom at
// p = 0.001: a fair draw exceeds it once in a thousand seeds, and the seed
// here is fixed, so the test cannot flake.
const chi2Crit = 18.467

func chi2(observed []int, expected []float64) float64 {
	var x float64
	for i, o := range observed {
		d := float64(o) - expected[i]
		x += d * d / expected[i]
	}
	return x
}

// The first prize goes to each entry with probability tickets / all
// tickets: over many draws (one witness value each), the tier of the first
// winner follows the tickets.
func TestFirstPrizeFollowsTickets(t *testing.T) {
	t.Parallel()
	es := entries(100) // 20 entries per tier, 1..5 tickets: 300 tickets
	seed := bytes.Repeat([]byte{1}, draw.SeedSize)
	digest := draw.Digest(1, es)
	prizes := []draw.Prize{{Rank: 1, Name: "P", Quantity: 1}}
	const runs = 20000
	observed := make([]int, len(tiers))
	for i := range runs {
		ws, err := draw.Winners(draw.Key(seed, digest, fmt.Sprint(i)), es, prizes)
		if err != nil {
			t.Fatal(err)
		}
		observed[tierIndex(es, ws[0].EntryID)]++
	}
	expected := make([]float64, len(tiers))
	for i, tr := range tiers {
		expected[i] = runs * float64(20*table[tr]) / 300
	}
	x := chi2(observed, expected)
	t.Logf("chi-square %.2f: observed %v, expected %.1f", x, observed, expected)
	if x > chi2Crit {
		t.Fatalf("chi-square %.2f > %.3f: observed %v, expected %v", x, chi2Crit, observed, expected)
	}
}

// A large draw with few prizes: winners by tier follow tier share ×
// tickets (drawing 0.1 % without replacement barely bends it).
func TestLargeDrawFollowsTickets(t *testing.T) {
	t.Parallel()
	shares := []int{50, 25, 15, 7, 3} // % of entries per tier, as a member base looks
	const n, k = 300_000, 300
	es := make([]draw.Entry, 0, n)
	for i := range n {
		p, tr := i%100, 0
		for acc := shares[0]; p >= acc; acc += shares[tr] {
			tr++
		}
		es = append(es, draw.Entry{ID: int64(i + 1), Tier: tiers[tr], Tickets: table[tiers[tr]], MSISDN: "*1", Receipt: "r"})
	}
	seed := bytes.Repeat([]byte{2}, draw.SeedSize)
	ws, err := draw.Winners(draw.Key(seed, draw.Digest(1, es), "4 2"), es, []draw.Prize{{Rank: 1, Name: "P", Quantity: k}})
	if err != nil {
		t.Fatal(err)
	}
	observed := make([]int, len(tiers))
	for _, w := range ws {
		observed[tierIndex(es, w.EntryID)]++
	}
	var total float64
	for i, s := range shares {
		total += float64(s * table[tiers[i]])
	}
	expected := make([]float64, len(tiers))
	for i, s := range shares {
		expected[i] = k * float64(s*table[tiers[i]]) / total
	}
	x := chi2(observed, expected)
	t.Logf("chi-square %.2f: observed %v, expected %.1f", x, observed, expected)
	if x > chi2Crit {
		t.Fatalf("chi-square %.2f > %.3f: observed %v, expected %v", x, chi2Crit, observed, expected)
	}
}

func tierIndex(es []draw.Entry, id int64) int {
	for _, e := range es {
		if e.ID == id {
			for i, tr := range tiers {
				if tr == e.Tier {
					return i
				}
			}
		}
	}
	panic(fmt.Sprint("no entry ", id))
}

// BenchmarkWinners draws 10 prizes among a million entries.
func BenchmarkWinners(b *testing.B) {
	es := entries(1_000_000)
	key := draw.Key(make([]byte, draw.SeedSize), draw.Digest(1, es), "w")
	prizes := []draw.Prize{{Rank: 1, Name: "P", Quantity: 10}}
	for b.Loop() {
		if _, err := draw.Winners(key, es, prizes); err != nil {
			b.Fatal(err)
		}
	}
}
