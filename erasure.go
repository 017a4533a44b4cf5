package care360

import "context"

// Erasure is what erasing a member did (PRODUCT.md §7): the member, now
// known only by its retired key, and how many rows had the number replaced
// or their text redacted.
type Erasure struct {
	Key      string // the member's retired key, "c<member_id>": what its rows now carry
	Rows     int64  // rows whose number or text was replaced
	Entries  int64  // draw entries given a pseudonym
	Redacted int64  // texts redacted (SMS both ways, feedback, dialogue screens)
}

// MaxErasureReason bounds the reason staff give for an erasure.
const MaxErasureReason = 500

// Eraser erases members.
type Eraser interface {
	// Erase closes msisdn's membership and removes its personal data
	// (PRODUCT.md §7); forms are the ways the number may have been written
	// (e.g. 84903123456, +84903123456, 0903123456), all replaced. The
	// erasure is audited with actor and reason, without the number. A
	// number no member holds is ENOTFOUND, so erasing again changes
	// nothing.
	Erase(ctx context.Context, msisdn MSISDN, forms []string, reason string, actor Actor) (*Erasure, error)
}
