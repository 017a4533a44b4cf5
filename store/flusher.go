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

// batches is what a flusher's writer collects: items are added up to max
// (beyond it they are dropped and counted), written a batch at a time, and
// a batch whose write fails goes back to the front for the next flush.
type batches[T any] struct {
	max, batch int

	mu      sync.Mutex
	items   []T
	dropped int64
}

// add keeps x unless the buffer is full, and reports whether a whole batch
// is now waiting (time to kick the writer).
func (b *batches[T]) add(x T) (full bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.items) >= b.max {
		b.dropped++
		return false
	}
	b.items = append(b.items, x)
	return len(b.items) == b.batch
}

// droppedCount is how many items the full buffer turned away.
func (b *batches[T]) droppedCount() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// flush writes what is buffered, a batch per call of write, until none is
// left or a write fails; the failed batch goes back to the front.
func (b *batches[T]) flush(ctx context.Context, write func(context.Context, []T) error) error {
	for {
		b.mu.Lock()
		n := min(len(b.items), b.batch)
		batch := b.items[:n:n]
		b.items = b.items[n:]
		b.mu.Unlock()
		if n == 0 {
			return nil
		}
		if err := write(ctx, batch); err != nil {
			b.mu.Lock()
			b.items = append(batch, b.items...)
			b.mu.Unlock()
			return err
		}
	}
}
