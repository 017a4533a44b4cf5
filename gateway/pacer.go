package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// pacer is a bind's TPS: a token bucket of burst tokens refilled at rate per
// second, shared by two lanes (PRODUCT.md §8, "USSD first"). A screen takes
// the next token at once, as a debt if the bucket is empty, and waits until
// the refill has paid it: screens are served in order and only behind each
// other. A bulk SMS takes a token only when one is in hand and no screen's
// debt is outstanding, so it never books a token ahead of a subscriber
// (a FIFO limiter would let every waiting bulk submit reserve the tokens of
// the coming seconds, and a screen would queue behind all of them).
type pacer struct {
	rate  float64 // tokens per second
	burst float64

	mu     sync.Mutex
	tokens float64 // negative while screens wait for theirs
	last   time.Time

	// bulkTurn lets one bulk waiter at a time watch the bucket, so that a
	// token wakes one goroutine rather than every submitter of the bind.
	bulkTurn chan struct{}
}

// errNoToken means the next token comes after the caller's deadline.
var errNoToken = errors.New("no TPS token before the deadline")

func newPacer(tps int) *pacer {
	tps = max(tps, 1)
	return &pacer{rate: float64(tps), burst: float64(tps), tokens: float64(tps), last: time.Now(), bulkTurn: make(chan struct{}, 1)}
}

// refill adds what the time since the last call earned; p.mu is held.
func (p *pacer) refill(now time.Time) {
	if now.After(p.last) {
		p.tokens = min(p.burst, p.tokens+now.Sub(p.last).Seconds()*p.rate)
		p.last = now
	}
}

// screen takes a token for a USSD screen, waiting behind earlier screens
// only. A token that would come after ctx's deadline is refused at once.
func (p *pacer) screen(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	p.refill(now)
	p.tokens--
	due := now.Add(time.Duration(-p.tokens / p.rate * float64(time.Second)))
	p.mu.Unlock()
	if !due.After(now) {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && due.After(dl) {
		p.giveBack()
		return fmt.Errorf("%w (%s away)", errNoToken, due.Sub(now).Round(time.Millisecond))
	}
	if !sleep(ctx, due.Sub(now)) {
		p.giveBack()
		return ctx.Err()
	}
	return nil
}

// giveBack returns a screen's token it did not use.
func (p *pacer) giveBack() {
	p.mu.Lock()
	p.tokens = min(p.burst, p.tokens+1)
	p.mu.Unlock()
}

// bulk takes a token for a bulk SMS: one in hand, after every screen's.
func (p *pacer) bulk(ctx context.Context) error {
	select {
	case p.bulkTurn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.bulkTurn }()
	for {
		p.mu.Lock()
		now := time.Now()
		p.refill(now)
		if p.tokens >= 1 {
			p.tokens--
			p.mu.Unlock()
			return nil
		}
		// Until the screens' debt is paid and one more token has come; a
		// screen arriving meanwhile pushes that back, seen on waking.
		d := time.Duration((1 - p.tokens) / p.rate * float64(time.Second))
		p.mu.Unlock()
		if !sleep(ctx, max(d, 100*time.Microsecond)) {
			return ctx.Err()
		}
	}
}
