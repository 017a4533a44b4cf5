package store

// Work made together. A gift claim or a draw entry alone costs Postgres
// several times a USSD step, and most of it is per statement, not per
// row: executor start-up, init-plans, the CHECK constraints read again,
// the system calls of each round trip and commit. So a request that
// arrives while another of its kind is in flight waits, for a moment when
// one of the two transactions of its kind is free, else for one to end,
// and goes with those that arrived meanwhile: one transaction, each table
// written by one statement for them all (claim_groups.go,
// entry_groups.go, spin_groups.go).
//
// What a request is promised does not change. Each request of a group is
// decided as it would be alone, on the same rows, read after the members'
// locks were granted, and the constraints that hold a request alone hold
// the group's statements too. What a group cannot decide, and every
// request of a group whose transaction fails, is made alone, so the
// slowest way is the old one.

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// groupSenders is how many transactions of a kind run at once: enough
// that Postgres always has one to work on while another crosses the
// network, few enough that requests waiting for one group into the next.
const groupSenders = 2

// groupMost is the most requests one transaction carries.
const groupMost = 64

// groupLinger is how long a request that finds a transaction free, while
// another is in flight, waits for others to go with it.
const groupLinger = 250 * time.Microsecond

// groups admits requests of one kind (R) to its transactions, answering
// each with an O.
type groups[R, O any] struct {
	name string // what the requests are, for the log
	// alone makes one request in a transaction of its own.
	alone func(context.Context, R) (O, error)
	// together makes rs in one transaction and returns each one's
	// outcome, or an error when the transaction failed; givenUp says,
	// when asked, which callers have given up waiting.
	together func(ctx context.Context, rs []R, givenUp func() []bool) ([]outcome[O], error)
	// apart names what two requests of a group may not share (a member,
	// a key): such requests go in different groups.
	apart func(R) []string
	warn  func(msg string, args ...any)

	mu      sync.Mutex
	busy    int             // transactions running (at most groupSenders)
	waiting []*waiter[R, O] // requests waiting for one, in arrival order

	grouped atomic.Int64 // requests a group decided; the others were made alone
}

// outcome is what a group made of one request: its answer or error, or
// alone when the request is to be made alone.
type outcome[O any] struct {
	out   O
	err   error
	alone bool
}

// waiter is a request waiting for a group, then in one. gone and the
// outcome are written under groups.mu; the outcome before done is closed.
type waiter[R, O any] struct {
	ctx  context.Context
	r    R
	done chan struct{}
	gone bool // the caller gave up waiting
	outcome[O]
}

// do makes r alone when no transaction of its kind is in flight, else
// waits to go with the next group. A caller that gives up while its
// request is being written gets its context's error, as a caller whose
// commit was cut off does: the request may have been made, and its key
// finds it.
func (q *groups[R, O]) do(ctx context.Context, r R) (O, error) {
	q.mu.Lock()
	if q.busy == 0 {
		q.busy++
		q.mu.Unlock()
		defer q.release()
		return q.alone(ctx, r)
	}
	w := &waiter[R, O]{ctx: ctx, r: r, done: make(chan struct{})}
	q.waiting = append(q.waiting, w)
	if q.busy < groupSenders {
		// Others are in flight: those answered with them come back at
		// about this moment, so this one waits a moment for company.
		q.busy++
		time.AfterFunc(groupLinger, q.drain)
	}
	q.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
		q.mu.Lock()
		select {
		case <-w.done: // answered as it gave up
		default:
			w.gone = true
			q.waiting = slices.DeleteFunc(q.waiting, func(x *waiter[R, O]) bool { return x == w })
			q.mu.Unlock()
			var zero O
			return zero, ctx.Err()
		}
		q.mu.Unlock()
	}
	return q.finish(ctx, w)
}

// finish gives a request its group's answer, or makes it alone when the
// group left it to be.
func (q *groups[R, O]) finish(ctx context.Context, w *waiter[R, O]) (O, error) {
	if w.alone {
		return q.alone(ctx, w.r)
	}
	return w.out, w.err
}

// release ends a transaction: the requests that waited for it go on as
// groups, on a goroutine of their own, until none is left.
func (q *groups[R, O]) release() {
	q.mu.Lock()
	if len(q.waiting) == 0 {
		q.busy--
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	go q.drain()
}

// drain runs the waiting requests as groups, one after another, until
// none is left, then ends the transaction slot it holds.
func (q *groups[R, O]) drain() {
	for {
		q.mu.Lock()
		group := q.take()
		if len(group) == 0 {
			q.busy--
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		q.run(group)
	}
}

// take removes the next group from the waiting requests: up to groupMost,
// no two sharing what apart names, the others left waiting in their
// order. Under q.mu.
func (q *groups[R, O]) take() []*waiter[R, O] {
	var group []*waiter[R, O]
	taken := make(map[string]bool)
	rest := q.waiting[:0]
	for _, w := range q.waiting {
		names := q.apart(w.r)
		if len(group) == groupMost || slices.ContainsFunc(names, func(n string) bool { return taken[n] }) {
			rest = append(rest, w)
			continue
		}
		for _, n := range names {
			taken[n] = true
		}
		group = append(group, w)
	}
	clear(q.waiting[len(rest):])
	q.waiting = rest
	return group
}

// run makes a group's requests and answers them.
func (q *groups[R, O]) run(group []*waiter[R, O]) {
	if len(group) == 1 { // a group of one costs a round trip more than alone
		w := group[0]
		out, err := q.alone(w.ctx, w.r)
		q.answer(group, []outcome[O]{{out: out, err: err}})
		return
	}
	ctxs, rs := make([]context.Context, len(group)), make([]R, len(group))
	for i, w := range group {
		ctxs[i], rs[i] = w.ctx, w.r
	}
	ctx, cancel := sharedContext(ctxs)
	defer cancel()
	outs, err := q.together(ctx, rs, func() []bool { return q.givenUp(group) })
	if err != nil {
		q.warn("store: made alone, their group failed", "what", q.name, "n", len(group), "err", err)
		outs = make([]outcome[O], len(group))
		for i := range outs {
			outs[i].alone = true
		}
	}
	for _, o := range outs {
		if !o.alone {
			q.grouped.Add(1)
		}
	}
	q.answer(group, outs)
}

// givenUp reports which of group's callers have given up.
func (q *groups[R, O]) givenUp(group []*waiter[R, O]) []bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	gone := make([]bool, len(group))
	for i, w := range group {
		gone[i] = w.gone
	}
	return gone
}

func (q *groups[R, O]) answer(group []*waiter[R, O], outs []outcome[O]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, w := range group {
		w.outcome = outs[i]
		close(w.done)
	}
}
