package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// simSwapsSQL applies a batch of sim_swap events ($1 ids, $2 numbers, $3
// times, $4 the hold, $5 now); see SIMSwaps. Each event's new hold comes
// from a join to holds (a row a number): a subquery over holds for each
// event read all of the batch's holds every time, so a batch cost the
// square of its size (TestSIMSwapBatchReadsItsHoldsOnce). The hold of a
// member the batch did not move is read by key.
const simSwapsSQL = `
	WITH e AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS e (id, msisdn, at, n)
	), known AS (
		SELECT e.* FROM e WHERE EXISTS (SELECT 1 FROM subscribers s WHERE s.msisdn = e.msisdn)
	), ins AS (
		INSERT INTO lifecycle_events (id, msisdn, event, at, status, received_at)
		SELECT id, msisdn, 'sim_swap', at, 'applied', $5 FROM known ORDER BY n
		ON CONFLICT (id) DO NOTHING
		RETURNING id, msisdn, at
	), holds AS (
		UPDATE subscribers s SET sim_swap_until = greatest(coalesce(s.sim_swap_until, '-infinity'), h.until)
		FROM (SELECT msisdn, max(at) + $4::interval AS until FROM ins GROUP BY msisdn) h
		WHERE s.msisdn = h.msisdn
		RETURNING s.msisdn, s.sim_swap_until
	)
	SELECT e.id, e.msisdn IN (SELECT msisdn FROM known), e.id IN (SELECT id FROM ins),
		coalesce(h.sim_swap_until, (SELECT sim_swap_until FROM subscribers s WHERE s.msisdn = e.msisdn))
	FROM e LEFT JOIN holds h ON h.msisdn = e.msisdn
	ORDER BY e.n`

// SIMSwaps applies sim_swap events in one statement (care360.LifecycleService):
// the events of known members are recorded by id (an id seen before adds
// nothing) and each member's hold is moved to the latest at + hold of its
// new events, never earlier than it was. Events of numbers that are not
// members are rejected and not recorded, so the same id can be sent again
// once the member exists.
func (db *DB) SIMSwaps(ctx context.Context, evs []care360.LifecycleEvent, hold time.Duration) (out []care360.LifecycleResult, err error) {
	defer wrap(&err, "apply %d sim_swap events", len(evs))
	if len(evs) == 0 {
		return nil, nil
	}
	ids, msisdns, ats := make([]string, len(evs)), make([]string, len(evs)), make([]time.Time, len(evs))
	for i, e := range evs {
		ids[i], msisdns[i], ats[i] = e.ID, string(e.MSISDN), e.At
	}
	rows, err := db.pool.Query(ctx, simSwapsSQL, ids, msisdns, ats, hold, db.now())
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	applied := map[string]bool{} // an id twice in one batch: the first is applied, the second a duplicate
	for rows.Next() {
		var r care360.LifecycleResult
		var known, inserted bool
		var until *time.Time
		if err := rows.Scan(&r.ID, &known, &inserted, &until); err != nil {
			return nil, err
		}
		switch {
		case !known:
			r.Status, r.Reason, r.Message = care360.LifecycleRejected, care360.LifecycleUnknownSubscriber, "no member has this number"
		case inserted && !applied[r.ID]:
			r.Status, applied[r.ID] = care360.LifecycleApplied, true
		default:
			r.Status = care360.LifecycleDuplicate
		}
		if until != nil && known {
			r.HoldUntil = *until
		}
		out = append(out, r)
	}
	return out, interpretError(rows.Err())
}

// Membership applies a churn, port_out or msisdn_change event in one
// transaction of its own (care360.LifecycleService). The event is recorded
// by id first: an id seen before changes nothing and is a duplicate. An
// event about a number no open member holds is rejected and not recorded,
// so the CRM may send it again once it is one.
func (db *DB) Membership(ctx context.Context, ev care360.LifecycleEvent) (r care360.LifecycleResult, err error) {
	defer wrap(&err, "apply %s event %q", ev.Event, ev.ID)
	r.ID = ev.ID
	now := db.now()
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		var memberID int64
		err := tx.QueryRow(ctx, `SELECT member_id FROM subscribers WHERE msisdn = $1 FOR UPDATE`, ev.MSISDN).Scan(&memberID)
		if errors.Is(err, pgx.ErrNoRows) {
			seen, err := seenEvents(ctx, tx, []string{ev.ID})
			r = seenOrUnknown(ev.ID, seen)
			return err
		}
		if err != nil {
			return err
		}
		var newMSISDN *string
		if ev.Event == care360.EventMSISDNChange {
			s := string(ev.NewMSISDN)
			newMSISDN = &s
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO lifecycle_events (id, msisdn, event, at, new_msisdn, status, received_at)
			VALUES ($1, $2, $3, $4, $5, 'applied', $6) ON CONFLICT (id) DO NOTHING`,
			ev.ID, ev.MSISDN, ev.Event, ev.At, newMSISDN, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			seen, err := seenEvents(ctx, tx, []string{ev.ID})
			r = seen[ev.ID]
			return err
		}
		if ev.Event == care360.EventMSISDNChange {
			var taken bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM subscribers WHERE msisdn = $1)`, ev.NewMSISDN).Scan(&taken); err != nil {
				return err
			}
			if taken {
				r.Status, r.Reason, r.Message = care360.LifecycleRejected, care360.LifecycleNumberInUse, "another member has the new number"
				return errRollback
			}
			if err := changeNumber(ctx, tx, memberID, ev, now); err != nil {
				return err
			}
		} else if err := closeMembership(ctx, tx, memberID, ev, now); err != nil {
			return err
		}
		r.Status = care360.LifecycleApplied
		return nil
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	if err != nil && isDataError(err) {
		// The database refuses this event, and would again: it is set
		// aside, recorded as rejected, and the batch goes on.
		return db.setAsideLifecycle(ctx, ev, err, now)
	}
	return r, interpretError(err)
}

// seenEvents answers the event ids among ids that were seen before as
// they were answered: a duplicate of one applied, the same rejection for
// one set aside. Ids never seen are not in the map.
func seenEvents(ctx context.Context, tx pgx.Tx, ids []string) (map[string]care360.LifecycleResult, error) {
	rows, err := tx.Query(ctx, `SELECT id, status, error FROM lifecycle_events WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	seen := map[string]care360.LifecycleResult{}
	for rows.Next() {
		var id, status string
		var msg *string
		if err := rows.Scan(&id, &status, &msg); err != nil {
			return nil, err
		}
		r := care360.LifecycleResult{ID: id, Status: care360.LifecycleDuplicate}
		if status == "rejected" {
			r.Status, r.Reason = care360.LifecycleRejected, care360.LifecycleSetAside
			if msg != nil {
				r.Message = *msg
			}
		}
		seen[id] = r
	}
	return seen, rows.Err()
}

// seenOrUnknown is the answer to an event about a number no open member
// holds: as before if its id was seen, else unknown_subscriber.
func seenOrUnknown(id string, seen map[string]care360.LifecycleResult) care360.LifecycleResult {
	if r, ok := seen[id]; ok {
		return r
	}
	return care360.LifecycleResult{ID: id, Status: care360.LifecycleRejected, Reason: care360.LifecycleUnknownSubscriber, Message: "no member has this number"}
}

// setAsideLifecycle records ev as rejected and puts it in the dead letters, in
// one transaction.
func (db *DB) setAsideLifecycle(ctx context.Context, ev care360.LifecycleEvent, cause error, now time.Time) (r care360.LifecycleResult, err error) {
	reason := care360.ErrorMessage(interpretError(cause))
	db.log.Warn("lifecycle event set aside", "id", ev.ID, "event", ev.Event, "msisdn", ev.MSISDN.Masked(), "err", cause)
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		var newMSISDN *string
		if ev.NewMSISDN != "" {
			s := string(ev.NewMSISDN)
			newMSISDN = &s
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO lifecycle_events (id, msisdn, event, at, new_msisdn, status, error, received_at)
			VALUES ($1, $2, $3, $4, $5, 'rejected', $6, $7) ON CONFLICT (id) DO NOTHING`,
			ev.ID, ev.MSISDN, ev.Event, ev.At, newMSISDN, reason, now)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return setAside(ctx, tx, care360.DeadLetterLifecycle, ev.ID, reason,
			map[string]any{"id": ev.ID, "msisdn": ev.MSISDN, "event": ev.Event, "at": ev.At, "new_msisdn": ev.NewMSISDN}, 1, now, now)
	})
	return care360.LifecycleResult{ID: ev.ID, Status: care360.LifecycleRejected, Reason: care360.LifecycleSetAside, Message: reason}, err
}

// errRollback undoes a transaction whose outcome is already in hand.
var errRollback = errors.New("rolled back")

// retiredKey is the key a closed membership's rows move to: no number
// looks like it, so the number is free for whoever joins with it next.
func retiredKey(memberID int64) string { return "c" + strconv.FormatInt(memberID, 10) }

// closing is one membership to close: its member, number, when and why.
type closing struct {
	memberID int64
	number   string
	at       time.Time
	event    string // churn, port_out, or erased
}

// closeMembership closes one membership (closeMemberships).
func closeMembership(ctx context.Context, tx pgx.Tx, memberID int64, ev care360.LifecycleEvent, now time.Time) error {
	return closeMemberships(ctx, tx, []closing{{memberID, string(ev.MSISDN), ev.At, ev.Event}}, now)
}

// closeMemberships closes the memberships cs (their subscribers' rows
// locked by the caller) with every effect of PRODUCT.md §7, set-based, a
// statement for all of them: spendable points forfeited, transfers pending
// to or from them cancelled, SMS and pushes not yet sent dropped, an open
// dialogue ended, a pending tier downgrade dropped, usage not yet posted
// dropped, entries in draws still open withdrawn; then each member's rows
// move to its retired key.
func closeMemberships(ctx context.Context, tx pgx.Tx, cs []closing, now time.Time) error {
	n := len(cs)
	ids, numbers, keys, ats, events := make([]int64, n), make([]string, n), make([]string, n), make([]time.Time, n), make([]string, n)
	for i, c := range cs {
		ids[i], numbers[i], keys[i], ats[i], events[i] = c.memberID, c.number, retiredKey(c.memberID), c.at, c.event
	}
	const closings = `unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) AS u (id, number, key, at, event)`
	batch := &pgx.Batch{}
	batch.Queue(`UPDATE points_transfers SET status = 'cancelled'
		WHERE status = 'pending' AND (sender = ANY($1) OR recipient = ANY($1))`, numbers)
	batch.Queue(`
		WITH gone AS (
			DELETE FROM sms_queue q USING sms_messages m
			WHERE m.msisdn = ANY($1) AND q.message_id = m.id AND (q.lease_until IS NULL OR q.lease_until <= $2)
			RETURNING q.message_id
		)
		UPDATE sms_messages SET status = 'failed', error = 'membership closed' WHERE id IN (SELECT message_id FROM gone)`, numbers, now)
	batch.Queue(`UPDATE ussd_push_targets SET state = 'failed', error = 'membership closed', ended_at = $2
		WHERE msisdn = ANY($1) AND state = 'queued'`, numbers, now)
	batch.Queue(`DELETE FROM ussd_dialogues WHERE msisdn = ANY($1)`, numbers)
	batch.Queue(`DELETE FROM tier_downgrades WHERE msisdn = ANY($1)`, numbers) // no tier review for a closed membership
	// Usage not yet posted earns nothing now (as usage dated before the
	// closing that comes later). The queue holds seconds of the feed, one
	// partition a bucket; a list of buckets computed in the statement does
	// not prune them, so each is scanned.
	batch.Queue(`DELETE FROM usage_pending WHERE msisdn = ANY($1)`, numbers)
	batch.Queue(`
		UPDATE subscribers s SET msisdn = u.key, status = 'closed', closed_at = u.at, closed_reason = u.event,
			closed_msisdn = CASE WHEN u.event = 'erased' THEN NULL ELSE u.number END,
			erased_at = CASE WHEN u.event = 'erased' THEN $6::timestamptz END,
			sim_swap_until = NULL, updated_at = $6
		FROM `+closings+` WHERE s.member_id = u.id`, ids, numbers, keys, ats, events, now)
	// The open credits are taken to zero by one forfeiture debit of each
	// kind, allocated to every credit (a member of many years has
	// thousands): keyed by kind, it can happen only once. It is written
	// once the ledger has followed the member to its closed key: written
	// before, under the number, the key's cascade wrote each debit twice.
	batch.Queue(`
		WITH c AS (
			SELECT l.id, l.msisdn, l.kind, l.remaining, u.at FROM `+closings+`
			JOIN points_ledger l ON l.msisdn = u.key AND l.remaining > 0 AND l.expires_at > u.at
		), d AS (
			INSERT INTO points_ledger (msisdn, kind, points, reason, idempotency_key, earned_at, created_at)
			SELECT msisdn, kind, -sum(remaining), 'forfeited', 'forfeit:' || kind, min(at), $6 FROM c GROUP BY msisdn, kind
			ON CONFLICT (msisdn, idempotency_key) DO NOTHING
			RETURNING id, msisdn, kind
		)
		INSERT INTO points_allocations (debit_id, credit_id, points)
		SELECT d.id, c.id, c.remaining FROM d JOIN c USING (msisdn, kind)`, ids, numbers, keys, ats, events, now)
	batch.Queue(`DELETE FROM draw_entries e USING draws d WHERE e.msisdn = ANY($1) AND d.id = e.draw_id AND d.status = 'open'`, numbers)
	queueMoves(batch, numbers, keys)
	// An erased member's numbers are forgotten.
	batch.Queue(`INSERT INTO member_numbers (member_id, msisdn, until, reason)
		SELECT u.id, u.number, u.at, u.event FROM `+closings+` WHERE u.event <> 'erased'
		ON CONFLICT DO NOTHING`, ids, numbers, keys, ats, events)
	return tx.SendBatch(ctx, batch).Close()
}

// changeNumber moves memberID from ev.MSISDN to ev.NewMSISDN: its rows
// follow the key, entries in open draws and its marketing opt-out too; an
// open dialogue on the old number ends.
func changeNumber(ctx context.Context, tx pgx.Tx, memberID int64, ev care360.LifecycleEvent, now time.Time) error {
	from, to := string(ev.MSISDN), string(ev.NewMSISDN)
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM ussd_dialogues WHERE msisdn = $1`, from)
	batch.Queue(`UPDATE subscribers SET msisdn = $2, updated_at = $3 WHERE member_id = $1`, memberID, to, now)
	batch.Queue(`UPDATE usage_pending SET msisdn = $2, bucket = hashtext($2) & $3 WHERE bucket = hashtext($1) & $3 AND msisdn = $1`, from, to, usageBuckets-1)
	batch.Queue(`UPDATE draw_entries e SET msisdn = $2 FROM draws d WHERE e.msisdn = $1 AND d.id = e.draw_id AND d.status = 'open'`, from, to)
	batch.Queue(`WITH o AS (DELETE FROM sms_optouts WHERE msisdn = $1 RETURNING created_at)
		INSERT INTO sms_optouts (msisdn, created_at) SELECT $2, created_at FROM o ON CONFLICT DO NOTHING`, from, to)
	queueMoves(batch, []string{from}, []string{to})
	batch.Queue(`INSERT INTO member_numbers (member_id, msisdn, until, reason) VALUES ($1, $2, $3, 'msisdn_change')
		ON CONFLICT DO NOTHING`, memberID, from, ev.At)
	return tx.SendBatch(ctx, batch).Close()
}

// queueMoves moves the rows of members that no foreign key ties to
// subscribers (the others cascade) from keys from to keys to.
func queueMoves(batch *pgx.Batch, from, to []string) {
	for _, table := range []string{"sms_messages", "sms_inbound", "feedback", "dialogue_records", "ussd_push_targets"} {
		batch.Queue(`UPDATE `+table+` t SET msisdn = u.key FROM unnest($1::text[], $2::text[]) AS u (old, key) WHERE t.msisdn = u.old`, from, to)
	}
}

// Closings applies a run of churn and port_out events together, in one
// transaction whose statements each close all of them (closeMemberships):
// the way a CRM's nightly batch of disconnections is applied at the rate
// of a SIM swap batch rather than one transaction each. Results are per
// event, in order, as Membership gives them: an event about a number no
// open member holds (or one an earlier event of the run freed) is
// unknown_subscriber, an id seen before is answered as before. Should the
// database refuse the run for its data, each event is applied on its own,
// so that only the bad one is set aside.
func (db *DB) Closings(ctx context.Context, evs []care360.LifecycleEvent) (out []care360.LifecycleResult, err error) {
	defer wrap(&err, "apply %d closings", len(evs))
	now := db.now()
	err = db.Transact(ctx, func(tx pgx.Tx) error {
		out = make([]care360.LifecycleResult, len(evs))
		numbers := make([]string, len(evs))
		for i, ev := range evs {
			numbers[i] = string(ev.MSISDN)
		}
		rows, err := tx.Query(ctx, `SELECT msisdn, member_id FROM subscribers WHERE msisdn = ANY($1) ORDER BY msisdn FOR UPDATE`, numbers)
		if err != nil {
			return err
		}
		members := map[string]int64{}
		for rows.Next() {
			var m string
			var id int64
			if err := rows.Scan(&m, &id); err != nil {
				return err
			}
			members[m] = id
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// The first event of each open member's number, with an id not
		// seen in the run, is a candidate; recording it by id decides.
		var cand []int
		taken, ids := map[string]bool{}, map[string]bool{}
		for i, ev := range evs {
			if _, ok := members[numbers[i]]; ok && !taken[numbers[i]] && !ids[ev.ID] {
				cand, taken[numbers[i]] = append(cand, i), true
			}
			ids[ev.ID] = true
		}
		cIDs, cNumbers, cEvents, cAts := make([]string, len(cand)), make([]string, len(cand)), make([]string, len(cand)), make([]time.Time, len(cand))
		for j, i := range cand {
			cIDs[j], cNumbers[j], cEvents[j], cAts[j] = evs[i].ID, numbers[i], evs[i].Event, evs[i].At
		}
		rows, err = tx.Query(ctx, `
			INSERT INTO lifecycle_events (id, msisdn, event, at, status, received_at)
			SELECT id, msisdn, event, at, 'applied', $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS e (id, msisdn, event, at)
			ON CONFLICT (id) DO NOTHING RETURNING id`, cIDs, cNumbers, cEvents, cAts, now)
		if err != nil {
			return err
		}
		recorded, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		applied := map[string]bool{}
		for _, id := range recorded {
			applied[id] = true
		}
		// The others are answered as their ids were before, or as
		// unknown; an id applied above and repeated later in the run is a
		// duplicate, as its row now says.
		all := make([]string, len(evs))
		for i, ev := range evs {
			all[i] = ev.ID
		}
		seen, err := seenEvents(ctx, tx, all)
		if err != nil {
			return err
		}
		var cs []closing
		done := map[string]bool{}
		for i, ev := range evs {
			if applied[ev.ID] && !done[ev.ID] {
				done[ev.ID] = true
				out[i] = care360.LifecycleResult{ID: ev.ID, Status: care360.LifecycleApplied}
				cs = append(cs, closing{members[numbers[i]], numbers[i], ev.At, ev.Event})
				continue
			}
			out[i] = seenOrUnknown(ev.ID, seen)
		}
		if len(cs) == 0 {
			return nil
		}
		return closeMemberships(ctx, tx, cs, now)
	})
	if err != nil && isDataError(err) {
		out = make([]care360.LifecycleResult, len(evs))
		for i, ev := range evs {
			if out[i], err = db.Membership(ctx, ev); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return out, err
}
