package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// seedMembers creates n members with points set-based and returns them.
func seedMembers(t *testing.T, b *catalogBundle, prefix string, n int, points int64) []care360.MSISDN {
	t.Helper()
	now := b.clock.Now()
	_, err := b.db.Pool().Exec(b.ctx, `
		WITH s AS (
			INSERT INTO subscribers (msisdn, name, member_since, created_at, updated_at)
			SELECT $1 || lpad(i::text, 6, '0'), 'Bench', '2020-01-01', $3, $3 FROM generate_series(1, $2) i
			RETURNING msisdn
		)
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
		SELECT msisdn, 'bonus', $4, $4, 'seed', 'seed', $3, $3 + interval '1 year', $3 FROM s`,
		prefix, n, now, points)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]care360.MSISDN, n)
	for i := range out {
		out[i] = care360.MSISDN(fmt.Sprintf("%s%06d", prefix, i+1))
	}
	return out
}

// storm runs 10,000 claims of a voucher with stock 100 and limit 1, four
// attempts per member, at once through the catalogues given (one per
// gateway instance), and checks that exactly 100 were granted, to 100
// different members, with 100 different codes, and that no credit or stock
// went negative.
func storm(t *testing.T, b *catalogBundle, cats []*store.Catalog, kind care360.GiftKind) {
	const claims, perMember, stock, cost = 10_000, 4, 100, 300
	g := catalogueGift(cost, stock)
	if g.Kind = kind; kind == care360.GiftVoucher {
		g.Stock = 0 // the codes are the stock
	}
	g = b.gift(t, g)
	codes := make([]string, stock)
	for i := range codes {
		codes[i] = fmt.Sprintf("CODE-%04d", i)
	}
	if kind == care360.GiftVoucher {
		if _, err := b.cat.AddCodes(b.ctx, g.ID, codes); err != nil {
			t.Fatal(err)
		}
	}
	members := seedMembers(t, b, "8491", claims/perMember, 1000)
	errs := make([]error, claims)
	var wg sync.WaitGroup
	for i := range claims {
		wg.Go(func() {
			cat := cats[i%len(cats)]
			_, _, errs[i] = cat.ClaimGift(b.ctx, care360.ClaimRequest{MSISDN: members[i%len(members)], GiftID: g.ID, IdempotencyKey: fmt.Sprint("storm-", i)})
		})
	}
	wg.Wait()
	granted, reasons := 0, map[string]int{}
	for _, err := range errs {
		switch {
		case err == nil:
			granted++
		case care360.ErrorCode(err) == care360.EREFUSED:
			reasons[care360.ErrorReason(err)]++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if granted != stock {
		t.Errorf("granted %d claims, want exactly %d (refusals %v)", granted, stock, reasons)
	}
	var claimRows, members2, codes2, sms int
	var minRemaining, giftStock, taken int64
	err := b.db.Pool().QueryRow(b.ctx, `
		SELECT (SELECT count(*) FROM gift_claims WHERE gift_id = $1),
		       (SELECT count(DISTINCT msisdn) FROM gift_claims WHERE gift_id = $1),
		       (SELECT count(DISTINCT code) FROM gift_claims WHERE gift_id = $1),
		       (SELECT count(*) FROM sms_messages WHERE idempotency_key LIKE 'claim:%'),
		       (SELECT min(remaining) FROM points_ledger WHERE points > 0),
		       (SELECT sum(stock) FROM gift_stock WHERE gift_id = $1),
		       (SELECT count(*) FROM gift_codes WHERE gift_id = $1 AND taken)`, g.ID).
		Scan(&claimRows, &members2, &codes2, &sms, &minRemaining, &giftStock, &taken)
	if err != nil {
		t.Fatal(err)
	}
	if kind != care360.GiftVoucher {
		taken = stock // no pool
	}
	if claimRows != stock || members2 != stock || codes2 != stock || sms != stock || giftStock != 0 || taken != stock || minRemaining < 0 {
		t.Errorf("claims %d, members %d, codes %d, SMS %d, stock %d, codes taken %d, min remaining %d; want %d of each, stock 0",
			claimRows, members2, codes2, sms, giftStock, taken, minRemaining, stock)
	}
	var spent int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT -coalesce(sum(points), 0) FROM points_ledger WHERE points < 0`).Scan(&spent); err != nil || spent != stock*cost {
		t.Errorf("points spent %d, want %d (%v)", spent, stock*cost, err)
	}
}

// Ten thousand goroutines claim one voucher through one pool.
func TestClaimStormOnePool(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	storm(t, b, []*store.Catalog{b.cat}, care360.GiftVoucher)
}

// The same for a gift without a code pool: only the stock stripes stand
// between the claims.
func TestClaimStormStockOnly(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	storm(t, b, []*store.Catalog{b.cat}, care360.GiftPhysical)
}

// The same through two pools on one database, standing in for two gateway
// instances: nothing in the claim relies on memory shared in one process.
func TestClaimStormTwoInstances(t *testing.T) {
	t.Parallel()
	url := pgtest.FreshDB(t)
	a := catalogOn(t, url, store.Options{MaxConns: 8})
	other := catalogOn(t, url, store.Options{MaxConns: 8})
	storm(t, a, []*store.Catalog{a.cat, other.cat}, care360.GiftVoucher)
}
