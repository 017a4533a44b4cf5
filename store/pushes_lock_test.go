package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/care360/care360"
)

// The sender's record of pushes sent and the writer of notification
// endings update the same targets (a quick phone answers before the sender
// has written that its push went). Each must lock its targets in the order
// of their ids: in any other order the two deadlock, and under load they
// did, dozens of times a minute, each costing both a second and one of
// them its transaction. Both are checked the same way: with the lower
// target locked elsewhere, each waits for it before it holds the higher.

func TestPushSentLocksTargetsInOrder(t *testing.T) {
	t.Parallel()
	b, lo, hi := pushTargets(t)
	waitsHoldingNoneAbove(t, b, lo, hi, func() error {
		// Deliveries come in the order the SMSC acknowledged them.
		_, err := b.pushes.PushSent(b.ctx, "a", []care360.PushDelivery{
			{ID: hi.ID, Token: hi.Token, Ref: care360.PushRef(hi.ID)},
			{ID: lo.ID, Token: lo.Token, Ref: care360.PushRef(lo.ID)},
		})
		return err
	})
}

func TestNotificationEndingsLockTargetsInOrder(t *testing.T) {
	t.Parallel()
	b, lo, hi := pushTargets(t)
	b.pushes.NotificationEnded(hi.MSISDN, care360.PushRef(hi.ID), care360.PushCompleted, "c360ussd")
	b.pushes.NotificationEnded(lo.MSISDN, care360.PushRef(lo.ID), care360.PushCompleted, "c360ussd")
	waitsHoldingNoneAbove(t, b, lo, hi, func() error { return b.pushes.Flush(b.ctx) })
}

// pushTargets makes a notification to two members, claimed by "a": the
// targets in the order of their ids.
func pushTargets(t *testing.T) (b *pushBundle, lo, hi care360.PushClaim) {
	t.Helper()
	b = setupPushes(t)
	b.push(t, care360.NewPush{Segment: &care360.Segment{MSISDNs: []care360.MSISDN{b.subscriber(t), b.subscriber(t)}},
		Kind: care360.PushNotify, Text: "Qua Tet"})
	cs := b.claimPushes(t, "a")
	if len(cs) != 2 {
		t.Fatalf("claimed %d targets, want 2", len(cs))
	}
	if cs[0].ID > cs[1].ID {
		cs[0], cs[1] = cs[1], cs[0]
	}
	return b, cs[0], cs[1]
}

// waitsHoldingNoneAbove runs write while another transaction holds lo, and
// checks that write, once waiting, holds no lock on hi; then lets it
// finish.
func waitsHoldingNoneAbove(t *testing.T, b *pushBundle, lo, hi care360.PushClaim, write func() error) {
	t.Helper()
	holder, err := b.db.Pool().Begin(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(b.ctx)
	if _, err := holder.Exec(b.ctx, `SELECT 1 FROM ussd_push_targets WHERE id = $1 FOR UPDATE`, lo.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- write() }()
	waitForLockWait(t, b)
	probe, err := b.db.Pool().Begin(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = probe.Exec(b.ctx, `SELECT 1 FROM ussd_push_targets WHERE id = $1 FOR UPDATE NOWAIT`, hi.ID)
	probe.Rollback(b.ctx)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55P03" {
		t.Errorf("waiting for target %d, the write already holds target %d: locks taken out of order", lo.ID, hi.ID)
	} else if err != nil {
		t.Fatal(err)
	}
	holder.Rollback(b.ctx)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the write, once free: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the write did not finish once free")
	}
}

// waitForLockWait returns once a backend waits on a lock of the push
// targets.
func waitForLockWait(t *testing.T, b *pushBundle) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		rows, err := b.db.Pool().Query(b.ctx, `SELECT query FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> pg_backend_pid()`)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			if strings.Contains(q, "ussd_push_targets") {
				return
			}
		}
	}
	t.Fatal("the write never waited for the locked target")
}
