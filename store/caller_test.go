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
	s, d, err := b.db.Caller(b.ctx, m, key, time.Minute)
	if err != nil || s == nil || s.MSISDN != m || d != nil {
		t.Fatalf("member without dialogue: %+v %+v %v", s, d, err)
	}
	if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: key, MSISDN: m, State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if s, d, err = b.db.Caller(b.ctx, m, key, time.Minute); err != nil || s == nil || d == nil || d.Key != key {
		t.Fatalf("member with dialogue: %+v %+v %v", s, d, err)
	}
	b.clock.Add(2 * time.Minute)
	if _, d, err = b.db.Caller(b.ctx, m, key, time.Minute); err != nil || d != nil {
		t.Fatalf("idle dialogue returned: %+v %v", d, err)
	}
	stranger := newMSISDN()
	if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: "k/" + string(stranger), MSISDN: stranger, State: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	s, d, err = b.db.Caller(b.ctx, stranger, "k/"+string(stranger), time.Minute)
	if care360.ErrorCode(err) != care360.ENOTFOUND || s != nil || d == nil {
		t.Fatalf("stranger: %+v %+v %v", s, d, err)
	}
}
