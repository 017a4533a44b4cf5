package care360

import (
	"context"
	"time"
)

// OutboxClaim is an outbox message a sender has leased: until LeaseUntil no
// other sender takes it, and after it any sender may (its owner is presumed
// dead).
type OutboxClaim struct {
	ID         int64
	MSISDN     MSISDN
	Text       string
	Kind       MessageKind
	Attempts   int       // claims so far, this one included
	DoneParts  []int     // parts (1-based) an earlier attempt already submitted
	LeaseUntil time.Time // on the outbox's clock; a sender may keep its own count
	// Token fences the lease: it changes on every claim, and only an
	// outcome carrying the current one is recorded.
	Token int64
	// Reclaimed is set when the message's previous lease lapsed without an
	// outcome: its sender died or lost the database mid-send.
	Reclaimed bool
}

// OutcomeKind is what became of a claimed message.
type OutcomeKind string

// Outcomes a sender reports.
const (
	// OutcomeSubmitted: every part was accepted by the SMSC.
	OutcomeSubmitted OutcomeKind = "submitted"
	// OutcomeRetry: try again after RetryAfter (queue full, link lost, timeout).
	OutcomeRetry OutcomeKind = "retry"
	// OutcomeFailed: the SMSC refused it for good; Error says why.
	OutcomeFailed OutcomeKind = "failed"
	// OutcomeReleased: never tried (the sender is stopping); hand it back
	// without counting the attempt.
	OutcomeReleased OutcomeKind = "released"
)

// SubmittedPart is one part the SMSC accepted, with the id it gave.
type SubmittedPart struct {
	Part   int // 1-based
	SMSCID string
}

// Outcome is a sender's report on one claimed message. Parts lists the parts
// submitted in this attempt, whatever the outcome, so a retry sends only the
// rest and a receipt for any of them finds its message.
type Outcome struct {
	ID         int64
	Token      int64 // the claim's lease token (OutboxClaim.Token)
	Kind       OutcomeKind
	TotalParts int
	Parts      []SubmittedPart
	RetryAfter time.Duration // counted on the outbox's clock from when it is settled
	Error      string
	// SetAside, with OutcomeFailed: the message kept failing for reasons
	// that are not final (it ran out of attempts); it is also recorded as a
	// dead letter.
	SetAside bool
}

// ReceiptState is what a delivery receipt says about one part.
type ReceiptState string

// Receipt states (SMPP 3.4 message_state, in the outbox's words). Only
// delivered, undeliverable and expired are final.
const (
	ReceiptDelivered     ReceiptState = "delivered"
	ReceiptUndeliverable ReceiptState = "undeliverable"
	ReceiptExpired       ReceiptState = "expired"
	ReceiptEnroute       ReceiptState = "enroute"
	ReceiptUnknown       ReceiptState = "unknown"
)

// Final reports whether the state ends the part's story.
func (s ReceiptState) Final() bool {
	return s == ReceiptDelivered || s == ReceiptUndeliverable || s == ReceiptExpired
}

// Receipt is one delivery receipt from an SMSC.
type Receipt struct {
	SMSCID string // the message_id our submit_sm_resp carried
	State  ReceiptState
	Error  string // the receipt's err: field, if any
	At     time.Time
}

// ReceiptMatch is a receipt that found its part, with when the part was
// submitted (for the delivery-latency metric).
type ReceiptMatch struct {
	SMSCID      string
	SubmittedAt time.Time
}

// Upkeep is what one OutboxQueue.Maintain pass did.
type Upkeep struct {
	Held     int   // queued marketing held by quiet hours
	Receipts int   // early receipts applied to parts recorded since
	Queued   int64 // messages due and waiting (queue depth); -1 if not counted this pass
}

// OutboxQueue is the outbox as senders see it. Several senders, in several
// processes, may share one queue: a claim is exclusive until its lease ends.
type OutboxQueue interface {
	// Claim leases up to max due messages to owner for lease.
	Claim(ctx context.Context, owner string, max int, lease time.Duration) ([]OutboxClaim, error)
	// Settle records what became of claimed messages and returns how many
	// outcomes were fenced off: those whose message is no longer leased to
	// owner under the outcome's token change nothing.
	Settle(ctx context.Context, owner string, outcomes []Outcome) (fenced int, err error)
	// Receipts records delivery receipts; receipts that match no part (yet)
	// are kept and applied when the part is recorded.
	Receipts(ctx context.Context, rs []Receipt) ([]ReceiptMatch, error)
	// Maintain holds marketing outside the window and applies receipts that
	// arrived before their part was recorded. (A lapsed lease needs no
	// sweep: the message is simply due again.) Safe to run from every
	// sender at once.
	Maintain(ctx context.Context) (Upkeep, error)
}

// CampaignFeeder is implemented by queues whose campaigns keep their
// recipients apart until their turn comes: FeedCampaigns moves the next
// ones of each running campaign into the queue when fewer than lead of its
// messages are due (lead of them; 0: a part's worth, the queue's own
// measure), and returns how many messages it queued. Safe to run from
// every sender at once.
type CampaignFeeder interface {
	FeedCampaigns(ctx context.Context, lead int) (int64, error)
}

// TransactionalClaimer is implemented by queues that can claim
// transactional messages only, leaving marketing queued: the sender does
// while marketing gives way to screens and enough of it is claimed already.
type TransactionalClaimer interface {
	ClaimTransactional(ctx context.Context, owner string, max int, lease time.Duration) ([]OutboxClaim, error)
}
