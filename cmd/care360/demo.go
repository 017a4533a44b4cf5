package main

import (
	"context"
	"fmt"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// The demo programme: what a newcomer finds behind every menu of `care360
// dev`. Everything is created through the services the admin API calls,
// with the system's own idempotency keys ("demo:…", outside the callers'
// namespace), so a second start on the same database finds each thing and
// creates nothing, whatever the date: a replayed key returns what the first
// start created.
//
// Nothing here spends a demo member's points: the draws are free to enter
// and no gift is claimed, so menu 1 shows the balances seedDemo credits.

// demoServices are the store's services on the seed's connection, built as
// serve builds the API's.
type demoServices struct {
	catalog *store.Catalog
	draws   *store.Draws
	spins   *store.Spins
	sms     *store.SMS
	now     time.Time
	loc     *time.Location
}

// seedProgramme seeds gifts, offers, draws, a spin table and a campaign.
func seedProgramme(ctx context.Context, cfg Config, db *store.DB) error {
	rules := cfg.Programme.SMS
	rules.ShortCode = cfg.ShortCode
	sms := store.NewSMS(db, rules)
	s := &demoServices{
		catalog: store.NewCatalog(db, sms, store.CatalogOptions{
			USSDCode: cfg.USSDCode, Offers: cfg.Programme.Offers, Privileges: cfg.Programme.Privileges,
		}),
		draws: store.NewDraws(db),
		spins: store.NewSpins(db),
		sms:   sms,
		now:   time.Now(),
		loc:   cfg.Location,
	}
	if s.loc == nil {
		s.loc = time.Local
	}
	for _, step := range []struct {
		what string
		run  func(context.Context) error
	}{
		{"gifts", s.seedGifts},
		{"offers", s.seedOffers},
		{"open draw", s.seedOpenDraw},
		{"drawn draw", s.seedDrawnDraw},
		{"spin table", s.seedSpinTable},
		{"campaign", s.seedCampaign},
		{"feedback", s.seedFeedback},
		{"SIM swap", func(ctx context.Context) error { return s.seedSIMSwap(ctx, db, cfg.Programme.SIMSwapHold) }},
	} {
		if err := step.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", step.what, err)
		}
	}
	return nil
}

// today is the start of the local day: windows open from it so that what
// the seed creates is valid at once, whatever the hour.
func (s *demoServices) today() time.Time {
	y, m, d := s.now.In(s.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, s.loc)
}

// demoGifts are one gift of each kind, one nearly out of stock, and a
// birthday gift. A voucher's stock is its code pool; airtime and data are
// credited through the demo provisioning interface dev serves itself
// (demoapp.go).
var demoGifts = []struct {
	key   string
	gift  care360.Gift
	codes []string
}{
	{"demo:gift:voucher", care360.Gift{Name: "Voucher mua sắm 50.000đ", NameEn: "Shopping voucher 50,000 VND",
		Kind: care360.GiftVoucher, Cost: 500},
		[]string{"MS50-7KQ3MX", "MS50-9TRW2P", "MS50-4HBN8C", "MS50-2ZDY6F", "MS50-8LJA5V"}},
	{"demo:gift:partner-voucher", care360.Gift{Name: "Vé xem phim CGV", NameEn: "CGV cinema ticket",
		Kind: care360.GiftVoucher, Cost: 800, Partner: "CGV"},
		[]string{"CGV-Q4N7XT", "CGV-W2K9MB", "CGV-H6P3RZ"}},
	{"demo:gift:airtime", care360.Gift{Name: "Thẻ nạp 20.000đ", NameEn: "20,000 VND airtime",
		Kind: care360.GiftAirtime, Cost: 200, Stock: 1000, Value: 20_000, ProvisionEndpoint: demoProvisioningName}, nil},
	{"demo:gift:data", care360.Gift{Name: "Gói data 2GB", NameEn: "2 GB of data",
		Kind: care360.GiftData, Cost: 300, Stock: 500, Value: 2048, ProvisionEndpoint: demoProvisioningName}, nil},
	{"demo:gift:partner", care360.Gift{Name: "Giảm 20% Highlands Coffee", NameEn: "20% off at Highlands Coffee",
		Kind: care360.GiftPartner, Cost: 300, Stock: 50}, nil},
	{"demo:gift:physical", care360.Gift{Name: "Bình giữ nhiệt MobiFone", NameEn: "MobiFone thermos",
		Kind: care360.GiftPhysical, Cost: 1500, Stock: 2, Tiers: []care360.Tier{care360.TierTitan, care360.TierVang, care360.TierKimCuong}}, nil},
	{"demo:gift:birthday", care360.Gift{Name: "Hoa sinh nhật", NameEn: "Birthday flowers",
		Kind: care360.GiftPhysical, Occasion: care360.OccasionBirthday, Stock: 100}, nil},
}

// seedGifts creates the demo gifts, valid for a year from today, and fills
// the vouchers' code pools; codes already in a pool are skipped.
func (s *demoServices) seedGifts(ctx context.Context) error {
	from := s.today()
	for _, d := range demoGifts {
		g := d.gift
		g.Active, g.ValidFrom, g.ValidUntil = true, from, from.AddDate(1, 0, 0)
		out, _, err := s.catalog.CreateGift(ctx, &g, d.key)
		if err != nil {
			return err
		}
		if len(d.codes) > 0 {
			if _, err := s.catalog.AddCodes(ctx, out.ID, d.codes); err != nil {
				return err
			}
		}
	}
	return nil
}

// demoOffers are one mConnect offer in each of the seven categories (the
// hotel one booked by the night) and a summer resort offer.
var demoOffers = []care360.Offer{
	{Kind: care360.OfferMConnect, Category: care360.CategoryFood, Partner: "Pizza 4P's",
		Title: "Giảm 20% Pizza 4P's", TitleEn: "20% off at Pizza 4P's", Code: "MC4P20"},
	{Kind: care360.OfferMConnect, Category: care360.CategoryFun, Partner: "CGV",
		Title: "Mua 1 tặng 1 vé CGV", TitleEn: "CGV: buy one ticket, get one free", Code: "MCCGV11"},
	{Kind: care360.OfferMConnect, Category: care360.CategoryBeauty, Partner: "Seoul Spa",
		Title: "Giảm 30% chăm sóc da Seoul Spa", TitleEn: "30% off facials at Seoul Spa", Code: "MCSPA30"},
	{Kind: care360.OfferMConnect, Category: care360.CategoryShopping, Partner: "Thế Giới Di Động",
		Title: "Giảm 500.000đ phụ kiện TGDĐ", TitleEn: "500,000 VND off accessories at TGDD", Code: "MCTGDD500"},
	{Kind: care360.OfferMConnect, Category: care360.CategoryTravel, Partner: "Vietravel",
		Title: "Giảm 10% tour Vietravel", TitleEn: "10% off Vietravel tours", Code: "MCVTR10"},
	{Kind: care360.OfferMConnect, Category: care360.CategoryHealth, Partner: "Vinmec",
		Title: "Giảm 15% khám sức khỏe Vinmec", TitleEn: "15% off health checks at Vinmec", Code: "MCVMC15"},
	{Kind: care360.OfferMConnect, Category: care360.CategoryHotel, Partner: "Mường Thanh",
		Title: "Khách sạn Mường Thanh Đà Nẵng", TitleEn: "Muong Thanh Hotel Da Nang", Price: 900_000},
	{Kind: care360.OfferResort, Partner: "Vinpearl",
		Title: "Vinpearl Resort Nha Trang", TitleEn: "Vinpearl Resort Nha Trang", Price: 1_000_000,
		CardPrice: 500_000, CardName: "TienPhong Bank Visa"},
}

// seedOffers creates the demo offers, open from today for three months: a
// resort offer gets these dates too, not the June–August season, so that
// menu 6 has something whatever the month dev starts in.
func (s *demoServices) seedOffers(ctx context.Context) error {
	from := s.today()
	for _, o := range demoOffers {
		o.Active, o.ValidFrom, o.ValidUntil = true, from, from.AddDate(0, 3, 0)
		key := "demo:offer:" + string(o.Category)
		if o.Kind == care360.OfferResort {
			key = "demo:offer:resort"
		}
		if _, _, err := s.catalog.CreateOffer(ctx, &o, key); err != nil {
			return err
		}
	}
	return nil
}

// demoTickets lets every tier enter, the higher tiers with more tickets.
var demoTickets = map[care360.Tier]int{care360.TierDong: 1, care360.TierBac: 2, care360.TierTitan: 3, care360.TierVang: 4, care360.TierKimCuong: 5}

// demoEntrants enter the demo draws; 0903123456 stays out of the open one
// so that a newcomer dialling as them can enter it.
var demoEntrants = []string{"0904234567", "0905345678", "0906456789", "0907567890"}

// seedOpenDraw opens a free draw for three months with a few entries.
func (s *demoServices) seedOpenDraw(ctx context.Context) error {
	d := &care360.Draw{Code: "XUAN", Name: "Bốc thăm Lộc Xuân", NameEn: "Spring luck draw",
		OpensAt: s.today(), ClosesAt: s.today().AddDate(0, 3, 0), Tickets: demoTickets, Active: true,
		Prizes: []care360.DrawPrize{{Name: "Điện thoại Samsung Galaxy", NameEn: "Samsung Galaxy phone", Quantity: 1},
			{Name: "Voucher 200.000đ", NameEn: "200,000 VND voucher", Quantity: 5}}}
	if _, err := s.draws.CreateDraw(ctx, d, "demo:draw:open"); err != nil {
		return err
	}
	return s.enter(ctx, d, demoEntrants)
}

// seedDrawnDraw runs a whole draw: opened, entered by every demo member,
// closed and run with a witness value, so that its audit file can be
// verified (`care360 draw verify`) and its entrants see results in menu 3.
// A restart finds it drawn and leaves it.
func (s *demoServices) seedDrawnDraw(ctx context.Context) error {
	d := &care360.Draw{Code: "TRIAN", Name: "Bốc thăm Tri ân khách hàng", NameEn: "Thank-you draw",
		OpensAt: s.today(), ClosesAt: s.today().AddDate(0, 1, 0), Tickets: demoTickets, Active: true,
		Prizes: []care360.DrawPrize{{Name: "Xe máy Honda Vision", NameEn: "Honda Vision motorbike", Quantity: 1},
			{Name: "Thẻ nạp 100.000đ", NameEn: "100,000 VND top-up card", Quantity: 2}}}
	if _, err := s.draws.CreateDraw(ctx, d, "demo:draw:drawn"); err != nil {
		return err
	}
	if d.Status == care360.DrawDrawn {
		return nil
	}
	if d.Status == care360.DrawOpen {
		var all []string
		for _, m := range demo {
			all = append(all, m.msisdn)
		}
		if err := s.enter(ctx, d, all); err != nil {
			return err
		}
		if _, err := s.draws.CloseDraw(ctx, d.ID); err != nil {
			return err
		}
	}
	_, _, _, err := s.draws.RunDraw(ctx, d.ID, "4 2 6 1 3")
	return err
}

// enter enters each msisdn once: the key returns the first entry again. A
// refusal is no failure of the seed: the member entered by hand already,
// or the draw's window has passed since the first start.
func (s *demoServices) enter(ctx context.Context, d *care360.Draw, msisdns []string) error {
	for _, n := range msisdns {
		msisdn, err := care360.ParseMSISDN(n)
		if err != nil {
			return err
		}
		_, err = s.draws.EnterDraw(ctx, d.ID, msisdn, "demo:entry:"+d.Code)
		if err != nil && care360.ErrorReason(err) == "" {
			return err
		}
	}
	return nil
}

// seedSpinTable creates a wheel open for three months: 100 points a spin,
// three a day, most spins win nothing.
func (s *demoServices) seedSpinTable(ctx context.Context) error {
	t := &care360.SpinTable{Code: "MAYMAN", Name: "Vòng quay may mắn", NameEn: "Lucky wheel",
		CostPoints: 100, DailyCap: 3, NoPrizeWeight: 60, Active: true,
		StartsAt: s.today(), EndsAt: s.today().AddDate(0, 3, 0),
		Prizes: []care360.SpinPrize{
			{Name: "Voucher 50.000đ", NameEn: "50,000 VND voucher", Weight: 25, Inventory: 100},
			{Name: "Tai nghe Bluetooth", NameEn: "Bluetooth earphones", Weight: 10, Inventory: 10},
			{Name: "Điện thoại Samsung Galaxy", NameEn: "Samsung Galaxy phone", Weight: 1, Inventory: 1},
		}}
	_, err := s.spins.CreateSpinTable(ctx, t, "demo:spin-table")
	return err
}

// seedCampaign sends one marketing SMS to every member. It is queued in
// the outbox now and goes out once the gateway runs, within the marketing
// window; the simulator sends the delivery receipts back.
func (s *demoServices) seedCampaign(ctx context.Context) error {
	_, _, err := s.sms.CreateCampaign(ctx, care360.NewCampaign{
		Name:           "Chào mừng hội viên",
		Text:           "Chào {name}! Quý khách đang là hội viên hạng {tier}. Bấm *090# để xem quà tặng và ưu đãi mới.",
		TextEn:         "Hello {name}! You are a {tier} member. Dial *090# for new gifts and offers.",
		IdempotencyKey: "demo:campaign:welcome",
	})
	return err
}

// demoSwapped is the demo member the CRM reported a SIM swap for, on the
// first start: the event's id makes every later start a duplicate, so the
// hold lifts 72 h after the first `make run`, as it would in the field.
const demoSwapped = "0908678901"

func (s *demoServices) seedSIMSwap(ctx context.Context, db *store.DB, hold time.Duration) error {
	m, err := care360.ParseMSISDN(demoSwapped)
	if err != nil {
		return err
	}
	_, err = db.SIMSwaps(ctx, []care360.LifecycleEvent{{ID: "demo-sim-swap-" + demoSwapped, MSISDN: m, Event: care360.EventSIMSwap, At: s.now}},
		max(hold, time.Hour))
	return err
}

// demoFeedback is a question waiting in customer care's inbox (console,
// Góp ý), as a member would text it with GY.
const (
	demoFeedbackFrom = "84904234567"
	demoFeedbackText = "Quà sinh nhật của tôi khi nào được gửi?"
)

// seedFeedback records demoFeedback once: if it is already there, open or
// answered by staff since, nothing is added.
func (s *demoServices) seedFeedback(ctx context.Context) error {
	list, err := s.sms.FeedbackList(ctx, care360.FeedbackFilter{Page: care360.Page{Limit: 500}})
	if err != nil {
		return err
	}
	for _, f := range list {
		if string(f.MSISDN) == demoFeedbackFrom && f.Text == demoFeedbackText {
			return nil
		}
	}
	_, err = s.sms.RecordFeedback(ctx, demoFeedbackFrom, demoFeedbackText, s.now)
	return err
}
