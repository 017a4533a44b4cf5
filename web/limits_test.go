package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/care360/care360"
	"github.com/care360/care360/web"
)

// TestSupportPointsPerRequest: support adjusts at most 10.000 points in one
// request, credit or debit; more needs an admin.
func TestSupportPointsPerRequest(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.newSubscriber(t)
	support := "Bearer " + b.staffToken(t, "support")
	for _, n := range []int64{10_001, -10_001, 1_000_000} {
		body := mustJSON(t, map[string]any{"kind": "bonus", "points": n, "reason": "goodwill", "idempotency_key": fmt.Sprint("big", n)})
		e := b.send(t, http.MethodPost, sub+"/points", body, support).errorOf(t, http.StatusForbidden, "forbidden")
		if !strings.Contains(e.Error.Message, "10000") || !strings.Contains(e.Error.Message, "admin") {
			t.Errorf("%d: message %q should say the limit and who may do more", n, e.Error.Message)
		}
	}
	body := `{"kind":"bonus","points":10000,"reason":"goodwill","idempotency_key":"ok"}`
	if res := b.send(t, http.MethodPost, sub+"/points", body, support); res.status != http.StatusCreated {
		t.Fatalf("10.000 by support: %d %s", res.status, res.body)
	}
	b.post(t, sub, "bonus", 200_000, "migration", "admin", http.StatusCreated)
	if got := b.get(t, sub).Points.Spendable; got != 210_000 {
		t.Errorf("spendable = %d, want 210000 (refused requests changed something)", got)
	}

	// The limits are configuration.
	small := setup(t, func(c *web.Config) { c.RoleLimits = care360.RoleLimits{PerRequest: 100, PerDay: 150} })
	sub = small.newSubscriber(t)
	support = "Bearer " + small.staffToken(t, "support")
	small.send(t, http.MethodPost, sub+"/points", `{"kind":"bonus","points":101,"reason":"r","idempotency_key":"a"}`, support).
		errorOf(t, http.StatusForbidden, "forbidden")
	if res := small.send(t, http.MethodPost, sub+"/points", `{"kind":"bonus","points":100,"reason":"r","idempotency_key":"b"}`, support); res.status != http.StatusCreated {
		t.Fatalf("100 with a limit of 100: %d %s", res.status, res.body)
	}
	small.send(t, http.MethodPost, sub+"/points", `{"kind":"bonus","points":-51,"reason":"r","idempotency_key":"c"}`, support).
		errorOf(t, http.StatusForbidden, "forbidden")
}

// TestSupportPointsPerDayConcurrent: twelve requests of 5.000 at once from
// one support account reach exactly the 50.000 a day and no more; replays
// do not count, and another account has its own allowance.
func TestSupportPointsPerDayConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sub := b.newSubscriber(t)
	support := "Bearer " + b.staffToken(t, "support")
	const n, each = 12, 5_000
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body := mustJSON(t, map[string]any{"kind": "bonus", "points": each, "reason": "goodwill", "idempotency_key": fmt.Sprint("c", i)})
			statuses[i] = b.send(t, http.MethodPost, sub+"/points", body, support).status
		})
	}
	wg.Wait()
	var ok, refused int
	for _, st := range statuses {
		switch st {
		case http.StatusCreated:
			ok++
		case http.StatusForbidden:
			refused++
		default:
			t.Errorf("status %d", st)
		}
	}
	if ok != 10 || refused != 2 {
		t.Errorf("%d accepted, %d refused; want 10 and 2", ok, refused)
	}
	if got := b.get(t, sub).Points.Spendable; got != 50_000 {
		t.Errorf("spendable = %d, want exactly 50000", got)
	}
	// A replay of an accepted request is answered and not counted again;
	// anything new is refused, even one point.
	for i, st := range statuses {
		if st == http.StatusCreated {
			body := mustJSON(t, map[string]any{"kind": "bonus", "points": each, "reason": "goodwill", "idempotency_key": fmt.Sprint("c", i)})
			if res := b.send(t, http.MethodPost, sub+"/points", body, support); res.status != http.StatusOK {
				t.Errorf("replay: %d %s", res.status, res.body)
			}
			break
		}
	}
	e := b.send(t, http.MethodPost, sub+"/points", `{"kind":"bonus","points":-1,"reason":"r","idempotency_key":"one"}`, support).
		errorOf(t, http.StatusForbidden, "forbidden")
	if !strings.Contains(e.Error.Message, "50000") {
		t.Errorf("message %q should say the daily limit", e.Error.Message)
	}
	other := "Bearer " + b.staffToken(t, "support")
	if res := b.send(t, http.MethodPost, sub+"/points", `{"kind":"bonus","points":-1,"reason":"r","idempotency_key":"two"}`, other); res.status != http.StatusCreated {
		t.Errorf("another account: %d %s", res.status, res.body)
	}
}
