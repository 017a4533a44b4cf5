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
func (db *DB) TransactWith(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) (err error) {
	for attempt := 1; ; attempt++ {
		err = db.transactOnce(ctx, opts, fn)
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
