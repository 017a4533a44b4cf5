package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// ClaimableGifts lists what msisdn may pick now: campaign gifts it is
// eligible for, with stock and an unused claim left, then the catalogue
// items its tier may buy in their window, cheapest first. Catalogue items
// stay listed when out of stock or beyond the limit, so that the refusal
// says why rather than the item vanishing.
func (c *Catalog) ClaimableGifts(ctx context.Context, msisdn care360.MSISDN) (gs []care360.Gift, err error) {
	defer wrap(&err, "claimable gifts of %s", msisdn.Masked())
	sub, err := c.db.Subscriber(ctx, msisdn)
	if err != nil {
		return nil, err
	}
	now := c.db.now()
	year := now.In(c.db.loc).Year()
	rows, err := c.db.pool.Query(ctx, `
		SELECT `+giftListColumns+`, (
			SELECT count(*) FROM gift_claims k
			WHERE k.gift_id = g.id AND k.msisdn = $1 AND k.status <> 'failed'
			  AND k.period = CASE WHEN g.occasion = 'birthday' THEN $3 ELSE 0 END)
		FROM gifts g
		WHERE g.active AND g.valid_from <= $2 AND g.valid_until > $2
		ORDER BY g.occasion = '', g.cost, g.id`, msisdn, now, year)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var g care360.Gift
		var tiers []string
		var seg segmentDoc
		var used int
		if err := rows.Scan(&g.ID, &g.Name, &g.NameEn, &g.Kind, &g.Occasion, &g.Cost, &tiers, &seg, &g.Limit,
			&g.ValidFrom, &g.ValidUntil, &g.Active, &g.Value, &g.ProvisionEndpoint, &g.Partner, &g.CreatedAt, &g.UpdatedAt, &g.Stock, &g.Claimed, &used); err != nil {
			return nil, err
		}
		g.Tiers = tierList(tiers)
		g.Segment = care360.Segment{Tiers: seg.Tiers, Gender: seg.Gender, BirthdayMonth: seg.BirthdayMonth, MSISDNs: seg.MSISDNs}
		if g.Eligible(sub, now, c.db.loc) != nil || g.Campaign() && (g.Stock == 0 || used >= g.Limit) {
			continue
		}
		gs = append(gs, g)
	}
	return gs, rows.Err()
}

// ClaimGift gives one gift exactly once. The subscriber's row lock (the one
// every points change takes) serialises a subscriber's claims and debits
// across gateway instances; the constraints hold whatever happens: the
// limit slot is UNIQUE, a code is taken by one claim only, no stock stripe
// can go below zero, a credit cannot be overspent. What all claims of a
// gift contend for (a code, a stock stripe) is taken with SKIP LOCKED, so
// claims of one gift wait for each other only when it is nearly gone.
//
// A claim that finds no other in flight goes alone (claimAlone); claims
// that arrive while others are in flight go together, in one transaction
// for them all (groups.go, claim_groups.go).
func (c *Catalog) ClaimGift(ctx context.Context, r care360.ClaimRequest) (cl *care360.Claim, replay bool, err error) {
	defer wrap(&err, "claim gift %d for %s", r.GiftID, r.MSISDN.Masked())
	if r.IdempotencyKey == "" {
		r.IdempotencyKey = "claim:" + newCode("")
	}
	if len(r.IdempotencyKey) > 190 {
		return nil, false, care360.Errorf(care360.EINVALID, "idempotency_key is longer than 190 bytes")
	}
	res, err := c.groups.do(ctx, r)
	if err != nil {
		return nil, false, err
	}
	cl, replay = res.cl, res.replay
	if !replay {
		c.db.log.Info("gift claimed", "gift", cl.GiftID, "claim", cl.ID, "msisdn", r.MSISDN.Masked(), "points", cl.Points)
	}
	return cl, replay, nil
}

// claimAlone makes one claim in a transaction of its own, in three round
// trips: the begin, the lock, the gift, the subscriber's claims of it and
// a voucher's code in one pipeline (queueAdmission); the debit, the claim,
// its SMS and the stock in another; the commit.
func (c *Catalog) claimAlone(ctx context.Context, r care360.ClaimRequest) (cl *care360.Claim, replay bool, err error) {
	now := c.db.now()
	var g *care360.Gift
	err = c.db.transactFrom(ctx, func(b *pgx.Batch) { c.queueAdmission(b, r, now) }, func(tx pgx.Tx, br pgx.BatchResults) error {
		replay = false
		a, err := c.readAdmission(br, r)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		g = a.gift
		switch {
		case err != nil:
			return err
		case a.seen:
			replay = true
			cl, err = c.claimByKey(ctx, tx, r.IdempotencyKey)
			return err
		case g.Stock == 0:
			return care360.Refused(care360.ReasonOutOfStock, "gift %d is out of stock", g.ID)
		}
		if err := g.Eligible(a.sub, now, c.db.loc); err != nil {
			return err
		}
		if g.Kind == care360.GiftVoucher || g.Kind == care360.GiftAirtime {
			if err := a.sub.CheckHold(); err != nil {
				return err
			}
		}
		cl, err = c.claim(ctx, tx, g, a, r.IdempotencyKey, now)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	cl.Gift = g
	return cl, replay, nil
}

// admission is what a claim reads before it writes: the gift, the locked
// subscriber, whether a claim has the request's key, the subscriber's
// claims of the gift in this period, the new claim's id, and a voucher's
// code when one was free (codeID nil otherwise).
type admission struct {
	gift   *care360.Gift
	sub    *care360.Subscriber
	seen   bool
	used   int
	id     int64
	codeID *int64
	code   string
}

// queueAdmission queues, after the BEGIN and in its round trip, what a
// claim reads before it writes: the subscriber's row lock, the gift (the list
// columns: counting the gift's claims would cost every claim more the more
// there are), whether a claim has the request's key with the subscriber's
// claims of the gift in this period, and a free code of the gift taken with
// SKIP LOCKED. The statements run in order, each with its own snapshot, so
// the key, the count and the code are read after the lock was granted:
// they see the claim the lock waited for. The code is taken before the
// claim is known to go ahead, only for a voucher whose key is unused; a
// claim refused rolls back and leaves it free.
func (c *Catalog) queueAdmission(b *pgx.Batch, r care360.ClaimRequest, now time.Time) {
	b.Queue(memberLockSQL, r.MSISDN)
	b.Queue(`SELECT `+giftListColumns+` FROM gifts g WHERE g.id = $1`, r.GiftID)
	b.Queue(claimKeySQL, r.IdempotencyKey, r.GiftID, r.MSISDN, now.In(c.db.loc).Year())
	b.Queue(admitCodeSQL, r.GiftID, r.IdempotencyKey)
}

// claimKeySQL says whether a claim has the key $1, counts the claims of
// gift $2 by $3 in the period of year $4, and numbers the new claim.
const claimKeySQL = `SELECT EXISTS (SELECT 1 FROM gift_claims WHERE idempotency_key = $1),
	(SELECT count(*) FROM gift_claims k JOIN gifts g ON g.id = k.gift_id
	 WHERE k.gift_id = $2 AND k.msisdn = $3 AND k.status <> 'failed'
	   AND k.period = CASE WHEN g.occasion = 'birthday' THEN $4 ELSE 0 END),
	nextval('gift_claims_id_seq')`

// admitCodeSQL is takeCodeSQL with SKIP LOCKED, for a voucher gift and a
// key no claim has.
const admitCodeSQL = `UPDATE gift_codes SET taken = true WHERE id = (
	SELECT c.id FROM gift_codes c WHERE c.gift_id = $1 AND NOT c.taken
	  AND EXISTS (SELECT 1 FROM gifts g WHERE g.id = $1 AND g.kind = 'voucher')
	  AND NOT EXISTS (SELECT 1 FROM gift_claims WHERE idempotency_key = $2)
	ORDER BY c.id LIMIT 1 FOR UPDATE OF c SKIP LOCKED)
	RETURNING id, code`

// readAdmission reads queueAdmission's results, in order.
func (c *Catalog) readAdmission(br pgx.BatchResults, r care360.ClaimRequest) (a admission, err error) {
	sub, subErr := c.db.scanSubscriber(br.QueryRow())
	if a.gift, err = scanGift(br.QueryRow()); err != nil {
		return a, notFound(err, "no gift %d", r.GiftID)
	}
	if subErr != nil {
		return a, notFound(subErr, "no subscriber %s", r.MSISDN.Masked())
	}
	a.sub = sub
	if err := br.QueryRow().Scan(&a.seen, &a.used, &a.id); err != nil {
		return a, err
	}
	var id int64
	switch err := br.QueryRow().Scan(&id, &a.code); {
	case err == nil:
		a.codeID = &id
	case !errors.Is(err, pgx.ErrNoRows):
		return a, err
	}
	return a, nil
}

// claim does the writes of the claim a admitted, whose subscriber is
// locked and eligible: the debit, the claim with its provisioning call,
// the SMS and a stock stripe, in one pipeline. A voucher's code, which its
// SMS gives, came with the admission; when every free code was locked by
// claims in flight, it is taken here first (takeOne). The code and the
// stripe are each an attempt that passes locked rows by (takeOne waits only
// when they were all locked); the stripe is taken last, so that the claims
// of one gift, which meet on the stripes, hold one for the least time: the
// rest of a pipeline and the commit. The claim finds its debit by the
// debit's key, since the statements of a pipeline run in order and each
// sees what those before it wrote.
func (c *Catalog) claim(ctx context.Context, tx pgx.Tx, g *care360.Gift, a admission, key string, now time.Time) (*care360.Claim, error) {
	sub, used := a.sub, a.used
	period := g.Period(now, c.db.loc)
	if used >= g.Limit {
		return nil, care360.Refused(care360.ReasonLimitReached, "gift %d: %d of %d claims used", g.ID, used, g.Limit)
	}
	cl := &care360.Claim{ID: a.id, GiftID: g.ID, MSISDN: sub.MSISDN, Points: g.Cost, Status: care360.ClaimDone, Gift: g}
	codeID := a.codeID
	switch {
	case g.Kind != care360.GiftVoucher:
		cl.Code = newCode("Q")
	case codeID != nil:
		cl.Code = a.code
	default:
		var id int64
		ok, err := takeOne(ctx, tx, takeCodeSQL, takeCodeLeftSQL, g.ID, &id, &cl.Code)
		if err != nil || !ok {
			return nil, outOfStock(g, err)
		}
		codeID = &id
	}
	if g.Kind.Provisioned() {
		cl.Status = care360.ClaimPending
	}
	b := &pgx.Batch{}
	debit := queueDebit(b, sub.MSISDN, care360.PointsChange{
		Kind: care360.PointsBonus, Points: -g.Cost, Reason: fmt.Sprintf("gift #%d", g.ID), IdempotencyKey: key,
	}, now)
	b.Queue(`
		WITH k AS (
			INSERT INTO gift_claims (id, gift_id, msisdn, period, slot, claim_limit, points, debit_id, code_id, code, status,
				idempotency_key, created_at, updated_at)
			SELECT $7, $1, $2, $3, $4, $5, $6, l.id, $8, $9, $10, $11, $12, $12
			FROM (SELECT (SELECT id FROM points_ledger WHERE msisdn = $2 AND idempotency_key = $11) AS id) l
			WHERE (l.id IS NULL) = ($6::bigint = 0)
			RETURNING id, created_at
		), p AS (
			INSERT INTO provision_calls (claim_id, msisdn, kind, value, endpoint, not_before, created_at, updated_at)
			SELECT k.id, $2, $13, $14, $15, $12, $12, $12 FROM k WHERE $16
		)
		SELECT id, created_at FROM k`,
		g.ID, sub.MSISDN, period, used+1, g.Limit, cl.Points, cl.ID, codeID, cl.Code, cl.Status, key, now,
		g.Kind, g.Value, g.ProvisionEndpoint, g.Kind.Provisioned())
	if err := queueTransactional(b, now, cl.ClaimSMS(sub.Language)); err != nil {
		return nil, err
	}
	b.Queue(fmt.Sprintf(takeStockSQL, "SKIP LOCKED"), g.ID)
	br := tx.SendBatch(ctx, b)
	debit.read(br)
	claimErr := br.QueryRow().Scan(&cl.ID, &cl.CreatedAt)
	if claimErr == nil {
		_, claimErr = br.Exec() // the SMS
	}
	var stripe int
	stockErr := br.QueryRow().Scan(&stripe)
	_ = br.Close() // each statement's error is in its result
	if _, err := debit.settle(ctx, c.db, tx); err != nil {
		return nil, err
	}
	if claimErr != nil {
		return nil, claimErr
	}
	if errors.Is(stockErr, pgx.ErrNoRows) {
		ok, err := takeOne(ctx, tx, takeStockSQL, takeStockLeftSQL, g.ID, &stripe)
		if err != nil || !ok {
			return nil, outOfStock(g, err)
		}
		stockErr = nil
	}
	if stockErr != nil {
		return nil, stockErr
	}
	return cl, nil
}

// The units every claim of a gift wants, for takeOne: a free code (the
// lowest id, through the partial index of free codes) and a stripe of
// stock with some left (at random, so that claims spread over them).
const (
	takeCodeSQL = `UPDATE gift_codes SET taken = true WHERE id = (
		SELECT id FROM gift_codes WHERE gift_id = $1 AND NOT taken ORDER BY id LIMIT 1 FOR UPDATE %s)
		RETURNING id, code`
	takeCodeLeftSQL = `SELECT EXISTS (SELECT 1 FROM gift_codes WHERE gift_id = $1 AND NOT taken)`
	takeStockSQL    = `UPDATE gift_stock SET stock = stock - 1 WHERE gift_id = $1 AND stripe = (
		SELECT stripe FROM gift_stock WHERE gift_id = $1 AND stock > 0 ORDER BY random() LIMIT 1 FOR UPDATE %s)
		RETURNING stripe`
	takeStockLeftSQL = `SELECT EXISTS (SELECT 1 FROM gift_stock WHERE gift_id = $1 AND stock > 0)`
)

// takeOne runs update (a statement whose row is picked by a sub-select
// ending in FOR UPDATE %s) to take one unit of something every claim of a
// gift wants: first with SKIP LOCKED, so that claims pass each other; when
// every candidate is locked by claims in flight, which may yet roll back,
// it waits for one (without SKIP LOCKED) and tries again, for as long as
// exists says some are left. So it is refused only when none is left.
func takeOne(ctx context.Context, tx pgx.Tx, update, exists string, giftID int64, dest ...any) (bool, error) {
	skip, wait := fmt.Sprintf(update, "SKIP LOCKED"), fmt.Sprintf(update, "")
	for {
		err := tx.QueryRow(ctx, skip, giftID).Scan(dest...)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err == nil, err
		}
		var left bool
		if err := tx.QueryRow(ctx, exists, giftID).Scan(&left); err != nil || !left {
			return false, err
		}
		err = tx.QueryRow(ctx, wait, giftID).Scan(dest...)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err == nil, err
		}
	}
}

func outOfStock(g *care360.Gift, err error) error {
	if err != nil {
		return err
	}
	return care360.Refused(care360.ReasonOutOfStock, "gift %d is out of stock", g.ID)
}

const claimColumns = `id, gift_id, msisdn, points, code, status, created_at`

func (c *Catalog) claimByKey(ctx context.Context, q querier, key string) (*care360.Claim, error) {
	var cl care360.Claim
	err := q.QueryRow(ctx, `SELECT `+claimColumns+` FROM gift_claims WHERE idempotency_key = $1`, key).
		Scan(&cl.ID, &cl.GiftID, &cl.MSISDN, &cl.Points, &cl.Code, &cl.Status, &cl.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &cl, nil
}

// codeAlphabet leaves out 0/O and 1/I, which people misread off a screen.
const codeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// newCode returns prefix and 10 random characters (50 bits): a confirmation,
// booking or e-code. A collision would only fail a UNIQUE constraint.
func newCode(prefix string) string {
	b := make([]byte, 10)
	rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return prefix + string(b)
}

// AnnounceGifts announces every campaign gift claimable today to the
// members it is for, as one marketing campaign per gift and period (the
// birthday gift each month, the others once): the campaign machinery
// applies quiet hours, the daily cap, opt-outs and the do-not-call list,
// and its idempotency key makes a second run, or a second instance,
// announce nothing twice.
func (c *Catalog) AnnounceGifts(ctx context.Context) (n int, err error) {
	defer wrap(&err, "announce gifts")
	now := c.db.now()
	rows, err := c.db.pool.Query(ctx, `SELECT `+giftListColumns+` FROM gifts g
		WHERE g.occasion <> '' AND g.active AND g.valid_from <= $1 AND g.valid_until > $1
		  AND EXISTS (SELECT 1 FROM gift_stock s WHERE s.gift_id = g.id AND s.stock > 0) ORDER BY g.id`, now)
	if err != nil {
		return 0, err
	}
	gifts, err := collectGifts(rows)
	if err != nil {
		return 0, err
	}
	for _, g := range gifts {
		seg, period := g.Segment, ""
		if len(seg.Tiers) == 0 {
			seg.Tiers = g.Tiers
		}
		if g.Occasion == care360.OccasionBirthday {
			month := now.In(c.db.loc)
			seg.BirthdayMonth, period = int(month.Month()), month.Format("2006-01")
		}
		vi, en := g.AnnounceText(c.ussdCode)
		_, replay, err := c.sms.CreateCampaign(ctx, care360.NewCampaign{
			Name: fmt.Sprintf("gift #%d %s", g.ID, period), Text: vi, TextEn: en, Segment: seg,
			IdempotencyKey: fmt.Sprintf("gift-announce:%d:%s", g.ID, period),
		})
		if err != nil {
			return n, fmt.Errorf("gift %d: %w", g.ID, err)
		}
		if !replay {
			n++
		}
	}
	return n, nil
}
