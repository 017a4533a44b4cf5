package store_test

import (
	"strings"
	"testing"

	"github.com/care360/care360"
)

func (b *catalogBundle) offer(t *testing.T, o *care360.Offer) *care360.Offer {
	t.Helper()
	out, replay, err := b.cat.CreateOffer(b.ctx, o, "")
	if err != nil || replay {
		t.Fatalf("CreateOffer: replay %v, %v", replay, err)
	}
	return out
}

func resort() *care360.Offer {
	return &care360.Offer{Kind: care360.OfferResort, Partner: "Vinpearl", Title: "Vinpearl Nha Trang", Active: true,
		Price: 1_000_000, CardPrice: 500_000, CardName: "TienPhong Bank Visa"}
}

func TestResortSeasonTierAndMonthlyCap(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	r := b.offer(t, resort()) // created in November: next summer
	if got := r.ValidFrom.In(hanoi).Format("2006-01-02"); got != "2027-06-01" || r.ValidUntil.In(hanoi).Format("2006-01-02") != "2027-09-01" {
		t.Fatalf("season %v – %v", r.ValidFrom, r.ValidUntil)
	}
	vang := b.member(t, "V", care360.LangEn, care360.GenderMale, "1980-01-01", 12000)
	dong := b.member(t, "D", care360.LangVi, care360.GenderMale, "1980-01-01", 10)
	f := care360.OfferFilter{Kind: care360.OfferResort}
	_, err := b.cat.AvailableOffers(b.ctx, vang, f)
	wantReason(t, err, care360.ReasonWindow)
	_, err = b.cat.AvailableOffers(b.ctx, dong, f)
	wantReason(t, err, care360.ReasonTier)

	b.clock.Set(at("2027-07-10 10:00"))
	os, err := b.cat.AvailableOffers(b.ctx, vang, f)
	if err != nil || len(os) != 1 {
		t.Fatalf("in season: %+v %v", os, err)
	}
	book := func(nights int, key string) (*care360.Booking, error) {
		bk, _, err := b.cat.Book(b.ctx, care360.BookRequest{MSISDN: vang, OfferID: r.ID, Nights: nights, IdempotencyKey: key})
		return bk, err
	}
	first, err := book(4, "a")
	if err != nil || first.Nights != 4 || len(first.Code) != 14 {
		t.Fatalf("book 4: %+v %v", first, err)
	}
	wantReason(t, ignore(book(4, "b")), care360.ReasonLimitReached)
	if again, err := book(4, "a"); err != nil || again.ID != first.ID {
		t.Fatalf("replay: %+v %v", again, err)
	}
	if _, err := book(3, "c"); err != nil {
		t.Fatalf("3 more nights: %v", err)
	}
	if _, err := book(0, "d"); care360.ErrorCode(err) != care360.EINVALID {
		t.Fatalf("0 nights: %v", err)
	}
	b.clock.Set(at("2027-08-01 10:00")) // a new month
	if _, err := book(7, "e"); err != nil {
		t.Fatalf("August: %v", err)
	}
	ms, _ := b.sms.Messages(b.ctx, vang, 10)
	want := "Booking code for Vinpearl Nha Trang: " + first.Code + ", 4 nights, 1,000,000 VND/room/night, 500,000 VND paying with TienPhong Bank Visa."
	if len(ms) != 3 || ms[2].Text != want {
		t.Fatalf("SMS %+v, want last %q", ms, want)
	}
}

func TestMConnectCodeOncePerOffer(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	food := b.offer(t, &care360.Offer{Kind: care360.OfferMConnect, Category: care360.CategoryFood, Partner: "Pizza 4P's",
		Title: "Giảm 20% Pizza 4P's", TitleEn: "20% off Pizza 4P's", Code: "MC4P20", Active: true,
		ValidFrom: at("2026-11-01 00:00"), ValidUntil: at("2027-01-01 00:00")})
	vip := b.offer(t, &care360.Offer{Kind: care360.OfferMConnect, Category: care360.CategoryFood, Partner: "Sofitel",
		Title: "Buffet Sofitel", Code: "MCSOFI", Active: true, Tiers: []care360.Tier{care360.TierKimCuong},
		ValidFrom: at("2026-11-01 00:00"), ValidUntil: at("2027-01-01 00:00")})
	m := b.member(t, "M", care360.LangViUnicode, care360.GenderMale, "1980-01-01", 10)
	os, err := b.cat.AvailableOffers(b.ctx, m, care360.OfferFilter{Kind: care360.OfferMConnect, Category: care360.CategoryFood})
	if err != nil || len(os) != 1 || os[0].ID != food.ID {
		t.Fatalf("offers: %+v %v", os, err)
	}
	bk, replay, err := b.cat.Book(b.ctx, care360.BookRequest{MSISDN: m, OfferID: food.ID})
	if err != nil || replay || !strings.HasPrefix(bk.Code, "MC4P20-") {
		t.Fatalf("book: %+v %v %v", bk, replay, err)
	}
	if again, replay, err := b.cat.Book(b.ctx, care360.BookRequest{MSISDN: m, OfferID: food.ID}); err != nil || !replay || again.ID != bk.ID {
		t.Fatalf("second take: %+v %v %v", again, replay, err)
	}
	_, _, err = b.cat.Book(b.ctx, care360.BookRequest{MSISDN: m, OfferID: vip.ID})
	wantReason(t, err, care360.ReasonTier)
	if ms := b.only(t, m); ms.Text != "Ưu đãi mConnect Giảm 20% Pizza 4P's: mã "+bk.Code+". Xuất trình mã tại Pizza 4P's." {
		t.Fatalf("SMS %q", ms.Text)
	}
	if _, _, err := b.cat.CreateOffer(b.ctx, &care360.Offer{Kind: care360.OfferMConnect, Category: "spa", Title: "x", Code: "ABCD"}, ""); care360.ErrorCode(err) != care360.EINVALID {
		t.Fatalf("unknown category: %v", err)
	}
}
