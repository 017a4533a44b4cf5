package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.MemberHistory = (*DB)(nil)

// History reads the membership of msisdn's history in one statement: the
// joining, its consents (which move with the member), the lifecycle events
// about each number while the member held it, the numbers it left, and a
// hold in force.
func (db *DB) History(ctx context.Context, msisdn care360.MSISDN) (out []care360.HistoryEvent, err error) {
	defer wrap(&err, "history of %s", msisdn.Masked())
	rows, err := db.pool.Query(ctx, `
		WITH m AS (
			SELECT member_id, msisdn, created_at, member_since, sim_swap_until FROM subscribers WHERE msisdn = $1 AND status <> 'closed'
		), held AS (
			SELECT n.msisdn, lag(n.until, 1, m.created_at) OVER (ORDER BY n.until) AS since, n.until
			FROM m JOIN member_numbers n USING (member_id)
			UNION ALL
			SELECT m.msisdn, coalesce((SELECT max(until) FROM member_numbers n WHERE n.member_id = m.member_id), m.created_at), 'infinity' FROM m
		)
		SELECT created_at, 0, 'joined', 'member since ' || member_since, 0::bigint FROM m
		UNION ALL
		SELECT c.at, 1, 'consent', c.purpose || CASE WHEN c.granted THEN ' given' ELSE ' withdrawn' END || ' by ' || c.channel || ' (' || c.text_version || ')', c.id
		FROM consents c, m WHERE c.msisdn = m.msisdn
		UNION ALL
		SELECT e.at, 2, 'lifecycle', e.event || ' ' || e.status || coalesce(' → ' || e.new_msisdn, ''), 0
		FROM held h JOIN lifecycle_events e ON e.msisdn = h.msisdn AND e.at >= h.since AND e.at <= h.until
		UNION ALL
		SELECT h.until, 3, 'number_changed', 'left ' || h.msisdn, 0 FROM held h WHERE h.until <> 'infinity'
		UNION ALL
		SELECT $2, 4, 'hold', 'SIM swap: value held until ' || to_char(sim_swap_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 0
		FROM m WHERE sim_swap_until > $2
		ORDER BY 1, 2, 5`, msisdn, db.now())
	if err != nil {
		return nil, err
	}
	out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (e care360.HistoryEvent, err error) {
		var rank, seq int64
		err = r.Scan(&e.At, &rank, &e.What, &e.Detail, &seq)
		return e, err
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, care360.Errorf(care360.ENOTFOUND, "no member %s", msisdn.Masked())
	}
	return out, nil
}
