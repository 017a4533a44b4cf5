package store

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// notificationEnd is a phone's word about a pushed notification, waiting
// to be written.
type notificationEnd struct {
	msisdn      care360.MSISDN
	ref         int
	state, bind string
	at          time.Time
}

// notificationBuffer bounds what waits while Postgres is away: past it,
// endings are dropped, and their targets end no_answer at the sweep.
// notificationBatch is how many one transaction writes: a backlog (after
// an outage, or a push to a whole segment acknowledged at once) is
// written a batch at a time, each well within the writer's time limit,
// so that it shrinks with every batch written instead of being tried
// whole again.
const (
	notificationBuffer = 100_000
	notificationBatch  = 1000
)

// NotificationEnded buffers how a notification ended (care360.PushTracker);
// the flusher writes the buffer every 20 ms, or at once when a batch is
// full. An ending lost with the process (at most those 20 ms) leaves its
// target sent, and the sweep ends it no_answer: the fallback SMS then
// goes although the phone showed the notification, the one way this can
// err.
func (p *Pushes) NotificationEnded(msisdn care360.MSISDN, ref int, state, bind string) {
	if state != care360.PushCompleted && state != care360.PushNoAnswer {
		return
	}
	if p.ended.add(notificationEnd{msisdn, ref, state, bind, p.db.now()}) {
		p.loop.Kick()
	}
}

// Start runs the writer of notification endings until Stop.
func (p *Pushes) Start() { p.loop.Start() }

// Stop writes what is left, within ctx.
func (p *Pushes) Stop(ctx context.Context) error { return p.loop.Stop(ctx) }

// Flush writes the buffered endings, a batch at a time (writeEndings);
// a batch that cannot be written is kept for the next try.
func (p *Pushes) Flush(ctx context.Context) error { return p.ended.flush(ctx, p.writeEndings) }

// writeEndings writes a batch of endings: each live notification target
// of its member and dialogue number (care360.PushRef: known before the
// sender has recorded the push as sent) ends as the phone said, its record
// is added, and those dropped by the network fall back to SMS, in one
// transaction.
func (p *Pushes) writeEndings(ctx context.Context, batch []notificationEnd) (err error) {
	defer wrap(&err, "write %d notification endings", len(batch))
	msisdns, refs, states, binds, ats := make([]string, len(batch)), make([]int32, len(batch)), make([]string, len(batch)),
		make([]string, len(batch)), make([]time.Time, len(batch))
	for i, e := range batch {
		msisdns[i], refs[i], states[i], binds[i], ats[i] = string(e.msisdn), int32(e.ref), e.state, plainText(e.bind), e.at
	}
	return p.db.Transact(ctx, func(tx pgx.Tx) error {
		// Every statement looks rows up by key (keyedPlans). The targets
		// are found first, then locked in the order of their ids (as the
		// sender's record of pushes sent locks them: lockTargetsSQL) and
		// ended, each by its key.
		b := &pgx.Batch{}
		b.Queue(keyedPlans)
		b.Queue(notificationHitSQL, msisdns, refs, states, binds, ats)
		var ids []int64
		var hitStates []string
		var hitAts []time.Time
		bindOf := make(map[int64]string)
		var id int64
		var state, bind string
		var at time.Time
		br := tx.SendBatch(ctx, b)
		_, err := br.Exec() // keyedPlans
		if err == nil {
			rows, _ := br.Query()
			_, err = pgx.ForEachRow(rows, []any{&id, &state, &bind, &at}, func() error {
				ids, hitStates, hitAts, bindOf[id] = append(ids, id), append(hitStates, state), append(hitAts, at), bind
				return nil
			})
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil || len(ids) == 0 {
			return err
		}
		// Locked, the targets still live are ended; one ended meanwhile
		// (by the sweep) stays as it is.
		live, err := lockLiveTargets(ctx, tx, ids)
		if err != nil {
			return err
		}
		n := 0
		for i, id := range ids {
			if live[id] {
				ids[n], hitStates[n], hitAts[n] = id, hitStates[i], hitAts[i]
				n++
			}
		}
		if n == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, notificationEndSQL, ids[:n], hitStates[:n], hitAts[:n])
		if err != nil {
			return err
		}
		defer rows.Close()
		var recs []care360.DialogueRecord
		var dropped []int64
		for rows.Next() {
			var r care360.DialogueRecord
			var id int64
			if err := rows.Scan(&id, &r.MSISDN, &r.Outcome, &r.StartedAt, &r.EndedAt); err != nil {
				return err
			}
			r.Bind = bindOf[id]
			r.ID, r.Code, r.Channel, r.Path, r.LastScreen = "push-"+strconv.FormatInt(id, 10), p.code, care360.ChannelPush, []string{"push"}, "push"
			recs = append(recs, r)
			if r.Outcome == care360.PushNoAnswer {
				dropped = append(dropped, id)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := insertRecords(ctx, tx, recs); err != nil {
			return err
		}
		return p.fallBack(ctx, tx, dropped)
	})
}

// notificationHitSQL finds the live notification targets of buffered
// endings $1..$5 (member, dialogue number, state, bind, time), in the
// order of their ids; a target named twice keeps its first ending. Each
// ending probes its member's live targets (the partial index of queued and
// sent ones) on its own: OFFSET 0 keeps the planner from joining the
// endings to the targets as two sets, which on a young table's statistics
// it did by reading every target of the push into a hash, for every
// batch. The push's kind is read for each target found.
const notificationHitSQL = `
	SELECT DISTINCT ON (x.id) x.id, a.state, a.bind, a.at
	FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::timestamptz[]) AS a (msisdn, ref, state, bind, at)
	CROSS JOIN LATERAL (
		SELECT t.id FROM ussd_push_targets t
		WHERE t.msisdn = a.msisdn AND t.state IN ('queued', 'sent') AND (t.id % 65535) + 1 = a.ref
		  AND (SELECT p.kind FROM ussd_pushes p WHERE p.id = t.push_id) = 'notify'
		OFFSET 0
	) x
	ORDER BY x.id, a.at`

// lockLiveTargets locks targets ids in the order of their ids, as
// lockTargetsSQL does, and says which of them are still queued or sent.
// Their state is read here, under the lock, and not asked of the
// statements that find and end them: "state IN ('queued', 'sent')" is the
// predicate of the partial index of live targets, and a planner that
// thinks the table young reads that whole index instead of the keys.
func lockLiveTargets(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]bool, error) {
	rows, err := tx.Query(ctx, `SELECT id, state IN ('queued', 'sent') FROM ussd_push_targets WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, err
	}
	live := make(map[int64]bool, len(ids))
	var id int64
	var ok bool
	_, err = pgx.ForEachRow(rows, []any{&id, &ok}, func() error {
		live[id] = ok
		return nil
	})
	return live, err
}

// notificationEndSQL ends targets $1, locked and live, as $2 at $3, each
// found by its key: the endings drive the join. Joined to the set of
// endings inside the statement that found them, each target had compared
// every other ending too, a batch of n comparing n² pairs.
const notificationEndSQL = `
	UPDATE ussd_push_targets t SET state = u.state, ended_at = u.at
	FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u (id, state, at)
	WHERE t.id = u.id
	RETURNING t.id, t.msisdn, t.state, coalesce(t.sent_at, u.at), u.at`
