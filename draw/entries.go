package draw

import (
	"crypto/sha256"
	"fmt"
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
	buf := make([]byte, 0, 64<<10)
	buf = fmt.Appendf(buf, "%s entries draw=%d count=%d\n", Version, drawID, len(entries))
	for i := range entries {
		buf = appendLine(buf, &entries[i])
		if len(buf) > 60<<10 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	var d [32]byte
	h.Sum(d[:0])
	return d
}
