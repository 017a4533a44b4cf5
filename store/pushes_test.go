package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

type pushBundle struct {
	*smsBundle
	pushes *store.Pushes
}

func setupPushes(t *testing.T) *pushBundle {
	t.Helper()
	b := setupSMS(t)
	return &pushBundle{smsBundle: b, pushes: store.NewPushes(b.sms, time.Minute, "*090#")}
}

func (b *pushBundle) push(t *testing.T, np care360.NewPush) *care360.Push {
	t.Helper()
	p, replay, err := b.pushes.CreatePush(b.ctx, np)
	if err != nil || replay {
		t.Fatalf("CreatePush: replay %v, %v", replay, err)
	}
	return p
}

// sent records one push as sent; a fenced one is an error.
func (b *pushBundle) sent(owner string, d care360.PushDelivery) error {
	fenced, err := b.pushes.PushSent(b.ctx, owner, []care360.PushDelivery{d})
	if err == nil && fenced > 0 {
		return errors.New("fenced off")
	}
	return err
}

func (b *pushBundle) counts(t *testing.T, id int64) map[string]int64 {
	t.Helper()
	p, err := b.pushes.Push(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return p.Counts
}

func (b *pushBundle) claimPushes(t *testing.T, owner string) []care360.PushClaim {
	t.Helper()
	cs, err := b.pushes.ClaimPushes(b.ctx, owner, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestPushToOneMemberWalksItsStates(t *testing.T) {
	t.Parallel()
	b := setupPushes(t)
	m := b.subscriber(t)
	p := b.push(t, care360.NewPush{MSISDN: m, Kind: care360.PushMenu, Screen: care360.PushScreen{Menu: "main"},
		Text: "Quy khach co qua sinh nhat", FallbackSMS: true, IdempotencyKey: "api:p1"})
	if p.Targets != 1 || p.Counts[care360.PushQueued] != 1 || p.ExpiresAt.IsZero() {
		t.Fatalf("push %+v", p)
	}
	// The same key again is the same push.
	again, replay, err := b.pushes.CreatePush(b.ctx, care360.NewPush{MSISDN: m, Kind: care360.PushMenu,
		Screen: care360.PushScreen{Menu: "main"}, IdempotencyKey: "api:p1"})
	if err != nil || !replay || again.ID != p.ID {
		t.Fatalf("replay: %+v %v %v", again, replay, err)
	}
	cs := b.claimPushes(t, "a")
	if len(cs) != 1 || cs[0].MSISDN != m || cs[0].Busy || cs[0].Screen.Menu != "main" || cs[0].Text != "Quy khach co qua sinh nhat" {
		t.Fatalf("claims %+v", cs)
	}
	if more := b.claimPushes(t, "b"); len(more) != 0 {
		t.Fatalf("a leased target claimed again: %+v", more)
	}
	if err := b.sent("b", care360.PushDelivery{ID: cs[0].ID, Token: cs[0].Token, Ref: 7}); err == nil {
		t.Fatal("another owner's word about a leased target counted")
	}
	if err := b.sent("a", care360.PushDelivery{ID: cs[0].ID, Token: cs[0].Token, Ref: 7}); err != nil {
		t.Fatal(err)
	}
	if err := b.pushes.PushAnswered(b.ctx, cs[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := b.pushes.PushFinished(b.ctx, cs[0].ID, care360.PushNoAnswer); err != nil {
		t.Fatal(err)
	}
	if c := b.counts(t, p.ID); c[care360.PushAnswered] != 1 || c[care360.PushNoAnswer] != 0 || c[care360.PushFellBack] != 0 {
		t.Fatalf("an answered push became unanswered: %v", c)
	}
	if err := b.pushes.PushFinished(b.ctx, cs[0].ID, care360.PushCompleted); err != nil {
		t.Fatal(err)
	}
	if c := b.counts(t, p.ID); c[care360.PushCompleted] != 1 || c[care360.PushAnswered] != 0 {
		t.Fatalf("counts %v", c)
	}
	if ms, _ := b.sms.Messages(b.ctx, m, 10); len(ms) != 0 {
		t.Fatalf("a completed push fell back to SMS: %+v", ms)
	}
}

func TestPushRefusedOrUnansweredFallsBackOnce(t *testing.T) {
	t.Parallel()
	b := setupPushes(t)
	refused, silent, plain := b.subscriber(t), b.subscriber(t), b.subscriber(t)
	p := b.push(t, care360.NewPush{Segment: &care360.Segment{MSISDNs: []care360.MSISDN{refused, silent, plain}},
		Kind: care360.PushNotify, Text: "Diem cua quy khach sap het han", FallbackSMS: true})
	if p.Targets != 3 {
		t.Fatalf("targets %d", p.Targets)
	}
	cs := b.claimPushes(t, "a")
	if len(cs) != 3 {
		t.Fatalf("claims %+v", cs)
	}
	for _, c := range cs {
		var err error
		switch c.MSISDN {
		case refused:
			err = b.pushes.PushEnd(b.ctx, "a", c.ID, c.Token, care360.PushRefused, "submit_sm refused: 0x45")
		default:
			err = b.sent("a", care360.PushDelivery{ID: c.ID, Token: c.Token, Ref: 1})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cs {
		if c.MSISDN == plain {
			if err := b.pushes.PushFinished(b.ctx, c.ID, care360.PushCompleted); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Nothing is unanswered until the answer time has passed.
	if n, err := b.pushes.SweepPushes(b.ctx, time.Minute); err != nil || n != 0 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	b.clock.Add(61 * time.Second)
	// Two sweeps at once, and again: one SMS each.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := b.pushes.SweepPushes(b.ctx, time.Minute); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, err := b.pushes.SweepPushes(b.ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	c := b.counts(t, p.ID)
	if c[care360.PushRefused] != 1 || c[care360.PushNoAnswer] != 1 || c[care360.PushCompleted] != 1 || c[care360.PushFellBack] != 2 {
		t.Fatalf("counts %v", c)
	}
	for _, m := range []care360.MSISDN{refused, silent} {
		if msg := b.only(t, m); msg.Text != "Diem cua quy khach sap het han" || msg.Kind != care360.KindTransactional {
			t.Fatalf("fallback to %s: %+v", m, msg)
		}
	}
	if ms, _ := b.sms.Messages(b.ctx, plain, 10); len(ms) != 0 {
		t.Fatalf("fallback for a completed push: %+v", ms)
	}
}

func TestPushWaitsForADialogueInProgressThenEndsBusy(t *testing.T) {
	t.Parallel()
	b := setupPushes(t)
	m := b.subscriber(t)
	if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: string(m) + "/s1", MSISDN: m, State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	p := b.push(t, care360.NewPush{MSISDN: m, Kind: care360.PushMenu, Screen: care360.PushScreen{Menu: "main"},
		ExpiresAt: b.clock.Now().Add(5 * time.Minute)})
	cs := b.claimPushes(t, "a")
	if len(cs) != 1 || !cs[0].Busy {
		t.Fatalf("the member's dialogue in progress was not seen: %+v", cs)
	}
	if err := b.pushes.PushWait(b.ctx, "a", cs[0].ID, cs[0].Token, 5*time.Second, true, "dialogue in progress"); err != nil {
		t.Fatal(err)
	}
	if again := b.claimPushes(t, "a"); len(again) != 0 {
		t.Fatalf("a waiting push was due at once: %+v", again)
	}
	b.clock.Add(6 * time.Second)
	if again := b.claimPushes(t, "a"); len(again) != 1 || !again[0].Busy {
		t.Fatalf("claims %+v", again)
	} else if err := b.pushes.PushWait(b.ctx, "a", again[0].ID, again[0].Token, 5*time.Second, true, "dialogue in progress"); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(5 * time.Minute)
	if n, err := b.pushes.SweepPushes(b.ctx, time.Minute); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if c := b.counts(t, p.ID); c[care360.PushBusy] != 1 || c[care360.PushQueued] != 0 {
		t.Fatalf("counts %v", c)
	}
	var rec []care360.DialogueRecord
	err := b.db.DialogueRecords(b.ctx, care360.DialogueQuery{From: b.clock.Now().Add(-time.Hour), To: b.clock.Now().Add(time.Hour), MSISDN: m},
		func(r *care360.DialogueRecord) error { rec = append(rec, *r); return nil })
	if err != nil || len(rec) != 1 || rec[0].Outcome != "busy" || rec[0].Channel != care360.ChannelPush {
		t.Fatalf("records %+v, %v", rec, err)
	}
}

func TestMarketingPushFollowsTheRules(t *testing.T) {
	t.Parallel()
	b := setupPushes(t)
	optedOut, dnc, capped, fresh := b.subscriber(t), b.subscriber(t), b.subscriber(t), b.subscriber(t)
	if _, err := b.sms.OptOut(b.ctx, optedOut); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sms.ImportDNC(b.ctx, []care360.MSISDN{dnc}); err != nil {
		t.Fatal(err)
	}
	// capped had today's marketing SMS (the cap is 1 a day by default).
	b.send(t, capped, care360.KindMarketing, "Uu dai thang 11", "api:m-"+string(capped))

	_, _, err := b.pushes.CreatePush(b.ctx, care360.NewPush{MSISDN: optedOut, Kind: care360.PushNotify, Text: "Uu dai", Marketing: true})
	if care360.ErrorReason(err) != care360.ReasonOptedOut {
		t.Fatalf("a marketing push to an opted-out member: %v", err)
	}
	p := b.push(t, care360.NewPush{Segment: &care360.Segment{MSISDNs: []care360.MSISDN{optedOut, dnc, capped, fresh}},
		Kind: care360.PushNotify, Text: "Uu dai he", Marketing: true, FallbackSMS: true, ExpiresAt: b.clock.Now().Add(48 * time.Hour)})
	if p.Targets != 2 || p.Excluded != 2 {
		t.Fatalf("push %+v", p)
	}
	cs := b.claimPushes(t, "a")
	if len(cs) != 1 || cs[0].MSISDN != fresh {
		t.Fatalf("only the member within the cap is due now: %+v", cs)
	}
	// The push to fresh counts against its cap: a marketing SMS now waits a day.
	if err := b.sent("a", care360.PushDelivery{ID: cs[0].ID, Token: cs[0].Token, Ref: 1}); err != nil {
		t.Fatal(err)
	}
	if msg := b.send(t, fresh, care360.KindMarketing, "Uu dai khac", "api:m2-"+string(fresh)); msg.Status != "held" {
		t.Fatalf("a marketing SMS right after an advertising push: %+v", msg)
	}
	// Outside the window nothing that advertises is due: 23:00 Hanoi.
	b.clock.Set(time.Date(2026, 11, 26, 23, 0, 0, 0, hanoi))
	if cs := b.claimPushes(t, "a"); len(cs) != 0 {
		t.Fatalf("claimed outside the marketing window: %+v", cs)
	}
	b.clock.Set(time.Date(2026, 11, 27, 8, 0, 0, 0, hanoi))
	if cs := b.claimPushes(t, "a"); len(cs) != 1 || cs[0].MSISDN != capped {
		t.Fatalf("the capped member's push is due the next day in the window: %+v", cs)
	}
}

func TestPushRequestsRefused(t *testing.T) {
	t.Parallel()
	b := setupPushes(t)
	m := b.subscriber(t)
	now := b.clock.Now()
	for name, np := range map[string]care360.NewPush{
		"no target":         {Kind: care360.PushNotify, Text: "x"},
		"both targets":      {MSISDN: m, Segment: &care360.Segment{Gender: "f"}, Kind: care360.PushNotify, Text: "x"},
		"bad kind":          {MSISDN: m, Kind: "sms", Text: "x"},
		"notify no text":    {MSISDN: m, Kind: care360.PushNotify},
		"menu no screen":    {MSISDN: m, Kind: care360.PushMenu, Text: "x"},
		"menu two screens":  {MSISDN: m, Kind: care360.PushMenu, Screen: care360.PushScreen{Gift: 1, Draw: 2}},
		"unknown menu":      {MSISDN: m, Kind: care360.PushMenu, Screen: care360.PushScreen{Menu: "vip"}},
		"expired":           {MSISDN: m, Kind: care360.PushNotify, Text: "x", ExpiresAt: now.Add(-time.Second)},
		"everyone, not ads": {Segment: &care360.Segment{}, Kind: care360.PushNotify, Text: "x"},
		"fallback no text":  {MSISDN: m, Kind: care360.PushMenu, Screen: care360.PushScreen{Menu: "main"}, FallbackSMS: true},
	} {
		if _, _, err := b.pushes.CreatePush(b.ctx, np); care360.ErrorCode(err) != care360.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	_, _, err := b.pushes.CreatePush(b.ctx, care360.NewPush{MSISDN: newMSISDN(), Kind: care360.PushNotify, Text: "x"})
	if care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Errorf("push to a stranger: %v", err)
	}
	if _, err := b.pushes.Push(b.ctx, 999999); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Errorf("unknown push: %v", err)
	}
	_, _, err = b.pushes.CreatePush(b.ctx, care360.NewPush{MSISDN: m, Kind: care360.PushNotify, Text: "x", IdempotencyKey: "api:k", RequestHash: []byte("a")})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = b.pushes.CreatePush(b.ctx, care360.NewPush{MSISDN: m, Kind: care360.PushNotify, Text: "y", IdempotencyKey: "api:k", RequestHash: []byte("b")})
	if care360.ErrorCode(err) != care360.ECONFLICT {
		t.Errorf("same key, other request: %v", err)
	}
}

// A segment's targets are each claimed by exactly one of several senders.
func TestPushTargetsClaimedOnce(t *testing.T) {
	t.Parallel()
	b := setupPushes(t)
	var ms []care360.MSISDN
	for range 60 {
		ms = append(ms, b.subscriber(t))
	}
	p := b.push(t, care360.NewPush{Segment: &care360.Segment{MSISDNs: ms}, Kind: care360.PushNotify, Text: "x"})
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for {
				cs, err := b.pushes.ClaimPushes(b.ctx, fmt.Sprint("s", w), 7, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				for _, c := range cs {
					mu.Lock()
					seen[c.ID]++
					mu.Unlock()
					if err := b.sent(fmt.Sprint("s", w), care360.PushDelivery{ID: c.ID, Token: c.Token, Ref: 1}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != 60 {
		t.Fatalf("%d targets claimed, want 60", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("target %d claimed %d times", id, n)
		}
	}
	if c := b.counts(t, p.ID); c[care360.PushSent] != 60 {
		t.Fatalf("counts %v", c)
	}
}

// A quick phone answers before its sender has written that the push went:
// the answer stands, the late "sent" records only when, and the sweep does
// not call it unanswered.
func TestPushAnsweredBeforeRecordedSent(t *testing.T) {
	t.Parallel()
	b := setupPushes(t)
	m := b.subscriber(t)
	p := b.push(t, care360.NewPush{MSISDN: m, Kind: care360.PushMenu, Screen: care360.PushScreen{Menu: "main"}})
	cs := b.claimPushes(t, "a")
	if err := b.pushes.PushAnswered(b.ctx, cs[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := b.sent("a", care360.PushDelivery{ID: cs[0].ID, Token: cs[0].Token, Ref: 3}); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(2 * time.Minute)
	if _, err := b.pushes.SweepPushes(b.ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if c := b.counts(t, p.ID); c[care360.PushAnswered] != 1 || c[care360.PushNoAnswer] != 0 {
		t.Fatalf("counts %v", c)
	}
	if err := b.pushes.PushFinished(b.ctx, cs[0].ID, care360.PushCompleted); err != nil {
		t.Fatal(err)
	}
	if c := b.counts(t, p.ID); c[care360.PushCompleted] != 1 {
		t.Fatalf("counts %v", c)
	}
}

// A notification's ending is found by its member and dialogue number,
// written in a batch with its record; an acknowledgement delivered twice,
// or for a number that was no notification's, changes nothing more.
func TestNotificationEndingsWrittenInBatches(t *testing.T) {
	t.Parallel()
	b := setupPushes(t)
	seen, dropped := b.subscriber(t), b.subscriber(t)
	p := b.push(t, care360.NewPush{Segment: &care360.Segment{MSISDNs: []care360.MSISDN{seen, dropped}}, Kind: care360.PushNotify,
		Text: "Qua Tet", FallbackSMS: true})
	cs := b.claimPushes(t, "a")
	ref := map[care360.MSISDN]int{}
	for _, c := range cs {
		ref[c.MSISDN] = care360.PushRef(c.ID)
	}
	b.pushes.NotificationEnded(seen, ref[seen], care360.PushCompleted, "c360ussd")
	b.pushes.NotificationEnded(seen, ref[seen], care360.PushCompleted, "c360ussd")
	b.pushes.NotificationEnded(dropped, ref[dropped], care360.PushNoAnswer, "c360ussd")
	b.pushes.NotificationEnded(dropped, ref[dropped]+1, care360.PushCompleted, "c360ussd")
	if err := b.pushes.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs { // the sender's record comes after: the phones' word stands
		if err := b.sent("a", care360.PushDelivery{ID: c.ID, Token: c.Token, Ref: care360.PushRef(c.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	if c := b.counts(t, p.ID); c[care360.PushCompleted] != 1 || c[care360.PushNoAnswer] != 1 || c[care360.PushFellBack] != 1 {
		t.Fatalf("counts %v", c)
	}
	if msg := b.only(t, dropped); msg.Text != "Qua Tet" {
		t.Fatalf("fallback %+v", msg)
	}
	var outcomes []string
	err := b.db.DialogueRecords(b.ctx, care360.DialogueQuery{From: b.clock.Now().Add(-time.Hour), To: b.clock.Now().Add(time.Hour)},
		func(r *care360.DialogueRecord) error {
			if r.MSISDN == seen || r.MSISDN == dropped {
				outcomes = append(outcomes, string(r.MSISDN)+":"+r.Outcome+":"+r.Channel)
			}
			return nil
		})
	if err != nil || len(outcomes) != 2 {
		t.Fatalf("records %v, %v", outcomes, err)
	}
}

// A push that could not be shown ends failed and is set aside with its
// reason (PRODUCT.md §8), and falls back to SMS if asked.
func TestFailedPushSetAside(t *testing.T) {
	t.Parallel()
	b := setupPushes(t)
	m := b.subscriber(t)
	p := b.push(t, care360.NewPush{MSISDN: m, Kind: care360.PushMenu, Screen: care360.PushScreen{Gift: 999}, Text: "Qua", FallbackSMS: true})
	cs := b.claimPushes(t, "a")
	if err := b.pushes.PushEnd(b.ctx, "a", cs[0].ID, cs[0].Token, care360.PushFailed, "gift 999: not found"); err != nil {
		t.Fatal(err)
	}
	if err := b.pushes.PushEnd(b.ctx, "a", cs[0].ID, cs[0].Token, care360.PushFailed, "again"); err == nil {
		t.Fatal("a target ended twice")
	}
	dl, err := b.db.DeadLetters(b.ctx, care360.DeadLetterFilter{Kind: care360.DeadLetterPush})
	if err != nil || len(dl) != 1 || dl[0].Reason != "gift 999: not found" || dl[0].Ref != fmt.Sprint(cs[0].ID) {
		t.Fatalf("dead letters %+v, %v", dl, err)
	}
	if c := b.counts(t, p.ID); c[care360.PushFailed] != 1 || c[care360.PushFellBack] != 1 {
		t.Fatalf("counts %v", c)
	}
}

// A backlog of endings larger than a batch (a whole segment acknowledging
// at once, or what waited through an outage) is written by one flush, a
// batch per transaction, each ending its target.
func TestNotificationBacklogWrittenBatchByBatch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	pushes := store.NewPushes(store.NewSMS(b.db, care360.SMSRules{}), time.Minute, "*090#")
	const n = 2500
	ids, msisdns := sentNotification(t, b.db.Pool(), "8478", n)
	for i, id := range ids {
		pushes.NotificationEnded(care360.MSISDN(msisdns[i]), care360.PushRef(id), care360.PushCompleted, "c360ussd")
	}
	if err := pushes.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var completed, records int
	if err := b.db.Pool().QueryRow(ctx, `SELECT
		(SELECT count(*) FROM ussd_push_targets WHERE state = 'completed'),
		(SELECT count(*) FROM dialogue_records WHERE channel = 'push' AND msisdn LIKE '8478%')`).Scan(&completed, &records); err != nil {
		t.Fatal(err)
	}
	if completed != n || records != n {
		t.Errorf("after one flush of %d endings: %d targets completed and %d records, want %d each", n, completed, records, n)
	}
}

// sentNotification stores a notification push to n numbers (prefix, then
// the target's position, 11 digits in all) with every target sent, as
// the writer of endings finds them, and returns the targets' ids and
// numbers in the order of their ids.
func sentNotification(t *testing.T, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, prefix string, n int) (ids []int64, msisdns []string) {
	t.Helper()
	rows, err := q.Query(t.Context(), `
		WITH p AS (
			INSERT INTO ussd_pushes (kind, segment, marketing, fallback_sms, expires_at, created_at)
			VALUES ('notify', '{}', false, false, now() + interval '1 hour', now()) RETURNING id
		), t AS (
			INSERT INTO ussd_push_targets (push_id, msisdn, marketing, state, sent_at, not_before, expires_at)
			SELECT p.id, $1 || lpad(g::text, 11 - length($1), '0'), false, 'sent', now(), now(), now() + interval '1 hour'
			FROM p, generate_series(1, $2) g
			RETURNING id, msisdn
		)
		SELECT id, msisdn FROM t ORDER BY id`, prefix, n)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	var msisdn string
	if _, err := pgx.ForEachRow(rows, []any{&id, &msisdn}, func() error {
		ids, msisdns = append(ids, id), append(msisdns, msisdn)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ids, msisdns
}
