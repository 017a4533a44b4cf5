package care360

import (
	"context"
	"encoding/json"
	"time"
)

// A DeadLetter is a row of a queue that kept failing and was set aside, with
// its reason, so that everything else flows on (PRODUCT.md §8): a billing
// event that cannot be posted, an outbox message, a provisioning call, an
// import row. Nothing is dropped silently: staff see it in
// GET /api/v1/dead-letters and the metric care360_dead_letters_total{kind}.
type DeadLetter struct {
	ID       int64           `json:"id"`
	Kind     string          `json:"kind"`   // the queue: "usage", …
	Ref      string          `json:"ref"`    // the row's own id in its queue (an event id, a message id)
	Reason   string          `json:"reason"` // the last error, as the database gave it
	Payload  json.RawMessage `json:"payload"`
	Attempts int             `json:"attempts"`
	// FirstFailedAt is when the row began to fail, where its queue knows
	// (else when it was set aside).
	FirstFailedAt time.Time `json:"first_failed_at"`
	SetAsideAt    time.Time `json:"set_aside_at"`
}

// Dead-letter kinds.
const (
	DeadLetterUsage = "usage" // billing events the ledger refuses
	DeadLetterSMS   = "sms"   // outbox messages the SMSC kept refusing for now
	// DeadLetterProvisioning: airtime and data calls that kept failing
	// (their claims are refunded).
	DeadLetterProvisioning = "provisioning"
	// DeadLetterPush: USSD pushes that could not be shown or kept failing
	// to go out (PRODUCT.md §3.6); their targets end failed.
	DeadLetterPush = "push"
	// DeadLetterLifecycle: lifecycle events the database refused to apply
	// (PRODUCT.md §7); the CRM's batch goes on without them.
	DeadLetterLifecycle = "lifecycle"
)

// DeadLetterKinds lists the kinds, for metrics and the dashboard.
var DeadLetterKinds = []string{DeadLetterUsage, DeadLetterSMS, DeadLetterProvisioning, DeadLetterPush, DeadLetterLifecycle}

// DeadLetterFilter selects dead letters: of one kind (all if empty), newest
// first, older than Before (an id; 0: from the newest), at most Limit
// (1 to 1,000; 0: 100).
type DeadLetterFilter struct {
	Kind   string
	Before int64
	Limit  int
}

// DeadLetterService reads what was set aside.
type DeadLetterService interface {
	DeadLetters(ctx context.Context, f DeadLetterFilter) ([]DeadLetter, error)
	// DeadLetterCounts is how many rows of each kind were ever set aside
	// (and are still kept).
	DeadLetterCounts(ctx context.Context) (map[string]int64, error)
}
