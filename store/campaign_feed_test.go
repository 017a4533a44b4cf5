package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

// members creates n members who take marketing and returns their numbers.
func (b *smsBundle) members(t *testing.T, n int) []care360.MSISDN {
	t.Helper()
	ms := make([]care360.MSISDN, n)
	for i := range ms {
		ms[i] = b.member(t, "Khach "+string(rune('A'+i%26)), care360.LangVi, "", "1990-01-01", 0)
	}
	return ms
}

// campaignMessages counts the outbox messages of campaign id: all of them,
// and the distinct numbers they went to.
func (b *smsBundle) campaignMessages(t *testing.T, id int64) (all, numbers int) {
	t.Helper()
	err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*), count(DISTINCT msisdn) FROM sms_messages WHERE campaign_id = $1`, id).
		Scan(&all, &numbers)
	if err != nil {
		t.Fatal(err)
	}
	return all, numbers
}

// unsent returns those of ms that have not been sent a message.
func (b *smsBundle) unsent(t *testing.T, ms []care360.MSISDN) []care360.MSISDN {
	t.Helper()
	var out []care360.MSISDN
	for _, m := range ms {
		msgs, err := b.sms.Messages(b.ctx, m, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			out = append(out, m)
		}
	}
	return out
}

func (b *smsBundle) feed(t *testing.T) int64 { return b.feedLead(t, 0) }

// feedLead feeds the campaigns with a lead, as a sender does while
// marketing gives way to screens.
func (b *smsBundle) feedLead(t *testing.T, lead int) int64 {
	t.Helper()
	n, err := b.sms.FeedCampaigns(b.ctx, lead)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sendAll claims and settles as submitted everything due now.
func (b *smsBundle) sendAll(t *testing.T) int {
	t.Helper()
	sent := 0
	for {
		cs := b.claim(t, "a", 100)
		if len(cs) == 0 {
			return sent
		}
		for _, c := range cs {
			b.settle(t, "a", submitted(c.ID, "S"+time.Now().Format("150405.000000000")))
		}
		sent += len(cs)
	}
}

// A campaign's recipients wait apart from the outbox and move into it a
// chunk at a time as the chunk before is sent, each rendered and checked
// when its turn comes: a member who opted out or left meanwhile is dropped,
// one who changed number gets it on the new number, and every other
// member gets exactly one message.
func TestCampaignRecipientsMoveInChunks(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	b.sms.SetFeedChunk(4)
	ms := b.members(t, 10)
	c := b.campaign(t, care360.NewCampaign{Name: "chunks", Text: "Chao {name}", Segment: care360.Segment{MSISDNs: ms}})
	if c.Recipients != 10 || c.Progress.Queued != 10 || c.Status != care360.CampaignRunning {
		t.Fatalf("created: %+v", c)
	}
	if all, _ := b.campaignMessages(t, c.ID); all != 4 {
		t.Fatalf("%d messages in the outbox after the fan-out, want the first chunk of 4", all)
	}
	if n := b.feed(t); n != 0 {
		t.Fatalf("fed %d with a whole chunk still due", n)
	}
	if sent := b.sendAll(t); sent != 4 {
		t.Fatalf("sent %d of the first chunk", sent)
	}
	if n := b.feed(t); n != 4 {
		t.Fatalf("second chunk: %d queued, want 4", n)
	}
	b.sendAll(t)

	// Of the last two, one opts out and one changes number.
	pending := b.unsent(t, ms)
	if len(pending) != 2 {
		t.Fatalf("%d members without a message after two chunks, want 2", len(pending))
	}
	if _, err := b.sms.OptOut(b.ctx, pending[0]); err != nil {
		t.Fatal(err)
	}
	moved := newMSISDN()
	if r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "chg", MSISDN: pending[1], Event: care360.EventMSISDNChange,
		At: b.clock.Now().Add(-time.Minute), NewMSISDN: moved}); err != nil || r.Status != care360.LifecycleApplied {
		t.Fatalf("number change: %+v, %v", r, err)
	}
	if n := b.feed(t); n != 1 {
		t.Fatalf("last chunk: %d queued, want 1 (one opted out)", n)
	}
	if got := b.only(t, moved); got.Text != "[QC] Chao Khach "+string(rune('A'+indexOf(ms, pending[1])%26))+" Tu choi: soan TC gui 9237" {
		t.Errorf("the member at its new number: %+v", got)
	}
	if msgs, _ := b.sms.Messages(b.ctx, pending[0], 10); len(msgs) != 0 {
		t.Errorf("opted out before its turn, but sent %+v", msgs)
	}
	b.sendAll(t)
	got, err := b.sms.Campaign(b.ctx, c.ID)
	want := care360.CampaignProgress{Sent: 9, Failed: 1}
	if err != nil || got.Progress != want || got.Status != care360.CampaignDone {
		t.Fatalf("at the end: %+v, %v; want %+v, done", got, err, want)
	}
	if all, numbers := b.campaignMessages(t, c.ID); all != 9 || numbers != 9 {
		t.Errorf("%d messages to %d numbers, want 9 to 9", all, numbers)
	}
	var left int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1`, c.ID).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d recipient rows left, %v", left, err)
	}
}

// With a lead (a sender's while marketing gives way to screens) a campaign
// moves in slices: nothing while that many are due, then that many of the
// next part's recipients, the part's row keeping the rest; a lead of a
// part or none moves what is left of a part whole. Every member gets
// exactly one message and the progress counts hold throughout.
func TestCampaignMovesInSlicesWithALead(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	b.sms.SetFeedChunk(10)
	ms := b.members(t, 25)
	c := b.campaign(t, care360.NewCampaign{Name: "slices", Text: "Chao {name}", Segment: care360.Segment{MSISDNs: ms}})
	left := func() (rows, ids int) {
		t.Helper()
		err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*), coalesce(sum(cardinality(member_ids)), 0) FROM campaign_recipients WHERE campaign_id = $1`,
			c.ID).Scan(&rows, &ids)
		if err != nil {
			t.Fatal(err)
		}
		return rows, ids
	}
	progress := func(want care360.CampaignProgress) {
		t.Helper()
		got, err := b.sms.Campaign(b.ctx, c.ID)
		if err != nil || got.Progress != want {
			t.Fatalf("progress %+v, %v; want %+v", got.Progress, err, want)
		}
	}
	if n := b.feedLead(t, 4); n != 0 {
		t.Fatalf("fed %d with the first part's 10 due and a lead of 4", n)
	}
	if sent := b.sendAll(t); sent != 10 {
		t.Fatalf("sent %d of the first part", sent)
	}
	if n := b.feedLead(t, 4); n != 4 {
		t.Fatalf("a slice of %d, want the lead, 4", n)
	}
	if rows, ids := left(); rows != 2 || ids != 11 {
		t.Fatalf("%d parts holding %d recipients after a slice, want 2 holding 11", rows, ids)
	}
	progress(care360.CampaignProgress{Sent: 10, Queued: 15})
	if n := b.feedLead(t, 4); n != 0 {
		t.Fatalf("fed %d with the slice of 4 still due", n)
	}
	if n := b.feedLead(t, 5); n != 5 {
		t.Fatalf("a slice of %d with 4 due and a lead of 5, want 5", n)
	}
	b.sendAll(t)
	if n := b.feedLead(t, 4); n != 1 {
		t.Fatalf("the rest of the part: %d, want 1", n)
	}
	b.sendAll(t)
	if n := b.feed(t); n != 5 {
		t.Fatalf("the last part without a lead: %d, want all 5", n)
	}
	if rows, ids := left(); rows != 0 || ids != 0 {
		t.Fatalf("%d parts holding %d recipients at the end", rows, ids)
	}
	b.sendAll(t)
	progress(care360.CampaignProgress{Sent: 25})
	if all, numbers := b.campaignMessages(t, c.ID); all != 25 || numbers != 25 {
		t.Errorf("%d messages to %d numbers, want 25 to 25", all, numbers)
	}
	if unsent := b.unsent(t, ms); len(unsent) != 0 {
		t.Errorf("never sent: %v", unsent)
	}
}

func indexOf(ms []care360.MSISDN, m care360.MSISDN) int {
	for i, x := range ms {
		if x == m {
			return i
		}
	}
	return -1
}

// A member closed before its turn is dropped, counted as failed.
func TestCampaignRecipientClosedBeforeItsTurn(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	b.sms.SetFeedChunk(1)
	ms := b.members(t, 2)
	c := b.campaign(t, care360.NewCampaign{Name: "x", Text: "x", Segment: care360.Segment{MSISDNs: ms}})
	pending := b.unsent(t, ms)
	if len(pending) != 1 {
		t.Fatalf("%d members without a message after the first part of 1, want 1", len(pending))
	}
	if r, err := b.db.Membership(b.ctx, care360.LifecycleEvent{ID: "churn", MSISDN: pending[0], Event: care360.EventChurn,
		At: b.clock.Now().Add(-time.Minute)}); err != nil || r.Status != care360.LifecycleApplied {
		t.Fatalf("churn: %+v, %v", r, err)
	}
	b.sendAll(t)
	if n := b.feed(t); n != 0 {
		t.Fatalf("fed %d to a closed membership", n)
	}
	got, err := b.sms.Campaign(b.ctx, c.ID)
	if want := (care360.CampaignProgress{Sent: 1, Failed: 1}); err != nil || got.Progress != want || got.Status != care360.CampaignDone {
		t.Fatalf("%+v, %v; want %+v", got, err, want)
	}
}

// Recipients not yet in the outbox are held while the campaign is paused,
// before its time and in quiet hours, and nothing moves meanwhile; a
// cancel drops them.
func TestCampaignRecipientsHeldAndCancelled(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	b.sms.SetFeedChunk(2)
	ms := b.members(t, 5)
	c := b.campaign(t, care360.NewCampaign{Name: "x", Text: "x", Segment: care360.Segment{MSISDNs: ms}})
	b.sendAll(t)
	p, err := b.sms.PauseCampaign(b.ctx, c.ID)
	if err != nil || p.Progress != (care360.CampaignProgress{Sent: 2, Held: 3}) {
		t.Fatalf("paused: %+v, %v", p, err)
	}
	if n := b.feed(t); n != 0 {
		t.Fatalf("fed %d while paused", n)
	}
	if _, err := b.sms.ResumeCampaign(b.ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	b.clock.Set(at("2026-11-25 22:30")) // the window shut
	if got, _ := b.sms.Campaign(b.ctx, c.ID); got.Progress != (care360.CampaignProgress{Sent: 2, Held: 3}) {
		t.Fatalf("in quiet hours: %+v", got.Progress)
	}
	if n := b.feed(t); n != 0 {
		t.Fatalf("fed %d in quiet hours", n)
	}
	b.clock.Set(at("2026-11-26 08:00"))
	if n := b.feed(t); n != 2 {
		t.Fatalf("fed %d when the window opened, want a chunk of 2", n)
	}
	x, err := b.sms.CancelCampaign(b.ctx, c.ID)
	if err != nil || x.Progress != (care360.CampaignProgress{Sent: 2, Failed: 3}) {
		t.Fatalf("cancelled: %+v, %v", x, err)
	}
	if n := b.feed(t); n != 0 {
		t.Fatalf("fed %d after the cancel", n)
	}

	later := b.campaign(t, care360.NewCampaign{Name: "later", Text: "y", Segment: care360.Segment{MSISDNs: ms}, SendAt: b.clock.Now().Add(48 * time.Hour)})
	if later.Progress != (care360.CampaignProgress{Held: 5}) {
		t.Fatalf("a campaign for later: %+v", later.Progress)
	}
	if n := b.feed(t); n != 0 {
		t.Fatalf("fed %d before the campaign's time", n)
	}
	b.clock.Add(48 * time.Hour)
	if n := b.feed(t); n != 0 {
		t.Fatalf("fed %d with the first chunk due", n) // the first chunk was queued at creation
	}
	if sent := b.sendAll(t); sent != 2 {
		t.Fatalf("sent %d at the campaign's time, want its first chunk", sent)
	}
	if n := b.feed(t); n != 2 {
		t.Fatalf("fed %d after the first chunk went", n)
	}
}

// Senders in several processes feed the same campaigns at once while
// theirs are sent, some of them in slices: every recipient is moved
// exactly once.
func TestCampaignFedOnceBySendersAtOnce(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	b.sms.SetFeedChunk(25)
	ms := b.members(t, 300)
	c := b.campaign(t, care360.NewCampaign{Name: "x", Text: "x", Segment: care360.Segment{MSISDNs: ms}})
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, lead := range []int{0, 7, 10, 25} {
		feeder := store.NewSMS(b.db, care360.SMSRules{})
		feeder.SetFeedChunk(25)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := feeder.FeedCampaigns(ctx, lead); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.sendAll(t)
		got, err := b.sms.Campaign(b.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == care360.CampaignDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not sent in 30 s: %+v", got)
		}
		select {
		case err := <-errs:
			t.Fatal(err)
		default:
		}
	}
	cancel()
	wg.Wait()
	if all, numbers := b.campaignMessages(t, c.ID); all != 300 || numbers != 300 {
		t.Fatalf("%d messages to %d numbers, want 300 to 300", all, numbers)
	}
	if got, _ := b.sms.Campaign(b.ctx, c.ID); got.Progress != (care360.CampaignProgress{Sent: 300}) {
		t.Fatalf("progress %+v", got.Progress)
	}
}
