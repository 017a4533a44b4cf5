package care360

import (
	"context"
	"time"
)

// PointsKind says what a credit counts for.
type PointsKind string

// Kinds of points (PRODUCT.md §4.1).
const (
	// Qualifying points come from usage and count toward tier.
	PointsQualifying PointsKind = "qualifying"
	// Bonus points are spendable but never count toward tier.
	PointsBonus PointsKind = "bonus"
)

// Valid reports whether k is a known kind.
func (k PointsKind) Valid() bool { return k == PointsQualifying || k == PointsBonus }

// PointsChange is a request to credit (Points > 0) or debit (Points < 0) a
// subscriber. The idempotency key makes a retried request harmless.
type PointsChange struct {
	Kind           PointsKind
	Points         int64
	Reason         string
	IdempotencyKey string
	At             time.Time // when earned; zero means now
	// Quota, when set, counts the change against a staff account's daily
	// allowance, in the change's own transaction (RoleLimits).
	Quota *PointsQuota
}

// MaxPointsChange bounds one change so that a typo cannot mint billions.
const MaxPointsChange = 100_000_000

// Validate checks a change before it reaches the ledger.
func (c PointsChange) Validate() error {
	switch {
	case !c.Kind.Valid():
		return Errorf(EINVALID, "kind must be \"qualifying\" or \"bonus\"")
	case c.Points == 0:
		return Errorf(EINVALID, "points must not be zero")
	case c.Points > MaxPointsChange || c.Points < -MaxPointsChange:
		return Errorf(EINVALID, "points must be within ±%d", MaxPointsChange)
	case c.Reason == "":
		return Errorf(EINVALID, "reason is required")
	case len(c.Reason) > 500:
		return Errorf(EINVALID, "reason is longer than 500 bytes")
	case c.IdempotencyKey == "":
		return Errorf(EINVALID, "idempotency_key is required")
	}
	return ValidateCallerKey(c.IdempotencyKey)
}

// Expiry returns when points earned at t expire: the last instant of the 12th
// month after the month they were earned, in loc (earned 15 Jan 2026 →
// 31 Jan 2027 23:59:59 local).
func Expiry(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	firstOfNext := time.Date(l.Year(), l.Month()+13, 1, 0, 0, 0, 0, loc)
	return firstOfNext.Add(-time.Second)
}

// LedgerEntry is one append-only line of a subscriber's points ledger.
type LedgerEntry struct {
	ID             int64
	MSISDN         MSISDN
	Kind           PointsKind // the credit's kind; for debits the kind asked
	Points         int64      // positive credit, negative debit
	Reason         string
	IdempotencyKey string
	EarnedAt       time.Time
	ExpiresAt      *time.Time // credits only
	CreatedAt      time.Time
}

// Expiring is the next batch of points to expire.
type Expiring struct {
	Points int64
	Date   Date
}

// PointsBalance is a subscriber's points as the API and menus show them.
type PointsBalance struct {
	Spendable  int64     // unexpired, unspent, both kinds
	Qualifying int64     // qualifying points earned in the last 12 months: what tiers use
	Bonus      int64     // unexpired, unspent bonus points
	NextExpiry *Expiring // nil when nothing is due to expire
}

// PointsService reads and changes points.
type PointsService interface {
	// Balance returns the subscriber's points now.
	Balance(ctx context.Context, msisdn MSISDN) (PointsBalance, error)
	// Account returns the subscriber and their points in one read.
	Account(ctx context.Context, msisdn MSISDN) (*Subscriber, PointsBalance, error)
	// ChangePoints appends a credit or a debit (earliest-expiring points are
	// consumed first; EREFUSED insufficient_points if it would go below zero).
	// The key is the caller's: it is kept under CallerKey, apart from the
	// keys of the system's own entries. A repeated key returns the original
	// entry and replay=true, or ECONFLICT when the change differs.
	ChangePoints(ctx context.Context, msisdn MSISDN, c PointsChange) (e *LedgerEntry, replay bool, err error)
	// Ledger returns the newest entries first.
	Ledger(ctx context.Context, msisdn MSISDN, limit int) ([]LedgerEntry, error)
}
