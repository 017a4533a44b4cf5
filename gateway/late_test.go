package gateway

import (
	"testing"
	"time"
)

// TestStepCost: the estimate follows what steps cost, covers their spread,
// and never sheds a step picked up within the first nine tenths of the
// engine's share of the budget, however slow the steps have been.
func TestStepCost(t *testing.T) {
	t.Parallel()
	const engine = 1500 * time.Millisecond
	var c stepCost
	for range warmSteps - 1 {
		c.observe(time.Second)
	}
	if c.tooLate(time.Millisecond, engine) {
		t.Error("shed before warmSteps finished: nothing is known yet of what a step costs")
	}
	for range 100 {
		c.observe(20 * time.Millisecond)
	}
	if est := c.estimate(); est < 20*time.Millisecond || est > 25*time.Millisecond {
		t.Errorf("steady 20 ms steps: estimate %s", est)
	}
	if !c.tooLate(10*time.Millisecond, engine) || c.tooLate(30*time.Millisecond, engine) {
		t.Error("20 ms steps: want 10 ms left shed and 30 ms left run")
	}
	for i := range 50 {
		c.observe(time.Duration(10+20*(i%2)) * time.Millisecond)
	}
	if est := c.estimate(); est < 40*time.Millisecond {
		t.Errorf("steps of 10 and 30 ms: estimate %s, want their spread covered", est)
	}
	for range 50 {
		c.observe(5 * time.Second)
	}
	if c.tooLate(engine/10, engine) {
		t.Error("after a slow spell, a step with a tenth of the engine's budget left was shed")
	}
	if !c.tooLate(engine/10-time.Millisecond, engine) {
		t.Error("after a slow spell, a step with less than a tenth of the budget left ran")
	}
}
