package store

// Draw entries made together (groups.go): a group of waiting entries is
// one transaction of three round trips, with one statement per table for
// them all. Each entry is decided as enterAlone decides it, under the same
// locks (the draws' entry locks shared, the members' rows); UNIQUE
// (draw_id, msisdn) and the ledger's constraints hold the group's
// statements as they hold an entry alone.

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// newEntryGroups admits s's entries to its entry transactions.
func newEntryGroups(s *Draws) *groups[entryRequest, entryResult] {
	return &groups[entryRequest, entryResult]{
		name:     "draw entries",
		alone:    s.enterAlone,
		together: s.enterGroup,
		// A member's entries in one statement would each miss the
		// others' debits.
		apart: func(r entryRequest) []string { return []string{string(r.msisdn)} },
		warn:  s.db.log.Warn,
	}
}

// EntriesGrouped is how many entries s's groups have decided (made,
// refused or replayed) since it was made; the others were made alone.
func (s *Draws) EntriesGrouped() int64 { return s.groups.grouped.Load() }

// entryAdmission is what a group reads before it writes: the draws, the
// locked members, and for each entry whether its member has entered its
// draw, the entry its key made (replayed, nil when none), the new entry's
// id and receipt; and each member's spendable points.
type entryAdmission struct {
	draws     map[int64]*care360.Draw
	subs      map[care360.MSISDN]*care360.Subscriber
	entered   []bool
	replayed  []*care360.DrawEntry
	next      []entryTicket
	spendable map[care360.MSISDN]int64
}

// enterGroup makes group's entries in one transaction: the begin with the
// locks and reads (queueEntryAdmission); the debits, entries and receipt
// SMS, one statement each; the commit.
func (s *Draws) enterGroup(ctx context.Context, group []entryRequest, givenUp func() []bool) (outs []outcome[entryResult], err error) {
	now := s.db.now()
	err = s.db.transactFrom(ctx, func(b *pgx.Batch) { queueEntryAdmission(b, group, now) }, func(tx pgx.Tx, br pgx.BatchResults) error {
		a, err := s.readEntryAdmission(br, group)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		outs = make([]outcome[entryResult], len(group))
		gone := givenUp()
		var going []int
		for i, r := range group {
			if gone[i] {
				outs[i].err = context.Canceled // nobody reads it
				continue
			}
			if outs[i] = s.decideEntry(r, a, i, now); outs[i].err == nil && !outs[i].out.replay {
				going = append(going, i)
			}
		}
		return s.writeEntries(ctx, tx, group, a, going, outs, now)
	})
	return outs, err
}

// queueEntryAdmission queues, after the BEGIN, what queueAdmit queues for
// one entry, for all of them: the draws' entry locks (shared, in one
// order), the draws, the members' row locks (in one order), each entry's
// state and number, and the members' spendable points. The statements run
// in order, so everything is read after the locks were granted.
func queueEntryAdmission(b *pgx.Batch, group []entryRequest, now time.Time) {
	draws, msisdns, keys := make([]int64, len(group)), make([]string, len(group)), make([]string, len(group))
	for i, r := range group {
		draws[i], msisdns[i], keys[i] = r.draw, string(r.msisdn), r.key
	}
	b.Queue(`SELECT count(pg_advisory_xact_lock_shared($1, (d % 2147483648)::int))
		FROM (SELECT DISTINCT d FROM unnest($2::bigint[]) AS d ORDER BY d) AS u`, drawLock, draws)
	b.Queue(`SELECT `+drawColumns(false)+` FROM draws d WHERE d.id = ANY($1)`, draws)
	b.Queue(membersLockSQL, msisdns)
	b.Queue(entryAdmissionSQL, draws, msisdns, keys)
	b.Queue(spendableSQL, msisdns, now)
}

// entryAdmissionSQL is each entry's state and number: $1 the draws, $2
// the members, $3 the keys. A member's entry of a draw is found by one
// probe (a LATERAL with a LIMIT, which the planner keeps a nested loop),
// and is the replay when its key is the request's: an EXISTS here was
// planned, on a new draw's statistics, as a hash of every entry of the
// table, built again for each group, and the join as a scan of them all.
const entryAdmissionSQL = `
	SELECT x.entered, x.id, x.tier, x.tickets, x.cost, x.receipt, x.created_at,
		x.next, substr(encode(sha256(coalesce(x.receipt_key, '') || int8send(x.next) || convert_to(x.m, 'UTF8')), 'hex'), 1, 10)
	FROM (
		SELECT u.i, u.m, d.receipt_key, f.id IS NOT NULL AS entered,
			r.id, r.tier, r.tickets, r.cost, r.receipt, r.created_at, nextval('draw_entries_id_seq') AS next
		FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS u (d, m, k, i)
		LEFT JOIN draws d ON d.id = u.d
		LEFT JOIN LATERAL (SELECT * FROM draw_entries e WHERE e.draw_id = u.d AND e.msisdn = u.m LIMIT 1) f ON true
		LEFT JOIN LATERAL (SELECT f.id, f.tier, f.tickets, f.cost, f.receipt, f.created_at WHERE f.idempotency_key = NULLIF(u.k, '')) r ON true
	) AS x ORDER BY x.i`

// readEntryAdmission reads queueEntryAdmission's results, in order.
func (s *Draws) readEntryAdmission(br pgx.BatchResults, group []entryRequest) (a entryAdmission, err error) {
	if _, err := br.Exec(); err != nil {
		return a, err
	}
	rows, err := br.Query()
	if err != nil {
		return a, err
	}
	draws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*care360.Draw, error) { return scanDraw(r) })
	if err != nil {
		return a, err
	}
	a.draws = make(map[int64]*care360.Draw, len(draws))
	for _, d := range draws {
		a.draws[d.ID] = d
	}
	if a.subs, err = s.db.readMembers(br); err != nil {
		return a, err
	}
	a.entered, a.replayed, a.next = make([]bool, len(group)), make([]*care360.DrawEntry, len(group)), make([]entryTicket, len(group))
	if err := scanEach(br, len(group), "entries", func(i int, rows pgx.Rows) error {
		var id, cost *int64
		var tier, receipt *string
		var tickets *int
		var at *time.Time
		if err := rows.Scan(&a.entered[i], &id, &tier, &tickets, &cost, &receipt, &at, &a.next[i].id, &a.next[i].receipt); err != nil {
			return err
		}
		if id != nil {
			r := group[i]
			a.replayed[i] = &care360.DrawEntry{ID: *id, DrawID: r.draw, MSISDN: r.msisdn, Tier: care360.Tier(*tier), Tickets: *tickets,
				Cost: *cost, Receipt: *receipt, CreatedAt: *at}
		}
		return nil
	}); err != nil {
		return a, err
	}
	a.spendable, err = readSpendable(br)
	return a, err
}

// decideEntry is enterAlone's decision for the group's entry i, made on
// what the group read; an entry that goes ahead has the zero outcome.
func (s *Draws) decideEntry(r entryRequest, a entryAdmission, i int, now time.Time) outcome[entryResult] {
	refused := func(err error) outcome[entryResult] { return outcome[entryResult]{err: err} }
	d, sub := a.draws[r.draw], a.subs[r.msisdn]
	switch {
	case d == nil:
		return refused(notFound(pgx.ErrNoRows, "no draw %d", r.draw))
	case sub == nil:
		return refused(notFound(pgx.ErrNoRows, "no subscriber %s", r.msisdn.Masked()))
	case sub.Status == care360.StatusSuspended:
		return refused(care360.Refused(care360.ReasonSuspended, "%s is suspended", r.msisdn.Masked()))
	case a.entered[i] && a.replayed[i] != nil:
		return outcome[entryResult]{out: entryResult{e: a.replayed[i], replay: true}}
	}
	tickets := d.TicketsFor(sub.Tier)
	switch {
	case d.Status == care360.DrawCancelled:
		return refused(care360.Refused(care360.ReasonCancelled, "draw %s was cancelled: it takes no entries", d.Code))
	case !d.OpenAt(now):
		return refused(care360.Refused(care360.ReasonWindow, "draw %s is not taking entries", d.Code))
	case tickets == 0:
		return refused(care360.Refused(care360.ReasonTier, "draw %s is not open to tier %s", d.Code, sub.Tier))
	case a.entered[i]:
		return refused(care360.Refused(care360.ReasonLimitReached, "%s has entered draw %s already", r.msisdn.Masked(), d.Code))
	}
	if d.EntryCost > 0 {
		if err := sub.CheckHold(); err != nil {
			return refused(err)
		}
		if have := a.spendable[sub.MSISDN]; have < d.EntryCost {
			return refused(insufficient(have, d.EntryCost))
		}
	}
	return outcome[entryResult]{}
}

// writeEntries writes the going entries in one round trip: their debits,
// the entries (each finding its debit by its key, as insertEntry's does),
// and their receipt SMS, one statement each. outs gets each entry made.
func (s *Draws) writeEntries(ctx context.Context, tx pgx.Tx, group []entryRequest, a entryAdmission, going []int, outs []outcome[entryResult], now time.Time) error {
	if len(going) == 0 {
		return nil
	}
	var debits groupDebits
	var ids, draws, costs []int64
	var tickets []int32
	var msisdns, tiers, receipts, keys []string
	var debitKeys []*string
	var msgs []care360.OutgoingSMS
	for _, i := range going {
		r := group[i]
		d, sub := a.draws[r.draw], a.subs[r.msisdn]
		e := &care360.DrawEntry{ID: a.next[i].id, DrawID: d.ID, MSISDN: sub.MSISDN, Tier: sub.Tier, Tickets: d.TicketsFor(sub.Tier),
			Cost: d.EntryCost, Receipt: a.next[i].receipt, CreatedAt: now}
		var debitKey *string
		if d.EntryCost > 0 {
			key := fmt.Sprintf("draw:%d", d.ID)
			debits.add(sub.MSISDN, -d.EntryCost, "draw "+d.Code+" entry", key)
			debitKey = &key
		}
		ids, draws, costs, tickets = append(ids, e.ID), append(draws, d.ID), append(costs, e.Cost), append(tickets, int32(e.Tickets))
		msisdns, tiers, receipts, keys = append(msisdns, string(e.MSISDN)), append(tiers, string(e.Tier)), append(receipts, e.Receipt), append(keys, r.key)
		debitKeys = append(debitKeys, debitKey)
		msgs = append(msgs, care360.DrawReceiptSMS(d, e, sub.Language, s.db.loc))
		outs[i].out.e = e
	}
	b := &pgx.Batch{}
	debits.queue(b, now)
	b.Queue(`
		WITH r AS (
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::text[], $8::text[], $9::text[])
				AS r (id, draw_id, msisdn, tier, tickets, cost, debit_key, receipt, key)
		)
		INSERT INTO draw_entries (id, draw_id, msisdn, tier, tickets, cost, debit_id, receipt, created_at, idempotency_key)
		SELECT r.id, r.draw_id, r.msisdn, r.tier, r.tickets, r.cost, l.id, r.receipt, $10, NULLIF(r.key, '')
		FROM r LEFT JOIN points_ledger l ON l.msisdn = r.msisdn AND l.idempotency_key = r.debit_key
		WHERE (l.id IS NULL) = (r.debit_key IS NULL)
		ON CONFLICT (draw_id, msisdn) DO NOTHING`,
		ids, draws, msisdns, tiers, tickets, costs, debitKeys, receipts, keys, now)
	sql, args, err := transactionalInsert(now, msgs)
	if err != nil {
		return err
	}
	b.Queue(sql, args...)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if err := debits.read(br); err != nil {
		return err
	}
	tag, err := br.Exec()
	if err != nil {
		return err
	}
	if n := tag.RowsAffected(); n != int64(len(going)) {
		return fmt.Errorf("%d entries made of %d", n, len(going))
	}
	if _, err := br.Exec(); err != nil { // the SMS
		return err
	}
	return br.Close()
}
