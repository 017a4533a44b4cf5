package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

var _ care360.SMSReporter = (*SMS)(nil)

// SMSReport counts outgoing SMS per local day and kind, set-based, by the
// day each was due (scheduled_at, which never changes once written).
func (s *SMS) SMSReport(ctx context.Context, first, last care360.Date) (days []care360.SMSDay, err error) {
	defer wrap(&err, "sms report %s..%s", first, last)
	rows, err := s.db.pool.Query(ctx, smsReportSQL, smsReportArgs(s.db, first, last)...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (d care360.SMSDay, err error) {
		var day time.Time
		err = r.Scan(&day, &d.Kind, &d.Messages, &d.Sent, &d.Delivered, &d.Failed, &d.Expired)
		d.Day = care360.Date{Time: day}
		return d, err
	})
}

// smsReportArgs are smsReportSQL's arguments: the days, the time zone, the
// instants that begin the first day and end the last, and the kinds.
func smsReportArgs(db *DB, first, last care360.Date) []any {
	from := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, db.loc)
	until := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, db.loc)
	return []any{pgDate(first), pgDate(last), db.loc.String(), from, until, strs(care360.MessageKinds)}
}

// smsReportSQL reads each kind through its own partial index on
// scheduled_at (00026_sms_report.sql, 00050_marketing_by_time.sql): the range is on
// instants, so the index bounds it, and the local day is worked out only for
// the rows inside it. A kind added to the schema needs its index and its
// branch here. Sent means what it means in CampaignProgress (reached the
// SMSC); failed counts undeliverable too, since neither reaches the handset.
const smsReportSQL = `
	WITH due AS (
		SELECT scheduled_at, kind, status FROM sms_messages
		WHERE kind = 'transactional' AND scheduled_at >= $4 AND scheduled_at < $5
		UNION ALL
		SELECT scheduled_at, kind, status FROM sms_messages
		WHERE kind = 'marketing' AND ` + readByTime + ` AND scheduled_at >= $4 AND scheduled_at < $5
	), counted AS (
		SELECT (scheduled_at AT TIME ZONE $3)::date AS day, kind, count(*) AS messages,
			count(*) FILTER (WHERE status IN ('submitted', 'delivered', 'undeliverable', 'expired')) AS sent,
			count(*) FILTER (WHERE status = 'delivered') AS delivered,
			count(*) FILTER (WHERE status IN ('failed', 'undeliverable')) AS failed,
			count(*) FILTER (WHERE status = 'expired') AS expired
		FROM due GROUP BY 1, 2
	)
	SELECT d.day::date, k.kind, coalesce(c.messages, 0), coalesce(c.sent, 0), coalesce(c.delivered, 0),
		coalesce(c.failed, 0), coalesce(c.expired, 0)
	FROM generate_series($1::date, $2::date, interval '1 day') AS d(day)
	CROSS JOIN unnest($6::text[]) WITH ORDINALITY AS k(kind, n)
	LEFT JOIN counted c ON c.day = d.day::date AND c.kind = k.kind
	ORDER BY d.day, k.n`
