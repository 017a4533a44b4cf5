package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway/smsc"
	"github.com/care360/care360/internal/pglocal"
	"github.com/care360/care360/store"
)

// TestFailoverWholeGateway runs the real program on a primary and a
// synchronous streaming standby of its own, named by one two-host
// CARE360_DATABASE_URL with target_session_attrs=read-write. Members dial
// USSD, points are posted through the API (each retried under its key until
// acknowledged) and transactional SMS are queued, half of them due after the
// crash; then the primary crashes (pg_ctl stop -m immediate) and the standby
// is promoted. Within 10 s of the promotion dials are answered and points
// posted again; every acknowledged credit is on the new primary once, and
// every queued SMS reaches the simulator once.
func TestFailoverWholeGateway(t *testing.T) {
	t.Parallel()
	if _, err := pglocal.FindBinaries(); err != nil {
		t.Skip(err)
	}
	ctx := ctxT(t)
	primary, standby, err := pglocal.StartPair(ctx, t.TempDir(), "care360", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Stop(); standby.Stop() })
	h := start(t, map[string]string{"CARE360_DATABASE_URL": pglocal.MultiHostURL("care360", primary, standby)})

	const member = "0901230001"
	h.member(t, member, map[string]any{"language": "vi"}, 0, 0)
	const n = 100
	if _, err := h.m.DB.Pool().Exec(ctx, `
		WITH m AS (
			INSERT INTO sms_messages (msisdn, text, kind, idempotency_key, scheduled_at, created_at)
			SELECT '8497' || lpad(g::text, 7, '0'), 'failover ' || g, 'transactional', 'failover-' || g, now(), now()
			FROM generate_series(1, $1::int) g RETURNING id
		)
		INSERT INTO sms_queue (message_id, priority, not_before)
		SELECT id, 0, now() + CASE WHEN id % 2 = 0 THEN interval '3 seconds' ELSE interval '0' END FROM m`, 2*n); err != nil {
		t.Fatal(err)
	}

	var promotedAt atomic.Int64
	go func() {
		time.Sleep(time.Second)
		if err := primary.Crash(); err != nil {
			t.Error(err)
		}
		if err := standby.Promote(context.Background()); err != nil {
			t.Error(err)
		}
		promotedAt.Store(time.Now().UnixNano())
	}()

	// Dials and points posts, one after the other, until both have worked
	// for a while after the promotion.
	var acked int64
	var dialAfter, pointsAfter time.Time
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		p := promotedAt.Load()
		if p != 0 && !dialAfter.IsZero() && !pointsAfter.IsZero() && time.Since(pointsAfter) > time.Second {
			break
		}
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		call, err := h.sim.Dial(dctx, fmt.Sprintf("8498%07d", acked), "*090#", smsc.DialOptions{})
		if call != nil {
			call.Abort(dctx)
		}
		cancel()
		// A menu, not the "service temporarily unavailable" screen.
		if err == nil && !unavailable(call.Screen()) && p != 0 && dialAfter.IsZero() {
			dialAfter = time.Now()
		}
		body := map[string]any{"kind": "bonus", "points": 1, "reason": "failover", "idempotency_key": fmt.Sprintf("failover-%d", acked)}
		if st := h.api(t, "POST", "/api/v1/subscribers/"+member+"/points", body, nil); st == 200 || st == 201 {
			acked++
			if p != 0 && pointsAfter.IsZero() {
				pointsAfter = time.Now()
			}
		} else {
			time.Sleep(50 * time.Millisecond) // the same key again
		}
	}
	p := time.Unix(0, promotedAt.Load())
	if dialAfter.IsZero() || pointsAfter.IsZero() {
		t.Fatalf("service did not resume after the promotion: dial %v, points %v", dialAfter, pointsAfter)
	}
	if d := max(dialAfter.Sub(p), pointsAfter.Sub(p)); d > 10*time.Second {
		t.Errorf("service resumed %v after the promotion, want within 10 s", d)
	}
	t.Logf("%d credits acknowledged; a dial answered %v and points posted %v after the promotion",
		acked, dialAfter.Sub(p).Round(time.Millisecond), pointsAfter.Sub(p).Round(time.Millisecond))

	// Every queued SMS submitted once.
	var lost, dup int
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		lost, dup = 0, 0
		for g := 1; g <= 2*n; g++ {
			switch k := len(h.sim.Messages(fmt.Sprintf("8497%07d", g))); {
			case k == 0:
				lost++
			case k > 1:
				dup += k - 1
			}
		}
		if lost == 0 || time.Now().After(deadline) {
			break
		}
	}
	if lost != 0 || dup != 0 {
		t.Errorf("queued SMS across the promotion: %d never submitted, %d submitted twice", lost, dup)
	}

	// Read on the new primary alone.
	after, err := store.Open(ctx, standby.URL("care360"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	m, _ := care360.ParseMSISDN(member)
	bal, err := after.Balance(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if bal.Spendable != acked {
		t.Errorf("balance on the promoted standby %d, want %d (every acknowledged credit once)", bal.Spendable, acked)
	}
}

// unavailable tells the "service temporarily unavailable" screen (menus
// "unavailable", in either language).
func unavailable(screen string) bool {
	return strings.Contains(screen, "gián đoạn") || strings.Contains(screen, "unavailable")
}
