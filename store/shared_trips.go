package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sharedTrips sends the statements of concurrent dialogue steps to Postgres
// together: each step's statements (a trip) are queued, and a few senders
// each take every trip waiting and send them as one pipelined batch, one
// round trip for all. A round trip costs Postgres and the gateway more than
// a keyed statement does (pgbench here: 35,000 primary-key reads a second
// one by one, 140,000 eight to a pipeline), and at saturation dozens of
// steps wait on the database at once. When the database is idle a trip goes
// at once, alone, as it would without sharing: nothing waits for company.
//
// A shared batch is one implicit transaction, so only statements whose
// loss in a crash PRODUCT.md §8 allows may share one: the dialogue's own
// (its asynchronous commit then covers the batch) and reads. When any
// statement of a shared batch fails, the whole batch rolled back, and each
// trip is sent again alone: one trip's failure is never another's.
type sharedTrips struct {
	pool *pgxpool.Pool

	start, stop sync.Once
	queue       chan *trip
	quit        chan struct{}
	wg          sync.WaitGroup

	batches, trips atomic.Int64 // sent, for tests
	resent         atomic.Int64 // trips of a failed shared batch sent again alone
}

// tripSenders batches are in flight at once, each on a connection of its
// own while it runs. Few senders make big batches: at saturation two gave
// 1.4 times the steps a second of eight, and one no more than two; two
// keep a batch that waits on a lock from holding up every step.
const (
	tripSenders = 2
	tripsShared = 32 // trips at most in one batch
)

// trip is one step's statements: queue puts them on a batch and read reads
// their results in order. read returns only the errors of the database or
// of scanning, and may run more than once (a shared batch that failed is
// sent again alone), so it assigns what it reads rather than appending.
type trip struct {
	ctx   context.Context
	queue func(b *pgx.Batch)
	read  func(br pgx.BatchResults) error

	n    int        // statements queue put on the batch
	mu   sync.Mutex // held while read runs, and by a caller giving up
	gone bool       // the caller gave up: results are read and dropped
	err  error
	done chan struct{}
}

func newTrip(ctx context.Context, queue func(b *pgx.Batch), read func(br pgx.BatchResults) error) *trip {
	return &trip{ctx: ctx, queue: queue, read: read, done: make(chan struct{})}
}

func newSharedTrips(pool *pgxpool.Pool) *sharedTrips {
	return &sharedTrips{pool: pool, queue: make(chan *trip), quit: make(chan struct{})}
}

var errTripsClosed = errors.New("database closed")

// do runs one trip, shared with others waiting, and returns its error.
// When ctx ends first it returns ctx's error, and read never runs after
// do returned.
func (s *sharedTrips) do(ctx context.Context, queue func(b *pgx.Batch), read func(br pgx.BatchResults) error) error {
	s.start.Do(func() {
		for range tripSenders {
			s.wg.Go(s.send)
		}
	})
	t := newTrip(ctx, queue, read)
	select {
	case s.queue <- t:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return errTripsClosed
	}
	select {
	case <-t.done:
		return t.err
	case <-ctx.Done():
		t.mu.Lock()
		defer t.mu.Unlock()
		select {
		case <-t.done:
			return t.err
		default:
			t.gone = true
			return ctx.Err()
		}
	}
}

// close stops the senders once the batches in flight are done; again, it
// does nothing.
func (s *sharedTrips) close() {
	s.start.Do(func() {}) // no sender starts after this
	s.stop.Do(func() { close(s.quit) })
	s.wg.Wait()
}

// send takes a trip, and every other one waiting up to tripsShared, and
// sends them; until closed.
func (s *sharedTrips) send() {
	for {
		var ts []*trip
		select {
		case t := <-s.queue:
			ts = append(ts, t)
		case <-s.quit:
			return
		}
	more:
		for len(ts) < tripsShared {
			select {
			case t := <-s.queue:
				ts = append(ts, t)
			default:
				break more
			}
		}
		s.run(ts)
	}
}

// run sends ts in one batch (a lone trip under its own context) and ends
// each: a trip's results go to its caller only once the batch committed.
func (s *sharedTrips) run(ts []*trip) {
	defer func() {
		for _, t := range ts {
			close(t.done)
		}
	}()
	s.batches.Add(1)
	s.trips.Add(int64(len(ts)))
	if len(ts) == 1 {
		ts[0].alone(s.pool)
		return
	}
	b := &pgx.Batch{}
	for _, t := range ts {
		before := b.Len()
		t.queue(b)
		t.n = b.Len() - before
	}
	ctxs := make([]context.Context, len(ts))
	for i, t := range ts {
		ctxs[i] = t.ctx
	}
	ctx, cancel := sharedContext(ctxs)
	defer cancel()
	br := s.pool.SendBatch(ctx, b)
	failed := false
	for _, t := range ts {
		t.mu.Lock()
		if err := t.readShared(br); err != nil {
			failed = true
		}
		t.mu.Unlock()
	}
	if err := br.Close(); err != nil || failed {
		s.resent.Add(int64(len(ts)))
		for _, t := range ts {
			t.alone(s.pool)
		}
	}
}

// readShared reads the trip's results off a shared batch (dropping them
// when its caller is gone) and whatever read left unread, so that the next
// trip starts at its own; it holds t.mu.
func (t *trip) readShared(br pgx.BatchResults) error {
	cr := &countedResults{BatchResults: br}
	t.err = nil
	if !t.gone {
		t.err = t.read(cr)
	}
	err := t.err
	for cr.n < t.n {
		if _, e := cr.Exec(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// alone sends the trip in a batch of its own, under its own context.
func (t *trip) alone(pool *pgxpool.Pool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gone {
		return
	}
	b := &pgx.Batch{}
	t.queue(b)
	br := pool.SendBatch(t.ctx, b)
	t.err = t.read(br)
	if err := br.Close(); t.err == nil {
		t.err = err
	}
}

// sharedContext is the context of work done for many callers at once (a
// shared batch, a group of claims): it ends once every caller's context
// has, so that a database gone silent fails the work by the time every
// caller has given up, and never before one of them has.
func sharedContext(ctxs []context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	var left atomic.Int64
	left.Store(int64(len(ctxs)))
	stops := make([]func() bool, len(ctxs))
	for i, c := range ctxs {
		stops[i] = context.AfterFunc(c, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// countedResults counts the results read through it.
type countedResults struct {
	pgx.BatchResults
	n int
}

func (c *countedResults) Exec() (pgconn.CommandTag, error) {
	c.n++
	return c.BatchResults.Exec()
}

func (c *countedResults) Query() (pgx.Rows, error) {
	c.n++
	return c.BatchResults.Query()
}

func (c *countedResults) QueryRow() pgx.Row {
	c.n++
	return c.BatchResults.QueryRow()
}

// Close is the shared batch's to call, not a trip's.
func (c *countedResults) Close() error { return nil }
