package draw

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"slices"
	"strconv"
)

// Digester computes the entries digest (see Digest) of entries given one
// at a time in the canonical order, checking each as CheckEntries does,
// so that a close or a run reads a million entries once and holds none.
type Digester struct {
	h     hash.Hash
	buf   []byte
	prev  int64
	n     int
	count int
	err   error
}

// NewDigester starts the digest of count entries of draw drawID: the
// count is part of the canonical text's first line.
func NewDigester(drawID int64, count int) *Digester {
	d := &Digester{h: sha256.New(), buf: make([]byte, 0, 64<<10), count: count}
	d.buf = fmt.Appendf(d.buf, "%s entries draw=%d count=%d\n", Version, drawID, count)
	return d
}

// Add digests the next entry, or reports the first reason it cannot be
// (then every later Add and Sum report it too).
func (d *Digester) Add(e *Entry) error {
	if d.err != nil {
		return d.err
	}
	if d.err = checkEntry(d.n, e, d.prev); d.err != nil {
		return d.err
	}
	d.n++
	d.prev = e.ID
	d.buf = appendLine(d.buf, e)
	if len(d.buf) > 60<<10 {
		d.h.Write(d.buf)
		d.buf = d.buf[:0]
	}
	return nil
}

// Count is the number of entries added.
func (d *Digester) Count() int { return d.n }

// Sum returns the digest once every entry is added: as many as the count
// NewDigester was given.
func (d *Digester) Sum() ([32]byte, error) {
	var sum [32]byte
	if d.err != nil {
		return sum, d.err
	}
	if d.n != d.count {
		return sum, fmt.Errorf("%d entries digested, %d announced", d.n, d.count)
	}
	d.h.Write(d.buf)
	d.buf = d.buf[:0]
	d.h.Sum(sum[:0])
	return sum, nil
}

// checkEntry is CheckEntries for the i-th entry (from 0), prev being the
// id before it (0 for the first).
func checkEntry(i int, e *Entry, prev int64) error {
	switch {
	case e.ID <= prev:
		return fmt.Errorf("entry %d (id %d): ids must be positive and strictly increasing", i+1, e.ID)
	case e.Tickets < 1 || e.Tickets > MaxTickets:
		return fmt.Errorf("entry %d (id %d): tickets %d not within 1..%d", i+1, e.ID, e.Tickets, MaxTickets)
	case !plain(e.Tier) || !plain(e.MSISDN) || !plain(e.Receipt):
		return fmt.Errorf("entry %d (id %d): tier, msisdn and receipt must be non-empty printable ASCII without commas", i+1, e.ID)
	}
	return nil
}

// appendLine appends an entry's canonical line.
func appendLine(buf []byte, e *Entry) []byte {
	buf = strconv.AppendInt(buf, e.ID, 10)
	buf = append(buf, ',')
	buf = append(buf, e.Tier...)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, int64(e.Tickets), 10)
	buf = append(buf, ',')
	buf = append(buf, e.MSISDN...)
	buf = append(buf, ',')
	buf = append(buf, e.Receipt...)
	return append(buf, '\n')
}

// Drawing runs a draw over entries given one at a time in the canonical
// order: each is checked, digested and ranked in one pass, holding only
// the best as many entries as there are prizes. The key is derived from
// the digest published at the close; the draw stands only if the entries
// hash to that digest again (Sum), so a caller must compare before using
// the winners. The winners are those of Winners for the same key.
type Drawing struct {
	*Digester
	key   [32]byte
	ranks []int
	pick  *picker
}

// NewDrawing starts a draw of count entries of draw drawID with the key
// and prizes given.
func NewDrawing(drawID int64, count int, key [32]byte, prizes []Prize) (*Drawing, error) {
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
	d := &Drawing{Digester: NewDigester(drawID, count), key: key, ranks: ranks}
	if len(ranks) > 0 {
		d.pick = newPicker(len(ranks), count)
	}
	return d, nil
}

// Add checks, digests and ranks the next entry.
func (d *Drawing) Add(e *Entry) error {
	if err := d.Digester.Add(e); err != nil {
		return err
	}
	if d.pick != nil {
		d.pick.offer(unit(&d.key, e.ID), e.ID, e.Tickets, 0, e.MSISDN)
	}
	return nil
}

// Winners returns the prizes' winners among the entries added so far.
func (d *Drawing) Winners() []Winner {
	if d.pick == nil {
		return nil
	}
	best := d.pick.best()
	out := make([]Winner, len(best))
	for i, c := range best {
		out[i] = Winner{Position: i + 1, PrizeRank: d.ranks[i], EntryID: c.id, MSISDN: c.msisdn}
	}
	return out
}
