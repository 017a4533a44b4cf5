package store

import (
	"context"
	"time"

	"github.com/care360/care360"
)

var _ care360.ClaimReporter = (*Catalog)(nil)

// ClaimReport counts the claims given per local day and gift, set-based.
func (c *Catalog) ClaimReport(ctx context.Context, first, last care360.Date) (days []care360.ClaimDay, err error) {
	defer wrap(&err, "claims report")
	loc := c.db.loc
	from := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	until := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc)
	rows, err := c.db.pool.Query(ctx, `
		SELECT (c.created_at AT TIME ZONE $3)::date, c.gift_id, g.name, count(*), coalesce(sum(c.points), 0)::bigint
		FROM gift_claims c JOIN gifts g ON g.id = c.gift_id
		WHERE c.created_at >= $1 AND c.created_at < $2 AND c.status <> 'failed'
		GROUP BY 1, 2, 3 ORDER BY 1, 2`, from, until, loc.String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d care360.ClaimDay
		var day time.Time
		if err := rows.Scan(&day, &d.GiftID, &d.Name, &d.Claims, &d.Points); err != nil {
			return nil, err
		}
		d.Day = care360.Date{Time: day}
		days = append(days, d)
	}
	return days, rows.Err()
}
