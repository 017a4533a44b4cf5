package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// Claim leases up to max due messages to owner until now + lease,
// transactional first. Outside the marketing window only transactional
// messages are due. SKIP LOCKED lets any number of senders, in any number of
// processes, claim at once without waiting for or doubling each other; a
// lease that lapses makes its message claimable again, so a dead sender's
// messages come back by themselves.
func (s *SMS) Claim(ctx context.Context, owner string, max int, lease time.Duration) (cs []care360.OutboxClaim, err error) {
	return s.claim(ctx, owner, max, lease, false)
}

// ClaimTransactional is Claim of transactional messages only
// (care360.TransactionalClaimer): marketing stays queued for later.
func (s *SMS) ClaimTransactional(ctx context.Context, owner string, max int, lease time.Duration) (cs []care360.OutboxClaim, err error) {
	return s.claim(ctx, owner, max, lease, true)
}

func (s *SMS) claim(ctx context.Context, owner string, max int, lease time.Duration, transactionalOnly bool) (cs []care360.OutboxClaim, err error) {
	defer wrap(&err, "claim outbox messages")
	if owner == "" || max <= 0 || lease <= 0 {
		return nil, care360.Errorf(care360.EINVALID, "claim needs an owner, a positive batch and a lease")
	}
	now := s.db.now()
	until := now.Add(lease)
	query := claimSQL(transactionalOnly || !s.rules.InWindow(now, s.db.loc))
	// Every row is found by its key or the queue's index, so the claim runs
	// with sequential scans off (keyedPlans, in the round trip of its
	// BEGIN), and planned for each claim (claimPlans): a sender polls an
	// empty outbox several times a second, and the plan its connections
	// cached on an empty queue's statistics sorted the whole queue for
	// each claim and read sms_messages whole for each message claimed (by
	// scan, or with scans off by its whole primary key), up to 2.7 s a
	// claim of 1,000 once a campaign filled them (docs/benchmarks.md,
	// "Marketing that costs the screens less"). Nor does it sort
	// (claimPlans): the queue's index gives the order the claim wants.
	err = s.db.transactFrom(ctx, func(b *pgx.Batch) {
		b.Queue(claimPlans)
		b.Queue(query, now, max, owner, until)
	}, func(_ pgx.Tx, br pgx.BatchResults) error {
		if _, err := br.Exec(); err != nil { // claimPlans
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		cs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.OutboxClaim, error) {
			c := care360.OutboxClaim{LeaseUntil: until}
			var done []int16
			err := r.Scan(&c.ID, &c.MSISDN, &c.Text, &c.Kind, &c.Attempts, &c.Reclaimed, &c.Token, &done)
			for _, p := range done {
				c.DoneParts = append(c.DoneParts, int(p))
			}
			return c, err
		})
		return err
	})
	return cs, err
}

// claimPlans has a claim planned for its own arguments and the tables as
// they are, never with a plan cached while they were empty, and never
// sorting what the queue's index already orders. The queue empties between
// bursts, and when autovacuum analyzes it then, its statistics count the
// few rows left on every page the last burst filled; the next burst fills
// those pages again, so the count stays as low. Planned for those few
// hundred rows, a claim of 1,000 read every due message by bitmap and
// sorted them on disk: 30-47 ms a claim with 100,000 queued, against 2 ms
// in the index's order, which stops at the 1,000th
// (TestOutboxClaimReadsByIndexAfterTheQueueEmptied).
const claimPlans = `SELECT ` + customPlanMode + `, set_config('enable_sort', 'off', true)`

// claimSQL leases up to $2 due messages ($1 is now) to $3 until $4,
// transactional first; transactionalOnly: only those (a separate text,
// not a parameter, so the planner scans only the transactional end of the
// index instead of filtering marketing rows). The chosen ids go in as an
// array (= ANY), never as a join: joined, the planner may hash the whole
// queue to find a thousand rows. SET reads the old row, so reclaimed
// records whether a lease lapsed.
func claimSQL(transactionalOnly bool) string {
	due := `not_before <= $1 AND (lease_until IS NULL OR lease_until <= $1)`
	if transactionalOnly {
		due += ` AND priority = 0`
	}
	return `
		UPDATE sms_queue q SET reclaimed = q.owner IS NOT NULL, owner = $3, lease_until = $4,
			attempts = q.attempts + 1, held = false, lease_token = q.lease_token + 1
		FROM sms_messages m
		WHERE q.message_id = ANY(ARRAY(
			SELECT message_id FROM sms_queue
			WHERE ` + due + `
			ORDER BY priority, not_before
			LIMIT $2 FOR UPDATE SKIP LOCKED))
		  AND m.id = q.message_id
		RETURNING q.message_id, m.msisdn, m.text, m.kind, q.attempts, q.reclaimed, q.lease_token,
			CASE WHEN q.attempts > 1 THEN ARRAY(SELECT part FROM sms_parts p WHERE p.message_id = q.message_id) END`
}

// Settle records outcomes in one transaction of statements sent together:
// the parts submitted, the queue rows (gone when sent or failed, due again
// when retried or released), and the messages' status. Only messages still
// leased to owner under the outcome's lease token change (fencing): if a
// lease lapsed and the message was claimed again, by another sender or by
// this one, the new holder's word counts and this outcome is counted as
// fenced. Parts the SMSC accepted are recorded either way: they were sent,
// and their receipts must find them. Ids go in as arrays (= ANY) so that
// every row is found by its key, never by scanning a large table.
//
// A batch the database refuses for its data is recorded one outcome at a
// time, and an outcome refused alone is set aside (settleApart).
func (s *SMS) Settle(ctx context.Context, owner string, outcomes []care360.Outcome) (fenced int, err error) {
	fenced, err = s.settleBatch(ctx, owner, outcomes)
	switch {
	case isDataError(err) && len(outcomes) > 1:
		fenced, err = s.settleApart(ctx, owner, outcomes)
	case isDataError(err):
		fenced, err = s.setAsideOutcome(ctx, owner, outcomes[0], err.Error())
	}
	if err == nil && s.traffic != nil {
		// What the SMSC said, as the dashboard charts it. A fenced outcome
		// is counted too: the SMSC did answer it.
		var submitted, failed int64
		for _, o := range outcomes {
			switch o.Kind {
			case care360.OutcomeSubmitted:
				submitted++
			case care360.OutcomeFailed:
				failed++
			}
		}
		s.traffic.CountSMS(submitted, 0, failed)
	}
	return fenced, err
}

func (s *SMS) settleBatch(ctx context.Context, owner string, outcomes []care360.Outcome) (fenced int, err error) {
	defer wrap(&err, "settle %d outbox messages", len(outcomes))
	if len(outcomes) == 0 {
		return 0, nil
	}
	parts, settle := settleArgs(owner, outcomes, s.db.now())
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(keyedPlans) // see settleSQL
		b.Queue(settlePartsSQL, parts...)
		b.Queue(settleSQL, settle...)
		br := tx.SendBatch(ctx, b)
		for range 2 {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
		}
		var settled int
		if err := br.QueryRow().Scan(&settled); err != nil {
			br.Close()
			return err
		}
		fenced = len(outcomes) - settled
		return br.Close()
	})
	return fenced, err
}

// settleArgs are the arguments of settlePartsSQL and settleSQL for
// outcomes, as columns.
func settleArgs(owner string, outcomes []care360.Outcome, now time.Time) (parts, settle []any) {
	var (
		ids, tokens, partIDs []int64
		aside                []bool
		kinds, errs, smsc    []string
		totals, partNos      []int32
		retry                []time.Time
	)
	for _, o := range outcomes {
		ids, kinds, totals, errs = append(ids, o.ID), append(kinds, string(o.Kind)), append(totals, int32(o.TotalParts)), append(errs, plainText(o.Error))
		tokens, aside = append(tokens, o.Token), append(aside, o.SetAside && o.Kind == care360.OutcomeFailed)
		retry = append(retry, now.Add(max(o.RetryAfter, 0)))
		for _, p := range o.Parts {
			partIDs, partNos, smsc = append(partIDs, o.ID), append(partNos, int32(p.Part)), append(smsc, smscText(p.SMSCID))
		}
	}
	return []any{partIDs, partNos, smsc, now},
		[]any{ids, kinds, totals, retry, errs, owner, now, tokens, aside}
}

// settlePartsSQL records the parts the SMSC accepted.
const settlePartsSQL = `
	INSERT INTO sms_parts (message_id, part, smsc_id, submitted_at)
	SELECT * , $4::timestamptz FROM unnest($1::bigint[], $2::int[], $3::text[])
	ON CONFLICT (message_id, part) DO NOTHING`

// settleSQL settles a batch of outcomes still leased to $6 under their
// tokens: the queue rows of messages submitted or failed go (a failure
// set aside with its dead letter), the others are due again; the
// messages' status follows. It returns how many were still leased.
//
// Each outcome finds its queue row by the row's key (the outcomes drive
// the join). Found the other way round, by "= ANY" of the batch's ids,
// the planner put the leased rows outside and read every outcome again
// for each of them: a batch of 128 compared 16,384 pairs, about half of
// what a settle cost Postgres. Its transaction runs with sequential scans
// off (keyedPlans), so that a queue whose statistics are those of a
// smaller one is never read whole to be hashed.
const settleSQL = `
	WITH o AS (
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::timestamptz[], $5::text[], $8::bigint[], $9::bool[])
			AS o (id, kind, total, retry_at, error, token, aside)
	), gone AS (
		DELETE FROM sms_queue q USING o
		WHERE o.kind IN ('submitted', 'failed') AND q.message_id = o.id AND q.owner = $6 AND q.lease_token = o.token
		RETURNING q.message_id, q.attempts
	), aside AS (
		INSERT INTO dead_letters (kind, ref, reason, payload, attempts, set_aside_at)
		SELECT '` + care360.DeadLetterSMS + `', o.id::text, o.error, jsonb_build_object('message_id', o.id), gone.attempts, $7
		FROM o JOIN gone ON gone.message_id = o.id WHERE o.aside
	), again AS (
		UPDATE sms_queue q SET owner = NULL, lease_until = NULL,
			not_before = CASE WHEN o.kind = 'retry' THEN o.retry_at ELSE $7 END,
			attempts = CASE WHEN o.kind = 'released' THEN greatest(q.attempts - 1, 0) ELSE q.attempts END
		FROM o WHERE o.kind NOT IN ('submitted', 'failed') AND q.message_id = o.id AND q.owner = $6 AND q.lease_token = o.token
		RETURNING q.message_id
	), mine AS (
		SELECT message_id FROM gone UNION ALL SELECT message_id FROM again
	), m AS (
		UPDATE sms_messages m SET
			status = CASE o.kind WHEN 'submitted' THEN 'submitted' WHEN 'failed' THEN 'failed' ELSE m.status END,
			parts = CASE WHEN o.total > 0 THEN o.total ELSE m.parts END,
			submitted_at = CASE WHEN o.kind = 'submitted' THEN $7 ELSE m.submitted_at END,
			error = nullif(o.error, '')
		FROM o
		WHERE m.id = ANY(ARRAY(SELECT message_id FROM mine)) AND m.id = o.id AND o.kind <> 'released'
	)
	SELECT count(*) FROM mine`

// finalPart lists the part states a later receipt does not undo.
const finalPart = `('delivered', 'undeliverable', 'expired')`

// Receipts records delivery receipts against their parts and brings each
// touched message's status up to date: delivered once every part is,
// undeliverable or expired as soon as one part is. A receipt for a part
// already final changes nothing (SMSCs repeat themselves); one that matches
// no part is kept, and Maintain applies it if its part shows up.
func (s *SMS) Receipts(ctx context.Context, rs []care360.Receipt) (ms []care360.ReceiptMatch, err error) {
	defer wrap(&err, "record %d receipts", len(rs))
	if len(rs) == 0 {
		return nil, nil
	}
	var ids, states, errs []string
	var ats []time.Time
	var delivered, failed int64 // messages this batch made final
	for _, r := range rs {
		ids, states, errs, ats = append(ids, smscText(r.SMSCID)), append(states, string(r.State)), append(errs, plainText(r.Error)), append(ats, r.At)
	}
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		ms, delivered, failed = nil, 0, 0
		if err := customPlans(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, receiptPartsSQL, ids, states, errs, ats)
		if err != nil {
			return err
		}
		var more []int64 // messages whose status their parts decide
		for rows.Next() {
			var m care360.ReceiptMatch
			var id int64
			var status *string // the message's, when the receipt decided it
			if err := rows.Scan(&id, &m.SMSCID, &m.SubmittedAt, &status); err != nil {
				return err
			}
			switch {
			case status == nil:
				more = append(more, id)
			case *status == string(care360.MessageDelivered):
				delivered++
			default:
				failed++
			}
			ms = append(ms, m)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		d, f, err := settleFromParts(ctx, tx, more)
		delivered, failed = delivered+d, failed+f
		return err
	})
	if err == nil {
		s.traffic.CountSMS(0, delivered, failed)
	}
	return ms, err
}

// receiptPartsSQL records a batch of receipts ($1 the SMSC's ids, $2 their
// states, $3 errors, $4 times) against their parts, keeps those that match
// none (those p did not update: the parts were not looked up twice), and
// returns the parts it matched, each with the status its receipt gave its
// message.
//
// A message of one part takes its status from that part's receipt in the
// same statement (one): a final part (delivered, undeliverable, expired)
// makes the message so, delivered_at never before submitted_at, as
// settleFromParts would. It is updated only when its status changes, so a
// repeated receipt changes and counts nothing; two at once update the same
// part, and the second re-reads the message the first changed. Every
// other match (a part of several, a receipt that leaves its part as it
// was) returns no status, and settleFromParts brings its message up to
// its parts. Most messages are of one part, and the lock, the count of
// their parts and the self-join took 19 µs a message of statement time
// (docs/benchmarks.md, "The claim's order, receipts of one part, and a
// cheaper load").
const receiptPartsSQL = `
			WITH r AS (
				SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS r (smsc_id, state, error, at)
			), p AS (
				UPDATE sms_parts p SET
					status = CASE WHEN p.status IN ` + finalPart + ` THEN p.status ELSE r.state END,
					error = CASE WHEN p.status IN ` + finalPart + ` THEN p.error ELSE nullif(r.error, '') END,
					done_at = CASE WHEN p.status IN ` + finalPart + ` THEN p.done_at ELSE r.at END
				FROM r WHERE p.smsc_id = ANY($1) AND p.smsc_id = r.smsc_id
				RETURNING p.message_id, p.smsc_id, p.submitted_at, p.status, p.error, p.done_at
			), u AS (
				INSERT INTO sms_receipts_unmatched (smsc_id, state, error, received_at)
				SELECT r.smsc_id, r.state, nullif(r.error, ''), r.at FROM r
				WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.smsc_id = r.smsc_id)
			), one AS (
				UPDATE sms_messages m SET
					status = p.status,
					delivered_at = CASE WHEN p.status = 'delivered' THEN greatest(p.done_at, m.submitted_at) ELSE m.delivered_at END,
					error = CASE WHEN p.status = 'delivered' THEN m.error ELSE p.status || coalesce(': err ' || p.error, '') END
				FROM p
				WHERE m.id = p.message_id AND m.parts = 1 AND p.status IN ` + finalPart + `
					AND m.status IN ('submitted', 'delivered', 'undeliverable', 'expired') AND m.status <> p.status
				RETURNING m.id, m.status
			)
			SELECT p.message_id, p.smsc_id, p.submitted_at, one.status
			FROM p LEFT JOIN one ON one.id = p.message_id`

// customPlans makes the rest of tx plan each statement for its own
// arguments and find the rows a batch names by their keys. A receipt
// batch's statements run thousands of times on one connection; after five,
// Postgres may settle on a generic plan that cannot see how few parts a
// batch touches and scans them all (measured: four to five times slower
// receipts on a table of 100,000 parts). A custom plan is not enough while
// the parts' statistics are those of an empty table, as they are until
// autovacuum first analyzes it with rows in it: with no statistics of
// smsc_id, "= ANY" of 558 receipts was estimated to match nine parts in ten,
// and each batch scanned every part (77 ms of 90 on a table of 210,000).
// Every statement here looks rows up by a key a batch names, so a
// sequential scan is never the plan wanted.
func customPlans(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, batchPlans)
	return err
}

// batchPlans are customPlans' settings, for the rest of a transaction.
const batchPlans = `SELECT ` + customPlanMode + `, ` + seqscanOff

// settleFromParts derives the status of submitted messages from their parts,
// and counts the messages it made delivered, and undeliverable or expired.
// delivered_at is never before submitted_at: a receipt may overtake the
// record of its own submit, whose time is taken when it is recorded. The
// self-join (was) sees each row as it was before the statement, which is
// how a repeated receipt is told from a new outcome.
//
// Messages of more than one part are locked first, in a statement of their
// own, and their parts counted in the next, which sees what a transaction
// it waited for committed: two transactions recording the last two parts'
// receipts at once (two receipt writers, or one and the upkeep applying a
// receipt that overtook its part) each counted only its own part and left
// the message "submitted" for ever with every part delivered
// (TestReceiptsOfOneMessageAtOnceDeliverIt). A message of one part needs
// no lock: its receipts update the same row, and the second waits for the
// first. Both statements go in one round trip.
func settleFromParts(ctx context.Context, tx pgx.Tx, ids []int64) (delivered, failed int64, err error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT FROM sms_messages WHERE id = ANY($1) AND parts > 1 ORDER BY id FOR NO KEY UPDATE`, ids)
	b.Queue(settleFromPartsSQL, ids)
	br := tx.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := br.Exec(); err != nil {
		return 0, 0, err
	}
	err = br.QueryRow().Scan(&delivered, &failed)
	return delivered, failed, err
}

// settleFromPartsSQL brings the messages $1 up to their parts; see
// settleFromParts.
const settleFromPartsSQL = `
		WITH u AS (
			UPDATE sms_messages m SET
				status = CASE WHEN a.undeliverable THEN 'undeliverable' WHEN a.expired THEN 'expired'
				              WHEN a.delivered >= m.parts THEN 'delivered' ELSE m.status END,
				delivered_at = CASE WHEN a.delivered >= m.parts THEN greatest(a.last, m.submitted_at) ELSE m.delivered_at END,
				error = coalesce(a.error, m.error)
			FROM (
				SELECT message_id, bool_or(status = 'undeliverable') AS undeliverable, bool_or(status = 'expired') AS expired,
					count(*) FILTER (WHERE status = 'delivered') AS delivered, max(done_at) AS last,
					max(status || coalesce(': err ' || error, '')) FILTER (WHERE status IN ('undeliverable', 'expired')) AS error
				FROM sms_parts WHERE message_id = ANY($1) GROUP BY message_id
			) a, sms_messages was
			WHERE m.id = ANY($1) AND m.id = a.message_id AND was.id = m.id
				AND m.status IN ('submitted', 'delivered', 'undeliverable', 'expired')
			RETURNING m.status AS now, was.status AS was
		)
		SELECT count(*) FILTER (WHERE now = 'delivered' AND was <> now),
		       count(*) FILTER (WHERE now IN ('undeliverable', 'expired') AND was <> now)
		FROM u`

// depthEvery spaces out the queue-depth count: on a million-row queue it is
// the one costly part of Maintain, and a gauge need not be fresher.
const depthEvery = 5 * time.Second

// Maintain holds queued marketing while the window is shut (so the API and
// campaign progress say "held" and the claim never sees it) and applies
// receipts that arrived before their part was recorded. Each job runs under
// a try-lock, so with many senders one does it and the rest skip.
func (s *SMS) Maintain(ctx context.Context) (u care360.Upkeep, err error) {
	defer wrap(&err, "outbox upkeep")
	now := s.db.now()
	u.Queued = -1
	var delivered, failed int64 // messages the early receipts made final
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		u.Held, u.Receipts, delivered, failed = 0, 0, 0, 0
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, marketingLock+1).Scan(&mine); err != nil || !mine {
			return err
		}
		if !s.rules.InWindow(now, s.db.loc) {
			tag, err := tx.Exec(ctx, `
				UPDATE sms_queue SET held = true, owner = NULL, lease_until = NULL, not_before = $2
				WHERE priority = 1 AND not_before < $2 AND (lease_until IS NULL OR lease_until <= $1)`,
				now, s.rules.NextWindow(now, s.db.loc))
			if err != nil {
				return err
			}
			u.Held = int(tag.RowsAffected())
		}
		if err := customPlans(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			WITH u AS (
				DELETE FROM sms_receipts_unmatched u USING sms_parts p
				WHERE p.smsc_id = u.smsc_id AND u.received_at > $1
				RETURNING u.smsc_id, u.state, u.error, u.received_at
			)
			UPDATE sms_parts p SET status = u.state, error = u.error, done_at = u.received_at
			FROM u WHERE p.smsc_id = u.smsc_id AND p.status NOT IN `+finalPart+`
			RETURNING p.message_id`, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		u.Receipts = len(ids)
		delivered, failed, err = settleFromParts(ctx, tx, ids)
		return err
	})
	if err != nil {
		return u, err
	}
	s.traffic.CountSMS(0, delivered, failed)
	s.mu.Lock()
	count := now.Sub(s.lastDepth) >= depthEvery
	if count {
		s.lastDepth = now
	}
	s.mu.Unlock()
	if count {
		err = s.db.pool.QueryRow(ctx, `SELECT count(*) FROM sms_queue WHERE not_before <= $1 AND lease_until IS NULL`, now).Scan(&u.Queued)
	}
	return u, err
}
