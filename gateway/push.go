package gateway

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"

	"github.com/care360/care360"
)

// PushConfig wires network-initiated USSD (PRODUCT.md §3.6). The zero value
// of each duration is its default.
type PushConfig struct {
	Queue     care360.PushQueue     // nil: no pushes
	Dialogues care360.PushDialogues // opens each push's dialogue
	// Source is the source_addr of pushes: the service code the member
	// sees them come from (*090#).
	Source string
	Owner  string // lease owner (default: the outbox sender's)
	// Batch is how many targets may be claimed and not yet recorded
	// (default: the USSD binds' windows). It is what a kill -9 can leave
	// sent but unrecorded, which the next holder sends again: at most one
	// window (PRODUCT.md §8).
	Batch int
	Lease time.Duration // how long a claim is ours (default 30s)
	Poll  time.Duration // how long an idle pusher waits before looking again (default 200ms)
	// BusyWait is how long a push waits before looking again at a member
	// with a dialogue in progress (default 5s).
	BusyWait time.Duration
}

func (c *PushConfig) setDefaults(owner string, window int) {
	if c.Owner == "" {
		c.Owner = owner
	}
	if c.Batch <= 0 {
		c.Batch = max(window, 1)
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 200 * time.Millisecond
	}
	if c.BusyWait <= 0 {
		c.BusyWait = 5 * time.Second
	}
}

// pusher works through the push queue: it claims due targets, opens each
// one's dialogue, and sends it over a USSD bind in the screens' lane (within
// the bind's TPS, ahead of bulk SMS). A member with a dialogue in progress
// is not interrupted: the push waits. What the member then does with the
// push reaches the queue through the engine (answered, completed, no
// answer) and the queue's sweep (unanswered, expired).
//
// Like the outbox's sender, it runs continuously: a claimer leases as many
// targets as there are free slots, each is sent on a goroutine of its own,
// and one settler records what went out in batches (what arrived while the
// last batch was written). A target holds its slot from its claim until it
// is recorded, and there are as many slots as the USSD binds' windows, so
// what a kill -9 can leave sent but unrecorded (and the next holder sends
// again) is at most one window (PRODUCT.md §8).
type pusher struct {
	g     *Gateway
	cfg   PushConfig
	binds []*bind
	next  int // round robin over binds that are up
	mu    sync.Mutex

	slots   chan struct{}  // one per target claimed and not yet recorded
	sent    chan delivered // to the settler
	sending sync.WaitGroup // sends in flight

	started atomic.Bool
	stop    chan struct{}
	done    chan struct{}
}

// delivered is a push the SMSC took, waiting to be recorded before its
// lease lapses.
type delivered struct {
	care360.PushDelivery
	leaseUntil time.Time
}

func newPusher(g *Gateway, owner string) *pusher {
	p := &pusher{g: g, cfg: g.cfg.Push, stop: make(chan struct{}), done: make(chan struct{})}
	window := 0
	for _, b := range g.binds {
		if b.cfg.Role.Has(RoleUSSD) {
			p.binds = append(p.binds, b)
			window += b.cfg.Window
		}
	}
	p.cfg.setDefaults(owner, window)
	p.slots = make(chan struct{}, p.cfg.Batch)
	p.sent = make(chan delivered, p.cfg.Batch)
	return p
}

func (p *pusher) start() {
	p.started.Store(true)
	go p.run()
}

// halt stops claiming and waits for the pushes in hand to be sent and
// recorded (none if it never started).
func (p *pusher) halt() {
	close(p.stop)
	if p.started.Load() {
		<-p.done
	}
}

func (p *pusher) run() {
	defer close(p.done)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-p.stop
		cancel()
	}()
	settled := make(chan struct{})
	go func() {
		defer close(settled)
		p.settle()
	}()
	p.claim(ctx)
	p.sending.Wait()
	close(p.sent)
	<-settled
}

// claim leases due targets into free slots and starts their sends, until
// stopped; it waits while there is nothing due or no USSD bind is up.
func (p *pusher) claim(ctx context.Context) {
	for {
		select {
		case <-p.stop:
			return
		case p.slots <- struct{}{}: // a first free slot
		}
		n := 1
		for more := true; more && n < cap(p.slots); {
			select {
			case p.slots <- struct{}{}:
				n++
			default:
				more = false
			}
		}
		got := 0
		if p.pick() != nil { // else leave the queue to instances with a USSD bind up
			got = p.claimInto(ctx, n)
		}
		for range n - got {
			<-p.slots
		}
		if got == 0 {
			select {
			case <-p.stop:
				return
			case <-time.After(p.cfg.Poll):
			}
		}
	}
}

// claimInto claims up to n targets, starts a send for each, and returns
// how many it claimed.
func (p *pusher) claimInto(ctx context.Context, n int) int {
	claimed := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	cs, err := p.cfg.Queue.ClaimPushes(cctx, p.cfg.Owner, n, p.cfg.Lease)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			p.g.log.Warn("push claim failed", "err", err)
		}
		return 0
	}
	for _, c := range cs {
		p.sending.Add(1)
		go func() {
			defer p.sending.Done()
			if d, ok := p.send(c); ok {
				p.sent <- delivered{d, claimed.Add(p.cfg.Lease)} // never blocks: as many places as slots
			} else {
				<-p.slots // recorded by send itself
			}
		}()
	}
	return len(cs)
}

// settle records what went out, in batches: a batch is what arrived while
// the last one was written (a commit per push would cost the database more
// than the pushes themselves). Slots free only once their push is recorded.
func (p *pusher) settle() {
	for d := range p.sent {
		batch := []care360.PushDelivery{d.PushDelivery}
		leaseUntil := d.leaseUntil
		for more := true; more; {
			select {
			case x, ok := <-p.sent:
				if !ok {
					more = false
					break
				}
				batch = append(batch, x.PushDelivery)
				if x.leaseUntil.Before(leaseUntil) {
					leaseUntil = x.leaseUntil
				}
			default:
				more = false
			}
		}
		p.recordSent(batch, leaseUntil)
		for range batch {
			<-p.slots
		}
	}
}

// recordSent writes a batch of sent pushes in one statement, trying again
// while Postgres is away: until it is written, only the leases keep other
// senders from sending these pushes again, so it is tried until they lapse.
func (p *pusher) recordSent(sent []care360.PushDelivery, leaseUntil time.Time) {
	if len(sent) == 0 {
		return
	}
	for wait := 100 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fenced, err := p.cfg.Queue.PushSent(ctx, p.cfg.Owner, sent)
		cancel()
		switch {
		case err == nil && fenced > 0:
			p.g.log.Warn("pushes sent after their leases had passed on", "pushes", fenced)
			return
		case err == nil:
			return
		case time.Now().Add(wait).After(leaseUntil):
			p.g.log.Warn("pushes sent but not recorded before their leases lapsed", "pushes", len(sent), "err", err)
			return
		}
		p.g.log.Warn("pushes sent but not recorded yet; trying again", "pushes", len(sent), "err", err)
		time.Sleep(wait)
	}
}

// pick returns the next USSD bind that is up, round robin, or nil.
func (p *pusher) pick() *bind {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.binds {
		b := p.binds[p.next%len(p.binds)]
		p.next++
		if b.up() {
			return b
		}
	}
	return nil
}

// pushMaxAttempts bounds how often a push that fails for reasons of its
// own (no answer from the SMSC, its screen not opened) is tried; waiting
// for a member's dialogue does not count.
const pushMaxAttempts = 10

// send opens one target's dialogue and submits its first screen. What did
// not go out it records itself (waiting, or ended); what went out it
// returns for the settler to record. Its writes use a fresh context: a stop
// must not leave a sent push recorded as queued.
func (p *pusher) send(c care360.PushClaim) (care360.PushDelivery, bool) {
	q, owner := p.cfg.Queue, p.cfg.Owner
	bg := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 5*time.Second)
	}
	var end func(state, why string)
	wait := func(d time.Duration, busy bool, why string) {
		if !busy && c.Attempts >= pushMaxAttempts {
			// One that keeps failing is set aside, not tried until it
			// expires (PRODUCT.md §8).
			end(care360.PushFailed, fmt.Sprintf("%d attempts, last: %s", c.Attempts, why))
			return
		}
		ctx, cancel := bg()
		defer cancel()
		if err := q.PushWait(ctx, owner, c.ID, c.Token, d, busy, why); err != nil {
			p.g.log.Warn("push not handed back; its lease will lapse", "target", c.ID, "err", err)
		}
	}
	end = func(state, why string) {
		p.g.metrics.pushes.WithLabelValues(state).Inc()
		ctx, cancel := bg()
		defer cancel()
		if err := q.PushEnd(ctx, owner, c.ID, c.Token, state, why); err != nil {
			p.g.log.Warn("push outcome not recorded; its lease will lapse", "target", c.ID, "err", err)
		}
	}
	if c.Busy {
		// Never interrupt a dialogue in progress (PRODUCT.md §3.6); the
		// sweep ends the push as busy if it is still waiting at its expiry.
		wait(p.cfg.BusyWait, true, "dialogue in progress")
		return care360.PushDelivery{}, false
	}
	b := p.pick()
	if b == nil {
		wait(2*time.Second, false, "no USSD bind up")
		return care360.PushDelivery{}, false
	}
	prof := b.cfg.Profile
	ref := uint16(care360.PushRef(c.ID))
	umr := binary.BigEndian.AppendUint16(nil, ref)
	key := dialogueKey(c.MSISDN, string(c.MSISDN), nil, umr)
	if prof.Key == "msisdn" {
		key = dialogueKey(c.MSISDN, string(c.MSISDN), nil, nil)
	}
	ctx, cancel := context.WithTimeout(p.g.workCtx, p.g.cfg.StepTimeout)
	defer cancel()
	reply, err := p.cfg.Dialogues.OpenPush(ctx, care360.PushOpen{Key: key, MSISDN: c.MSISDN, Target: c.ID, Kind: c.Kind,
		Text: c.Text, Screen: c.Screen, Bind: b.cfg.SystemID, LimitGSM: prof.LimitGSM, LimitUCS2: prof.LimitUCS2})
	switch code := care360.ErrorCode(err); {
	case err == nil:
	case code == care360.EREFUSED || code == care360.EINVALID || code == care360.ENOTFOUND:
		// The screen cannot be shown to this member (out of stock, not
		// open, under hold...): trying again will not change it.
		end(care360.PushFailed, err.Error())
		return care360.PushDelivery{}, false
	default:
		p.g.log.Warn("push dialogue not opened; trying again", "target", c.ID, "err", err)
		wait(5*time.Second, false, err.Error())
		return care360.PushDelivery{}, false
	}
	op := prof.pushMenuOp()
	if c.Kind == care360.PushNotify {
		op = prof.pushNotifyOp()
	}
	resp, err := b.submit(ctx, pushPDU(prof, p.cfg.Source, c.MSISDN, op, umr, reply.Text))
	if err != nil {
		// No answer: it may or may not be on the phone. Tried again after
		// a while; a phone that shows it twice is better than one that
		// never does.
		wait(5*time.Second, false, err.Error())
		return care360.PushDelivery{}, false
	}
	switch st := resp.Header().Status; st {
	case StatusOK:
	case StatusThrottled, StatusMsgQFull:
		p.g.metrics.throttled.Inc()
		wait(time.Second, false, fmt.Sprintf("submit_sm: SMSC busy (%#x)", uint32(st)))
		return care360.PushDelivery{}, false
	default:
		end(care360.PushRefused, "submit_sm refused: "+statusName(st))
		return care360.PushDelivery{}, false
	}
	p.g.metrics.pushes.WithLabelValues(care360.PushSent).Inc()
	return care360.PushDelivery{ID: c.ID, Token: c.Token, Ref: int(ref)}, true
}

// pushPDU is the submit_sm that opens a pushed dialogue: op USSR request
// (menu) or USSN request (notification) in generic, the dialogue number in
// user_message_reference (unless the profile keys dialogues by MSISDN), to
// the member's international number.
func pushPDU(prof Profile, source string, msisdn care360.MSISDN, op byte, umr []byte, text string) pdu.Body {
	fields := pdutlv.Fields{pdutlv.TagUssdServiceOp: []byte{op}}
	if prof.Key == "session" {
		fields[pdutlv.TagUserMessageReference] = umr
	}
	p := pdu.NewSubmitSM(fields)
	f := p.Fields()
	f.Set(pdufield.ServiceType, prof.ServiceType)
	f.Set(pdufield.SourceAddr, source)
	f.Set(pdufield.DestAddrTON, 1) // international
	f.Set(pdufield.DestAddrNPI, 1) // E.164
	f.Set(pdufield.DestinationAddr, string(msisdn))
	coding, body := encodeText(text)
	f.Set(pdufield.ShortMessage, body)
	f.Set(pdufield.DataCoding, coding)
	return p
}
