package store_test

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
	"github.com/care360/care360/store"
)

func (b *ledgerBundle) sweep(t *testing.T) care360.ExpirySweep {
	t.Helper()
	s, err := b.l.SweepExpired(b.ctx)
	if err != nil {
		t.Fatalf("SweepExpired: %v", err)
	}
	return s
}

// ledgerSum is the sum of every entry of m's ledger.
func (b *bundle) ledgerSum(t *testing.T, m care360.MSISDN) int64 {
	t.Helper()
	var n int64
	if err := b.db.Pool().QueryRow(b.ctx, `SELECT coalesce(sum(points), 0)::bigint FROM points_ledger WHERE msisdn = $1`, m).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Expired points leave the ledger as entries; balances never counted them,
// and after the sweep the ledger's sum is the balance again.
func TestSweepRecordsExpiry(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	m := b.subscriber(t)
	b.clock.Set(at("2026-01-15 09:00"))
	credit(t, b.bundle, m, care360.PointsQualifying, 100, "jan") // expires 31 Jan 2027
	b.clock.Set(at("2026-03-10 09:00"))
	credit(t, b.bundle, m, care360.PointsBonus, 70, "mar") // expires 31 Mar 2027
	if _, _, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: -30, Reason: "gift", IdempotencyKey: "g"}); err != nil {
		t.Fatal(err)
	}
	if s := b.sweep(t); s.Credits != 0 {
		t.Fatalf("swept before anything expired: %+v", s)
	}
	b.clock.Set(at("2027-02-01 00:00"))
	before := balance(t, b.bundle, m)
	if s := b.sweep(t); s.Credits != 1 || s.Points != 70 {
		t.Errorf("first sweep: %+v", s)
	}
	if after := balance(t, b.bundle, m); !cmp.Equal(after, before) || after.Spendable != 70 {
		t.Errorf("balance %+v before the sweep, %+v after", before, after)
	}
	if got := b.ledgerSum(t, m); got != 70 {
		t.Errorf("ledger sum %d, want the balance 70", got)
	}
	l, err := b.db.Ledger(b.ctx, m, 1)
	if err != nil || len(l) != 1 || l[0].Points != -70 || l[0].Reason != "expired" || !l[0].EarnedAt.Equal(at("2027-01-31 23:59").Add(59e9)) {
		t.Errorf("expiry entry %+v, %v", l, err)
	}
	if s := b.sweep(t); s.Credits != 0 {
		t.Errorf("second sweep: %+v", s)
	}
	b.clock.Set(at("2027-04-01 00:00"))
	if s := b.sweep(t); s.Credits != 1 || s.Points != 70 {
		t.Errorf("March sweep: %+v", s)
	}
	if got, bal := b.ledgerSum(t, m), balance(t, b.bundle, m); got != 0 || bal.Spendable != 0 {
		t.Errorf("ledger sum %d, balance %+v", got, bal)
	}
	b.checkLedger(t)
}

// Two instances sweeping at once (two pools on one database) expire each
// credit exactly once, more than a batch of them, while debits go on.
func TestSweepConcurrently(t *testing.T) {
	t.Parallel()
	b := setupLedger(t)
	other := store.NewLedger(b.db, care360.UsageRules{})
	second := setupURL(t, b.db.Pool().Config().ConnString(), store.Options{})
	second.clock.Set(at("2028-01-01 00:00"))
	third := store.NewLedger(second.db, care360.UsageRules{})

	const members, perMember = 300, 20 // 6,000 credits: more than one sweep batch
	var ms []care360.MSISDN
	for range members {
		ms = append(ms, b.subscriber(t))
	}
	b.clock.Set(at("2026-06-01 00:00"))
	_, err := b.db.Pool().Exec(b.ctx, `
		INSERT INTO points_ledger (msisdn, kind, points, remaining, reason, idempotency_key, earned_at, expires_at)
		SELECT m, 'bonus', 10, 10, 'seed', 'seed-' || g, $2, $3
		FROM unnest($1::text[]) m, generate_series(1, $4) g`,
		ms, b.clock.Now(), care360.Expiry(b.clock.Now(), hanoi), perMember)
	if err != nil {
		t.Fatal(err)
	}
	// Spend a little of the first credits before they expire.
	for _, m := range ms[:10] {
		if _, _, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: -15, Reason: "gift", IdempotencyKey: "g"}); err != nil {
			t.Fatal(err)
		}
	}
	b.clock.Set(at("2028-01-01 00:00"))
	var wg sync.WaitGroup
	results := make([]care360.ExpirySweep, 6)
	for i := range results {
		l := []*store.Ledger{b.l, other, third}[i%3]
		wg.Go(func() {
			var err error
			if results[i], err = l.SweepExpired(b.ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Whoever skipped, a last sweep finishes the work; then nothing is left.
	final := b.sweep(t)
	var credits, points int64
	for _, r := range append(results, final) {
		credits, points = credits+r.Credits, points+r.Points
	}
	wantCredits := int64(members*perMember - 10) // the 10 members each emptied one credit entirely
	wantPoints := int64(members*perMember*10 - 10*15)
	if credits != wantCredits || points != wantPoints {
		t.Errorf("swept %d credits, %d points; want %d, %d (runs %+v, final %+v)", credits, points, wantCredits, wantPoints, results, final)
	}
	var expiries, dupes int
	if err := b.db.Pool().QueryRow(b.ctx, `
		SELECT count(*), count(*) - count(DISTINCT a.credit_id) FROM points_ledger d JOIN points_allocations a ON a.debit_id = d.id
		WHERE d.reason = 'expired'`).Scan(&expiries, &dupes); err != nil {
		t.Fatal(err)
	}
	if expiries != int(wantCredits) || dupes != 0 {
		t.Errorf("%d expiry allocations, %d credits expired twice", expiries, dupes)
	}
	if s := b.sweep(t); s.Credits != 0 {
		t.Errorf("sweep after all: %+v", s)
	}
	for _, m := range ms[:3] {
		if got := b.ledgerSum(t, m); got != 0 {
			t.Errorf("%s: ledger sum %d after everything expired", m, got)
		}
	}
	b.checkLedger(t)
}
