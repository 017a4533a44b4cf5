package smsc

import (
	"container/heap"
	"fmt"
	"sync"
	"time"
)

// receipts holds the delivery receipts the simulator owes: those to send,
// by when each falls due, and those sent, waiting for their
// deliver_sm_resp, in the order they were sent. One goroutine
// (receiptLoop) sends receipts as they fall due, those due together in one
// write per link, and does not wait for their responses: a response comes
// back through the link's pending table (waiter.done) and decides whether
// the receipt is done or offered again a second later. A goroutine and a
// timer per receipt cost a simulator under load more CPU than the traffic
// it simulates.
type receipts struct {
	mu   sync.Mutex
	due  receiptHeap
	sent []sentReceipt // oldest first: each waits ResponseTimeout alike
	wake chan struct{} // the earliest due time moved closer
}

// receipt is one delivery receipt owed.
type receipt struct {
	due    time.Time
	prefer *link
	m      Message
	stat   string
	try    int
	index  int // in the heap; -1 when not in it
}

// sentReceipt is one offer of r, on link under seq, that times out at
// expires unless its response came. Whoever takes seq out of the link's
// pending table (the response, the link's close, or the timeout through
// forget) decides what happens next, so each offer has one outcome.
type sentReceipt struct {
	expires time.Time
	r       *receipt
	link    *link
	seq     uint32
}

// receiptRetryAfter is how long after a failed offer a receipt is offered again.
const receiptRetryAfter = time.Second

// scheduleReceipt owes the receipt of m with stat, due after delay.
func (s *Server) scheduleReceipt(prefer *link, m Message, stat string, delay time.Duration) {
	s.receipts.schedule(&receipt{due: time.Now().Add(delay), prefer: prefer, m: m, stat: stat})
}

func (q *receipts) schedule(r *receipt) {
	q.mu.Lock()
	heap.Push(&q.due, r)
	first := r.index == 0
	q.mu.Unlock()
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// take removes and returns the receipts due by now and the offers expired
// by now.
func (q *receipts) take(now time.Time) (due []*receipt, expired []sentReceipt) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.due) > 0 && !q.due[0].due.After(now) {
		due = append(due, heap.Pop(&q.due).(*receipt))
	}
	n := 0
	for n < len(q.sent) && !q.sent[n].expires.After(now) {
		n++
	}
	expired = append(expired, q.sent[:n]...)
	q.sent = q.sent[n:]
	return due, expired
}

// next returns when the next receipt falls due or the next offer expires
// (zero when there is neither).
func (q *receipts) next() (next time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.due) > 0 {
		next = q.due[0].due
	}
	if len(q.sent) > 0 && (next.IsZero() || q.sent[0].expires.Before(next)) {
		next = q.sent[0].expires
	}
	return next
}

// receiptLoop sends receipts as they fall due, until the server closes;
// receipts still owed then are dropped, as a switched-off SMSC's are.
func (s *Server) receiptLoop() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		due, expired := s.receipts.take(now)
		for _, o := range expired {
			if o.link.forget(o.seq) {
				s.receiptFailed(o.r, 0, ErrTimeout)
			} // else its response came meanwhile, and went to its done
		}
		s.sendReceipts(due, now)
		wait := time.Hour
		if next := s.receipts.next(); !next.IsZero() {
			// At least a millisecond, so that receipts falling due close
			// together go out in one write rather than a wake-up each.
			wait = max(next.Sub(now), time.Millisecond)
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-s.receipts.wake:
		case <-s.done:
			return
		}
	}
}

// sendReceipts offers the receipts due, each on the link its message came
// in on while that can take it (else another), one write per link.
func (s *Server) sendReceipts(due []*receipt, now time.Time) {
	if len(due) == 0 {
		return
	}
	// One write per link: the receipts going on it, in the order they fell due.
	type batch struct {
		l    *link
		reqs []posted
		rs   []*receipt
	}
	var batches []*batch
	on := map[*link]*batch{}
	for _, r := range due {
		r.try++
		l, err := s.pickLink(r.prefer, CarriesSMS)
		if err != nil {
			s.receiptFailed(r, 0, err)
			continue
		}
		b := on[l]
		if b == nil {
			b = &batch{l: l}
			on[l], batches = b, append(batches, b)
		}
		m, stat := r.m, r.stat
		encode := func(b []byte, seq uint32) []byte { return appendReceipt(b, seq, m, now, stat) }
		b.reqs = append(b.reqs, posted{encode: encode, done: s.receiptAnswered(r)})
		b.rs = append(b.rs, r)
	}
	expires := now.Add(s.cfg.ResponseTimeout)
	for _, b := range batches {
		if err := b.l.post(b.reqs); err != nil {
			for _, r := range b.rs {
				s.receiptFailed(r, 0, err)
			}
			continue
		}
		s.receipts.mu.Lock()
		for i, r := range b.rs {
			s.receipts.sent = append(s.receipts.sent, sentReceipt{expires: expires, r: r, link: b.l, seq: b.reqs[i].seq})
		}
		s.receipts.mu.Unlock()
	}
}

// receiptAnswered returns the done of an offer of r: an error or a
// command_status other than OK offers it again.
func (s *Server) receiptAnswered(r *receipt) func(uint32, error) {
	return func(status uint32, err error) {
		if err != nil || status != statusOK {
			s.receiptFailed(r, status, err)
		}
	}
}

// receiptFailed offers r again a second later, up to receiptRetries offers.
func (s *Server) receiptFailed(r *receipt, status uint32, err error) {
	s.log.Warn("receipt not accepted", "id", r.m.ID, "try", r.try, "status", fmt.Sprintf("%#x", status), "err", err)
	if r.try >= receiptRetries {
		return
	}
	r.due = time.Now().Add(receiptRetryAfter)
	s.receipts.schedule(r)
}

// receiptHeap orders receipts by due time (container/heap).
type receiptHeap []*receipt

func (h receiptHeap) Len() int           { return len(h) }
func (h receiptHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h receiptHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *receiptHeap) Push(x any) {
	r := x.(*receipt)
	r.index = len(*h)
	*h = append(*h, r)
}
func (h *receiptHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	r.index = -1
	*h = old[:len(old)-1]
	return r
}
