package store

import (
	"context"
	"time"

	"github.com/care360/care360"
)

// SIMSwaps applies sim_swap events in one statement (care360.LifecycleService):
// the events of known members are recorded by id (an id seen before adds
// nothing) and each member's hold is moved to the latest at + hold of its
// new events, never earlier than it was. Events of numbers that are not
// members are rejected and not recorded, so the same id can be sent again
// once the member exists.
func (db *DB) SIMSwaps(ctx context.Context, evs []care360.LifecycleEvent, hold time.Duration) (out []care360.LifecycleResult, err error) {
	defer wrap(&err, "apply %d sim_swap events", len(evs))
	if len(evs) == 0 {
		return nil, nil
	}
	ids, msisdns, ats := make([]string, len(evs)), make([]string, len(evs)), make([]time.Time, len(evs))
	for i, e := range evs {
		ids[i], msisdns[i], ats[i] = e.ID, string(e.MSISDN), e.At
	}
	rows, err := db.pool.Query(ctx, `
		WITH e AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS e (id, msisdn, at, n)
		), known AS (
			SELECT e.* FROM e WHERE EXISTS (SELECT 1 FROM subscribers s WHERE s.msisdn = e.msisdn)
		), ins AS (
			INSERT INTO lifecycle_events (id, msisdn, event, at, status, received_at)
			SELECT id, msisdn, 'sim_swap', at, 'applied', $5 FROM known ORDER BY n
			ON CONFLICT (id) DO NOTHING
			RETURNING id, msisdn, at
		), holds AS (
			UPDATE subscribers s SET sim_swap_until = greatest(coalesce(s.sim_swap_until, '-infinity'), h.until)
			FROM (SELECT msisdn, max(at) + $4::interval AS until FROM ins GROUP BY msisdn) h
			WHERE s.msisdn = h.msisdn
			RETURNING s.msisdn, s.sim_swap_until
		)
		SELECT e.id, e.msisdn IN (SELECT msisdn FROM known), e.id IN (SELECT id FROM ins),
			coalesce((SELECT sim_swap_until FROM holds WHERE holds.msisdn = e.msisdn),
			         (SELECT sim_swap_until FROM subscribers s WHERE s.msisdn = e.msisdn))
		FROM e ORDER BY e.n`, ids, msisdns, ats, hold, db.now())
	if err != nil {
		return nil, interpretError(err)
	}
	defer rows.Close()
	applied := map[string]bool{} // an id twice in one batch: the first is applied, the second a duplicate
	for rows.Next() {
		var r care360.LifecycleResult
		var known, inserted bool
		var until *time.Time
		if err := rows.Scan(&r.ID, &known, &inserted, &until); err != nil {
			return nil, err
		}
		switch {
		case !known:
			r.Status, r.Reason, r.Message = care360.LifecycleRejected, care360.LifecycleUnknownSubscriber, "no member has this number"
		case inserted && !applied[r.ID]:
			r.Status, applied[r.ID] = care360.LifecycleApplied, true
		default:
			r.Status = care360.LifecycleDuplicate
		}
		if until != nil && known {
			r.HoldUntil = *until
		}
		out = append(out, r)
	}
	return out, interpretError(rows.Err())
}
