package store

import (
	"context"
	"math/rand/v2"

	"github.com/jackc/pgx/v5"
)

// Units of stock spread over stripes (gift_stock, spin_stock), taken by
// groups (groups.go) a stripe at a time.

// stripedStock names a table of stock stripes: its table, the column of
// what the stock is of, the column of what is left, and how many stripes a
// new thing gets.
type stripedStock struct {
	table, of, left string
	stripes         int32
}

var (
	giftStock  = stripedStock{table: "gift_stock", of: "gift_id", left: "stock", stripes: giftStripes}
	prizeStock = stripedStock{table: "spin_stock", of: "prize_id", left: "remaining", stripes: spinStripes}
)

// takenStripe is what a group took from one stripe.
type takenStripe struct {
	stripe int16
	take   int64
}

// queueTake queues the statement that takes, for each thing of want (the
// units wanted of it), up to that many units from one stripe: the first
// with some left from a stripe picked at random (wrapping round), passing
// locked stripes by (SKIP LOCKED), so that a group never waits for the
// claims and spins beside it, and reads a few rows through the key rather
// than every stripe. readTaken reads what it took, which may be fewer
// units than wanted.
func (s stripedStock) queueTake(b *pgx.Batch, want map[int64]int) {
	var ids []int64
	var n, starts []int32
	for id, k := range want {
		ids, n, starts = append(ids, id), append(n, int32(k)), append(starts, rand.Int32N(s.stripes))
	}
	b.Queue(`
		WITH t AS (
			SELECT u.x, coalesce(f.stripe, w.stripe) AS stripe, least(u.n, coalesce(f.left_, w.left_)) AS take
			FROM unnest($1::bigint[], $2::int[], $3::int[]) AS u (x, n, start)
			LEFT JOIN LATERAL (SELECT stripe, `+s.left+` AS left_ FROM `+s.table+` WHERE `+s.of+` = u.x AND stripe >= u.start AND `+s.left+` > 0
				ORDER BY stripe LIMIT 1 FOR UPDATE SKIP LOCKED) f ON true
			LEFT JOIN LATERAL (SELECT stripe, `+s.left+` AS left_ FROM `+s.table+` WHERE f.stripe IS NULL AND `+s.of+` = u.x AND stripe < u.start AND `+s.left+` > 0
				ORDER BY stripe LIMIT 1 FOR UPDATE SKIP LOCKED) w ON true
		)
		UPDATE `+s.table+` y SET `+s.left+` = y.`+s.left+` - t.take FROM t
		WHERE y.`+s.of+` = t.x AND y.stripe = t.stripe
		RETURNING y.`+s.of+`, y.stripe, t.take`, ids, n, starts)
}

// readTaken reads queueTake's rows: the stripes taken from, by thing.
func readTaken(br pgx.BatchResults) (map[int64][]takenStripe, error) {
	taken := make(map[int64][]takenStripe)
	var id int64
	var st takenStripe
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	_, err = pgx.ForEachRow(rows, []any{&id, &st.stripe, &st.take}, func() error {
		taken[id] = append(taken[id], st)
		return nil
	})
	return taken, err
}

// takeAttempts is how many times more a group looks for units of a thing
// whose first stripe gave fewer than it wanted, each time from another
// stripe: when stripes run out one by one, a group's stripe is often
// emptied half-way through its claims.
const takeAttempts = 3

// takeMore takes, in a round trip each, the units taken (queueTake's)
// fell short of want by, from further stripes, a few times at most; it
// adds them to taken.
func (s stripedStock) takeMore(ctx context.Context, tx pgx.Tx, want map[int64]int, taken map[int64][]takenStripe) error {
	for range takeAttempts {
		short := make(map[int64]int)
		for id, n := range want {
			if got := sumTaken(taken[id]); got < int64(n) {
				short[id] = n - int(got)
			}
		}
		if len(short) == 0 {
			return nil
		}
		b := &pgx.Batch{}
		s.queueTake(b, short)
		br := tx.SendBatch(ctx, b)
		more, err := readTaken(br)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if len(more) == 0 {
			return nil // none left, or every stripe with some is busy
		}
		for id, sts := range more {
			taken[id] = append(taken[id], sts...)
		}
	}
	return nil
}

// stripeReturns are units a group took and does not use, to give back.
type stripeReturns struct {
	of      []int64
	stripes []int16
	units   []int64
}

// add gives back excess units of thing id from the stripes taken from.
func (r *stripeReturns) add(id int64, taken []takenStripe, excess int64) {
	for _, st := range taken {
		if back := min(st.take, excess); back > 0 {
			r.of, r.stripes, r.units = append(r.of, id), append(r.stripes, st.stripe), append(r.units, back)
			excess -= back
		}
	}
}

// queue queues the statement that gives them back, if there are any.
func (r *stripeReturns) queue(b *pgx.Batch, s stripedStock) bool {
	if len(r.of) == 0 {
		return false
	}
	b.Queue(`UPDATE `+s.table+` y SET `+s.left+` = y.`+s.left+` + u.n
		FROM (SELECT x, s, sum(n) AS n FROM unnest($1::bigint[], $2::smallint[], $3::bigint[]) AS u (x, s, n) GROUP BY x, s) AS u
		WHERE y.`+s.of+` = u.x AND y.stripe = u.s`, r.of, r.stripes, r.units)
	return true
}

// sum is the units taken from stripes.
func sumTaken(taken []takenStripe) (n int64) {
	for _, st := range taken {
		n += st.take
	}
	return n
}
