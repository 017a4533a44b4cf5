package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

func record(id, outcome string, at time.Time, path ...string) care360.DialogueRecord {
	last := ""
	if len(path) > 0 {
		last = path[len(path)-1]
	}
	return care360.DialogueRecord{ID: id, MSISDN: "84903000001", Code: "*090#", Channel: care360.ChannelSMPP, Bind: "b",
		StartedAt: at.Add(-10 * time.Second), EndedAt: at, Steps: len(path), Path: path, Outcome: outcome, LastScreen: last}
}

// Records are written once however often a batch is sent (a flush whose
// answer was lost goes again), and the funnel counts per screen: reached
// once per dialogue however often it was entered, answered when another
// screen followed, ended on by outcome.
func TestDialogueLogAndFunnel(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	log := b.db.NewDialogueLog(time.Hour)
	now := time.Now()
	for _, r := range []care360.DialogueRecord{
		record("a", care360.OutcomeCompleted, now, "main", "gifts", "gift.confirm"),
		record("b", care360.OutcomeUserAbort, now, "main", "gifts"),
		record("c", care360.OutcomeTimeout, now, "main", "gifts", "main", "gifts"),
		record("d", care360.OutcomeInvalid, now, "main"),
		record("a", care360.OutcomeCompleted, now, "main", "gifts", "gift.confirm"), // sent again
		record("old", care360.OutcomeCompleted, now.Add(-48*time.Hour), "main"),
	} {
		log.RecordDialogue(r)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := log.Stop(ctx); err != nil { // never started: writes what is buffered
		t.Fatal(err)
	}
	var ids []string
	if err := b.db.DialogueRecords(b.ctx, care360.DialogueQuery{From: now.Add(-time.Hour), To: now.Add(time.Hour)},
		func(r *care360.DialogueRecord) error { ids = append(ids, r.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 4 {
		t.Fatalf("records %v, want a, b, c, d once each", ids)
	}
	fs, err := b.db.Funnel(b.ctx, now.Add(-time.Hour), now.Add(time.Hour), "*090#")
	if err != nil {
		t.Fatal(err)
	}
	byScreen := map[string]care360.FunnelStep{}
	for _, f := range fs {
		byScreen[f.Screen] = f
	}
	if m := byScreen["main"]; m.Reached != 4 || m.Answered != 3 || m.Ended[care360.OutcomeInvalid] != 1 || len(m.Ended) != 1 {
		t.Errorf("main: %+v", m)
	}
	if g := byScreen["gifts"]; g.Reached != 3 || g.Answered != 2 || g.Ended[care360.OutcomeUserAbort] != 1 || g.Ended[care360.OutcomeTimeout] != 1 {
		t.Errorf("gifts: %+v", g)
	}
	if c := byScreen["gift.confirm"]; c.Reached != 1 || c.Answered != 0 || c.Ended[care360.OutcomeCompleted] != 1 {
		t.Errorf("gift.confirm: %+v", c)
	}
	if fs[0].Screen != "main" {
		t.Errorf("most reached first: %+v", fs)
	}
	if other, err := b.db.Funnel(b.ctx, now.Add(-time.Hour), now.Add(time.Hour), "*1090#"); err != nil || len(other) != 0 {
		t.Errorf("another code's funnel: %+v, %v", other, err)
	}
}

// The buffer is bounded: with Postgres away, records past the bound are
// dropped and counted rather than held without limit.
func TestDialogueLogBounded(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.FreshDB(t), store.Options{})
	log := b.db.NewDialogueLog(time.Hour)
	for i := range 100_010 {
		log.RecordDialogue(care360.DialogueRecord{ID: "x" + time.Duration(i).String()})
	}
	if got := log.Dropped(); got != 10 {
		t.Fatalf("dropped %d, want 10", got)
	}
}
