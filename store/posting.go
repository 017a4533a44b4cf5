package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// postWorkers buckets are posted at once while the feed is quiet: buckets
// hold disjoint subscribers, so their transactions never wait on each
// other, and a backlog drains on more than one core. While the feed sends,
// one bucket at a time: a credit costs Postgres two to three times what
// accepting an event does, and a second poster makes each pass shorter,
// so that it finds fewer events a subscriber and hour to fold into each
// credit, and takes the cores the feed's batches need (docs/benchmarks.md,
// "One poster while the feed sends").
const postWorkers = 2

// feedQuiet is how long after the last batch that journalled events, with
// none being journalled, the feed counts as quiet.
const feedQuiet = 300 * time.Millisecond

// fed notes that a batch journalled events just now.
func (l *Ledger) fed() { l.fedAt.Store(time.Now().UnixNano()) }

// quiet reports whether no batch is being journalled and none journalled
// events for feedQuiet.
func (l *Ledger) quiet() bool {
	return l.feeding.Load() == 0 && time.Since(time.Unix(0, l.fedAt.Load())) >= feedQuiet
}

// pendingBucketsSQL lists the buckets with pending events ($1 is the last
// bucket): a row of each partition at most, found by a scan of that
// partition alone (pruned at run time, by the LATERAL's LIMIT). A DISTINCT
// over the queue read every pending row, 60–170 ms a pass under the
// bench's feed.
const pendingBucketsSQL = `
	SELECT b::smallint FROM generate_series(0, $1::int) b,
		LATERAL (SELECT FROM usage_pending WHERE bucket = b::smallint LIMIT 1) p`

// PostUsage posts every pending event, one bucket per transaction; see
// Ledger. Two instances may post at once: each bucket is taken by one of
// them under an advisory lock, and the pending rows it deletes are gone for
// the other.
func (l *Ledger) PostUsage(ctx context.Context) (p care360.UsagePosting, err error) {
	defer wrap(&err, "post usage")
	rows, err := l.db.pool.Query(ctx, pendingBucketsSQL, usageBuckets-1)
	if err != nil {
		return p, err
	}
	buckets, err := pgx.CollectRows(rows, pgx.RowTo[int16])
	if err != nil {
		return p, err
	}
	var mu sync.Mutex
	var errs []error
	var taken atomic.Int64 // buckets handed out
	next := func() (int16, bool) {
		if i := int(taken.Add(1)) - 1; i < len(buckets) {
			return buckets[i], true
		}
		return 0, false
	}
	post := func(b int16) {
		got, err := l.postBucket(ctx, b)
		if since, ok := l.keepsFailing(b, err); ok {
			got, err = l.postBucketApart(ctx, b, since)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("bucket %d: %w", b, err))
		}
		p = plus(p, got)
	}
	var wg sync.WaitGroup
	for w := range min(postWorkers, len(buckets)) {
		wg.Go(func() {
			for {
				// The first worker always posts; the others wait while the
				// feed sends, and join once it is quiet (the pass goes on
				// after a burst) unless the pass is over by then.
				if w > 0 && !l.quiet() {
					if int(taken.Load()) >= len(buckets) {
						return
					}
					select {
					case <-ctx.Done():
						return
					case <-time.After(feedQuiet / 4):
					}
					continue
				}
				b, ok := next()
				if !ok {
					return
				}
				post(b)
			}
		})
	}
	wg.Wait()
	if p.Events > 0 {
		l.db.log.Debug("usage posted", "events", p.Events, "credits", p.Credits, "refunds", p.Refunds, "upgrades", p.Upgrades)
	}
	return p, errors.Join(errs...)
}

// vacuumAfter is how many pending rows an instance's takes of a bucket
// delete before it vacuums the bucket's partition; see vacuumBucket.
const vacuumAfter = 1000

// vacuumBucket vacuums the bucket's partition before its take once the
// takes since the last vacuum deleted vacuumAfter rows. A take deletes
// its rows, and until a vacuum records their space as free every insert
// extends the partition: between autovacuum's visits (a minute apart at
// best) a bucket's partition grew by every event of the feed, and every
// take, every pass's list of buckets and every "is anything left?" read
// all those dead pages (docs/benchmarks.md, "The pending queue vacuumed
// before each take"). Before the take rather than after it: the rows
// that take deletes are still visible to the feed's statements running
// meanwhile, so a vacuum right after it could not remove them, while the
// previous take's are seconds old. Without a lock (another instance or
// autovacuum is at it) it is skipped; without the right to vacuum the
// table Postgres skips it with a warning. Truncating the partition's
// empty end is left to autovacuum: it needs a lock that every batch of
// the feed waits for.
func (l *Ledger) vacuumBucket(ctx context.Context, bucket int16) {
	n := &l.unvacuumed[bucket]
	if n.Load() < vacuumAfter {
		return
	}
	n.Store(0)
	sql := fmt.Sprintf(`VACUUM (SKIP_LOCKED, TRUNCATE false, PROCESS_TOAST false) usage_pending_%02d`, bucket)
	// Not prepared: 64 texts a connection would stay in its cache.
	if _, err := l.db.pool.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
		l.db.log.Warn("vacuum of the pending usage failed", "bucket", bucket, "err", err)
	}
}

// postBucket moves one bucket's pending events into the ledger.
func (l *Ledger) postBucket(ctx context.Context, bucket int16) (p care360.UsagePosting, err error) {
	l.vacuumBucket(ctx, bucket)
	now := l.db.now()
	err = l.db.Transact(ctx, func(tx pgx.Tx) error {
		p = care360.UsagePosting{}
		if mine, err := lockBucket(ctx, tx, bucket); err != nil || !mine {
			return err // another instance is posting it
		}
		p, err = l.postPending(ctx, tx, bucket, nil, now)
		return err
	})
	if err != nil {
		return care360.UsagePosting{}, err // rolled back: nothing was posted
	}
	l.unvacuumed[bucket].Add(p.Events)
	return p, nil
}

// lockBucket takes the bucket for the rest of tx, unless another instance
// holds it, and tunes tx for the set-based posting.
func lockBucket(ctx context.Context, tx pgx.Tx, bucket int16) (mine bool, err error) {
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1, $2)`, jobLockClass, int32(bucket)).Scan(&mine); err != nil || !mine {
		return false, err
	}
	return true, bulk(ctx, tx)
}

// postPending posts the bucket's pending events inside tx: all of them
// when ids is nil, else only those.
func (l *Ledger) postPending(ctx context.Context, tx pgx.Tx, bucket int16, ids []string, now time.Time) (p care360.UsagePosting, err error) {
	credits, refunds, events, err := l.takePending(ctx, tx, bucket, ids)
	if err != nil || events == 0 {
		return p, err
	}
	p.Events = events
	// Refunded subscribers are locked before anything else, in order,
	// as every debit does, so that no debit runs between reading their
	// credits and consuming them.
	if len(refunds.msisdn) > 0 {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM subscribers WHERE msisdn = ANY($1) ORDER BY msisdn FOR UPDATE`, refunds.msisdn); err != nil {
			return p, err
		}
	}
	if len(credits.msisdn) > 0 {
		if err := l.credit(ctx, tx, credits, now); err != nil {
			return p, err
		}
		p.Credits, p.Points = int64(len(credits.msisdn)), sum(credits.points)
	}
	if len(refunds.msisdn) > 0 {
		if p.Refunds, p.Taken, err = l.refund(ctx, tx, refunds, now); err != nil {
			return p, err
		}
	}
	p.Upgrades, err = l.db.upgradeTiers(ctx, tx, credits.msisdn, now, true)
	return p, err
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

// takePendingSQL deletes the pending events that which selects ($1 is the
// bucket, $2 the local midnight hours are binned from) and aggregates them;
// see takePending.
func takePendingSQL(which string) string {
	return `
		WITH p AS (DELETE FROM usage_pending WHERE ` + which + ` RETURNING msisdn, points, at, event_id),
		h AS (
			SELECT msisdn, sum(points)::bigint AS points, min(at) AS at, min(event_id) AS key, count(*) AS n
			FROM p GROUP BY msisdn, date_bin('1 hour', at, $2)
		)
		SELECT msisdn, points, at, key, n FROM h WHERE points > 0
		UNION ALL
		SELECT msisdn, sum(points)::bigint, min(at), min(key), sum(n)::bigint FROM h WHERE points <= 0 GROUP BY msisdn
		ORDER BY 1, 3`
}

// Two texts rather than an optional argument, so that the plan of the
// everyday statement never depends on a parameter it does not use.
var (
	takeBucketSQL = takePendingSQL(`bucket = $1`)
	takeEventsSQL = takePendingSQL(`bucket = $1 AND event_id = ANY($3)`) // $3: the event ids
)

// takePending deletes a bucket's pending events and aggregates them: one
// credit per subscriber and local hour that nets positive (earned at the
// hour's first event), and one refund per subscriber for the hours that net
// negative. Each takes the key of its first event id, which no other
// group can have.
//
// With ids, only those events are taken (the bucket is being posted in
// parts, see postBucketApart).
func (l *Ledger) takePending(ctx context.Context, tx pgx.Tx, bucket int16, ids []string) (credits, refunds usageGroups, events int64, err error) {
	query, args := takeBucketSQL, []any{bucket, l.hourOrigin}
	if ids != nil {
		query, args = takeEventsSQL, append(args, ids)
	}
	rows, err := tx.Query(ctx, query, args...)
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
// Sessions already run without JIT (parseConfig); this keeps it off for
// these statements even where the database URL turns it on.
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
// refused for its data before it is posted in parts and the events that
// still fail are set aside.
const isolateAfter = 3

// bucketFailures is a bucket's run of passes refused for their data.
type bucketFailures struct {
	n     int
	first time.Time // when the run began
}

// keepsFailing counts a bucket's pass: once the database has refused it
// for its data isolateAfter times in a row, it returns true and when the
// run began. A lost connection or a timeout is not the data's fault and
// counts for nothing: an outage must never set good events aside.
func (l *Ledger) keepsFailing(bucket int16, err error) (since time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		delete(l.failures, bucket)
		return since, false
	case !isDataError(err):
		return since, false
	}
	f := l.failures[bucket]
	if f.n == 0 {
		f.first = l.db.now()
	}
	f.n++
	if f.n < isolateAfter {
		l.failures[bucket] = f
		return since, false
	}
	delete(l.failures, bucket)
	return f.first, true
}

// pendingEvent is one event of usage_pending, as a dead letter keeps it.
type pendingEvent struct {
	ID     string    `json:"id"`
	MSISDN string    `json:"msisdn"`
	Points int64     `json:"points"`
	At     time.Time `json:"at"`
}

// postBucketApart posts a bucket that keeps failing in parts, each under a
// savepoint of one transaction: a part the database refuses for its data is
// split in two and each half tried again, down to single events, which are
// taken off the queue and set aside with the reason (PRODUCT.md §8); every
// other event is posted. k bad events among n cost about 2k·log₂n
// set-based attempts, so the pass takes about as long as an ordinary one
// and holds its locks as briefly: posted one by one, a backlog of 16,000
// events took over two minutes, with its subscribers locked throughout.
func (l *Ledger) postBucketApart(ctx context.Context, bucket int16, since time.Time) (p care360.UsagePosting, err error) {
	now := l.db.now()
	var aside int
	err = l.db.Transact(ctx, func(tx pgx.Tx) error {
		p, aside = care360.UsagePosting{}, 0
		if mine, err := lockBucket(ctx, tx, bucket); err != nil || !mine {
			return err
		}
		// Ordered so that a part holds whole subscribers where it can: a
		// subscriber's events that stay together aggregate as usual.
		rows, err := tx.Query(ctx, `SELECT event_id FROM usage_pending WHERE bucket = $1 ORDER BY msisdn, at, event_id`, bucket)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		var part func(ids []string) error
		part = func(ids []string) error {
			sp, err := tx.Begin(ctx) // a savepoint
			if err != nil {
				return err
			}
			got, err := l.postPending(ctx, sp, bucket, ids, now)
			if err == nil {
				p = plus(p, got)
				return sp.Commit(ctx)
			}
			if rerr := sp.Rollback(ctx); rerr != nil {
				return rerr
			}
			switch {
			case !isDataError(err):
				return err
			case len(ids) == 1:
				aside++
				return setAsideEvent(ctx, tx, bucket, ids[0], err.Error(), since, now)
			}
			if err := part(ids[:len(ids)/2]); err != nil {
				return err
			}
			return part(ids[len(ids)/2:])
		}
		return part(ids)
	})
	if err != nil {
		return care360.UsagePosting{}, err
	}
	l.unvacuumed[bucket].Add(p.Events + int64(aside))
	if aside > 0 {
		l.db.log.Warn("usage events set aside: the database refuses them", "bucket", bucket, "events", aside, "posted", p.Events)
	}
	return p, nil
}

// setAsideEvent takes one pending event off the queue and records it as a
// dead letter, inside tx.
func setAsideEvent(ctx context.Context, tx pgx.Tx, bucket int16, id, reason string, since, now time.Time) error {
	e := pendingEvent{ID: id}
	err := tx.QueryRow(ctx, `DELETE FROM usage_pending WHERE bucket = $1 AND event_id = $2 RETURNING msisdn, points, at`,
		bucket, id).Scan(&e.MSISDN, &e.Points, &e.At)
	if err != nil {
		return err
	}
	return setAside(ctx, tx, care360.DeadLetterUsage, id, reason, e, isolateAfter, since, now)
}

// plus adds up two postings.
func plus(a, b care360.UsagePosting) care360.UsagePosting {
	return care360.UsagePosting{Events: a.Events + b.Events, Credits: a.Credits + b.Credits, Refunds: a.Refunds + b.Refunds,
		Points: a.Points + b.Points, Taken: a.Taken + b.Taken, Upgrades: a.Upgrades + b.Upgrades}
}
