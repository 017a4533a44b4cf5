package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"strconv"
	"time"

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
const notificationBuffer = 100_000

// NotificationEnded buffers how a notification ended (care360.PushTracker);
// the flusher writes the buffer every 20 ms in one transaction. An ending
// lost with the process (at most those 20 ms) leaves its target sent, and
// the sweep ends it no_answer: the fallback SMS then goes although the
// phone showed the notification, the one way this can err.
func (p *Pushes) NotificationEnded(msisdn care360.MSISDN, ref int, state, bind string) {
	if state != care360.PushCompleted && state != care360.PushNoAnswer {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) >= notificationBuffer {
		return
	}
	p.pending = append(p.pending, notificationEnd{msisdn, ref, state, bind, p.db.now()})
	if len(p.pending) == 1000 {
		p.loop.Kick()
	}
}

// Start runs the writer of notification endings until Stop.
func (p *Pushes) Start() { p.loop.Start() }

// Stop writes what is left, within ctx.
func (p *Pushes) Stop(ctx context.Context) error { return p.loop.Stop(ctx) }

// Flush writes the buffered endings: each live notification target of its
// member and dialogue number (care360.PushRef: known before the sender has
// recorded the push as sent) ends as the phone said, its record is added,
// and those dropped by the network fall back to SMS — one transaction.
// What cannot be written is kept for the next try.
func (p *Pushes) Flush(ctx context.Context) (err error) {
	p.mu.Lock()
	batch := p.pending
	p.pending = nil
	p.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	defer func() {
		if err != nil {
			p.mu.Lock()
			p.pending = append(batch, p.pending...)
			p.mu.Unlock()
		}
	}()
	defer wrap(&err, "write %d notification endings", len(batch))
	msisdns, refs, states, binds, ats := make([]string, len(batch)), make([]int32, len(batch)), make([]string, len(batch)),
		make([]string, len(batch)), make([]time.Time, len(batch))
	for i, e := range batch {
		msisdns[i], refs[i], states[i], binds[i], ats[i] = string(e.msisdn), int32(e.ref), e.state, plainText(e.bind), e.at
	}
	return p.db.Transact(ctx, func(tx pgx.Tx) error {
		// Each ending looks its member's live targets up by index
		// (LATERAL): joined as sets, the planner may scan every target
		// for a batch of a few hundred. The targets are locked in the
		// order of their ids (lk, materialized so that it is not folded
		// into the join) before they are updated, as the sender's
		// record of pushes sent locks them (lockTargetsSQL).
		rows, err := tx.Query(ctx, `
			WITH hit AS (
				SELECT DISTINCT ON (x.id) x.id, a.state, a.bind, a.at
				FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::timestamptz[]) AS a (msisdn, ref, state, bind, at)
				CROSS JOIN LATERAL (
					SELECT t.id FROM ussd_push_targets t JOIN ussd_pushes p ON p.id = t.push_id
					WHERE t.msisdn = a.msisdn AND t.state IN ('queued', 'sent') AND (t.id % 65535) + 1 = a.ref AND p.kind = 'notify'
				) x
				ORDER BY x.id, a.at
			), lk AS MATERIALIZED (
				SELECT t.id FROM ussd_push_targets t WHERE t.id IN (SELECT id FROM hit) ORDER BY t.id FOR UPDATE OF t
			)
			UPDATE ussd_push_targets t SET state = hit.state, ended_at = hit.at
			FROM hit JOIN lk USING (id) WHERE t.id = hit.id AND t.state IN ('queued', 'sent')
			RETURNING t.id, t.msisdn, t.state, coalesce(t.sent_at, hit.at), hit.bind, hit.at`,
			msisdns, refs, states, binds, ats)
		if err != nil {
			return err
		}
		var recs []care360.DialogueRecord
		var dropped []int64
		for rows.Next() {
			var r care360.DialogueRecord
			var id int64
			if err := rows.Scan(&id, &r.MSISDN, &r.Outcome, &r.StartedAt, &r.Bind, &r.EndedAt); err != nil {
				return err
			}
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
