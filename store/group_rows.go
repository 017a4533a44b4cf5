package store

// What every group of claims, entries or spins reads and writes the same
// way (groups.go): its members locked, one row for each request, its
// debits.

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// membersLockSQL locks the rows of the members $1 for the rest of the
// transaction, in one order, so that two groups never wait for each other
// in a circle: memberLockSQL for many.
const membersLockSQL = `SELECT ` + subscriberColumns + ` FROM subscribers WHERE msisdn = ANY($1) ORDER BY msisdn FOR UPDATE`

// readMembers reads membersLockSQL's rows: the members found, by number.
func (db *DB) readMembers(br pgx.BatchResults) (map[care360.MSISDN]*care360.Subscriber, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*care360.Subscriber, error) { return db.scanSubscriber(r) })
	if err != nil {
		return nil, err
	}
	out := make(map[care360.MSISDN]*care360.Subscriber, len(subs))
	for _, s := range subs {
		out[s.MSISDN] = s
	}
	return out, nil
}

// scanEach reads the next result of br, one row for each of n requests in
// their order, scanning row i with scan; fewer rows than requests is an
// error (what names the requests).
func scanEach(br pgx.BatchResults, n int, what string, scan func(i int, rows pgx.Rows) error) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	i := 0
	for ; i < n && rows.Next(); i++ {
		if err := scan(i, rows); err != nil {
			rows.Close()
			return err
		}
	}
	if rows.Close(); rows.Err() != nil || i != n {
		return errors.Join(rows.Err(), fmt.Errorf("%d %s read of %d", i, what, n))
	}
	return nil
}

// groupDebits are the debits of a group, as debitsSQL's arrays.
type groupDebits struct {
	msisdns, reasons, keys []string
	points                 []int64
}

func (d *groupDebits) add(msisdn care360.MSISDN, points int64, reason, key string) {
	d.msisdns, d.points, d.reasons, d.keys = append(d.msisdns, string(msisdn)), append(d.points, points), append(d.reasons, reason), append(d.keys, key)
}

// queue queues debitsSQL for them, when there are any.
func (d *groupDebits) queue(b *pgx.Batch, now time.Time) {
	if len(d.msisdns) > 0 {
		b.Queue(debitsSQL, d.msisdns, d.points, d.reasons, d.keys, care360.PointsBonus, now)
	}
}

// read reads what queue queued, failing unless every debit was made: the
// group decided each on the points it read under the members' locks.
func (d *groupDebits) read(br pgx.BatchResults) error {
	if len(d.msisdns) == 0 {
		return nil
	}
	var n int
	if err := br.QueryRow().Scan(&n); err != nil {
		return err
	}
	if n != len(d.msisdns) {
		return fmt.Errorf("%d debits made of %d", n, len(d.msisdns))
	}
	return nil
}
