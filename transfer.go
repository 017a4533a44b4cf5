package care360

import (
	"context"
	"time"
)

// TransferRules are the *default*-able rules of giving points to another
// subscriber (CD, menu 7; PRODUCT.md §4.1, §5).
type TransferRules struct {
	MinPoints     int64         // at least this many (100)
	Step          int64         // in multiples of this (100)
	MonthlyCap    int64         // sent per sender per calendar month (10.000)
	MinTier       Tier          // the sender's tier at least (Bạc)
	ConfirmWithin time.Duration // Y must come within this (5 minutes)
}

// DefaultTransferRules are the product's defaults.
var DefaultTransferRules = TransferRules{
	MinPoints: 100, Step: 100, MonthlyCap: 10_000, MinTier: TierBac, ConfirmWithin: 5 * time.Minute,
}

// WithDefaults fills in zero fields from DefaultTransferRules.
func (r TransferRules) WithDefaults() TransferRules {
	d := DefaultTransferRules
	if r.MinPoints <= 0 {
		r.MinPoints = d.MinPoints
	}
	if r.Step <= 0 {
		r.Step = d.Step
	}
	if r.MonthlyCap <= 0 {
		r.MonthlyCap = d.MonthlyCap
	}
	if !r.MinTier.Valid() {
		r.MinTier = d.MinTier
	}
	if r.ConfirmWithin <= 0 {
		r.ConfirmWithin = d.ConfirmWithin
	}
	return r
}

// Check applies the rules that need no data: the amount and the parties.
func (r TransferRules) Check(from, to MSISDN, points int64) error {
	switch {
	case from == to:
		return Refused(ReasonSelf, "points cannot be given to yourself")
	case points < r.MinPoints || points%r.Step != 0 || points > MaxPointsChange:
		return Refused(ReasonAmount, "points must be a multiple of %d, at least %d", r.Step, r.MinPoints)
	}
	return nil
}

// TransferStatus is where a transfer is.
type TransferStatus string

// Transfer states: a request waits for the sender's Y; only one waits per
// sender (a new request replaces it).
const (
	TransferPending   TransferStatus = "pending"
	TransferConfirmed TransferStatus = "confirmed"
	TransferCancelled TransferStatus = "cancelled"
	TransferExpired   TransferStatus = "expired"
)

// Transfer is a gift of points from one subscriber to another.
type Transfer struct {
	ID          int64
	From, To    MSISDN
	Points      int64
	Status      TransferStatus
	CreatedAt   time.Time
	ExpiresAt   time.Time // a pending transfer not confirmed by then lapses
	ConfirmedAt *time.Time
	// Filled in on confirmation, for the notifications.
	FromLang, ToLang Language
	FromSpendable    int64 // the sender's spendable points afterwards
	ToSpendable      int64 // the recipient's
}

// TransferNotifier writes the SMS that tell both sides about a confirmed
// transfer. It runs inside the transfer's transaction, so the points move
// and the notifications are queued together or not at all; it must be pure.
type TransferNotifier func(t *Transfer) []OutgoingSMS

// TransferService moves points between subscribers, with confirmation.
type TransferService interface {
	// RequestTransfer checks every rule (tier, amount, spendable points,
	// monthly cap, recipient a member, not oneself) and records a pending
	// transfer that replaces any earlier one of the sender.
	RequestTransfer(ctx context.Context, from, to MSISDN, points int64) (*Transfer, error)
	// ConfirmTransfer moves the points of from's pending transfer exactly
	// once: the sender's earliest-expiring points are debited and arrive as
	// bonus points keeping their expiry dates. ENOTFOUND when nothing is
	// pending; EREFUSED window when it lapsed. A key (optional, at most
	// 200 bytes) that confirmed a transfer already returns it again.
	ConfirmTransfer(ctx context.Context, from MSISDN, key string, notify TransferNotifier) (*Transfer, error)
	// CancelTransfer drops from's pending transfer, reporting whether there
	// was one.
	CancelTransfer(ctx context.Context, from MSISDN) (bool, error)
}
