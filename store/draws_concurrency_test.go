package store_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/draw"
	"github.com/care360/care360/internal/pgtest"
	"github.com/care360/care360/store"
)

// Two gateway instances (two pools) take every member's entry twice at
// once, and staff close the draw in the middle: each member enters at most
// once and pays at most once, every entry that was accepted is in the
// frozen list, and none lands after the close.
func TestConcurrentEntriesAndClose(t *testing.T) {
	t.Parallel()
	url := pgtest.DB(t)
	a, b := setupURL(t, url, store.Options{MaxConns: 16}), setupURL(t, url, store.Options{MaxConns: 16})
	pools := []*store.Draws{store.NewDraws(a.db), store.NewDraws(b.db)}
	staff := store.NewDraws(setupURL(t, url, store.Options{MaxConns: 2}).db) // the admin API's instance
	d := newDraw(t, a, nil)
	const n = 1500
	ms := members(t, a, "8497300", n, care360.TierTitan, 250)

	type attempt struct {
		entry *care360.DrawEntry
		err   error
	}
	got := make([]attempt, 2*n)
	var wg sync.WaitGroup
	var done atomic.Int64
	for i := range 2 * n {
		wg.Go(func() {
			e, err := pools[i%2].EnterDraw(a.ctx, d.ID, ms[i/2], "")
			got[i] = attempt{e, err}
			done.Add(1)
		})
	}
	// Close when about a third of the attempts are done, while the rest
	// are in flight.
	for done.Load() < 2*n/3 {
		time.Sleep(time.Millisecond)
	}
	closed, closeErr := staff.CloseDraw(a.ctx, d.ID)
	wg.Wait()
	if closeErr != nil {
		t.Fatal(closeErr)
	}
	accepted := map[int64]care360.MSISDN{}
	perMember := map[care360.MSISDN]int{}
	for _, g := range got {
		switch {
		case g.err == nil:
			accepted[g.entry.ID] = g.entry.MSISDN
			perMember[g.entry.MSISDN]++
		case care360.ErrorReason(g.err) == care360.ReasonLimitReached, care360.ErrorReason(g.err) == care360.ReasonWindow:
		default:
			t.Fatalf("unexpected error: %v", g.err)
		}
	}
	for m, k := range perMember {
		if k != 1 {
			t.Fatalf("%s entered %d times", m, k)
		}
	}
	if int(closed.Entries) != len(accepted) || len(accepted) == 0 {
		t.Fatalf("%d entries accepted, %d frozen", len(accepted), closed.Entries)
	}
	audit, err := pools[0].DrawAudit(a.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range audit.Entries {
		if _, ok := accepted[e.ID]; !ok {
			t.Fatalf("entry %d is frozen but was never accepted", e.ID)
		}
	}
	if got := draw.Hex(draw.Digest(d.ID, audit.Entries)); got != closed.EntriesDigest {
		t.Fatalf("digest of the frozen entries %s, published %s", got, closed.EntriesDigest)
	}
	// Points: each accepted entry cost 100 once, and nobody else paid.
	var paid, debits int64
	err = a.db.Pool().QueryRow(a.ctx, `SELECT coalesce(-sum(points), 0), count(*) FROM points_ledger
		WHERE msisdn = ANY($1) AND points < 0`, ms).Scan(&paid, &debits)
	if err != nil || paid != 100*int64(len(accepted)) || debits != int64(len(accepted)) {
		t.Fatalf("%d points in %d debits for %d entries (%v)", paid, debits, len(accepted), err)
	}
	t.Logf("%d of %d members entered before the close", len(accepted), n)
}
