package main

import (
	"context"
	"log/slog"
	"time"
)

// announceEvery is how often serve looks for campaign gifts to announce.
// The job announces each gift once per period whatever runs it (its
// campaigns carry idempotency keys), so running it hourly rather than daily
// only means a gift created at 10:00 is announced by 11:00, not tomorrow.
const announceEvery = time.Hour

// ticker runs a job at start and then every interval until stopped; Main
// owns it and stops it in Close.
type ticker struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// every starts fn on its own goroutine. A failed run is logged and tried
// again at the next tick.
func every(interval time.Duration, log *slog.Logger, name string, fn func(ctx context.Context) error) *ticker {
	ctx, cancel := context.WithCancel(context.Background())
	t := &ticker{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.Warn("job failed", "job", name, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return t
}

// stop ends the job and waits for a run in progress; safe on nil and twice.
func (t *ticker) stop() {
	if t == nil {
		return
	}
	t.cancel()
	<-t.done
}
