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
	a, err := db.account(ctx, msisdn)
	if err != nil {
		return b, err
	}
	return a.Balance, nil
}

// Account returns the subscriber and their points in one round trip: the
// points screen, DIEM and the API need both, and a USSD step is cheaper by
// a whole round trip than asking for them separately.
func (db *DB) Account(ctx context.Context, msisdn care360.MSISDN) (s *care360.Subscriber, b care360.PointsBalance, err error) {
	defer wrap(&err, "account of %s", msisdn.Masked())
	a, err := db.account(ctx, msisdn)
	if err != nil {
		return nil, b, err
	}
	return a.Subscriber, a.Balance, nil
}

// accountSQL reads a member ($1), their qualifying total since $2 and
// their open credits unexpired at $3, grouped by expiry and kind, earliest
// first, in one statement: one snapshot, so a posting committed meanwhile
// cannot show its credits without their qualifying total or the tier they
// earned, and one round trip with no BEGIN and COMMIT around it. No row
// means no such member.
var accountSQL = `
	SELECT ` + subscriberColumns + `, (` + qualifyingOfSQL + `) AS q, e.at, e.kind, e.points
	FROM subscribers s CROSS JOIN LATERAL (
		SELECT array_agg(g.expires_at ORDER BY g.expires_at, g.kind) AS at,
			array_agg(g.kind ORDER BY g.expires_at, g.kind) AS kind,
			array_agg(g.points ORDER BY g.expires_at, g.kind) AS points
		FROM (
			SELECT expires_at, kind, sum(remaining)::bigint AS points FROM points_ledger
			WHERE msisdn = s.msisdn AND remaining > 0 AND expires_at > $3
			GROUP BY expires_at, kind
		) g
	) e
	WHERE s.msisdn = $1`

// qualifyingOfSQL is the qualifying total of the member accountSQL reads.
var qualifyingOfSQL = qualifyingOf("s.msisdn", "$2")

// account reads msisdn's account with accountSQL, or ENOTFOUND.
func (db *DB) account(ctx context.Context, msisdn care360.MSISDN) (*care360.Account, error) {
	now := db.now()
	a, err := db.scanAccount(db.pool.QueryRow(ctx, accountSQL, msisdn, db.yearAgo(now), now))
	if a == nil && err == nil {
		err = care360.Errorf(care360.ENOTFOUND, "no subscriber %s", msisdn.Masked())
	}
	return a, err
}

// scanAccount scans a row of accountSQL: nil when there is none.
func (db *DB) scanAccount(row pgx.Row) (*care360.Account, error) {
	var (
		q      int64
		at     []time.Time
		kinds  []string
		points []int64
	)
	s, err := db.scanSubscriber(row, &q, &at, &kinds, &points)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a := &care360.Account{Subscriber: s, Balance: care360.PointsBalance{Qualifying: q}}
	b := &a.Balance
	for i, n := range points {
		b.Spendable += n
		if care360.PointsKind(kinds[i]) == care360.PointsBonus {
			b.Bonus += n
		}
		// The next expiry is every batch falling on the first one's local
		// date.
		day := db.date(at[i])
		switch {
		case b.NextExpiry == nil:
			b.NextExpiry = &care360.Expiring{Points: n, Date: day}
		case b.NextExpiry.Date.Equal(day.Time):
			b.NextExpiry.Points += n
		}
	}
	return a, nil
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
