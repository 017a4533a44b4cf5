package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// Ledger takes the billing feed and runs the ledger's scheduled jobs (usage
// posting, the expiry sweep, the tier review) on the DB's pool and clock.
//
// Usage is ingested in two steps, because a ledger entry costs five index
// insertions and a foreign-key check (tens of microseconds), which would cap
// ingest far below the 100,000 events/s PERFORMANCE.md asks, while a billing
// feed sends many events per subscriber. IngestUsage journals each event
// (one narrow row keyed by its id, plus a pending row) and answers;
// PostUsage then turns the pending events of each subscriber into one
// ledger credit per local hour, and refunds into one debit, in the
// transaction that deletes them. The poster runs whenever a batch was
// accepted (cmd wires the nudge) and every second otherwise, so points show
// within moments, and under load each pass aggregates more.
type Ledger struct {
	db    *DB
	rules care360.UsageRules
	// hourOrigin is a local midnight: hours binned from it are local hours
	// (date_bin is arithmetic, many times cheaper than date_trunc in a
	// time zone), so an hour's events never straddle a local month and
	// share one expiry date.
	hourOrigin time.Time
}

var (
	_ care360.UsageService = (*Ledger)(nil)
	_ care360.LedgerJobs   = (*Ledger)(nil)
)

// NewLedger returns the usage service and ledger jobs on db; zero rules
// are the product's defaults.
func NewLedger(db *DB, rules care360.UsageRules) *Ledger {
	if rules.VNDPerPoint <= 0 {
		rules.VNDPerPoint = care360.DefaultUsageRules.VNDPerPoint
	}
	if rules.FutureSkew <= 0 {
		rules.FutureSkew = care360.DefaultUsageRules.FutureSkew
	}
	return &Ledger{db: db, rules: rules, hourOrigin: time.Date(2000, 1, 1, 0, 0, 0, 0, db.loc)}
}

// usageBuckets slices pending usage by MSISDN hash: a posting transaction
// takes one bucket, so it holds the row locks of 1/64 of the active
// subscribers, for a short while.
const usageBuckets = 64

// ingestSQL checks that each subscriber exists, journals the events whose
// id is new and queues the ones that earn or take back points, in one
// statement. It returns only the events that were not accepted: those of
// unknown subscribers (known = false) and those whose id exists.
const ingestSQL = `
	WITH x AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::timestamptz[])
			WITH ORDINALITY AS x (id, msisdn, amount, points, at, i)
	), k AS (
		SELECT x.* FROM x WHERE EXISTS (SELECT 1 FROM subscribers s WHERE s.msisdn = x.msisdn)
	), e AS (
		INSERT INTO usage_events (id, msisdn, amount_vnd, points, at, received_at)
		SELECT id, msisdn, amount, points, at, $6 FROM k
		ON CONFLICT (id) DO NOTHING
		RETURNING id, msisdn, points, at
	), p AS (
		INSERT INTO usage_pending (bucket, msisdn, points, at, event_id)
		SELECT hashtext(msisdn) & $7, msisdn, points, at, id FROM e WHERE points <> 0
	)
	SELECT x.i, k.i IS NOT NULL FROM x LEFT JOIN k USING (i) LEFT JOIN e ON e.id = x.id
	WHERE k.i IS NULL OR e.id IS NULL`

// IngestUsage journals a batch of billing events set-based and reports
// each one's fate; see Ledger.
func (l *Ledger) IngestUsage(ctx context.Context, events []care360.UsageEvent) (res []care360.UsageResult, err error) {
	defer wrap(&err, "ingest %d usage events", len(events))
	if len(events) > care360.MaxUsageEvents {
		return nil, care360.Errorf(care360.EINVALID, "at most %d events per batch", care360.MaxUsageEvents)
	}
	now := l.db.now()
	res = make([]care360.UsageResult, len(events))
	first := make(map[string]int, len(events)) // id → index of its first valid occurrence
	var sent []int                             // indexes of the events sent to the database
	var ids, msisdns []string
	var amounts, points []int64
	var ats []time.Time
	for i := range events {
		e := &events[i]
		e.At = e.At.Truncate(time.Microsecond) // what timestamptz keeps, so replays compare equal
		if r, ok := l.rules.Check(*e, now, l.db.loc); !ok {
			res[i] = r
			continue
		}
		if _, dup := first[e.ID]; dup {
			continue // resolved below, once the first occurrence's fate is known
		}
		first[e.ID] = i
		p := l.rules.Points(e.AmountVND)
		res[i] = care360.UsageResult{ID: e.ID, Status: care360.UsageAccepted, Points: p}
		sent = append(sent, i)
		ids, msisdns, amounts, points, ats = append(ids, e.ID), append(msisdns, string(e.MSISDN)), append(amounts, e.AmountVND), append(points, p), append(ats, e.At)
	}
	if len(sent) > 0 {
		if err := l.journal(ctx, events, res, sent, ids, msisdns, amounts, points, ats, now); err != nil {
			return nil, err
		}
	}
	for i := range events {
		if j, ok := first[events[i].ID]; ok && j != i && res[i].Status == "" {
			res[i] = repeated(events[j], events[i], res[j])
		}
	}
	return res, nil
}

// journal runs ingestSQL for the events at sent (with their columns) and
// marks those not accepted in res.
func (l *Ledger) journal(ctx context.Context, events []care360.UsageEvent, res []care360.UsageResult, sent []int,
	ids, msisdns []string, amounts, points []int64, ats []time.Time, now time.Time) error {
	rows, err := l.db.pool.Query(ctx, ingestSQL, ids, msisdns, amounts, points, ats, now, usageBuckets-1)
	if err != nil {
		return err
	}
	var existing []string
	existingAt := map[string]int{}
	for rows.Next() {
		var n int64
		var known bool
		if err := rows.Scan(&n, &known); err != nil {
			return err
		}
		i := sent[n-1]
		e := events[i]
		if !known {
			res[i] = care360.RejectUsage(e.ID, care360.UsageUnknownSubscriber, "no subscriber %s", e.MSISDN.Masked())
			continue
		}
		existing, existingAt[e.ID] = append(existing, e.ID), i
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(existing) == 0 {
		return nil
	}
	// Read in a statement of its own: an id another request was inserting
	// made ours wait and then skip it, and only a new snapshot sees it.
	rows, err = l.db.pool.Query(ctx, `SELECT id, msisdn, amount_vnd, at, points FROM usage_events WHERE id = ANY($1)`, existing)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var was care360.UsageEvent
		var p int64
		if err := rows.Scan(&was.ID, &was.MSISDN, &was.AmountVND, &was.At, &p); err != nil {
			return err
		}
		i := existingAt[was.ID]
		res[i] = repeated(was, events[i], care360.UsageResult{ID: was.ID, Status: care360.UsageAccepted, Points: p})
	}
	return rows.Err()
}

// repeated is the fate of an event whose id was seen before as was, with
// outcome: the same event again is a duplicate with the original points (or
// the original rejection); another event under a used id is refused.
func repeated(was, again care360.UsageEvent, outcome care360.UsageResult) care360.UsageResult {
	if was.MSISDN != again.MSISDN || was.AmountVND != again.AmountVND || !was.At.Equal(again.At) {
		return care360.RejectUsage(again.ID, care360.UsageIDConflict, "id %q was used before for another event", again.ID)
	}
	if outcome.Status == care360.UsageAccepted {
		outcome.Status = care360.UsageDuplicate
	}
	return outcome
}

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
	for _, b := range buckets {
		got, err := l.postBucket(ctx, b)
		if err != nil {
			return p, fmt.Errorf("bucket %d: %w", b, err)
		}
		p.Events, p.Credits, p.Refunds = p.Events+got.Events, p.Credits+got.Credits, p.Refunds+got.Refunds
		p.Points, p.Taken, p.Upgrades = p.Points+got.Points, p.Taken+got.Taken, p.Upgrades+got.Upgrades
	}
	if p.Events > 0 {
		l.db.log.Debug("usage posted", "events", p.Events, "credits", p.Credits, "refunds", p.Refunds, "upgrades", p.Upgrades)
	}
	return p, nil
}

// Advisory locks of the ledger jobs, as (class, object) pairs in a class
// of their own.
const (
	jobLockClass = 0x0C36
	sweepLockObj = 1000 // objects 0..63 are the usage buckets
	tierLockObj  = 1001
)

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
