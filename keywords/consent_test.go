package keywords_test

import (
	"strings"
	"testing"

	"github.com/care360/care360"
)

// Consent by SMS (PRODUCT.md §7): DK joins with the programme consent and
// no marketing; DK QC gives marketing, TC withdraws it, each recorded with
// its channel and the text's version; HUY asks to leave, another keyword
// forgets it, and HUY then Y withdraws the programme consent and closes the
// membership as a churn: the number is a stranger again.
func TestConsentByKeyword(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.stranger()
	ad := 0
	marketing := func() error {
		ad++
		_, _, err := b.sms.Send(b.ctx, care360.OutgoingSMS{MSISDN: care360.MSISDN(m), Text: "Uu dai", Kind: care360.KindMarketing,
			IdempotencyKey: "ad-" + string(rune('a'+ad))})
		return err
	}
	b.text(t, m, "DK")
	if err := marketing(); care360.ErrorReason(err) != care360.ReasonOptedOut {
		t.Fatalf("marketing after DK alone: %v, want refused", err)
	}
	b.text(t, m, "DK QC")
	if err := marketing(); err != nil {
		t.Fatalf("marketing after DK QC: %v", err)
	}
	// The ad arrives before the next reply is waited for: the handset's
	// messages are the DK reply, the DK QC reply, then the ad.
	if got := b.next(t, m, 2); !strings.HasPrefix(got, "[QC] Uu dai") {
		t.Fatalf("the ad after DK QC: %q", got)
	}
	b.text(t, m, "TC")
	if err := marketing(); care360.ErrorReason(err) != care360.ReasonOptedOut {
		t.Fatalf("marketing after TC: %v, want refused", err)
	}

	if got := b.text(t, m, "HUY"); !strings.Contains(got, "Soan Y gui 9237 trong 5 phut") {
		t.Fatalf("HUY: %q", got)
	}
	b.text(t, m, "DIEM") // anything else forgets the request
	if got := b.text(t, m, "Y"); !strings.Contains(got, "Khong co giao dich") {
		t.Fatalf("Y after DIEM: %q", got)
	}
	b.text(t, m, "HUY")
	if got := b.text(t, m, "Y"); !strings.Contains(got, "da roi chuong trinh Ket noi dai lau") {
		t.Fatalf("Y to HUY: %q", got)
	}
	if _, err := b.db.Subscriber(b.ctx, care360.MSISDN(m)); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Fatalf("after leaving: %v, want no member", err)
	}
	if got := b.text(t, m, "DIEM"); !strings.Contains(got, "chua la hoi vien") {
		t.Errorf("DIEM after leaving: %q", got)
	}
	rows, err := b.db.Pool().Query(b.ctx, `
		SELECT c.purpose, c.granted, c.channel, c.text_version FROM consents c JOIN subscribers s ON s.msisdn = c.msisdn
		WHERE s.closed_msisdn = $1 ORDER BY c.id`, m)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var purpose, channel, version string
		var granted bool
		if err := rows.Scan(&purpose, &granted, &channel, &version); err != nil {
			t.Fatal(err)
		}
		if version != care360.ConsentTextVersion {
			t.Errorf("version %q", version)
		}
		verb := "given"
		if !granted {
			verb = "withdrawn"
		}
		got = append(got, purpose+" "+verb+" by "+channel)
	}
	want := []string{"programme given by sms", "marketing given by sms", "marketing withdrawn by sms", "programme withdrawn by sms"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("consents of the member who left:\n got %q\nwant %q", got, want)
	}
}
