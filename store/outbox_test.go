package store_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// smsBundle is a store on a database of the test's own: claims take
// whatever is due, so tests that claim must not share a queue.
type smsBundle struct {
	*bundle
	sms *store.SMS

	mu     sync.Mutex
	tokens map[int64]int64 // each message's latest lease token, from claim
}

func setupSMS(t *testing.T) *smsBundle {
	t.Helper()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	return &smsBundle{bundle: b, sms: store.NewSMS(b.db, care360.SMSRules{}), tokens: map[int64]int64{}}
}

func (b *smsBundle) send(t *testing.T, m care360.MSISDN, kind care360.MessageKind, text, key string) *care360.Message {
	t.Helper()
	msg, replay, err := b.sms.Send(b.ctx, care360.OutgoingSMS{MSISDN: m, Text: text, Kind: kind, IdempotencyKey: key})
	if err != nil || replay {
		t.Fatalf("Send(%s): replay %v, %v", key, replay, err)
	}
	return msg
}

func (b *smsBundle) claim(t *testing.T, owner string, n int) []care360.OutboxClaim {
	t.Helper()
	cs, err := b.sms.Claim(b.ctx, owner, n, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	for _, c := range cs {
		b.tokens[c.ID] = c.Token
	}
	b.mu.Unlock()
	return cs
}

// settle records outcomes; one without a token gets its message's latest
// claim's, as the sender holding that claim would send it.
func (b *smsBundle) settle(t *testing.T, owner string, os ...care360.Outcome) (fenced int) {
	t.Helper()
	b.mu.Lock()
	for i := range os {
		if os[i].Token == 0 {
			os[i].Token = b.tokens[os[i].ID]
		}
	}
	b.mu.Unlock()
	fenced, err := b.sms.Settle(b.ctx, owner, os)
	if err != nil {
		t.Fatal(err)
	}
	return fenced
}

// status returns the message's status as the API shows it.
func (b *smsBundle) status(t *testing.T, m care360.MSISDN, id int64) care360.Message {
	t.Helper()
	ms, err := b.sms.Messages(b.ctx, m, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ms {
		if x.ID == id {
			return x
		}
	}
	t.Fatalf("message %d of %s not found in %+v", id, m, ms)
	return care360.Message{}
}

func submitted(id int64, smsc ...string) care360.Outcome {
	o := care360.Outcome{ID: id, Kind: care360.OutcomeSubmitted, TotalParts: len(smsc)}
	for i, s := range smsc {
		o.Parts = append(o.Parts, care360.SubmittedPart{Part: i + 1, SMSCID: s})
	}
	return o
}

func TestSendIsIdempotent(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := newMSISDN()
	first := b.send(t, m, care360.KindTransactional, "Ma qua: ABC", "gift-1")
	again, replay, err := b.sms.Send(b.ctx, care360.OutgoingSMS{MSISDN: m, Text: "other", Kind: care360.KindTransactional, IdempotencyKey: "gift-1"})
	if err != nil || !replay || again.ID != first.ID || again.Text != "Ma qua: ABC" {
		t.Fatalf("replay = %+v, %v, %v", again, replay, err)
	}
	if first.Status != care360.MessageQueued || first.Kind != care360.KindTransactional {
		t.Errorf("new message %+v", first)
	}
	_, _, err = b.sms.Send(b.ctx, care360.OutgoingSMS{MSISDN: m, Kind: care360.KindTransactional, IdempotencyKey: "x"})
	wantCode(t, err, care360.EINVALID)
}

func TestClaimSettle(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := newMSISDN()
	ok := b.send(t, m, care360.KindTransactional, "one", "k1")
	bad := b.send(t, m, care360.KindTransactional, "two", "k2")
	busy := b.send(t, m, care360.KindTransactional, "three", "k3")

	cs := b.claim(t, "a", 10)
	if len(cs) != 3 || cs[0].Attempts != 1 || cs[0].Reclaimed || cs[0].MSISDN != m {
		t.Fatalf("claims %+v", cs)
	}
	if got := b.status(t, m, ok.ID).Status; got != care360.MessageSending {
		t.Errorf("claimed message is %s, want sending", got)
	}
	if more := b.claim(t, "b", 10); len(more) != 0 {
		t.Fatalf("leased messages claimed again: %+v", more)
	}
	b.settle(t, "a",
		submitted(ok.ID, "S1"),
		care360.Outcome{ID: bad.ID, Kind: care360.OutcomeFailed, Error: "submit_sm refused: 0x0000000B"},
		care360.Outcome{ID: busy.ID, Kind: care360.OutcomeRetry, RetryAfter: 30 * time.Second, Error: "ESME_RMSGQFUL",
			TotalParts: 2, Parts: []care360.SubmittedPart{{Part: 1, SMSCID: "S2"}}},
	)
	if got := b.status(t, m, ok.ID); got.Status != care360.MessageSubmitted || got.SubmittedAt == nil || got.Parts != 1 {
		t.Errorf("submitted: %+v", got)
	}
	if got := b.status(t, m, bad.ID); got.Status != care360.MessageFailed || got.Error != "submit_sm refused: 0x0000000B" {
		t.Errorf("failed: %+v", got)
	}
	if got := b.status(t, m, busy.ID); got.Status != care360.MessageQueued {
		t.Errorf("retried: %+v", got)
	}
	if cs := b.claim(t, "a", 10); len(cs) != 0 {
		t.Fatalf("retry claimed before its time: %+v", cs)
	}
	b.clock.Add(31 * time.Second)
	cs = b.claim(t, "b", 10)
	if len(cs) != 1 || cs[0].ID != busy.ID || cs[0].Attempts != 2 || len(cs[0].DoneParts) != 1 || cs[0].DoneParts[0] != 1 {
		t.Fatalf("retry claim %+v", cs)
	}
	// Released: handed back untried, due at once, the attempt not counted.
	b.settle(t, "b", care360.Outcome{ID: busy.ID, Kind: care360.OutcomeReleased})
	if cs = b.claim(t, "c", 10); len(cs) != 1 || cs[0].Attempts != 2 {
		t.Fatalf("after release %+v", cs)
	}
}

// A sender that dies keeps its lease until it lapses; then the message is
// due again, and the dead sender's late word changes nothing.
func TestLeaseRecovery(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := newMSISDN()
	msg := b.send(t, m, care360.KindTransactional, "hello", "k")
	dead := b.claim(t, "dead", 10)
	if len(dead) != 1 {
		t.Fatal("not claimed")
	}
	b.clock.Add(59 * time.Second)
	if cs := b.claim(t, "alive", 10); len(cs) != 0 {
		t.Fatal("claimed within the lease")
	}
	b.clock.Add(2 * time.Second)
	cs := b.claim(t, "alive", 10)
	if len(cs) != 1 || !cs[0].Reclaimed || cs[0].Attempts != 2 {
		t.Fatalf("recovery claim %+v", cs)
	}
	if n := b.settle(t, "dead", care360.Outcome{ID: msg.ID, Token: dead[0].Token, Kind: care360.OutcomeFailed, Error: "late"}); n != 1 {
		t.Errorf("%d outcomes fenced, want 1", n)
	}
	if got := b.status(t, m, msg.ID); got.Status != care360.MessageSending {
		t.Fatalf("dead sender's outcome applied: %+v", got)
	}
	b.settle(t, "alive", submitted(msg.ID, "S"))
	if got := b.status(t, m, msg.ID); got.Status != care360.MessageSubmitted {
		t.Fatalf("%+v", got)
	}
}

// The same sender claims a message again after its lease lapsed (it lost
// the database for longer than the lease, say): the outcome it still holds
// from the first claim is fenced off by its token, although the owner is the
// same, and only the current claim's outcome counts.
func TestSettleFencedByLeaseToken(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := newMSISDN()
	msg := b.send(t, m, care360.KindTransactional, "hello", "k")
	first := b.claim(t, "gw-1", 10)
	b.clock.Add(61 * time.Second)
	second := b.claim(t, "gw-1", 10)
	if len(first) != 1 || len(second) != 1 || second[0].Token == first[0].Token {
		t.Fatalf("claims %+v then %+v: want one each, with different tokens", first, second)
	}
	if n := b.settle(t, "gw-1", care360.Outcome{ID: msg.ID, Token: first[0].Token, Kind: care360.OutcomeFailed, Error: "stale"}); n != 1 {
		t.Errorf("%d outcomes fenced, want 1", n)
	}
	if got := b.status(t, m, msg.ID); got.Status != care360.MessageSending || got.Error != "" {
		t.Fatalf("stale outcome applied: %+v", got)
	}
	if n := b.settle(t, "gw-1", submitted(msg.ID, "S")); n != 0 {
		t.Errorf("current outcome fenced (%d)", n)
	}
	if got := b.status(t, m, msg.ID); got.Status != care360.MessageSubmitted {
		t.Fatalf("current outcome not applied: %+v", got)
	}
}

// Many senders claiming at once each get different messages.
func TestConcurrentClaimsNeverOverlap(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	const n = 600
	for i := range n {
		b.send(t, newMSISDN(), care360.KindTransactional, "x", fmt.Sprint("k", i))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			owner := fmt.Sprint("sender-", w)
			for {
				cs, err := b.sms.Claim(b.ctx, owner, 25, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				var os []care360.Outcome
				mu.Lock()
				for _, c := range cs {
					seen[c.ID]++
					o := submitted(c.ID, fmt.Sprint("S", c.ID))
					o.Token = c.Token
					os = append(os, o)
				}
				mu.Unlock()
				if _, err := b.sms.Settle(b.ctx, owner, os); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d of %d messages claimed", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %d claimed %d times", id, k)
		}
	}
}

// Transactional messages go before marketing, whatever their age.
func TestTransactionalFirst(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	ad := b.send(t, b.subscriber(t), care360.KindMarketing, "Uu dai", "ad")
	if ad.Text != "[QC] Uu dai Tu choi: soan TC gui 9237" {
		t.Errorf("marketing text %q", ad.Text)
	}
	b.clock.Add(time.Second)
	reply := b.send(t, newMSISDN(), care360.KindTransactional, "reply", "r")
	cs := b.claim(t, "a", 1)
	if len(cs) != 1 || cs[0].ID != reply.ID {
		t.Fatalf("claimed %+v first, want the reply", cs)
	}
	// Transactional only: the marketing message stays queued.
	if cs, err := b.sms.ClaimTransactional(b.ctx, "a", 10, time.Minute); err != nil || len(cs) != 0 {
		t.Fatalf("ClaimTransactional took %+v, %v; want nothing", cs, err)
	}
	if cs := b.claim(t, "a", 10); len(cs) != 1 || cs[0].ID != ad.ID {
		t.Fatalf("claimed %+v, want the marketing message left for later", cs)
	}
}

func TestReceipts(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := newMSISDN()
	long := b.send(t, m, care360.KindTransactional, "two parts", "long")
	lost := b.send(t, m, care360.KindTransactional, "lost", "lost")
	early := b.send(t, m, care360.KindTransactional, "early", "early")
	b.claim(t, "a", 10)
	b.settle(t, "a", submitted(long.ID, "L1", "L2"), submitted(lost.ID, "X1"))
	t0 := b.clock.Now()
	receipt := func(id string, st care360.ReceiptState, err string) []care360.ReceiptMatch {
		t.Helper()
		b.clock.Add(time.Second)
		ms, e := b.sms.Receipts(b.ctx, []care360.Receipt{{SMSCID: id, State: st, Error: err, At: b.clock.Now()}})
		if e != nil {
			t.Fatal(e)
		}
		return ms
	}
	if ms := receipt("L1", care360.ReceiptDelivered, ""); len(ms) != 1 || !ms[0].SubmittedAt.Equal(t0) {
		t.Fatalf("matches %+v", ms)
	}
	if got := b.status(t, m, long.ID); got.Status != care360.MessageSubmitted {
		t.Fatalf("one part of two delivered: %+v", got)
	}
	receipt("L2", care360.ReceiptDelivered, "")
	got := b.status(t, m, long.ID)
	if got.Status != care360.MessageDelivered || got.DeliveredAt == nil || !got.DeliveredAt.Equal(b.clock.Now()) {
		t.Fatalf("both parts delivered: %+v", got)
	}
	receipt("L2", care360.ReceiptEnroute, "") // late, out of order: changes nothing
	if got := b.status(t, m, long.ID); got.Status != care360.MessageDelivered {
		t.Fatalf("late receipt undid delivery: %+v", got)
	}
	receipt("X1", care360.ReceiptUndeliverable, "001")
	if got := b.status(t, m, lost.ID); got.Status != care360.MessageUndeliverable || got.Error != "undeliverable: err 001" {
		t.Fatalf("undeliverable: %+v", got)
	}
	if ms := receipt("NOBODY", care360.ReceiptDelivered, ""); len(ms) != 0 {
		t.Fatalf("unknown receipt matched %+v", ms)
	}

	// A receipt faster than the record of its submit waits for it.
	receipt("E1", care360.ReceiptDelivered, "")
	b.settle(t, "a", submitted(early.ID, "E1"))
	u, err := b.sms.Maintain(b.ctx)
	if err != nil || u.Receipts != 1 {
		t.Fatalf("Maintain = %+v, %v", u, err)
	}
	if got := b.status(t, m, early.ID); got.Status != care360.MessageDelivered {
		t.Fatalf("early receipt not applied: %+v", got)
	}
	var unmatched int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM sms_receipts_unmatched`).Scan(&unmatched); err != nil || unmatched != 1 {
		t.Fatalf("unmatched receipts kept: %d, %v (want the unknown one)", unmatched, err)
	}
}

// An outcome the database refuses for its data (here a part count outside
// the table's bounds) no longer fails the whole batch for ever: the other
// outcomes are recorded, and its message leaves the queue, keeps the
// reason and is listed as a dead letter. An SMSC id that is not text
// (binary bytes, a NUL) is kept in a text form its receipt still matches.
func TestSettlePoisonedOutcomeSetAside(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	m := newMSISDN()
	one := b.send(t, m, care360.KindTransactional, "one", "p1")
	bad := b.send(t, m, care360.KindTransactional, "two", "p2")
	binary := b.send(t, m, care360.KindTransactional, "three", "p3")
	b.claim(t, "a", 10)
	poison := submitted(bad.ID, "B1")
	poison.TotalParts = 300
	if fenced := b.settle(t, "a", submitted(one.ID, "A1"), poison, submitted(binary.ID, "\xff\x00\x01")); fenced != 0 {
		t.Errorf("%d fenced", fenced)
	}
	if got := b.status(t, m, one.ID); got.Status != care360.MessageSubmitted || got.Parts != 1 {
		t.Errorf("its neighbour: %+v", got)
	}
	got := b.status(t, m, bad.ID)
	if got.Status != care360.MessageSubmitted || !strings.Contains(got.Error, "could not record") {
		t.Errorf("the poisoned outcome: %+v", got)
	}
	if cs := b.claim(t, "b", 10); len(cs) != 0 {
		t.Errorf("claimable again: %+v", cs)
	}
	dl, err := b.db.DeadLetters(b.ctx, care360.DeadLetterFilter{Kind: care360.DeadLetterSMS})
	if err != nil || len(dl) != 1 || dl[0].Ref != fmt.Sprint(bad.ID) || !strings.Contains(dl[0].Reason, "23514") || dl[0].Attempts != 1 {
		t.Fatalf("dead letters %+v, %v", dl, err)
	}
	ms, err := b.sms.Receipts(b.ctx, []care360.Receipt{{SMSCID: "\xff\x00\x01", State: care360.ReceiptDelivered, Error: "\xfe", At: b.clock.Now()}})
	if err != nil || len(ms) != 1 {
		t.Fatalf("receipt for a binary id: %+v, %v", ms, err)
	}
	if got := b.status(t, m, binary.ID); got.Status != care360.MessageDelivered {
		t.Errorf("binary id: %+v", got)
	}
}

// Messages of one part take their status from their receipt: delivered
// never before they were recorded as submitted (a receipt may overtake the
// record of its submit), failed with the SMSC's error, each counted once
// on the dashboard however often, and in however many batches, the SMSC
// repeats the receipt; a receipt that is not final leaves the message
// submitted until the final one comes.
func TestReceiptsOfOnePartMessages(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	traffic := b.db.NewTrafficCounter(time.Hour)
	b.sms.CountInto(traffic)
	m := newMSISDN()
	fast := b.send(t, m, care360.KindTransactional, "fast", "fast")
	slow := b.send(t, m, care360.KindTransactional, "slow", "slow")
	gone := b.send(t, m, care360.KindTransactional, "gone", "gone")
	b.claim(t, "a", 3)
	sentAt := b.clock.Now()
	b.settle(t, "a", submitted(fast.ID, "F1"), submitted(slow.ID, "S1"), submitted(gone.ID, "G1"))
	receipts := func(parts int, rs ...care360.Receipt) {
		t.Helper()
		if ms, err := b.sms.Receipts(b.ctx, rs); err != nil || len(ms) != parts {
			t.Fatalf("receipts %+v: matched %+v, %v; want %d parts", rs, ms, err, parts)
		}
	}
	early := sentAt.Add(-time.Second) // the SMSC's clock, or a receipt that overtook its submit's record
	b.clock.Add(time.Second)
	receipts(3,
		care360.Receipt{SMSCID: "F1", State: care360.ReceiptDelivered, At: early},
		care360.Receipt{SMSCID: "F1", State: care360.ReceiptDelivered, At: early}, // repeated in the batch
		care360.Receipt{SMSCID: "S1", State: care360.ReceiptEnroute, At: b.clock.Now()},
		care360.Receipt{SMSCID: "G1", State: care360.ReceiptExpired, Error: "027", At: b.clock.Now()},
	)
	if got := b.status(t, m, fast.ID); got.Status != care360.MessageDelivered || got.DeliveredAt == nil || !got.DeliveredAt.Equal(sentAt) {
		t.Errorf("delivered before its submit was recorded: %+v, want delivered at %v", got, sentAt)
	}
	if got := b.status(t, m, slow.ID); got.Status != care360.MessageSubmitted || got.DeliveredAt != nil {
		t.Errorf("en route: %+v, want still submitted", got)
	}
	if got := b.status(t, m, gone.ID); got.Status != care360.MessageExpired || got.Error != "expired: err 027" {
		t.Errorf("expired: %+v", got)
	}
	b.clock.Add(time.Second)
	receipts(3,
		care360.Receipt{SMSCID: "F1", State: care360.ReceiptUndeliverable, At: b.clock.Now()}, // late: a final part stays
		care360.Receipt{SMSCID: "S1", State: care360.ReceiptDelivered, At: b.clock.Now()},
		care360.Receipt{SMSCID: "G1", State: care360.ReceiptExpired, Error: "027", At: b.clock.Now()},
	)
	if got := b.status(t, m, fast.ID); got.Status != care360.MessageDelivered || got.Error != "" {
		t.Errorf("a late receipt changed a delivered message: %+v", got)
	}
	if got := b.status(t, m, slow.ID); got.Status != care360.MessageDelivered || got.DeliveredAt == nil || !got.DeliveredAt.Equal(b.clock.Now()) {
		t.Errorf("delivered after en route: %+v, want delivered at %v", got, b.clock.Now())
	}
	if err := traffic.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	now := b.clock.Now()
	ops, err := b.db.Operations(b.ctx, now.Add(-time.Hour), now.Add(-time.Minute))
	if err != nil || len(ops.Slots) != 1 {
		t.Fatalf("slots %+v, %v", ops, err)
	}
	if got := ops.Slots[0]; got.SMSSubmitted != 3 || got.SMSDelivered != 2 || got.SMSFailed != 1 {
		t.Errorf("dashboard: %d submitted, %d delivered, %d failed; want 3, 2 and 1", got.SMSSubmitted, got.SMSDelivered, got.SMSFailed)
	}
}
