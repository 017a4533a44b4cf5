package care360_test

import (
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
)

func TestDrawRules(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	d := &care360.Draw{Code: "TET27", Name: "Bốc thăm", OpensAt: now, ClosesAt: now.Add(time.Hour), Status: care360.DrawOpen, Active: true,
		Tickets: map[care360.Tier]int{care360.TierVang: 4}, Prizes: []care360.DrawPrize{{Rank: 1, Name: "Xe máy", Quantity: 1}}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.TicketsFor(care360.TierVang) != 4 || d.TicketsFor(care360.TierDong) != 0 {
		t.Error("tickets by tier")
	}
	if !d.OpenAt(now) || d.OpenAt(now.Add(time.Hour)) || d.OpenAt(now.Add(-time.Second)) {
		t.Error("the window is [opens_at, closes_at)")
	}
	if d.Title(care360.LangVi) != "Boc tham" || d.Title(care360.LangEn) != "Boc tham" || d.Title(care360.LangViUnicode) != "Bốc thăm" {
		t.Error("a name without English falls back to the fold")
	}
	for _, w := range []string{"", "1\n2", strings.Repeat("9", 201)} {
		if care360.CheckWitness(w) == nil {
			t.Errorf("witness %q accepted", w)
		}
	}
}

// The winner's SMS says how to collect the prize in the winner's
// language: staff's text where they wrote one, else the standard text.
func TestDrawWinnerSMS(t *testing.T) {
	t.Parallel()
	d := &care360.Draw{Code: "TET27"}
	w := &care360.DrawWinner{Entry: care360.DrawEntry{ID: 7, MSISDN: "84903000001"},
		Prize: care360.DrawPrize{Name: "Xe máy", NameEn: "Motorbike", CollectEn: "Call 9090."}}
	for lang, want := range map[care360.Language]string{
		care360.LangEn:        "Congratulations! You won Motorbike in the draw TET27 (entry no. 7). Call 9090.",
		care360.LangVi:        "Chuc mung! Quy khach trung Xe may, boc tham TET27 (phieu so 7). Mang CCCD den cua hang MobiFone trong 30 ngay de nhan giai. Hoi dap: 9090.",
		care360.LangViUnicode: "Chúc mừng! Quý khách trúng Xe máy, bốc thăm TET27 (phiếu số 7). Mang CCCD đến cửa hàng MobiFone trong 30 ngày để nhận giải. Hỏi đáp: 9090.",
	} {
		sms := care360.DrawWinnerSMS(d, w, lang)
		if sms.Text != want || sms.Kind != care360.KindTransactional || sms.IdempotencyKey != "draw-win:7" {
			t.Errorf("%s: %+v", lang, sms)
		}
	}
}

func TestSpinSlots(t *testing.T) {
	t.Parallel()
	tb := &care360.SpinTable{Code: "WHEEL", Name: "x", DailyCap: 1, StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), NoPrizeWeight: 5,
		Prizes: []care360.SpinPrize{{ID: 1, Name: "A", Weight: 2}, {ID: 2, Name: "B", Weight: 3}}}
	if err := tb.Validate(); err != nil || tb.TotalWeight() != 10 {
		t.Fatalf("%v, total %d", err, tb.TotalWeight())
	}
	for r, want := range map[int64]int64{0: 1, 1: 1, 2: 2, 4: 2, 5: 0, 9: 0} {
		got := int64(0)
		if p := tb.Slot(r); p != nil {
			got = p.ID
		}
		if got != want {
			t.Errorf("Slot(%d) = prize %d, want %d", r, got, want)
		}
	}
}
