package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// sweepBatch bounds one sweep transaction, so that it holds the row locks
// of a few thousand subscribers for a moment rather than of every
// subscriber for the whole sweep.
const sweepBatch = 5_000

// sweepDueSQL is a batch ($2) of the credits with points left that
// expired by $1, in expiry order, read through the index by time
// (readByTime).
const sweepDueSQL = `
	SELECT id FROM points_ledger WHERE remaining > 0 AND ` + readByTime + ` AND expires_at <= $1
	ORDER BY expires_at, id LIMIT $2`

// SweepExpired closes every credit that expired with points left: an
// expiry debit of what remained (reason "expired", key "expiry:<credit
// id>"), allocated to the credit, so that the ledger's sum is again the
// spendable balance. Balances never counted expired points, so nobody sees
// a change; the sweep keeps the ledger honest and the open-credit index
// small.
//
// Safe twice and on two instances at once: an advisory lock lets one
// instance sweep while the other skips, the subscribers' row locks keep
// debits out while a batch reads what is left, and the key per credit
// would turn a second expiry of the same credit into nothing.
func (l *Ledger) SweepExpired(ctx context.Context) (s care360.ExpirySweep, err error) {
	defer wrap(&err, "sweep expired points")
	now := l.db.now()
	for {
		var ids []int64
		var n, points int64
		var skipped bool
		err := l.db.Transact(ctx, func(tx pgx.Tx) error {
			ids, n, points, skipped = nil, 0, 0, false
			var mine bool
			if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, jobLockClass, sweepLockObj).Scan(&mine); err != nil {
				return err
			}
			if skipped = !mine; skipped {
				return nil
			}
			rows, err := tx.Query(ctx, sweepDueSQL, now, sweepBatch)
			if err != nil {
				return err
			}
			if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil || len(ids) == 0 {
				return err
			}
			n, points, err = expire(ctx, tx, ids, now)
			return err
		})
		if err != nil {
			return s, err
		}
		s.Skipped = s.Skipped || skipped
		s.Credits, s.Points = s.Credits+n, s.Points+points
		// A short batch was the last; a batch that expired nothing (its
		// credits consumed meanwhile) is not worth another round now.
		if skipped || len(ids) < sweepBatch || n == 0 {
			break
		}
	}
	if s.Credits > 0 {
		l.db.log.Info("expired points swept", "credits", s.Credits, "points", s.Points)
	}
	return s, nil
}

// expire appends an expiry debit for each of the credits ids that still
// has points left, once their subscribers are locked.
func expire(ctx context.Context, tx pgx.Tx, ids []int64, now time.Time) (n, points int64, err error) {
	if _, err := tx.Exec(ctx, `
		SELECT 1 FROM subscribers WHERE msisdn IN (SELECT msisdn FROM points_ledger WHERE id = ANY($1))
		ORDER BY msisdn FOR UPDATE`, ids); err != nil {
		return 0, 0, err
	}
	// A new statement, so a new snapshot: what debits left of each credit
	// before the locks were granted.
	err = tx.QueryRow(ctx, `
		WITH c AS (
			SELECT id, msisdn, kind, remaining, expires_at FROM points_ledger
			WHERE id = ANY($1) AND remaining > 0 AND expires_at <= $2
		), d AS (
			INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, created_at)
			SELECT msisdn, kind, -remaining, 'expired', 'expiry:' || id, expires_at, $2 FROM c
			ON CONFLICT (msisdn, idempotency_key) DO NOTHING
			RETURNING id, idempotency_key, -points AS points
		), a AS (
			-- Each debit names its credit in its key: joining the two
			-- sets instead (the planner cannot know their sizes) costs a
			-- nested loop, quadratic in the batch.
			INSERT INTO points_allocations (debit_id, credit_id, points)
			SELECT id, substr(idempotency_key, 8)::bigint, points FROM d
		)
		SELECT count(*), coalesce(sum(points), 0)::bigint FROM d`, ids, now).Scan(&n, &points)
	return n, points, err
}
