package store

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// SMS is the durable outbox and everything around it: keyword MOs,
// campaigns, opt-outs and the do-not-call list. It shares the DB's pool,
// clock and location, and applies the anti-spam rules it was built with.
type SMS struct {
	db    *DB
	rules care360.SMSRules

	mu        sync.Mutex
	lastDepth time.Time // when Maintain last counted the queue

	traffic *TrafficCounter // nil: outcomes are not counted for the dashboard

	chunk int // campaign recipients moved into the outbox at a time (feedChunk)
}

var (
	_ care360.Outbox               = (*SMS)(nil)
	_ care360.MessageService       = (*SMS)(nil)
	_ care360.OutboxQueue          = (*SMS)(nil)
	_ care360.TransactionalClaimer = (*SMS)(nil)
	_ care360.InboundLog           = (*SMS)(nil)
	_ care360.MarketingPrefs       = (*SMS)(nil)
	_ care360.DNCService           = (*SMS)(nil)
	_ care360.CampaignService      = (*SMS)(nil)
)

// NewSMS returns the outbox on db; zero rules are the product's defaults.
func NewSMS(db *DB, rules care360.SMSRules) *SMS {
	return &SMS{db: db, rules: rules.WithDefaults(), chunk: feedChunk}
}

// CountInto makes the outbox count the outcomes it records (submitted,
// delivered, failed) into c, for the operations dashboard. Call it before
// the outbox is used.
func (s *SMS) CountInto(c *TrafficCounter) { s.traffic = c }

// Rules are the anti-spam rules in force.
func (s *SMS) Rules() care360.SMSRules { return s.rules }

// Priorities in sms_queue: replies and codes never wait behind a campaign.
const (
	priorityTransactional = 0
	priorityMarketing     = 1
)

// marketingLock serialises everything that schedules marketing: the daily
// cap looks at what is already planned for each subscriber, and two
// fan-outs planning at once would each miss the other's rows.
const marketingLock = 0x0C360_5A5

// Send stores one outgoing SMS. Transactional messages are due at once;
// marketing goes through the same set-based scheduling as a campaign.
func (s *SMS) Send(ctx context.Context, o care360.OutgoingSMS) (m *care360.Message, replay bool, err error) {
	defer wrap(&err, "send SMS to %s", o.MSISDN.Masked())
	if o.Kind == care360.KindMarketing {
		o.Text = s.rules.MarketingText(o.Text)
	}
	if err := o.Validate(s.rules.MaxParts); err != nil {
		return nil, false, err
	}
	if m, err := s.byKey(ctx, s.db.pool, o.IdempotencyKey); err == nil {
		return m, true, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, err
	}
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		if o.Kind == care360.KindTransactional {
			return insertTransactional(ctx, tx, s.db.now(), []care360.OutgoingSMS{o})
		}
		var refused bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sms_optouts WHERE msisdn = $1)
			OR EXISTS (SELECT 1 FROM sms_dnc WHERE msisdn = $1)
			OR NOT EXISTS (SELECT 1 FROM subscribers WHERE msisdn = $1 AND marketing_consent)`, o.MSISDN).Scan(&refused); err != nil {
			return err
		}
		if refused {
			return care360.Refused(care360.ReasonOptedOut, "%s does not take marketing SMS", o.MSISDN.Masked())
		}
		_, err := s.scheduleMarketing(ctx, tx, `SELECT $1::text AS msisdn, $2::text AS text, $3::text AS key, NULL::bigint AS campaign_id`,
			[]any{o.MSISDN, o.Text, o.IdempotencyKey}, s.db.now(), true)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	m, err = s.byKey(ctx, s.db.pool, o.IdempotencyKey)
	return m, false, err
}

// insertTransactional queues transactional messages inside tx, due at once;
// keys already used keep their first message.
func insertTransactional(ctx context.Context, tx pgx.Tx, now time.Time, msgs []care360.OutgoingSMS) error {
	sql, args, err := transactionalInsert(now, msgs)
	if err != nil || sql == "" {
		return err
	}
	_, err = tx.Exec(ctx, sql, args...)
	return err
}

// queueTransactional is insertTransactional of one message for a
// pipeline: it queues one statement on b.
func queueTransactional(b *pgx.Batch, now time.Time, m care360.OutgoingSMS) error {
	sql, args, err := transactionalInsert(now, []care360.OutgoingSMS{m})
	if err != nil {
		return err
	}
	b.Queue(sql, args...)
	return nil
}

// transactionalInsert checks msgs and returns the statement that queues
// them, or "" when there are none.
func transactionalInsert(now time.Time, msgs []care360.OutgoingSMS) (string, []any, error) {
	if len(msgs) == 0 {
		return "", nil, nil
	}
	var to, text, key []string
	for _, m := range msgs {
		if m.Kind != care360.KindTransactional {
			return "", nil, care360.Errorf(care360.EINVALID, "only transactional messages are queued this way")
		}
		if err := m.Validate(care360.DefaultMaxSMSParts); err != nil {
			return "", nil, err
		}
		to, text, key = append(to, string(m.MSISDN)), append(text, m.Text), append(key, m.IdempotencyKey)
	}
	return `
		WITH m AS (
			INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at)
			SELECT t, x, 'transactional', k, $4, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS u (t, x, k)
			ON CONFLICT (idempotency_key) DO NOTHING
			RETURNING id
		)
		INSERT INTO sms_queue (message_id, priority, not_before) SELECT id, 0, $4 FROM m`,
		[]any{to, text, key, now}, nil
}

// scheduleMarketing queues the marketing messages that recipients (a query
// yielding msisdn, text, key, campaign_id) describes, leaving out opted-out
// and do-not-call numbers. Each is planned at the first moment that keeps
// the subscriber within the daily cap (counting what is sent or planned) and
// inside the sending window; what is planned later than now is held. It
// takes the marketing lock for the rest of tx and returns how many it queued.
// Keys already used keep their first message when replays are possible; a
// fan-out, whose keys are its new campaign's, says they are not, which spares
// the speculative insertion ON CONFLICT costs on each of a million rows.
func (s *SMS) scheduleMarketing(ctx context.Context, tx pgx.Tx, recipients string, args []any, start time.Time, replays bool) (int64, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, marketingLock); err != nil {
		return 0, err
	}
	q, all := s.marketingStatement(recipients, args, start, replays)
	tag, err := tx.Exec(ctx, q, all...)
	return tag.RowsAffected(), err
}

// marketingStatement is scheduleMarketing's statement and its arguments.
func (s *SMS) marketingStatement(recipients string, args []any, start time.Time, replays bool) (string, []any) {
	return marketingSQL(recipients, len(args), replays),
		append(args, start, s.rules.DailyCap, s.db.loc.String(), s.rules.WindowOpen, s.rules.WindowClose, s.db.now(),
			s.rules.NextWindow(start, s.db.loc))
}

// marketingSQL is scheduleMarketing's statement for a recipients query that
// takes n arguments; its own seven follow them (start, daily cap, time zone,
// window open and close, now, and start moved into the window: the plan of
// every recipient the cap does not hold back, computed once in Go).
//
// The cap reads what each recipient was recently sent or has planned
// (prev: marketing SMS and pushes that advertise), and the opt-outs and the
// national do-not-call list are asked about each recipient, all by number:
// a part of a campaign then costs what its own recipients need, however
// much marketing the week holds and however long the lists are. Each
// look-up is by an index (a campaign's part also runs with sequential scans
// off): one planned as a scan would, in a part's statement, read every
// message the statement had inserted before it, which made a first
// campaign quadratic. The look-back is a week: a message planned earlier
// and sent in the last 24 h only after a week-long pause is the one the cap
// can miss.
func marketingSQL(recipients string, n int, replays bool) string {
	p := func(i int) string { return "$" + strconv.Itoa(n+i) }
	start := p(1) + "::timestamptz"
	conflict := ""
	if replays {
		conflict = "ON CONFLICT (idempotency_key) DO NOTHING"
	}
	return `
		WITH r AS (` + recipients + `),
		prev AS MATERIALIZED (` + recentMarketing(start, p(2), true) + `),
		slot AS (
			SELECT r.msisdn, r.text, r.key, r.campaign_id,
				CASE WHEN prev.free_at IS NULL THEN ` + p(7) + `::timestamptz
				     ELSE sms_window(greatest(` + start + `, prev.free_at), ` + p(3) + `, ` + p(4) + `, ` + p(5) + `) END AS at
			FROM r LEFT JOIN prev ON prev.msisdn = r.msisdn
			LEFT JOIN LATERAL (
				SELECT 1 AS refused FROM sms_optouts o WHERE o.msisdn = r.msisdn
				UNION ALL
				SELECT 1 FROM sms_dnc d WHERE d.msisdn = r.msisdn
				LIMIT 1) x ON true
			WHERE x.refused IS NULL
		),
		m AS (
			INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, campaign_id, scheduled_at, created_at)
			SELECT msisdn, text, 'marketing', key, campaign_id, at, ` + p(6) + ` FROM slot
			` + conflict + `
			RETURNING id, scheduled_at, campaign_id
		)
		INSERT INTO sms_queue (message_id, priority, not_before, held, campaign_id)
		SELECT id, 1, scheduled_at, scheduled_at > ` + p(6) + `, campaign_id FROM m`
}

// messageColumns read a message with its status as the API shows it: while
// it is in the queue, the queue row says whether it is held or being sent.
const messageColumns = `m.id, m.msisdn, m.text, m.kind,
	CASE WHEN m.status <> 'queued' THEN m.status
	     WHEN q.lease_until > $1 THEN 'sending'
	     WHEN q.held THEN 'held' ELSE 'queued' END,
	coalesce(m.campaign_id, 0), coalesce(m.parts, 0), m.scheduled_at, m.created_at,
	m.submitted_at, m.delivered_at, coalesce(m.error, '')
	FROM sms_messages m LEFT JOIN sms_queue q ON q.message_id = m.id`

func (s *SMS) byKey(ctx context.Context, q querier, key string) (*care360.Message, error) {
	return scanMessage(q.QueryRow(ctx, `SELECT `+messageColumns+` WHERE m.idempotency_key = $2`, s.db.now(), key))
}

// Messages returns msisdn's outgoing SMS, newest first (limit 1 to 500,
// default 50). A number that was never sent anything has none.
func (s *SMS) Messages(ctx context.Context, msisdn care360.MSISDN, limit int) (ms []care360.Message, err error) {
	defer wrap(&err, "messages of %s", msisdn.Masked())
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.db.pool.Query(ctx, `SELECT `+messageColumns+` WHERE m.msisdn = $2 ORDER BY m.id DESC LIMIT $3`,
		s.db.now(), msisdn, min(limit, 500))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.Message, error) {
		m, err := scanMessage(r)
		if err != nil {
			return care360.Message{}, err
		}
		return *m, nil
	})
}

func scanMessage(row pgx.Row) (*care360.Message, error) {
	var m care360.Message
	err := row.Scan(&m.ID, &m.MSISDN, &m.Text, &m.Kind, &m.Status, &m.CampaignID, &m.Parts, &m.NotBefore,
		&m.CreatedAt, &m.SubmittedAt, &m.DeliveredAt, &m.Error)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// RecordMO stores a keyword SMS as received and returns its id, which keys
// everything done about it (the reply's idempotency key).
func (s *SMS) RecordMO(ctx context.Context, m care360.InboundSMS) (id int64, err error) {
	defer wrap(&err, "record MO from %s", m.MSISDN.Masked())
	at := m.ReceivedAt
	if at.IsZero() {
		at = s.db.now()
	}
	err = s.db.pool.QueryRow(ctx, `
		INSERT INTO sms_inbound (msisdn, from_addr, to_addr, text, received_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		m.MSISDN, m.From, m.To, m.Text, at).Scan(&id)
	return id, err
}

// querier is what a pool and a transaction share.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}
