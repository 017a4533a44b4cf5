package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/care360/care360"
)

// groupCodes gives voucher g n codes named after it.
func groupCodes(t *testing.T, b *catalogBundle, g *care360.Gift, n int) {
	t.Helper()
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("G%d-%04d", g.ID, i)
	}
	if _, err := b.cat.AddCodes(b.ctx, g.ID, codes); err != nil {
		t.Fatal(err)
	}
}

// A group decides each of its claims as a claim alone is decided: made,
// replayed, refused for points, limit or a missing gift or member, and a
// claim whose caller gave up is not made. What was made is in the
// database as a claim alone leaves it: a debit of the cost, the claim with
// its code, its SMS, a code taken and stock counted down.
func TestClaimGroupDecidesAsAloneWould(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	m := seedMembers(t, b, "8493", 8, 1000)
	voucher := catalogueGift(300, 0)
	voucher.Kind = care360.GiftVoucher
	voucher = b.gift(t, voucher)
	groupCodes(t, b, voucher, 5)
	physical := b.gift(t, catalogueGift(300, 5))
	dear := b.gift(t, catalogueGift(2000, 5))
	// Claims made alone before: m[2]'s key is replayed, m[4] used its one
	// claim of physical.
	before, err := b.claim(m[2], physical, "before-2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.claim(m[4], physical, "before-4"); err != nil {
		t.Fatal(err)
	}

	rs := []care360.ClaimRequest{
		{MSISDN: m[0], GiftID: voucher.ID, IdempotencyKey: "g-0"},
		{MSISDN: m[1], GiftID: physical.ID, IdempotencyKey: "g-1"},
		{MSISDN: m[2], GiftID: voucher.ID, IdempotencyKey: "before-2"},
		{MSISDN: m[3], GiftID: dear.ID, IdempotencyKey: "g-3"},
		{MSISDN: m[4], GiftID: physical.ID, IdempotencyKey: "g-4"},
		{MSISDN: m[5], GiftID: 999_999, IdempotencyKey: "g-5"},
		{MSISDN: "84930999999", GiftID: voucher.ID, IdempotencyKey: "g-6"},
		{MSISDN: m[7], GiftID: voucher.ID, IdempotencyKey: "g-7"},
	}
	outs := b.cat.ClaimTogether(b.ctx, rs, []bool{7: true})
	for i, o := range outs {
		if o.Alone {
			t.Errorf("claim %d was left to be made alone", i)
		}
	}
	if o := outs[0]; o.Err != nil || o.Claim.Code != fmt.Sprintf("G%d-0000", voucher.ID) || o.Claim.Points != 300 || o.Claim.Gift.ID != voucher.ID {
		t.Errorf("voucher claim: %+v, %v; want the first code for 300 points", o.Claim, o.Err)
	}
	if o := outs[1]; o.Err != nil || o.Claim.Status != care360.ClaimDone || len(o.Claim.Code) != 11 || o.Claim.CreatedAt.IsZero() {
		t.Errorf("physical claim: %+v, %v; want done with a confirmation code", o.Claim, o.Err)
	}
	if o := outs[2]; o.Err != nil || !o.Replay || o.Claim.ID != before.ID || o.Claim.Code != before.Code {
		t.Errorf("replayed key: %+v replay %v, %v; want claim %d again", o.Claim, o.Replay, o.Err, before.ID)
	}
	wantReason(t, outs[3].Err, care360.ReasonInsufficientPoints)
	wantReason(t, outs[4].Err, care360.ReasonLimitReached)
	wantCode(t, outs[5].Err, care360.ENOTFOUND)
	wantCode(t, outs[6].Err, care360.ENOTFOUND)

	var claims, sms, taken, debits int
	var spent, stock int64
	err = b.db.Pool().QueryRow(b.ctx, `
		SELECT (SELECT count(*) FROM gift_claims WHERE idempotency_key LIKE 'g-%'),
		       (SELECT count(*) FROM sms_messages WHERE idempotency_key = ANY($1)),
		       (SELECT count(*) FROM gift_codes WHERE gift_id = $2 AND taken),
		       (SELECT count(*) FROM points_ledger WHERE idempotency_key LIKE 'g-%'),
		       (SELECT -sum(points) FROM points_ledger WHERE idempotency_key LIKE 'g-%'),
		       (SELECT sum(stock) FROM gift_stock WHERE gift_id = $3)`,
		[]string{fmt.Sprint("claim:", outs[0].Claim.ID), fmt.Sprint("claim:", outs[1].Claim.ID)}, voucher.ID, physical.ID).
		Scan(&claims, &sms, &taken, &debits, &spent, &stock)
	if err != nil {
		t.Fatal(err)
	}
	if claims != 2 || sms != 2 || taken != 1 || debits != 2 || spent != 600 || stock != 2 {
		t.Errorf("claims %d, SMS %d, codes taken %d, debits %d of %d points, physical stock %d; want 2, 2, 1, 2 of 600, 2",
			claims, sms, taken, debits, spent, stock)
	}
	if bal, err := b.db.Balance(b.ctx, m[0]); err != nil || bal.Spendable != 700 {
		t.Errorf("balance after a grouped claim: %+v, %v; want 700", bal, err)
	}
}

// A group that cannot take what a gift's claims need (two codes for four
// claims) makes the first claims with what it took and leaves the others
// to be made alone, which grants what is left and refuses the rest; the
// other gift's claim in the group is made by the group, and the stock it
// took beyond its use goes back.
func TestClaimGroupLeavesShortGiftsAlone(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	m := seedMembers(t, b, "8494", 5, 1000)
	voucher := catalogueGift(100, 0)
	voucher.Kind = care360.GiftVoucher
	voucher = b.gift(t, voucher)
	groupCodes(t, b, voucher, 2)
	physical := b.gift(t, catalogueGift(100, 3))
	var rs []care360.ClaimRequest
	for i := range 4 {
		rs = append(rs, care360.ClaimRequest{MSISDN: m[i], GiftID: voucher.ID, IdempotencyKey: fmt.Sprint("short-", i)})
	}
	rs = append(rs, care360.ClaimRequest{MSISDN: m[4], GiftID: physical.ID, IdempotencyKey: "short-4"})
	outs := b.cat.ClaimTogether(b.ctx, rs, nil)
	granted, byGroup := 0, 0
	for i, o := range outs[:4] {
		switch {
		case !o.Alone && o.Err == nil && byGroup == i:
			byGroup++
		case !o.Alone:
			t.Errorf("voucher claim %d: made by the group after one left alone, or refused by it: %v", i, o.Err)
		}
		if o.Err == nil {
			granted++
		} else {
			wantReason(t, o.Err, care360.ReasonOutOfStock)
		}
	}
	if granted != 2 || byGroup == 0 {
		t.Errorf("%d voucher claims granted, %d of them by the group; want 2, at least one by the group", granted, byGroup)
	}
	if o := outs[4]; o.Alone || o.Err != nil {
		t.Errorf("physical claim: alone %v, %v; want made by the group", o.Alone, o.Err)
	}
	var taken, claims int
	var stock, physicalStock int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT (SELECT count(*) FROM gift_codes WHERE gift_id = $1 AND taken),
		(SELECT count(DISTINCT code_id) FROM gift_claims WHERE gift_id = $1),
		(SELECT sum(stock) FROM gift_stock WHERE gift_id = $1),
		(SELECT sum(stock) FROM gift_stock WHERE gift_id = $2)`, voucher.ID, physical.ID).Scan(&taken, &claims, &stock, &physicalStock); err != nil {
		t.Fatal(err)
	}
	if taken != 2 || claims != 2 || stock != 0 || physicalStock != 2 {
		t.Errorf("codes taken %d by %d claims, stock left %d and %d; want 2, 2, 0 and 2", taken, claims, stock, physicalStock)
	}
}

// A group whose transaction fails makes nothing; each of its claims is
// then made alone, so only the one that fails alone fails.
func TestFailedClaimGroupClaimsAlone(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	m := seedMembers(t, b, "8495", 3, 1000)
	g := b.gift(t, catalogueGift(100, 640)) // ten a stripe: one stripe serves the group
	_, err := b.db.Pool().Exec(b.ctx, `
		CREATE FUNCTION refuse_claim() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.msisdn = '`+string(m[1])+`' THEN RAISE EXCEPTION 'refused by the test'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_claim BEFORE INSERT ON gift_claims FOR EACH ROW EXECUTE FUNCTION refuse_claim()`)
	if err != nil {
		t.Fatal(err)
	}
	var rs []care360.ClaimRequest
	for i := range m {
		rs = append(rs, care360.ClaimRequest{MSISDN: m[i], GiftID: g.ID, IdempotencyKey: fmt.Sprint("fail-", i)})
	}
	outs := b.cat.ClaimTogether(b.ctx, rs, nil)
	for i, o := range outs {
		if !o.Alone {
			t.Errorf("claim %d: not left to be made alone", i)
		}
		if failed := o.Err != nil; failed != (i == 1) {
			t.Errorf("claim %d: %v", i, o.Err)
		}
	}
	var claims int
	var stock, spent int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT (SELECT count(*) FROM gift_claims),
		(SELECT sum(stock) FROM gift_stock WHERE gift_id = $1),
		(SELECT -coalesce(sum(points), 0) FROM points_ledger WHERE points < 0)`, g.ID).Scan(&claims, &stock, &spent); err != nil {
		t.Fatal(err)
	}
	if claims != 2 || stock != 638 || spent != 200 {
		t.Errorf("claims %d, stock %d, points spent %d; want 2, 638, 200", claims, stock, spent)
	}
}

// Claims made at once go in groups, and a gift runs out exactly: 256
// claims of 200 units grant 200, whether made by a group or alone.
func TestConcurrentClaimsGoInGroups(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	const claims, stock = 256, 200
	m := seedMembers(t, b, "8496", claims, 1000)
	g := b.gift(t, catalogueGift(100, stock))
	errs := make([]error, claims)
	var wg sync.WaitGroup
	for i := range claims {
		wg.Go(func() {
			_, _, errs[i] = b.cat.ClaimGift(b.ctx, care360.ClaimRequest{MSISDN: m[i], GiftID: g.ID, IdempotencyKey: fmt.Sprint("many-", i)})
		})
	}
	wg.Wait()
	granted := 0
	for _, err := range errs {
		if err == nil {
			granted++
		} else {
			wantReason(t, err, care360.ReasonOutOfStock)
		}
	}
	if granted != stock {
		t.Errorf("%d granted, want %d", granted, stock)
	}
	if n := b.cat.ClaimsGrouped(); n == 0 {
		t.Error("no claim was decided by a group")
	}
	var rows, members, sms int
	var left, spent int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT (SELECT count(*) FROM gift_claims), (SELECT count(DISTINCT msisdn) FROM gift_claims),
		(SELECT count(*) FROM sms_messages), (SELECT sum(stock) FROM gift_stock WHERE gift_id = $1),
		(SELECT -coalesce(sum(points), 0) FROM points_ledger WHERE points < 0)`, g.ID).Scan(&rows, &members, &sms, &left, &spent); err != nil {
		t.Fatal(err)
	}
	if rows != stock || members != stock || sms != stock || left != 0 || spent != stock*100 {
		t.Errorf("claims %d by %d members, SMS %d, stock left %d, points spent %d; want %d, %d, %d, 0, %d",
			rows, members, sms, left, spent, stock, stock, stock, stock*100)
	}
}

// A caller who gives up while waiting for a group gets its context's
// error, and its claim is never made.
func TestClaimWaitingForGroupGivesUp(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	m := seedMembers(t, b, "8497", 2, 1000)
	g := b.gift(t, catalogueGift(100, 10))
	ctx, cancel := context.WithCancel(b.ctx)
	cancel()
	outs := b.cat.ClaimTogether(ctx, []care360.ClaimRequest{{MSISDN: m[0], GiftID: g.ID, IdempotencyKey: "gone-0"}, {MSISDN: m[1], GiftID: g.ID, IdempotencyKey: "gone-1"}}, nil)
	for i, o := range outs {
		if o.Err == nil {
			t.Errorf("claim %d made for a caller who gave up", i)
		}
	}
	var n int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM gift_claims`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d claims made, want none (%v)", n, err)
	}
}

// A group whose claims of a gift want more units than the stripe it took
// them from held takes the rest from other stripes: 25 claims of a gift
// with ten units a stripe are all made by the group.
func TestClaimGroupTakesFromMoreStripes(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	const n = 25
	m := seedMembers(t, b, "8498", n, 1000)
	g := b.gift(t, catalogueGift(100, 640)) // 64 stripes of 10
	rs := make([]care360.ClaimRequest, n)
	for i := range rs {
		rs[i] = care360.ClaimRequest{MSISDN: m[i], GiftID: g.ID, IdempotencyKey: fmt.Sprint("more-", i)}
	}
	for i, o := range b.cat.ClaimTogether(b.ctx, rs, nil) {
		if o.Alone || o.Err != nil {
			t.Errorf("claim %d: alone %v, %v; want made by the group", i, o.Alone, o.Err)
		}
	}
	var stock int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT sum(stock) FROM gift_stock WHERE gift_id = $1`, g.ID).Scan(&stock); err != nil || stock != 640-n {
		t.Errorf("stock left %d, want %d (%v)", stock, 640-n, err)
	}
}
