package store_test

import (
	"fmt"
	"testing"

	"github.com/care360/care360"
)

// Joining records the programme consent with its channel, and marketing
// only when given (PRODUCT.md §7); a campaign reaches only the members who
// agree to marketing, and withdrawing it through the API is recorded too.
func TestConsentAtJoiningAndMarketing(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	registered := newMSISDN()
	if _, _, err := b.db.Register(b.ctx, registered, care360.LangVi, care360.ChannelUSSD); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	viaAPI := newMSISDN()
	if _, err := b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: viaAPI, Name: "An", SetMarketing: &yes}); err != nil {
		t.Fatal(err)
	}
	plain := newMSISDN()
	if _, err := b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: plain, Name: "Binh"}); err != nil {
		t.Fatal(err)
	}
	records := func(m care360.MSISDN) []string {
		t.Helper()
		rows, err := b.db.Pool().Query(b.ctx, `SELECT purpose || ':' || granted || ':' || channel FROM consents WHERE msisdn = $1 ORDER BY id`, m)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	for m, want := range map[care360.MSISDN]string{
		registered: "[programme:true:ussd]",
		viaAPI:     "[programme:true:api marketing:true:api]",
		plain:      "[programme:true:api]",
	} {
		if got := records(m); fmt.Sprint(got) != want {
			t.Errorf("%s: %s, want %s", m, fmt.Sprint(got), want)
		}
	}
	c := b.campaign(t, care360.NewCampaign{Name: "x", Text: "Uu dai", Segment: care360.Segment{MSISDNs: []care360.MSISDN{registered, viaAPI, plain}}})
	if c.Recipients != 1 {
		t.Errorf("the campaign reached %d members, want only the one who agrees to marketing", c.Recipients)
	}
	// Withdrawn through the API: recorded, and the next campaign skips it.
	if _, err := b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: viaAPI, Name: "An", SetMarketing: &no}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(records(viaAPI)); got != "[programme:true:api marketing:true:api marketing:false:api]" {
		t.Errorf("after withdrawing: %s", got)
	}
	if s, err := b.db.Subscriber(b.ctx, viaAPI); err != nil || s.MarketingConsent {
		t.Errorf("marketing consent after withdrawing: %+v, %v", s, err)
	}
	// An update that says nothing of marketing keeps it, and records nothing.
	if _, err := b.db.PutSubscriber(b.ctx, &care360.Subscriber{MSISDN: viaAPI, Name: "An Nguyen"}); err != nil {
		t.Fatal(err)
	}
	if n := len(records(viaAPI)); n != 3 {
		t.Errorf("%d consent records after a profile update, want 3", n)
	}
}
