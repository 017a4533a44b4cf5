package store_test

import (
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

func TestDialogue(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := newMSISDN()
	key := string(m) + "/1"
	load := func(idle time.Duration) *care360.Dialogue {
		t.Helper()
		d, err := b.db.LoadDialogue(b.ctx, key, idle)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := load(time.Minute); d != nil {
		t.Fatalf("missing dialogue: %+v", d)
	}
	d := &care360.Dialogue{Key: key, MSISDN: m, State: []byte(`{"screen":"main"}`)}
	if err := b.db.SaveDialogue(b.ctx, d); err != nil {
		t.Fatal(err)
	}
	if !d.UpdatedAt.Equal(b.clock.Now()) {
		t.Errorf("UpdatedAt %v, want the store's clock %v", d.UpdatedAt, b.clock.Now())
	}
	b.clock.Add(30 * time.Second)
	d.State = []byte(`{"screen":"points"}`)
	if err := b.db.SaveDialogue(b.ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := load(time.Minute); got == nil || string(got.State) != `{"screen":"points"}` || got.MSISDN != m || !got.UpdatedAt.Equal(d.UpdatedAt) {
		t.Fatalf("loaded %+v", got)
	}
	b.clock.Add(61 * time.Second)
	if got := load(time.Minute); got != nil {
		t.Errorf("idle dialogue loaded: %+v", got)
	}
	if got := load(0); got == nil {
		t.Error("idle 0 should load a dialogue of any age")
	}
	for range 2 { // deleting a missing dialogue is no error
		if err := b.db.DeleteDialogue(b.ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if got := load(0); got != nil {
		t.Errorf("deleted dialogue loaded: %+v", got)
	}
	wantCode(t, b.db.SaveDialogue(b.ctx, &care360.Dialogue{MSISDN: m}), care360.EINVALID)
}

// The asynchronous commit of a dialogue write must not leak into the
// connection's later transactions, which may be moving points.
func TestDialogueAsyncCommitStaysLocal(t *testing.T) {
	t.Parallel()
	b := setupURL(t, pgtest.DB(t), store.Options{MaxConns: 1}) // one connection: the same session throughout
	if _, err := b.db.Pool().Exec(b.ctx, `SET synchronous_commit = on`); err != nil {
		t.Fatal(err)
	}
	m := newMSISDN()
	if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: string(m), MSISDN: m, State: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := b.db.DeleteDialogue(b.ctx, string(m)); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := b.db.Pool().QueryRow(b.ctx, `SHOW synchronous_commit`).Scan(&s); err != nil || s != "on" {
		t.Errorf("synchronous_commit = %q after dialogue writes (%v)", s, err)
	}
}
