package store_test

import (
	"errors"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// A group decides each of its spins as a spin alone is decided: paid and
// won, free, refused for the daily cap, points or a suspended member, and
// a spin whose caller gave up is not made. What was made is in the
// database as a spin alone leaves it: the debit, the grant used, the unit
// of stock, the spin and its SMS.
func TestSpinGroupDecidesAsAloneWould(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sp := store.NewSpins(b.db)
	tb := newTable(t, b, func(tb *care360.SpinTable) { tb.DailyCap = 1 })
	tables, err := sp.SpinTables(b.ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	table := tableOf(tables, tb.ID)
	prize := &table.Prizes[0]
	m := members(t, b, "8484", 6, care360.TierDong, 1000)
	poor := members(t, b, "8485", 1, care360.TierDong, 50)
	if res, err := sp.GrantSpins(b.ctx, tb.ID, []care360.SpinGrant{{MSISDN: m[1], Spins: 1, Reason: "campaign", IdempotencyKey: "free-1"}}); err != nil {
		t.Fatalf("GrantSpins: %v, %v", res, err)
	}
	if _, err := sp.Spin(b.ctx, tb.ID, m[2], "before-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.Pool().Exec(b.ctx, `UPDATE subscribers SET status = 'suspended' WHERE msisdn = $1`, m[4]); err != nil {
		t.Fatal(err)
	}
	rs := []store.SpinRequest{
		{Table: &table, MSISDN: m[0], Key: "g-0", Landed: prize},
		{Table: &table, MSISDN: m[1], Key: "g-1"},
		{Table: &table, MSISDN: m[2], Key: "g-2", Landed: prize},
		{Table: &table, MSISDN: poor[0], Key: "g-3"},
		{Table: &table, MSISDN: m[4], Key: "g-4"},
		{Table: &table, MSISDN: m[5], Key: "g-5", Landed: prize},
	}
	outs := sp.SpinTogether(b.ctx, rs, []bool{5: true})
	for i, o := range outs {
		if o.Alone {
			t.Errorf("spin %d was left to be made alone", i)
		}
	}
	if o := outs[0]; o.Err != nil || o.Result.Prize == nil || o.Result.Prize.ID != prize.ID || o.Result.Points != 100 || o.Result.Free {
		t.Errorf("paid spin: %+v, %v; want the prize for 100 points", o.Result, o.Err)
	}
	if o := outs[1]; o.Err != nil || !o.Result.Free || o.Result.Points != 0 || o.Result.Prize != nil {
		t.Errorf("free spin: %+v, %v; want free, no prize", o.Result, o.Err)
	}
	wantReason(t, outs[2].Err, care360.ReasonLimitReached)
	wantReason(t, outs[3].Err, care360.ReasonInsufficientPoints)
	wantReason(t, outs[4].Err, care360.ReasonSuspended)

	var spins, sms, grantsLeft int
	var spent, stock int64
	nums := []string{string(m[0]), string(m[1]), string(m[5])}
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT (SELECT count(*) FROM spins WHERE msisdn = ANY($1)),
		(SELECT count(*) FROM sms_messages WHERE msisdn = ANY($1)),
		(SELECT coalesce(sum(remaining), 0) FROM spin_grants WHERE msisdn = $2),
		(SELECT -coalesce(sum(points), 0) FROM points_ledger WHERE msisdn = ANY($1) AND points < 0),
		(SELECT sum(remaining) FROM spin_stock WHERE prize_id = $3)`, nums, m[1], prize.ID).
		Scan(&spins, &sms, &grantsLeft, &spent, &stock); err != nil {
		t.Fatal(err)
	}
	// Stock 2: one unit to m[2]'s spin before, one to m[0]'s in the group.
	if spins != 2 || sms != 2 || grantsLeft != 0 || spent != 100 || stock != 0 {
		t.Errorf("spins %d, SMS %d, free spins left %d, points spent %d, stock %d; want 2, 2, 0, 100, 0", spins, sms, grantsLeft, spent, stock)
	}
}

// A group's spin drawn on a wheel that has changed since is not made (Spin
// draws it again on the wheel as it is); the group's other spins are.
func TestSpinGroupMakesNoSpinDrawnOnAnOldWheel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sp := store.NewSpins(b.db)
	tb := newTable(t, b, func(tb *care360.SpinTable) { tb.NoPrizeWeight = 1 })
	other := newTable(t, b, func(tb *care360.SpinTable) { tb.NoPrizeWeight = 1 })
	if _, err := b.db.Pool().Exec(b.ctx, `UPDATE spin_tables SET cost_points = 40 WHERE id = $1`, tb.ID); err != nil {
		t.Fatal(err)
	}
	m := members(t, b, "8486", 2, care360.TierDong, 1000)
	outs := sp.SpinTogether(b.ctx, []store.SpinRequest{
		{Table: tb, Version: 1, MSISDN: m[0], Key: "old-0"}, // drawn before the change
		{Table: other, MSISDN: m[1], Key: "other-1"},
	}, nil)
	if !errors.Is(outs[0].Err, store.ErrWheelChanged) || outs[0].Alone {
		t.Errorf("the spin drawn on the old wheel: %+v, %v, alone %v; want it refused as changed", outs[0].Result, outs[0].Err, outs[0].Alone)
	}
	if o := outs[1]; o.Err != nil || o.Alone || o.Result.Points != 100 {
		t.Errorf("the other wheel's spin: %+v, %v, alone %v; want made for 100 points", o.Result, o.Err, o.Alone)
	}
	var made int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM spins WHERE msisdn = $1`, m[0]).Scan(&made); err != nil {
		t.Fatal(err)
	}
	if got := balance(t, b, m[0]).Spendable; made != 0 || got != 1000 {
		t.Errorf("the refused spin: %d spins made, %d points left; want none made and 1000 left", made, got)
	}
}
