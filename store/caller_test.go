package store_test

import (
	"testing"
	"time"

	"github.com/care360/care360"
)

// TestCaller reads a subscriber and a dialogue in one round trip, and still
// returns the dialogue of a caller who is not a member.
func TestCaller(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.subscriber(t)
	key := "resume/" + string(m)
	dropped := care360.CallerQuery{DroppedKey: key, DroppedWithin: time.Minute}
	s, d, _, err := b.db.Caller(b.ctx, m, dropped)
	if err != nil || s == nil || s.MSISDN != m || d != nil {
		t.Fatalf("member without dialogue: %+v %+v %v", s, d, err)
	}
	if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: key, MSISDN: m, State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if s, d, _, err = b.db.Caller(b.ctx, m, dropped); err != nil || s == nil || d == nil || d.Key != key {
		t.Fatalf("member with dialogue: %+v %+v %v", s, d, err)
	}
	b.clock.Add(2 * time.Minute)
	if _, d, _, err = b.db.Caller(b.ctx, m, dropped); err != nil || d != nil {
		t.Fatalf("idle dialogue returned: %+v %v", d, err)
	}
	stranger := newMSISDN()
	if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: "k/" + string(stranger), MSISDN: stranger, State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	s, d, _, err = b.db.Caller(b.ctx, stranger, care360.CallerQuery{DroppedKey: "k/" + string(stranger), DroppedWithin: time.Minute})
	if care360.ErrorCode(err) != care360.ENOTFOUND || s != nil || d == nil {
		t.Fatalf("stranger: %+v %+v %v", s, d, err)
	}
}

// TestCallerReplaces ends the caller's dialogues in progress in the same
// round trip, returning them, and leaves the one kept for resuming, idle
// ones and other callers' alone; without Replace it ends nothing.
func TestCallerReplaces(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m, other := b.subscriber(t), b.subscriber(t)
	save := func(key string, msisdn care360.MSISDN) {
		t.Helper()
		if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: key, MSISDN: msisdn, State: []byte(`{"id":"x"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	save("idle/"+string(m), m)
	b.clock.Add(10 * time.Minute)
	save("a/"+string(m), m)
	save("b/"+string(m), m)
	save("resume/"+string(m), m)
	save("a/"+string(other), other)
	q := care360.CallerQuery{Replace: true, Idle: 5 * time.Minute, DroppedKey: "resume/" + string(m), DroppedWithin: time.Minute}

	if _, _, ds, err := b.db.Caller(b.ctx, m, care360.CallerQuery{Idle: 5 * time.Minute}); err != nil || len(ds) != 0 {
		t.Fatalf("without Replace: %d ended, %v", len(ds), err)
	}
	s, d, ds, err := b.db.Caller(b.ctx, m, q)
	if err != nil || s == nil || d == nil || d.Key != "resume/"+string(m) {
		t.Fatalf("caller: %+v %+v %v", s, d, err)
	}
	var keys []string
	for _, d := range ds {
		keys = append(keys, d.Key)
	}
	if len(keys) != 2 || !(keys[0] == "a/"+string(m) && keys[1] == "b/"+string(m) || keys[1] == "a/"+string(m) && keys[0] == "b/"+string(m)) {
		t.Fatalf("replaced %v, want the two in progress", keys)
	}
	for key, want := range map[string]bool{"a/" + string(m): false, "b/" + string(m): false, "resume/" + string(m): true,
		"idle/" + string(m): true, "a/" + string(other): true} {
		d, err := b.db.LoadDialogue(b.ctx, key, 0)
		if err != nil || (d != nil) != want {
			t.Errorf("%s: kept %v, want %v (%v)", key, d != nil, want, err)
		}
	}
}
