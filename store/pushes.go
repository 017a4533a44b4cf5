package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360"
)

// Pushes is network-initiated USSD (PRODUCT.md §3.6): push requests, the
// durable queue of their targets, and what became of each. It shares the
// SMS outbox's rules: pushes that advertise follow the marketing window,
// the daily cap (counted with marketing SMS), opt-outs and the do-not-call
// list, and fallbacks go out through the outbox.
type Pushes struct {
	sms *SMS
	db  *DB
	// idle is how long a dialogue counts as in progress after its last
	// step (the engine's idle timeout): a push waits for it.
	idle time.Duration
	// code is the service code notifications' records carry.
	code string

	// Notification endings waiting for the next write (notifications.go).
	ended batches[notificationEnd]
	loop  *flusher
}

var (
	_ care360.PushService = (*Pushes)(nil)
	_ care360.PushQueue   = (*Pushes)(nil)
	_ care360.PushTracker = (*Pushes)(nil)
)

// NewPushes returns the pushes of sms's database; idle is the dialogue
// idle timeout (0: 60 s).
func NewPushes(sms *SMS, idle time.Duration, code string) *Pushes {
	if idle <= 0 {
		idle = 60 * time.Second
	}
	p := &Pushes{sms: sms, db: sms.db, idle: idle, code: code,
		ended: batches[notificationEnd]{max: notificationBuffer, batch: notificationBatch}}
	p.loop = newFlusher(20*time.Millisecond, sms.db.log, "notification endings", p.Flush)
	return p
}

// pushKey is the idempotency key of target id's fallback SMS.
func pushKey(id int64) string { return "push:" + strconv.FormatInt(id, 10) }

// CreatePush stores a push and queues its targets: the member, or every
// active member of the segment. A marketing push leaves out who opted out
// or is on the do-not-call list and plans each target within the window
// and the daily cap, as a campaign's messages are; one to a single member
// who does not take marketing is refused.
func (p *Pushes) CreatePush(ctx context.Context, np care360.NewPush) (out *care360.Push, replay bool, err error) {
	defer wrap(&err, "create push")
	now := p.db.now()
	if err := np.Validate(now); err != nil {
		return nil, false, err
	}
	if np.ExpiresAt.IsZero() {
		np.ExpiresAt = now.Add(care360.DefaultPushExpiry)
	}
	var segment []byte
	if np.Segment != nil {
		if segment, err = json.Marshal(segmentJSON(*np.Segment)); err != nil {
			return nil, false, err
		}
	}
	screen, err := json.Marshal(np.Screen)
	if err != nil {
		return nil, false, err
	}
	var key, msisdn *string
	if np.IdempotencyKey != "" {
		key = &np.IdempotencyKey
	}
	if np.MSISDN != "" {
		m := string(np.MSISDN)
		msisdn = &m
	}
	var id int64
	err = p.db.Transact(ctx, func(tx pgx.Tx) error {
		replay = false
		err := tx.QueryRow(ctx, `
			INSERT INTO ussd_pushes (kind, msisdn, segment, text, screen, marketing, fallback_sms, expires_at,
				idempotency_key, request_hash, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
			np.Kind, msisdn, segment, np.Text, screen, np.Marketing, np.FallbackSMS, np.ExpiresAt,
			key, np.RequestHash, np.CreatedBy, now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			replay = true
			var stored []byte
			if err := tx.QueryRow(ctx, `SELECT id, request_hash FROM ussd_pushes WHERE idempotency_key = $1`, key).Scan(&id, &stored); err != nil {
				return err
			}
			return sameRequest(*key, stored, np.RequestHash)
		}
		if err != nil {
			return err
		}
		return p.queueTargets(ctx, tx, id, np, now)
	})
	if err != nil {
		return nil, false, err
	}
	p.db.log.Info("push created", "push", id, "replay", replay, "kind", np.Kind)
	out, err = p.Push(ctx, id)
	return out, replay, err
}

// queueTargets inserts push id's targets and records how many there are.
func (p *Pushes) queueTargets(ctx context.Context, tx pgx.Tx, id int64, np care360.NewPush, now time.Time) error {
	var members string
	var args params
	if np.MSISDN != "" {
		members, args = `SELECT s.msisdn FROM subscribers s WHERE s.msisdn = $1 AND s.status = 'active'`, []any{np.MSISDN}
	} else {
		// The campaign's segment query, of which only the numbers are read.
		// Members without marketing consent are counted as excluded
		// below, not left out of the segment.
		q, a := p.sms.recipients(care360.NewCampaign{Text: "-", Segment: *np.Segment}, 0, now, false)
		members, args = `SELECT r.msisdn FROM (`+q+`) r`, a
	}
	arg := args.add
	var plan, excluded string
	if np.Marketing {
		// The marketing lock: the cap reads what is planned, and a
		// campaign planning at the same time would miss these rows.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, marketingLock); err != nil {
			return err
		}
		rules := p.sms.rules
		start := arg(now) + `::timestamptz`
		plan = `CASE WHEN prev.free_at IS NULL THEN ` + arg(rules.NextWindow(now, p.db.loc)) + `::timestamptz
			ELSE sms_window(greatest(` + start + `, prev.free_at), ` + arg(p.db.loc.String()) + `, ` +
			arg(rules.WindowOpen) + `, ` + arg(rules.WindowClose) + `) END`
		excluded = `EXISTS (SELECT 1 FROM sms_optouts o WHERE o.msisdn = r.msisdn)
			OR EXISTS (SELECT 1 FROM sms_dnc d WHERE d.msisdn = r.msisdn)
			OR NOT EXISTS (SELECT 1 FROM subscribers c WHERE c.msisdn = r.msisdn AND c.marketing_consent)`
		members = `WITH r AS (` + members + `), prev AS MATERIALIZED (` + recentMarketing(start, arg(rules.DailyCap), false) + `)
			SELECT r.msisdn, ` + plan + ` AS at, ` + excluded + ` AS excluded FROM r LEFT JOIN prev ON prev.msisdn = r.msisdn`
	} else {
		members = `SELECT r.msisdn, ` + arg(now) + `::timestamptz AS at, false AS excluded FROM (` + members + `) r`
	}
	var targets, left int64
	err := tx.QueryRow(ctx, `
		WITH c AS MATERIALIZED (`+members+`),
		t AS (
			INSERT INTO ussd_push_targets (push_id, msisdn, marketing, not_before, expires_at)
			SELECT `+arg(id)+`, c.msisdn, `+arg(np.Marketing)+`, c.at, `+arg(np.ExpiresAt)+` FROM c WHERE NOT c.excluded
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM c WHERE c.excluded)`, args...).Scan(&targets, &left)
	if err != nil {
		return err
	}
	if np.MSISDN != "" && targets == 0 {
		if left > 0 {
			return care360.Refused(care360.ReasonOptedOut, "%s does not take marketing", np.MSISDN.Masked())
		}
		return care360.Errorf(care360.ENOTFOUND, "%s is not an active member", np.MSISDN.Masked())
	}
	_, err = tx.Exec(ctx, `UPDATE ussd_pushes SET targets = $2, excluded = $3 WHERE id = $1`, id, targets, left)
	return err
}

// recentMarketing is, per member, when the daily cap next lets marketing
// go to them (free_at): 24 h after the cap-th most recent marketing SMS or
// advertising push, sent or planned, in the week before start. A push that
// fell back to SMS counts once, as its SMS.
//
// With ofR, for each member of the statement's CTE r (a column msisdn),
// looked up by number (sms_messages_marketing_by_number,
// ussd_push_targets_marketing): what a part of a campaign, a push's
// fallbacks or one Send costs then grows with its own recipients, not with
// the week's marketing. A member with none has a NULL free_at. Grouping the
// week's marketing of every member and joining r to it read the whole week
// for each part of 10,000: 0.16–0.18 s after a quiet week, 0.76–0.91 s after a
// week of 1,000,000 SMS (docs/benchmarks.md, "A part's daily cap, by
// number"). Without ofR (a push's segment, which may be every member), the
// week's marketing grouped per member, read once.
func recentMarketing(start, dailyCap string, ofR bool) string {
	// marketing is the week's marketing of the member numbered number, or
	// with number empty of every member, each row with its msisdn.
	marketing := func(number string) string {
		of := func(alias string) (column, cond string) {
			if number == "" {
				return alias + ".msisdn, ", ""
			}
			return "", " AND " + alias + ".msisdn = " + number
		}
		mCol, mCond := of("m")
		tCol, tCond := of("t")
		if number == "" {
			mCond = " AND m." + readByTime // the week by time, whoever's
		}
		return `
			SELECT ` + mCol + `coalesce(m.submitted_at, m.scheduled_at) AS at FROM sms_messages m
			WHERE m.kind = 'marketing' AND m.status <> 'failed' AND m.scheduled_at > ` + start + ` - interval '7 days'` + mCond + `
			UNION ALL
			SELECT ` + tCol + `coalesce(t.sent_at, t.not_before) FROM ussd_push_targets t
			WHERE t.marketing AND NOT t.fell_back AND t.state NOT IN ('busy', 'refused', 'failed')
			  AND t.not_before > ` + start + ` - interval '7 days'` + tCond
	}
	freeAt := `(array_agg(x.at ORDER BY x.at DESC))[` + dailyCap + `::int] + interval '24 hours'`
	if ofR {
		return `
		SELECT r.msisdn, (SELECT ` + freeAt + ` FROM (` + marketing("r.msisdn") + `) x) AS free_at
		FROM (SELECT DISTINCT msisdn FROM r) r`
	}
	return `
		SELECT x.msisdn, ` + freeAt + ` AS free_at
		FROM (` + marketing("") + `) x
		GROUP BY x.msisdn`
}

// Push returns push id with its counts per state.
func (p *Pushes) Push(ctx context.Context, id int64) (out *care360.Push, err error) {
	defer wrap(&err, "push %d", id)
	ps, err := p.read(ctx, `WHERE p.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, care360.Errorf(care360.ENOTFOUND, "no push %d", id)
	}
	return &ps[0], nil
}

// Pushes returns the latest pushes, newest first (limit 1 to 200, default 50).
func (p *Pushes) Pushes(ctx context.Context, limit int) (ps []care360.Push, err error) {
	defer wrap(&err, "list pushes")
	if limit <= 0 {
		limit = 50
	}
	return p.read(ctx, `ORDER BY p.id DESC LIMIT $1`, min(limit, 200))
}

func (p *Pushes) read(ctx context.Context, tail string, arg any) ([]care360.Push, error) {
	rows, err := p.db.pool.Query(ctx, `
		SELECT p.id, p.kind, coalesce(p.msisdn, ''), p.segment, p.text, p.screen, p.marketing, p.fallback_sms,
			p.expires_at, p.created_at, p.created_by, p.targets, p.excluded,
			(SELECT coalesce(jsonb_object_agg(s.state, s.n), '{}') FROM (
				SELECT t.state, count(*) AS n FROM ussd_push_targets t WHERE t.push_id = p.id GROUP BY t.state
				UNION ALL
				SELECT 'fell_back', count(*) FROM ussd_push_targets t WHERE t.push_id = p.id AND t.fell_back) s)
		FROM ussd_pushes p `+tail, arg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.Push, error) {
		var out care360.Push
		var seg, screen, counts []byte
		var msisdn string
		err := r.Scan(&out.ID, &out.Kind, &msisdn, &seg, &out.Text, &screen, &out.Marketing, &out.FallbackSMS,
			&out.ExpiresAt, &out.CreatedAt, &out.CreatedBy, &out.Targets, &out.Excluded, &counts)
		if err != nil {
			return out, err
		}
		out.MSISDN = care360.MSISDN(msisdn)
		if seg != nil {
			var d segmentDoc
			if err := json.Unmarshal(seg, &d); err != nil {
				return out, err
			}
			s := d.segment()
			out.Segment = &s
		}
		if err := json.Unmarshal(screen, &out.Screen); err != nil {
			return out, err
		}
		out.Counts = make(map[string]int64, len(care360.PushStates))
		for _, s := range care360.PushStates {
			out.Counts[s] = 0
		}
		return out, json.Unmarshal(counts, &out.Counts)
	})
}

// pushClaimSQL leases up to $2 targets due at $1 to $3 until $4 ($5:
// marketing may go; $6: dialogues busy since). It runs with sequential
// scans off (keyedPlans), and the update finds the targets it leases by
// their key alone, their pushes joined after: while the targets'
// statistics were an empty table's, the plan a connection cached read
// every target twice a claim (once to sort the due ones on disk, once to
// find the ids picked), and with scans off it went from the push to all
// its targets. A member's dialogue is looked for by a scalar subquery,
// which is never read whole into a hash.
const pushClaimSQL = `
	WITH c AS (
		UPDATE ussd_push_targets t SET owner = $3, lease_until = $4, attempts = t.attempts + 1, lease_token = t.lease_token + 1
		WHERE t.id = ANY(ARRAY(
			SELECT id FROM ussd_push_targets
			WHERE state = 'queued' AND not_before <= $1 AND expires_at > $1 AND (lease_until IS NULL OR lease_until <= $1)
			  AND (NOT marketing OR $5)
			ORDER BY not_before
			LIMIT $2 FOR UPDATE SKIP LOCKED))
		RETURNING t.id, t.push_id, t.msisdn, t.expires_at, t.lease_token, t.attempts
	)
	SELECT c.id, c.push_id, c.msisdn, p.kind, p.text, p.screen, p.fallback_sms, c.expires_at, c.lease_token, c.attempts,
		(SELECT true FROM ussd_dialogues d WHERE d.msisdn = c.msisdn AND d.updated_at > $6 AND d.key NOT LIKE 'resume/%' LIMIT 1) IS NOT NULL
	FROM c JOIN ussd_pushes p ON p.id = c.push_id`

// ClaimPushes leases due targets (care360.PushQueue), like the outbox's
// Claim: SKIP LOCKED, a fencing token, lapsed leases claimable again. A
// target past its expiry is left to the sweep. Outside the marketing window
// only pushes that do not advertise are due. Each claim says whether its
// member has a dialogue in progress (Busy).
func (p *Pushes) ClaimPushes(ctx context.Context, owner string, max int, lease time.Duration) (cs []care360.PushClaim, err error) {
	defer wrap(&err, "claim pushes")
	if owner == "" || max <= 0 || lease <= 0 {
		return nil, care360.Errorf(care360.EINVALID, "claim needs an owner, a positive batch and a lease")
	}
	now := p.db.now()
	inWindow := p.sms.rules.InWindow(now, p.db.loc)
	// One round trip: the setting holds for the batch's transaction.
	b := &pgx.Batch{}
	b.Queue(keyedPlans)
	b.Queue(pushClaimSQL, now, max, owner, now.Add(lease), inWindow, now.Add(-p.idle))
	br := p.db.pool.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (care360.PushClaim, error) {
		var c care360.PushClaim
		var screen []byte
		err := r.Scan(&c.ID, &c.PushID, &c.MSISDN, &c.Kind, &c.Text, &screen, &c.FallbackSMS, &c.ExpiresAt, &c.Token, &c.Attempts, &c.Busy)
		if err == nil {
			err = json.Unmarshal(screen, &c.Screen)
		}
		return c, err
	})
}

// errFenced says a target's lease passed to another sender: this sender's
// word about it no longer counts.
var errFenced = care360.Errorf(care360.ECONFLICT, "push lease passed to another sender")

// fenced turns "no row updated" into errFenced.
func fenced(n int64, err error) error {
	if err == nil && n == 0 {
		return errFenced
	}
	return err
}

// PushWait hands a claimed target back, due again after wait. Waiting for
// the member's dialogue is not an attempt.
func (p *Pushes) PushWait(ctx context.Context, owner string, id, token int64, wait time.Duration, busy bool, why string) (err error) {
	defer wrap(&err, "push target %d waits", id)
	tag, err := p.db.pool.Exec(ctx, `
		UPDATE ussd_push_targets SET owner = NULL, lease_until = NULL, not_before = $4, busy_seen = busy_seen OR $5, error = nullif($6, ''),
			attempts = CASE WHEN $5 THEN greatest(attempts - 1, 0) ELSE attempts END
		WHERE id = $1 AND owner = $2 AND lease_token = $3 AND state = 'queued'`,
		id, owner, token, p.db.now().Add(wait), busy, plainText(why))
	return fenced(tag.RowsAffected(), err)
}

// PushSent records, in one statement, that the SMSC took these pushes: the
// members' phones show them. A quick phone may have answered one (or the
// network dropped it) before this is written: what the phone did stands,
// and only the lease and the time it went are recorded.
func (p *Pushes) PushSent(ctx context.Context, owner string, sent []care360.PushDelivery) (fenced int, err error) {
	defer wrap(&err, "%d push targets sent", len(sent))
	if len(sent) == 0 {
		return 0, nil
	}
	ids, tokens, refs := make([]int64, len(sent)), make([]int64, len(sent)), make([]int32, len(sent))
	for i, s := range sent {
		ids[i], tokens[i], refs[i] = s.ID, s.Token, int32(s.Ref)
	}
	// One round trip: the statements of a batch share its transaction,
	// so the setting holds for the update and ends with it, and so do the
	// locks the update then finds taken.
	b := &pgx.Batch{}
	b.Queue(keyedPlans)
	b.Queue(lockTargetsSQL, ids)
	b.Queue(pushSentSQL, ids, owner, p.db.now(), tokens, refs)
	br := p.db.pool.SendBatch(ctx, b)
	var tag pgconn.CommandTag
	for range 3 {
		if tag, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	return len(sent) - int(tag.RowsAffected()), nil
}

// lockTargetsSQL locks targets $1 in the order of their ids. The writer of
// notification endings locks the targets it ends in that order too: a
// quick phone answers before its push is recorded as sent, and two
// writers that lock shared rows in different orders deadlock. Locked as
// the deliveries came (the order the SMSC acknowledged them), they did,
// dozens of times a minute under load, each costing both a second.
const lockTargetsSQL = `SELECT 1 FROM ussd_push_targets WHERE id = ANY($1) ORDER BY id FOR UPDATE`

// pushSentSQL records pushes $1 (under tokens $4) sent by $2 at $3 with
// references $5. Each delivery finds its target by the target's key (the
// deliveries drive the join); found by "= ANY" of their ids as well, the
// planner put the targets outside and read every delivery again for each
// of them, a batch of 128 comparing 16,384 pairs. It runs with sequential
// scans off (keyedPlans), so that the targets are never read whole to be
// hashed.
const pushSentSQL = `
	UPDATE ussd_push_targets t SET state = CASE WHEN t.state = 'queued' THEN 'sent' ELSE t.state END,
		sent_at = $3, ref = u.ref, owner = NULL, lease_until = NULL, error = NULL
	FROM unnest($1::bigint[], $4::bigint[], $5::int[]) AS u (id, token, ref)
	WHERE t.id = u.id AND t.owner = $2 AND t.lease_token = u.token`

// PushEnd ends a claimed target that never reached the phone.
func (p *Pushes) PushEnd(ctx context.Context, owner string, id, token int64, state, why string) (err error) {
	defer wrap(&err, "end push target %d", id)
	switch state {
	case care360.PushBusy, care360.PushRefused, care360.PushFailed:
	default:
		return care360.Errorf(care360.EINVALID, "a push that was not sent cannot end as %q", state)
	}
	now := p.db.now()
	return p.db.Transact(ctx, func(tx pgx.Tx) error {
		var pushID int64
		var msisdn string
		var attempts int
		err := tx.QueryRow(ctx, `
			UPDATE ussd_push_targets SET state = $4, ended_at = $5, owner = NULL, lease_until = NULL, error = nullif($6, '')
			WHERE id = $1 AND owner = $2 AND lease_token = $3 AND state = 'queued'
			RETURNING push_id, msisdn, attempts`,
			id, owner, token, state, now, plainText(why)).Scan(&pushID, &msisdn, &attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return errFenced
		}
		if err != nil {
			return err
		}
		if state == care360.PushFailed {
			// Staff see it with the others that could not go (§8).
			if err := setAside(ctx, tx, care360.DeadLetterPush, strconv.FormatInt(id, 10), plainText(why),
				map[string]any{"push_id": pushID, "target_id": id, "msisdn": msisdn}, attempts, time.Time{}, now); err != nil {
				return err
			}
		}
		return p.fallBack(ctx, tx, []int64{id})
	})
}

// PushAnswered marks a sent menu answered (care360.PushTracker). Only the
// first answer changes anything. The answer may come before its sender has
// recorded the push as sent (still queued): it proves the push arrived.
func (p *Pushes) PushAnswered(ctx context.Context, id int64) (err error) {
	defer wrap(&err, "push target %d answered", id)
	_, err = p.db.pool.Exec(ctx, `UPDATE ussd_push_targets SET state = 'answered', answered_at = $2 WHERE id = $1 AND state IN ('queued', 'sent')`,
		id, p.db.now())
	return err
}

// PushFinished ends a target that reached the phone: completed, or
// no_answer with its fallback (care360.PushTracker). A target ended
// already (by the sweep, or a repeated abort) stays as it is.
func (p *Pushes) PushFinished(ctx context.Context, id int64, state string) (err error) {
	defer wrap(&err, "push target %d finished", id)
	if state != care360.PushCompleted && state != care360.PushNoAnswer {
		return care360.Errorf(care360.EINVALID, "a push that reached the phone cannot end as %q", state)
	}
	return p.db.Transact(ctx, func(tx pgx.Tx) error {
		// Queued too: the phone may act before the sender has written
		// that the push went.
		from := []string{care360.PushQueued, care360.PushSent, care360.PushAnswered}
		if state == care360.PushNoAnswer {
			from = from[:2] // answered once, it was not unanswered
		}
		tag, err := tx.Exec(ctx, `UPDATE ussd_push_targets SET state = $2, ended_at = $3 WHERE id = $1 AND state = ANY($4)`,
			id, state, p.db.now(), from)
		if err != nil || tag.RowsAffected() == 0 || state != care360.PushNoAnswer {
			return err
		}
		return p.fallBack(ctx, tx, []int64{id})
	})
}

// SweepPushes ends targets that waited too long (care360.PushQueue): queued
// ones past their expiry (busy if they waited for a dialogue in progress,
// else failed), and sent ones unanswered for answerWithin (no_answer); each
// with its fallback SMS, in the transaction that ends it. A busy target and
// an unanswered notification leave a dialogue record here (PRODUCT.md
// §3.8): neither has dialogue state whose end would write one. Rows a sender holds are skipped, not waited for.
func (p *Pushes) SweepPushes(ctx context.Context, answerWithin time.Duration) (n int, err error) {
	defer wrap(&err, "sweep pushes")
	now := p.db.now()
	err = p.db.Transact(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH expired AS (
				UPDATE ussd_push_targets SET state = CASE WHEN busy_seen THEN 'busy' ELSE 'failed' END, ended_at = $1,
					error = CASE WHEN busy_seen THEN 'a dialogue was in progress until the push expired'
					             ELSE coalesce(error, 'expired before it could be sent') END,
					owner = NULL, lease_until = NULL
				WHERE id = ANY(ARRAY(
					SELECT id FROM ussd_push_targets WHERE state = 'queued' AND expires_at <= $1
					  AND (lease_until IS NULL OR lease_until <= $1)
					LIMIT 1000 FOR UPDATE SKIP LOCKED))
				RETURNING id, msisdn, state, not_before
			),
			unanswered AS (
				UPDATE ussd_push_targets t SET state = 'no_answer', ended_at = $1
				FROM ussd_pushes p
				WHERE t.id = ANY(ARRAY(
					SELECT id FROM ussd_push_targets WHERE state = 'sent' AND sent_at <= $2
					LIMIT 1000 FOR UPDATE SKIP LOCKED)) AND p.id = t.push_id
				-- A notification keeps no dialogue state whose idle end
				-- would record it: its record is written here.
				RETURNING t.id, t.msisdn, CASE WHEN p.kind = 'notify' THEN 'no_answer' ELSE 'unrecorded' END, coalesce(t.sent_at, t.not_before)
			)
			SELECT * FROM expired UNION ALL SELECT * FROM unanswered`, now, now.Add(-answerWithin))
		if err != nil {
			return err
		}
		var ids []int64
		var busy []care360.DialogueRecord
		for rows.Next() {
			var id int64
			var msisdn, state string
			var planned time.Time
			if err := rows.Scan(&id, &msisdn, &state, &planned); err != nil {
				return err
			}
			ids = append(ids, id)
			if state == care360.PushBusy || state == care360.PushNoAnswer {
				busy = append(busy, care360.DialogueRecord{ID: "push-" + strconv.FormatInt(id, 10), MSISDN: care360.MSISDN(msisdn),
					Channel: care360.ChannelPush, StartedAt: planned, EndedAt: now, Outcome: state, LastScreen: "push"})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(ids)
		if err := insertRecords(ctx, tx, busy); err != nil {
			return err
		}
		return p.fallBack(ctx, tx, ids)
	})
	return n, err
}

// fallBack queues, inside tx, the fallback SMS of those of ids whose push
// asks for one and that have none yet: a transactional text as it is, an
// advertising one as marketing (its [QC] prefix, the window and the cap,
// opt-outs). Each is keyed by its target, so it is queued once however
// often this runs.
func (p *Pushes) fallBack(ctx context.Context, tx pgx.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		UPDATE ussd_push_targets t SET fell_back = true
		FROM ussd_pushes p
		WHERE t.id = ANY($1) AND p.id = t.push_id AND p.fallback_sms AND NOT t.fell_back
		RETURNING t.id, t.msisdn, p.text, p.marketing`, ids)
	if err != nil {
		return err
	}
	var transactional []care360.OutgoingSMS
	var mIDs []int64
	var mTexts []string
	for rows.Next() {
		var id int64
		var msisdn, text string
		var marketing bool
		if err := rows.Scan(&id, &msisdn, &text, &marketing); err != nil {
			return err
		}
		if marketing {
			mIDs, mTexts = append(mIDs, id), append(mTexts, p.sms.rules.MarketingText(text))
			continue
		}
		transactional = append(transactional, care360.OutgoingSMS{MSISDN: care360.MSISDN(msisdn), Text: text,
			Kind: care360.KindTransactional, IdempotencyKey: pushKey(id)})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := insertTransactional(ctx, tx, p.db.now(), transactional); err != nil {
		return err
	}
	if len(mIDs) == 0 {
		return nil
	}
	_, err = p.sms.scheduleMarketing(ctx, tx, `
		SELECT t.msisdn, u.text, 'push:' || t.id AS key, NULL::bigint AS campaign_id
		FROM unnest($1::bigint[], $2::text[]) AS u (id, text) JOIN ussd_push_targets t ON t.id = u.id`,
		[]any{mIDs, mTexts}, p.db.now(), true)
	return err
}
