package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/care360/care360"
)

// SpinResults lists msisdn's spins newest first (limit 1 to 50, default 5).
func (s *Spins) SpinResults(ctx context.Context, msisdn care360.MSISDN, limit int) (out []care360.SpinResult, err error) {
	defer wrap(&err, "spin results of %s", msisdn.Masked())
	if limit <= 0 {
		limit = 5
	}
	rows, err := s.db.pool.Query(ctx, `
		SELECT x.id, x.spun_at, x.points, x.grant_id IS NOT NULL, x.landed_id IS NOT NULL AND x.prize_id IS NULL,
			`+spinTableColumns+`, p.id IS NOT NULL,
			coalesce(p.id, 0), coalesce(p.slot, 0), coalesce(p.name, ''), coalesce(p.name_en, ''), coalesce(p.weight, 0),
			coalesce(p.inventory, 0), 0::bigint, coalesce(p.collect, ''), coalesce(p.collect_en, '')
		FROM spins x JOIN spin_tables t ON t.id = x.table_id LEFT JOIN spin_prizes p ON p.id = x.prize_id
		WHERE x.msisdn = $1 ORDER BY x.id DESC LIMIT $2`, msisdn, min(limit, 50))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.SpinResult, error) {
		var res care360.SpinResult
		var p care360.SpinPrize
		var won bool
		dest := append([]any{&res.ID, &res.SpunAt, &res.Points, &res.Free, &res.OutOfStock}, spinTableDest(&res.Table)...)
		dest = append(append(dest, &won), spinPrizeDest(&p)...)
		if err := r.Scan(dest...); err != nil {
			return res, err
		}
		if won {
			res.Prize = &p
		}
		return res, nil
	})
}

// SpinReport counts spins, free spins, points and prizes per local day and
// table from the first day to the last, and lists every prize's stock with
// how many were awarded in those days, in SQL.
func (s *Spins) SpinReport(ctx context.Context, first, last care360.Date) (r *care360.SpinReport, err error) {
	defer wrap(&err, "spin report")
	r = &care360.SpinReport{From: first, To: last}
	from, to := s.db.days(first, last)
	batch := &pgx.Batch{}
	batch.Queue(`
		SELECT (x.spun_at AT TIME ZONE $3)::date, t.id, t.code, count(*), count(x.grant_id),
			coalesce(sum(x.points), 0)::bigint, count(x.prize_id)
		FROM spins x JOIN spin_tables t ON t.id = x.table_id
		WHERE x.spun_at >= $1 AND x.spun_at < $2
		GROUP BY 1, 2, 3 ORDER BY 1, 2`, from, to, s.db.loc.String())
	batch.Queue(`
		SELECT t.id, t.code, p.id, p.name, p.inventory,
			(SELECT coalesce(sum(remaining), 0)::bigint FROM spin_stock k WHERE k.prize_id = p.id), coalesce(a.n, 0)
		FROM spin_prizes p JOIN spin_tables t ON t.id = p.table_id
		LEFT JOIN (SELECT prize_id, count(*) AS n FROM spins
		           WHERE spun_at >= $1 AND spun_at < $2 AND prize_id IS NOT NULL GROUP BY 1) a ON a.prize_id = p.id
		ORDER BY t.id, p.slot`, from, to)
	br := s.db.pool.SendBatch(ctx, batch)
	defer br.Close()
	if r.Days, err = collectNext(br, func(row pgx.CollectableRow) (care360.SpinDay, error) {
		var d care360.SpinDay
		var day pgtype.Date
		err := row.Scan(&day, &d.TableID, &d.Code, &d.Spins, &d.Free, &d.Points, &d.Prizes)
		d.Day = care360.Date{Time: day.Time}
		return d, err
	}); err != nil {
		return nil, err
	}
	r.Stock, err = collectNext(br, func(row pgx.CollectableRow) (care360.SpinStock, error) {
		var st care360.SpinStock
		err := row.Scan(&st.TableID, &st.Code, &st.PrizeID, &st.Name, &st.Inventory, &st.Remaining, &st.Awarded)
		return st, err
	})
	return r, err
}
