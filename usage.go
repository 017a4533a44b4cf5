package care360

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// UsageEvent is one billing event from the operator's feed: a charge
// (AmountVND > 0) or a refund (AmountVND < 0) to a subscriber at a time.
// ID is the billing system's own id; an id seen before is never counted
// again (PRODUCT.md §4.1, §6).
type UsageEvent struct {
	ID        string
	MSISDN    MSISDN
	AmountVND int64
	At        time.Time
}

// UsageStatus is what became of one event of a batch.
type UsageStatus string

// Outcomes of a usage event.
const (
	UsageAccepted  UsageStatus = "accepted"  // recorded; its points are posted to the ledger
	UsageDuplicate UsageStatus = "duplicate" // this id was accepted before; nothing changed
	UsageRejected  UsageStatus = "rejected"  // not recorded; Reason says why
)

// Reasons a usage event is rejected. A rejected event is not remembered:
// sent again once fixed (or once the subscriber exists) it is accepted.
const (
	UsageInvalidID         = "invalid_id"
	UsageInvalidMSISDN     = "invalid_msisdn"
	UsageUnknownSubscriber = "unknown_subscriber"
	UsageInvalidAmount     = "invalid_amount"
	UsageInvalidTime       = "invalid_time"
	// UsageIDConflict: the id was accepted before for another subscriber,
	// amount or time. Counting it would double a charge; dropping it
	// silently would hide a billing bug, so it is refused loudly.
	UsageIDConflict = "id_conflict"
)

// UsageResult is the outcome of one event, in the order of the batch.
type UsageResult struct {
	ID      string
	Status  UsageStatus
	Points  int64  // accepted or duplicate: the qualifying points the event earns (negative for a refund)
	Reason  string // rejected: one of the Usage* reasons
	Message string // rejected: what is wrong, for the operator
}

// RejectUsage returns a rejected result for the event with the given id.
func RejectUsage(id, reason, format string, args ...any) UsageResult {
	return UsageResult{ID: id, Status: UsageRejected, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// UsageRules are the *default*-able rules of usage points.
type UsageRules struct {
	VNDPerPoint int64         // 1 point per 1.000 VND charged
	FutureSkew  time.Duration // how far ahead of our clock an event's time may be (billing clocks drift)
}

// DefaultUsageRules are PRODUCT.md §4.1's defaults.
var DefaultUsageRules = UsageRules{VNDPerPoint: 1000, FutureSkew: 10 * time.Minute}

// MaxUsageEvents bounds one batch, so that one request cannot hold the
// database (or the response) for long.
const MaxUsageEvents = 100_000

// Points is what an amount earns: floor(amount / VNDPerPoint) for a charge.
// A refund is symmetric (truncated toward zero): refunding 1.500 VND takes
// back the 1 point that charging it earned, never 2.
func (r UsageRules) Points(amountVND int64) int64 { return amountVND / r.VNDPerPoint }

// MaxUsageIDLen bounds a billing event's id: its ledger key is "usage:" +
// id, and a key is at most 200 bytes.
const MaxUsageIDLen = 200 - len("usage:")

// Check applies the rules that need no data to an event: a usable id, an
// amount whose points fit one ledger change, and a time that is neither
// ahead of the clock nor so old that its points would be born expired. It
// returns the rejection, or ok.
func (r UsageRules) Check(e UsageEvent, now time.Time, loc *time.Location) (rejected UsageResult, ok bool) {
	maxVND := MaxPointsChange * r.VNDPerPoint
	switch {
	case strings.TrimSpace(e.ID) == "" || len(e.ID) > MaxUsageIDLen:
		return RejectUsage(e.ID, UsageInvalidID, "id is required, at most %d bytes", MaxUsageIDLen), false
	case !utf8.ValidString(e.ID) || strings.ContainsRune(e.ID, 0):
		// Postgres stores neither: the whole batch would fail, every time
		// the feed sent it again.
		return RejectUsage(e.ID, UsageInvalidID, "id must be UTF-8 text without NUL characters"), false
	case e.MSISDN == "":
		return RejectUsage(e.ID, UsageInvalidMSISDN, "msisdn is required"), false
	case e.AmountVND > maxVND || e.AmountVND < -maxVND:
		return RejectUsage(e.ID, UsageInvalidAmount, "amount_vnd must be within ±%d", maxVND), false
	case e.At.IsZero():
		return RejectUsage(e.ID, UsageInvalidTime, "at is required"), false
	case e.At.After(now.Add(r.FutureSkew)):
		return RejectUsage(e.ID, UsageInvalidTime, "at is in the future"), false
	case !Expiry(e.At, loc).After(now):
		return RejectUsage(e.ID, UsageInvalidTime, "at is so long ago that its points have expired"), false
	}
	return UsageResult{}, true
}

// UsageService takes the billing feed.
type UsageService interface {
	// IngestUsage records a batch of events and returns one result per
	// event, in order. Accepted events are durable when it returns; their
	// points reach the ledger when the usage is next posted (at once when
	// the poster is nudged, within a second otherwise). Only a failure of
	// the whole batch is an error.
	IngestUsage(ctx context.Context, events []UsageEvent) ([]UsageResult, error)
}

// UsagePosting is what one posting pass did.
type UsagePosting struct {
	Events   int64 // pending events taken
	Credits  int64 // ledger credits appended (events aggregate per subscriber and hour)
	Refunds  int64 // refund debits appended
	Points   int64 // qualifying points credited
	Taken    int64 // points refunds took back (never more than was left)
	Upgrades int   // subscribers whose tier went up
}

// ExpirySweep is what one expiry sweep did.
type ExpirySweep struct {
	Credits int64 // expired credits closed by an expiry entry
	Points  int64 // points that expired
	Skipped bool  // another instance was sweeping
}

// LedgerJobs are the ledger's scheduled jobs. Each is idempotent and safe to
// run on several instances at once.
type LedgerJobs interface {
	// PostUsage posts accepted usage to the ledger.
	PostUsage(ctx context.Context) (UsagePosting, error)
	// SweepExpired records an expiry entry for every credit past its expiry
	// with points left, so that the ledger's sum stays the balance.
	SweepExpired(ctx context.Context) (ExpirySweep, error)
	// ReviewTiers runs the monthly review when one is due and applies or
	// cancels the downgrades whose grace has run out.
	ReviewTiers(ctx context.Context) (TierReview, error)
}
