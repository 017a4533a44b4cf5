package store

import (
	"context"

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

// ReceiptPartsSQL is the statement that records a batch of receipts, for
// tests that look at its plan.
const ReceiptPartsSQL = receiptPartsSQL

// CustomPlans gives the package's tests the receipt batches' planner settings.
var CustomPlans = customPlans

// ClaimKeySQL is a claim's key and count, and KeyedPlans the planner
// settings of its transaction, for the plan test.
const (
	ClaimKeySQL = claimKeySQL
	KeyedPlans  = keyedPlans
)

// IngestSQL journals a batch of usage events, for the plan test.
const IngestSQL = ingestSQL

// SettleSQL settles a batch of outbox outcomes, and SettleArgs are its
// arguments (and those of the parts' statement), for the plan test.
const SettleSQL = settleSQL

var SettleArgs = settleArgs

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

// ClaimTogether makes rs as one group, as waiting claims are made, the
// claims marked gone given up by their callers before the group decided;
// the claims the group leaves are then made alone, as their callers make
// them.
func (c *Catalog) ClaimTogether(ctx context.Context, rs []care360.ClaimRequest, gone []bool) []GroupOutcome {
	group := make([]*waiter[care360.ClaimRequest, claimResult], len(rs))
	for i, r := range rs {
		group[i] = &waiter[care360.ClaimRequest, claimResult]{ctx: ctx, r: r, done: make(chan struct{}), gone: gone != nil && gone[i]}
	}
	c.groups.run(group)
	res := make([]GroupOutcome, len(rs))
	for i, w := range group {
		<-w.done
		res[i].Alone = w.alone
		var out claimResult
		out, res[i].Err = c.groups.finish(ctx, w)
		res[i].Claim, res[i].Replay = out.cl, out.replay
	}
	return res
}
