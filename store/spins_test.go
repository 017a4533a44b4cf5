package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// newTable stocks a table around the bundle's clock: 100 points a spin,
// 3 a day, one voucher slot with stock 2 and no "no prize" weight, so
// every spin lands on the voucher and the third finds it gone.
func newTable(t *testing.T, b *bundle, mutate func(*care360.SpinTable)) *care360.SpinTable {
	t.Helper()
	now := b.clock.Now()
	tb := &care360.SpinTable{
		Code: fmt.Sprintf("S%d", drawCodes.Add(1)), Name: "Vòng quay", NameEn: "Wheel", CostPoints: 100, DailyCap: 3,
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(30 * 24 * time.Hour),
		Prizes: []care360.SpinPrize{{Name: "Voucher 50.000đ", NameEn: "50,000 VND voucher", Weight: 1, Inventory: 2}},
	}
	if mutate != nil {
		mutate(tb)
	}
	if replay, err := store.NewSpins(b.db).CreateSpinTable(b.ctx, tb, ""); err != nil || replay {
		t.Fatalf("CreateSpinTable: replay %v, %v", replay, err)
	}
	return tb
}

func TestSpinStockCapAndCost(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sp := store.NewSpins(b.db)
	tb := newTable(t, b, nil)
	m := members(t, b, "8498100", 1, care360.TierBac, 1000)[0]
	if o, err := sp.SpinOffer(b.ctx, tb.ID, m); err != nil || o.CostPoints != 100 || o.FreeSpins != 0 || o.SpunToday != 0 || o.Spendable != 1000 {
		t.Fatalf("SpinOffer: %+v, %v", o, err)
	}
	var results []*care360.SpinResult
	for range 3 {
		r, err := sp.Spin(b.ctx, tb.ID, m, "")
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	if results[0].Prize == nil || results[1].Prize == nil || results[0].Points != 100 {
		t.Fatalf("the first two spins: %+v %+v", results[0], results[1])
	}
	if results[2].Prize != nil || !results[2].OutOfStock {
		t.Fatalf("the third spin found the stock gone: %+v", results[2])
	}
	_, err := sp.Spin(b.ctx, tb.ID, m, "")
	wantReason(t, err, care360.ReasonLimitReached)
	if got := balance(t, b, m).Spendable; got != 700 {
		t.Errorf("spendable %d after three spins, want 700", got)
	}
	ts, err := sp.SpinTables(b.ctx, true)
	if err != nil || tableOf(ts, tb.ID).Prizes[0].Remaining != 0 {
		t.Fatalf("stock after two prizes: %+v, %v", tableOf(ts, tb.ID), err)
	}
	msgs, err := store.NewSMS(b.db, care360.SMSRules{}).Messages(b.ctx, m, 10)
	if err != nil || len(msgs) != 3 || !strings.HasPrefix(msgs[0].Text, "Care360: No prize") || !strings.Contains(msgs[1].Text, "won 50,000 VND voucher") {
		t.Fatalf("result SMS: %+v, %v", msgs, err)
	}
	res, err := sp.SpinResults(b.ctx, m, 5)
	if err != nil || len(res) != 3 || res[0].Prize != nil || !res[0].OutOfStock || res[2].Prize == nil {
		t.Fatalf("SpinResults: %+v, %v", res, err)
	}

	// The cap is per local day.
	b.clock.Add(24 * time.Hour)
	if _, err := sp.Spin(b.ctx, tb.ID, m, ""); err != nil {
		t.Fatalf("a new day: %v", err)
	}
}

func TestFreeSpinsAndRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sp := store.NewSpins(b.db)
	tb := newTable(t, b, func(tb *care360.SpinTable) { tb.NoPrizeWeight = 1_000_000 })
	poor := members(t, b, "8498200", 2, care360.TierDong, 50)
	grants := []care360.SpinGrant{
		{MSISDN: poor[0], Spins: 2, Reason: "campaign", IdempotencyKey: "g1"},
		{MSISDN: poor[0], Spins: 2, Reason: "campaign", IdempotencyKey: "g1"},
		{MSISDN: newMSISDN(), Spins: 1, Reason: "campaign", IdempotencyKey: "g1"},
	}
	res, err := sp.GrantSpins(b.ctx, tb.ID, grants)
	if err != nil || fmt.Sprint(res) != "[accepted duplicate rejected]" {
		t.Fatalf("GrantSpins: %v, %v", res, err)
	}
	if o, err := sp.SpinOffer(b.ctx, tb.ID, poor[0]); err != nil || o.FreeSpins != 2 || o.CostPoints != 0 {
		t.Fatalf("SpinOffer with free spins: %+v, %v", o, err)
	}
	for range 2 {
		r, err := sp.Spin(b.ctx, tb.ID, poor[0], "")
		if err != nil || !r.Free || r.Points != 0 {
			t.Fatalf("a free spin: %+v, %v", r, err)
		}
	}
	// No free spin left, and 50 points do not pay for one.
	_, err = sp.Spin(b.ctx, tb.ID, poor[0], "")
	wantReason(t, err, care360.ReasonInsufficientPoints)
	_, err = sp.Spin(b.ctx, tb.ID, poor[1], "")
	wantReason(t, err, care360.ReasonInsufficientPoints)
	if got := balance(t, b, poor[0]).Spendable; got != 50 {
		t.Errorf("spendable %d, want 50", got)
	}

	later := newTable(t, b, func(tb *care360.SpinTable) { tb.StartsAt = b.clock.Now().Add(time.Hour) })
	_, err = sp.Spin(b.ctx, later.ID, poor[1], "")
	wantReason(t, err, care360.ReasonWindow)
	_, err = sp.Spin(b.ctx, 1<<40, poor[1], "")
	wantCode(t, err, care360.ENOTFOUND)

	for name, mutate := range map[string]func(*care360.SpinTable){
		"zero weight": func(tb *care360.SpinTable) { tb.Prizes[0].Weight = 0 },
		"no cap":      func(tb *care360.SpinTable) { tb.DailyCap = 0 },
		"negative":    func(tb *care360.SpinTable) { tb.Prizes[0].Inventory = -1 },
		"window":      func(tb *care360.SpinTable) { tb.EndsAt = tb.StartsAt },
	} {
		tb := &care360.SpinTable{Code: "BAD", Name: "x", DailyCap: 1, StartsAt: b.clock.Now(), EndsAt: b.clock.Now().Add(time.Hour),
			Prizes: []care360.SpinPrize{{Name: "p", Weight: 1, Inventory: 1}}}
		mutate(tb)
		if _, err := sp.CreateSpinTable(b.ctx, tb, ""); care360.ErrorCode(err) != care360.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func tableOf(ts []care360.SpinTable, id int64) care360.SpinTable {
	for _, t := range ts {
		if t.ID == id {
			return t
		}
	}
	return care360.SpinTable{}
}

// Two gateway instances spin for 500 members at once, three attempts each
// against a cap of two: every member spins exactly twice and pays twice,
// stock never goes below zero, and every prize that left stock is on a
// spin record and in an SMS.
func TestConcurrentSpinsNeverOversell(t *testing.T) {
	t.Parallel()
	url := pgtest.DB(t)
	a, b := setupURL(t, url, store.Options{MaxConns: 16}), setupURL(t, url, store.Options{MaxConns: 16})
	pools := []*store.Spins{store.NewSpins(a.db), store.NewSpins(b.db)}
	tb := newTable(t, a, func(tb *care360.SpinTable) {
		tb.CostPoints, tb.DailyCap, tb.NoPrizeWeight = 10, 2, 2
		tb.Prizes = []care360.SpinPrize{{Name: "A", Weight: 1, Inventory: 30}, {Name: "B", Weight: 1, Inventory: 30}}
	})
	const n, tries = 500, 3
	ms := members(t, a, "8498300", n, care360.TierTitan, 100)
	errs := make([]error, n*tries)
	var wg sync.WaitGroup
	for i := range n * tries {
		wg.Go(func() { _, errs[i] = pools[i%2].Spin(a.ctx, tb.ID, ms[i%n], "") })
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		switch {
		case err == nil:
		case care360.ErrorReason(err) == care360.ReasonLimitReached:
			refused++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if refused != n*(tries-2) {
		t.Errorf("%d spins refused by the cap, want %d", refused, n*(tries-2))
	}
	if pools[0].SpinsGrouped()+pools[1].SpinsGrouped() == 0 {
		t.Error("no spin was decided by a group")
	}
	var badMembers, badStock, spins, awarded, smsWins, paid int64
	err := a.db.Pool().QueryRow(a.ctx, `
		SELECT (SELECT count(*) FROM (SELECT msisdn FROM spins WHERE table_id = $1 GROUP BY 1 HAVING count(*) <> 2) x),
			(SELECT count(*) FROM spin_prizes p WHERE table_id = $1 AND
				p.inventory - (SELECT sum(remaining) FROM spin_stock k WHERE k.prize_id = p.id) <> (SELECT count(*) FROM spins s WHERE s.prize_id = p.id)),
			(SELECT count(*) FROM spins WHERE table_id = $1),
			(SELECT count(prize_id) FROM spins WHERE table_id = $1),
			(SELECT count(*) FROM sms_messages WHERE msisdn = ANY($2) AND text LIKE 'Congratulations!%'),
			(SELECT coalesce(-sum(points), 0) FROM points_ledger WHERE msisdn = ANY($2) AND points < 0)`,
		tb.ID, ms).Scan(&badMembers, &badStock, &spins, &awarded, &smsWins, &paid)
	switch {
	case err != nil:
		t.Fatal(err)
	case badMembers != 0 || spins != 2*n:
		t.Errorf("%d spins, %d members without exactly two", spins, badMembers)
	case badStock != 0:
		t.Errorf("%d prizes whose stock disagrees with the spins that won them", badStock)
	case awarded != 60 || smsWins != awarded:
		t.Errorf("%d prizes awarded (stock 60), %d winning SMS", awarded, smsWins)
	case paid != 10*spins:
		t.Errorf("%d points paid for %d spins", paid, spins)
	}
}

// Reports count in SQL per local day: entries and points of draws, spins,
// free spins, prizes and stock of tables.
func TestDrawAndSpinReports(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	ds, sp := store.NewDraws(b.db), store.NewSpins(b.db)
	d := newDraw(t, b, nil)
	tb := newTable(t, b, nil)
	ms := members(t, b, "8498400", 3, care360.TierVang, 1000)
	for _, m := range ms[:2] {
		if _, err := ds.EnterDraw(b.ctx, d.ID, m, ""); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := sp.Spin(b.ctx, tb.ID, ms[2], ""); err != nil {
			t.Fatal(err)
		}
	}
	today := care360.Date{Time: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}
	dr, err := ds.DrawReport(b.ctx, today, today)
	if err != nil {
		t.Fatal(err)
	}
	if len(dr.Days) != 1 || dr.Days[0].Entries != 2 || dr.Days[0].Points != 200 || dr.Days[0].Day.String() != "2026-11-25" {
		t.Errorf("draw days %+v", dr.Days)
	}
	if len(dr.Draws) != 1 || dr.Draws[0].Prizes != 3 || dr.Draws[0].Awarded != 0 || dr.Draws[0].Status != care360.DrawOpen {
		t.Errorf("draw totals %+v", dr.Draws)
	}
	sr, err := sp.SpinReport(b.ctx, today, today)
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Days) != 1 || sr.Days[0].Spins != 3 || sr.Days[0].Prizes != 2 || sr.Days[0].Points != 300 {
		t.Errorf("spin days %+v", sr.Days)
	}
	if len(sr.Stock) != 1 || sr.Stock[0].Remaining != 0 || sr.Stock[0].Awarded != 2 || sr.Stock[0].Inventory != 2 {
		t.Errorf("stock %+v", sr.Stock)
	}
	yesterday := care360.Date{Time: today.AddDate(0, 0, -1)}
	if dr, err := ds.DrawReport(b.ctx, yesterday, yesterday); err != nil || len(dr.Days) != 0 {
		t.Errorf("yesterday: %+v, %v", dr, err)
	}
}

// TestSpinKeyed: spins with the same key, even at the same moment, spin
// once and all return that spin; another key spins again.
func TestSpinKeyed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sp := store.NewSpins(b.db)
	tb := newTable(t, b, func(tb *care360.SpinTable) { tb.DailyCap = 10 })
	m := members(t, b, "8498105", 1, care360.TierBac, 1000)[0]
	const n = 6
	res := make([]*care360.SpinResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { res[i], errs[i] = sp.Spin(b.ctx, tb.ID, m, "ussd:abc:3") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("spin %d: %v", i, errs[i])
		}
		if res[i].ID != res[0].ID || (res[i].Prize == nil) != (res[0].Prize == nil) || res[i].Points != 100 {
			t.Fatalf("spin %d: %+v; the first %+v", i, res[i], res[0])
		}
	}
	if bal := balance(t, b, m).Spendable; bal != 900 {
		t.Fatalf("spendable %d after one keyed spin; want 900", bal)
	}
	if r, err := sp.Spin(b.ctx, tb.ID, m, "ussd:abc:4"); err != nil || r.ID == res[0].ID {
		t.Fatalf("another key: %+v %v", r, err)
	}
}
