package gateway

import (
	"context"
	"testing"
	"time"
)

// fakeYielder is a yielder on a clock the test moves.
func fakeYielder() (*yielder, *time.Time) {
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	y := newYielder()
	y.now = func() time.Time { return now }
	y.start = now
	return y, &now
}

// interval plays one interval of steps answered in step each (slow of
// them in slowStep) and marketing parts let through, then moves on.
func interval(y *yielder, now *time.Time, steps, slow int, step, slowStep time.Duration, parts int, waited bool) {
	for i := range steps {
		d := step
		if i < slow {
			d = slowStep
		}
		y.step(d)
	}
	y.count(parts, waited)
	*now = now.Add(yieldInterval)
	y.mu.Lock()
	y.roll(*now) // as the next interval's first step or part would
	y.mu.Unlock()
}

// TestYielderLeavesMarketingAloneWithoutScreens: with no screens answered,
// marketing is never limited, however much of it goes.
func TestYielderLeavesMarketingAloneWithoutScreens(t *testing.T) {
	t.Parallel()
	y, now := fakeYielder()
	for range 20 {
		interval(y, now, 0, 0, 0, 0, 1000, false)
	}
	if l := y.bulkLimit(); l != 0 {
		t.Fatalf("limit %v without screens, want none", l)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	for range 10_000 {
		if err := y.wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("10,000 unlimited waits took %s", d)
	}
}

// TestYielderGivesWayToScreens: once screens are answered marketing starts
// at startBulkRate and grows by a tenth an interval while steps stay
// quick; when more than 2 % of an interval's steps wait it halves from
// what was sent (never below minBulkRate); and the limit goes once no
// screen has been answered for quietAfter, not in a short lull.
func TestYielderGivesWayToScreens(t *testing.T) {
	t.Parallel()
	y, now := fakeYielder()
	quick := 500 * time.Microsecond
	interval(y, now, 100, 0, quick, 0, 300, false) // screens begin
	if l := y.bulkLimit(); l != startBulkRate {
		t.Fatalf("limit %v when screens begin, want %d", l, startBulkRate)
	}
	interval(y, now, 100, 0, quick, 0, 20, true)
	if l, want := y.bulkLimit(), startBulkRate*1.1+1; l < want-0.01 || l > want+0.01 {
		t.Fatalf("limit %v after a quick interval, want %v", l, want)
	}
	// Marketing waited and sent its 221/s; then a tenth of the steps took
	// 20 ms: halved from what was sent.
	interval(y, now, 100, 10, quick, 20*time.Millisecond, 22, true)
	if l := y.bulkLimit(); l < 105 || l > 115 {
		t.Fatalf("limit %v after slow steps, want about half of 221", l)
	}
	// Two slow steps in a hundred are tolerated, three are not.
	before := y.bulkLimit()
	interval(y, now, 100, 2, quick, 20*time.Millisecond, 11, true)
	if l := y.bulkLimit(); l <= before {
		t.Fatalf("limit %v after 2 %% slow steps, want it grown from %v", l, before)
	}
	for range 10 {
		interval(y, now, 100, 3, quick, 20*time.Millisecond, 1, true)
	}
	if l := y.bulkLimit(); l != minBulkRate {
		t.Fatalf("limit %v after slow intervals, want the floor %d", l, minBulkRate)
	}
	// Steps that take long but no longer than the quickest plus slack
	// (a database far away) do not count as waiting.
	y2, now2 := fakeYielder()
	far := 30 * time.Millisecond
	interval(y2, now2, 100, 0, far, 0, 200, true)
	for range 5 {
		interval(y2, now2, 100, 100, far, far+slack/2, 200, true)
	}
	if l := y2.bulkLimit(); l <= startBulkRate {
		t.Fatalf("limit %v with steps of a distant database, want growth from %d", l, startBulkRate)
	}
	// A lull of a few intervals is not the screens gone: the limit stays.
	for range 5 {
		interval(y, now, 0, 0, 0, 0, 2, true)
	}
	if l := y.bulkLimit(); l == 0 {
		t.Fatal("limit lifted in a lull of half a second")
	}
	// No screen for quietAfter: the limit goes.
	for range int(quietAfter / yieldInterval) {
		interval(y, now, 0, 0, 0, 0, 2, true)
	}
	if l := y.bulkLimit(); l != 0 {
		t.Fatalf("limit %v with no screens for %v, want none", l, quietAfter)
	}
}
