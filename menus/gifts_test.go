package menus

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// mainVi is the main menu in plain Vietnamese.
const mainVi = "MobiFone Care360\n1. Diem & hang hoi vien\n2. Qua tang\n3. Boc tham & Quay so\n4. Uu dai mConnect\n5. Dac quyen VIP\n6. Nghi duong he\n7. Tang diem\n8. Ngon ngu/Language"

// loyalty is an engine with the whole product tree on a database of the
// test's own (gift lists show every gift), and the services behind it.
type loyalty struct {
	*bundle
	cat *store.Catalog
	sms *store.SMS
}

func setupLoyalty(t *testing.T) *loyalty {
	t.Helper()
	db, err := store.Open(context.Background(), pgtest.FreshDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	sms := store.NewSMS(db, care360.SMSRules{})
	cat := store.NewCatalog(db, sms, store.CatalogOptions{})
	e, err := New(Config{
		Subscribers: db, Points: db, Dialogues: db, Gifts: cat, Offers: cat, Privileges: cat,
		Transfers: store.NewTransfers(db, care360.TransferRules{}), TransferNotifier: notifyTransfer,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &loyalty{bundle: &bundle{db: db, e: e}, cat: cat, sms: sms}
}

func notifyTransfer(t *care360.Transfer) []care360.OutgoingSMS {
	return []care360.OutgoingSMS{
		{MSISDN: t.From, Text: "sent", Kind: care360.KindTransactional, IdempotencyKey: fmt.Sprint("t-from-", t.ID)},
		{MSISDN: t.To, Text: "received", Kind: care360.KindTransactional, IdempotencyKey: fmt.Sprint("t-to-", t.ID)},
	}
}

// member makes a member with qualifying points (which set the tier).
func (l *loyalty) member(t *testing.T, msisdn string, qualifying int64) *phone {
	t.Helper()
	p := l.bundle.member(t, msisdn)
	if qualifying > 0 {
		if _, _, err := l.db.ChangePoints(context.Background(), p.msisdn, care360.PointsChange{
			Kind: care360.PointsQualifying, Points: qualifying, Reason: "t", IdempotencyKey: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func (l *loyalty) smsTo(t *testing.T, m care360.MSISDN) []string {
	t.Helper()
	ms, err := l.sms.Messages(context.Background(), m, 10)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, msg := range ms {
		out = append(out, msg.Text)
	}
	return out
}

// hasPrefix reports whether one of the texts starts with prefix (a tier
// upgrade may have sent its own SMS too).
func hasPrefix(texts []string, prefix string) bool {
	for _, s := range texts {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func TestGiftsMenu(t *testing.T) {
	t.Parallel()
	l := setupLoyalty(t)
	now := time.Now()
	ctx := context.Background()
	g, _, err := l.cat.CreateGift(ctx, &care360.Gift{Name: "Voucher Global Link", Kind: care360.GiftPartner, Cost: 2000, Stock: 3, Limit: 1,
		Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	rich := l.member(t, "0903555101", 2500)
	rich.expect(care360.USSDBegin, "*090#", mainVi, false)
	rich.expect(care360.USSDAnswer, "2", "Qua tang\n1. Voucher Global Link: 2.000 diem\n0. Quay lai", false)
	rich.expect(care360.USSDAnswer, "1", "Doi 2.000 diem lay Voucher Global Link?\n1. Dong y\n0. Quay lai", false)
	rich.expect(care360.USSDAnswer, "1", "Quy khach da nhan Voucher Global Link. Ma qua da duoc gui qua SMS.", true)
	if sms := l.smsTo(t, rich.msisdn); !hasPrefix(sms, "Quy khach da nhan qua Voucher Global Link. Ma xac nhan: Q") {
		t.Fatalf("SMS %q", sms)
	}
	// Again: the limit; a shortcut stops at the confirmation.
	rich.expect(care360.USSDBegin, "*090*2*1#", "Doi 2.000 diem lay Voucher Global Link?\n1. Dong y\n0. Quay lai", false)
	rich.expect(care360.USSDAnswer, "1", "Quy khach da dung het luot cho muc nay.", true)

	poor := l.member(t, "0903555102", 100)
	poor.expect(care360.USSDBegin, "*090*2*1#", "Doi 2.000 diem lay Voucher Global Link?\n1. Dong y\n0. Quay lai", false)
	poor.expect(care360.USSDAnswer, "1", "Quy khach khong du diem.", true)
	if got, _ := l.cat.Gift(ctx, g.ID); got.Stock != 2 {
		t.Fatalf("stock %d", got.Stock)
	}
}

func TestVIPMenu(t *testing.T) {
	t.Parallel()
	l := setupLoyalty(t)
	titan := l.member(t, "0903555111", 6000)
	titan.expect(care360.USSDBegin, "*090*5#", "Uu dai khong danh cho hang hoi vien cua quy khach.", true)

	vang := l.member(t, "0903555112", 12000)
	vang.expect(care360.USSDBegin, "*090*5#", vangVIP, false)
	vang.expect(care360.USSDAnswer, "2", "Nhap ngay bay va so hieu chuyen bay, vi du: 2811 VN123\n0. Quay lai", false)
	today := time.Now().In(time.UTC)
	vang.expect(care360.USSDAnswer, today.Format("0201")+" VN1", "Khong hop le\nNhap ngay bay va so hieu chuyen bay, vi du: 2811 VN123\n0. Quay lai", false)
	day := today.AddDate(0, 0, 3)
	vang.expect(care360.USSDAnswer, day.Format("0201")+" vn 245", fmt.Sprintf("E-code Phong cho thuong gia, chuyen VN245 ngay %s?\n1. Dong y\n0. Quay lai", day.Format("02/01/2006")), false)
	r := vang.send(care360.USSDAnswer, "1")
	if !r.End || r.Text != "E-code da duoc gui qua SMS. Con 1 luot trong nam." {
		t.Fatalf("got %q", r.Text)
	}
	if sms := l.smsTo(t, vang.msisdn); !hasPrefix(sms, "E-code Phong cho thuong gia Vietnam Airlines: VN") ||
		!strings.Contains(sms[0], "cho chuyen VN245 ngay "+day.Format("02/01/2006")) {
		t.Fatalf("SMS %q", sms)
	}
}

const vangVIP = "Dac quyen VIP\n1. Uu tien check-in (con 6/6 luot)\n2. Phong cho thuong gia (con 2/2 luot)\n" +
	"3. Uu tien dat cho (con 6/6 luot)\n4. Them hanh ly (con 2/2 luot)\n0. Quay lai"

// Priority booking and extra baggage (PRODUCT.md §3.3 item 5, as the
// airline's Gold passengers) are on menu 5 with their own yearly quotas,
// each e-code by SMS; a used-up quota is refused and leaves the others.
func TestVIPBookingAndBaggage(t *testing.T) {
	t.Parallel()
	l := setupLoyalty(t)
	vang := l.member(t, "0903555113", 12000)
	day := time.Now().In(time.UTC).AddDate(0, 0, 5)
	flight := day.Format("0201") + " VN7"
	for i, want := range []struct{ item, name, left, sms string }{
		{"3", "Uu tien dat cho", "5", "E-code Uu tien dat cho Vietnam Airlines: VN"},
		{"4", "Them hanh ly", "1", "E-code Them hanh ly ky gui Vietnam Airlines: VN"},
		{"4", "Them hanh ly", "0", "E-code Them hanh ly ky gui Vietnam Airlines: VN"},
	} {
		vang.send(care360.USSDBegin, "*090*5#")
		vang.expect(care360.USSDAnswer, want.item, "Nhap ngay bay va so hieu chuyen bay, vi du: 2811 VN123\n0. Quay lai", false)
		next := day.AddDate(0, 0, i)
		vang.expect(care360.USSDAnswer, next.Format("0201")+" VN7",
			fmt.Sprintf("E-code %s, chuyen VN7 ngay %s?\n1. Dong y\n0. Quay lai", want.name, next.Format("02/01/2006")), false)
		vang.expect(care360.USSDAnswer, "1", "E-code da duoc gui qua SMS. Con "+want.left+" luot trong nam.", true)
		if sms := l.smsTo(t, vang.msisdn); len(sms) != i+1 || !strings.HasPrefix(sms[0], want.sms) { // newest first
			t.Fatalf("SMS after %s: %q", want.name, sms)
		}
	}
	vang.expect(care360.USSDBegin, "*090*5#", "Dac quyen VIP\n1. Uu tien check-in (con 6/6 luot)\n2. Phong cho thuong gia (con 2/2 luot)\n"+
		"3. Uu tien dat cho (con 5/6 luot)\n4. Them hanh ly (con 0/2 luot)\n0. Quay lai", false)
	vang.expect(care360.USSDAnswer, "4", "Nhap ngay bay va so hieu chuyen bay, vi du: 2811 VN123\n0. Quay lai", false)
	vang.send(care360.USSDAnswer, flight)
	vang.expect(care360.USSDAnswer, "1", "Quy khach da dung het luot cho muc nay.", true)
}

func TestGiftPointsMenu(t *testing.T) {
	t.Parallel()
	l := setupLoyalty(t)
	from := l.member(t, "0903555121", 3000)
	to := l.member(t, "0903555122", 0)
	from.expect(care360.USSDBegin, "*090*7#", "Nhap so thue bao nhan diem:\n0. Quay lai", false)
	from.expect(care360.USSDAnswer, "0903 555 122", "Nhap so diem muon tang:\n0. Quay lai", false)
	from.expect(care360.USSDAnswer, "1.000", "Tang 1.000 diem cho 0903555122?\n1. Dong y\n0. Quay lai", false)
	from.expect(care360.USSDAnswer, "1", "Quy khach da tang 1.000 diem cho 0903555122. Diem kha dung con lai: 2.000.", true)
	if got := l.smsTo(t, to.msisdn); len(got) != 1 || got[0] != "received" {
		t.Fatalf("recipient SMS %q", got)
	}
	from.expect(care360.USSDBegin, "*090*7#", "Nhap so thue bao nhan diem:\n0. Quay lai", false)
	from.expect(care360.USSDAnswer, "0903555121", "Quy khach khong the tang diem cho chinh minh.", true)
	from.expect(care360.USSDBegin, "*090*7#", "Nhap so thue bao nhan diem:\n0. Quay lai", false)
	from.expect(care360.USSDAnswer, "0903555199", "Nhap so diem muon tang:\n0. Quay lai", false)
	from.expect(care360.USSDAnswer, "500", "So thue bao nay chua la hoi vien Ket noi dai lau.", true)
	from.expect(care360.USSDBegin, "*090*7#", "Nhap so thue bao nhan diem:\n0. Quay lai", false)
	from.expect(care360.USSDAnswer, "0903555122", "Nhap so diem muon tang:\n0. Quay lai", false)
	from.expect(care360.USSDAnswer, "150", "So diem tang khong hop le.", true)
}

func TestOffersMenus(t *testing.T) {
	t.Parallel()
	l := setupLoyalty(t)
	ctx := context.Background()
	now := time.Now()
	if _, _, err := l.cat.CreateOffer(ctx, &care360.Offer{Kind: care360.OfferMConnect, Category: care360.CategoryHotel, Partner: "Muong Thanh",
		Title: "Mường Thanh Đà Nẵng", Price: 900_000, Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)}, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.cat.CreateOffer(ctx, &care360.Offer{Kind: care360.OfferMConnect, Category: care360.CategoryBeauty, Partner: "Spa Sen",
		Title: "Giảm 30% Spa Sen", Code: "MCSEN30", Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)}, ""); err != nil {
		t.Fatal(err)
	}
	p := l.member(t, "0903555131", 12000)
	p.expect(care360.USSDBegin, "*090*4#", "Uu dai mConnect\n1. Am thuc\n2. Giai tri\n3. Lam dep\n4. Mua sam\n5. Du lich\n6. Suc khoe\n7. Khach san\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "3", "Lam dep\n1. Giam 30% Spa Sen\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "1", "Nhan ma uu dai Giam 30% Spa Sen qua SMS?\n1. Dong y\n0. Quay lai", false)
	// The member's own code: the offer's, then 10 characters of its own.
	if r := p.send(care360.USSDAnswer, "1"); !r.End || !regexp.MustCompile(`^Uu dai Giam 30% Spa Sen: ma MCSEN30-[0-9A-Z]{10}\. Ma da duoc gui qua SMS\.$`).MatchString(r.Text) {
		t.Fatalf("code: %q", r.Text)
	}
	p.expect(care360.USSDBegin, "*090*4*7*1#", "Nhap so dem muon dat:\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "8", "Dat 8 dem tai Muong Thanh Da Nang?\nGia 900.000 VND/phong/dem\n1. Dong y\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "1", "Quy khach da dung het luot cho muc nay.", true)
	p.expect(care360.USSDBegin, "*090*4*7*1#", "Nhap so dem muon dat:\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "2", "Dat 2 dem tai Muong Thanh Da Nang?\nGia 900.000 VND/phong/dem\n1. Dong y\n0. Quay lai", false)
	r := p.send(care360.USSDAnswer, "1")
	if !r.End || r.Text != "Da dat 2 dem tai Muong Thanh Da Nang. Ma dat phong da duoc gui qua SMS." {
		t.Fatalf("got %q", r.Text)
	}
	// No resort offers at all: an empty list, not a refusal.
	p.expect(care360.USSDBegin, "*090*6#", "Nghi duong he\nHien chua co muc nao.\n0. Quay lai", false)
}

// An offer staff deactivate (PATCH /api/v1/offers/{id}) leaves its menu
// screen at once, and one picked from a list shown before is refused when
// taken.
func TestDeactivatedOfferLeavesMenu(t *testing.T) {
	t.Parallel()
	l := setupLoyalty(t)
	ctx := context.Background()
	now := time.Now()
	o, _, err := l.cat.CreateOffer(ctx, &care360.Offer{Kind: care360.OfferMConnect, Category: care360.CategoryFood, Partner: "Pho 24",
		Title: "Giảm 20% Phở 24", Code: "MCPHO20", Active: true, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	p := l.member(t, "0903555141", 100)
	p.expect(care360.USSDBegin, "*090*4*1#", "Am thuc\n1. Giam 20% Pho 24\n0. Quay lai", false)
	if _, err := l.cat.UpdateOffer(ctx, o.ID, care360.OfferUpdate{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	p.expect(care360.USSDAnswer, "1", "Nhan ma uu dai Giam 20% Pho 24 qua SMS?\n1. Dong y\n0. Quay lai", false)
	p.expect(care360.USSDAnswer, "1", "Uu dai hien khong trong thoi gian ap dung.", true)
	p.expect(care360.USSDBegin, "*090*4*1#", "Am thuc\nHien chua co muc nao.\n0. Quay lai", false)
	if _, err := l.cat.UpdateOffer(ctx, o.ID, care360.OfferUpdate{Active: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	p.expect(care360.USSDBegin, "*090*4*1#", "Am thuc\n1. Giam 20% Pho 24\n0. Quay lai", false)
}

func ptr[T any](v T) *T { return &v }
