package care360

import (
	"context"
	"time"
)

// ProvisionCall is one request to the operator's provisioning interface to
// add airtime or data for a claim (PRODUCT.md §4.3).
type ProvisionCall struct {
	ID        int64
	ClaimID   int64
	MSISDN    MSISDN
	Kind      GiftKind // airtime or data
	Value     int64    // VND or MB
	Endpoint  string   // the configured Endpoint's name; empty for calls queued before endpoints
	Attempts  int      // including this one
	Reference string
}

// ProvisionOutcome is what one attempt came to.
type ProvisionOutcome struct {
	ID int64
	// Attempt is the claim's attempt number (ProvisionCall.Attempts); it
	// fences the lease: an outcome of an earlier claim of the same call
	// changes nothing. Zero skips the check.
	Attempt int
	OK      bool
	Retry   bool      // a temporary failure: try again at RetryAt
	RetryAt time.Time //
	Status  int       // HTTP status, 0 if none came back
	Error   string
}

// ProvisionQueue is the provisioning work as workers see it. Several
// workers, in several processes, may share it: a call is leased to one.
type ProvisionQueue interface {
	// ClaimCalls leases up to max due calls to owner for lease.
	ClaimCalls(ctx context.Context, owner string, max int, lease time.Duration) ([]ProvisionCall, error)
	// SettleCall records an attempt. A success completes the claim; a
	// final failure (not retryable, or out of attempts) refunds its points
	// and stock and tells the subscriber, all in one transaction.
	SettleCall(ctx context.Context, owner string, o ProvisionOutcome) error
}
