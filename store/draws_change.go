package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
)

// lockEntries takes the draw's entry lock exclusively, as a close does:
// entries in flight (each holds it shared) finish first, and entries that
// come later wait and then see what this transaction left.
func lockEntries(ctx context.Context, tx pgx.Tx, id int64) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, ($2::bigint % 2147483648)::int)`, drawLock, id)
	return err
}

// UpdateDraw changes an open draw under its entry lock, so that every
// entry is made wholly under the old terms or wholly under the new; once
// someone has entered, the terms (entry cost, tickets) stay. Once closed,
// the entries and their digest are published: nothing changes.
func (s *Draws) UpdateDraw(ctx context.Context, id int64, u care360.DrawUpdate) (d *care360.Draw, err error) {
	defer wrap(&err, "update draw %d", id)
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		if err := lockEntries(ctx, tx, id); err != nil {
			return err
		}
		var status care360.DrawStatus
		if err := tx.QueryRow(ctx, `SELECT status FROM draws WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
			return notFound(err, "no draw %d", id)
		}
		if status != care360.DrawOpen {
			return care360.Errorf(care360.ECONFLICT, "draw %d is %s: a draw can be changed only before it closes", id, status)
		}
		d, err := s.txDraw(ctx, tx, id)
		if err != nil {
			return err
		}
		was := *d
		u.Apply(d)
		if err := d.Validate(); err != nil {
			return err
		}
		if d.EntryCost != was.EntryCost || !slices.Equal(ticketArray(d.Tickets), ticketArray(was.Tickets)) {
			// The terms of entry are the same for every entrant: each entry
			// carries its tickets, and the audit file checks them against
			// the table (draw.Verify).
			var entered bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM draw_entries WHERE draw_id = $1)`, id).Scan(&entered); err != nil {
				return err
			}
			if entered {
				return care360.Errorf(care360.ECONFLICT, "draw %d has entries: its entry_cost and tickets can no longer change", id)
			}
		}
		if _, err := tx.Exec(ctx, `
			UPDATE draws SET name = $2, name_en = $3, opens_at = $4, closes_at = $5, entry_cost = $6, tickets = $7, active = $8
			WHERE id = $1`, id, d.Name, d.NameEn, d.OpensAt, d.ClosesAt, d.EntryCost, ticketArray(d.Tickets), d.Active); err != nil {
			return err
		}
		if u.Prizes == nil {
			return nil
		}
		// An open draw has no winners, so nothing refers to its prizes.
		if _, err := tx.Exec(ctx, `DELETE FROM draw_prizes WHERE draw_id = $1`, id); err != nil {
			return err
		}
		return insertPrizes(ctx, tx, id, d.Prizes)
	})
	if err != nil {
		return nil, err
	}
	return s.Draw(ctx, id)
}

// CancelDraw cancels a draw that has not been run, in one transaction
// under the draw's entry lock and row lock: the entries are frozen with a
// digest (as at a close, unless the draw was closed already), each paid
// entry's points are credited back, each entrant's SMS is queued, and the
// status becomes cancelled. Two cancels are serialised by the locks and
// the second finds the draw cancelled; each refund credit also carries a
// key of the system's own, refund:draw:<draw>:<entry>:<n>, so that no
// path can credit an entry twice.
//
// Refunds give back the very points the entry took, as bonus points with
// the expiry dates of the credits it consumed (creditBack, as a refunded
// gift claim): a refund never buys a tier or makes points live longer.
func (s *Draws) CancelDraw(ctx context.Context, id int64) (c *care360.DrawCancellation, err error) {
	defer wrap(&err, "cancel draw %d", id)
	now := s.db.now()
	var cancelled bool
	var status care360.DrawStatus
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		cancelled = false
		if err := lockEntries(ctx, tx, id); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT status FROM draws WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
			return notFound(err, "no draw %d", id)
		}
		switch status {
		case care360.DrawCancelled:
			return nil
		case care360.DrawDrawn:
			return care360.Errorf(care360.ECONFLICT, "draw %d was run already: its winners stand and it cannot be cancelled", id)
		}
		es, err := frozenEntries(ctx, tx, id)
		if err != nil {
			return err
		}
		// The subscribers' row locks, in one order, as every points change
		// takes them: a member's spin or claim waits for the refund.
		if _, err := tx.Exec(ctx, `
			SELECT count(*) FROM (
				SELECT 1 FROM subscribers
				WHERE msisdn IN (SELECT member_key_at(msisdn, created_at) FROM draw_entries WHERE draw_id = $1) AND status <> 'closed'
				ORDER BY msisdn FOR UPDATE
			) l`, id); err != nil {
			return err
		}
		d, err := s.txDraw(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
			SELECT s.msisdn, 'bonus', a.points, a.points, $2,
				'refund:draw:' || $1::bigint || ':' || e.id || ':' || row_number() OVER (PARTITION BY e.id ORDER BY a.expires_at), $3, a.expires_at, $3
			FROM draw_entries e
			-- To the entrant member, wherever its number is now; a closed
			-- membership's points were forfeited, and a refund would be too.
			JOIN subscribers s ON s.msisdn = member_key_at(e.msisdn, e.created_at) AND s.status <> 'closed'
			CROSS JOIN LATERAL (
				SELECT c.expires_at, sum(x.points) AS points FROM points_allocations x
				JOIN points_ledger c ON c.id = x.credit_id
				WHERE x.debit_id = e.debit_id GROUP BY c.expires_at
			) a
			WHERE e.draw_id = $1 AND e.debit_id IS NOT NULL
			ON CONFLICT (msisdn, idempotency_key) DO NOTHING`,
			id, "draw "+d.Code+" cancelled: entry refunded", now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE draws SET status = 'cancelled', cancelled_at = $2, closed_at = coalesce(closed_at, $2),
				entries_count = coalesce(entries_count, $3), entries_digest = coalesce(entries_digest, $4)
			WHERE id = $1`, id, now, len(es), draw.Hex(draw.Digest(id, es))); err != nil {
			return err
		}
		cancelled = true
		return s.cancelSMS(ctx, tx, d, now)
	})
	if err != nil {
		return nil, err
	}
	if c, err = s.cancellation(ctx, id); err == nil {
		c.Replay, c.From = !cancelled, status
	}
	if err == nil && cancelled {
		s.db.log.Info("draw cancelled", "draw", id, "entries", c.Entries, "refunded", c.Refunded, "points", c.Points)
	}
	return c, err
}

// cancelSMS queues every entrant's cancellation SMS in their language, a
// page of entries at a time so that a draw of millions needs no more
// memory than one page.
func (s *Draws) cancelSMS(ctx context.Context, tx pgx.Tx, d *care360.Draw, now time.Time) error {
	const page = 5000
	for after := int64(0); ; {
		rows, err := tx.Query(ctx, `SELECT `+entryColumns+`, s.language, s.msisdn
			FROM draw_entries e LEFT JOIN subscribers s ON s.msisdn = member_key_at(e.msisdn, e.created_at) AND s.status <> 'closed'
			WHERE e.draw_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3`, d.ID, after, page)
		if err != nil {
			return err
		}
		msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.OutgoingSMS, error) {
			var e care360.DrawEntry
			var lang *care360.Language
			var to *care360.MSISDN
			if err := r.Scan(append(entryDest(&e), &lang, &to)...); err != nil {
				return care360.OutgoingSMS{}, err
			}
			after = e.ID
			if to == nil {
				return care360.OutgoingSMS{}, nil // the entrant's membership has closed
			}
			m := care360.DrawCancelSMS(d, &e, *lang)
			m.MSISDN = *to
			return m, nil
		})
		if err != nil {
			return fmt.Errorf("cancellation SMS: %w", err)
		}
		n := len(msgs)
		msgs = slices.DeleteFunc(msgs, func(m care360.OutgoingSMS) bool { return m.MSISDN == "" })
		if err := insertTransactional(ctx, tx, now, msgs); err != nil || n < page {
			return err
		}
	}
}

// cancellation reads what cancelling the draw did. The entries of a
// cancelled draw never change (the draw_entries_frozen trigger), so every
// cancel of it answers the same.
func (s *Draws) cancellation(ctx context.Context, id int64) (*care360.DrawCancellation, error) {
	d, err := s.Draw(ctx, id)
	if err != nil {
		return nil, err
	}
	c := &care360.DrawCancellation{Draw: *d}
	err = s.db.pool.QueryRow(ctx, `SELECT count(*), count(debit_id), coalesce(sum(cost), 0)::bigint
		FROM draw_entries WHERE draw_id = $1`, id).Scan(&c.Entries, &c.Refunded, &c.Points)
	return c, err
}
