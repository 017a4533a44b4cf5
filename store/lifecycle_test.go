package store_test

import (
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// A sim_swap event (PRODUCT.md §7) holds the member for 72 h from its at:
// giving points (at the request and at the confirmation of one pending
// since before the swap), claiming a voucher or airtime, paying points for
// a draw or a spin are refused with sim_swap_hold and when it lifts;
// looking at points, a free spin and a gift that is not a voucher still
// work; once the hold lifts, all of it works again. The event counts once
// by id, and a later swap extends the hold.
func TestSIMSwapHold(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	tr := store.NewTransfers(b.db, care360.TransferRules{})
	draws, spins := store.NewDraws(b.db), store.NewSpins(b.db)
	m := b.member(t, "Swapped", care360.LangVi, "", "1980-01-01", 60_000) // Vàng
	friend := b.member(t, "Friend", care360.LangVi, "", "1980-01-01", 0)
	if _, err := tr.RequestTransfer(b.ctx, m, friend, 1000); err != nil {
		t.Fatal(err)
	}
	voucher := catalogueGift(100, 0)
	voucher.Kind = care360.GiftVoucher
	voucher = b.gift(t, voucher)
	if _, err := b.cat.AddCodes(b.ctx, voucher.ID, []string{"VC-0001", "VC-0002"}); err != nil {
		t.Fatal(err)
	}
	partner := b.gift(t, catalogueGift(100, 5))
	paid := newDraw(t, b.bundle, nil)
	wheel := newTable(t, b.bundle, nil)
	if _, err := spins.GrantSpins(b.ctx, wheel.ID, []care360.SpinGrant{{MSISDN: m, Spins: 1, Reason: "test", IdempotencyKey: "g1",
		ExpiresAt: b.clock.Now().Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}

	swapAt := b.clock.Now().Add(-time.Hour)
	res, err := b.db.SIMSwaps(b.ctx, []care360.LifecycleEvent{
		{ID: "crm-1", MSISDN: m, Event: care360.EventSIMSwap, At: swapAt},
		{ID: "crm-1", MSISDN: m, Event: care360.EventSIMSwap, At: swapAt}, // the same id twice in one batch
		{ID: "crm-2", MSISDN: "84909999999", Event: care360.EventSIMSwap, At: swapAt},
	}, 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	until := swapAt.Add(72 * time.Hour)
	if len(res) != 3 || res[0].Status != care360.LifecycleApplied || !res[0].HoldUntil.Equal(until) ||
		res[1].Status != care360.LifecycleDuplicate || res[2].Status != care360.LifecycleRejected || res[2].Reason != care360.LifecycleUnknownSubscriber {
		t.Fatalf("results %+v", res)
	}
	held := func(what string, err error) {
		t.Helper()
		if care360.ErrorReason(err) != care360.ReasonSIMSwapHold || !care360.ErrorUntil(err).Equal(until) {
			t.Errorf("%s: %v (until %v), want sim_swap_hold until %v", what, err, care360.ErrorUntil(err), until)
		}
	}
	_, err = tr.RequestTransfer(b.ctx, m, friend, 1000)
	held("CD", err)
	_, err = tr.ConfirmTransfer(b.ctx, m, "y-1", notifyBoth)
	held("Y to a transfer asked before the swap", err)
	_, err = b.claim(m, voucher, "c1")
	held("voucher", err)
	_, err = draws.EnterDraw(b.ctx, paid.ID, m, "e1")
	held("paid draw", err)
	if r, err := spins.Spin(b.ctx, wheel.ID, m, "s1"); err != nil || !r.Free {
		t.Errorf("free spin: %+v, %v", r, err)
	}
	_, err = spins.Spin(b.ctx, wheel.ID, m, "s2")
	held("paid spin", err)
	if _, err := b.claim(m, partner, "c2"); err != nil {
		t.Errorf("a partner gift is not held: %v", err)
	}
	if bal := balance(t, b.bundle, m); bal.Spendable <= 0 {
		t.Errorf("points not readable: %+v", bal)
	}

	// The same event again changes nothing; a later swap extends the hold.
	res, err = b.db.SIMSwaps(b.ctx, []care360.LifecycleEvent{
		{ID: "crm-1", MSISDN: m, Event: care360.EventSIMSwap, At: swapAt},
		{ID: "crm-3", MSISDN: m, Event: care360.EventSIMSwap, At: swapAt.Add(time.Hour)},
	}, 72*time.Hour)
	if err != nil || res[0].Status != care360.LifecycleDuplicate || res[1].Status != care360.LifecycleApplied ||
		!res[1].HoldUntil.Equal(until.Add(time.Hour)) {
		t.Fatalf("again: %+v, %v", res, err)
	}
	until = until.Add(time.Hour)
	_, err = b.claim(m, voucher, "c3")
	held("voucher under the extended hold", err)

	b.clock.Set(until.Add(time.Minute))
	if _, err := tr.RequestTransfer(b.ctx, m, friend, 1000); err != nil {
		t.Errorf("CD after the hold: %v", err)
	} else if _, err := tr.ConfirmTransfer(b.ctx, m, "y-2", notifyBoth); err != nil {
		t.Errorf("Y after the hold: %v", err)
	}
	if _, err := b.claim(m, voucher, "c4"); err != nil {
		t.Errorf("voucher after the hold: %v", err)
	}
}
