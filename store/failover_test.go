package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/internal/pglocal"
	"github.com/care360/care360/store"
)

// TestFailoverToStandbyLosesNoCommittedPoints runs its own primary and
// synchronous streaming standby, reached through one two-host URL with
// target_session_attrs=read-write as CARE360_DATABASE_URL would be. Points
// are credited one after another (each retried under its own key until
// acknowledged) while the primary crashes and the standby is promoted:
// writes resume within 10 s and the new primary holds every acknowledged
// credit exactly once.
func TestFailoverToStandbyLosesNoCommittedPoints(t *testing.T) {
	t.Parallel()
	if _, err := pglocal.FindBinaries(); err != nil {
		t.Skip(err)
	}
	ctx := t.Context()
	primary, standby, err := pglocal.StartPair(ctx, t.TempDir(), "app", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Stop(); standby.Stop() })
	url := pglocal.MultiHostURL("app", primary, standby)
	// Migrate through the two-host URL too: the read-only standby is skipped.
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := newMSISDN()
	if _, _, err := db.Register(ctx, m, care360.LangVi); err != nil {
		t.Fatal(err)
	}

	promoted := make(chan time.Time, 1)
	go func() {
		time.Sleep(time.Second)
		if err := primary.Crash(); err != nil {
			t.Error(err)
		}
		if err := standby.Promote(context.Background()); err != nil {
			t.Error(err)
		}
		promoted <- time.Now()
	}()

	var acked int64
	var promotedAt, resumedAt time.Time
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		key := fmt.Sprintf("failover-%d", acked)
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _, err := db.ChangePoints(cctx, m, care360.PointsChange{Kind: care360.PointsBonus, Points: 1, Reason: "failover", IdempotencyKey: key})
		cancel()
		if promotedAt.IsZero() {
			select {
			case promotedAt = <-promoted:
			default:
			}
		}
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue // the same key again: a credit acknowledged late acts once
		}
		acked++
		if !promotedAt.IsZero() && resumedAt.IsZero() {
			resumedAt = time.Now()
		}
		if !resumedAt.IsZero() && acked > 0 && time.Since(resumedAt) > 500*time.Millisecond {
			break
		}
	}
	if resumedAt.IsZero() {
		t.Fatalf("writes never resumed after the promotion (%d credits acknowledged)", acked)
	}
	if d := resumedAt.Sub(promotedAt); d > 10*time.Second {
		t.Errorf("writes resumed %v after the promotion, want within 10 s", d)
	}
	t.Logf("%d credits acknowledged; writes resumed %v after the promotion", acked, resumedAt.Sub(promotedAt).Round(time.Millisecond))

	// Read on the new primary alone.
	after, err := store.Open(ctx, standby.URL("app"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	bal, err := after.Balance(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if bal.Spendable != acked {
		t.Errorf("balance on the promoted standby %d, want %d (every acknowledged credit once)", bal.Spendable, acked)
	}
}
