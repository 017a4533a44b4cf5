package store

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/care360/care360"
)

// Ledger takes the billing feed and runs the ledger's scheduled jobs (usage
// posting, the expiry sweep, the tier review) on the DB's pool and clock.
//
// Usage is ingested in two steps, because a ledger entry costs seven index
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

	// failures counts each bucket's posting passes in a row that the
	// database refused for the data; see postBucketApart.
	mu       sync.Mutex
	failures map[int16]bucketFailures

	// fedAt is when a batch last journalled events (Unix nanoseconds, the
	// process's clock), and feeding how many batches are being journalled
	// now: posting runs one bucket at a time until none is and the feed
	// has been quiet for feedQuiet. A batch slower than that (a loaded
	// machine) is the feed sending all the same.
	fedAt   atomic.Int64
	feeding atomic.Int32

	// unvacuumed counts, per bucket, the pending rows this instance's
	// takes deleted since it last vacuumed the bucket's partition; see
	// vacuumBucket.
	unvacuumed [usageBuckets]atomic.Int64
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
	return &Ledger{db: db, rules: rules, hourOrigin: time.Date(2000, 1, 1, 0, 0, 0, 0, db.loc), failures: map[int16]bucketFailures{}}
}

// Advisory locks of the ledger jobs, as (class, object) pairs in a class
// of their own.
const (
	jobLockClass = 0x0C36
	sweepLockObj = 1000 // objects 0..63 are the usage buckets
	tierLockObj  = 1001
)

// usageBuckets slices pending usage by MSISDN hash: a posting transaction
// takes one bucket, so it holds the row locks of 1/64 of the active
// subscribers, for a short while.
const usageBuckets = 64

// ingestSQL finds each event's member, journals the events whose id is
// new and queues the ones that earn or take back points, in one statement.
// An event's member is the one that held its number at its time and
// released it since (a closing, a number change: member_numbers), else the
// member holding the number now; an event for a membership closed since
// earns nothing (PRODUCT.md §7). Both members are looked up by key, event
// by event (a LATERAL with a LIMIT, which the planner keeps a nested loop):
// an EXISTS in an OR, planned for thousands of events, read every member
// into a hash for each batch. It returns only the events that were not
// accepted as sent: those of unknown subscribers (known = false), those
// whose id exists (inserted = false), and those journalled for a closed
// membership, with no points (inserted = true); the known ones with the
// digest of their number the journal keeps (migration 00052), which a
// replay's must match.
//
// No id the batch holds is taken when no journalled id falls between its
// least and greatest (found in SQL, so in the column's collation): one
// probe of the primary key. Billing systems number their records in
// order, so a new batch's range is usually new; its events are then
// inserted without ON CONFLICT, whose speculative insertion costs about a
// seventh of the insert. Otherwise (a replay, ids in no order) they go with
// it. A batch racing another over the same new range fails on the primary
// key and is run again (journal).
//
// Which events were inserted (j.inserted) follows without reading the
// inserts back: a new range inserts every event or fails, and otherwise
// the ON CONFLICT insert returns the ids it took. The pending rows and the
// answer come from the events with their members (j), and the unknown
// numbers from an anti-join: joining each back to what was inserted sorted
// the batch three more times.
const ingestSQL = `
	WITH x AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::timestamptz[])
			WITH ORDINALITY AS x (id, msisdn, amount, points, at, i)
	), k AS (
		SELECT x.id, x.msisdn, x.amount, x.at, x.i, coalesce(rel.key, x.msisdn) AS key,
			coalesce(rel.closed, false) AS closed, CASE WHEN rel.closed THEN 0 ELSE x.points END AS points,
			usage_number_digest(coalesce(rel.salt, cur.salt), x.msisdn) AS digest
		FROM x LEFT JOIN LATERAL (
			SELECT s.msisdn AS key, s.status = 'closed' AS closed, s.usage_salt AS salt
			FROM member_numbers n JOIN subscribers s USING (member_id)
			WHERE n.msisdn = x.msisdn AND n.until > x.at ORDER BY n.until LIMIT 1
		) rel ON true
		LEFT JOIN LATERAL (SELECT s.msisdn, s.usage_salt AS salt FROM subscribers s WHERE s.msisdn = x.msisdn LIMIT 1) cur ON true
		WHERE rel.key IS NOT NULL OR cur.msisdn IS NOT NULL
	), f AS (
		SELECT NOT EXISTS (SELECT 1 FROM usage_events WHERE id BETWEEN (SELECT min(id) FROM x) AND (SELECT max(id) FROM x)) AS fresh
	), e1 AS (
		INSERT INTO usage_events (id, number_digest, amount_vnd, points, at, received_at)
		SELECT id, digest, amount, points, at, $6 FROM k WHERE (SELECT fresh FROM f)
	), e2 AS (
		INSERT INTO usage_events (id, number_digest, amount_vnd, points, at, received_at)
		SELECT id, digest, amount, points, at, $6 FROM k WHERE NOT (SELECT fresh FROM f)
		ON CONFLICT (id) DO NOTHING
		RETURNING id
	), j AS (
		SELECT k.*, (SELECT fresh FROM f) OR k.id IN (SELECT id FROM e2) AS inserted FROM k
	), p AS (
		INSERT INTO usage_pending (bucket, msisdn, points, at, event_id)
		SELECT hashtext(j.key) & $7, j.key, j.points, j.at, j.id FROM j WHERE j.inserted AND j.points <> 0
	)
	SELECT x.i, false, false, NULL::bytea FROM x WHERE NOT EXISTS (SELECT 1 FROM k WHERE k.i = x.i)
	UNION ALL
	SELECT j.i, true, j.inserted, j.digest FROM j WHERE NOT j.inserted OR j.closed`

// IngestUsage journals a batch of billing events set-based and reports
// each one's fate; see Ledger.
func (l *Ledger) IngestUsage(ctx context.Context, events []care360.UsageEvent) (res []care360.UsageResult, err error) {
	defer wrap(&err, "ingest %d usage events", len(events))
	if len(events) > care360.MaxUsageEvents {
		return nil, care360.Errorf(care360.EINVALID, "at most %d events per batch", care360.MaxUsageEvents)
	}
	now := l.db.now()
	events = slices.Clone(events) // times are truncated below; the caller's stay as they were
	res = make([]care360.UsageResult, len(events))
	first := make(map[string]int, len(events)) // id → index of its first valid occurrence
	var sent usageColumns
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
		res[i] = care360.UsageResult{ID: e.ID, Status: care360.UsageAccepted, Points: l.rules.Points(e.AmountVND)}
		sent.add(i, e, res[i].Points)
	}
	if len(sent.index) > 0 {
		l.feeding.Add(1)
		err := l.journal(ctx, events, res, &sent, now)
		l.feeding.Add(-1)
		if err != nil {
			return nil, err
		}
		l.fed()
	}
	for i := range events {
		if j, ok := first[events[i].ID]; ok && j != i && res[i].Status == "" {
			res[i] = repeated(events[j], events[i], res[j])
		}
	}
	return res, nil
}

// usageColumns are the events sent to the database, as ingestSQL's arrays,
// with each one's index in the batch.
type usageColumns struct {
	index          []int
	id, msisdn     []string
	amount, points []int64
	at             []time.Time
}

func (c *usageColumns) add(i int, e *care360.UsageEvent, points int64) {
	c.index, c.id, c.msisdn = append(c.index, i), append(c.id, e.ID), append(c.msisdn, string(e.MSISDN))
	c.amount, c.points, c.at = append(c.amount, e.AmountVND), append(c.points, points), append(c.at, e.At)
}

// journal runs ingestSQL for the sent events and marks in res those that
// were not accepted.
func (l *Ledger) journal(ctx context.Context, events []care360.UsageEvent, res []care360.UsageResult, sent *usageColumns, now time.Time) error {
	var existing []string
	existingAt := map[string]int{}
	digests := map[string][]byte{} // a replayed id → the digest of the number it names now
	for attempt := 1; ; attempt++ {
		existing, existingAt = existing[:0], map[string]int{}
		rows, err := l.db.pool.Query(ctx, ingestSQL, sent.id, sent.msisdn, sent.amount, sent.points, sent.at, now, usageBuckets-1)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n int64
			var known, inserted bool
			var digest []byte
			if err := rows.Scan(&n, &known, &inserted, &digest); err != nil {
				rows.Close()
				return err
			}
			i := sent.index[n-1]
			e := events[i]
			switch {
			case !known:
				res[i] = care360.RejectUsage(e.ID, care360.UsageUnknownSubscriber, "no subscriber %s", e.MSISDN.Masked())
			case inserted:
				res[i].Points = 0 // journalled for a membership closed since: it earns nothing
			default:
				existing, existingAt[e.ID], digests[e.ID] = append(existing, e.ID), i, digest
			}
		}
		err = rows.Err()
		if isUniqueViolation(err) && attempt == 1 {
			continue // another batch took ids of this one's new range first: now the range is not new
		}
		if err != nil {
			return err
		}
		break
	}
	if len(existing) == 0 {
		return nil
	}
	// Read in a statement of its own: an id another request was inserting
	// made ours wait and then skip it, and only a new snapshot sees it.
	rows, err := l.db.pool.Query(ctx, `SELECT id, number_digest, amount_vnd, at, points FROM usage_events WHERE id = ANY($1)`, existing)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var was care360.UsageEvent
		var digest []byte
		var p int64
		if err := rows.Scan(&was.ID, &digest, &was.AmountVND, &was.At, &p); err != nil {
			return err
		}
		i := existingAt[was.ID]
		// The journal keeps the number's digest, not the number: the
		// same digest is the same number for the same member (a
		// collision of 8 bytes of SHA-256 aside), anything else another.
		if was.MSISDN = events[i].MSISDN; !bytes.Equal(digest, digests[was.ID]) {
			was.MSISDN = ""
		}
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
