package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// Balance returns msisdn's points now, in one round trip.
func (db *DB) Balance(ctx context.Context, msisdn care360.MSISDN) (b care360.PointsBalance, err error) {
	defer wrap(&err, "points balance of %s", msisdn.Masked())
	_, b, err = db.account(ctx, msisdn, false)
	return b, err
}

// Account returns the subscriber and their points in one round trip: the
// points screen, DIEM and the API need both, and a USSD step is cheaper by
// a whole round trip than asking for them separately.
func (db *DB) Account(ctx context.Context, msisdn care360.MSISDN) (s *care360.Subscriber, b care360.PointsBalance, err error) {
	defer wrap(&err, "account of %s", msisdn.Masked())
	return db.account(ctx, msisdn, true)
}

// account batches the subscriber (or just its existence), the qualifying sum
// and the open credits, in one read-only transaction of one snapshot: in
// the batch's implicit transaction each statement would take its own, and a
// posting committed between them would show its credits without their
// qualifying total or the tier they earned. BEGIN and COMMIT go in the same
// round trip; a batch an error cuts short leaves its connection in the
// transaction, which the pool then closes rather than reuse.
func (db *DB) account(ctx context.Context, msisdn care360.MSISDN, withSubscriber bool) (s *care360.Subscriber, b care360.PointsBalance, err error) {
	now := db.now()
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
	if withSubscriber {
		batch.Queue(`SELECT `+subscriberColumns+` FROM subscribers WHERE msisdn = $1`, msisdn)
	} else {
		batch.Queue(`SELECT EXISTS (SELECT 1 FROM subscribers WHERE msisdn = $1)`, msisdn)
	}
	batch.Queue(qualifyingSQL, msisdn, db.yearAgo(now))
	batch.Queue(`
		SELECT expires_at, kind, sum(remaining)::bigint FROM points_ledger
		WHERE msisdn = $1 AND remaining > 0 AND expires_at > $2
		GROUP BY expires_at, kind ORDER BY expires_at`, msisdn, now)
	batch.Queue(`COMMIT`)
	br := db.pool.SendBatch(ctx, batch)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, b, err
	}
	notFound := care360.Errorf(care360.ENOTFOUND, "no subscriber %s", msisdn.Masked())
	if withSubscriber {
		if s, err = db.scanSubscriber(br.QueryRow()); errors.Is(err, pgx.ErrNoRows) {
			return nil, b, notFound
		} else if err != nil {
			return nil, b, err
		}
	} else {
		var exists bool
		if err := br.QueryRow().Scan(&exists); err != nil {
			return nil, b, err
		}
		if !exists {
			return nil, b, notFound
		}
	}
	if err := br.QueryRow().Scan(&b.Qualifying); err != nil {
		return nil, b, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, b, err
	}
	for rows.Next() {
		var at time.Time
		var kind care360.PointsKind
		var n int64
		if err := rows.Scan(&at, &kind, &n); err != nil {
			rows.Close()
			return nil, b, err
		}
		b.Spendable += n
		if kind == care360.PointsBonus {
			b.Bonus += n
		}
		// Rows come earliest first; the next expiry is every batch falling on
		// the first one's local date.
		day := db.date(at)
		switch {
		case b.NextExpiry == nil:
			b.NextExpiry = &care360.Expiring{Points: n, Date: day}
		case b.NextExpiry.Date.Equal(day.Time):
			b.NextExpiry.Points += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, b, err
	}
	_, err = br.Exec() // COMMIT
	return s, b, err
}

// Ledger returns msisdn's newest entries first (limit: 1 to 1000, default 100).
func (db *DB) Ledger(ctx context.Context, msisdn care360.MSISDN, limit int) (es []care360.LedgerEntry, err error) {
	defer wrap(&err, "points ledger of %s", msisdn.Masked())
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := db.pool.Query(ctx, `SELECT `+ledgerColumns+` FROM points_ledger WHERE msisdn = $1 ORDER BY id DESC LIMIT $2`, msisdn, limit)
	if err != nil {
		return nil, err
	}
	es, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.LedgerEntry, error) {
		e, err := scanEntry(r)
		if err != nil {
			return care360.LedgerEntry{}, err
		}
		return *e, nil
	})
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		// An empty ledger and an unknown subscriber are told apart only now,
		// to keep the common case to one query.
		if _, err := db.Subscriber(ctx, msisdn); err != nil {
			return nil, err
		}
	}
	return es, nil
}

// date is t's calendar date in the configured location, as a care360.Date
// (midnight UTC, like care360.ParseDate).
func (db *DB) date(t time.Time) care360.Date {
	l := t.In(db.loc)
	return care360.Date{Time: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)}
}
