package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// maxAttempts bounds how often Transact runs a transaction that keeps
// losing races.
const maxAttempts = 5

// Transact runs fn in a READ COMMITTED transaction, committing if fn returns
// nil. See TransactWith.
func (db *DB) Transact(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.TransactWith(ctx, pgx.TxOptions{}, fn)
}

// TransactWith runs fn in a transaction with the given options. When the
// transaction fails with a serialization failure or a deadlock (SQLSTATE
// 40001, 40P01), it is rolled back and run again, a few times, after a short
// jittered pause, so fn must be safe to run more than once (keep its results
// in variables it assigns, never appends to).
func (db *DB) TransactWith(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	return db.retrying(ctx, func() error { return db.transactOnce(ctx, opts, fn) })
}

// retrying runs once, and again after a short jittered pause while it
// fails with a serialization failure or a deadlock, a few times.
func (db *DB) retrying(ctx context.Context, once func() error) (err error) {
	for attempt := 1; ; attempt++ {
		err = once()
		if err == nil || !retryable(err) || attempt == maxAttempts {
			break
		}
		db.log.Debug("store: retrying transaction", "attempt", attempt, "err", err)
		// 2, 4, 8, 16 ms on average: enough for the winner to commit.
		pause := time.Duration(float64(time.Millisecond<<attempt) * (0.5 + rand.Float64()))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (after %d attempts: %w)", ctx.Err(), attempt, err)
		case <-time.After(pause):
		}
	}
	return err
}

func (db *DB) transactOnce(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) (err error) {
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// The transaction is done for either way; a failed rollback only
			// means the connection is closed, which the pool notices itself.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// transactFrom runs a READ COMMITTED transaction whose BEGIN goes to the
// server in one round trip with its first statements (pgx's
// Batch.BeginTx), saving the round trip a BEGIN of its own costs: first
// queues them; fn reads their results from br, closes it, and does the
// rest on tx. The transaction commits if fn returns nil, and is run again
// like TransactWith's.
//
// Its transactions (a gift claim, a draw entry, a spin) look rows up only
// by keys they name, so they run with sequential scans off (keyedPlans):
// while a table has the statistics of an empty one, as on a new
// deployment until autovacuum first analyzes it, the cached generic plan
// of a claim's key and count scanned every claim of the table, each claim
// costing more than the one before.
func (db *DB) transactFrom(ctx context.Context, first func(*pgx.Batch), fn func(tx pgx.Tx, br pgx.BatchResults) error) error {
	return db.retrying(ctx, func() (err error) {
		b := &pgx.Batch{}
		b.BeginTx(pgx.TxOptions{})
		b.Queue(keyedPlans)
		first(b)
		br := db.pool.SendBatch(ctx, b)
		tx := br.Tx()
		defer func() {
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				// As in transactOnce: a failed rollback only means the
				// connection is closed, which the pool notices itself.
				_ = tx.Rollback(context.WithoutCancel(ctx))
			}
		}()
		if _, err = br.Exec(); err != nil { // the BEGIN
			return err
		}
		if _, err = br.Exec(); err != nil { // keyedPlans
			return err
		}
		if err = fn(tx, br); err != nil {
			return err
		}
		if err = br.Close(); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

// keyedPlans turns sequential scans off for the rest of a transaction
// whose statements all look rows up by key (transactFrom's): an index is
// then planned even where the statistics say a table is empty.
const keyedPlans = `SELECT ` + seqscanOff

// seqscanOff turns sequential scans off until the transaction ends.
const seqscanOff = `set_config('enable_seqscan', 'off', true)`

// customPlanMode has every statement planned for its own arguments until
// the transaction ends, never with a cached generic plan.
const customPlanMode = `set_config('plan_cache_mode', 'force_custom_plan', true)`

// readByTime is the condition, true of every row, that the partial indexes
// by time of marketing SMS and of open credits also ask
// (sms_messages_marketing_by_time, points_ledger_expiring_by_time,
// migrations 00050 and 00051): only the reads by time state it (the SMS
// report, a push segment's week, the expiry sweep), so the planner can
// never take those indexes for a look-up by number. While the statistics
// had seen no marketing or no open credit, a whole read of them looked
// free, and one number's week or balance read everyone's
// (TestPartMoveReadsByNumberBeforeMarketingIsAnalyzed,
// TestAccountReadsByNumberBeforeOpenCreditsAreAnalyzed). Qualified by the
// table's alias where the query has one.
const readByTime = `created_at IS NOT NULL`
