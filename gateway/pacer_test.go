package gateway

import (
	"context"
	"testing"
	"time"
)

// With the bucket empty and bulk submitters queued for every token, a
// screen gets the very next token instead of queueing behind them; a screen
// whose budget ends before its token comes is told so at once.
func TestPacerScreenFirst(t *testing.T) {
	t.Parallel()
	const tps = 10 // a token every 100 ms
	p := newPacer(tps)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range tps {
		if err := p.bulk(ctx); err != nil { // empty the bucket
			t.Fatal(err)
		}
	}
	for range 10 {
		go func() {
			for p.bulk(ctx) == nil {
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	start := time.Now()
	if err := p.screen(ctx); err != nil {
		t.Fatal(err)
	}
	// Behind ten bulk waiters would be a whole second.
	if got := time.Since(start); got > 400*time.Millisecond {
		t.Fatalf("the screen waited %s for a token at %d TPS", got, tps)
	}
	tight, cancelTight := context.WithTimeout(ctx, time.Millisecond)
	defer cancelTight()
	p.mu.Lock()
	p.tokens = -5
	p.mu.Unlock()
	start = time.Now()
	if err := p.screen(tight); err == nil {
		t.Fatal("a token half a second after the deadline was granted")
	}
	if got := time.Since(start); got > 100*time.Millisecond {
		t.Fatalf("refused after %s, not at once", got)
	}
}

// Screens and bulk together keep to the TPS (after the first second's
// burst).
func TestPacerKeepsRate(t *testing.T) {
	t.Parallel()
	const tps = 200
	p := newPacer(tps)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	done := make(chan struct{})
	for i := range 4 {
		go func() {
			for range 100 {
				if i%2 == 0 {
					p.screen(ctx)
				} else {
					p.bulk(ctx)
				}
			}
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}
	// 400 tokens at 200/s with a burst of 200: at least a second.
	if got := time.Since(start); got < 900*time.Millisecond {
		t.Fatalf("400 tokens in %s at %d TPS", got, tps)
	}
}
