package draw

import (
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Format names the audit file's JSON shape.
const Format = "care360-draw-audit"

// Audit is the published record of a draw: everything needed to recompute
// its result (docs/draws.md). Before the run, Seed, Witness and Winners
// are empty; before the close, so are the entries and their digest.
type Audit struct {
	Format    string    `json:"format"`
	Algorithm string    `json:"algorithm"`
	Draw      DrawInfo  `json:"draw"`
	Prizes    []Prize   `json:"prizes"`
	Tickets   TierTable `json:"tickets"` // tickets per tier; an absent tier could not enter

	Commitment    string   `json:"commitment"` // hex SHA-256(seed), published at opening
	EntriesCount  int      `json:"entries_count"`
	EntriesDigest string   `json:"entries_digest"` // hex, published at close
	Witness       string   `json:"witness"`        // the value entered at the ceremony
	Seed          string   `json:"seed"`           // hex, revealed at the run
	Key           string   `json:"key"`            // hex draw key (derived; for convenience)
	Entries       []Entry  `json:"entries"`
	Winners       []Winner `json:"winners"`
}

// DrawInfo says which draw an audit file is about.
type DrawInfo struct {
	ID       int64      `json:"id"`
	Code     string     `json:"code"`
	Name     string     `json:"name"`
	Status   string     `json:"status"`
	OpensAt  time.Time  `json:"opens_at"`
	ClosesAt time.Time  `json:"closes_at"`
	ClosedAt *time.Time `json:"closed_at"`
	DrawnAt  *time.Time `json:"drawn_at"`
}

// TierTable maps a tier (dong, bac, titan, vang, kim_cuong) to tickets.
type TierTable map[string]int

// Verify recomputes a drawn audit file and returns every way it differs
// from what it claims, in words; none means VALID. It checks the
// algorithm, the commitment against the revealed seed, each entry's
// tickets against the tier table, the count and digest of the entries,
// the draw key, and the winners.
func Verify(a *Audit) []string {
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }
	if a.Format != Format {
		add("format is %q, want %q", a.Format, Format)
	}
	if a.Algorithm != Version {
		add("algorithm %q is not %q, the only one this verifier knows", a.Algorithm, Version)
		return diffs
	}
	seed, err := hex.DecodeString(a.Seed)
	switch {
	case a.Seed == "":
		add("the seed is not revealed yet: the draw has not been run")
		return diffs
	case err != nil || len(seed) != SeedSize:
		add("seed must be %d bytes in hex", SeedSize)
		return diffs
	}
	if got := Commitment(seed); got != a.Commitment {
		add("commitment: SHA-256(seed) is %s, but %s was published", got, a.Commitment)
	}
	tickets, err := checkAll(a.Entries, a.Tickets)
	if err != nil {
		add("entries: %v", err)
		return diffs
	}
	diffs = append(diffs, tickets...)
	if len(a.Entries) != a.EntriesCount {
		add("entries_count is %d, the file lists %d entries", a.EntriesCount, len(a.Entries))
	}
	digest := Digest(a.Draw.ID, a.Entries)
	if got := hex.EncodeToString(digest[:]); got != a.EntriesDigest {
		add("entries_digest: the entries hash to %s, but %s was published", got, a.EntriesDigest)
	}
	key := Key(seed, digest, a.Witness)
	if a.Key != "" && a.Key != hex.EncodeToString(key[:]) {
		add("key: recomputed %s, the file says %s", hex.EncodeToString(key[:]), a.Key)
	}
	want, err := Winners(key, a.Entries, a.Prizes)
	if err != nil {
		add("prizes: %v", err)
		return diffs
	}
	return append(diffs, compareWinners(want, a.Winners)...)
}

// compareWinners lists the positions where the published winners differ
// from the recomputed ones (at most 20, then a count).
func compareWinners(want, got []Winner) []string {
	var diffs []string
	n := max(len(want), len(got))
	shown := 0
	for i := range n {
		var w, g *Winner
		if i < len(want) {
			w = &want[i]
		}
		if i < len(got) {
			g = &got[i]
		}
		if w != nil && g != nil && *w == *g {
			continue
		}
		if shown++; shown > 20 {
			continue
		}
		switch {
		case g == nil:
			diffs = append(diffs, fmt.Sprintf("winner %d missing: entry %d (%s) wins a prize of rank %d", w.Position, w.EntryID, w.MSISDN, w.PrizeRank))
		case w == nil:
			diffs = append(diffs, fmt.Sprintf("winner %d should not exist: entry %d (%s), prize rank %d", g.Position, g.EntryID, g.MSISDN, g.PrizeRank))
		default:
			diffs = append(diffs, fmt.Sprintf("winner %d: recomputed entry %d (%s), prize rank %d; the file says entry %d (%s), prize rank %d",
				w.Position, w.EntryID, w.MSISDN, w.PrizeRank, g.EntryID, g.MSISDN, g.PrizeRank))
		}
	}
	if shown > 20 {
		diffs = append(diffs, fmt.Sprintf("... %d winners differ in all", shown))
	}
	return diffs
}

// Hex is the lowercase hex form audit files use for hashes.
func Hex(sum [32]byte) string { return hex.EncodeToString(sum[:]) }

// checkAll is CheckEntries and the check of every entry's tickets against
// the table, on every CPU for a large draw: it returns the first entry
// error, else the entries whose tickets differ from the table, in order.
func checkAll(entries []Entry, table TierTable) ([]string, error) {
	parts := 1
	if len(entries) >= parallelFrom {
		parts = runtime.GOMAXPROCS(0)
	}
	size := (len(entries) + parts - 1) / parts
	errs := make([]error, parts)
	diffs := make([][]string, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := min(p*size, len(entries)), min((p+1)*size, len(entries))
		wg.Go(func() {
			var prev int64
			if lo > 0 {
				prev = entries[lo-1].ID
			}
			// Tiers are few: the last one looked up is most often the next.
			var tier string
			var want int
			var known bool
			for i := lo; i < hi; i++ {
				e := &entries[i]
				if err := checkEntry(i, e, prev); err != nil {
					errs[p] = err
					return
				}
				prev = e.ID
				if i == lo || e.Tier != tier {
					tier = e.Tier
					want, known = table[tier]
				}
				if !known || want != e.Tickets {
					diffs[p] = append(diffs[p], fmt.Sprintf("entry %d: tier %s has %d tickets in the table, the entry has %d", e.ID, e.Tier, want, e.Tickets))
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return slices.Concat(diffs...), nil
}
