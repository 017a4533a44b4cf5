package care360_test

import (
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
)

var hanoi, _ = time.LoadLocation("Asia/Ho_Chi_Minh")

func TestMarketingText(t *testing.T) {
	t.Parallel()
	r := care360.DefaultSMSRules
	want := "[QC] Uu dai thang 12 Tu choi: soan TC gui 9237"
	for _, in := range []string{"Uu dai thang 12", "  Uu dai thang 12 ", "[QC] Uu dai thang 12", want} {
		if got := r.MarketingText(in); got != want {
			t.Errorf("MarketingText(%q) = %q", in, got)
		}
	}
	r.ShortCode = "1234"
	if got := r.MarketingText("x"); !strings.HasSuffix(got, "soan TC gui 1234") {
		t.Errorf("short code not used: %q", got)
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	r := care360.DefaultSMSRules
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, hanoi)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct{ at, next string }{
		{"2026-11-25 06:59", "2026-11-25 07:00"},
		{"2026-11-25 07:00", "2026-11-25 07:00"},
		{"2026-11-25 21:59", "2026-11-25 21:59"},
		{"2026-11-25 22:00", "2026-11-26 07:00"},
		{"2026-12-31 23:30", "2027-01-01 07:00"},
		{"2026-11-25 00:00", "2026-11-25 07:00"},
	}
	for _, c := range cases {
		if got := r.NextWindow(at(c.at), hanoi); !got.Equal(at(c.next)) {
			t.Errorf("NextWindow(%s) = %s, want %s", c.at, got.In(hanoi), c.next)
		}
	}
	// 15:30 UTC is 22:30 in Hanoi: outside, whatever the zone of t.
	if r.InWindow(time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC), hanoi) {
		t.Error("22:30 local counted as inside the window")
	}
}

func TestSMSRulesDefaults(t *testing.T) {
	t.Parallel()
	r := care360.SMSRules{DailyCap: 9}.WithDefaults()
	if r.DailyCap != care360.LegalDailyCap || r.ShortCode != "9237" || r.MaxParts != 6 || r.WindowOpen != 7*time.Hour {
		t.Errorf("defaults: %+v", r)
	}
}

func TestOutgoingValidate(t *testing.T) {
	t.Parallel()
	ok := care360.OutgoingSMS{MSISDN: "84903123456", Text: "hi", Kind: care360.KindTransactional, IdempotencyKey: "k"}
	if err := ok.Validate(6); err != nil {
		t.Fatal(err)
	}
	long := ok
	long.Text = strings.Repeat("a", 153*6+1)
	bad := []care360.OutgoingSMS{long, {Text: "x", Kind: "transactional", IdempotencyKey: "k"}, {MSISDN: "1", Text: "x", Kind: "spam", IdempotencyKey: "k"}, {MSISDN: "1", Text: " ", Kind: "marketing", IdempotencyKey: "k"}}
	for _, b := range bad {
		if care360.ErrorCode(b.Validate(6)) != care360.EINVALID {
			t.Errorf("%+v accepted", b)
		}
	}
}

func TestTransferRulesCheck(t *testing.T) {
	t.Parallel()
	r := care360.DefaultTransferRules
	for _, c := range []struct {
		to     care360.MSISDN
		points int64
		reason string
	}{
		{"84904000000", 100, ""},
		{"84904000000", 10000, ""},
		{"84904000000", 150, care360.ReasonAmount},
		{"84904000000", 0, care360.ReasonAmount},
		{"84904000000", -100, care360.ReasonAmount},
		{"84903000000", 100, care360.ReasonSelf},
	} {
		err := r.Check("84903000000", c.to, c.points)
		if care360.ErrorReason(err) != c.reason || (c.reason == "") != (err == nil) {
			t.Errorf("Check(%s, %d) = %v, want reason %q", c.to, c.points, err, c.reason)
		}
	}
}

func TestCampaignValidate(t *testing.T) {
	t.Parallel()
	rules := care360.DefaultSMSRules
	good := care360.NewCampaign{Name: "Tet", Text: "Chuc mung nam moi {name}, hang {tier}, {points} diem"}
	if err := good.Validate(rules); err != nil {
		t.Fatal(err)
	}
	bad := map[string]care360.NewCampaign{
		"no name":     {Text: "x"},
		"no text":     {Name: "x"},
		"placeholder": {Name: "x", Text: "hi {nickname}"},
		"too long":    {Name: "x", Text: strings.Repeat("a", 153*6)},
		"tier":        {Name: "x", Text: "x", Segment: care360.Segment{Tiers: []care360.Tier{"gold"}}},
		"month":       {Name: "x", Text: "x", Segment: care360.Segment{BirthdayMonth: 13}},
	}
	for name, c := range bad {
		if care360.ErrorCode(c.Validate(rules)) != care360.EINVALID {
			t.Errorf("%s: accepted", name)
		}
	}
}
