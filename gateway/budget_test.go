package gateway_test

import (
	"context"
	"fmt"
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
	const budget = 2 * time.Second
	sim := startBound(t, 15*time.Second, gateway.Config{USSD: slowUSSD{delay: 1200 * time.Millisecond}, StepTimeout: budget})
	ctx := ctxT(t)
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

// costlyUSSD takes cost for every step, as a saturated engine does, and
// ends the dialogue on its one screen. Like a transaction that must run to
// its end or roll back, a step costs its time whether or not it is still
// awaited: one whose context ended meanwhile fails after it.
type costlyUSSD struct{ cost time.Duration }

func (c costlyUSSD) Step(ctx context.Context, r care360.USSDRequest) (care360.USSDReply, error) {
	time.Sleep(c.cost)
	if err := ctx.Err(); err != nil {
		return care360.USSDReply{}, err
	}
	return care360.USSDReply{Text: "Menu", End: true}, nil
}

// TestOverloadAnswersWhatFitsTheBudget: more phones than the gateway can
// answer within the 2 s budget keep dialling, each again as soon as it has
// its screen. Two workers, 100 ms a step: 20 steps a second fit, and 80
// phones would need 4 s of queue. The steps that can still finish when
// their worker picks them up must get the menu, all within the budget; the
// rest "service unavailable" at once. Without that, every queue grows a
// budget long, each step starts with too little time to finish, and
// almost none get the menu.
func TestOverloadAnswersWhatFitsTheBudget(t *testing.T) {
	t.Parallel()
	const (
		budget = 2 * time.Second
		cost   = 100 * time.Millisecond
		phones = 80
		length = 4 * time.Second
	)
	sim := startBound(t, 15*time.Second, gateway.Config{USSD: costlyUSSD{cost: cost}, Workers: 2, StepTimeout: budget})
	ctx := ctxT(t)
	var (
		mu                   sync.Mutex
		menus, busy, overdue int
		slowest              time.Duration
		other                []string
	)
	end := time.Now().Add(length)
	var wg sync.WaitGroup
	for i := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				start := time.Now()
				call, err := sim.Dial(ctx, fmt.Sprintf("09031%05d", i), "*090#", smsc.DialOptions{})
				took := time.Since(start)
				mu.Lock()
				switch {
				case err != nil:
					other = append(other, err.Error())
				case call.Screen() == "Menu":
					menus++
				case call.Screen() == "Dich vu tam thoi gian doan. Vui long thu lai sau." && call.Ended():
					busy++
				default:
					other = append(other, call.Screen())
				}
				if took > budget {
					overdue++
				}
				slowest = max(slowest, took)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d menus, %d service unavailable, slowest %s", menus, busy, slowest.Round(time.Millisecond))
	if len(other) > 0 {
		t.Errorf("%d dials got neither: first %q", len(other), other[0])
	}
	if overdue > 0 {
		t.Errorf("%d screens after the %s budget (slowest %s)", overdue, budget, slowest.Round(time.Millisecond))
	}
	// What fits: two workers, one step each per cost, for the length of the
	// run less the first budget, during which the queues fill.
	fits := int(2 * (length - budget) / cost)
	if menus < fits {
		t.Errorf("%d menus, want at least the %d that fit", menus, fits)
	}
}
