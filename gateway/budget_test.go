package gateway_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/care360/care360"
	"github.com/care360/care360/gateway"
	"github.com/care360/care360/gateway/smsc"
)

// slowUSSD answers every step after delay, or fails when its context ends
// first, as the real engine does when Postgres is slow.
type slowUSSD struct{ delay time.Duration }

func (s slowUSSD) Step(ctx context.Context, r care360.USSDRequest) (care360.USSDReply, error) {
	select {
	case <-time.After(s.delay):
		return care360.USSDReply{Text: "Menu"}, nil
	case <-ctx.Done():
		return care360.USSDReply{}, ctx.Err()
	}
}

// TestStepBudgetCountsFromArrival: the 2 s of PRODUCT.md §3.1 count from
// the deliver_sm's arrival, queueing included. Two dialogues of one
// subscriber share a worker; each step takes the engine 1.2 s. The second
// step waits 1.2 s for the worker, so it cannot be answered in time: it must
// get the "service unavailable" screen within its budget, not the menu
// late.
func TestStepBudgetCountsFromArrival(t *testing.T) {
	t.Parallel()
	sim := smsc.New(smsc.Config{Addr: "127.0.0.1:0", SystemID: "care360", Password: "secret", ResponseTimeout: 15 * time.Second})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	const budget = 2 * time.Second
	gw := gateway.New(gateway.Config{
		USSD:        slowUSSD{delay: 1200 * time.Millisecond},
		StepTimeout: budget,
		Binds:       []gateway.BindConfig{{Addr: sim.Addr(), SystemID: "care360", Password: "secret"}},
	})
	gw.Start()
	t.Cleanup(func() { gw.Stop(context.Background()) })
	ctx := ctxT(t)
	if err := sim.WaitBound(ctx, 1); err != nil {
		t.Fatal(err)
	}
	type result struct {
		screen string
		ended  bool
		took   time.Duration
		err    error
	}
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 100 * time.Millisecond) // the second dial comes second
			start := time.Now()
			call, err := sim.Dial(ctx, "0903123456", "*090#", smsc.DialOptions{})
			results[i] = result{took: time.Since(start), err: err}
			if call != nil {
				results[i].screen, results[i].ended = call.Screen(), call.Ended()
			}
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("dial %d: %v", i+1, r.err)
		}
		if r.took > budget {
			t.Errorf("dial %d answered after %s (%q), over the %s budget", i+1, r.took.Round(time.Millisecond), r.screen, budget)
		}
	}
	if results[0].screen != "Menu" {
		t.Errorf("first dial: %q, want the menu", results[0].screen)
	}
	if r := results[1]; r.screen != "Dich vu tam thoi gian doan. Vui long thu lai sau." || !r.ended {
		t.Errorf("second dial: %q (ended %v), want the op 17 service-unavailable screen", r.screen, r.ended)
	}
}
