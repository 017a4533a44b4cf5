package draw_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360/draw"
)

var tiers = []string{"dong", "bac", "titan", "vang", "kim_cuong"}

var table = draw.TierTable{"dong": 1, "bac": 2, "titan": 3, "vang": 4, "kim_cuong": 5}

// entries makes n entries with ids 10, 13, 16, ... (gaps, as a sequence
// leaves them) spread over the tiers.
func entries(n int) []draw.Entry {
	out := make([]draw.Entry, n)
	for i := range out {
		t := tiers[i%len(tiers)]
		out[i] = draw.Entry{ID: int64(10 + 3*i), Tier: t, Tickets: table[t],
			MSISDN: fmt.Sprintf("********%03d", i%1000), Receipt: fmt.Sprintf("%010x", i*7919)}
	}
	return out
}

// audit runs a whole draw in memory and returns its audit file.
func audit(t *testing.T, n int, witness string) *draw.Audit {
	t.Helper()
	seed := bytes.Repeat([]byte{7}, draw.SeedSize)
	es := entries(n)
	prizes := []draw.Prize{{Rank: 2, Name: "Voucher", Quantity: 5}, {Rank: 1, Name: "Xe may", Quantity: 1}}
	digest := draw.Digest(42, es)
	key := draw.Key(seed, digest, witness)
	ws, err := draw.Winners(key, es, prizes)
	if err != nil {
		t.Fatal(err)
	}
	closed := time.Date(2027, 1, 31, 17, 0, 0, 0, time.UTC)
	return &draw.Audit{
		Format: draw.Format, Algorithm: draw.Version,
		Draw:    draw.DrawInfo{ID: 42, Code: "TET27", Name: "Tet", Status: "drawn", ClosedAt: &closed},
		Prizes:  prizes,
		Tickets: table, Commitment: draw.Commitment(seed),
		EntriesCount: n, EntriesDigest: draw.Hex(digest),
		Witness: witness, Seed: hex.EncodeToString(seed), Key: draw.Hex(key),
		Entries: es, Winners: ws,
	}
}

// roundTrip is what a third party holds: the file as published.
func roundTrip(t *testing.T, a *draw.Audit) *draw.Audit {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var out draw.Audit
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func TestSameAuditSameWinners(t *testing.T) {
	t.Parallel()
	a := audit(t, 500, "3 5 6 1 2")
	if d := draw.Verify(roundTrip(t, a)); len(d) != 0 {
		t.Fatalf("a fresh audit does not verify: %v", d)
	}
	b := audit(t, 500, "3 5 6 1 2")
	if diff := cmp.Diff(a.Winners, b.Winners); diff != "" {
		t.Fatalf("same inputs, other winners (-first +second):\n%s", diff)
	}
	if len(a.Winners) != 6 || a.Winners[0].PrizeRank != 1 || a.Winners[5].PrizeRank != 2 {
		t.Errorf("winners %+v: want 6, rank 1 first", a.Winners)
	}
	seen := map[int64]bool{}
	for _, w := range a.Winners {
		if seen[w.EntryID] {
			t.Errorf("entry %d wins twice", w.EntryID)
		}
		seen[w.EntryID] = true
	}
}

// Every change to what was published, however small, shows in the result.
func TestAnyChangeIsCaught(t *testing.T) {
	t.Parallel()
	for name, mutate := range mutations() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := roundTrip(t, audit(t, 500, "3 5 6 1 2"))
			mutate(a)
			if d := draw.Verify(a); len(d) == 0 {
				t.Fatal("the change went unnoticed")
			}
		})
	}
}

// mutations are changes to a published audit file, however small.
func mutations() map[string]func(a *draw.Audit) {
	return map[string]func(a *draw.Audit){
		"entry tickets": func(a *draw.Audit) { a.Entries[7].Tickets++ },
		"ticket table": func(a *draw.Audit) {
			a.Tickets = draw.TierTable{"dong": 1, "bac": 2, "titan": 3, "vang": 4, "kim_cuong": 6}
		},
		"entry tier":    func(a *draw.Audit) { a.Entries[3].Tier, a.Entries[3].Tickets = "dong", 1 },
		"entry msisdn":  func(a *draw.Audit) { a.Entries[100].MSISDN = "********999" },
		"entry receipt": func(a *draw.Audit) { a.Entries[0].Receipt = "ffffffffff" },
		"entry id":      func(a *draw.Audit) { a.Entries[499].ID++ },
		"entry removed": func(a *draw.Audit) { a.Entries = a.Entries[1:] },
		"entry added": func(a *draw.Audit) {
			a.Entries = append(a.Entries, draw.Entry{ID: 99999, Tier: "bac", Tickets: 2, MSISDN: "***1", Receipt: "ab"})
		},
		"witness": func(a *draw.Audit) { a.Witness = "3 5 6 1 3" },
		"seed":    func(a *draw.Audit) { a.Seed = strings.Repeat("08", draw.SeedSize) },
		"draw id": func(a *draw.Audit) { a.Draw.ID = 43 },
		"digest":  func(a *draw.Audit) { a.EntriesDigest = strings.Repeat("0", 64) },
		"count":   func(a *draw.Audit) { a.EntriesCount-- },
		"winner swapped": func(a *draw.Audit) {
			a.Winners[0].EntryID, a.Winners[1].EntryID = a.Winners[1].EntryID, a.Winners[0].EntryID
		},
		"winner dropped":   func(a *draw.Audit) { a.Winners = a.Winners[:5] },
		"prize quantity":   func(a *draw.Audit) { a.Prizes[0].Quantity = 6 },
		"prize rank order": func(a *draw.Audit) { a.Prizes[0].Rank, a.Prizes[1].Rank = 1, 2 },
		"algorithm":        func(a *draw.Audit) { a.Algorithm = "care360-draw-v0" },
	}
}

// A seed that does not match the commitment is caught, even when the rest
// of the file was recomputed from it consistently.
func TestCommitmentCatchesAnotherSeed(t *testing.T) {
	t.Parallel()
	a := roundTrip(t, audit(t, 50, "1 2 3"))
	other := bytes.Repeat([]byte{8}, draw.SeedSize)
	digest := draw.Digest(a.Draw.ID, a.Entries)
	key := draw.Key(other, digest, a.Witness)
	ws, err := draw.Winners(key, a.Entries, a.Prizes)
	if err != nil {
		t.Fatal(err)
	}
	a.Seed, a.Key, a.Winners = hex.EncodeToString(other), draw.Hex(key), ws
	d := draw.Verify(a)
	if len(d) != 1 || !strings.HasPrefix(d[0], "commitment:") {
		t.Fatalf("differences %q: want exactly the commitment", d)
	}
}

// The witness value steers nothing on its own, but any change to it gives
// other winners: it was unknown until the ceremony.
func TestWitnessChangesWinners(t *testing.T) {
	t.Parallel()
	a, b := audit(t, 2000, "1 1 1"), audit(t, 2000, "1 1 2")
	if cmp.Equal(a.Winners, b.Winners) {
		t.Fatal("two witness values, the same six winners")
	}
}

func TestFewerEntriesThanPrizes(t *testing.T) {
	t.Parallel()
	a := audit(t, 4, "x")
	if len(a.Winners) != 4 || a.Winners[0].PrizeRank != 1 {
		t.Fatalf("winners %+v: want all 4 entries, rank 1 first", a.Winners)
	}
	if a := audit(t, 0, "x"); len(a.Winners) != 0 {
		t.Fatalf("winners without entries: %+v", a.Winners)
	}
}

func TestUnrunAuditIsNotValid(t *testing.T) {
	t.Parallel()
	a := audit(t, 10, "x")
	a.Seed, a.Witness, a.Winners = "", "", nil
	if d := draw.Verify(a); len(d) != 1 || !strings.Contains(d[0], "not revealed") {
		t.Fatalf("differences %q", d)
	}
}

func TestBadEntriesAndPrizes(t *testing.T) {
	t.Parallel()
	for name, es := range map[string][]draw.Entry{
		"unsorted":   {{ID: 2, Tier: "bac", Tickets: 1, MSISDN: "*1", Receipt: "a"}, {ID: 1, Tier: "bac", Tickets: 1, MSISDN: "*1", Receipt: "a"}},
		"no tickets": {{ID: 1, Tier: "bac", Tickets: 0, MSISDN: "*1", Receipt: "a"}},
		"comma":      {{ID: 1, Tier: "bac", Tickets: 1, MSISDN: "*1,2", Receipt: "a"}},
		"newline":    {{ID: 1, Tier: "bac\n", Tickets: 1, MSISDN: "*1", Receipt: "a"}},
	} {
		if err := draw.CheckEntries(es); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, ps := range map[string][]draw.Prize{
		"rank twice": {{Rank: 1, Quantity: 1}, {Rank: 1, Quantity: 2}},
		"rank 0":     {{Rank: 0, Quantity: 1}},
		"none":       {{Rank: 1, Quantity: 0}},
	} {
		if err := draw.CheckPrizes(ps); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The digest is the documented canonical text: a third party hashing it
// by hand gets the same value (docs/draws.md shows this example).
func TestDigestIsTheCanonicalText(t *testing.T) {
	t.Parallel()
	es := []draw.Entry{
		{ID: 1, Tier: "vang", Tickets: 4, MSISDN: "********123", Receipt: "5d41402abc"},
		{ID: 5, Tier: "dong", Tickets: 1, MSISDN: "********456", Receipt: "7d793037a0"},
	}
	text := "care360-draw-v1 entries draw=7 count=2\n1,vang,4,********123,5d41402abc\n5,dong,1,********456,7d793037a0\n"
	if got, want := draw.Digest(7, es), sha256Of(text); got != want {
		t.Fatalf("digest %x, want SHA-256 of the canonical text %x", got, want)
	}
}

// TestDocumentedExample pins the worked example of docs/draws.md.
func TestDocumentedExample(t *testing.T) {
	t.Parallel()
	seed := make([]byte, draw.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	es := []draw.Entry{
		{ID: 1, Tier: "vang", Tickets: 4, MSISDN: "********123", Receipt: "5d41402abc"},
		{ID: 5, Tier: "dong", Tickets: 1, MSISDN: "********456", Receipt: "7d793037a0"},
		{ID: 6, Tier: "kim_cuong", Tickets: 5, MSISDN: "********789", Receipt: "e4da3b7fbb"},
		{ID: 9, Tier: "bac", Tickets: 2, MSISDN: "********012", Receipt: "45c48cce2e"},
	}
	digest := draw.Digest(7, es)
	key := draw.Key(seed, digest, "3 5 6 1 2")
	for name, c := range map[string][2]string{
		"commitment": {draw.Commitment(seed), "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"},
		"digest":     {draw.Hex(digest), "2b61326fb433d95592e96ea754ac97eccb4193264a3a4f56cc64ef61658930d3"},
		"key":        {draw.Hex(key), "3635e5dc18179e293eda22119d6bf0d40e948212e401d86057d0b1db7598531f"},
	} {
		if c[0] != c[1] {
			t.Errorf("%s %s, the page says %s", name, c[0], c[1])
		}
	}
	ws, err := draw.Winners(key, es, []draw.Prize{{Rank: 1, Name: "Xe may", Quantity: 1}, {Rank: 2, Name: "Voucher", Quantity: 2}})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, w := range ws {
		got = append(got, w.EntryID)
	}
	if fmt.Sprint(got) != "[9 6 1]" {
		t.Errorf("winners %v, the page says [9 6 1]", got)
	}
}
