package draw

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"runtime"
	"slices"
	"sync"
)

// Prize is one prize of a draw: Quantity copies of it are awarded. Rank 1
// is drawn first (the most valuable), then rank 2, and so on.
type Prize struct {
	Rank     int    `json:"rank"`
	Name     string `json:"name"`
	Quantity int    `json:"quantity"`
}

// Winner is one awarded prize: the Position-th entry drawn gets a prize of
// rank PrizeRank.
type Winner struct {
	Position  int    `json:"position"`
	PrizeRank int    `json:"prize_rank"`
	EntryID   int64  `json:"entry_id"`
	MSISDN    string `json:"msisdn"` // masked, as in the entry
}

// CheckPrizes reports the first reason prizes cannot be drawn.
func CheckPrizes(prizes []Prize) error {
	seen := map[int]bool{}
	for _, p := range prizes {
		switch {
		case p.Rank < 1 || seen[p.Rank]:
			return fmt.Errorf("prize %q: ranks must be distinct and at least 1", p.Name)
		case p.Quantity < 1:
			return fmt.Errorf("prize %q: quantity must be at least 1", p.Name)
		}
		seen[p.Rank] = true
	}
	return nil
}

// Winners draws the prizes among the entries: weighted sampling without
// replacement by Efraimidis–Spirakis keys. Entry e gets the number u_e in
// (0,1) from SHA-256(key ‖ id) (see unit) and the key u_e^(1/tickets);
// entries ranked by descending key are exactly a sequence of draws without
// replacement, each with probability proportional to tickets. The prizes,
// ordered by rank and each repeated Quantity times, go to the best-ranked
// entries in order: one prize per entry, and, because a subscriber has one
// entry per draw, one prize per subscriber. With fewer entries than prizes
// the last prizes stay unawarded.
func Winners(key [32]byte, entries []Entry, prizes []Prize) ([]Winner, error) {
	if err := checkOrder(entries); err != nil {
		return nil, err
	}
	if err := CheckPrizes(prizes); err != nil {
		return nil, err
	}
	ordered := slices.SortedFunc(slices.Values(prizes), func(a, b Prize) int { return a.Rank - b.Rank })
	var ranks []int
	for _, p := range ordered {
		for range p.Quantity {
			ranks = append(ranks, p.Rank)
		}
	}
	best := top(&key, entries, min(len(ranks), len(entries)))
	out := make([]Winner, len(best))
	for i, c := range best {
		e := &entries[c.idx]
		out[i] = Winner{Position: i + 1, PrizeRank: ranks[i], EntryID: e.ID, MSISDN: e.MSISDN}
	}
	return out, nil
}

// cand is an entry with its random number a (u = a / 2^54) and the
// floating-point key log(u)/tickets, which orders like u^(1/tickets).
// idx (in memory) or msisdn (streamed) names the entry's masked number.
type cand struct {
	idx    int
	id     int64
	a      uint64
	w      int
	k      float64
	msisdn string
}

// unit derives an entry's random number: the first 8 bytes of
// SHA-256(key ‖ id as 8 bytes big-endian), as a big-endian integer, keep
// their top 53 bits U, and u = (2U+1) / 2^54: uniform on (0,1), never 0 or
// 1, and an exact rational so that ties can be settled exactly.
func unit(key *[32]byte, id int64) uint64 {
	var msg [40]byte
	copy(msg[:32], key[:])
	binary.BigEndian.PutUint64(msg[32:], uint64(id))
	h := sha256.Sum256(msg[:])
	return 2*(binary.BigEndian.Uint64(h[:8])>>11) + 1
}

func score(a uint64, e *Entry, idx int) cand {
	return cand{idx: idx, id: e.ID, a: a, w: e.Tickets, k: math.Log(float64(a)/(1<<54)) / float64(e.Tickets)}
}

// margin is how close two floating-point keys must be before they are
// compared exactly: far above the few ulps any libm's log and a division
// can be off by, so the float comparison is only ever a shortcut.
const margin = 1e-12

// before reports whether x ranks before y: u_x^(1/w_x) > u_y^(1/w_y), ties
// going to the smaller id. Near ties are decided exactly, so that every
// correct implementation, whatever its floating point, ranks alike.
func before(x, y *cand) bool {
	if d := x.k - y.k; math.Abs(d) > margin*(1+math.Abs(x.k)+math.Abs(y.k)) {
		return d > 0
	}
	if c := exact(x, y); c != 0 {
		return c > 0
	}
	return x.id < y.id
}

// exact compares u_x^(1/w_x) with u_y^(1/w_y) in integers: raised to the
// power w_x·w_y, it is u_x^w_y against u_y^w_x, i.e. with u = a/2^54,
// a_x^w_y · 2^(54·w_x) against a_y^w_x · 2^(54·w_y).
func exact(x, y *cand) int {
	side := func(a uint64, pow, shift int) *big.Int {
		n := new(big.Int).Exp(new(big.Int).SetUint64(a), big.NewInt(int64(pow)), nil)
		return n.Lsh(n, uint(54*shift))
	}
	return side(x.a, y.w, x.w).Cmp(side(y.a, x.w, y.w))
}

// parallelFrom is the size from which top splits the work over every CPU.
const parallelFrom = 1 << 16

// top returns the k best-ranked entries, best first. Each CPU keeps the k
// best of its share in a heap; the shares' bests are then merged.
func top(key *[32]byte, entries []Entry, k int) []cand {
	if k == 0 {
		return nil
	}
	parts := 1
	if len(entries) >= parallelFrom {
		parts = runtime.GOMAXPROCS(0)
	}
	size := (len(entries) + parts - 1) / parts
	found := make([][]cand, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := min(p*size, len(entries)), min((p+1)*size, len(entries))
		wg.Go(func() { found[p] = topOf(key, entries, lo, hi, k) })
	}
	wg.Wait()
	all := slices.Concat(found...)
	sortCands(all)
	return all[:min(k, len(all))]
}

// topOf keeps the k best of entries[lo:hi] (see picker).
func topOf(key *[32]byte, entries []Entry, lo, hi, k int) []cand {
	p := newPicker(k, hi-lo)
	for i := lo; i < hi; i++ {
		e := &entries[i]
		p.offer(unit(key, e.ID), e.ID, e.Tickets, i, "")
	}
	return p.h
}

// picker keeps the k best candidates offered in a heap whose root is the
// worst of them, so most entries cost one comparison — and most not even
// a logarithm: once the heap is full, an entry with w tickets can only
// rank before the root if u > exp(w·(k_root − ε)), a threshold computed
// once per weight each time the root changes. ε (1e-9, scaled like the
// keys) is a thousand times the margin of before, so every entry skipped
// is one that before, too, would rank after the root. k must be positive.
type picker struct {
	k     int
	h     []cand
	thr   [MaxTickets + 1]float64 // per weight; valid while stamp[w] == root
	stamp [MaxTickets + 1]int
	root  int // changes whenever h[0] does once the heap is full
}

// newPicker returns a picker of the k best among about n entries.
func newPicker(k, n int) *picker {
	return &picker{k: k, h: make([]cand, 0, max(min(k, n), 0)), root: 1}
}

// offer considers an entry with the number a (see unit) and w tickets;
// idx and msisdn are carried along to name the winner.
func (p *picker) offer(a uint64, id int64, w, idx int, msisdn string) {
	h := p.h
	if len(h) == p.k {
		if p.stamp[w] != p.root {
			eps := 1e-9 * (1 + 2*math.Abs(h[0].k))
			p.thr[w], p.stamp[w] = math.Exp(float64(w)*(h[0].k-eps)), p.root
		}
		if float64(a)/(1<<54) < p.thr[w] {
			return
		}
	}
	c := cand{idx: idx, id: id, a: a, w: w, k: math.Log(float64(a)/(1<<54)) / float64(w), msisdn: msisdn}
	switch {
	case len(h) < p.k:
		p.h = append(h, c)
		up(p.h, len(p.h)-1)
	case before(&c, &h[0]):
		h[0] = c
		down(h, 0)
		p.root++
	}
}

// best returns the candidates kept, best first.
func (p *picker) best() []cand {
	out := slices.Clone(p.h)
	sortCands(out)
	return out
}

func sortCands(cs []cand) {
	slices.SortFunc(cs, func(x, y cand) int {
		if before(&x, &y) {
			return -1
		}
		return 1
	})
}

// up and down keep h a heap with the worst-ranked candidate at the root.
func up(h []cand, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !before(&h[p], &h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func down(h []cand, i int) {
	for {
		w := i
		if l := 2*i + 1; l < len(h) && before(&h[w], &h[l]) {
			w = l
		}
		if r := 2*i + 2; r < len(h) && before(&h[w], &h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[w], h[i] = h[i], h[w]
		i = w
	}
}
