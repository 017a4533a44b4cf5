package store_test

import (
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// The dashboard's SMS figures: what the SMSC accepted and refused, and the
// messages delivered or undeliverable, each counted once even when the SMSC
// repeats a receipt; the queue by state; open dialogues; all read back per
// 10-second slot after one flush.
func TestOperationsFigures(t *testing.T) {
	t.Parallel()
	b := setupSMS(t)
	traffic := b.db.NewTrafficCounter(time.Hour)
	b.sms.CountInto(traffic)
	m := newMSISDN()
	ok := b.send(t, m, care360.KindTransactional, "delivered", "ok")
	lost := b.send(t, m, care360.KindTransactional, "lost", "lost")
	refused := b.send(t, m, care360.KindTransactional, "refused", "refused")
	b.send(t, m, care360.KindTransactional, "waiting", "waiting")
	b.claim(t, "a", 3)
	b.settle(t, "a", submitted(ok.ID, "S1", "S2"), submitted(lost.ID, "S3"),
		care360.Outcome{ID: refused.ID, Kind: care360.OutcomeFailed, Error: "ESME_RINVDSTADR"})
	b.send(t, m, care360.KindTransactional, "being sent", "sending")
	b.claim(t, "b", 1) // the oldest still queued: "waiting"
	for _, r := range []care360.Receipt{
		{SMSCID: "S1", State: care360.ReceiptDelivered}, {SMSCID: "S2", State: care360.ReceiptDelivered},
		{SMSCID: "S2", State: care360.ReceiptDelivered}, // repeated by the SMSC
		{SMSCID: "S3", State: care360.ReceiptUndeliverable},
	} {
		r.At = b.clock.Now()
		if _, err := b.sms.Receipts(b.ctx, []care360.Receipt{r}); err != nil {
			t.Fatal(err)
		}
	}
	traffic.Count(care360.USSDBegin, false)
	traffic.Count(care360.USSDAnswer, true)
	if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: "open-1", MSISDN: m, State: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := traffic.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}

	now := b.clock.Now()
	ops, err := b.db.Operations(b.ctx, now.Add(-time.Hour), now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(ops.Slots) != 1 {
		t.Fatalf("slots %+v, want the one slot of now", ops.Slots)
	}
	want := care360.TrafficSlot{At: now.UTC().Truncate(care360.SlotLength), USSDDials: 1, USSDSteps: 2, USSDFailures: 1,
		SMSSubmitted: 2, SMSDelivered: 1, SMSFailed: 2}
	if got := ops.Slots[0]; !got.At.Equal(want.At) || got.USSDDials != 1 || got.USSDSteps != 2 || got.USSDFailures != 1 ||
		got.SMSSubmitted != 2 || got.SMSDelivered != 1 || got.SMSFailed != 2 {
		t.Errorf("slot %+v, want %+v", got, want)
	}
	if ops.Queue != (care360.SMSQueueStates{Queued: 1, Sending: 1}) {
		t.Errorf("queue %+v, want one queued and one being sent", ops.Queue)
	}
	if ops.OpenDialogues != 1 {
		t.Errorf("open dialogues %d, want 1", ops.OpenDialogues)
	}
	// An idle dialogue is no longer open.
	if ops, err := b.db.Operations(b.ctx, now, now.Add(time.Minute)); err != nil || ops.OpenDialogues != 0 {
		t.Errorf("dialogues active after a minute from now: %+v, %v", ops, err)
	}
}

// Each job's latest run is kept per instance, and the dashboard reads the
// latest of any instance; an instance silent for a week is forgotten.
func TestJobRuns(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	t0 := b.clock.Now()
	run := func(job, instance string, at time.Time, failure string) {
		t.Helper()
		b.clock.Set(at)
		if err := b.db.RecordJobRun(b.ctx, care360.JobRun{Job: job, Instance: instance, StartedAt: at.Add(-time.Second),
			FinishedAt: at, OK: failure == "", Error: failure}); err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	run("expiry", "old", t0, "")
	run("tier-review", "gw-1", t0.Add(6*day), "")
	run("tier-review", "gw-2", t0.Add(6*day+time.Minute), "connection refused")
	run("expiry", "gw-1", t0.Add(8*day), "")
	ops, err := b.db.Operations(b.ctx, t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops.Jobs) != 2 || ops.Jobs[0].Job != "expiry" || ops.Jobs[0].Instance != "gw-1" ||
		ops.Jobs[1].Job != "tier-review" || ops.Jobs[1].Instance != "gw-2" || ops.Jobs[1].OK || ops.Jobs[1].Error != "connection refused" {
		t.Fatalf("jobs %+v", ops.Jobs)
	}
	var rows int
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT count(*) FROM job_runs`).Scan(&rows); err != nil || rows != 3 {
		t.Fatalf("job_runs keeps %d rows (%v), want all but the week-old one", rows, err)
	}
}
