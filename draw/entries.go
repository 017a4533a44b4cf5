package draw

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"runtime"
	"sync"
	"sync/atomic"
)

// Entry is one frozen entry as the audit file publishes it. MSISDN is
// already masked (all but the last 3 digits); Receipt is the short hash the
// entrant received by SMS, so that they can find their own line.
type Entry struct {
	ID      int64  `json:"id"`
	Tier    string `json:"tier"`
	Tickets int    `json:"tickets"`
	MSISDN  string `json:"msisdn"`
	Receipt string `json:"receipt"`
}

// MaxTickets bounds the tickets of one entry. It keeps the exact
// comparison of keys (select.go) cheap; no tier table needs more.
const MaxTickets = 1000

// CheckEntries reports the first reason entries cannot be digested or
// drawn: ids must be positive and strictly increasing (the canonical
// order), tickets between 1 and MaxTickets, and text fields free of the
// separators of the canonical form.
func CheckEntries(entries []Entry) error {
	if err := checkOrder(entries); err != nil {
		return err
	}
	for i, e := range entries {
		if !plain(e.Tier) || !plain(e.MSISDN) || !plain(e.Receipt) {
			return fmt.Errorf("entry %d (id %d): tier, msisdn and receipt must be non-empty printable ASCII without commas", i+1, e.ID)
		}
	}
	return nil
}

// checkOrder is the part of CheckEntries that drawing needs: ids and
// tickets (the text fields only matter to the digest).
func checkOrder(entries []Entry) error {
	var prev int64
	for i, e := range entries {
		switch {
		case e.ID <= prev:
			return fmt.Errorf("entry %d (id %d): ids must be positive and strictly increasing", i+1, e.ID)
		case e.Tickets < 1 || e.Tickets > MaxTickets:
			return fmt.Errorf("entry %d (id %d): tickets %d not within 1..%d", i+1, e.ID, e.Tickets, MaxTickets)
		}
		prev = e.ID
	}
	return nil
}

func plain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == ',' {
			return false
		}
	}
	return true
}

// Digest is SHA-256 over the canonical entry list, published at close:
//
//	care360-draw-v1 entries draw=<draw id> count=<n>\n
//	<id>,<tier>,<tickets>,<masked msisdn>,<receipt>\n   (one per entry, ids ascending)
//
// Entries must pass CheckEntries. Numbers are decimal without leading zeros.
func Digest(drawID int64, entries []Entry) [32]byte {
	h := sha256.New()
	h.Write(fmt.Appendf(nil, "%s entries draw=%d count=%d\n", Version, drawID, len(entries)))
	if procs := runtime.GOMAXPROCS(0); procs > 1 && len(entries) >= parallelFrom {
		digestParallel(h, entries, procs)
	} else {
		buf := make([]byte, 0, 64<<10)
		for i := range entries {
			buf = appendLine(buf, &entries[i])
			if len(buf) > 60<<10 {
				h.Write(buf)
				buf = buf[:0]
			}
		}
		h.Write(buf)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// digestChunk is how many entries' lines are formatted in one buffer.
const digestChunk = 2048

// digestParallel hashes the canonical lines of entries in order, the
// lines being formatted (two thirds of the work) by procs workers, chunk
// by chunk, while this goroutine hashes: SHA-256 is one sequential
// stream, its input need not be. Each worker takes a buffer from a pool of
// 2·procs before it claims the next chunk, so memory stays bounded and the
// chunk the hasher waits for is always being formatted.
func digestParallel(h hash.Hash, entries []Entry, procs int) {
	n := (len(entries) + digestChunk - 1) / digestChunk
	done := make([]chan []byte, n)
	for i := range done {
		done[i] = make(chan []byte, 1)
	}
	free := make(chan []byte, 2*procs)
	for range 2 * procs {
		free <- make([]byte, 0, digestChunk*64)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range procs {
		wg.Go(func() {
			for {
				buf := <-free
				c := int(next.Add(1)) - 1
				if c >= n {
					free <- buf
					return
				}
				buf = buf[:0]
				for i := c * digestChunk; i < min((c+1)*digestChunk, len(entries)); i++ {
					buf = appendLine(buf, &entries[i])
				}
				done[c] <- buf
			}
		})
	}
	for c := range n {
		buf := <-done[c]
		h.Write(buf)
		free <- buf
	}
	wg.Wait()
}
