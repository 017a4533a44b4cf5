package store_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
)

// member creates a subscriber with a profile and qualifying points.
func (b *smsBundle) member(t *testing.T, name string, lang care360.Language, gender care360.Gender, birthday string, qualifying int64) care360.MSISDN {
	t.Helper()
	m := newMSISDN()
	yes := true // members of these tests agree to marketing
	s := &care360.Subscriber{MSISDN: m, Name: name, Language: lang, Gender: gender, Birthday: day(birthday), SetMarketing: &yes}
	if _, err := b.db.PutSubscriber(b.ctx, s); err != nil {
		t.Fatal(err)
	}
	if qualifying > 0 {
		credit(t, b.bundle, m, care360.PointsQualifying, qualifying, "q-"+string(m))
	}
	return m
}

func (b *smsBundle) campaign(t *testing.T, c care360.NewCampaign) *care360.Campaign {
	t.Helper()
	camp, replay, err := b.sms.CreateCampaign(b.ctx, c)
	if err != nil || replay {
		t.Fatalf("CreateCampaign: replay %v, %v", replay, err)
	}
	return camp
}

// only returns the single message of m, failing if there is not exactly one.
func (b *smsBundle) only(t *testing.T, m care360.MSISDN) care360.Message {
	t.Helper()
	ms, err := b.sms.Messages(b.ctx, m, 10)
	if err != nil || len(ms) != 1 {
		t.Fatalf("messages of %s: %+v, %v", m, ms, err)
	}
	return ms[0]
}

func TestCampaignFanOutRendersPerSubscriber(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	an := b.member(t, "Nguyễn Văn An", care360.LangVi, "m", "1980-03-12", 12_345)
	binh := b.member(t, "Trần Thị Bình", care360.LangViUnicode, "f", "1988-11-20", 10_000)
	dung := b.member(t, "Pham Thi Dung", care360.LangEn, "f", "1995-11-30", 10_500)
	other := b.member(t, "Le Van Cuong", care360.LangVi, "m", "1992-07-07", 6_000) // Titan: not in the segment
	c := b.campaign(t, care360.NewCampaign{
		Name: "Tri an", Text: "Chào {name}, hạng {tier} của quý khách có {points} điểm.", TextEn: "Hi {name}, your {tier} tier has {points} points.",
		Segment: care360.Segment{Tiers: []care360.Tier{care360.TierVang}},
	})
	if c.Recipients != 3 || c.Status != care360.CampaignRunning || c.Progress.Queued != 3 {
		t.Fatalf("campaign %+v", c)
	}
	want := map[care360.MSISDN]string{
		an:   "[QC] Chao Nguyen Van An, hang Vang cua quy khach co 12.345 diem. Tu choi: soan TC gui 9237",
		binh: "[QC] Chào Trần Thị Bình, hạng Vàng của quý khách có 10.000 điểm. Tu choi: soan TC gui 9237",
		dung: "[QC] Hi Pham Thi Dung, your Gold tier has 10,500 points. Tu choi: soan TC gui 9237",
	}
	for m, text := range want {
		got := b.only(t, m)
		if got.Text != text || got.Kind != care360.KindMarketing || got.CampaignID != c.ID || got.Status != care360.MessageQueued {
			t.Errorf("%s: %+v\nwant text %q", m, got, text)
		}
	}
	if ms, _ := b.sms.Messages(b.ctx, other, 10); len(ms) != 0 {
		t.Errorf("outside the segment but sent %+v", ms)
	}

	// Other criteria: gender and birthday month, and an explicit list.
	c = b.campaign(t, care360.NewCampaign{Name: "Sinh nhat", Text: "Mung sinh nhat {name}",
		Segment: care360.Segment{Gender: "f", BirthdayMonth: 11}, SendAt: b.clock.Now().Add(48 * time.Hour)})
	if c.Recipients != 2 || c.Progress.Held != 2 {
		t.Errorf("birthday campaign %+v", c)
	}
	c = b.campaign(t, care360.NewCampaign{Name: "List", Text: "x", Segment: care360.Segment{MSISDNs: []care360.MSISDN{other, newMSISDN()}}})
	if c.Recipients != 1 {
		t.Errorf("list campaign reached %d (the unknown number is no member)", c.Recipients)
	}
}

func TestCampaignIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	b.member(t, "A", care360.LangVi, "", "1990-01-01", 0)
	nc := care360.NewCampaign{Name: "x", Text: "x", IdempotencyKey: "camp-1"}
	first := b.campaign(t, nc)
	again, replay, err := b.sms.CreateCampaign(b.ctx, nc)
	if err != nil || !replay || again.ID != first.ID || again.Recipients != first.Recipients {
		t.Fatalf("replay = %+v, %v, %v", again, replay, err)
	}
}

// Marketing goes out 07:00–22:00 local time only: planned later, held, then
// due when the window opens; what was queued when it shut is held by Maintain.
func TestQuietHours(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := b.member(t, "A", care360.LangVi, "", "1990-01-01", 0)
	b.clock.Set(at("2026-11-25 21:00"))
	b.campaign(t, care360.NewCampaign{Name: "evening", Text: "x", Segment: care360.Segment{MSISDNs: []care360.MSISDN{m}}})
	b.clock.Set(at("2026-11-25 22:30"))
	if _, err := b.sms.Maintain(b.ctx); err != nil {
		t.Fatal(err)
	}
	got := b.only(t, m)
	if got.Status != care360.MessageHeld {
		t.Fatalf("queued at 21:00, at 22:30: %+v", got)
	}
	late := b.member(t, "B", care360.LangVi, "", "1990-01-01", 0)
	b.campaign(t, care360.NewCampaign{Name: "night", Text: "x", Segment: care360.Segment{MSISDNs: []care360.MSISDN{late}}})
	if got := b.only(t, late); got.Status != care360.MessageHeld || !got.NotBefore.Equal(at("2026-11-26 07:00")) {
		t.Fatalf("created at 22:30: %+v", got)
	}
	reply := b.send(t, m, care360.KindTransactional, "codes go any time", "tx")
	cs := b.claim(t, "a", 10)
	if len(cs) != 1 || cs[0].ID != reply.ID {
		t.Fatalf("at night claimed %+v, want only the transactional", cs)
	}
	b.settle(t, "a", submitted(reply.ID, "S1"))
	b.claimsAt(t, "2026-11-26 06:59", 0)
	b.claimsAt(t, "2026-11-26 07:00", 2) // both held messages
}

// claimsAt moves the clock to when and checks how many messages are due.
func (b *smsBundle) claimsAt(t *testing.T, when string, want int) {
	t.Helper()
	b.clock.Set(at(when))
	if cs := b.claim(t, "a", 10); len(cs) != want {
		t.Fatalf("at %s claimed %d, want %d: %+v", when, len(cs), want, cs)
	}
}

// At most one marketing SMS per subscriber per 24 h (the default cap).
func TestDailyCap(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := b.member(t, "A", care360.LangVi, "", "1990-01-01", 0)
	seg := care360.Segment{MSISDNs: []care360.MSISDN{m}}
	b.campaign(t, care360.NewCampaign{Name: "first", Text: "one", Segment: seg})
	cs := b.claim(t, "a", 10)
	b.settle(t, "a", submitted(cs[0].ID, "S1"))
	b.clock.Set(at("2026-11-25 15:00"))
	c := b.campaign(t, care360.NewCampaign{Name: "second", Text: "two", Segment: seg})
	if c.Progress.Held != 1 {
		t.Fatalf("second campaign the same day: %+v", c.Progress)
	}
	b.claimsAt(t, "2026-11-26 09:59", 0) // within 24 h of the first
	b.claimsAt(t, "2026-11-26 10:00", 1)
}

func TestOptOutAndDoNotCall(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	tc := b.member(t, "A", care360.LangVi, "", "1990-01-01", 0)
	dnc := b.member(t, "B", care360.LangVi, "", "1990-01-01", 0)
	ok := b.member(t, "C", care360.LangVi, "", "1990-01-01", 0)
	seg := care360.Segment{MSISDNs: []care360.MSISDN{tc, dnc, ok}}
	if changed, err := b.sms.OptOut(b.ctx, tc); err != nil || !changed {
		t.Fatal(changed, err)
	}
	if changed, _ := b.sms.OptOut(b.ctx, tc); changed {
		t.Error("second TC changed something")
	}
	if res, err := b.sms.ImportDNC(b.ctx, []care360.MSISDN{dnc}); err != nil || res[0] != care360.DNCAccepted {
		t.Fatal(res, err)
	}
	c := b.campaign(t, care360.NewCampaign{Name: "x", Text: "x", Segment: seg})
	if c.Recipients != 1 {
		t.Fatalf("reached %d, want only the one who did not refuse", c.Recipients)
	}
	_, _, err := b.sms.Send(b.ctx, care360.OutgoingSMS{MSISDN: tc, Text: "x", Kind: care360.KindMarketing, IdempotencyKey: "m1"})
	if care360.ErrorReason(err) != care360.ReasonOptedOut {
		t.Fatalf("marketing to an opted-out number: %v", err)
	}
	if _, _, err := b.sms.Send(b.ctx, care360.OutgoingSMS{MSISDN: tc, Text: "your code", Kind: care360.KindTransactional, IdempotencyKey: "t1"}); err != nil {
		t.Fatalf("transactional to an opted-out number: %v", err)
	}
	// DK QC takes marketing back.
	if changed, err := b.sms.OptIn(b.ctx, tc); err != nil || !changed {
		t.Fatal(changed, err)
	}
	if _, _, err := b.sms.Send(b.ctx, care360.OutgoingSMS{MSISDN: tc, Text: "x", Kind: care360.KindMarketing, IdempotencyKey: "m2"}); err != nil {
		t.Fatal(err)
	}
	// TC drops what was already planned.
	if _, err := b.sms.OptOut(b.ctx, ok); err != nil {
		t.Fatal(err)
	}
	if got := b.only(t, ok); got.Status != care360.MessageFailed || !strings.Contains(got.Error, "opted out") {
		t.Fatalf("planned message after TC: %+v", got)
	}
}

func TestImportDNCReportsDuplicates(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	a, c := newMSISDN(), newMSISDN()
	if _, err := b.sms.ImportDNC(b.ctx, []care360.MSISDN{a}); err != nil {
		t.Fatal(err)
	}
	res, err := b.sms.ImportDNC(b.ctx, []care360.MSISDN{a, c, c})
	if err != nil {
		t.Fatal(err)
	}
	want := []care360.DNCResult{care360.DNCDuplicate, care360.DNCAccepted, care360.DNCDuplicate}
	for i := range want {
		if res[i] != want[i] {
			t.Fatalf("results %v, want %v", res, want)
		}
	}
}

func TestPauseResumeCancel(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	var seg care360.Segment
	for range 5 {
		seg.MSISDNs = append(seg.MSISDNs, b.member(t, "A", care360.LangVi, "", "1990-01-01", 0))
	}
	c := b.campaign(t, care360.NewCampaign{Name: "x", Text: "x", Segment: seg})
	cs := b.claim(t, "a", 2) // two in flight when staff pause
	p, err := b.sms.PauseCampaign(b.ctx, c.ID)
	if err != nil || p.Status != care360.CampaignPaused || p.Progress.Held != 3 || p.Progress.Queued != 2 {
		t.Fatalf("paused: %+v, %v", p, err)
	}
	b.settle(t, "a", submitted(cs[0].ID, "S1"), submitted(cs[1].ID, "S2"))
	if more := b.claim(t, "a", 10); len(more) != 0 {
		t.Fatalf("claimed from a paused campaign: %+v", more)
	}
	r, err := b.sms.ResumeCampaign(b.ctx, c.ID)
	if err != nil || r.Status != care360.CampaignRunning || r.Progress.Queued != 3 || r.Progress.Sent != 2 {
		t.Fatalf("resumed: %+v, %v", r, err)
	}
	cs = b.claim(t, "a", 1)
	b.settle(t, "a", submitted(cs[0].ID, "S3"))
	if _, err := b.sms.Receipts(b.ctx, []care360.Receipt{{SMSCID: "S3", State: care360.ReceiptDelivered, At: b.clock.Now()}}); err != nil {
		t.Fatal(err)
	}
	x, err := b.sms.CancelCampaign(b.ctx, c.ID)
	want := care360.CampaignProgress{Sent: 3, Delivered: 1, Failed: 2}
	if err != nil || x.Status != care360.CampaignCancelled || x.Progress != want {
		t.Fatalf("cancelled: %+v, %v; want %+v", x, err, want)
	}
	if _, err := b.sms.ResumeCampaign(b.ctx, c.ID); care360.ErrorCode(err) != care360.ECONFLICT {
		t.Fatalf("resume after cancel: %v", err)
	}
	if _, err := b.sms.PauseCampaign(b.ctx, 999999); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Fatalf("unknown campaign: %v", err)
	}
	done := b.campaign(t, care360.NewCampaign{Name: "y", Text: "y", Segment: care360.Segment{MSISDNs: seg.MSISDNs[:1]}})
	b.clock.Add(25 * time.Hour) // past the daily cap
	cs = b.claim(t, "a", 10)
	b.settle(t, "a", submitted(cs[0].ID, "S9"))
	if got, _ := b.sms.Campaign(b.ctx, done.ID); got.Status != care360.CampaignDone {
		t.Fatalf("all sent: %+v", got)
	}
}

// The list pages newest first and shows each campaign as Campaign does,
// progress and "done" included.
func TestCampaignsNewestFirstWithProgress(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	var seg care360.Segment
	for range 3 {
		seg.MSISDNs = append(seg.MSISDNs, b.member(t, "A", care360.LangVi, "", "1990-01-01", 0))
	}
	// The first goes out and one message is delivered; the second is
	// paused, the third cancelled, the fourth left queued.
	var made []*care360.Campaign
	for i := range 4 {
		made = append(made, b.campaign(t, care360.NewCampaign{Name: fmt.Sprint("c", i), Text: "x", Segment: seg}))
		if i == 0 {
			for j, c := range b.claim(t, "a", 10) {
				b.settle(t, "a", submitted(c.ID, fmt.Sprint("L", j)))
			}
			if _, err := b.sms.Receipts(b.ctx, []care360.Receipt{{SMSCID: "L0", State: care360.ReceiptDelivered, At: b.clock.Now()}}); err != nil {
				t.Fatal(err)
			}
		}
		b.clock.Add(25 * time.Hour) // past the daily cap: each campaign's messages are due at once
	}
	if _, err := b.sms.PauseCampaign(b.ctx, made[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sms.CancelCampaign(b.ctx, made[2].ID); err != nil {
		t.Fatal(err)
	}

	var want []care360.Campaign
	for i := len(made) - 1; i >= 0; i-- {
		c, err := b.sms.Campaign(b.ctx, made[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, *c)
	}
	first, err := b.sms.Campaigns(b.ctx, care360.Page{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:3], first); diff != "" {
		t.Errorf("first page (-Campaign +Campaigns):\n%s", diff)
	}
	rest, err := b.sms.Campaigns(b.ctx, care360.Page{Before: first[2].ID, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[3:], rest); diff != "" {
		t.Errorf("second page (-Campaign +Campaigns):\n%s", diff)
	}
	// What the list shows is what each state should show.
	statuses := []care360.CampaignStatus{care360.CampaignRunning, care360.CampaignCancelled, care360.CampaignPaused, care360.CampaignDone}
	for i, c := range want {
		if c.Status != statuses[i] {
			t.Errorf("campaign %s is %s, want %s", c.Name, c.Status, statuses[i])
		}
	}
	if p := want[3].Progress; p.Sent != 3 || p.Delivered != 1 || p.Queued+p.Held != 0 {
		t.Errorf("the campaign sent: %+v", p)
	}
	if p := want[2].Progress; p.Held != 3 {
		t.Errorf("the paused campaign: %+v", p)
	}
	if none, err := b.sms.Campaigns(b.ctx, care360.Page{Before: want[3].ID, Limit: 3}); err != nil || len(none) != 0 {
		t.Errorf("past the oldest: %+v, %v", none, err)
	}
}
