package care360

import (
	"context"
	"time"
)

// Lifecycle events the operator's CRM or billing sends (PRODUCT.md §7).
const (
	EventChurn         = "churn"
	EventPortOut       = "port_out"
	EventMSISDNChange  = "msisdn_change"
	EventSIMSwap       = "sim_swap"
	DefaultSIMSwapHold = 72 * time.Hour
)

// LifecycleEvent is one event of a POST /api/v1/lifecycle batch.
type LifecycleEvent struct {
	ID        string
	MSISDN    MSISDN
	Event     string
	At        time.Time
	NewMSISDN MSISDN
}

// LifecycleResult is what became of one event: applied, duplicate (its id
// was applied before: nothing changed) or rejected with a reason.
type LifecycleResult struct {
	ID        string
	Status    string
	Reason    string
	Message   string
	HoldUntil time.Time // sim_swap: when the member's hold lifts
}

// Lifecycle statuses and rejection reasons.
const (
	LifecycleApplied   = "applied"
	LifecycleDuplicate = "duplicate"
	LifecycleRejected  = "rejected"

	LifecycleUnknownSubscriber = "unknown_subscriber"
	LifecycleInvalid           = "invalid"
	// LifecycleNumberInUse: an msisdn_change to a number another member
	// holds.
	LifecycleNumberInUse = "msisdn_in_use"
	// LifecycleSetAside: the database refused to apply the event (a
	// constraint); it is in the dead letters, and sending it again
	// answers the same.
	LifecycleSetAside = "set_aside"
)

// MaxLifecycleEvents bounds one batch.
const MaxLifecycleEvents = 10_000

// LifecycleService applies lifecycle events.
type LifecycleService interface {
	// SIMSwaps applies sim_swap events, idempotently by id: each starts a
	// hold of its member until its at + hold (a later one extends it). It
	// returns a result per event, in order.
	SIMSwaps(ctx context.Context, evs []LifecycleEvent, hold time.Duration) ([]LifecycleResult, error)
	// Membership applies a churn, port_out (closing the membership) or
	// msisdn_change (moving the member to NewMSISDN), idempotently by id.
	Membership(ctx context.Context, ev LifecycleEvent) (LifecycleResult, error)
	// Closings applies a run of churn and port_out events together, with
	// the results Membership would give each, in order.
	Closings(ctx context.Context, evs []LifecycleEvent) ([]LifecycleResult, error)
}

// MemberExporter reads everything held about a member (PRODUCT.md §7
// access), a section at a time, a row (a JSON object) at a time.
type MemberExporter interface {
	Export(ctx context.Context, msisdn MSISDN, section func(name string) error, row func(obj []byte) error) error
}
