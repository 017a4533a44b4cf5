package store_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// codeOffer is a Pizza 4P's code offer (or partner's), open around the
// test clock until 1 January 2027.
func codeOffer(partner, code string) *care360.Offer {
	return &care360.Offer{Kind: care360.OfferMConnect, Category: care360.CategoryFood, Partner: partner,
		Title: "Giảm 20% " + partner, Code: code, Active: true,
		ValidFrom: at("2026-11-01 00:00"), ValidUntil: at("2027-01-01 00:00")}
}

// takeCode books o for a new member and returns the member and its code.
func (b *catalogBundle) takeCode(t *testing.T, o *care360.Offer) (care360.MSISDN, string) {
	t.Helper()
	m := b.member(t, "M", care360.LangVi, care360.GenderMale, "1980-01-01", 10)
	bk, _, err := b.cat.Book(b.ctx, care360.BookRequest{MSISDN: m, OfferID: o.ID})
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	return m, bk.Code
}

// voucherFor is a voucher of partner with codes in its pool, claimed once
// by a new member; it returns the member and the code it got.
func (b *catalogBundle) voucherFor(t *testing.T, partner string, codes ...string) (care360.MSISDN, string) {
	t.Helper()
	g := catalogueGift(10, 0)
	g.Kind, g.Partner = care360.GiftVoucher, partner
	g = b.gift(t, g)
	if _, err := b.cat.AddCodes(b.ctx, g.ID, codes); err != nil {
		t.Fatal(err)
	}
	m := b.member(t, "V", care360.LangVi, care360.GenderMale, "1980-01-01", 100)
	cl, err := b.claim(m, g, "")
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return m, cl.Code
}

// Each member who takes a code offer gets a code of its own, led by the
// partner's promotion code; its partner sees it, masked, until it is
// redeemed, once.
func TestPartnerCodeOfOffer(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	o := b.offer(t, codeOffer("Pizza 4P's", "MC4P20"))
	m1, c1 := b.takeCode(t, o)
	_, c2 := b.takeCode(t, o)
	if !strings.HasPrefix(c1, "MC4P20-") || len(c1) != len("MC4P20-")+10 || c1 == c2 {
		t.Fatalf("codes %q and %q: want MC4P20- and 10 characters, each its own", c1, c2)
	}
	pc, err := b.cat.CheckCode(b.ctx, " "+c1+"\n", "Pizza 4P's")
	if err != nil {
		t.Fatal(err)
	}
	if pc.Code != c1 || pc.Kind != care360.CodeOffer || !pc.Valid || pc.RedeemedAt != nil || pc.MSISDN != m1 ||
		!pc.ExpiresAt.Equal(o.ValidUntil) || pc.Partner != "Pizza 4P's" {
		t.Fatalf("check: %+v", pc)
	}
	partner := care360.Actor{StaffID: 7, Name: "Quầy Pizza 4P's Hai Bà Trưng", Role: care360.RolePartner, Partner: "Pizza 4P's"}
	got, err := b.cat.RedeemCode(b.ctx, c1, partner.CodeScope(), partner)
	if err != nil || got.RedeemedAt == nil || !got.RedeemedAt.Equal(b.clock.Now()) || got.Valid || got.RedeemedBy != partner.Name {
		t.Fatalf("redeem: %+v %v", got, err)
	}
	_, err = b.cat.RedeemCode(b.ctx, c1, "Pizza 4P's", partner)
	wantCode(t, err, care360.ECONFLICT)
	if pc, err := b.cat.CheckCode(b.ctx, c1, ""); err != nil || pc.Valid || pc.RedeemedAt == nil || pc.RedeemedBy != partner.Name {
		t.Fatalf("after: %+v %v", pc, err)
	}
	// The other member's code is untouched.
	if pc, err := b.cat.CheckCode(b.ctx, c2, "Pizza 4P's"); err != nil || !pc.Valid {
		t.Fatalf("the other code: %+v %v", pc, err)
	}
	// The promotion code alone is nobody's.
	_, err = b.cat.CheckCode(b.ctx, "MC4P20", "")
	wantCode(t, err, care360.ENOTFOUND)
	_, err = b.cat.CheckCode(b.ctx, "  ", "")
	wantCode(t, err, care360.EINVALID)
}

// A partner sees its own codes only: another partner's code is not found,
// exactly like a code that does not exist.
func TestPartnerCodeOfAnotherPartner(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	_, pizza := b.takeCode(t, b.offer(t, codeOffer("Pizza 4P's", "MC4P20")))
	_, spa := b.voucherFor(t, "Spa Sen", "SEN-0001")
	sen := care360.Actor{Name: "Spa Sen", Role: care360.RolePartner, Partner: "Spa Sen"}
	for _, code := range []string{pizza, "NO-SUCH-CODE"} {
		_, err := b.cat.CheckCode(b.ctx, code, "Spa Sen")
		wantCode(t, err, care360.ENOTFOUND)
		_, err = b.cat.RedeemCode(b.ctx, code, "Spa Sen", sen)
		wantCode(t, err, care360.ENOTFOUND)
	}
	if pc, err := b.cat.CheckCode(b.ctx, pizza, ""); err != nil || pc.Valid != true {
		t.Fatalf("seen by the operator: %+v %v", pc, err)
	}
	if pc, err := b.cat.CheckCode(b.ctx, spa, "Spa Sen"); err != nil || pc.Kind != care360.CodeVoucher {
		t.Fatalf("its own voucher: %+v %v", pc, err)
	}
	_, err := b.cat.CheckCode(b.ctx, spa, "Pizza 4P's")
	wantCode(t, err, care360.ENOTFOUND)
}

// Vouchers count when they name a partner, and only codes given to a
// member; a code two partners' pools share is each partner's own, and the
// operator, who sees both, is told they cannot be told apart.
func TestPartnerCodeOfVoucher(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	m, code := b.voucherFor(t, "Global Link", "GL-0001", "GL-0002")
	pc, err := b.cat.CheckCode(b.ctx, code, "Global Link")
	if err != nil || pc.Kind != care360.CodeVoucher || pc.MSISDN != m || !pc.Valid || !pc.ExpiresAt.Equal(at("2027-01-01 00:00")) {
		t.Fatalf("check: %+v %v", pc, err)
	}
	_, err = b.cat.CheckCode(b.ctx, "GL-0002", "") // in the pool, not given to anyone
	wantCode(t, err, care360.ENOTFOUND)
	_, other := b.voucherFor(t, "", "NP-0001") // no partner: no one checks it
	_, err = b.cat.CheckCode(b.ctx, other, "")
	wantCode(t, err, care360.ENOTFOUND)

	_, shared := b.voucherFor(t, "Highlands", "SHARED-01")
	if _, twin := b.voucherFor(t, "Phúc Long", "SHARED-01"); twin != shared {
		t.Fatalf("codes %q and %q", shared, twin)
	}
	for _, partner := range []string{"Highlands", "Phúc Long"} {
		if pc, err := b.cat.CheckCode(b.ctx, shared, partner); err != nil || pc.Partner != partner {
			t.Fatalf("%s: %+v %v", partner, pc, err)
		}
	}
	_, err = b.cat.CheckCode(b.ctx, shared, "")
	wantCode(t, err, care360.ECONFLICT)
	hl := care360.Actor{Name: "Highlands", Role: care360.RolePartner, Partner: "Highlands"}
	if _, err := b.cat.RedeemCode(b.ctx, shared, "Highlands", hl); err != nil {
		t.Fatal(err)
	}
	if pc, err := b.cat.CheckCode(b.ctx, shared, "Phúc Long"); err != nil || !pc.Valid {
		t.Fatalf("the twin stays valid: %+v %v", pc, err)
	}

	g := catalogueGift(10, 1)
	g.Partner = "Global Link" // not a voucher: its codes are ours, not the partner's
	_, _, err = b.cat.CreateGift(b.ctx, g, "")
	wantCode(t, err, care360.EINVALID)
}

// Once its offer is over a code is not valid, and redeeming it is refused
// with the reason; a code redeemed in time still says when.
func TestPartnerCodeExpiry(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	o := b.offer(t, codeOffer("Pizza 4P's", "MC4P20"))
	_, late := b.takeCode(t, o)
	_, used := b.takeCode(t, o)
	p := care360.Actor{Name: "Pizza", Role: care360.RolePartner, Partner: "Pizza 4P's"}
	if _, err := b.cat.RedeemCode(b.ctx, used, p.Partner, p); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(o.ValidUntil)
	pc, err := b.cat.CheckCode(b.ctx, late, p.Partner)
	if err != nil || pc.Valid || pc.RedeemedAt != nil || !pc.ExpiresAt.Equal(o.ValidUntil) {
		t.Fatalf("expired: %+v %v", pc, err)
	}
	_, err = b.cat.RedeemCode(b.ctx, late, p.Partner, p)
	wantReason(t, err, care360.ReasonExpired)
	_, err = b.cat.RedeemCode(b.ctx, used, p.Partner, p)
	wantCode(t, err, care360.ECONFLICT)
	b.clock.Set(o.ValidUntil.Add(-time.Second))
	if _, err := b.cat.RedeemCode(b.ctx, late, p.Partner, p); err != nil {
		t.Fatalf("a second before: %v", err)
	}
}

// However many redeem one code at once, on however many connections, the
// database lets one of them.
func TestRedeemCodeOnceConcurrently(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	_, code := b.takeCode(t, b.offer(t, codeOffer("Pizza 4P's", "MC4P20")))
	_, voucher := b.voucherFor(t, "Pizza 4P's", "P4P-0001")
	for _, code := range []string{code, voucher} {
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				p := care360.Actor{Name: "Pizza", Role: care360.RolePartner, Partner: "Pizza 4P's"}
				_, errs[i] = b.cat.RedeemCode(b.ctx, code, p.Partner, p)
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch care360.ErrorCode(err) {
			case "":
				won++
			case care360.ECONFLICT:
			default:
				t.Errorf("%s: %v", code, err)
			}
		}
		if won != 1 {
			t.Errorf("%s redeemed %d times", code, won)
		}
	}
}

// A partner's account names its partner; the operator's accounts do not.
func TestPartnerStaffAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, hash := care360.NewStaffSecret()
	st, err := b.db.CreateStaff(b.ctx, care360.NewStaff{Name: uniqueName("Pizza"), Role: care360.RolePartner, Partner: "Pizza 4P's"}, hash, care360.BuiltinAdmin)
	if err != nil || st.Partner != "Pizza 4P's" || st.Actor().CodeScope() != "Pizza 4P's" {
		t.Fatalf("create: %+v %v", st, err)
	}
	if got, _, err := b.db.StaffToken(b.ctx, st.ID); err != nil || got.Actor() != st.Actor() {
		t.Fatalf("read back: %+v %v", got, err)
	}
	for _, n := range []care360.NewStaff{
		{Name: uniqueName("P"), Role: care360.RolePartner},
		{Name: uniqueName("P"), Role: care360.RolePartner, Partner: " Pizza 4P's"},
		{Name: uniqueName("M"), Role: care360.RoleMarketer, Partner: "Pizza 4P's"},
	} {
		_, err := b.db.CreateStaff(b.ctx, n, hash, care360.BuiltinAdmin)
		wantCode(t, err, care360.EINVALID)
	}
	if (care360.Actor{Role: care360.RoleAdmin, Partner: "x"}).CodeScope() != "" {
		t.Error("an admin is held to a partner")
	}
}

var _ care360.CodeService = (*store.Catalog)(nil)
