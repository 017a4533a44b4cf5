package menus

import (
	"context"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// replay answers the current screen, then puts the dialogue back as it
// was before and answers again: what a gateway does when a step's action
// committed but the dialogue's own save did not (a timeout, a lost
// connection) and the answer comes again. Both replies are returned.
func replay(t *testing.T, p *phone, db *store.DB, answer string) (first, again care360.USSDReply) {
	t.Helper()
	ctx := context.Background()
	d, err := db.LoadDialogue(ctx, p.key, 0)
	if err != nil || d == nil {
		t.Fatalf("no dialogue under %q: %v", p.key, err)
	}
	first = p.send(care360.USSDAnswer, answer)
	if err := db.SaveDialogue(ctx, d); err != nil {
		t.Fatal(err)
	}
	return first, p.send(care360.USSDAnswer, answer)
}

// everything is an engine with every loyalty service behind it, on a
// database of its own.
type everything struct {
	*bundle
	cat   *store.Catalog
	sms   *store.SMS
	spins *store.Spins
	draws *store.Draws
}

func setupEverything(t *testing.T) *everything {
	t.Helper()
	db, err := store.Open(context.Background(), pgtest.FreshDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	sms := store.NewSMS(db, care360.SMSRules{})
	x := &everything{cat: store.NewCatalog(db, sms, store.CatalogOptions{}), sms: sms, spins: store.NewSpins(db), draws: store.NewDraws(db)}
	e, err := New(Config{
		Subscribers: db, Points: db, Dialogues: db, Gifts: x.cat, Offers: x.cat, Privileges: x.cat, Draws: x.draws, Spins: x.spins,
		Transfers: store.NewTransfers(db, care360.TransferRules{}), TransferNotifier: notifyTransfer,
		DialRate: 1000, DialBurst: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	x.bundle = &bundle{db: db, e: e}
	return x
}

func (x *everything) member(t *testing.T, msisdn string, qualifying int64) *phone {
	t.Helper()
	l := &loyalty{bundle: x.bundle}
	return l.member(t, msisdn, qualifying)
}

func (x *everything) spendable(t *testing.T, p *phone) int64 {
	t.Helper()
	_, bal, err := x.db.Account(context.Background(), p.msisdn)
	if err != nil {
		t.Fatal(err)
	}
	return bal.Spendable
}

func (x *everything) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := x.db.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplayedConfirmationActsOnce: every confirming action of the menus
// (a gift claim, an offer's code, a resort booking, a VIP e-code, a draw
// entry, a spin, a gift of points) keyed by its dialogue step: answered
// again from the same dialogue state it acts once and shows the first
// outcome again.
func TestReplayedConfirmationActsOnce(t *testing.T) {
	t.Parallel()
	x := setupEverything(t)
	ctx := context.Background()
	now := time.Now()
	check := func(t *testing.T, p *phone, answer string) care360.USSDReply {
		t.Helper()
		first, again := replay(t, p, x.db, answer)
		if !first.End || again != first {
			t.Fatalf("replayed confirmation:\n--- first %+v\n--- again %+v", first, again)
		}
		return first
	}

	t.Run("gift", func(t *testing.T) {
		if _, _, err := x.cat.CreateGift(ctx, &care360.Gift{Name: "Voucher", Kind: care360.GiftPartner, Cost: 1000, Stock: 10, Limit: 5,
			Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour)}, ""); err != nil {
			t.Fatal(err)
		}
		p := x.member(t, "0903556001", 2500)
		p.send(care360.USSDBegin, "*090*2*1#")
		check(t, p, "1")
		if n := x.count(t, `SELECT count(*) FROM gift_claims WHERE msisdn = $1`, p.msisdn); n != 1 || x.spendable(t, p) != 1500 {
			t.Fatalf("%d claims, %d points left; want 1 and 1500", n, x.spendable(t, p))
		}
	})
	t.Run("offer code", func(t *testing.T) {
		if _, _, err := x.cat.CreateOffer(ctx, &care360.Offer{Kind: care360.OfferMConnect, Category: care360.CategoryBeauty, Partner: "Spa",
			Title: "Spa", Code: "SPA30", Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)}, ""); err != nil {
			t.Fatal(err)
		}
		p := x.member(t, "0903556002", 100)
		p.send(care360.USSDBegin, "*090*4*3*1#")
		check(t, p, "1")
		if n := x.count(t, `SELECT count(*) FROM offer_bookings WHERE msisdn = $1`, p.msisdn); n != 1 {
			t.Fatalf("%d bookings; want 1", n)
		}
	})
	t.Run("booking", func(t *testing.T) {
		if _, _, err := x.cat.CreateOffer(ctx, &care360.Offer{Kind: care360.OfferMConnect, Category: care360.CategoryHotel, Partner: "Hotel",
			Title: "Hotel", Price: 900_000, Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)}, ""); err != nil {
			t.Fatal(err)
		}
		p := x.member(t, "0903556003", 12000)
		p.send(care360.USSDBegin, "*090*4*7*1#")
		p.send(care360.USSDAnswer, "2")
		check(t, p, "1")
		if n := x.count(t, `SELECT coalesce(sum(nights), 0) FROM offer_bookings WHERE msisdn = $1`, p.msisdn); n != 2 {
			t.Fatalf("%d nights booked; want 2", n)
		}
	})
	t.Run("vip", func(t *testing.T) {
		p := x.member(t, "0903556004", 12000)
		p.send(care360.USSDBegin, "*090*5*2#")
		p.send(care360.USSDAnswer, now.AddDate(0, 0, 3).Format("0201")+" VN245")
		check(t, p, "1")
		if n := x.count(t, `SELECT count(*) FROM privilege_uses WHERE msisdn = $1`, p.msisdn); n != 1 {
			t.Fatalf("%d e-codes; want 1", n)
		}
	})
	t.Run("draw", func(t *testing.T) {
		d := &care360.Draw{Code: "RPL", Name: "Boc tham", NameEn: "Draw", OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(48 * time.Hour),
			EntryCost: 100, Tickets: map[care360.Tier]int{care360.TierDong: 1}, Prizes: []care360.DrawPrize{{Name: "Xe", NameEn: "Bike", Quantity: 1}}}
		if _, err := x.draws.CreateDraw(ctx, d, ""); err != nil {
			t.Fatal(err)
		}
		p := x.member(t, "0903556005", 500)
		p.send(care360.USSDBegin, "*090*3*1*1#")
		check(t, p, "1")
		if n := x.count(t, `SELECT count(*) FROM draw_entries WHERE msisdn = $1`, p.msisdn); n != 1 || x.spendable(t, p) != 400 {
			t.Fatalf("%d entries, %d points left; want 1 and 400", n, x.spendable(t, p))
		}
	})
	t.Run("spin", func(t *testing.T) {
		tb := &care360.SpinTable{Code: "RPLW", Name: "Vong quay", NameEn: "Wheel", CostPoints: 100, DailyCap: 5, NoPrizeWeight: 1,
			StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour),
			Prizes: []care360.SpinPrize{{Name: "Voucher", NameEn: "Voucher", Weight: 1, Inventory: 100}}}
		if _, err := x.spins.CreateSpinTable(ctx, tb, ""); err != nil {
			t.Fatal(err)
		}
		p := x.member(t, "0903556006", 500)
		p.send(care360.USSDBegin, "*090*3*2*1#")
		check(t, p, "1")
		if n := x.count(t, `SELECT count(*) FROM spins WHERE msisdn = $1`, p.msisdn); n != 1 || x.spendable(t, p) != 400 {
			t.Fatalf("%d spins, %d points left; want 1 and 400", n, x.spendable(t, p))
		}
	})
	t.Run("gift points", func(t *testing.T) {
		from, to := x.member(t, "0903556007", 3000), x.member(t, "0903556008", 0)
		from.send(care360.USSDBegin, "*090*7#")
		from.send(care360.USSDAnswer, "0903556008")
		from.send(care360.USSDAnswer, "1000")
		check(t, from, "1")
		if x.spendable(t, from) != 2000 || x.spendable(t, to) != 1000 {
			t.Fatalf("sender %d, recipient %d points; want 2000 and 1000", x.spendable(t, from), x.spendable(t, to))
		}
	})
}
