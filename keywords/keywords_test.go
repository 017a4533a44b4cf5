package keywords_test

import (
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
)

// Each keyword over real SMPP: the handset texts the short code and reads
// the reply the simulator received.
func TestKeywords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	gold := b.member(t, care360.LangVi, 12_500, 300)
	en := b.member(t, care360.LangEn, 2_500, 0)
	uni := b.member(t, care360.LangViUnicode, 6_000, 0)
	cases := []struct {
		name, from, text string
		want             []string // substrings of the reply
	}{
		{"DIEM", gold, "DIEM", []string{"Hang: Vang\nDiem kha dung: 12.800\nDiem xet hang: 12.500\nSap het han: 12.800 diem ngay 30/11/2027\nCan 7.500 diem de len Kim cuong"}},
		{"diem with diacritics and spaces", gold, "  điểm  ", []string{"Hang: Vang"}},
		{"DIEM in English", en, "diem", []string{"Tier: Silver\nSpendable points: 2,500"}},
		{"DIEM with diacritics", uni, "DIEM", []string{"Hạng: Titan", "Điểm khả dụng: 6.000"}},
		{"DIEM from a stranger", b.stranger(), "DIEM", []string{"chua la hoi vien", "Soan DK gui 9237"}},
		{"QUA", gold, "QUA", []string{"Hien chua co qua tang nao"}},
		{"QUA in English", en, "qua", []string{"no gifts for you right now"}},
		{"HD", gold, "HD", []string{"DIEM xem diem", "CD <so TB> <diem>", "GY <gop y>", "*090#"}},
		{"anything else", en, "what is this", []string{"DIEM points", "Text 9237"}},
		{"TC", gold, "TC", []string{"da tu choi nhan tin quang cao", "DK QC"}},
		{"DK QC", gold, "dk qc", []string{"nhan lai tin khuyen mai"}},
		{"DK from a member", gold, "DK", []string{"da la hoi vien hang Vang"}},
	}
	for _, c := range cases {
		got := b.text(t, c.from, c.text)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: reply %q lacks %q", c.name, got, w)
			}
		}
		if c.from != uni && !care360.FitsGSM7(got) {
			t.Errorf("%s: a plain-vi/en reply is not GSM-7: %q", c.name, got)
		}
	}
}

// DK joins a stranger once, however often the SMSC delivers it.
func TestJoinTwice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.stranger()
	if got := b.text(t, m, "dk"); !strings.Contains(got, "Chuc mung! Quy khach da la hoi vien Ket noi dai lau hang Dong") {
		t.Fatalf("DK: %q", got)
	}
	if got := b.text(t, m, "DK"); !strings.Contains(got, "da la hoi vien hang Dong") {
		t.Fatalf("second DK: %q", got)
	}
	if got := b.text(t, m, "DIEM"); !strings.Contains(got, "Diem kha dung: 0") {
		t.Fatalf("DIEM after DK: %q", got)
	}
}

// TC stops marketing; DK QC lets it come again.
func TestOptOutStopsMarketing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.member(t, care360.LangVi, 0, 0)
	b.text(t, m, "TC")
	send := func(key string) error {
		_, _, err := b.sms.Send(b.ctx, care360.OutgoingSMS{MSISDN: care360.MSISDN(m), Text: "Uu dai", Kind: care360.KindMarketing, IdempotencyKey: key})
		return err
	}
	if err := send("ad-1"); care360.ErrorReason(err) != care360.ReasonOptedOut {
		t.Fatalf("marketing after TC: %v", err)
	}
	b.text(t, m, "DK QC")
	if err := send("ad-2"); err != nil {
		t.Fatalf("marketing after DK QC: %v", err)
	}
	if got := b.next(t, m, 2); got != "[QC] Uu dai Tu choi: soan TC gui 9237" {
		t.Fatalf("ad %q", got)
	}
}

// Bad CD forms get the right reply and move nothing.
func TestGiveRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	from := b.member(t, care360.LangVi, 2_000, 500) // Bạc, 2.500 spendable
	dong := b.member(t, care360.LangVi, 1_000, 0)
	to := b.member(t, care360.LangVi, 0, 0)
	national := "0" + strings.TrimPrefix(to, "84")
	cases := []struct {
		name, from, text, want string
	}{
		{"no arguments", from, "CD", "Sai cu phap. Soan CD <so thue bao> <so diem> gui 9237"},
		{"points not a number", from, "CD " + national + " abc", "Sai cu phap"},
		{"bad number", from, "CD abc 50", "So thue bao ABC khong hop le"},
		{"short number", from, "CD 0903 150", "So thue bao 0903 khong hop le"},
		{"not a multiple", from, "CD " + national + " 150", "boi so cua 100, toi thieu 100 diem"},
		{"to self", from, "CD " + "0" + strings.TrimPrefix(from, "84") + " 100", "khong the tang diem cho chinh minh"},
		{"too few points", from, "CD " + national + " 3000", "Khong du diem: quy khach co 2.500 diem kha dung"},
		{"unknown recipient", from, "CD 0912000111 100", "So 0912000111 chua la hoi vien"},
		{"tier Dong", dong, "CD " + national + " 100", "Chi hoi vien hang Bac tro len"},
	}
	for _, c := range cases {
		if got := b.text(t, c.from, c.text); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got := b.text(t, from, "Y"); !strings.Contains(got, "Khong co giao dich tang diem nao dang cho xac nhan") {
		t.Errorf("Y after refusals: %q", got)
	}
	if b.spendable(t, from) != 2500 || b.spendable(t, to) != 0 {
		t.Error("a refused CD moved points")
	}
}

// CD then Y moves the points exactly once, even when the SMSC delivers Y
// twice; both sides hear of it; a second Y finds nothing pending.
func TestGiveAndConfirm(t *testing.T) {
	t.Parallel()
	b := setup(t)
	from := b.member(t, care360.LangVi, 2_000, 1_000)
	to := b.member(t, care360.LangEn, 0, 0)
	toNational, fromNational := "0"+strings.TrimPrefix(to, "84"), "0"+strings.TrimPrefix(from, "84")
	want := "Quy khach muon tang 1.000 diem cho " + toNational + "? Soan Y gui 9237 trong 5 phut de xac nhan."
	if got := b.text(t, from, "cd "+toNational+" 1.000"); got != want {
		t.Fatalf("CD: %q\nwant %q", got, want)
	}
	if b.spendable(t, from) != 3000 {
		t.Fatal("CD alone moved points")
	}
	fromHad, toHad := len(b.sim.Messages(from)), len(b.sim.Messages(to))
	b.mo(t, from, "Y")
	b.mo(t, from, "Y") // the same MO again: a lost deliver_sm_resp
	// Two replies, in whichever order the SMSC got them: SMS has none.
	replies := b.next(t, from, fromHad) + "\n" + b.next(t, from, fromHad+1)
	if !strings.Contains(replies, "Quy khach da tang 1.000 diem cho "+toNational+". Diem kha dung con lai: 2.000.") {
		t.Errorf("sender not told: %q", replies)
	}
	if !strings.Contains(replies, "Khong co giao dich tang diem nao") {
		t.Errorf("second Y not answered: %q", replies)
	}
	if got := b.next(t, to, toHad); got != "You received 1,000 bonus points from "+fromNational+". Spendable points: 1,000. Text DIEM to 9237 for details." {
		t.Errorf("recipient told %q", got)
	}
	b.quiet(t, to, toHad+1)
	if b.spendable(t, from) != 2000 || b.spendable(t, to) != 1000 {
		t.Fatalf("balances %d and %d", b.spendable(t, from), b.spendable(t, to))
	}
	bal, _ := b.db.Balance(b.ctx, care360.MSISDN(to))
	if bal.Bonus != 1000 || bal.Qualifying != 0 {
		t.Errorf("recipient got %+v, want bonus points only", bal)
	}
}

// A Y after five minutes is too late; anything else in between cancels.
func TestConfirmationLapsesOrIsCancelled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	from := b.member(t, care360.LangVi, 2_000, 0)
	to := b.member(t, care360.LangVi, 0, 0)
	cd := "CD 0" + strings.TrimPrefix(to, "84") + " 100"
	b.text(t, from, cd)
	b.settled(t) // a clock that jumps would lapse the lease of a reply not yet recorded as sent
	b.clock.Add(5*time.Minute + time.Second)
	if got := b.text(t, from, "Y"); !strings.Contains(got, "da het han xac nhan") {
		t.Fatalf("late Y: %q", got)
	}
	b.text(t, from, cd)
	if got := b.text(t, from, "N"); got != "Giao dich tang diem da duoc huy." {
		t.Fatalf("N: %q", got)
	}
	b.text(t, from, cd)
	if got := b.text(t, from, "DIEM"); !strings.HasPrefix(got, "Hang: Bac") {
		t.Fatalf("DIEM while pending: %q", got)
	}
	if got := b.text(t, from, "Y"); !strings.Contains(got, "Khong co giao dich") {
		t.Fatalf("Y after DIEM cancelled: %q", got)
	}
	if b.spendable(t, from) != 2000 || b.spendable(t, to) != 0 {
		t.Fatal("points moved")
	}
}
