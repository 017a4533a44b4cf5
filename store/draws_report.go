package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/care360/care360"
)

// DrawReport counts entries per local day and draw from the first day to
// the last, and each draw's totals, in SQL: the rows never come to Go one
// entry at a time.
func (s *Draws) DrawReport(ctx context.Context, first, last care360.Date) (r *care360.DrawReport, err error) {
	defer wrap(&err, "draw report")
	r = &care360.DrawReport{From: first, To: last}
	from, to := s.db.days(first, last)
	batch := &pgx.Batch{}
	batch.Queue(`
		SELECT (e.created_at AT TIME ZONE $3)::date, d.id, d.code, count(*), coalesce(sum(e.cost), 0)::bigint
		FROM draw_entries e JOIN draws d ON d.id = e.draw_id
		WHERE e.created_at >= $1 AND e.created_at < $2
		GROUP BY 1, 2, 3 ORDER BY 1, 2`, from, to, s.db.loc.String())
	batch.Queue(`
		SELECT d.id, d.code, d.status, count(e.id), coalesce(sum(e.cost), 0)::bigint,
			(SELECT coalesce(sum(quantity), 0) FROM draw_prizes p WHERE p.draw_id = d.id)::bigint,
			(SELECT count(*) FROM draw_winners w WHERE w.draw_id = d.id)
		FROM draws d JOIN draw_entries e ON e.draw_id = d.id AND e.created_at >= $1 AND e.created_at < $2
		GROUP BY d.id ORDER BY d.id`, from, to)
	br := s.db.pool.SendBatch(ctx, batch)
	defer br.Close()
	if r.Days, err = collectNext(br, func(row pgx.CollectableRow) (care360.DrawDay, error) {
		var d care360.DrawDay
		var day pgtype.Date
		err := row.Scan(&day, &d.DrawID, &d.Code, &d.Entries, &d.Points)
		d.Day = care360.Date{Time: day.Time}
		return d, err
	}); err != nil {
		return nil, err
	}
	r.Draws, err = collectNext(br, func(row pgx.CollectableRow) (care360.DrawSummary, error) {
		var d care360.DrawSummary
		err := row.Scan(&d.DrawID, &d.Code, &d.Status, &d.Entries, &d.Points, &d.Prizes, &d.Awarded)
		return d, err
	})
	return r, err
}

// collectNext reads the next result of a batch into a slice.
func collectNext[T any](br pgx.BatchResults, fn pgx.RowToFunc[T]) ([]T, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, fn)
}

// days turns local days, first and last included, into [from, to).
func (db *DB) days(first, last care360.Date) (from, to time.Time) {
	from = time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, db.loc)
	to = time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, db.loc)
	return from, to
}
