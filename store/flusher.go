package store

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// flusher runs a flush every interval (or at once when kicked) on a
// goroutine of its own, from Start until Stop, which flushes what is left.
// The traffic counter and the dialogue log are such writers: they collect
// in memory and add to Postgres in batches, so that no step waits for
// them. Start and Stop are safe to call twice, and Stop without Start.
type flusher struct {
	every time.Duration
	flush func(context.Context) error
	log   *slog.Logger
	what  string // for the log: "ussd traffic", "dialogue records"

	kick                chan struct{}
	startOnce, stopOnce sync.Once
	stop, done          chan struct{}
}

func newFlusher(every time.Duration, log *slog.Logger, what string, flush func(context.Context) error) *flusher {
	return &flusher{every: every, flush: flush, log: log, what: what,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Start runs the flushes until Stop.
func (f *flusher) Start() { f.startOnce.Do(func() { go f.run() }) }

// Kick asks for a flush now (a batch is full); kicks while one is pending
// add nothing.
func (f *flusher) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

func (f *flusher) run() {
	defer close(f.done)
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		case <-f.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(f.every, 5*time.Second))
		if err := f.flush(ctx); err != nil {
			f.log.Warn("store: "+f.what+" not written; kept for the next try", "err", err)
		}
		cancel()
	}
}

// Stop ends the flushes and flushes what is left, within ctx.
func (f *flusher) Stop(ctx context.Context) error {
	f.stopOnce.Do(func() { close(f.stop) })
	f.startOnce.Do(func() { close(f.done) }) // never started: nothing to wait for
	select {
	case <-f.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return f.flush(ctx)
}
