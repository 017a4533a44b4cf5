package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// catalogBundle is a catalogue on a database of the test's own: listings
// and announcements see every gift, so tests must not share them.
type catalogBundle struct {
	*smsBundle
	cat *store.Catalog
}

func setupCatalog(t *testing.T) *catalogBundle {
	t.Helper()
	return catalogOn(t, pgtest.FreshDB(t), store.Options{})
}

func catalogOn(t *testing.T, url string, opt store.Options) *catalogBundle {
	t.Helper()
	b := setupURL(t, url, opt)
	sms := store.NewSMS(b.db, care360.SMSRules{})
	return &catalogBundle{smsBundle: &smsBundle{bundle: b, sms: sms}, cat: store.NewCatalog(b.db, sms, store.CatalogOptions{})}
}

// catalogueGift is a partner gift for every tier, open around the test clock.
func catalogueGift(cost, stock int64) *care360.Gift {
	return &care360.Gift{
		Name: "Voucher Global Link 500.000đ", NameEn: "Global Link voucher 500,000 VND", Kind: care360.GiftPartner,
		Cost: cost, Stock: stock, Limit: 1, Active: true,
		ValidFrom: at("2026-11-01 00:00"), ValidUntil: at("2027-01-01 00:00"),
	}
}

func (b *catalogBundle) gift(t *testing.T, g *care360.Gift) *care360.Gift {
	t.Helper()
	out, replay, err := b.cat.CreateGift(b.ctx, g, "")
	if err != nil || replay {
		t.Fatalf("CreateGift: replay %v, %v", replay, err)
	}
	return out
}

func (b *catalogBundle) claim(m care360.MSISDN, g *care360.Gift, key string) (*care360.Claim, error) {
	c, _, err := b.cat.ClaimGift(b.ctx, care360.ClaimRequest{MSISDN: m, GiftID: g.ID, IdempotencyKey: key})
	return c, err
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if care360.ErrorCode(err) != care360.EREFUSED || care360.ErrorReason(err) != reason {
		t.Fatalf("error %v: want refused %q", err, reason)
	}
}

func TestCreateGiftValidatesAndReplays(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	g := catalogueGift(2000, 5)
	first, replay, err := b.cat.CreateGift(b.ctx, g, "k1")
	if err != nil || replay {
		t.Fatal(replay, err)
	}
	again, replay, err := b.cat.CreateGift(b.ctx, catalogueGift(9, 9), "k1")
	if err != nil || !replay || again.ID != first.ID || again.Cost != 2000 {
		t.Fatalf("replay: %+v %v %v", again, replay, err)
	}
	bad := []func(g *care360.Gift){
		func(g *care360.Gift) { g.Cost = 0 },
		func(g *care360.Gift) { g.Occasion = care360.OccasionTet },                 // campaign gifts are free
		func(g *care360.Gift) { g.Kind = "lottery" },                               // unknown kind
		func(g *care360.Gift) { g.Stock = -1 },                                     //
		func(g *care360.Gift) { g.ValidUntil = g.ValidFrom },                       // empty window
		func(g *care360.Gift) { g.Tiers = []care360.Tier{"gold"} },                 // API spelling only
		func(g *care360.Gift) { g.Kind = care360.GiftAirtime; g.Value = 10000 },    // no provisioning endpoint
		func(g *care360.Gift) { g.Kind = care360.GiftVoucher },                     // voucher stock comes from codes
		func(g *care360.Gift) { g.Segment.Gender = care360.GenderFemale },          // segments are for campaign gifts
		func(g *care360.Gift) { g.Limit = care360.MaxGiftLimit + 1; g.Name = "x" }, //
	}
	for i, f := range bad {
		g := catalogueGift(100, 1)
		f(g)
		if _, _, err := b.cat.CreateGift(b.ctx, g, ""); care360.ErrorCode(err) != care360.EINVALID {
			t.Errorf("case %d: %v, want invalid", i, err)
		}
	}
	if _, err := b.cat.Gift(b.ctx, 999999); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Errorf("unknown gift: %v", err)
	}
}

func TestUpdateGift(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	g := b.gift(t, catalogueGift(2000, 5))
	stock, cost := int64(50), int64(1500)
	got, err := b.cat.UpdateGift(b.ctx, g.ID, care360.GiftUpdate{Stock: &stock, Cost: &cost})
	if err != nil || got.Stock != 50 || got.Cost != 1500 || got.Name != g.Name {
		t.Fatalf("%+v %v", got, err)
	}
	zero := int64(0)
	if _, err := b.cat.UpdateGift(b.ctx, g.ID, care360.GiftUpdate{Cost: &zero}); care360.ErrorCode(err) != care360.EINVALID {
		t.Fatalf("cost 0 accepted: %v", err)
	}
	until := g.ValidFrom.Add(-time.Hour)
	if _, err := b.cat.UpdateGift(b.ctx, g.ID, care360.GiftUpdate{ValidUntil: &until}); care360.ErrorCode(err) != care360.EINVALID {
		t.Fatalf("window ending before it starts accepted: %v", err)
	}
}

func TestAddCodesReportsEveryRow(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	g := catalogueGift(1000, 0)
	g.Kind = care360.GiftVoucher
	g = b.gift(t, g)
	rs, err := b.cat.AddCodes(b.ctx, g.ID, []string{"GL-0001", "GL-0002", "GL-0001", "x", "GL 03"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{care360.CodeAccepted, care360.CodeAccepted, care360.CodeDuplicate, care360.CodeRejected, care360.CodeRejected}
	for i, r := range rs {
		if r.Result != want[i] || r.Row != i+1 {
			t.Errorf("row %d: %+v, want %s", i+1, r, want[i])
		}
	}
	rs, err = b.cat.AddCodes(b.ctx, g.ID, []string{"GL-0002", "GL-0003"})
	if err != nil || rs[0].Result != care360.CodeDuplicate || rs[1].Result != care360.CodeAccepted {
		t.Fatalf("second upload: %+v %v", rs, err)
	}
	if got, _ := b.cat.Gift(b.ctx, g.ID); got.Stock != 3 {
		t.Fatalf("stock %d after 3 codes", got.Stock)
	}
	other := b.gift(t, catalogueGift(1000, 1))
	if _, err := b.cat.AddCodes(b.ctx, other.ID, []string{"GL-0009"}); care360.ErrorCode(err) != care360.EINVALID {
		t.Fatalf("codes for a partner gift: %v", err)
	}
}

func TestClaimVoucherTakesPointsStockAndCode(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	g := b.voucher(t, 1500, 2, "GL-A1", "GL-A2", "GL-A3")
	m := b.member(t, "Lan", care360.LangEn, care360.GenderFemale, "1990-03-08", 4000)
	c, err := b.claim(m, g, "k1")
	if err != nil || c.Code != "GL-A1" || c.Points != 1500 || c.Status != care360.ClaimDone {
		t.Fatalf("claim: %+v %v", c, err)
	}
	again, replay, err := b.cat.ClaimGift(b.ctx, care360.ClaimRequest{MSISDN: m, GiftID: g.ID, IdempotencyKey: "k1"})
	if err != nil || !replay || again.ID != c.ID {
		t.Fatalf("replay: %+v %v %v", again, replay, err)
	}
	if _, err := b.claim(m, g, "k2"); err != nil {
		t.Fatal(err)
	}
	wantReason(t, ignore(b.claim(m, g, "k3")), care360.ReasonLimitReached)
	if bal := balance(t, b.bundle, m); bal.Spendable != 1000 {
		t.Fatalf("spendable %d after two claims of 1500 from 4000", bal.Spendable)
	}
	if got, _ := b.cat.Gift(b.ctx, g.ID); got.Stock != 1 || got.Claimed != 2 {
		t.Fatalf("stock %d claimed %d", got.Stock, got.Claimed)
	}
	ms, err := b.sms.Messages(b.ctx, m, 10)
	if err != nil || len(ms) != 2 || ms[1].Text != "You received Global Link voucher 500,000 VND. Voucher code: GL-A1. Valid on the partner's terms." {
		t.Fatalf("SMS: %+v %v", ms, err)
	}
}

func ignore[T any](_ T, err error) error { return err }

// voucher creates a voucher gift of cost points, limit claims a member,
// stocked with codes.
func (b *catalogBundle) voucher(t *testing.T, cost int64, limit int, codes ...string) *care360.Gift {
	t.Helper()
	g := catalogueGift(cost, 0)
	g.Kind, g.Limit = care360.GiftVoucher, limit
	g = b.gift(t, g)
	if _, err := b.cat.AddCodes(b.ctx, g.ID, codes); err != nil {
		t.Fatal(err)
	}
	return g
}

// A voucher's code is taken with the claim's first round trip, before the
// claim is known to go ahead: a claim refused afterwards (points, limit)
// or a replay must leave it free for the next.
func TestVoucherCodeLeftFreeByRefusalsAndReplays(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	g := b.voucher(t, 1000, 1, "GL-B1", "GL-B2", "GL-B3")
	poor := b.member(t, "P", care360.LangVi, care360.GenderMale, "1980-05-05", 500)
	rich := b.member(t, "R", care360.LangVi, care360.GenderMale, "1980-05-05", 5000)
	wantReason(t, ignore(b.claim(poor, g, "p1")), care360.ReasonInsufficientPoints)
	c, err := b.claim(rich, g, "r1")
	if err != nil || c.Code != "GL-B1" {
		t.Fatalf("first granted claim: %+v %v, want the first code", c, err)
	}
	wantReason(t, ignore(b.claim(rich, g, "r2")), care360.ReasonLimitReached)
	again, replay, err := b.cat.ClaimGift(b.ctx, care360.ClaimRequest{MSISDN: rich, GiftID: g.ID, IdempotencyKey: "r1"})
	if err != nil || !replay || again.Code != "GL-B1" {
		t.Fatalf("replay: %+v %v %v", again, replay, err)
	}
	if got, _ := b.cat.Gift(b.ctx, g.ID); got.Stock != 2 || got.Claimed != 1 {
		t.Fatalf("stock %d claimed %d, want 2 and 1", got.Stock, got.Claimed)
	}
	other := b.member(t, "O", care360.LangVi, care360.GenderMale, "1980-05-05", 5000)
	if c, err := b.claim(other, g, "o1"); err != nil || c.Code != "GL-B2" {
		t.Fatalf("next claim: %+v %v, want the second code", c, err)
	}
}

func TestClaimRefusals(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	rich := b.member(t, "A", care360.LangVi, care360.GenderMale, "1980-05-05", 25000)
	poor := b.member(t, "B", care360.LangVi, care360.GenderMale, "1980-05-05", 100)

	wantReason(t, ignore(b.claim(poor, b.gift(t, catalogueGift(2000, 5)), "")), care360.ReasonInsufficientPoints)
	wantReason(t, ignore(b.claim(rich, b.gift(t, catalogueGift(2000, 0)), "")), care360.ReasonOutOfStock)

	vang := catalogueGift(100, 5)
	vang.Tiers = []care360.Tier{care360.TierVang}
	wantReason(t, ignore(b.claim(rich, b.gift(t, vang), "")), care360.ReasonTier)

	late := catalogueGift(100, 5)
	late.ValidFrom = at("2026-12-01 00:00")
	wantReason(t, ignore(b.claim(rich, b.gift(t, late), "")), care360.ReasonWindow)

	off := b.gift(t, catalogueGift(100, 5))
	no := false
	if _, err := b.cat.UpdateGift(b.ctx, off.ID, care360.GiftUpdate{Active: &no}); err != nil {
		t.Fatal(err)
	}
	wantReason(t, ignore(b.claim(rich, off, "")), care360.ReasonWindow)

	women := catalogueGift(0, 5)
	women.Occasion = care360.OccasionWomen
	wantReason(t, ignore(b.claim(rich, b.gift(t, women), "")), care360.ReasonNotEligible)

	// Refused claims leave nothing behind: no points, no SMS.
	if bal := balance(t, b.bundle, rich); bal.Spendable != 25000 {
		t.Fatalf("spendable %d after refusals", bal.Spendable)
	}
	if ms, _ := b.sms.Messages(b.ctx, rich, 10); len(ms) != 0 {
		t.Fatalf("refusals sent SMS: %+v", ms)
	}
	if _, err := b.claim(newMSISDN(), off, ""); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Fatalf("unknown subscriber: %v", err)
	}
}

func TestCampaignGiftsListedAndClaimedFree(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	// November 25th: a November birthday gets the birthday gift, if Titan+.
	birthday := &care360.Gift{Name: "Hoa sinh nhật", NameEn: "Birthday flowers", Kind: care360.GiftPhysical,
		Occasion: care360.OccasionBirthday, Stock: 10, Active: true,
		ValidFrom: at("2026-01-01 00:00"), ValidUntil: at("2028-01-01 00:00")}
	birthday = b.gift(t, birthday)
	tet := &care360.Gift{Name: "Lì xì Tết", NameEn: "Tet gift", Kind: care360.GiftPartner, Occasion: care360.OccasionTet,
		Stock: 10, Active: true, ValidFrom: at("2027-02-01 00:00"), ValidUntil: at("2027-02-20 00:00")}
	tet = b.gift(t, tet)
	shop := b.gift(t, catalogueGift(2000, 5))

	titan := b.member(t, "C", care360.LangVi, care360.GenderFemale, "1985-11-02", 6000)
	bac := b.member(t, "D", care360.LangVi, care360.GenderFemale, "1985-11-02", 2500)
	march := b.member(t, "E", care360.LangVi, care360.GenderFemale, "1985-03-02", 6000)
	ids := func(m care360.MSISDN) []int64 {
		gs, err := b.cat.ClaimableGifts(b.ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, g := range gs {
			out = append(out, g.ID)
		}
		return out
	}
	if got := ids(titan); fmt.Sprint(got) != fmt.Sprint([]int64{birthday.ID, shop.ID}) {
		t.Fatalf("titan sees %v", got)
	}
	if got := ids(bac); fmt.Sprint(got) != fmt.Sprint([]int64{shop.ID}) {
		t.Fatalf("bac sees %v", got)
	}
	if got := ids(march); fmt.Sprint(got) != fmt.Sprint([]int64{shop.ID}) {
		t.Fatalf("march birthday sees %v", got)
	}
	wantReason(t, ignore(b.claim(bac, birthday, "")), care360.ReasonTier)
	wantReason(t, ignore(b.claim(march, birthday, "")), care360.ReasonWindow)
	c, err := b.claim(titan, birthday, "")
	if err != nil || c.Points != 0 {
		t.Fatalf("birthday claim: %+v %v", c, err)
	}
	wantReason(t, ignore(b.claim(titan, birthday, "")), care360.ReasonLimitReached)
	if got := ids(titan); fmt.Sprint(got) != fmt.Sprint([]int64{shop.ID}) {
		t.Fatalf("claimed birthday gift still listed: %v", got)
	}
	// Next year's birthday month is a new period.
	b.clock.Set(at("2027-11-03 09:00"))
	if _, err := b.claim(titan, birthday, ""); err != nil {
		t.Fatalf("next year's birthday: %v", err)
	}
	// Tết opens in February.
	b.clock.Set(at("2027-02-05 09:00"))
	if got := ids(bac); fmt.Sprint(got) != fmt.Sprint([]int64{tet.ID}) {
		t.Fatalf("during Tết bac sees %v", got)
	}
	if bal := balance(t, b.bundle, titan); bal.Spendable != 6000 {
		t.Fatalf("free gifts cost points: %d", bal.Spendable)
	}
}

func TestAnnounceGiftsOncePerPeriod(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	b.gift(t, &care360.Gift{Name: "Hoa sinh nhật", NameEn: "Birthday flowers", Kind: care360.GiftPhysical,
		Occasion: care360.OccasionBirthday, Stock: 10, Active: true,
		ValidFrom: at("2026-01-01 00:00"), ValidUntil: at("2028-01-01 00:00")})
	b.gift(t, &care360.Gift{Name: "Quà 20/10", NameEn: "Women's day gift", Kind: care360.GiftPartner,
		Occasion: care360.OccasionWomen, Stock: 10, Active: true,
		ValidFrom: at("2026-12-24 00:00"), ValidUntil: at("2026-12-26 00:00")})
	titan := b.member(t, "Hoa", care360.LangVi, care360.GenderFemale, "1985-11-02", 6000)
	bac := b.member(t, "Mai", care360.LangEn, care360.GenderFemale, "1985-11-02", 2500)
	b.clock.Set(at("2026-11-25 09:00"))
	for range 2 {
		if _, err := b.cat.AnnounceGifts(b.ctx); err != nil {
			t.Fatal(err)
		}
	}
	m := b.only(t, titan)
	want := "[QC] MobiFone Care360 gui Hoa qua Hoa sinh nhat. Bam *090# chon Qua tang de nhan. Tu choi: soan TC gui 9237"
	if m.Kind != care360.KindMarketing || m.Text != want {
		t.Fatalf("announcement %+v, want %q", m, want)
	}
	if ms, _ := b.sms.Messages(b.ctx, bac, 10); len(ms) != 0 {
		t.Fatalf("a Bạc member was told of a Titan gift: %+v", ms)
	}
	// On 24 December the women's-day gift (test window) goes to both.
	b.clock.Set(at("2026-12-24 09:00"))
	n, err := b.cat.AnnounceGifts(b.ctx)
	if err != nil || n != 2 { // December's birthday round and the women's gift
		t.Fatalf("announced %d, %v", n, err)
	}
	if ms, _ := b.sms.Messages(b.ctx, bac, 10); len(ms) != 1 || ms[0].Text != "[QC] MobiFone Care360 has a gift for Mai: Women's day gift. Dial *090#, Gifts, to claim it. Tu choi: soan TC gui 9237" {
		t.Fatalf("bac: %+v", ms)
	}
}
