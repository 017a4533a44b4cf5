package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
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
	d := &care360.Dialogue{Key: string(m), MSISDN: m, State: []byte("{}")}
	if err := b.db.SaveDialogue(b.ctx, d); err != nil {
		t.Fatal(err)
	}
	ends := b.db.NewDialogueEnds(time.Hour)
	ends.EndDialogue(d.Key, d.UpdatedAt)
	if err := ends.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := b.db.Caller(b.ctx, m, care360.CallerQuery{Replace: true, Idle: time.Minute}); care360.ErrorCode(err) != care360.ENOTFOUND {
		t.Fatal(err)
	}
	var s string
	if err := b.db.Pool().QueryRow(b.ctx, `SHOW synchronous_commit`).Scan(&s); err != nil || s != "on" {
		t.Errorf("synchronous_commit = %q after dialogue writes (%v)", s, err)
	}
}

// TestDialogueLock: one key's holders run one at a time, across two
// instances on one database; other keys do not wait; and however many
// dialogues wait for their locks, the steps holding them still get
// connections (a lock that took a connection of the pool the steps use
// would let waiting dialogues starve the ones they wait for).
func TestDialogueLock(t *testing.T) {
	t.Parallel()
	url := pgtest.DB(t)
	a, b := setupURL(t, url, store.Options{MaxConns: 2}), setupURL(t, url, store.Options{MaxConns: 2})
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	key := "lock-test/" + string(newMSISDN())
	var inside, most atomic.Int32
	step := func(db *store.DB, k string) error {
		return db.WithDialogueLock(ctx, k, func(ctx context.Context) error {
			n := inside.Add(1)
			defer inside.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			// The step's own work, on the pool.
			_, err := db.Pool().Exec(ctx, `SELECT pg_sleep(0.02)`)
			return err
		})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := range 8 {
		db := a.db
		if i%2 == 1 {
			db = b.db
		}
		wg.Go(func() { errs <- step(db, key) })
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d holders of one key at once; want 1", most.Load())
	}
	// Many keys at once on pools of two connections.
	for i := range 16 {
		wg.Go(func() { errs <- step(a.db, fmt.Sprintf("%s/%d", key, i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("step under the lock: %v", err)
		}
	}
}

// TestDialogueEnds: an ended dialogue's row goes with the next flush (or
// at Stop), but not a row saved again since its end, which is a new
// dialogue under the same key; ending one twice is no error.
func TestDialogueEnds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ends := b.db.NewDialogueEnds(time.Hour) // flushed by hand below
	m := newMSISDN()
	ended := &care360.Dialogue{Key: string(m) + "/1", MSISDN: m, State: []byte(`{"screen":"main"}`)}
	again := &care360.Dialogue{Key: string(m) + "/2", MSISDN: m, State: []byte(`{"screen":"main"}`)}
	for _, d := range []*care360.Dialogue{ended, again} {
		if err := b.db.SaveDialogue(b.ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	ends.EndDialogue(ended.Key, ended.UpdatedAt)
	ends.EndDialogue(again.Key, again.UpdatedAt)
	b.clock.Add(time.Millisecond)
	again.State = []byte(`{"screen":"gifts"}`) // a new dial under the same key, before the flush
	if err := b.db.SaveDialogue(b.ctx, again); err != nil {
		t.Fatal(err)
	}
	if d, err := b.db.LoadDialogue(b.ctx, ended.Key, 0); err != nil || d == nil {
		t.Fatalf("ended dialogue gone before the flush: %v", err)
	}
	if err := ends.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	if d, err := b.db.LoadDialogue(b.ctx, ended.Key, 0); err != nil || d != nil {
		t.Errorf("ended dialogue still there after the flush: %+v %v", d, err)
	}
	if d, err := b.db.LoadDialogue(b.ctx, again.Key, 0); err != nil || d == nil || string(d.State) != `{"screen":"gifts"}` {
		t.Errorf("the newer dialogue under an ended key: %+v %v", d, err)
	}
	ends.EndDialogue(again.Key, again.UpdatedAt)
	ends.EndDialogue(again.Key, again.UpdatedAt)
	if err := ends.Stop(b.ctx); err != nil {
		t.Fatal(err)
	}
	if d, err := b.db.LoadDialogue(b.ctx, again.Key, 0); err != nil || d != nil {
		t.Errorf("dialogue ended before Stop still there: %+v %v", d, err)
	}
}

// TestLoadDialogueForReadsTheAccountForItsAnswers: an answer the saved
// dialogue names in AccountOn comes back with the member's account, as
// Account reads it; any other answer, a missing member or an idle
// dialogue comes back without one.
func TestLoadDialogueForReadsTheAccountForItsAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.subscriber(t)
	credit(t, b, m, care360.PointsQualifying, 1200, "acct-1")
	credit(t, b, m, care360.PointsBonus, 300, "acct-2")
	key := string(m) + "/7"
	if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: key, MSISDN: m, State: []byte(`{"screen":"main"}`), AccountOn: []string{"1", "3"}}); err != nil {
		t.Fatal(err)
	}
	wantSub, wantBal, err := b.db.Account(b.ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if wantBal.Spendable != 1500 || wantBal.Qualifying != 1200 || wantBal.Bonus != 300 || wantBal.NextExpiry == nil {
		t.Fatalf("Account: %+v", wantBal)
	}
	for _, answer := range []string{"1", "3"} {
		d, a, err := b.db.LoadDialogueFor(b.ctx, key, time.Minute, m, answer)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil || string(d.State) != `{"screen":"main"}` || len(d.AccountOn) != 2 {
			t.Fatalf("answer %s: dialogue %+v", answer, d)
		}
		if a == nil {
			t.Fatalf("answer %s: no account", answer)
		}
		if a.Subscriber.MSISDN != m || a.Subscriber.Tier != wantSub.Tier ||
			a.Balance.Spendable != wantBal.Spendable || a.Balance.Qualifying != wantBal.Qualifying ||
			a.Balance.Bonus != wantBal.Bonus || *a.Balance.NextExpiry != *wantBal.NextExpiry {
			t.Errorf("answer %s: account %+v %+v, Account read %+v %+v", answer, a.Subscriber, a.Balance, wantSub, wantBal)
		}
	}
	for _, answer := range []string{"2", "", "1 "} {
		d, a, err := b.db.LoadDialogueFor(b.ctx, key, time.Minute, m, answer)
		if err != nil || d == nil || a != nil {
			t.Errorf("answer %q: dialogue %v, account %+v, %v; want the dialogue alone", answer, d != nil, a, err)
		}
	}
	if d, a, err := b.db.LoadDialogueFor(b.ctx, key, time.Minute, newMSISDN(), "1"); err != nil || d == nil || a != nil {
		t.Errorf("no such member: dialogue %v, account %+v, %v", d != nil, a, err)
	}
	b.clock.Add(2 * time.Minute)
	if d, a, err := b.db.LoadDialogueFor(b.ctx, key, time.Minute, m, "1"); err != nil || d != nil || a != nil {
		t.Errorf("idle dialogue: %+v, %+v, %v", d, a, err)
	}
	// Saved again without answers that read the account, it names none.
	if err := b.db.SaveDialogue(b.ctx, &care360.Dialogue{Key: key, MSISDN: m, State: []byte(`{"screen":"gifts"}`)}); err != nil {
		t.Fatal(err)
	}
	if d, a, err := b.db.LoadDialogueFor(b.ctx, key, time.Minute, m, "1"); err != nil || d == nil || d.AccountOn != nil || a != nil {
		t.Errorf("after a save without AccountOn: %+v, %+v, %v", d, a, err)
	}
}
