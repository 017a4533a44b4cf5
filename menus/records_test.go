package menus

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// recorded flushes log and returns msisdn's records, oldest end first.
func recorded(t *testing.T, db *store.DB, log *store.DialogueLog, msisdn care360.MSISDN) []care360.DialogueRecord {
	t.Helper()
	ctx := context.Background()
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var out []care360.DialogueRecord
	err := db.DialogueRecords(ctx, care360.DialogueQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), MSISDN: msisdn},
		func(r *care360.DialogueRecord) error {
			c := *r
			c.Path = slices.Clone(r.Path)
			out = append(out, c)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every dialogue that ends leaves one record (PRODUCT.md §3.8) with its
// code, channel, bind, steps, path and outcome: one we end, one ended by
// invalid answers, one the subscriber releases and then resumes (two
// records), one that idles out; staff's emulator dialogues leave none.
func TestDialogueRecords(t *testing.T) {
	t.Parallel()
	var log *store.DialogueLog
	b := setup(t, nil, func(c *Config) {})
	log = b.db.NewDialogueLog(time.Hour)
	e, err := New(Config{Subscribers: b.db, Points: b.db, Dialogues: b.db, Records: log, DialRate: 100, DialBurst: 100})
	if err != nil {
		t.Fatal(err)
	}
	b.e = e
	// A number of this run's: records of earlier runs (-count) stay out.
	p := b.member(t, fmt.Sprintf("0903%06d", time.Now().UnixNano()%1_000_000))
	step := func(kind care360.USSDKind, key, text string, mod func(*care360.USSDRequest)) care360.USSDReply {
		t.Helper()
		req := care360.USSDRequest{Key: key, MSISDN: p.msisdn, Kind: kind, Text: text, LimitGSM: 182, LimitUCS2: 80,
			Channel: care360.ChannelSMPP, Bind: "c360ussd"}
		if mod != nil {
			mod(&req)
		}
		r, err := e.Step(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// 1. To the points screen: we end it.
	step(care360.USSDBegin, "k1", "*090#", nil)
	if r := step(care360.USSDAnswer, "k1", "1", nil); !r.End {
		t.Fatalf("points screen did not end: %+v", r)
	}
	// 2. Three invalid answers.
	step(care360.USSDBegin, "k2", "*090#", nil)
	for range 3 {
		step(care360.USSDAnswer, "k2", "9", nil)
	}
	// 3. Released by the subscriber below the top, then resumed by a new
	// dial and taken on to the VIP screen's refusal (not a VIP tier).
	step(care360.USSDBegin, "k3", "*090#", nil)
	step(care360.USSDAnswer, "k3", "8", nil)
	step(care360.USSDAbort, "k3", "", func(r *care360.USSDRequest) { r.UserAbort = true })
	if r := step(care360.USSDBegin, "k4", "*090#", nil); r.End {
		t.Fatalf("no resume offer: %+v", r)
	}
	step(care360.USSDAnswer, "k4", "1", nil) // continue: the language screen again
	step(care360.USSDAnswer, "k4", "3", nil) // English: ends
	// 4. The emulator: staff at the keypad, no record.
	step(care360.USSDBegin, "k5", "*090#", func(r *care360.USSDRequest) { r.Console = true })
	step(care360.USSDAnswer, "k5", "1", func(r *care360.USSDRequest) { r.Console = true })
	// 5. Left on the gifts list, and dialled again under another session:
	// the new dial replaces it, and its answer finds the session over.
	step(care360.USSDBegin, "k7", "*090#", nil)
	step(care360.USSDAnswer, "k7", "8", nil)
	step(care360.USSDBegin, "k8", "*090*1#", nil)
	if r := step(care360.USSDAnswer, "k7", "1", nil); !r.End || !strings.Contains(r.Text, "ket thuc") {
		t.Fatalf("answer to a replaced dialogue: %+v", r)
	}
	// 6. Left on the main menu, idle: the sweep records a timeout.
	step(care360.USSDBegin, "k6", "*090#", func(r *care360.USSDRequest) { r.Channel, r.Bind = care360.ChannelHTTP, "" })
	n, err := b.db.EndIdleDialogues(context.Background(), time.Now().Add(time.Minute), 100, e.TimedOut)
	if err != nil || n < 1 {
		t.Fatalf("idle sweep ended %d, %v", n, err)
	}

	recs := recorded(t, b.db, log, p.msisdn)
	type summary struct {
		outcome, last, channel, bind string
		steps                        int
		path                         []string
	}
	var got []summary
	ids := map[string]bool{}
	for _, r := range recs {
		got = append(got, summary{r.Outcome, r.LastScreen, r.Channel, r.Bind, r.Steps, r.Path})
		ids[r.ID] = true
		if r.Code != "*090#" || r.EndedAt.Before(r.StartedAt) {
			t.Errorf("record %+v", r)
		}
	}
	want := []summary{
		{care360.OutcomeCompleted, "points", "smpp", "c360ussd", 2, []string{"main", "points"}},
		{care360.OutcomeInvalid, "main", "smpp", "c360ussd", 4, []string{"main"}},
		{care360.OutcomeUserAbort, "language", "smpp", "c360ussd", 3, []string{"main", "language"}},
		{care360.OutcomeCompleted, "language", "smpp", "c360ussd", 3, []string{"resume", "language"}},
		{care360.OutcomeReplaced, "language", "smpp", "c360ussd", 2, []string{"main", "language"}},
		{care360.OutcomeCompleted, "points", "smpp", "c360ussd", 1, []string{"main", "points"}},
		{care360.OutcomeTimeout, "main", "http", "", 1, []string{"main"}},
	}
	if len(got) != len(want) || len(ids) != len(want) {
		t.Fatalf("records:\n%+v\nwant\n%+v", got, want)
	}
	for i := range want {
		if g, w := got[i], want[i]; g.outcome != w.outcome || g.last != w.last || g.channel != w.channel || g.bind != w.bind ||
			g.steps != w.steps || !slices.Equal(g.path, w.path) {
			t.Errorf("record %d: %+v, want %+v", i, g, w)
		}
	}
}

// TestEndedDialoguesForgottenInBatches: with Ends, the step that ends a
// dialogue answers before its row goes; the row goes with the writer's
// next batch. Meanwhile an answer delivered twice runs its step again
// (the same screen, not "session ended"), and a new dial under the same
// key (a centre keying by number alone) survives the batch. Each
// dialogue still leaves one record.
func TestEndedDialoguesForgottenInBatches(t *testing.T) {
	t.Parallel()
	// A database of its own: TestDialogueRecords's sweep ends every idle
	// dialogue of its database, rows waiting for their batch included.
	db, err := store.Open(context.Background(), pgtest.FreshDB(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	b := &bundle{db: db}
	log := b.db.NewDialogueLog(time.Hour)
	ends := b.db.NewDialogueEnds(time.Hour) // flushed by hand below
	e, err := New(Config{Subscribers: b.db, Points: b.db, Dialogues: b.db, Records: log, Ends: ends, DialRate: 100, DialBurst: 100})
	if err != nil {
		t.Fatal(err)
	}
	p := b.member(t, fmt.Sprintf("0904%06d", time.Now().UnixNano()%1_000_000))
	key := string(p.msisdn)
	step := func(kind care360.USSDKind, text string) care360.USSDReply {
		t.Helper()
		r, err := e.Step(context.Background(), care360.USSDRequest{Key: key, MSISDN: p.msisdn, Kind: kind, Text: text,
			LimitGSM: 182, LimitUCS2: 80, Channel: care360.ChannelSMPP})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	stored := func() bool {
		t.Helper()
		d, err := b.db.LoadDialogue(context.Background(), key, 0)
		if err != nil {
			t.Fatal(err)
		}
		return d != nil
	}

	step(care360.USSDBegin, "*090#")
	points := step(care360.USSDAnswer, "1")
	if !points.End || !stored() {
		t.Fatalf("the ending step waited for the delete (stored %v) or did not end: %+v", stored(), points)
	}
	if again := step(care360.USSDAnswer, "1"); again != points {
		t.Fatalf("the answer delivered twice: %+v, want the same screen %+v", again, points)
	}
	if err := ends.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if stored() {
		t.Fatal("ended dialogue still stored after the batch")
	}
	if late := step(care360.USSDAnswer, "1"); !late.End || !strings.Contains(late.Text, "ket thuc") {
		t.Fatalf("answer after the batch: %+v, want the session ended", late)
	}

	// Ended, then dialled again under the same key before the batch.
	step(care360.USSDBegin, "*090#")
	step(care360.USSDAnswer, "1")
	if r := step(care360.USSDBegin, "*090#"); r.End {
		t.Fatalf("new dial: %+v", r)
	}
	if err := ends.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !stored() {
		t.Fatal("the batch deleted the new dialogue under the ended one's key")
	}
	if r := step(care360.USSDAnswer, "1"); r != points {
		t.Fatalf("the new dialogue's answer: %+v, want %+v", r, points)
	}
	if err := ends.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	var outcomes []string
	for _, r := range recorded(t, b.db, log, p.msisdn) {
		outcomes = append(outcomes, r.Outcome)
	}
	want := []string{care360.OutcomeCompleted, care360.OutcomeCompleted, care360.OutcomeCompleted}
	if !slices.Equal(outcomes, want) {
		t.Fatalf("records %v, want %v", outcomes, want)
	}
}
