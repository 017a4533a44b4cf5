package menus

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/care360/care360"
)

// airLength is what a page costs in the coding the gateway sends it in
// (GSM-7 when every character fits, else UCS-2): septets, an escape
// character counting two, or UTF-16 units.
func airLength(s string) (n int, ucs2 bool) {
	if care360.FitsGSM7(s) {
		for _, r := range s {
			n++
			if strings.ContainsRune("\f^{}\\[~]|€", r) {
				n++
			}
		}
		return n, false
	}
	return len(utf16.Encode([]rune(s))), true
}

// Staff typed a dong sign, an en dash and curly quotes into a gift's
// names: the plain-Vietnamese and English screens replace them by their
// GSM-7 equivalents and stay GSM-7, each page within its limit.
func TestStaffTextGoesOutAsGSM7(t *testing.T) {
	t.Parallel()
	l := setupLoyalty(t)
	now := time.Now()
	name := "Voucher “Siêu Sale” – giảm 50.000₫ tại cửa hàng ‘Điện Máy Xanh’… áp dụng cho mọi đơn hàng trên 200.000₫"
	nameEn := "“Super Sale” voucher – 50,000₫ off at ‘Dien May Xanh’… valid on every order over 200,000₫ today"
	if _, _, err := l.cat.CreateGift(context.Background(), &care360.Gift{Name: name, NameEn: nameEn, Kind: care360.GiftPartner,
		Cost: 2000, Stock: 3, Limit: 1, Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour)}, ""); err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[care360.Language]string{
		care360.LangVi: "Doi 2.000 diem lay Voucher \"Sieu Sale\" - giam 50.000d tai cua hang 'Dien May Xanh'... ap dung cho moi don hang tren 200.000d?\n1. Dong y\n0. Quay lai",
		care360.LangEn: "Spend 2,000 points on \"Super Sale\" voucher - 50,000d off at 'Dien May Xanh'... valid on every order over 200,000d today?\n1. Agree\n0. Back",
	} {
		p := l.member(t, "0903555199", 2500)
		if err := l.db.SetLanguage(context.Background(), p.msisdn, lang); err != nil {
			t.Fatal(err)
		}
		p.expect(care360.USSDBegin, "*090*2*1#", want, false)
		r := p.send(care360.USSDBegin, "*090*2#")
		if n, ucs2 := airLength(r.Text); ucs2 || n > 182 {
			t.Errorf("%s gift list goes out as %d (UCS-2 %v):\n%s", lang, n, ucs2, r.Text)
		}
	}
}

// A name with characters GSM-7 has no equivalent for makes its pages
// UCS-2, and each is cut at the UCS-2 limit, in plain Vietnamese too.
func TestUnmappableStaffTextPagedAtUCS2Limit(t *testing.T) {
	t.Parallel()
	l := setupLoyalty(t)
	now := time.Now()
	name := "Phiếu quà tặng 优惠券 dành cho hội viên thân thiết, dùng tại mọi cửa hàng đối tác trên toàn quốc đến hết năm nay"
	if _, _, err := l.cat.CreateGift(context.Background(), &care360.Gift{Name: name, NameEn: name, Kind: care360.GiftPartner,
		Cost: 2000, Stock: 3, Limit: 1, Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour)}, ""); err != nil {
		t.Fatal(err)
	}
	p := l.member(t, "0903555198", 2500)
	r := p.send(care360.USSDBegin, "*090*2*1#")
	var pages []string
	for i := 0; ; i++ {
		pages = append(pages, r.Text)
		if n, ucs2 := airLength(r.Text); ucs2 && n > 80 || n > 182 || !ucs2 && i == 0 {
			t.Fatalf("page %d goes out as %d (UCS-2 %v):\n%s", i+1, n, ucs2, r.Text)
		}
		if !strings.Contains(r.Text, "99. Xem them") || i > 5 {
			break
		}
		r = p.send(care360.USSDAnswer, "99")
	}
	if all := strings.Join(pages, "\n"); len(pages) < 2 || !strings.Contains(all, "优惠券") || !strings.Contains(all, "1. Dong y") {
		t.Fatalf("pages:\n%s", strings.Join(pages, "\n--\n"))
	}
}
