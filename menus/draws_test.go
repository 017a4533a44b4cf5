package menus

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// luck is an engine with the real draw and spin services, on a database of
// its own so that the lists it shows hold only this test's draws.
type luck struct {
	*bundle
	draws *store.Draws
	spins *store.Spins
}

var luckCodes atomic.Int64

func setupLuck(t *testing.T) *luck {
	t.Helper()
	db, err := store.Open(context.Background(), pgtest.FreshDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	l := &luck{draws: store.NewDraws(db), spins: store.NewSpins(db)}
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	e, err := New(Config{Subscribers: db, Points: db, Dialogues: db, Draws: l.draws, Spins: l.spins, Location: loc, DialRate: 1000, DialBurst: 1000})
	if err != nil {
		t.Fatal(err)
	}
	l.bundle = &bundle{db: db, e: e}
	return l
}

func (l *luck) draw(t *testing.T, cost int64, tickets map[care360.Tier]int) *care360.Draw {
	t.Helper()
	d := &care360.Draw{Code: fmt.Sprintf("M%d", luckCodes.Add(1)), Name: "Bốc thăm Tết", NameEn: "Tet draw",
		OpensAt: time.Now().Add(-time.Hour), ClosesAt: time.Date(2099, 12, 31, 12, 0, 0, 0, time.UTC), EntryCost: cost, Tickets: tickets,
		Prizes: []care360.DrawPrize{{Name: "Xe máy", NameEn: "Motorbike", Quantity: 1}}}
	if _, err := l.draws.CreateDraw(context.Background(), d, ""); err != nil {
		t.Fatal(err)
	}
	return d
}

func (l *luck) points(t *testing.T, p *phone, n int64) {
	t.Helper()
	if _, _, err := l.db.ChangePoints(context.Background(), p.msisdn, care360.PointsChange{Kind: care360.PointsBonus, Points: n, Reason: "test", IdempotencyKey: "seed"}); err != nil {
		t.Fatal(err)
	}
}

func TestDrawMenus(t *testing.T) {
	t.Parallel()
	l := setupLuck(t)
	all := map[care360.Tier]int{care360.TierDong: 1, care360.TierBac: 2, care360.TierTitan: 3, care360.TierVang: 4, care360.TierKimCuong: 5}
	d := l.draw(t, 100, all)
	vip := l.draw(t, 0, map[care360.Tier]int{care360.TierVang: 1})
	p := l.member(t, "0903777001")
	l.points(t, p, 150)

	menu := "Boc tham & Quay so\n1. Boc tham\n2. Quay so may man\n3. Ket qua\n0. Quay lai"
	list := "Boc tham dang mo:\n1. Boc tham Tet\n2. Boc tham Tet\n0. Quay lai"
	p.send(care360.USSDBegin, "*090#")
	p.expect(care360.USSDAnswer, "3", menu, false)
	p.expect(care360.USSDAnswer, "1", list, false)
	p.expect(care360.USSDAnswer, "1", "Tham gia Boc tham Tet?\nPhi 100 diem, 1 ve\n1. Dong y\n0. Quay lai", false)
	r := p.send(care360.USSDAnswer, "1")
	if !r.End || !strings.HasPrefix(r.Text, "Da tham gia Boc tham Tet. Phieu so ") || !strings.Contains(r.Text, "1 ve. Ket qua sau 31/12/2099. Ma xac nhan da gui qua SMS.") {
		t.Fatalf("receipt screen %q", r.Text)
	}
	// Entered: marked on the list, and the second time is refused; the
	// VIP draw is refused by tier; nothing is left for another entry.
	p.expect(care360.USSDBegin, "*090*3*1#", "Boc tham dang mo:\n1. Boc tham Tet (da tham gia)\n2. Boc tham Tet\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "2", "Uu dai khong danh cho hang hoi vien cua quy khach.", true)
	d2 := l.draw(t, 100, all)
	p.send(care360.USSDBegin, "*090*3*1#")
	p.expect(care360.USSDAnswer, "3", "Quy khach khong du diem.", true)
	_ = d2

	// A draw closed between the list and the pick.
	q := l.member(t, "0903777002")
	q.send(care360.USSDBegin, "*090*3*1#")
	if _, err := l.draws.CloseDraw(context.Background(), vip.ID); err != nil {
		t.Fatal(err)
	}
	q.expect(care360.USSDAnswer, "2", "Uu dai hien khong trong thoi gian ap dung.", true)

	// Results: waiting, then the prize once drawn.
	p.expect(care360.USSDBegin, "*090*3*3#", fmt.Sprintf("%s: phieu so %d, ket qua sau 31/12/2099", d.Code, entryOf(t, l, p, d.ID)), true)
	if _, err := l.draws.CloseDraw(context.Background(), d.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := l.draws.RunDraw(context.Background(), d.ID, "6 6 6"); err != nil {
		t.Fatal(err)
	}
	p.expect(care360.USSDBegin, "*090*3*3#", d.Code+": trung Xe may", true)
	if err := l.db.SetLanguage(context.Background(), p.msisdn, care360.LangEn); err != nil {
		t.Fatal(err)
	}
	p.expect(care360.USSDBegin, "*090*3*3#", d.Code+": won Motorbike", true)
}

func entryOf(t *testing.T, l *luck, p *phone, drawID int64) int64 {
	t.Helper()
	rs, err := l.draws.DrawResults(context.Background(), p.msisdn, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Draw.ID == drawID {
			return r.Entry.ID
		}
	}
	t.Fatalf("no entry in draw %d", drawID)
	return 0
}

func TestSpinMenus(t *testing.T) {
	t.Parallel()
	l := setupLuck(t)
	tb := &care360.SpinTable{Code: "WHEEL", Name: "Vòng quay", NameEn: "Wheel", CostPoints: 100, DailyCap: 2,
		StartsAt: time.Now().Add(-time.Hour), EndsAt: time.Now().Add(time.Hour),
		Prizes: []care360.SpinPrize{{Name: "Voucher 50.000đ", NameEn: "50,000 VND voucher", Weight: 1, Inventory: 1}}}
	if _, err := l.spins.CreateSpinTable(context.Background(), tb, ""); err != nil {
		t.Fatal(err)
	}
	p := l.member(t, "0903777101")
	l.points(t, p, 250)
	if err := l.db.SetLanguage(context.Background(), p.msisdn, care360.LangEn); err != nil {
		t.Fatal(err)
	}
	p.send(care360.USSDBegin, "*090#")
	p.send(care360.USSDAnswer, "3")
	p.expect(care360.USSDAnswer, "2", "Lucky spins:\n1. Wheel\n0. Back", false)
	p.expect(care360.USSDAnswer, "1", "Wheel\nCost 100 points; spins left today: 2\n1. Agree\n0. Back", false)
	p.expect(care360.USSDAnswer, "1", "Congratulations! You won 50,000 VND voucher. How to collect it is on its way by SMS.", true)
	// The only voucher is gone: the wheel still lands on it, and says so.
	p.send(care360.USSDBegin, "*090*3*2*1#")
	p.expect(care360.USSDAnswer, "1", "The wheel stopped on a prize that has run out: no prize this time.", true)
	p.expect(care360.USSDBegin, "*090*3*2*1#", "You have reached the limit for this.", true)
	p.expect(care360.USSDBegin, "*090*3*3#", "Spin WHEEL: 50,000 VND voucher", true)
}

// A draw staff deactivate or cancel, and a spin table they deactivate,
// leave menu 3 at once; a draw cancelled between the list and the pick is
// refused.
func TestDeactivatedLuckLeavesMenu(t *testing.T) {
	t.Parallel()
	l := setupLuck(t)
	ctx := context.Background()
	all := map[care360.Tier]int{care360.TierDong: 1, care360.TierBac: 1, care360.TierTitan: 1, care360.TierVang: 1, care360.TierKimCuong: 1}
	d := l.draw(t, 0, all)
	tb := &care360.SpinTable{Code: fmt.Sprintf("W%d", luckCodes.Add(1)), Name: "Vòng quay", CostPoints: 0, DailyCap: 2,
		StartsAt: time.Now().Add(-time.Hour), EndsAt: time.Now().Add(time.Hour),
		Prizes: []care360.SpinPrize{{Name: "Voucher", Weight: 1, Inventory: 1}}}
	if _, err := l.spins.CreateSpinTable(ctx, tb, ""); err != nil {
		t.Fatal(err)
	}
	p := l.member(t, "0903777201")
	p.expect(care360.USSDBegin, "*090*3*1#", "Boc tham dang mo:\n1. Boc tham Tet\n0. Quay lai", false)
	p.expect(care360.USSDBegin, "*090*3*2#", "Vong quay may man:\n1. Vong quay\n0. Quay lai", false)

	if _, err := l.draws.UpdateDraw(ctx, d.ID, care360.DrawUpdate{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.spins.UpdateSpinTable(ctx, tb.ID, care360.SpinTableUpdate{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	none := p.send(care360.USSDBegin, "*090*3*1#")
	if strings.Contains(none.Text, "Boc tham Tet") {
		t.Fatalf("an inactive draw is listed: %q", none.Text)
	}
	if r := p.send(care360.USSDBegin, "*090*3*2#"); strings.Contains(r.Text, "1. Vong quay") {
		t.Fatalf("an inactive table is listed: %q", r.Text)
	}

	if _, err := l.draws.UpdateDraw(ctx, d.ID, care360.DrawUpdate{Active: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	p.expect(care360.USSDBegin, "*090*3*1#", "Boc tham dang mo:\n1. Boc tham Tet\n0. Quay lai", false)
	if _, err := l.draws.CancelDraw(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	p.expect(care360.USSDAnswer, "1", "Chuong trinh nay da huy. Diem tham gia (neu co) da duoc hoan lai.", true)
	if r := p.send(care360.USSDBegin, "*090*3*1#"); r.Text != none.Text {
		t.Fatalf("after the cancel: %q, want %q", r.Text, none.Text)
	}

	// An entry in a cancelled draw shows as such among the results.
	q := l.member(t, "0903777202")
	d2 := l.draw(t, 0, all)
	if _, err := l.draws.EnterDraw(ctx, d2.ID, q.msisdn, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := l.draws.CancelDraw(ctx, d2.ID); err != nil {
		t.Fatal(err)
	}
	q.expect(care360.USSDBegin, "*090*3*3#", d2.Code+": da huy, diem da hoan lai", true)
}
