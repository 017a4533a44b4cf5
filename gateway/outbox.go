package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"

	"github.com/care360/care360"
)

// SenderConfig tunes the outbox senders; the zero value is the defaults.
type SenderConfig struct {
	// Owner names this process's leases; default host-pid-random, so that
	// a restarted process never mistakes its predecessor's claims for its own.
	Owner string
	Batch int           // messages claimed at once (default 1000)
	Lease time.Duration // how long a claim is ours (default 60s)
	// Poll is how long an idle sender waits before looking again
	// (default 50ms: a keyword reply waits at most that for its turn).
	Poll          time.Duration
	MaintainEvery time.Duration // outbox upkeep interval (default 1s)
	MaxParts      int           // concatenated parts per message (default 6)
	// RetryAfter is the first wait after ESME_RMSGQFUL and other temporary
	// refusals; it doubles per attempt up to 5 minutes (default 2s).
	RetryAfter time.Duration
	// Recovery is how long the database must have answered again, after
	// it failed, before anything is claimed (default 5s): long enough for
	// every sender back from an outage to settle the outcomes it holds
	// before another can claim those messages again.
	Recovery time.Duration
	// MaxAttempts bounds how often a message the SMSC refuses for now
	// (queue full, system error) is tried: then it fails with the SMSC's
	// last word and is set aside as a dead letter (default 20, about an
	// hour and a half of back-off). Lost links and stops do not count.
	MaxAttempts int
	NoReceipts  bool // do not ask for delivery receipts
}

func (c *SenderConfig) setDefaults() {
	if c.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		rand.Read(b)
		c.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if c.Batch <= 0 {
		c.Batch = 1000
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.Poll <= 0 {
		c.Poll = 50 * time.Millisecond
	}
	if c.MaintainEvery <= 0 {
		c.MaintainEvery = time.Second
	}
	if c.MaxParts <= 0 {
		c.MaxParts = care360.DefaultMaxSMSParts
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 2 * time.Second
	}
	if c.Recovery <= 0 {
		c.Recovery = 5 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 20
	}
}

// sender moves the outbox to the SMSCs. One claimer leases batches of due
// messages; each bind runs as many submitters as its window, so that many
// submit_sm are in flight per bind at once (within its TPS); one settler
// records outcomes in batches. A submitter takes its next message only once
// the outcome of its last is recorded: a message holds its place in the
// window from its submit until Postgres knows how it went, so that what a
// kill -9 leaves sent but unrecorded (and the next holder sends again) is
// at most one window per link (PRODUCT.md §8). slots bounds what is claimed
// but not yet settled, so a slow SMSC makes the claimer wait instead of
// hoarding leases.
type sender struct {
	g       *Gateway
	cfg     SenderConfig
	queue   care360.OutboxQueue
	work    chan care360.OutboxClaim
	held    chan care360.OutboxClaim // marketing, until the yielder lets it into work
	results chan settling
	slots   chan struct{}
	binds   []*bindSender
	db      dbHealth

	quit     chan struct{}   // closed by stop: claim nothing more
	quitCtx  context.Context // ends with quit, for waits that take a context
	quitNow  context.CancelFunc
	ctx      context.Context
	cancel   context.CancelFunc // aborts in-flight submits when stop's deadline passes
	claimer  sync.WaitGroup
	gate     sync.WaitGroup
	submits  sync.WaitGroup
	settled  chan struct{}
	startOne sync.Once
	stopOne  sync.Once
}

func newSender(g *Gateway) *sender {
	cfg := g.cfg.Sender
	cfg.setDefaults()
	window := 0
	s := &sender{g: g, cfg: cfg, queue: g.cfg.Outbox, quit: make(chan struct{}), settled: make(chan struct{})}
	for _, b := range g.binds {
		if !b.cfg.Role.Has(RoleSMS) {
			continue // SMS go only over SMS binds
		}
		s.binds = append(s.binds, &bindSender{b: b})
		window += b.cfg.Window
	}
	// Room for two batches in flight besides those being sent: a claim and
	// a settle take a database round trip each, and the binds should not
	// wait for either.
	s.slots = make(chan struct{}, max(4*window, 2*cfg.Batch))
	s.work = make(chan care360.OutboxClaim, cap(s.slots))
	s.held = make(chan care360.OutboxClaim, cap(s.slots))
	s.results = make(chan settling, cap(s.slots))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.quitCtx, s.quitNow = context.WithCancel(s.ctx)
	return s
}

func (s *sender) start() {
	s.startOne.Do(func() {
		s.claimer.Add(1)
		go s.claimLoop()
		if f, ok := s.queue.(care360.CampaignFeeder); ok {
			s.claimer.Go(func() { s.feedLoop(f) })
		}
		s.gate.Go(s.gateLoop)
		for _, bs := range s.binds {
			for range bs.b.cfg.Window {
				s.submits.Add(1)
				go s.submitLoop(bs)
			}
		}
		go s.settleLoop()
	})
}

// stop claims nothing more, hands back what is claimed but not started,
// lets submits in flight finish until ctx ends (then aborts them: they are
// retried, at most one window twice), and settles everything. Safe to call
// twice, and without start.
func (s *sender) stop(ctx context.Context) error {
	var err error
	s.stopOne.Do(func() {
		close(s.quit)
		s.quitNow()
		s.startOne.Do(func() { close(s.settled) }) // never started: nothing to wait for
		s.claimer.Wait()
		s.gate.Wait()
		done := make(chan struct{})
		go func() { s.submits.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("outbox sender: submits still in flight: %w", ctx.Err())
			s.cancel()
			<-done
		}
		// Submitters are gone: whatever is left in work or held was
		// never tried.
		for drained := false; !drained; {
			select {
			case c := <-s.work:
				s.results <- settling{Outcome: care360.Outcome{ID: c.ID, Token: c.Token, Kind: care360.OutcomeReleased}}
			case c := <-s.held:
				s.results <- settling{Outcome: care360.Outcome{ID: c.ID, Token: c.Token, Kind: care360.OutcomeReleased}}
			default:
				drained = true
			}
		}
		close(s.results)
		<-s.settled
		s.cancel()
	})
	return err
}

// claimLoop leases due messages while there is room and a bind to send on,
// and runs the outbox upkeep on its interval.
func (s *sender) claimLoop() {
	defer s.claimer.Done()
	maintain := time.NewTicker(s.cfg.MaintainEvery)
	defer maintain.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-maintain.C:
			s.maintain()
			continue
		case s.slots <- struct{}{}:
		}
		n := 1
		for n < s.cfg.Batch {
			select {
			case s.slots <- struct{}{}:
				n++
				continue
			default:
			}
			break
		}
		got := 0
		if s.anyBound() && s.db.mayClaim(s.cfg.Recovery) {
			got = s.claim(n)
		}
		for range n - got {
			<-s.slots
		}
		if got == 0 && !sleep(s.quitCtx, s.cfg.Poll) {
			return
		}
	}
}

// anyBound reports whether some SMS bind is up: while one is down, the
// others take its traffic (its submitters take no work meanwhile).
func (s *sender) anyBound() bool {
	for _, bs := range s.binds {
		if bs.b.up() {
			return true
		}
	}
	return false
}

func (s *sender) claim(n int) int {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	// The lease is counted on our own clock from before we asked: never
	// later than the outbox's count, whatever the two clocks say.
	until := time.Now().Add(s.cfg.Lease)
	claim := s.queue.Claim
	if tc, ok := s.queue.(care360.TransactionalClaimer); ok && len(s.held) >= s.g.yield.backlog() {
		// Marketing waits for the screens and enough of it is claimed:
		// more would only hold slots (and leases) that codes and replies
		// need.
		claim = tc.ClaimTransactional
	}
	cs, err := claim(ctx, s.cfg.Owner, n, s.cfg.Lease)
	if err != nil {
		s.db.failed()
		s.g.log.Warn("outbox claim failed", "err", err)
		return 0
	}
	s.db.ok()
	for _, c := range cs {
		c.LeaseUntil = until
		if c.Reclaimed {
			s.g.metrics.smsReclaimed.Inc()
		}
		if c.Kind == care360.KindMarketing {
			s.held <- c // never blocks: held holds as many as there are slots
			continue
		}
		s.work <- c // never blocks: work holds as many as there are slots
	}
	return len(cs)
}

// gateLoop lets claimed marketing into work as fast as the yielder allows
// (yield.go): while screens need the machine a campaign waits here, never
// in a submitter, so that codes and replies claimed after it still go at
// once. A claim held longer than maxHeld goes back to the queue unsent,
// where the claim's checks apply again: the marketing window may have
// closed, its campaign been paused or cancelled meanwhile.
func (s *sender) gateLoop() {
	for {
		select {
		case <-s.quit:
			return
		case c := <-s.held:
			if stale := time.Since(c.LeaseUntil.Add(-s.cfg.Lease)) > maxHeld; !stale {
				if err := s.g.yield.wait(s.quitCtx); err != nil {
					s.held <- c // stopping: stop hands it back
					return
				}
				if time.Since(c.LeaseUntil.Add(-s.cfg.Lease)) <= maxHeld {
					s.work <- c
					continue
				}
			}
			s.g.metrics.smsOutcomes.WithLabelValues(string(care360.OutcomeReleased)).Inc()
			s.results <- settling{Outcome: care360.Outcome{ID: c.ID, Token: c.Token, Kind: care360.OutcomeReleased}}
		}
	}
}

// feedLoop moves campaign recipients into the outbox every feedEvery (or
// the upkeep's interval, if shorter), apart from the claims: moving a part
// of 10,000 takes a few hundred milliseconds, which the claim loop must not
// wait for (a gift code's SMS would). While marketing gives way to screens
// it moves them in slices of what marketing's limit lets through in two
// passes (feedLead): a whole part would take a core from the screens for
// most of a second, and then wait minutes in the outbox at that limit.
func (s *sender) feedLoop(f care360.CampaignFeeder) {
	every := min(s.cfg.MaintainEvery, feedEvery)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.quitCtx, time.Minute)
		n, err := f.FeedCampaigns(ctx, feedLead(s.g.yield.bulkLimit(), every))
		cancel()
		if err != nil && s.quitCtx.Err() == nil {
			s.g.log.Warn("campaign recipients not moved into the outbox", "err", err)
		}
		if n > 0 {
			s.g.log.Info("campaign recipients moved into the outbox", "messages", n)
		}
	}
}

// feedEvery is how often the feed looks for campaigns running low. The
// binds send a part of 10,000 in under a second on these machines, so a
// pass a second left the senders idle for the rest of it: a campaign
// alone went out at 6,000–9,300 SMS a second against 12,000–14,000 for
// other messages (docs/benchmarks.md, "Marketing that costs the screens
// less"). A pass that finds enough due costs a count of up to a part of
// the campaign's queued rows.
const feedEvery = 250 * time.Millisecond

// minFeedSlice is the fewest recipients a slice of a campaign moves: a
// move has a cost of its own (the campaign's row, the part's row, the
// statements' planning) that a few dozen recipients would not bear.
const minFeedSlice = 500

// feedLead is how many of a campaign's messages due in the outbox are
// enough, and how many move at a time, while marketing is limited to limit
// a second and the feed passes every interval: two passes' worth (0,
// unlimited: a part's worth, as the queue measures it).
func feedLead(limit float64, interval time.Duration) int {
	if limit <= 0 {
		return 0
	}
	return max(minFeedSlice, int(math.Ceil(2*limit*interval.Seconds())))
}

// maxHeld is how long claimed marketing may wait in the gate.
const maxHeld = 5 * time.Second

func (s *sender) maintain() {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	u, err := s.queue.Maintain(ctx)
	if err != nil {
		s.db.failed()
		s.g.log.Warn("outbox upkeep failed", "err", err)
		return
	}
	s.db.ok()
	if u.Queued >= 0 {
		s.g.metrics.outboxDepth.Set(float64(u.Queued))
	}
	if u.Held > 0 {
		s.g.log.Info("marketing held for quiet hours", "messages", u.Held)
	}
}

// gather appends to batch what ch holds right now, up to max in all, and
// then waits up to linger for batch to fill: a writer's batch is whatever
// arrived while it wrote the previous one, so under load batches grow and
// alone (with no linger) an item goes at once.
func gather[T any](ch <-chan T, batch []T, max int, linger time.Duration) []T {
	var deadline <-chan time.Time // nil: do not wait
	if linger > 0 {
		t := time.NewTimer(linger)
		defer t.Stop()
		deadline = t.C
	}
	for len(batch) < max {
		var it T
		var ok bool
		select {
		case it, ok = <-ch:
		default:
			if deadline == nil {
				return batch
			}
			select {
			case it, ok = <-ch:
			case <-deadline:
				return batch
			}
		}
		if !ok {
			return batch
		}
		batch = append(batch, it)
	}
	return batch
}

// settling is an outcome on its way to Postgres; done (if any) hears when
// it is recorded.
type settling struct {
	care360.Outcome
	done chan<- struct{}
}

// submitLoop sends claimed messages on one bind, one at a time, each after
// the outcome of the one before is recorded; a bind runs window of these,
// which is its asynchronous window.
func (s *sender) submitLoop(bs *bindSender) {
	defer s.submits.Done()
	recorded := make(chan struct{}, 1)
	for {
		l, err := bs.b.waitLink(s.quitCtx)
		if err != nil {
			return
		}
		select {
		case <-s.quit:
			return
		default:
		}
		select {
		case <-s.quit:
			return
		case <-l.done:
			continue // rebinding: take nothing until it is back
		case c := <-s.work:
			o := s.send(bs, l, c)
			s.g.metrics.smsOutcomes.WithLabelValues(string(o.Kind)).Inc()
			s.results <- settling{Outcome: o, done: recorded}
			select {
			case <-recorded:
			case <-s.ctx.Done(): // stop's deadline passed; the settler still writes it
				return
			}
		}
	}
}

// leaseSafety is what must be left of a lease once a submit's answer is in
// (or has timed out): time to hand the outcome to the settler and write it
// before the lease could pass to another sender.
const leaseSafety = 2 * time.Second

// errLeaseShort says a submit was not started: the lease might lapse before
// its answer, and then another sender could send the message too.
var errLeaseShort = errors.New("lease running out; not sent")

// send submits every part of c not sent before, on l, and says how it went.
// While the database is unreachable nothing new is started: the outcome
// could not be written before the lease lapses.
func (s *sender) send(bs *bindSender, l *link, c care360.OutboxClaim) care360.Outcome {
	m := newSMS(s.g.cfg.ShortCode, string(c.MSISDN), c.Text, byte(c.ID), s.cfg.MaxParts, !s.cfg.NoReceipts)
	o := care360.Outcome{ID: c.ID, Token: c.Token, TotalParts: len(m.parts)}
	if m.truncated {
		s.g.metrics.smsTruncated.Inc()
		s.g.log.Warn("SMS cut to the maximum number of parts", "message", c.ID, "parts", len(m.parts))
	}
	done := make(map[int]bool, len(c.DoneParts))
	for _, p := range c.DoneParts {
		done[p] = true
	}
	retry := func(err error, after time.Duration) care360.Outcome {
		o.Kind, o.RetryAfter, o.Error = care360.OutcomeRetry, after, err.Error()
		return o
	}
	for i, p := range m.parts {
		if done[i+1] {
			continue
		}
		for {
			if s.db.isDown() {
				err := errors.New("database unreachable; not sent")
				if len(o.Parts) == 0 {
					return care360.Outcome{ID: c.ID, Token: c.Token, Kind: care360.OutcomeReleased, Error: err.Error()}
				}
				return retry(err, 0)
			}
			if !bs.pause(s.ctx) {
				return retry(s.ctx.Err(), 0)
			}
			resp, err := bs.b.submitOn(s.ctx, l, p, c.LeaseUntil)
			if errors.Is(err, errLeaseShort) && len(o.Parts) == 0 {
				return care360.Outcome{ID: c.ID, Token: c.Token, Kind: care360.OutcomeReleased}
			}
			if err != nil {
				// Lost link, no answer, or stopping: SMPP cannot tell whether
				// it arrived, so it goes again (the one duplicate allowed).
				return retry(err, 0)
			}
			st := resp.Header().Status
			if st == StatusOK {
				bs.ok()
				o.Parts = append(o.Parts, care360.SubmittedPart{Part: i + 1, SMSCID: fieldString(resp.Fields(), pdufield.MessageID)})
				break
			}
			s.g.metrics.smsStatus.WithLabelValues(fmt.Sprintf("%#x", uint32(st))).Inc()
			switch st {
			case StatusThrottled:
				// The SMSC wants us slower: the whole bind backs off and
				// this part waits its turn again.
				s.g.metrics.throttled.Inc()
				bs.throttled()
				continue
			case StatusMsgQFull, StatusSysErr, StatusTempAppErr:
				s.g.metrics.throttled.Inc()
				if c.Attempts >= s.cfg.MaxAttempts {
					o.Kind, o.SetAside = care360.OutcomeFailed, true
					o.Error = fmt.Sprintf("submit_sm refused for now %d attempts in a row, last: %s", c.Attempts, statusName(st))
					return o
				}
				return retry(fmt.Errorf("submit_sm: %s; retrying", statusName(st)), backoff(s.cfg.RetryAfter, c.Attempts))
			}
			o.Kind, o.Error = care360.OutcomeFailed, fmt.Sprintf("submit_sm refused: %s", statusName(st))
			return o
		}
	}
	o.Kind = care360.OutcomeSubmitted
	s.g.metrics.smsParts.Observe(float64(len(m.parts)))
	return o
}

// backoff is base doubled per earlier attempt, at most 5 minutes.
func backoff(base time.Duration, attempts int) time.Duration {
	d := base
	for i := 1; i < attempts && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

func statusName(st pdu.Status) string {
	return fmt.Sprintf("%#08x (%v)", uint32(st), st)
}

// settleLoop records outcomes in batches: a batch is what arrived while the
// previous one was being written, so under load batches grow and the
// database sees few, large transactions; alone, an outcome is written at
// once, but while screens are answered it waits for others (yielder.linger).
func (s *sender) settleLoop() {
	defer close(s.settled)
	outcomes := make([]care360.Outcome, 0, 2*s.cfg.Batch)
	for o := range s.results {
		batch := gather(s.results, []settling{o}, 2*s.cfg.Batch, s.g.yield.linger())
		outcomes = outcomes[:0]
		for _, o := range batch {
			outcomes = append(outcomes, o.Outcome)
		}
		s.g.metrics.writes.WithLabelValues("settle").Observe(float64(len(outcomes)))
		s.settle(outcomes)
		for _, o := range batch {
			<-s.slots
			if o.done != nil {
				o.done <- struct{}{}
			}
		}
	}
}

// settle writes a batch, retrying while the database is away: the outcomes
// exist only here. While the leases last they keep other senders off these
// messages; past them, every sender's claims wait for SenderConfig.Recovery
// after the database answers again, and the retries here come at least
// once a second, so what we hold is written first. An outcome whose lease
// passed to a newer claim all the same is fenced off by its token and
// changes nothing.
func (s *sender) settle(batch []care360.Outcome) {
	for wait := 100 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		fenced, err := s.queue.Settle(ctx, s.cfg.Owner, batch)
		cancel()
		if err == nil {
			s.db.ok()
			if fenced > 0 {
				s.g.metrics.smsFenced.Add(float64(fenced))
				s.g.log.Warn("outbox outcomes fenced off: their leases had passed to newer claims", "messages", fenced)
			}
			return
		}
		s.db.failed()
		s.g.log.Warn("outbox settle failed; retrying", "messages", len(batch), "err", err)
		time.Sleep(wait)
	}
}

// dbHealth is the sender's view of the outbox database: down from a failed
// claim, settle or upkeep until one succeeds again, and then "recovering"
// for a while before claims resume.
type dbHealth struct {
	mu      sync.Mutex
	down    bool
	upSince time.Time
}

func (h *dbHealth) failed() {
	h.mu.Lock()
	h.down = true
	h.mu.Unlock()
}

func (h *dbHealth) ok() {
	h.mu.Lock()
	if h.down {
		h.down, h.upSince = false, time.Now()
	}
	h.mu.Unlock()
}

func (h *dbHealth) isDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

// mayClaim reports whether the database has answered for at least
// recovery since it last failed (always, if it never did).
func (h *dbHealth) mayClaim(recovery time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.down && (h.upSince.IsZero() || time.Since(h.upSince) >= recovery)
}

// bindSender is a bind as the senders see it: with a back-off shared by its
// submitters when the SMSC says it is throttled.
type bindSender struct {
	b *bind

	mu     sync.Mutex
	until  time.Time     // no submit before this
	factor time.Duration // current back-off step
}

// throttled pushes the bind's next submit back, doubling from 50 ms to 5 s.
func (bs *bindSender) throttled() {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.factor = min(max(bs.factor*2, 50*time.Millisecond), 5*time.Second)
	bs.until = time.Now().Add(bs.factor)
	bs.b.log.Warn("SMSC throttling; backing off", "for", bs.factor)
}

// ok eases the back-off after a submit goes through.
func (bs *bindSender) ok() {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.factor /= 2
}

// pause waits out the back-off; false if ctx ended first.
func (bs *bindSender) pause(ctx context.Context) bool {
	bs.mu.Lock()
	d := time.Until(bs.until)
	bs.mu.Unlock()
	if d <= 0 {
		return true
	}
	return sleep(ctx, d)
}

// submitOn sends one submit_sm on l within the bind's TPS, in the bulk
// lane (behind USSD screens); unlike
// bind.submit it never moves to a newer link, so that the caller knows
// which link a lost answer was lost on. It starts the submit only if its
// answer (or its timeout) comes leaseSafety before leaseUntil, window wait
// included: a message
// must never be on the wire after its lease could have passed to another
// sender.
func (b *bind) submitOn(ctx context.Context, l *link, p pdu.Body, leaseUntil time.Time) (pdu.Body, error) {
	// Bulk SMS take a TPS token only after every waiting screen.
	if err := b.tps.bulk(ctx); err != nil {
		return nil, err
	}
	startBy := leaseUntil.Add(-b.cfg.RespTimeout - leaseSafety)
	if time.Now().After(startBy) {
		return nil, errLeaseShort
	}
	return l.requestBefore(ctx, p, startBy, errLeaseShort)
}
