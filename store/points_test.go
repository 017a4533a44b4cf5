package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/care360/care360"
)

// credit adds points with a unique key and fails the test on error.
func credit(t *testing.T, b *bundle, m care360.MSISDN, kind care360.PointsKind, n int64, key string) *care360.LedgerEntry {
	t.Helper()
	e, replay, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: kind, Points: n, Reason: "test", IdempotencyKey: key})
	if err != nil || replay {
		t.Fatalf("credit %d (%s): replay %v, %v", n, key, replay, err)
	}
	return e
}

func balance(t *testing.T, b *bundle, m care360.MSISDN) care360.PointsBalance {
	t.Helper()
	bal, err := b.db.Balance(b.ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	return bal
}

func TestCreditDebitReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.subscriber(t)
	c := credit(t, b, m, care360.PointsQualifying, 100, "usage-1")
	if c.Points != 100 || c.ExpiresAt == nil || !c.ExpiresAt.Equal(at("2027-11-30 23:59").Add(59e9)) {
		t.Errorf("credit entry %+v (expires %v)", c, c.ExpiresAt)
	}
	debit := care360.PointsChange{Kind: care360.PointsBonus, Points: -30, Reason: "gift 7", IdempotencyKey: "claim-7"}
	d, replay, err := b.db.ChangePoints(b.ctx, m, debit)
	if err != nil || replay || d.Points != -30 || d.ExpiresAt != nil {
		t.Fatalf("debit = %+v, %v, %v", d, replay, err)
	}
	want := care360.PointsBalance{Spendable: 70, Qualifying: 100, NextExpiry: &care360.Expiring{Points: 70, Date: day("2027-11-30")}}
	if diff := cmp.Diff(want, balance(t, b, m)); diff != "" {
		t.Errorf("balance (-want +got):\n%s", diff)
	}

	// A retried request returns the original entry and changes nothing.
	d2, replay, err := b.db.ChangePoints(b.ctx, m, debit)
	if err != nil || !replay || !cmp.Equal(d, d2) {
		t.Errorf("replayed debit = %+v, %v, %v; want %+v", d2, replay, err, d)
	}
	if _, replay, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsQualifying, Points: 100, Reason: "test", IdempotencyKey: "usage-1"}); err != nil || !replay {
		t.Errorf("replayed credit: %v, %v", replay, err)
	}

	_, _, err = b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: -71, Reason: "gift 8", IdempotencyKey: "claim-8"})
	wantCode(t, err, care360.EREFUSED)
	if r := care360.ErrorReason(err); r != care360.ReasonInsufficientPoints {
		t.Errorf("reason %q", r)
	}
	if got := balance(t, b, m).Spendable; got != 70 {
		t.Errorf("spendable after a refused debit: %d", got)
	}

	_, _, err = b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: "gold", Points: 1, Reason: "x", IdempotencyKey: "x"})
	wantCode(t, err, care360.EINVALID)

	l, err := b.db.Ledger(b.ctx, m, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[0].ID != d.ID || l[1].ID != c.ID {
		t.Errorf("ledger: %+v", l)
	}
}

// Spending takes the earliest-expiring points first, whatever their kind:
// what is left of each credit shows as time passes its expiry.
func TestEarliestExpiryFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.subscriber(t)
	b.clock.Set(at("2026-01-15 09:00"))
	credit(t, b, m, care360.PointsBonus, 100, "jan") // expires 31 Jan 2027
	b.clock.Set(at("2026-03-10 09:00"))
	credit(t, b, m, care360.PointsQualifying, 100, "mar") // expires 31 Mar 2027
	b.clock.Set(at("2026-03-20 09:00"))
	credit(t, b, m, care360.PointsBonus, 10, "mar-2") // expires 31 Mar 2027 too
	if _, _, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: -50, Reason: "gift", IdempotencyKey: "spend"}); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		now  string
		want care360.PointsBalance
	}{
		{"2026-03-20 10:00", care360.PointsBalance{Spendable: 160, Qualifying: 100, Bonus: 60, NextExpiry: &care360.Expiring{Points: 50, Date: day("2027-01-31")}}},
		{"2027-01-31 23:58", care360.PointsBalance{Spendable: 160, Qualifying: 100, Bonus: 60, NextExpiry: &care360.Expiring{Points: 50, Date: day("2027-01-31")}}},
		// The January credit's other 50 expired; the debit had not touched March's.
		{"2027-02-01 00:00", care360.PointsBalance{Spendable: 110, Qualifying: 100, Bonus: 10, NextExpiry: &care360.Expiring{Points: 110, Date: day("2027-03-31")}}},
		// Earned more than 12 months ago: no longer counts for tier, still spendable.
		{"2027-03-11 00:00", care360.PointsBalance{Spendable: 110, Qualifying: 0, Bonus: 10, NextExpiry: &care360.Expiring{Points: 110, Date: day("2027-03-31")}}},
		{"2027-04-01 00:00", care360.PointsBalance{}},
	}
	for _, s := range steps {
		b.clock.Set(at(s.now))
		if diff := cmp.Diff(s.want, balance(t, b, m)); diff != "" {
			t.Errorf("at %s (-want +got):\n%s", s.now, diff)
		}
	}
	// Expired points cannot be spent.
	_, _, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: -1, Reason: "gift", IdempotencyKey: "late"})
	wantCode(t, err, care360.EREFUSED)
}

func TestTierUpgradeOnCredit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.subscriber(t)
	tier := func() care360.Tier {
		t.Helper()
		s, err := b.db.Subscriber(b.ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return s.Tier
	}
	steps := []struct {
		kind care360.PointsKind
		n    int64
		want care360.Tier
	}{
		{care360.PointsQualifying, 1999, care360.TierDong},
		{care360.PointsQualifying, 1, care360.TierBac},
		{care360.PointsBonus, 50000, care360.TierBac}, // bonus never buys a tier
		{care360.PointsQualifying, 3000, care360.TierTitan},
		{care360.PointsQualifying, -4000, care360.TierTitan}, // spending does not downgrade
	}
	for i, s := range steps {
		if _, _, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: s.kind, Points: s.n, Reason: "t", IdempotencyKey: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		if got := tier(); got != s.want {
			t.Errorf("after %d %s: tier %s, want %s", s.n, s.kind, got, s.want)
		}
	}
	// Points earned more than 12 months ago do not count.
	old := care360.PointsChange{Kind: care360.PointsQualifying, Points: 50000, Reason: "late feed", IdempotencyKey: "old", At: at("2025-11-01 00:00")}
	if _, _, err := b.db.ChangePoints(b.ctx, m, old); err != nil {
		t.Fatal(err)
	}
	if got := tier(); got != care360.TierTitan {
		t.Errorf("after points earned 13 months ago: %s", got)
	}
}

// TestAccountReadsOneSnapshot: the subscriber, the qualifying total and
// the open credits come from one snapshot, so an account read while points
// are credited never shows credits its qualifying total does not hold yet
// (the API once showed 2,500 spendable and 0 qualifying right after a
// posting).
func TestAccountReadsOneSnapshot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	m := b.subscriber(t)
	stop := make(chan struct{})
	var credits sync.WaitGroup
	credits.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := b.db.ChangePoints(b.ctx, m, care360.PointsChange{Kind: care360.PointsQualifying, Points: 1,
				Reason: "snapshot", IdempotencyKey: fmt.Sprint("snap-", i)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 2000 {
		_, bal, err := b.db.Account(b.ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if bal.Spendable != bal.Qualifying {
			close(stop)
			credits.Wait()
			t.Fatalf("one read: %d spendable, %d qualifying; every credit is qualifying", bal.Spendable, bal.Qualifying)
		}
	}
	close(stop)
	credits.Wait()
}
