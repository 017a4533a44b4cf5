package store_test

import (
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// An offer changes field by field, is checked whole, and once inactive
// leaves the list a member sees and takes no bookings.
func TestUpdateOffer(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	now := b.clock.Now()
	o := b.offer(t, &care360.Offer{Kind: care360.OfferMConnect, Category: care360.CategoryBeauty, Partner: "Spa Sen",
		Title: "Giảm 30% Spa Sen", Code: "MCSEN30", Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)})
	m := b.member(t, "U", care360.LangVi, care360.GenderFemale, "1990-01-01", 100)
	got, err := b.cat.UpdateOffer(b.ctx, o.ID, care360.OfferUpdate{Title: ptr("Giảm 40% Spa Sen"), Code: ptr("MCSEN40")})
	if err != nil || got.Title != "Giảm 40% Spa Sen" || got.Code != "MCSEN40" || got.Partner != "Spa Sen" || !got.Active {
		t.Fatalf("changed: %+v, %v", got, err)
	}
	for name, u := range map[string]care360.OfferUpdate{
		"code":     {Code: ptr("x")},
		"window":   {ValidUntil: ptr(now.Add(-2 * time.Hour))},
		"category": {Category: ptr(care360.Category("spa"))},
		"tier":     {Tiers: &[]care360.Tier{"gold"}},
	} {
		if _, err := b.cat.UpdateOffer(b.ctx, o.ID, u); care360.ErrorCode(err) != care360.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := b.cat.UpdateOffer(b.ctx, o.ID, care360.OfferUpdate{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if os, err := b.cat.AvailableOffers(b.ctx, m, care360.OfferFilter{Kind: care360.OfferMConnect}); err != nil || len(os) != 0 {
		t.Fatalf("an inactive offer is offered: %+v, %v", os, err)
	}
	_, _, err = b.cat.Book(b.ctx, care360.BookRequest{MSISDN: m, OfferID: o.ID})
	wantReason(t, err, care360.ReasonWindow)
	if _, err := b.cat.UpdateOffer(b.ctx, 1<<40, care360.OfferUpdate{}); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Fatalf("no offer: %v", err)
	}
}

// A spin table changes field by field; inactive, it is not listed as
// taking spins and refuses them.
func TestUpdateSpinTable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sp := store.NewSpins(b.db)
	tb := newTable(t, b, nil)
	m := members(t, b, "8498400", 1, care360.TierBac, 1000)[0]
	got, err := sp.UpdateSpinTable(b.ctx, tb.ID, care360.SpinTableUpdate{CostPoints: ptr(int64(30)), DailyCap: ptr(7)})
	if err != nil || got.CostPoints != 30 || got.DailyCap != 7 || got.Name != tb.Name || len(got.Prizes) != len(tb.Prizes) || !got.Active {
		t.Fatalf("changed: %+v, %v", got, err)
	}
	for name, u := range map[string]care360.SpinTableUpdate{
		"cap":    {DailyCap: ptr(0)},
		"window": {EndsAt: ptr(tb.StartsAt)},
		"name":   {Name: ptr("")},
	} {
		if _, err := sp.UpdateSpinTable(b.ctx, tb.ID, u); care360.ErrorCode(err) != care360.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := sp.UpdateSpinTable(b.ctx, tb.ID, care360.SpinTableUpdate{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	ts, err := sp.SpinTables(b.ctx, true)
	if err != nil || tableOf(ts, tb.ID).ID != 0 {
		t.Fatalf("an inactive table is listed as taking spins: %v", err)
	}
	if _, err := sp.Spin(b.ctx, tb.ID, m, ""); care360.ErrorReason(err) != care360.ReasonWindow {
		t.Fatalf("spin on an inactive table: %v", err)
	}
	if _, err := sp.UpdateSpinTable(b.ctx, 1<<40, care360.SpinTableUpdate{}); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Fatalf("no table: %v", err)
	}
}
