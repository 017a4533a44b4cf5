package store

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// CreateCampaign stores the campaign and its recipients in one transaction:
// the segment's members who take marketing, as parts (rows) of up to
// feedChunk member ids, kept apart from the outbox until their turn comes
// (see FeedCampaigns). The first part goes into the outbox in the same
// transaction, rendered and scheduled under the anti-spam rules (see
// scheduleMarketing), so a campaign of up to a part is in the outbox whole
// when this returns. A repeated idempotency key returns the first campaign.
func (s *SMS) CreateCampaign(ctx context.Context, nc care360.NewCampaign) (c *care360.Campaign, replay bool, err error) {
	defer wrap(&err, "create campaign %q", nc.Name)
	if err := nc.Validate(s.rules); err != nil {
		return nil, false, err
	}
	now := s.db.now()
	if nc.SendAt.IsZero() || nc.SendAt.Before(now) {
		nc.SendAt = now
	}
	seg := segmentJSON(nc.Segment)
	segment, err := json.Marshal(seg)
	if err != nil {
		return nil, false, err
	}
	var key *string
	if nc.IdempotencyKey != "" {
		key = &nc.IdempotencyKey
	}
	var id, n int64
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		replay = false
		err := tx.QueryRow(ctx, `
			INSERT INTO sms_campaigns (name, text, text_en, segment, send_at, idempotency_key, request_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
			nc.Name, nc.Text, nc.TextEn, segment, nc.SendAt, key, nc.RequestHash, now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			replay = true
			var stored []byte
			if err := tx.QueryRow(ctx, `SELECT id, request_hash FROM sms_campaigns WHERE idempotency_key = $1`, key).Scan(&id, &stored); err != nil {
				return err
			}
			return sameRequest(*key, stored, nc.RequestHash)
		}
		if err != nil {
			return err
		}
		var ps params
		arg := ps.add
		// The opt-outs and the do-not-call list are anti-joined by hash:
		// with a list empty or small the planner picks a nested loop that
		// scans it again for every member, 5 of the 7 s a million members
		// took so. Set for this statement only.
		if _, err := tx.Exec(ctx, `SET LOCAL enable_nestloop = off`); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `
			WITH p AS (
				INSERT INTO campaign_recipients (campaign_id, part, member_ids)
				SELECT `+arg(id)+`, r.n / `+arg(s.chunk)+`, array_agg(r.member_id) FROM (
					SELECT s.member_id, row_number() OVER () - 1 AS n FROM subscribers s
					WHERE `+s.segmentWhere(nc, arg, now, true)+`
					  AND NOT EXISTS (SELECT 1 FROM sms_optouts o WHERE o.msisdn = s.msisdn)
					  AND NOT EXISTS (SELECT 1 FROM sms_dnc d WHERE d.msisdn = s.msisdn)
				) r
				GROUP BY 2
				RETURNING cardinality(member_ids) AS k
			)
			SELECT coalesce(sum(k), 0) FROM p`, ps...).Scan(&n)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL enable_nestloop = on`); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE sms_campaigns SET recipients = $2, pending = $2 WHERE id = $1`, id, n); err != nil {
			return err
		}
		_, err = s.feed(ctx, tx, campaignFeed{id: id, text: nc.Text, textEn: nc.TextEn, seg: seg, sendAt: nc.SendAt}, s.chunk, now)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	s.db.log.Info("campaign created", "campaign", id, "replay", replay, "recipients", n)
	c, err = s.Campaign(ctx, id)
	return c, replay, err
}

// recipients is the segment as a query yielding (msisdn, text, key,
// campaign_id) for scheduleMarketing, with its arguments: the segment's
// members with the campaign's text rendered for each. marketing keeps to
// members who agree to marketing (PRODUCT.md §7).
func (s *SMS) recipients(nc care360.NewCampaign, id int64, now time.Time, marketing bool) (string, []any) {
	return s.rendered(nc, id, now, func(arg func(any) string) string { return s.segmentWhere(nc, arg, now, marketing) })
}

// rendered is a recipients query for scheduleMarketing, with its
// arguments: (msisdn, text, key, campaign_id) of the subscribers s for
// which where's condition holds, the text of campaign id rendered for each.
func (s *SMS) rendered(nc care360.NewCampaign, id int64, now time.Time, where func(arg func(any) string) string) (string, []any) {
	var ps params
	text := s.render(nc, ps.add, now)
	cond := where(ps.add)
	return `SELECT s.msisdn, ` + text + ` AS text, ` + ps.add(campaignKey(id)) + ` || s.msisdn AS key, ` + ps.add(id) + `::bigint AS campaign_id
		FROM subscribers s WHERE ` + cond, ps
}

// render is the campaign's text for subscriber s as an SQL expression (name,
// tier and points as of now, in s's language). Each placeholder costs work
// per recipient, so only those the texts use are rendered.
func (s *SMS) render(nc care360.NewCampaign, arg func(any) string, now time.Time) string {
	uses := func(p string) bool { return strings.Contains(nc.Text+nc.TextEn, p) }
	vi := s.rules.MarketingText(care360.Fold(nc.Text))
	en := vi
	if nc.TextEn != "" {
		en = s.rules.MarketingText(nc.TextEn)
	}
	text := `CASE s.language WHEN 'en' THEN ` + arg(en) + ` WHEN 'vi-unicode' THEN ` + arg(s.rules.MarketingText(nc.Text)) + ` ELSE ` + arg(vi) + ` END`
	if uses(care360.PlaceholderName) {
		// Plain vi folds the name like care360.Fold; most names are ASCII
		// already, which the length test finds without looking at letters.
		from, to := foldTable()
		text = `replace(` + text + `, '{name}', CASE WHEN s.language <> 'vi' OR octet_length(s.name) = char_length(s.name) THEN s.name
			ELSE translate(s.name, ` + arg(from) + `, ` + arg(to) + `) END)`
	}
	if uses(care360.PlaceholderTier) {
		text = `replace(` + text + `, '{tier}', ` + arg(tierNamesJSON()) + `::jsonb -> s.language ->> (` + s.tierSQL(arg, now) + `))`
	}
	if uses(care360.PlaceholderPoints) {
		points := `(SELECT coalesce(sum(l.remaining), 0) FROM points_ledger l
			WHERE l.msisdn = s.msisdn AND l.remaining > 0 AND l.expires_at > ` + arg(now) + `)`
		text = `replace(` + text + `, '{points}', replace(to_char(` + points + `, 'FM999,999,999,990'), ',',
			CASE s.language WHEN 'en' THEN ',' ELSE '.' END))`
	}
	return text
}

// segmentWhere is the condition on subscriber s of being in nc's segment.
func (s *SMS) segmentWhere(nc care360.NewCampaign, arg func(any) string, now time.Time, marketing bool) string {
	where := []string{`s.status = 'active'`}
	if marketing {
		where = append(where, `s.marketing_consent`)
	}
	if len(nc.Tiers) > 0 {
		where = append(where, `(`+s.tierSQL(arg, now)+`) = ANY(`+arg(strs(nc.Tiers))+`::text[])`)
	}
	if nc.Gender != "" {
		where = append(where, `s.gender = `+arg(nc.Gender))
	}
	if nc.BirthdayMonth != 0 {
		where = append(where, `extract(month FROM s.birthday) = `+arg(nc.BirthdayMonth))
	}
	if len(nc.MSISDNs) > 0 {
		where = append(where, `s.msisdn = ANY(`+arg(strs(nc.MSISDNs))+`::text[])`)
	}
	return strings.Join(where, " AND ")
}

// campaignKey is the idempotency-key prefix of campaign id's messages; the
// next prefix in byte order (':' + 1 is ';') ends their range of keys.
func campaignKey(id int64) string { return "c" + strconv.FormatInt(id, 10) + ":" }

func campaignKeyEnd(id int64) string { return "c" + strconv.FormatInt(id, 10) + ";" }

// tierSQL is the tier a subscriber holds today, as Subscriber computes it:
// the stored tier, raised to the loyalty floor after enough years.
func (s *SMS) tierSQL(arg func(any) string, now time.Time) string {
	r := s.db.rules
	if r.LoyaltyYears <= 0 {
		return `s.tier`
	}
	cutoff := s.db.date(now).AddDate(-r.LoyaltyYears, 0, 0)
	order := arg(strs(care360.Tiers))
	floor := arg(r.LoyaltyFloor)
	return `CASE WHEN s.member_since <= ` + arg(cutoff) + `::date
		AND array_position(` + order + `::text[], s.tier) < array_position(` + order + `::text[], ` + floor + `::text)
		THEN ` + floor + `::text ELSE s.tier END`
}

// tierNamesJSON is {"vi":{"dong":"Dong",...},"vi-unicode":{...},"en":{...}}.
func tierNamesJSON() string {
	names := map[care360.Language]map[care360.Tier]string{}
	for _, l := range []care360.Language{care360.LangVi, care360.LangViUnicode, care360.LangEn} {
		names[l] = map[care360.Tier]string{}
		for _, t := range care360.Tiers {
			names[l][t] = t.Name(l)
		}
	}
	b, _ := json.Marshal(names)
	return string(b)
}

// foldTable returns translate()'s from and to strings for care360.Fold over
// the letters of Vietnamese with diacritics, so SQL folds names as Go does.
// translate() looks each character up in from, so from is kept to the
// Vietnamese alphabet rather than all of Latin Extended.
func foldTable() (from, to string) {
	var f, t strings.Builder
	for _, block := range [][2]rune{{0x00C0, 0x00FD}, {0x0102, 0x0103}, {0x0110, 0x0111}, {0x0128, 0x0129},
		{0x0168, 0x0169}, {0x01A0, 0x01A1}, {0x01AF, 0x01B0}, {0x1EA0, 0x1EF9}} {
		for r := block[0]; r <= block[1]; r++ {
			if folded := []rune(care360.Fold(string(r))); len(folded) == 1 && folded[0] < 0x80 && folded[0] != r {
				f.WriteRune(r)
				t.WriteRune(folded[0])
			}
		}
	}
	return f.String(), t.String()
}

// strs turns a slice of string types into []string for pgx.
func strs[S ~string](xs []S) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

type segmentDoc struct {
	Tiers         []care360.Tier   `json:"tiers,omitempty"`
	Gender        care360.Gender   `json:"gender,omitempty"`
	BirthdayMonth int              `json:"birthday_month,omitempty"`
	MSISDNs       []care360.MSISDN `json:"msisdns,omitempty"`
}

func segmentJSON(s care360.Segment) segmentDoc {
	return segmentDoc{Tiers: s.Tiers, Gender: s.Gender, BirthdayMonth: s.BirthdayMonth, MSISDNs: s.MSISDNs}
}

// Campaign returns a campaign with its progress counted now.
func (s *SMS) Campaign(ctx context.Context, id int64) (c *care360.Campaign, err error) {
	defer wrap(&err, "campaign %d", id)
	c = &care360.Campaign{ID: id}
	var seg segmentDoc
	var pending, dropped int64
	err = s.db.pool.QueryRow(ctx, `
		SELECT name, text, text_en, segment, status, send_at, created_at, recipients, pending, dropped
		FROM sms_campaigns WHERE id = $1`, id).
		Scan(&c.Name, &c.Text, &c.TextEn, &seg, &c.Status, &c.SendAt, &c.CreatedAt, &c.Recipients, &pending, &dropped)
	if err != nil {
		return nil, notFound(err, "no campaign %d", id)
	}
	c.Segment = seg.segment()
	// Two counts and no join, each on its own index: the messages by the
	// campaign's key range, the held ones by the queue's partial index.
	p := &c.Progress
	batch := &pgx.Batch{}
	batch.Queue(`SELECT `+progressSQL+` FROM sms_messages WHERE idempotency_key >= $1 AND idempotency_key < $2`,
		campaignKey(id), campaignKeyEnd(id))
	batch.Queue(`SELECT count(*) FROM sms_queue WHERE campaign_id = $1 AND held`, id)
	br := s.db.pool.SendBatch(ctx, batch)
	defer br.Close()
	var waiting int64
	if err := br.QueryRow().Scan(&waiting, &p.Sent, &p.Delivered, &p.Failed); err != nil {
		return nil, err
	}
	if err := br.QueryRow().Scan(&p.Held); err != nil {
		return nil, err
	}
	s.settleProgress(c, waiting, pending, dropped)
	return c, nil
}

// progressSQL counts a campaign's messages: waiting (queued, held or being
// sent), sent, delivered and failed, as care360.CampaignProgress defines them.
const progressSQL = `
	count(*) FILTER (WHERE status = 'queued'),
	count(*) FILTER (WHERE status IN ('submitted', 'delivered', 'undeliverable', 'expired')),
	count(*) FILTER (WHERE status = 'delivered'),
	count(*) FILTER (WHERE status IN ('failed', 'undeliverable', 'expired'))`

// settleProgress splits the waiting messages into queued and held, adds
// the recipients not yet in the outbox (pendingProgress), and calls a
// running campaign with nothing left to send done.
func (s *SMS) settleProgress(c *care360.Campaign, waiting, pending, dropped int64) {
	c.Progress.Queued = waiting - c.Progress.Held
	s.pendingProgress(c, pending, dropped, s.db.now())
	if c.Status == care360.CampaignRunning && c.Progress.Queued+c.Progress.Held == 0 {
		c.Status = care360.CampaignDone
	}
}

func (d segmentDoc) segment() care360.Segment {
	return care360.Segment{Tiers: d.Tiers, Gender: d.Gender, BirthdayMonth: d.BirthdayMonth, MSISDNs: d.MSISDNs}
}

// Campaigns returns a page of campaigns, newest first, with their progress,
// in one statement: each campaign's counts are read as Campaign reads them,
// through its key range and the held index, by a lateral join, so a page
// costs what its campaigns' messages cost to count and never a scan of the
// outbox. The key range is campaignKey's, built in SQL.
func (s *SMS) Campaigns(ctx context.Context, p care360.Page) (cs []care360.Campaign, err error) {
	defer wrap(&err, "campaigns before %d", p.Before)
	before := p.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.db.pool.Query(ctx, `
		SELECT c.id, c.name, c.text, c.text_en, c.segment, c.status, c.send_at, c.created_at, c.recipients,
			c.pending, c.dropped, m.waiting, m.sent, m.delivered, m.failed, q.held
		FROM (SELECT * FROM sms_campaigns WHERE id < $1 ORDER BY id DESC LIMIT $2) AS c
		CROSS JOIN LATERAL (
			SELECT `+progressSQL+` FROM sms_messages
			WHERE idempotency_key >= 'c' || c.id || ':' AND idempotency_key < 'c' || c.id || ';'
		) AS m (waiting, sent, delivered, failed)
		CROSS JOIN LATERAL (SELECT count(*) FROM sms_queue WHERE campaign_id = c.id AND held) AS q (held)
		ORDER BY c.id DESC`, before, p.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (c care360.Campaign, err error) {
		var seg segmentDoc
		var waiting, pending, dropped int64
		pr := &c.Progress
		err = r.Scan(&c.ID, &c.Name, &c.Text, &c.TextEn, &seg, &c.Status, &c.SendAt, &c.CreatedAt, &c.Recipients,
			&pending, &dropped, &waiting, &pr.Sent, &pr.Delivered, &pr.Failed, &pr.Held)
		c.Segment = seg.segment()
		s.settleProgress(&c, waiting, pending, dropped)
		return c, err
	})
}

// PauseCampaign holds every message of the campaign not being sent right
// now (not_before = infinity: never due until resumed).
func (s *SMS) PauseCampaign(ctx context.Context, id int64) (*care360.Campaign, error) {
	return s.control(ctx, id, care360.CampaignPaused, `
		UPDATE sms_queue SET not_before = 'infinity', held = true, owner = NULL, lease_until = NULL
		WHERE campaign_id = $1 AND (lease_until IS NULL OR lease_until <= $2)`)
}

// ResumeCampaign puts paused messages back at their planned time (or now);
// quiet hours hold them again if the window is shut.
func (s *SMS) ResumeCampaign(ctx context.Context, id int64) (*care360.Campaign, error) {
	return s.control(ctx, id, care360.CampaignRunning, `
		UPDATE sms_queue q SET not_before = greatest(m.scheduled_at, $2), held = m.scheduled_at > $2
		FROM sms_messages m
		WHERE q.campaign_id = $1 AND q.not_before = 'infinity' AND m.id = q.message_id`)
}

// CancelCampaign fails every message not yet sent, and drops the
// recipients not yet in the outbox; what is in flight goes.
func (s *SMS) CancelCampaign(ctx context.Context, id int64) (*care360.Campaign, error) {
	return s.control(ctx, id, care360.CampaignCancelled, `
		WITH gone AS (
			DELETE FROM sms_queue WHERE campaign_id = $1 AND (lease_until IS NULL OR lease_until <= $2)
			RETURNING message_id
		), failed AS (
			UPDATE sms_messages SET status = 'failed', error = 'campaign cancelled'
			WHERE id IN (SELECT message_id FROM gone)
		), left_out AS (
			DELETE FROM campaign_recipients WHERE campaign_id = $1
		)
		UPDATE sms_campaigns SET dropped = dropped + pending, pending = 0 WHERE id = $1`)
}

// control moves a campaign to status and applies queueSQL ($1 id, $2 now)
// to its messages, in one transaction. Cancelled is final.
func (s *SMS) control(ctx context.Context, id int64, status care360.CampaignStatus, queueSQL string) (c *care360.Campaign, err error) {
	defer wrap(&err, "campaign %d: %s", id, status)
	now := s.db.now()
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		var was care360.CampaignStatus
		if err := tx.QueryRow(ctx, `SELECT status FROM sms_campaigns WHERE id = $1 FOR UPDATE`, id).Scan(&was); err != nil {
			return notFound(err, "no campaign %d", id)
		}
		if was == care360.CampaignCancelled && status != care360.CampaignCancelled {
			return care360.Errorf(care360.ECONFLICT, "campaign %d is cancelled", id)
		}
		if _, err := tx.Exec(ctx, `UPDATE sms_campaigns SET status = $2, updated_at = $3 WHERE id = $1`, id, status, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, queueSQL, id, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.db.log.Info("campaign "+string(status), "campaign", id)
	return s.Campaign(ctx, id)
}
