package store

// Gift claims made together (groups.go): a group of waiting claims is one
// transaction of four round trips, with one statement per table for them
// all. Each claim is decided as claimAlone decides it; the constraints
// that hold a claim alone (the UNIQUE limit slot and code, stock never
// below zero, credits never overspent) hold the group's statements too. A
// gift whose stock or codes the group could not take for all its claims at
// once has the rest of its claims made alone.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
)

// claimResult is a claim made, or found again under its key (replay).
type claimResult struct {
	cl     *care360.Claim
	replay bool
}

// newClaimGroups admits c's claims to its claim transactions.
func newClaimGroups(c *Catalog) *groups[care360.ClaimRequest, claimResult] {
	return &groups[care360.ClaimRequest, claimResult]{
		name: "gift claims",
		alone: func(ctx context.Context, r care360.ClaimRequest) (claimResult, error) {
			cl, replay, err := c.claimAlone(ctx, r)
			return claimResult{cl, replay}, err
		},
		together: c.claimGroup,
		// A member's claims in one statement would each miss the others'
		// debits and slots.
		apart: func(r care360.ClaimRequest) []string { return []string{"m" + string(r.MSISDN), "k" + r.IdempotencyKey} },
		warn:  c.db.log.Warn,
	}
}

// ClaimsGrouped is how many claims c's groups have decided (made, refused
// or replayed) since it was made; the others were made alone.
func (c *Catalog) ClaimsGrouped() int64 { return c.groups.grouped.Load() }

// groupAdmission is what a group reads before it writes, as admission is
// for a claim alone: the locked members, the gifts, for each claim whether
// its key has a claim, the member's claims of the gift in the period and
// the new claim's id, and each member's spendable points.
type groupAdmission struct {
	subs      map[care360.MSISDN]*care360.Subscriber
	gifts     map[int64]*care360.Gift
	seen      []bool
	used      []int
	ids       []int64
	spendable map[care360.MSISDN]int64
}

// claimGroup makes group's claims in one transaction of four round trips,
// whatever their number: the begin with the members' locks and the reads
// (queueGroupAdmission); the codes and stock the claims decided to go
// ahead need (takeUnits); the debits, claims, provisioning calls and SMS,
// one statement each, with the claims of replayed keys; the commit. It
// returns each claim's outcome, or an error when the transaction failed
// (deadlocks and serialization failures are retried first).
func (c *Catalog) claimGroup(ctx context.Context, group []care360.ClaimRequest, givenUp func() []bool) (outs []outcome[claimResult], err error) {
	now := c.db.now()
	err = c.db.transactFrom(ctx, func(b *pgx.Batch) { c.queueGroupAdmission(b, group, now) }, func(tx pgx.Tx, br pgx.BatchResults) error {
		a, err := c.readGroupAdmission(br, group)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		outs = make([]outcome[claimResult], len(group))
		gone := givenUp()
		var going []int // the claims that go ahead, in group order
		want := make(map[int64]int)
		for i, r := range group {
			if gone[i] {
				outs[i].err = context.Canceled // nobody reads it
				continue
			}
			if outs[i] = c.decide(r, a, i, now); outs[i].err == nil && !outs[i].out.replay {
				going = append(going, i)
				want[r.GiftID]++
			}
		}
		units, err := c.takeUnits(ctx, tx, a.gifts, want)
		if err != nil {
			return err
		}
		return c.writeGroup(ctx, tx, group, a, going, units, outs, now)
	})
	return outs, err
}

// queueGroupAdmission queues, after the BEGIN, the members' row locks (in
// one order, so that two groups never wait for each other in a circle), the
// gifts, each claim's key, count and id (claimKeySQL's, for every claim at
// once) and the members' spendable points. Each statement's snapshot is
// taken after the locks were granted, as in queueAdmission.
func (c *Catalog) queueGroupAdmission(b *pgx.Batch, group []care360.ClaimRequest, now time.Time) {
	msisdns, gifts, keys := make([]string, len(group)), make([]int64, len(group)), make([]string, len(group))
	for i, r := range group {
		msisdns[i], gifts[i], keys[i] = string(r.MSISDN), r.GiftID, r.IdempotencyKey
	}
	b.Queue(membersLockSQL, msisdns)
	b.Queue(`SELECT `+giftListColumns+` FROM gifts g WHERE g.id = ANY($1)`, gifts)
	b.Queue(groupKeySQL, keys, gifts, msisdns, now.In(c.db.loc).Year())
	b.Queue(spendableSQL, msisdns, now)
}

// groupKeySQL is claimKeySQL for each claim of a group: $1 the keys, $2
// the gifts, $3 the members, $4 the year. Each key is looked up by a
// scalar subquery: an EXISTS here was planned, on a young table's
// statistics, as a hash of every claim's key, built again for each group.
const groupKeySQL = `
	SELECT (SELECT true FROM gift_claims WHERE idempotency_key = u.k LIMIT 1) IS NOT NULL,
		(SELECT count(*) FROM gift_claims k JOIN gifts g ON g.id = k.gift_id
		 WHERE k.gift_id = u.g AND k.msisdn = u.m AND k.status <> 'failed'
		   AND k.period = CASE WHEN g.occasion = 'birthday' THEN $4 ELSE 0 END),
		nextval('gift_claims_id_seq')
	FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS u (k, g, m, i)
	ORDER BY u.i`

// readGroupAdmission reads queueGroupAdmission's results, in order.
func (c *Catalog) readGroupAdmission(br pgx.BatchResults, group []care360.ClaimRequest) (a groupAdmission, err error) {
	if a.subs, err = c.db.readMembers(br); err != nil {
		return a, err
	}
	rows, err := br.Query()
	if err != nil {
		return a, err
	}
	gifts, err := collectGifts(rows)
	if err != nil {
		return a, err
	}
	a.gifts = make(map[int64]*care360.Gift, len(gifts))
	for i := range gifts {
		a.gifts[gifts[i].ID] = &gifts[i]
	}
	a.seen, a.used, a.ids = make([]bool, len(group)), make([]int, len(group)), make([]int64, len(group))
	if err := scanEach(br, len(group), "claims", func(i int, rows pgx.Rows) error {
		return rows.Scan(&a.seen[i], &a.used[i], &a.ids[i])
	}); err != nil {
		return a, err
	}
	a.spendable, err = readSpendable(br)
	return a, err
}

// decide is claimAlone's decision for the group's claim i, made on what the
// group read; a claim that goes ahead has the zero outcome.
func (c *Catalog) decide(r care360.ClaimRequest, a groupAdmission, i int, now time.Time) outcome[claimResult] {
	g, sub := a.gifts[r.GiftID], a.subs[r.MSISDN]
	refused := func(err error) outcome[claimResult] { return outcome[claimResult]{err: err} }
	switch {
	case g == nil:
		return refused(notFound(pgx.ErrNoRows, "no gift %d", r.GiftID))
	case sub == nil:
		return refused(notFound(pgx.ErrNoRows, "no subscriber %s", r.MSISDN.Masked()))
	case a.seen[i]:
		return outcome[claimResult]{out: claimResult{replay: true}}
	case g.Stock == 0:
		return refused(care360.Refused(care360.ReasonOutOfStock, "gift %d is out of stock", g.ID))
	}
	if err := g.Eligible(sub, now, c.db.loc); err != nil {
		return refused(err)
	}
	if g.Kind == care360.GiftVoucher || g.Kind == care360.GiftAirtime {
		if err := sub.CheckHold(); err != nil {
			return refused(err)
		}
	}
	if used := a.used[i]; used >= g.Limit {
		return refused(care360.Refused(care360.ReasonLimitReached, "gift %d: %d of %d claims used", g.ID, used, g.Limit))
	}
	if have := a.spendable[sub.MSISDN]; have < g.Cost {
		return refused(insufficient(have, g.Cost))
	}
	return outcome[claimResult]{}
}

// giftUnits is what a group took of one gift: free codes (a voucher's),
// in upload order, and units of stock, from the stripes named.
type giftUnits struct {
	codes   []takenCode
	stock   int64
	stripes []takenStripe
	left    int64 // units the group's claims may still use
}

type takenCode struct {
	id   int64
	code string
}

// takeCodesSQL takes free codes of gifts, passing locked ones: $1 the
// gifts, $2 how many of each. The codes taken are updated through their
// key, as an array: the planner cannot know how many a LIMIT from an
// array takes, guessed a tenth of each gift's codes, and joined them to
// every code of the table (a hash or merge join), for every group.
const takeCodesSQL = `
	WITH t AS (
		SELECT f.id FROM unnest($1::bigint[], $2::int[]) AS u (g, n)
		CROSS JOIN LATERAL (SELECT id FROM gift_codes WHERE gift_id = u.g AND NOT taken
			ORDER BY id LIMIT u.n FOR UPDATE SKIP LOCKED) f
	)
	UPDATE gift_codes c SET taken = true WHERE c.id = ANY (ARRAY(SELECT id FROM t))
	RETURNING c.gift_id, c.id, c.code`

// takeUnits takes, in one round trip, what the going claims need of each
// gift (want: claims by gift): a code each for vouchers and a unit of
// stock each. It passes locked rows by (SKIP LOCKED), so that a group
// never waits for the claims beside it, and takes the stock from one
// stripe, the first with some left from a stripe picked at random (the
// claims alone beside it pick theirs at random too): a few rows read
// through the key, not every stripe of the gift. It may take fewer than
// wanted, and of codes and stock different numbers; writeGroup gives back
// what the claims do not use, and leaves claims without units to be made
// alone.
func (c *Catalog) takeUnits(ctx context.Context, tx pgx.Tx, gifts map[int64]*care360.Gift, want map[int64]int) (map[int64]*giftUnits, error) {
	units := make(map[int64]*giftUnits, len(want))
	if len(want) == 0 {
		return units, nil
	}
	var vouchers []int64
	var vn []int32
	for id, k := range want {
		units[id] = &giftUnits{}
		if gifts[id].Kind == care360.GiftVoucher {
			vouchers, vn = append(vouchers, id), append(vn, int32(k))
		}
	}
	b := &pgx.Batch{}
	giftStock.queueTake(b, want)
	if len(vouchers) > 0 {
		b.Queue(takeCodesSQL, vouchers, vn)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	taken, err := readTaken(br)
	if err != nil {
		return nil, err
	}
	if len(vouchers) > 0 {
		var gift int64
		var tc takenCode
		rows, _ := br.Query()
		if _, err := pgx.ForEachRow(rows, []any{&gift, &tc.id, &tc.code}, func() error {
			units[gift].codes = append(units[gift].codes, tc)
			return nil
		}); err != nil {
			return nil, err
		}
		for _, u := range units {
			slices.SortFunc(u.codes, func(a, b takenCode) int { return cmp.Compare(a.id, b.id) })
		}
	}
	if err := br.Close(); err != nil {
		return nil, err
	}
	if err := giftStock.takeMore(ctx, tx, want, taken); err != nil {
		return nil, err
	}
	for id, sts := range taken {
		units[id].stripes, units[id].stock = sts, sumTaken(sts)
	}
	return units, nil
}

// writeGroup writes, in one round trip, the claims that go ahead and have
// their units: where a gift's claims got fewer units than they are, the
// first get them, the rest are left to be made alone, and what the group
// took beyond what its claims use goes back; then the
// debits, the claims with their provisioning calls, and their SMS, one
// statement each, and the claims of replayed keys are read. outs gets each
// claim's outcome.
func (c *Catalog) writeGroup(ctx context.Context, tx pgx.Tx, group []care360.ClaimRequest, a groupAdmission, going []int,
	units map[int64]*giftUnits, outs []outcome[claimResult], now time.Time) error {
	b := &pgx.Batch{}
	var backCodes []int64
	var back stripeReturns
	for id, u := range units {
		k := 0
		for _, i := range going {
			if group[i].GiftID == id {
				k++
			}
		}
		u.left = min(int64(k), u.stock)
		if a.gifts[id].Kind == care360.GiftVoucher {
			u.left = min(u.left, int64(len(u.codes)))
			for _, tc := range u.codes[u.left:] {
				backCodes = append(backCodes, tc.id)
			}
			u.codes = u.codes[:u.left]
		}
		back.add(id, u.stripes, u.stock-u.left)
	}
	if len(backCodes) > 0 {
		b.Queue(`UPDATE gift_codes SET taken = false WHERE id = ANY($1)`, backCodes)
	}
	givingBack := back.queue(b, giftStock)

	var made []int
	var cols claimColumnsArrays
	var debits groupDebits
	var msgs []care360.OutgoingSMS
	for _, i := range going {
		r := group[i]
		g, sub, u := a.gifts[r.GiftID], a.subs[r.MSISDN], units[r.GiftID]
		if u.left == 0 { // the rest of the gift's claims are made alone
			outs[i].alone = true
			continue
		}
		u.left--
		cl := &care360.Claim{ID: a.ids[i], GiftID: g.ID, MSISDN: sub.MSISDN, Points: g.Cost, Status: care360.ClaimDone, Gift: g}
		var codeID *int64
		if g.Kind == care360.GiftVoucher {
			codeID, cl.Code = &u.codes[0].id, u.codes[0].code
			u.codes = u.codes[1:]
		} else {
			cl.Code = newCode("Q")
		}
		if g.Kind.Provisioned() {
			cl.Status = care360.ClaimPending
		}
		if g.Cost > 0 {
			debits.add(sub.MSISDN, -g.Cost, fmt.Sprintf("gift #%d", g.ID), r.IdempotencyKey)
		}
		cols.add(cl, g, g.Period(now, c.db.loc), a.used[i]+1, codeID, r.IdempotencyKey)
		msgs = append(msgs, cl.ClaimSMS(sub.Language))
		outs[i].out.cl = cl
		made = append(made, i)
	}
	debits.queue(b, now)
	if len(made) > 0 {
		b.Queue(groupClaimsSQL, cols.args(now)...)
		sql, args, err := transactionalInsert(now, msgs)
		if err != nil {
			return err
		}
		b.Queue(sql, args...)
	}
	var replayKeys []string
	for i, o := range outs {
		if o.out.replay {
			replayKeys = append(replayKeys, group[i].IdempotencyKey)
		}
	}
	if len(replayKeys) > 0 {
		b.Queue(`SELECT `+claimColumns+`, idempotency_key FROM gift_claims WHERE idempotency_key = ANY($1)`, replayKeys)
	}
	if b.Len() == 0 {
		return nil
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	if len(backCodes) > 0 {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	if givingBack {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	if err := debits.read(br); err != nil {
		return err
	}
	if len(made) > 0 {
		rows, _ := br.Query()
		created := make(map[int64]time.Time, len(made))
		var id int64
		var at time.Time
		if _, err := pgx.ForEachRow(rows, []any{&id, &at}, func() error { created[id] = at; return nil }); err != nil {
			return err
		}
		if len(created) != len(made) {
			return fmt.Errorf("%d claims made of %d", len(created), len(made))
		}
		for _, i := range made {
			outs[i].out.cl.CreatedAt = created[outs[i].out.cl.ID]
		}
		if _, err := br.Exec(); err != nil { // the SMS
			return err
		}
	}
	if len(replayKeys) > 0 {
		rows, _ := br.Query()
		byKey := make(map[string]*care360.Claim, len(replayKeys))
		var cl care360.Claim
		var key string
		if _, err := pgx.ForEachRow(rows, []any{&cl.ID, &cl.GiftID, &cl.MSISDN, &cl.Points, &cl.Code, &cl.Status, &cl.CreatedAt, &key}, func() error {
			found := cl
			byKey[key] = &found
			return nil
		}); err != nil {
			return err
		}
		for i := range outs {
			if !outs[i].out.replay {
				continue
			}
			r := group[i]
			if outs[i].out.cl = byKey[r.IdempotencyKey]; outs[i].out.cl == nil {
				outs[i] = outcome[claimResult]{alone: true}
				continue
			}
			outs[i].out.cl.Gift = a.gifts[r.GiftID]
		}
	}
	return br.Close()
}

// claimColumnsArrays are a group's claims as groupClaimsSQL's arrays.
type claimColumnsArrays struct {
	ids, gifts, points, values []int64
	codeIDs                    []*int64
	msisdns, codes, statuses   []string
	keys, kinds, endpoints     []string
	periods, slots, limits     []int32
	provisioned                []bool
}

func (k *claimColumnsArrays) add(cl *care360.Claim, g *care360.Gift, period, slot int, codeID *int64, key string) {
	k.ids, k.gifts, k.msisdns = append(k.ids, cl.ID), append(k.gifts, g.ID), append(k.msisdns, string(cl.MSISDN))
	k.periods, k.slots, k.limits = append(k.periods, int32(period)), append(k.slots, int32(slot)), append(k.limits, int32(g.Limit))
	k.points, k.codeIDs, k.codes = append(k.points, cl.Points), append(k.codeIDs, codeID), append(k.codes, cl.Code)
	k.statuses, k.keys, k.kinds = append(k.statuses, string(cl.Status)), append(k.keys, key), append(k.kinds, string(g.Kind))
	k.values, k.endpoints, k.provisioned = append(k.values, g.Value), append(k.endpoints, g.ProvisionEndpoint), append(k.provisioned, g.Kind.Provisioned())
}

func (k *claimColumnsArrays) args(now time.Time) []any {
	return []any{k.ids, k.gifts, k.msisdns, k.periods, k.slots, k.limits, k.points, k.codeIDs, k.codes, k.statuses,
		k.keys, k.kinds, k.values, k.endpoints, k.provisioned, now}
}

// groupClaimsSQL inserts a group's claims with their provisioning calls,
// as claim's statement does one: each claim finds its debit by its key
// (the debits' statement ran before it in the pipeline) and is refused by
// the constraints when a debit is missing or a slot or code is taken.
const groupClaimsSQL = `
	WITH r AS (
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], $5::int[], $6::int[], $7::bigint[],
			$8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::text[], $15::bool[])
			AS r (id, gift_id, msisdn, period, slot, claim_limit, points, code_id, code, status, key, kind, value, endpoint, provisioned)
	), k AS (
		INSERT INTO gift_claims (id, gift_id, msisdn, period, slot, claim_limit, points, debit_id, code_id, code, status,
			idempotency_key, created_at, updated_at)
		SELECT r.id, r.gift_id, r.msisdn, r.period, r.slot, r.claim_limit, r.points, l.id, r.code_id, r.code, r.status, r.key, $16, $16
		FROM r LEFT JOIN points_ledger l ON l.msisdn = r.msisdn AND l.idempotency_key = r.key
		WHERE (l.id IS NULL) = (r.points = 0)
		RETURNING id, created_at
	), p AS (
		INSERT INTO provision_calls (claim_id, msisdn, kind, value, endpoint, not_before, created_at, updated_at)
		SELECT r.id, r.msisdn, r.kind, r.value, r.endpoint, $16, $16, $16 FROM k JOIN r ON r.id = k.id WHERE r.provisioned
	)
	SELECT id, created_at FROM k`
