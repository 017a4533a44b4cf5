package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// postWorkers buckets are posted at once: buckets hold disjoint
// subscribers, so their transactions never wait on each other, and a
// backlog drains on more than one core.
const postWorkers = 2

// PostUsage posts every pending event, one bucket per transaction; see
// Ledger. Two instances may post at once: each bucket is taken by one of
// them under an advisory lock, and the pending rows it deletes are gone for
// the other.
func (l *Ledger) PostUsage(ctx context.Context) (p care360.UsagePosting, err error) {
	defer wrap(&err, "post usage")
	rows, err := l.db.pool.Query(ctx, `SELECT DISTINCT bucket FROM usage_pending`)
	if err != nil {
		return p, err
	}
	buckets, err := pgx.CollectRows(rows, pgx.RowTo[int16])
	if err != nil {
		return p, err
	}
	var mu sync.Mutex
	var errs []error
	next := make(chan int16)
	var wg sync.WaitGroup
	for range min(postWorkers, len(buckets)) {
		wg.Go(func() {
			for b := range next {
				got, err := l.postBucket(ctx, b)
				if l.keepsFailing(b, err) {
					got, err = l.postBucketEach(ctx, b)
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("bucket %d: %w", b, err))
				}
				p.Events, p.Credits, p.Refunds = p.Events+got.Events, p.Credits+got.Credits, p.Refunds+got.Refunds
				p.Points, p.Taken, p.Upgrades = p.Points+got.Points, p.Taken+got.Taken, p.Upgrades+got.Upgrades
				mu.Unlock()
			}
		})
	}
	for _, b := range buckets {
		next <- b
	}
	close(next)
	wg.Wait()
	if p.Events > 0 {
		l.db.log.Debug("usage posted", "events", p.Events, "credits", p.Credits, "refunds", p.Refunds, "upgrades", p.Upgrades)
	}
	return p, errors.Join(errs...)
}

// postBucket moves one bucket's pending events into the ledger.
func (l *Ledger) postBucket(ctx context.Context, bucket int16) (p care360.UsagePosting, err error) {
	now := l.db.now()
	err = l.db.Transact(ctx, func(tx pgx.Tx) error {
		p = care360.UsagePosting{}
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, jobLockClass, int32(bucket)).Scan(&mine); err != nil || !mine {
			return err // another instance is posting it
		}
		if err := bulk(ctx, tx); err != nil {
			return err
		}
		credits, refunds, events, err := l.takePending(ctx, tx, bucket)
		if err != nil || events == 0 {
			return err
		}
		p.Events = events
		// Refunded subscribers are locked before anything else, in order,
		// as every debit does, so that no debit runs between reading their
		// credits and consuming them.
		if len(refunds.msisdn) > 0 {
			if _, err := tx.Exec(ctx, `SELECT 1 FROM subscribers WHERE msisdn = ANY($1) ORDER BY msisdn FOR UPDATE`, refunds.msisdn); err != nil {
				return err
			}
		}
		if len(credits.msisdn) > 0 {
			if err := l.credit(ctx, tx, credits, now); err != nil {
				return err
			}
			p.Credits, p.Points = int64(len(credits.msisdn)), sum(credits.points)
		}
		if len(refunds.msisdn) > 0 {
			if p.Refunds, p.Taken, err = l.refund(ctx, tx, refunds, now); err != nil {
				return err
			}
		}
		p.Upgrades, err = l.db.upgradeTiers(ctx, tx, credits.msisdn, now, true)
		return err
	})
	if err != nil {
		return care360.UsagePosting{}, err // rolled back: nothing was posted
	}
	return p, nil
}

// usageGroups are aggregated pending events, as columns.
type usageGroups struct {
	msisdn []string
	points []int64 // credits: points earned; refunds: points asked back
	key    []string
	at     []time.Time
	events []int64
}

func (g *usageGroups) add(msisdn string, points int64, key string, at time.Time, events int64) {
	g.msisdn, g.points, g.key = append(g.msisdn, msisdn), append(g.points, points), append(g.key, key)
	g.at, g.events = append(g.at, at), append(g.events, events)
}

// takePending deletes a bucket's pending events and aggregates them: one
// credit per subscriber and local hour that nets positive (earned at the
// hour's first event), and one refund per subscriber for the hours that net
// negative. Each takes the key of its first event id, which no other
// group can have.
func (l *Ledger) takePending(ctx context.Context, tx pgx.Tx, bucket int16) (credits, refunds usageGroups, events int64, err error) {
	rows, err := tx.Query(ctx, `
		WITH p AS (DELETE FROM usage_pending WHERE bucket = $1 RETURNING msisdn, points, at, event_id),
		h AS (
			SELECT msisdn, sum(points)::bigint AS points, min(at) AS at, min(event_id) AS key, count(*) AS n
			FROM p GROUP BY msisdn, date_bin('1 hour', at, $2)
		)
		SELECT msisdn, points, at, key, n FROM h WHERE points > 0
		UNION ALL
		SELECT msisdn, sum(points)::bigint, min(at), min(key), sum(n)::bigint FROM h WHERE points <= 0 GROUP BY msisdn
		ORDER BY 1, 3`, bucket, l.hourOrigin)
	if err != nil {
		return credits, refunds, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var msisdn, key string
		var points, n int64
		var at time.Time
		if err := rows.Scan(&msisdn, &points, &at, &key, &n); err != nil {
			return credits, refunds, 0, err
		}
		events += n
		switch {
		case points > 0:
			credits.add(msisdn, points, key, at, n)
		case points < 0:
			refunds.add(msisdn, -points, key, at, n)
		}
	}
	return credits, refunds, events, rows.Err()
}

// credit appends the usage credits.
func (l *Ledger) credit(ctx context.Context, tx pgx.Tx, g usageGroups, now time.Time) error {
	expires := make([]time.Time, len(g.at))
	for i, at := range g.at {
		expires[i] = care360.Expiry(at, l.db.loc)
	}
	// A plain INSERT: a key already taken (only a hand-made "usage:…" key
	// could be) must stop the posting loudly rather than lose the points.
	_, err := tx.Exec(ctx, `
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
		SELECT m, 'qualifying', p, p, 'usage (' || n || CASE WHEN n = 1 THEN ' event)' ELSE ' events)' END,
			'usage:' || k, a, x, $7
		FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::bigint[]) AS u (m, p, k, a, x, n)`,
		g.msisdn, g.points, g.key, g.at, expires, g.events, now)
	return err
}

// refund takes back what refunds ask, from each subscriber's unexpired
// qualifying credits, earliest expiry first (as every debit does), but
// never more than is left of them: usage refunds never take bonus points
// (those did not come from usage) and never go below zero. The debit is
// flagged, so the qualifying total tiers use drops by what it took.
func (l *Ledger) refund(ctx context.Context, tx pgx.Tx, g usageGroups, now time.Time) (n, taken int64, err error) {
	err = tx.QueryRow(ctx, `
		WITH w AS (
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::bigint[]) AS w (msisdn, asked, key, at, n)
		), o AS (
			SELECT c.id, c.msisdn, c.remaining, w.asked,
				sum(c.remaining) OVER (PARTITION BY c.msisdn ORDER BY c.expires_at, c.id) - c.remaining AS before
			FROM w JOIN points_ledger c ON c.msisdn = w.msisdn
			WHERE c.remaining > 0 AND c.expires_at > $6 AND c.kind = 'qualifying'
		), t AS (
			SELECT id, msisdn, least(remaining, asked - before) AS points FROM o WHERE before < asked
		), s AS (
			SELECT msisdn, sum(points)::bigint AS points FROM t GROUP BY msisdn
		), d AS (
			INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, created_at, refund)
			SELECT w.msisdn, 'qualifying', -s.points, 'usage refund (' || w.n || CASE WHEN w.n = 1 THEN ' event)' ELSE ' events)' END,
				'usage:' || w.key, w.at, $6, true
			FROM w JOIN s USING (msisdn)
			RETURNING id, msisdn, -points AS points
		), a AS (
			INSERT INTO points_allocations (debit_id, credit_id, points) SELECT d.id, t.id, t.points FROM d JOIN t USING (msisdn)
		)
		SELECT count(*), coalesce(sum(points), 0)::bigint FROM d`,
		g.msisdn, g.points, g.key, g.at, g.events, now).Scan(&n, &taken)
	if err == nil && taken < sum(g.points) {
		l.db.log.Info("usage refunds took less than asked: the points were spent or expired",
			"asked", sum(g.points), "taken", taken, "subscribers", len(g.msisdn))
	}
	return n, taken, err
}

// bulk tunes tx for set-based work on tables whose statistics lag (a queue,
// a staging table): the planner's misjudged row counts otherwise make it
// JIT-compile simple statements, which costs seconds, and sort on disk.
func bulk(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`)
	return err
}

func sum(xs []int64) (s int64) {
	for _, x := range xs {
		s += x
	}
	return s
}

// isolateAfter is how many passes in a row a bucket's posting may be
// refused for its data before its events are posted one by one and those
// that still fail are set aside.
const isolateAfter = 3

// keepsFailing counts a bucket's pass: true once the database has refused
// it for its data isolateAfter times in a row. A lost connection or a
// timeout is not the data's fault and counts for nothing: an outage must
// never set good events aside.
func (l *Ledger) keepsFailing(bucket int16, err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		delete(l.failures, bucket)
		return false
	case !isDataError(err):
		return false
	}
	l.failures[bucket]++
	if l.failures[bucket] < isolateAfter {
		return false
	}
	delete(l.failures, bucket)
	return true
}

// pendingEvent is one event of usage_pending.
type pendingEvent struct {
	ID     string    `json:"id"`
	MSISDN string    `json:"msisdn"`
	Points int64     `json:"points"`
	At     time.Time `json:"at"`
}

// postBucketEach posts a bucket that keeps failing one event at a time,
// each under a savepoint, in one transaction: an event the database
// refuses for its data is taken off the queue and set aside with the
// reason (PRODUCT.md §8), and every other event is posted. Slow, but only
// ever run for a bucket that a poisoned event would otherwise stop for good.
func (l *Ledger) postBucketEach(ctx context.Context, bucket int16) (p care360.UsagePosting, err error) {
	now := l.db.now()
	var aside int
	err = l.db.Transact(ctx, func(tx pgx.Tx) error {
		p, aside = care360.UsagePosting{}, 0
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, jobLockClass, int32(bucket)).Scan(&mine); err != nil || !mine {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT event_id, msisdn, points, at FROM usage_pending WHERE bucket = $1 ORDER BY msisdn, at, event_id`, bucket)
		if err != nil {
			return err
		}
		evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pendingEvent, error) {
			var e pendingEvent
			err := r.Scan(&e.ID, &e.MSISDN, &e.Points, &e.At)
			return e, err
		})
		if err != nil {
			return err
		}
		for _, e := range evs {
			sp, err := tx.Begin(ctx) // a savepoint
			if err != nil {
				return err
			}
			got, err := l.postOne(ctx, sp, bucket, e, now)
			if err == nil {
				if err := sp.Commit(ctx); err != nil {
					return err
				}
				p.Events, p.Credits, p.Refunds = p.Events+1, p.Credits+got.Credits, p.Refunds+got.Refunds
				p.Points, p.Taken, p.Upgrades = p.Points+got.Points, p.Taken+got.Taken, p.Upgrades+got.Upgrades
				continue
			}
			if rerr := sp.Rollback(ctx); rerr != nil {
				return rerr
			}
			if !isDataError(err) {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM usage_pending WHERE bucket = $1 AND event_id = $2 AND msisdn = $3`,
				bucket, e.ID, e.MSISDN); err != nil {
				return err
			}
			if err := setAside(ctx, tx, care360.DeadLetterUsage, e.ID, err.Error(), e, isolateAfter, now); err != nil {
				return err
			}
			aside++
		}
		return nil
	})
	if err != nil {
		return care360.UsagePosting{}, err
	}
	if aside > 0 {
		l.db.log.Warn("usage events set aside: the database refuses them", "bucket", bucket, "events", aside, "posted", p.Events)
	}
	return p, nil
}

// postOne posts a single pending event inside tx.
func (l *Ledger) postOne(ctx context.Context, tx pgx.Tx, bucket int16, e pendingEvent, now time.Time) (p care360.UsagePosting, err error) {
	if _, err := tx.Exec(ctx, `DELETE FROM usage_pending WHERE bucket = $1 AND event_id = $2 AND msisdn = $3`, bucket, e.ID, e.MSISDN); err != nil {
		return p, err
	}
	var g usageGroups
	switch {
	case e.Points > 0:
		g.add(e.MSISDN, e.Points, e.ID, e.At, 1)
		if err := l.credit(ctx, tx, g, now); err != nil {
			return p, err
		}
		p.Credits, p.Points = 1, e.Points
	case e.Points < 0:
		if _, err := tx.Exec(ctx, `SELECT 1 FROM subscribers WHERE msisdn = $1 FOR UPDATE`, e.MSISDN); err != nil {
			return p, err
		}
		g.add(e.MSISDN, -e.Points, e.ID, e.At, 1)
		if p.Refunds, p.Taken, err = l.refund(ctx, tx, g, now); err != nil {
			return p, err
		}
	}
	p.Upgrades, err = l.db.upgradeTiers(ctx, tx, g.msisdn, now, true)
	return p, err
}
