package store_test

import (
	"sync"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// A gateway keeps the wheels it spins; a wheel changed elsewhere (another
// replica, or by hand in SQL) is spun as it is now from the next spin on:
// at its new cost, refused once closed, spun again once reopened, and so
// for spins made together as for a spin alone.
func TestSpinsFollowAWheelChangedElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	here, there := store.NewSpins(b.db), store.NewSpins(b.db)
	tb := newTable(t, b, func(tb *care360.SpinTable) {
		tb.DailyCap, tb.NoPrizeWeight = 10, 1_000_000
		tb.Prizes[0].Inventory = 1000
	})
	m := members(t, b, "8498700", 1, care360.TierBac, 10_000)[0]
	spin := func(want int64) {
		t.Helper()
		r, err := here.Spin(b.ctx, tb.ID, m, "")
		if err != nil || r.Points != want {
			t.Fatalf("spin: %+v, %v; want %d points paid", r, err, want)
		}
	}
	byHand := func(sql string) {
		t.Helper()
		if _, err := b.db.Pool().Exec(b.ctx, sql, tb.ID); err != nil {
			t.Fatal(err)
		}
	}
	spin(100) // here keeps the wheel

	cost := int64(300)
	if _, err := there.UpdateSpinTable(b.ctx, tb.ID, care360.SpinTableUpdate{CostPoints: &cost}); err != nil {
		t.Fatal(err)
	}
	spin(300)
	byHand(`UPDATE spin_tables SET cost_points = 50 WHERE id = $1`)
	spin(50)

	closed := false
	if _, err := there.UpdateSpinTable(b.ctx, tb.ID, care360.SpinTableUpdate{Active: &closed}); err != nil {
		t.Fatal(err)
	}
	_, err := here.Spin(b.ctx, tb.ID, m, "")
	wantReason(t, err, care360.ReasonWindow)
	byHand(`UPDATE spin_tables SET active = true WHERE id = $1`)
	spin(50)
	if got := balance(t, b, m).Spendable; got != 10_000-100-300-50-50 {
		t.Errorf("spendable %d after spins at 100, 300, 50 and 50", got)
	}

	// Many at once, on the wheel kept before a change by hand.
	others := members(t, b, "8498701", 40, care360.TierBac, 1000)
	byHand(`UPDATE spin_tables SET cost_points = 70 WHERE id = $1`)
	var wg sync.WaitGroup
	paid := make([]int64, len(others))
	errs := make([]error, len(others))
	for i, o := range others {
		wg.Go(func() {
			r, err := here.Spin(b.ctx, tb.ID, o, "")
			if err == nil {
				paid[i] = r.Points
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i := range others {
		if errs[i] != nil || paid[i] != 70 {
			t.Errorf("spin %d: %d points paid, %v; want 70", i, paid[i], errs[i])
		}
	}
	var debited int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT coalesce(-sum(points), 0) FROM points_ledger WHERE msisdn = ANY($1) AND points < 0`,
		others).Scan(&debited); err != nil {
		t.Fatal(err)
	}
	if debited != 70*int64(len(others)) {
		t.Errorf("%d points debited for %d spins at 70", debited, len(others))
	}
}
