package menus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// pushed queues a push to p through the store, claims and sends it, and
// opens its dialogue on the engine as the gateway does; it returns the
// first screen and the target's id.
func pushed(t *testing.T, l *loyalty, pushes *store.Pushes, p *phone, np care360.NewPush) (care360.USSDReply, int64) {
	t.Helper()
	ctx := context.Background()
	np.MSISDN = p.msisdn
	if _, _, err := pushes.CreatePush(ctx, np); err != nil {
		t.Fatal(err)
	}
	cs, err := pushes.ClaimPushes(ctx, "t", 10, time.Minute)
	if err != nil || len(cs) != 1 {
		t.Fatalf("claims %+v, %v", cs, err)
	}
	p.n++
	p.key = fmt.Sprintf("%s/u%d", p.msisdn, care360.PushRef(cs[0].ID))
	p.ref = care360.PushRef(cs[0].ID)
	r, err := l.e.OpenPush(ctx, care360.PushOpen{Key: p.key, MSISDN: p.msisdn, Target: cs[0].ID, Kind: cs[0].Kind, Text: cs[0].Text,
		Screen: cs[0].Screen, LimitGSM: 182, LimitUCS2: 80})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Pushed || r.End {
		t.Fatalf("first screen of a push: %+v", r)
	}
	if _, err := pushes.PushSent(ctx, "t", []care360.PushDelivery{{ID: cs[0].ID, Token: cs[0].Token, Ref: care360.PushRef(cs[0].ID)}}); err != nil {
		t.Fatal(err)
	}
	return r, cs[0].PushID
}

func setupPushLoyalty(t *testing.T) (*loyalty, *store.Pushes) {
	t.Helper()
	l := setupLoyalty(t)
	pushes := store.NewPushes(l.sms, time.Minute, "*090#")
	e, err := New(Config{Subscribers: l.db, Points: l.db, Dialogues: l.db, Gifts: l.cat, Offers: l.cat, Privileges: l.cat,
		Transfers: store.NewTransfers(l.db, care360.TransferRules{}), TransferNotifier: notifyTransfer, Pushes: pushes})
	if err != nil {
		t.Fatal(err)
	}
	l.e = e
	return l, pushes
}

func pushCounts(t *testing.T, pushes *store.Pushes, id int64) map[string]int64 {
	t.Helper()
	p, err := pushes.Push(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for k, v := range p.Counts {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// A gift pushed to a member opens at its confirmation under the push's
// heading; 1 claims it, and the push is answered, then completed. Its
// screens say they are pushed (the gateway ends them with USSN).
func TestPushedGiftIsClaimed(t *testing.T) {
	t.Parallel()
	l, pushes := setupPushLoyalty(t)
	now := time.Now()
	g, _, err := l.cat.CreateGift(context.Background(), &care360.Gift{Name: "Voucher Global Link", Kind: care360.GiftPartner, Cost: 2000, Stock: 3, Limit: 1,
		Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	p := l.member(t, "0903555401", 2500)
	first, id := pushed(t, l, pushes, p, care360.NewPush{Kind: care360.PushMenu, Text: "Qua danh cho quy khach",
		Screen: care360.PushScreen{Gift: g.ID}})
	if want := "Qua danh cho quy khach\nDoi 2.000 diem lay Voucher Global Link?\n1. Dong y\n0. Quay lai"; first.Text != want {
		t.Fatalf("first screen\n%s\nwant\n%s", first.Text, want)
	}
	if c := pushCounts(t, pushes, id); c[care360.PushSent] != 1 {
		t.Fatalf("counts %v", c)
	}
	// 0 goes back to the gift list, as if walked there; 1 picks the gift again.
	p.expect(care360.USSDAnswer, "0", "Qua tang\n1. Voucher Global Link: 2.000 diem\n0. Quay lai", false)
	if c := pushCounts(t, pushes, id); c[care360.PushAnswered] != 1 {
		t.Fatalf("counts after the first answer %v", c)
	}
	p.expect(care360.USSDAnswer, "1", "Doi 2.000 diem lay Voucher Global Link?\n1. Dong y\n0. Quay lai", false)
	r := p.send(care360.USSDAnswer, "1")
	if r.Text != "Quy khach da nhan Voucher Global Link. Ma qua da duoc gui qua SMS." || !r.End || !r.Pushed {
		t.Fatalf("final screen %+v", r)
	}
	if c := pushCounts(t, pushes, id); c[care360.PushCompleted] != 1 || len(c) != 1 {
		t.Fatalf("counts at the end %v", c)
	}
	if got, _ := l.cat.Gift(context.Background(), g.ID); got.Stock != 2 {
		t.Fatalf("stock %d", got.Stock)
	}
}

// A notification is completed when the phone acknowledges it; one the
// network drops before that reached no one and falls back to SMS.
func TestPushedNotification(t *testing.T) {
	t.Parallel()
	l, pushes := setupPushLoyalty(t)
	seen := l.member(t, "0903555402", 0)
	first, id := pushed(t, l, pushes, seen, care360.NewPush{Kind: care360.PushNotify, Text: "Diem cua quy khach sap het han"})
	if first.Text != "Diem cua quy khach sap het han" {
		t.Fatalf("notification %+v", first)
	}
	seen.send(care360.USSDNotifyConfirm, "")
	if err := pushes.Flush(context.Background()); err != nil { // endings are written in batches
		t.Fatal(err)
	}
	if c := pushCounts(t, pushes, id); c[care360.PushCompleted] != 1 || len(c) != 1 {
		t.Fatalf("counts %v", c)
	}

	dropped := l.member(t, "0903555403", 0)
	_, id = pushed(t, l, pushes, dropped, care360.NewPush{Kind: care360.PushNotify, Text: "Qua Tet", FallbackSMS: true})
	dropped.send(care360.USSDAbort, "")
	if err := pushes.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c := pushCounts(t, pushes, id); c[care360.PushNoAnswer] != 1 || c[care360.PushFellBack] != 1 {
		t.Fatalf("counts %v", c)
	}
	if sms := l.smsTo(t, dropped.msisdn); len(sms) != 1 || sms[0] != "Qua Tet" {
		t.Fatalf("fallback SMS %q", sms)
	}
	// The main menu pushed in English, for an English speaker.
	en := l.member(t, "0903555404", 0)
	if err := l.db.SetLanguage(context.Background(), en.msisdn, care360.LangEn); err != nil {
		t.Fatal(err)
	}
	first, _ = pushed(t, l, pushes, en, care360.NewPush{Kind: care360.PushMenu, Screen: care360.PushScreen{Menu: "main"}})
	if first.Text[:len("MobiFone Care360\n1. Points")] != "MobiFone Care360\n1. Points" {
		t.Fatalf("main menu pushed in English:\n%s", first.Text)
	}
}
