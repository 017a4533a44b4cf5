package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/care360/care360"
)

// Fifty debits of one subscriber at once: each sees the others' effects, so
// exactly as many succeed as the points allow and the rest are refused.
func TestConcurrentDebitsNeverOverspend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.subscriber(t)
	for i := range 10 { // 1000 points over credits expiring in different months
		b.clock.Set(at(fmt.Sprintf("2026-%02d-05 08:00", i+1)))
		credit(t, b, m, care360.PointsBonus, 100, fmt.Sprint("c", i))
	}
	b.clock.Set(at("2026-11-25 10:00"))

	const n, each = 50, 30
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: -each, Reason: "gift", IdempotencyKey: fmt.Sprint("d", i)})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch care360.ErrorCode(err) {
		case "":
			ok++
		case care360.EREFUSED:
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1000/each {
		t.Errorf("%d debits succeeded, want %d", ok, 1000/each)
	}
	bal := balance(t, b, m)
	var ledger int64
	entries, err := b.db.Ledger(b.ctx, m, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		ledger += e.Points
	}
	if bal.Spendable != ledger || bal.Spendable != 1000-int64(ok)*each {
		t.Errorf("spendable %d, ledger sum %d, want %d", bal.Spendable, ledger, 1000-ok*each)
	}

	// Every debit's allocations add up to the debit, and every credit's
	// remaining is its points less what was allocated from it.
	var bad int
	err = b.db.Pool().QueryRow(b.ctx, `
		SELECT count(*) FROM points_ledger l
		LEFT JOIN (SELECT debit_id, sum(points) s FROM points_allocations GROUP BY 1) d ON d.debit_id = l.id
		LEFT JOIN (SELECT credit_id, sum(points) s FROM points_allocations GROUP BY 1) c ON c.credit_id = l.id
		WHERE l.msisdn = $1 AND CASE WHEN l.points < 0 THEN coalesce(d.s, 0) <> -l.points
		                             ELSE l.remaining <> l.points - coalesce(c.s, 0) END`, m).Scan(&bad)
	if err != nil || bad != 0 {
		t.Errorf("%d ledger rows disagree with their allocations (%v)", bad, err)
	}
}

// Twenty copies of one request at once make one entry; nineteen are replays.
func TestConcurrentReplays(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.subscriber(t)
	for _, points := range []int64{500, -200} {
		key := fmt.Sprint("same-", points)
		const n = 20
		entries := make([]*care360.LedgerEntry, n)
		replays := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				entries[i], replays[i], errs[i] = b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsQualifying, Points: points, Reason: "retry storm", IdempotencyKey: key})
			})
		}
		wg.Wait()
		fresh := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !replays[i] {
				fresh++
			}
			if entries[i].ID != entries[0].ID {
				t.Errorf("%d: entry %d, want %d", points, entries[i].ID, entries[0].ID)
			}
		}
		if fresh != 1 {
			t.Errorf("%d: %d entries created, want 1", points, fresh)
		}
	}
	if got := balance(t, b, m).Spendable; got != 300 {
		t.Errorf("spendable %d, want 300", got)
	}
}
