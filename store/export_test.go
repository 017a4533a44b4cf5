package store

import (
	"context"
	"time"

	"github.com/care360/care360"
)

// SetAfterFlush makes c's flushes run f after their statement; an error from
// f stands for a flush that committed but whose answer was lost.
func SetAfterFlush(c *TrafficCounter, f func() error) { c.afterFlush = f }

// SMSReportSQL is SMSReport's statement, for tests that look at its plan.
const SMSReportSQL = smsReportSQL

// SMSReportArgs are SMSReport's arguments for first..last on db.
func SMSReportArgs(db *DB, first, last care360.Date) []any { return smsReportArgs(db, first, last) }

// TransactFrom gives the package's tests transactFrom.
var TransactFrom = (*DB).transactFrom

// SetFeedChunk makes s move campaign recipients into the outbox n at a time.
func (s *SMS) SetFeedChunk(n int) { s.chunk = n }

// PartMove is the statement that moves members, a part of campaign id
// texted text, into the outbox at now, with its arguments; PartSettings are
// the planner settings of its transaction. For the plan test.
func (s *SMS) PartMove(id int64, text string, members []int64, now time.Time) (string, []any) {
	q, args := s.partRecipients(campaignFeed{id: id, text: text}, members, now)
	return s.marketingStatement(q, args, now, true)
}

const PartSettings = partSettings

// ReceiptPartsSQL is the statement that records a batch of receipts, for
// tests that look at its plan.
const ReceiptPartsSQL = receiptPartsSQL

// CustomPlans gives the package's tests the receipt batches' planner settings.
var CustomPlans = customPlans

// ClaimKeySQL is a claim's key and count, and KeyedPlans the planner
// settings of its transaction, for the plan test.
const (
	ClaimKeySQL = claimKeySQL
	GroupKeySQL = groupKeySQL
	// EntryAdmissionSQL is the group statement that looks up each entry,
	// for the plan test.
	EntryAdmissionSQL = entryAdmissionSQL
	KeyedPlans        = keyedPlans
)

// TakeCodesSQL is a claim group's take of voucher codes, for the plan test.
const TakeCodesSQL = takeCodesSQL

// SpinAdmissionSQL is the group statement that counts each member's
// spins of the day, for the plan test.
var SpinAdmissionSQL = spinAdmissionSQL

// TakeBucketSQL is a posting pass's take of one bucket's pending events,
// for the plan test.
var TakeBucketSQL = takeBucketSQL

// QualifyingSQL is one member's qualifying total since $2, for the plan
// test.
var QualifyingSQL = qualifyingSQL

// QualifyingOf is the qualifying total of an SQL expression's member, for
// the migration test.
var QualifyingOf = qualifyingOf

// PendingBucketsSQL lists the buckets with pending usage, for the plan test.
const PendingBucketsSQL = pendingBucketsSQL

// UpgradeTiersSQL raises the tiers of the members their points now earn,
// for the plan test.
var UpgradeTiersSQL = upgradeTiersSQL

// SIMSwapsSQL applies a batch of sim_swap events, for the plan test.
const SIMSwapsSQL = simSwapsSQL

// IngestSQL journals a batch of usage events, for the plan test.
const IngestSQL = ingestSQL

// SettleSQL settles a batch of outbox outcomes, and SettleArgs are its
// arguments (and those of the parts' statement), for the plan test.
const SettleSQL = settleSQL

var SettleArgs = settleArgs

// PushClaimSQL leases due push targets, for the plan test.
const PushClaimSQL = pushClaimSQL

// PushSentSQL records a batch of pushes sent, for the plan test.
const PushSentSQL = pushSentSQL

// The round trips dialogue steps share (shared_trips.go), for its tests:
// trips built by hand and sent as one batch, and what was sent.
type (
	SharedTrips = sharedTrips
	Trip        = trip
)

var (
	NewSharedTrips = newSharedTrips
	NewTrip        = newTrip
)

const AsyncCommit = asyncCommit

func (s *SharedTrips) Run(ts []*Trip) { s.run(ts) }
func (s *SharedTrips) Sent() (batches, trips, resent int64) {
	return s.batches.Load(), s.trips.Load(), s.resent.Load()
}
func (t *Trip) Err() error               { return t.err }
func (t *Trip) GiveUp()                  { t.gone = true }
func (db *DB) SharedTrips() *SharedTrips { return db.trips }

// GroupOutcome is what became of one claim of a group, for tests.
type GroupOutcome struct {
	Claim  *care360.Claim
	Replay bool
	Err    error
	Alone  bool // the group left it to be made alone
}

// together runs rs through q as one group, as waiting requests are run,
// those marked gone given up by their callers before the group decided;
// what the group leaves is then made alone, as the callers make it.
func together[R, O any](ctx context.Context, q *groups[R, O], rs []R, gone []bool) (outs []O, errs []error, alone []bool) {
	group := make([]*waiter[R, O], len(rs))
	for i, r := range rs {
		group[i] = &waiter[R, O]{ctx: ctx, r: r, done: make(chan struct{}), gone: gone != nil && gone[i]}
	}
	q.run(group)
	outs, errs, alone = make([]O, len(rs)), make([]error, len(rs)), make([]bool, len(rs))
	for i, w := range group {
		<-w.done
		alone[i] = w.alone
		outs[i], errs[i] = q.finish(ctx, w)
	}
	return outs, errs, alone
}

// ClaimTogether makes rs as one group of claims (see together).
func (c *Catalog) ClaimTogether(ctx context.Context, rs []care360.ClaimRequest, gone []bool) []GroupOutcome {
	outs, errs, alone := together(ctx, c.groups, rs, gone)
	res := make([]GroupOutcome, len(rs))
	for i, o := range outs {
		res[i] = GroupOutcome{Claim: o.cl, Replay: o.replay, Err: errs[i], Alone: alone[i]}
	}
	return res
}

// EntryRequest is a request to enter a draw, for tests.
type EntryRequest struct {
	Draw   int64
	MSISDN care360.MSISDN
	Key    string
}

// EntryOutcome is what became of one entry of a group, for tests.
type EntryOutcome struct {
	Entry  *care360.DrawEntry
	Replay bool
	Err    error
	Alone  bool // the group left it to be made alone
}

// EnterTogether makes rs as one group of entries (see together).
func (s *Draws) EnterTogether(ctx context.Context, rs []EntryRequest, gone []bool) []EntryOutcome {
	reqs := make([]entryRequest, len(rs))
	for i, r := range rs {
		reqs[i] = entryRequest{draw: r.Draw, msisdn: r.MSISDN, key: r.Key}
	}
	outs, errs, alone := together(ctx, s.groups, reqs, gone)
	res := make([]EntryOutcome, len(rs))
	for i, o := range outs {
		res[i] = EntryOutcome{Entry: o.e, Replay: o.replay, Err: errs[i], Alone: alone[i]}
	}
	return res
}

// SpinRequest is a spin to make, its number landed on Landed (nil: no
// prize), for tests.
type SpinRequest struct {
	Table   *care360.SpinTable
	Version int64 // of the table it was drawn on; 0: the table's version now
	MSISDN  care360.MSISDN
	Key     string
	Landed  *care360.SpinPrize
}

// ErrWheelChanged refuses a spin drawn on a table changed since.
var ErrWheelChanged = errWheelChanged

// SpinOutcome is what became of one spin of a group, for tests.
type SpinOutcome struct {
	Result *care360.SpinResult
	Err    error
	Alone  bool // the group left it to be made alone
}

// SpinTogether makes rs as one group of spins (see together).
func (s *Spins) SpinTogether(ctx context.Context, rs []SpinRequest, gone []bool) []SpinOutcome {
	reqs := make([]spinRequest, len(rs))
	for i, r := range rs {
		reqs[i] = spinRequest{table: r.Table, version: r.Version, msisdn: r.MSISDN, key: r.Key, landed: r.Landed}
		if r.Version == 0 {
			w, err := s.readWheel(ctx, s.db.pool, r.Table.ID)
			if err != nil {
				panic(err)
			}
			reqs[i].version = w.version
		}
	}
	outs, errs, alone := together(ctx, s.groups, reqs, gone)
	res := make([]SpinOutcome, len(rs))
	for i, o := range outs {
		res[i] = SpinOutcome{Result: o, Err: errs[i], Alone: alone[i]}
	}
	return res
}

// NotificationHitSQL finds the targets of buffered notification endings,
// for the plan test.
const NotificationHitSQL = notificationHitSQL

// NotificationEndSQL ends the targets found, for the plan test.
const NotificationEndSQL = notificationEndSQL

// FeedQuiet is how long the feed must be silent before a second poster joins.
const FeedQuiet = feedQuiet

// Quiet reports whether the feed counts as quiet, so that a second poster
// may join.
func (l *Ledger) Quiet() bool { return l.quiet() }

// ClaimSQL is an outbox claim's statement; the claim runs it with
// KeyedPlans and ClaimPlans. For the plan test.
func ClaimSQL(transactionalOnly bool) string { return claimSQL(transactionalOnly) }

const ClaimPlans = claimPlans

// AccountSQL is the read of a member's account (the points screen), for
// tests that look at its plan.
var AccountSQL = accountSQL

// SweepDueSQL is the expiry sweep's read of a batch of expired credits.
const SweepDueSQL = sweepDueSQL
