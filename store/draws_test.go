package store_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
	"github.com/care360/care360/store"
)

var drawCodes atomic.Int64

// newDraw opens a draw around the bundle's clock: entry cost 100, tickets
// 1 to 5 by tier, a first prize and two second prizes.
func newDraw(t *testing.T, b *bundle, mutate func(*care360.Draw)) *care360.Draw {
	t.Helper()
	now := b.clock.Now()
	d := &care360.Draw{
		Code: fmt.Sprintf("D%d", drawCodes.Add(1)), Name: "Bốc thăm Tết", NameEn: "Tet draw",
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour), EntryCost: 100,
		Tickets: map[care360.Tier]int{care360.TierDong: 1, care360.TierBac: 2, care360.TierTitan: 3, care360.TierVang: 4, care360.TierKimCuong: 5},
		Prizes:  []care360.DrawPrize{{Name: "Xe máy", NameEn: "Motorbike", Quantity: 1}, {Name: "Điện thoại", Quantity: 2}},
	}
	if mutate != nil {
		mutate(d)
	}
	if replay, err := store.NewDraws(b.db).CreateDraw(b.ctx, d, ""); err != nil || replay {
		t.Fatalf("CreateDraw: replay %v, %v", replay, err)
	}
	return d
}

// members creates n members of one tier with points, set-based, under a
// prefix no other test uses, and returns their numbers.
var memberSerial atomic.Int64

func members(t *testing.T, b *bundle, prefix string, n int, tier care360.Tier, points int64) []care360.MSISDN {
	t.Helper()
	// Numbers never repeat within a process, so that tests run again
	// (-count) on the package's database find their numbers free.
	first := memberSerial.Add(int64(n)) - int64(n)
	now := b.clock.Now()
	_, err := b.db.Pool().Exec(b.ctx, `
		WITH s AS (
			INSERT INTO subscribers (msisdn, name, member_since, tier, language, created_at, updated_at)
			SELECT $1 || lpad(($6 + i)::text, 6, '0'), 'Draw', '2020-01-01', $5, 'en', $3, $3 FROM generate_series(1, $2) i
			RETURNING msisdn
		)
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at, created_at)
		SELECT msisdn, 'bonus', $4::bigint, $4::bigint, 'seed', 'seed', $3, $3 + interval '1 year', $3 FROM s WHERE $4::bigint > 0`,
		prefix, n, now, points, tier, first)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]care360.MSISDN, n)
	for i := range out {
		out[i] = care360.MSISDN(fmt.Sprintf("%s%06d", prefix, first+int64(i)+1))
	}
	return out
}

func TestDrawLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ds := store.NewDraws(b.db)
	sms := store.NewSMS(b.db, care360.SMSRules{})
	d := newDraw(t, b, nil)
	if d.Status != care360.DrawOpen || len(d.Commitment) != 64 || d.Seed != "" || len(d.Prizes) != 2 || d.Prizes[1].Rank != 2 {
		t.Fatalf("new draw %+v", d)
	}

	rich := members(t, b, "8497100", 5, care360.TierVang, 1000)
	poor := members(t, b, "8497101", 1, care360.TierDong, 50)[0]
	for _, m := range rich {
		e, err := ds.EnterDraw(b.ctx, d.ID, m, "")
		if err != nil {
			t.Fatal(err)
		}
		if e.Tickets != 4 || len(e.Receipt) != 10 || e.Cost != 100 {
			t.Fatalf("entry %+v", e)
		}
	}
	if got := balance(t, b, rich[0]).Spendable; got != 900 {
		t.Errorf("spendable after entering: %d, want 900", got)
	}
	msgs, err := sms.Messages(b.ctx, rich[0], 10)
	if err != nil || len(msgs) != 1 || !strings.HasPrefix(msgs[0].Text, "Care360: You entered Tet draw ("+d.Code+"). Entry no.") {
		t.Fatalf("receipt SMS: %+v, %v", msgs, err)
	}
	_, err = ds.EnterDraw(b.ctx, d.ID, rich[0], "")
	wantReason(t, err, care360.ReasonLimitReached)
	_, err = ds.EnterDraw(b.ctx, d.ID, poor, "")
	wantReason(t, err, care360.ReasonInsufficientPoints)
	if got := balance(t, b, poor).Spendable; got != 50 {
		t.Errorf("a refused entry took points: %d left", got)
	}
	offers, err := ds.OpenDraws(b.ctx, rich[1])
	if err != nil || !hasEntered(offers, d.ID) {
		t.Fatalf("OpenDraws: %+v, %v", offers, err)
	}

	closed, err := ds.CloseDraw(b.ctx, d.ID)
	if err != nil || closed.Status != care360.DrawClosed || closed.Entries != 5 || len(closed.EntriesDigest) != 64 || closed.Seed != "" {
		t.Fatalf("CloseDraw: %+v, %v", closed, err)
	}
	late := members(t, b, "8497102", 1, care360.TierVang, 1000)[0]
	_, err = ds.EnterDraw(b.ctx, d.ID, late, "")
	wantReason(t, err, care360.ReasonWindow)
	if again, err := ds.CloseDraw(b.ctx, d.ID); err != nil || again.EntriesDigest != closed.EntriesDigest {
		t.Fatalf("closing twice: %+v, %v", again, err)
	}

	drawn, ws, replay, err := ds.RunDraw(b.ctx, d.ID, "3 5 6")
	if err != nil || replay || drawn.Status != care360.DrawDrawn || len(ws) != 3 {
		t.Fatalf("RunDraw: %+v, %d winners, replay %v, %v", drawn, len(ws), replay, err)
	}
	if draw.Commitment(mustHex(t, drawn.Seed)) != d.Commitment {
		t.Error("the revealed seed does not match the commitment")
	}
	if ws[0].Prize.Name != "Xe máy" || ws[1].Prize.Rank != 2 || ws[0].Entry.ID == ws[1].Entry.ID {
		t.Errorf("winners %+v", ws)
	}
	won, err := sms.Messages(b.ctx, ws[0].Entry.MSISDN, 10)
	if err != nil || len(won) != 2 || !strings.HasPrefix(won[0].Text, "Congratulations! You won Motorbike in the draw "+d.Code) {
		t.Fatalf("winner SMS: %+v, %v", won, err)
	}
	if _, again, replay, err := ds.RunDraw(b.ctx, d.ID, "3 5 6"); err != nil || !replay || len(again) != 3 || again[0] != ws[0] {
		t.Fatalf("rerun with the same witness: replay %v, %v", replay, err)
	}
	_, _, _, err = ds.RunDraw(b.ctx, d.ID, "3 5 7")
	wantCode(t, err, care360.ECONFLICT)

	a, err := ds.DrawAudit(b.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diffs := draw.Verify(a); len(diffs) != 0 {
		t.Fatalf("the audit does not verify: %v", diffs)
	}
	raw, _ := json.Marshal(a)
	for _, m := range rich {
		if strings.Contains(string(raw), string(m)[3:]) {
			t.Errorf("the audit shows %s unmasked", m)
		}
	}
	res, err := ds.DrawResults(b.ctx, ws[0].Entry.MSISDN, 5)
	if err != nil || len(res) != 1 || res[0].Prize == nil || res[0].Prize.Rank != 1 {
		t.Fatalf("DrawResults: %+v, %v", res, err)
	}
}

func hasEntered(offers []care360.DrawOffer, id int64) bool {
	for _, o := range offers {
		if o.Draw.ID == id {
			return o.Entry != nil
		}
	}
	return false
}

func TestDrawRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ds := store.NewDraws(b.db)
	vip := newDraw(t, b, func(d *care360.Draw) {
		d.Tickets = map[care360.Tier]int{care360.TierVang: 1, care360.TierKimCuong: 2}
		d.EntryCost = 0
	})
	dong := members(t, b, "8497200", 1, care360.TierDong, 0)[0]
	_, err := ds.EnterDraw(b.ctx, vip.ID, dong, "")
	wantReason(t, err, care360.ReasonTier)
	vang := members(t, b, "8497201", 1, care360.TierVang, 0)[0]
	if e, err := ds.EnterDraw(b.ctx, vip.ID, vang, ""); err != nil || e.Cost != 0 {
		t.Fatalf("a free entry: %+v, %v", e, err)
	}
	_, err = ds.EnterDraw(b.ctx, vip.ID, newMSISDN(), "")
	wantCode(t, err, care360.ENOTFOUND)
	_, err = ds.EnterDraw(b.ctx, 1<<40, vang, "")
	wantCode(t, err, care360.ENOTFOUND)
	_, _, _, err = ds.RunDraw(b.ctx, vip.ID, "1")
	wantCode(t, err, care360.ECONFLICT) // still open

	later := newDraw(t, b, func(d *care360.Draw) { d.OpensAt = b.clock.Now().Add(time.Hour) })
	_, err = ds.EnterDraw(b.ctx, later.ID, vang, "")
	wantReason(t, err, care360.ReasonWindow)

	for name, mutate := range map[string]func(*care360.Draw){
		"lower-case code": func(d *care360.Draw) { d.Code = "tet" },
		"no tickets":      func(d *care360.Draw) { d.Tickets = map[care360.Tier]int{} },
		"bad tier":        func(d *care360.Draw) { d.Tickets = map[care360.Tier]int{"gold": 1} },
		"window":          func(d *care360.Draw) { d.ClosesAt = d.OpensAt },
		"no prizes":       func(d *care360.Draw) { d.Prizes = nil },
	} {
		d := &care360.Draw{Code: "BAD", Name: "x", OpensAt: b.clock.Now(), ClosesAt: b.clock.Now().Add(time.Hour),
			Tickets: map[care360.Tier]int{care360.TierDong: 1}, Prizes: []care360.DrawPrize{{Name: "p", Quantity: 1}}}
		mutate(d)
		if _, err := ds.CreateDraw(b.ctx, d, ""); care360.ErrorCode(err) != care360.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	dup := &care360.Draw{Code: vip.Code, Name: "x", OpensAt: b.clock.Now(), ClosesAt: b.clock.Now().Add(time.Hour),
		Tickets: map[care360.Tier]int{care360.TierDong: 1}, Prizes: []care360.DrawPrize{{Name: "p", Quantity: 1}}}
	_, err = ds.CreateDraw(b.ctx, dup, "")
	wantCode(t, err, care360.ECONFLICT)
	if err := care360.CheckWitness("1\x002"); care360.ErrorCode(err) != care360.EINVALID {
		t.Errorf("a witness with a NUL: %v", err)
	}
}

func TestCreateDrawReplays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ds := store.NewDraws(b.db)
	mk := func() *care360.Draw {
		return &care360.Draw{Code: fmt.Sprintf("R%d", drawCodes.Add(1)), Name: "x", OpensAt: b.clock.Now(), ClosesAt: b.clock.Now().Add(time.Hour),
			Tickets: map[care360.Tier]int{care360.TierDong: 1}, Prizes: []care360.DrawPrize{{Name: "p", Quantity: 1}}}
	}
	key := fmt.Sprintf("draw-key-%d", drawCodes.Add(1))
	first := mk()
	if replay, err := ds.CreateDraw(b.ctx, first, key); err != nil || replay {
		t.Fatal(replay, err)
	}
	second := mk()
	if replay, err := ds.CreateDraw(b.ctx, second, key); err != nil || !replay || second.ID != first.ID || second.Commitment != first.Commitment {
		t.Fatalf("replay: %v, %+v, %v", replay, second, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	if _, err := fmt.Sscanf(s, "%x", &b); err != nil {
		t.Fatal(err)
	}
	return b
}
