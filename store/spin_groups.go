package store

// Lucky spins made together (groups.go): a group of waiting spins is one
// transaction of four round trips, with one statement per table for them
// all. Each spin is decided as spinAlone decides it, under the members'
// locks, with the number drawn before; the constraints that hold a spin
// alone (stock never below zero, a prize only where the number landed,
// a grant or points, never both) hold the group's statements too. A spin
// whose prize the group could not take a unit of at once is made alone,
// which waits for a stripe, or finds the prize gone.

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// newSpinGroups admits s's spins to its spin transactions.
func newSpinGroups(s *Spins) *groups[spinRequest, *care360.SpinResult] {
	return &groups[spinRequest, *care360.SpinResult]{
		name:     "spins",
		alone:    s.spinAlone,
		together: s.spinGroup,
		// A member's spins in one statement would each miss the others'
		// count against the cap, grants and debits.
		apart: func(r spinRequest) []string { return []string{string(r.msisdn)} },
		warn:  s.db.log.Warn,
	}
}

// SpinsGrouped is how many spins s's groups have decided (made or
// refused) since it was made; the others were made alone.
func (s *Spins) SpinsGrouped() int64 { return s.groups.grouped.Load() }

// spinAdmission is what a group reads before it writes: the locked
// members, for each spin the member's spins of its table today, a free
// spin it may use (nil: none) and the new spin's id, and each member's
// spendable points.
type spinAdmission struct {
	subs      map[care360.MSISDN]*care360.Subscriber
	spun      []int
	grant     []*int64
	ids       []int64
	version   []int64 // of each spin's table
	spendable map[care360.MSISDN]int64
}

// spinGroup makes group's spins in one transaction: the begin with the
// locks and reads; a unit of each prize landed on; the grants used, the
// debits, the spins and their SMS, one statement each; the commit.
func (s *Spins) spinGroup(ctx context.Context, group []spinRequest, givenUp func() []bool) (outs []outcome[*care360.SpinResult], err error) {
	now := s.db.now()
	err = s.db.transactFrom(ctx, func(b *pgx.Batch) { s.queueSpinAdmission(b, group, now) }, func(tx pgx.Tx, br pgx.BatchResults) error {
		a, err := s.readSpinAdmission(br, group)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		outs = make([]outcome[*care360.SpinResult], len(group))
		gone := givenUp()
		var going []int
		want := make(map[int64]int)
		for i, r := range group {
			if gone[i] {
				outs[i].err = context.Canceled // nobody reads it
				continue
			}
			if outs[i].err = s.decideSpin(r, a, i); outs[i].err == nil {
				going = append(going, i)
				if r.landed != nil {
					want[r.landed.ID]++
				}
			}
		}
		taken := map[int64][]takenStripe{}
		if len(want) > 0 {
			b := &pgx.Batch{}
			prizeStock.queueTake(b, want)
			br := tx.SendBatch(ctx, b)
			taken, err = readTaken(br)
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = prizeStock.takeMore(ctx, tx, want, taken)
			}
			if err != nil {
				return err
			}
		}
		return s.writeSpins(ctx, tx, group, a, going, want, taken, outs, now)
	})
	return outs, err
}

// queueSpinAdmission queues, after the BEGIN, what queueStart queues for
// one spin, for all of them, the free spins read rather than taken (a
// member's grants change only under the member's lock, which the group
// holds): the members' row locks (in one order), each spin's count, grant,
// number and table version, and the members' spendable points.
func (s *Spins) queueSpinAdmission(b *pgx.Batch, group []spinRequest, now time.Time) {
	msisdns, tables := make([]string, len(group)), make([]int64, len(group))
	for i, r := range group {
		msisdns[i], tables[i] = string(r.msisdn), r.table.ID
	}
	b.Queue(membersLockSQL, msisdns)
	b.Queue(spinAdmissionSQL, msisdns, tables, s.dayStart(now), now)
	b.Queue(spendableSQL, msisdns, now)
}

// spinAdmissionSQL is each spin's count of the day, grant, number and its
// table's version: $1 the members, $2 the tables, $3 the day's start, $4
// now.
var spinAdmissionSQL = `
	SELECT ` + spinsToday("u.m", "u.t", "$3") + `,
		(SELECT id FROM spin_grants WHERE msisdn = u.m AND table_id = u.t AND remaining > 0 AND expires_at > $4
		 ORDER BY expires_at, id LIMIT 1),
		nextval('spins_id_seq'), ` + spinTableVersion("u.t") + `
	FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u (m, t, i)
	ORDER BY u.i`

// readSpinAdmission reads queueSpinAdmission's results, in order.
func (s *Spins) readSpinAdmission(br pgx.BatchResults, group []spinRequest) (a spinAdmission, err error) {
	if a.subs, err = s.db.readMembers(br); err != nil {
		return a, err
	}
	a.spun, a.grant, a.ids = make([]int, len(group)), make([]*int64, len(group)), make([]int64, len(group))
	a.version = make([]int64, len(group))
	if err := scanEach(br, len(group), "spins", func(i int, rows pgx.Rows) error {
		return rows.Scan(&a.spun[i], &a.grant[i], &a.ids[i], &a.version[i])
	}); err != nil {
		return a, err
	}
	a.spendable, err = readSpendable(br)
	return a, err
}

// decideSpin is spinAlone's decision for the group's spin i, made on what
// the group read: nil when it goes ahead.
func (s *Spins) decideSpin(r spinRequest, a spinAdmission, i int) error {
	t, sub := r.table, a.subs[r.msisdn]
	switch {
	case a.version[i] != r.version:
		return errWheelChanged
	case sub == nil:
		return notFound(pgx.ErrNoRows, "no subscriber %s", r.msisdn.Masked())
	case sub.Status == care360.StatusSuspended:
		return care360.Refused(care360.ReasonSuspended, "%s is suspended", r.msisdn.Masked())
	case a.spun[i] >= t.DailyCap:
		return care360.Refused(care360.ReasonLimitReached, "%d of %d spins used today", a.spun[i], t.DailyCap)
	}
	if a.grant[i] == nil && t.CostPoints > 0 {
		if err := sub.CheckHold(); err != nil {
			return err
		}
		if have := a.spendable[sub.MSISDN]; have < t.CostPoints {
			return insufficient(have, t.CostPoints)
		}
	}
	return nil
}

// writeSpins writes, in one round trip, the spins that go ahead and have
// the unit of stock their prize needs (the others, beyond what a prize's
// stripe gave, are left to be made alone, and what the group took beyond
// its use goes back): the free spins used, the debits, the spins (each
// finding its debit by its key, as spinAlone's does) and their SMS, one
// statement each. outs gets each spin made.
func (s *Spins) writeSpins(ctx context.Context, tx pgx.Tx, group []spinRequest, a spinAdmission, going []int, want map[int64]int,
	taken map[int64][]takenStripe, outs []outcome[*care360.SpinResult], now time.Time) error {
	b := &pgx.Batch{}
	left := make(map[int64]int64, len(want))
	var back stripeReturns
	for prize, k := range want {
		got := sumTaken(taken[prize])
		left[prize] = min(int64(k), got)
		back.add(prize, taken[prize], got-left[prize])
	}
	givingBack := back.queue(b, prizeStock)

	var debits groupDebits
	var grants, ids, tables, points []int64
	var landed, prizes, grantIDs []*int64
	var msisdns, keys []string
	var debitKeys []*string
	var msgs []care360.OutgoingSMS
	for _, i := range going {
		r := group[i]
		t, sub := r.table, a.subs[r.msisdn]
		if r.landed != nil {
			if left[r.landed.ID] == 0 {
				outs[i].alone = true
				continue
			}
			left[r.landed.ID]--
		}
		res := &care360.SpinResult{ID: a.ids[i], Table: *t, SpunAt: now, Free: a.grant[i] != nil}
		res.Table.Prizes = nil
		var debitKey *string
		if a.grant[i] != nil {
			grants = append(grants, *a.grant[i])
		} else if t.CostPoints > 0 {
			key := fmt.Sprintf("spin:%d", res.ID)
			debits.add(sub.MSISDN, -t.CostPoints, "spin "+t.Code, key)
			debitKey, res.Points = &key, t.CostPoints
		}
		var landedID *int64
		if r.landed != nil {
			p := *r.landed
			landedID, res.Prize = &p.ID, &p
		}
		ids, tables, points = append(ids, res.ID), append(tables, t.ID), append(points, res.Points)
		landed, prizes, grantIDs = append(landed, landedID), append(prizes, landedID), append(grantIDs, a.grant[i])
		msisdns, keys, debitKeys = append(msisdns, string(sub.MSISDN)), append(keys, r.key), append(debitKeys, debitKey)
		msgs = append(msgs, care360.SpinResultSMS(res, sub.MSISDN, sub.Language))
		outs[i].out = res
	}
	if len(grants) > 0 {
		b.Queue(`UPDATE spin_grants SET remaining = remaining - 1 WHERE id = ANY($1) AND remaining > 0`, grants)
	}
	debits.queue(b, now)
	if len(ids) > 0 {
		b.Queue(`
			WITH r AS (
				SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::text[])
					AS r (id, table_id, msisdn, landed_id, prize_id, grant_id, points, debit_key, key)
			)
			INSERT INTO spins (id, table_id, msisdn, landed_id, prize_id, grant_id, points, debit_id, spun_at, idempotency_key)
			SELECT r.id, r.table_id, r.msisdn, r.landed_id, r.prize_id, r.grant_id, r.points, l.id, $10, NULLIF(r.key, '')
			FROM r LEFT JOIN points_ledger l ON l.msisdn = r.msisdn AND l.idempotency_key = r.debit_key
			WHERE (l.id IS NULL) = (r.debit_key IS NULL)`,
			ids, tables, msisdns, landed, prizes, grantIDs, points, debitKeys, keys, now)
		sql, args, err := transactionalInsert(now, msgs)
		if err != nil {
			return err
		}
		b.Queue(sql, args...)
	}
	if b.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if givingBack {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	if len(grants) > 0 {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if n := tag.RowsAffected(); n != int64(len(grants)) {
			return fmt.Errorf("%d free spins used of %d", n, len(grants))
		}
	}
	if err := debits.read(br); err != nil {
		return err
	}
	if len(ids) > 0 {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if n := tag.RowsAffected(); n != int64(len(ids)) {
			return fmt.Errorf("%d spins made of %d", n, len(ids))
		}
		if _, err := br.Exec(); err != nil { // the SMS
			return err
		}
	}
	return br.Close()
}
