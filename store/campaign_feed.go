package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// feedChunk is how many of a campaign's recipients a part holds, and how
// many of its messages due in the outbox make the next part wait: while a
// campaign sends it has one to two parts ready to claim, and a sender's
// feed loop, a pass a second, can move a part of each campaign, about
// twice what an SMSC takes from one gateway on these machines
// (docs/benchmarks.md).
const feedChunk = 10_000

// campaignFeed is what moving a campaign's recipients needs of it.
type campaignFeed struct {
	id           int64
	text, textEn string
	seg          segmentDoc
	sendAt       time.Time
}

// FeedCampaigns moves recipients of every running campaign that has fewer
// than lead messages due in the outbox into it, while the marketing window
// is open: the next lead of them, at most the rest of a part. A lead of
// zero or less, or over a part, is a part's worth: a whole part moves when
// fewer than a part's worth are due. Each recipient is rendered and
// scheduled as of now (points, tier, the daily cap, opt-outs given since
// the campaign was made); members no longer active or taking marketing
// are dropped. Each campaign moves in a transaction of its own that holds
// its row, so with many senders one feeds it and the rest skip it; a
// recipient leaves campaign_recipients in the transaction that queues its
// message, so each is moved exactly once. It returns how many messages it
// queued; a campaign that fails is reported and the others still move.
//
// A sender passes a lead while marketing gives way to screens: moving a
// part of 10,000 takes a core for most of a second, which the screens then
// wait for, and at a few hundred SMS a second the part would wait minutes
// in the outbox anyway (docs/benchmarks.md, "Marketing that costs the
// screens less").
func (s *SMS) FeedCampaigns(ctx context.Context, lead int) (queued int64, err error) {
	defer wrap(&err, "feed campaigns")
	now := s.db.now()
	if !s.rules.InWindow(now, s.db.loc) {
		return 0, nil
	}
	rows, err := s.db.pool.Query(ctx, `
		SELECT id FROM sms_campaigns WHERE pending > 0 AND status = 'running' AND send_at <= $1 ORDER BY id`, now)
	if err != nil {
		return 0, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, err
	}
	if lead <= 0 || lead > s.chunk {
		lead = s.chunk
	}
	var errs []error
	for _, id := range ids {
		n, err := s.feedCampaign(ctx, id, lead, now)
		queued += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return queued, errors.Join(errs...)
}

func (s *SMS) feedCampaign(ctx context.Context, id int64, lead int, now time.Time) (queued int64, err error) {
	defer wrap(&err, "feed campaign %d", id)
	err = s.db.Transact(ctx, func(tx pgx.Tx) error {
		queued = 0
		c := campaignFeed{id: id}
		var due int
		err := tx.QueryRow(ctx, `
			SELECT text, text_en, segment, send_at,
				(SELECT count(*) FROM (SELECT 1 FROM sms_queue WHERE campaign_id = $1 AND not_before <= $3 LIMIT $2) q)
			FROM sms_campaigns WHERE id = $1 AND status = 'running' AND pending > 0
			FOR UPDATE SKIP LOCKED`, id, lead, now).Scan(&c.text, &c.textEn, &c.seg, &c.sendAt, &due)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && due >= lead) {
			return nil // another sender holds it, it changed meanwhile, or enough is due
		}
		if err != nil {
			return err
		}
		queued, err = s.feed(ctx, tx, c, lead, now)
		return err
	})
	return queued, err
}

// feed moves the next n of c's recipients (at most the rest of a part)
// into the outbox in tx and returns how many messages it queued; the rest
// of them are dropped: members closed, without marketing consent, opted
// out or on the do-not-call list by now, or (ON CONFLICT) a number another
// recipient of the campaign was already sent on, should numbers have
// changed hands. A part moved in slices keeps the rest of its ids in its
// row; its last slice deletes the row.
func (s *SMS) feed(ctx context.Context, tx pgx.Tx, c campaignFeed, n int, now time.Time) (int64, error) {
	var members []int64
	err := tx.QueryRow(ctx, `
		WITH h AS (
			SELECT part, member_ids FROM campaign_recipients WHERE campaign_id = $1 ORDER BY part LIMIT 1
		), whole AS (
			DELETE FROM campaign_recipients r USING h
			WHERE r.campaign_id = $1 AND r.part = h.part AND cardinality(h.member_ids) <= $2
		), sliced AS (
			UPDATE campaign_recipients r SET member_ids = h.member_ids[$2 + 1:] FROM h
			WHERE r.campaign_id = $1 AND r.part = h.part AND cardinality(h.member_ids) > $2
		)
		SELECT h.member_ids[:$2] FROM h`, c.id, n).Scan(&members)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	// Planned for this part's numbers, and joined by hash (partSettings).
	if _, err := tx.Exec(ctx, partSettings); err != nil {
		return 0, err
	}
	query, args := s.partRecipients(c, members, now)
	queued, err := s.scheduleMarketing(ctx, tx, query, args, later(c.sendAt, now), true)
	if err != nil {
		return 0, err
	}
	_, err = tx.Exec(ctx, `
		UPDATE sms_campaigns SET pending = pending - $2, dropped = dropped + $3 WHERE id = $1`,
		c.id, len(members), int64(len(members))-queued)
	return queued, err
}

// partSettings are the planner's settings for moving a part, for the rest
// of its transaction. A generic plan, which pgx's cached statement gets
// after five runs, took the part's array for ten members and looked the
// week's marketing up once per member (13 s for a part). Statistics that
// had not yet seen the marketing the first parts queued made a nested loop
// of it and the part's members, which did not end in the 10 s a campaign
// of the bench sent; every join of the statement is right as a hash join
// at any size. Each member's marketing of the week is looked up by number
// (recentMarketing), which on the statistics of a table that was empty
// when last analyzed the planner made a scan: each member's would then
// read every message the statement had inserted before it.
const partSettings = `SELECT ` + customPlanMode + `, set_config('enable_nestloop', 'off', true), ` + seqscanOff

// partRecipients is the recipients query of scheduleMarketing for members,
// a part of campaign c, with its arguments: those still active and taking
// marketing, with the text rendered as of now.
func (s *SMS) partRecipients(c campaignFeed, members []int64, now time.Time) (string, []any) {
	nc := care360.NewCampaign{Text: c.text, TextEn: c.textEn, Segment: c.seg.segment()}
	return s.rendered(nc, c.id, now, func(arg func(any) string) string {
		return `s.member_id = ANY(` + arg(members) + `::bigint[]) AND s.status = 'active' AND s.marketing_consent`
	})
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// pendingProgress adds a campaign's recipients not yet in the outbox to its
// progress: dropped ones failed, the rest held while the campaign is paused,
// not yet due or outside the marketing window, else queued.
func (s *SMS) pendingProgress(c *care360.Campaign, pending, dropped int64, now time.Time) {
	c.Progress.Failed += dropped
	if c.Status == care360.CampaignPaused || c.SendAt.After(now) || !s.rules.InWindow(now, s.db.loc) {
		c.Progress.Held += pending
	} else {
		c.Progress.Queued += pending
	}
}
