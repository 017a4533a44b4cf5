package keywords_test

import (
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/keywords"
	"github.com/care360/care360/store"
)

// QUA lists what menu 2 lists: the free gifts first, then the catalogue
// for the member's tier, in the member's language.
func TestQUAListsClaimableGifts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := store.Open(ctx, pgtest.FreshDB(t), store.Options{Location: hanoi})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	sms := store.NewSMS(db, care360.SMSRules{})
	cat := store.NewCatalog(db, sms, store.CatalogOptions{})
	tr := store.NewTransfers(db, care360.TransferRules{})
	kw := keywords.New(keywords.Config{
		Subscribers: db, Points: db, Transfers: tr, Prefs: sms, Outbox: sms, Inbox: sms,
		TransferRules: tr.Rules(), ShortCode: "9237", USSDCode: "*090#", Gifts: cat,
	})
	now := time.Now()
	for _, g := range []*care360.Gift{
		{Name: "Voucher Global Link", NameEn: "Global Link voucher", Kind: care360.GiftPartner, Cost: 2000, Stock: 5},
		{Name: "Quà 8/3", NameEn: "Women's day gift", Kind: care360.GiftPartner, Occasion: care360.OccasionWomen, Stock: 5},
	} {
		g.Active, g.ValidFrom, g.ValidUntil = true, now.Add(-time.Hour), now.Add(time.Hour)
		if _, _, err := cat.CreateGift(ctx, g, ""); err != nil {
			t.Fatal(err)
		}
	}
	reply := func(m care360.MSISDN) string {
		t.Helper()
		if err := kw.Receive(ctx, care360.InboundSMS{MSISDN: m, From: string(m), To: "9237", Text: "qua"}); err != nil {
			t.Fatal(err)
		}
		ms, err := sms.Messages(ctx, m, 1)
		if err != nil || len(ms) != 1 {
			t.Fatalf("reply to %s: %+v %v", m, ms, err)
		}
		return ms[0].Text
	}
	for _, c := range []struct {
		msisdn care360.MSISDN
		s      care360.Subscriber
		want   string
	}{
		{"84903777001", care360.Subscriber{Name: "Lan", Gender: care360.GenderFemale, Language: care360.LangVi},
			"Qua cua quy khach: Qua 8/3 (mien phi); Voucher Global Link: 2.000 diem. Bam *090#, chon Qua tang de nhan."},
		{"84903777002", care360.Subscriber{Name: "Nam", Gender: care360.GenderMale, Language: care360.LangEn},
			"Your gifts: Global Link voucher: 2,000 points. Dial *090#, Gifts, to claim them."},
	} {
		c.s.MSISDN = c.msisdn
		if _, err := db.PutSubscriber(ctx, &c.s); err != nil {
			t.Fatal(err)
		}
		if got := reply(c.msisdn); got != c.want {
			t.Errorf("QUA from %s: %q, want %q", c.msisdn, got, c.want)
		}
	}
}
