package store_test

import (
	"testing"

	"github.com/care360/care360"
)

func TestPrivilegeQuotaPerTierPerYear(t *testing.T) {
	t.Parallel()
	b := setupCatalog(t)
	vang := b.member(t, "V", care360.LangVi, care360.GenderMale, "1980-01-01", 12000)
	titan := b.member(t, "T", care360.LangVi, care360.GenderMale, "1980-01-01", 6000)
	qs, err := b.cat.Quotas(b.ctx, vang)
	if err != nil || len(qs) != 4 || qs[1].Privilege != care360.PrivilegeLounge || qs[1].Left != 2 || qs[3].Privilege != care360.PrivilegeBaggage {
		t.Fatalf("quotas: %+v %v", qs, err)
	}
	_, err = b.cat.Quotas(b.ctx, titan)
	wantReason(t, err, care360.ReasonTier)

	use := func(date, flight string) (*care360.PrivilegeUse, bool, error) {
		return b.cat.UsePrivilege(b.ctx, care360.PrivilegeRequest{MSISDN: vang, Privilege: care360.PrivilegeLounge,
			Flight: care360.Flight{Date: day(date), Number: flight}})
	}
	u, replay, err := use("2026-11-28", "VN123")
	if err != nil || replay || u.Left != 1 {
		t.Fatalf("first: %+v %v %v", u, replay, err)
	}
	if again, replay, err := use("2026-11-28", "VN123"); err != nil || !replay || again.Code != u.Code {
		t.Fatalf("same flight again: %+v %v %v", again, replay, err)
	}
	if _, _, err := use("2026-12-02", "VN7"); err != nil {
		t.Fatal(err)
	}
	_, _, err = use("2026-12-09", "VN7")
	wantReason(t, err, care360.ReasonLimitReached)
	_, _, err = use("2026-11-25", "VN1") // today: too late
	wantReason(t, err, care360.ReasonWindow)
	if _, _, err := use("2026-11-30", "VJ1"); care360.ErrorCode(err) != care360.EINVALID {
		t.Fatalf("not a VN flight: %v", err)
	}
	// A new year, a new quota.
	b.clock.Set(at("2027-01-02 10:00"))
	if _, _, err := use("2027-01-05", "VN7"); err != nil {
		t.Fatalf("next year: %v", err)
	}
	ms, _ := b.sms.Messages(b.ctx, vang, 10)
	if len(ms) != 3 || ms[2].Text != "E-code Phong cho thuong gia Vietnam Airlines: "+u.Code+" cho chuyen VN123 ngay 28/11/2026. Xuat trinh ma tai quay Vietnam Airlines." {
		t.Fatalf("SMS: %+v", ms)
	}
}
