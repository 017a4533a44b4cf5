package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
)

// BindConfig describes one bind to an SMSC / USSD centre.
type BindConfig struct {
	Addr       string // host:port
	SystemID   string
	Password   string
	SystemType string
	Profile    Profile
	TPS        int      // max submit_sm per second (CARE360_SMPP_TPS)
	Window     int      // max outstanding requests (CARE360_SMPP_WINDOW)
	Role       Role     // what it carries; zero: USSD and SMS
	Type       BindType // one transceiver link, or a transmitter and a receiver

	EnquireLink  time.Duration // keep-alive interval; default 30s
	RespTimeout  time.Duration // how long a request waits for its response; default 10s
	DialTimeout  time.Duration // TCP connect + bind; default 5s
	WriteTimeout time.Duration // deadline of every write; default 5s
	MinBackoff   time.Duration // first rebind delay; default 500ms
	MaxBackoff   time.Duration // longest rebind delay; default 30s
}

func (c *BindConfig) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.EnquireLink, 30*time.Second)
	def(&c.RespTimeout, 10*time.Second)
	def(&c.DialTimeout, 5*time.Second)
	def(&c.WriteTimeout, 5*time.Second)
	def(&c.MinBackoff, 500*time.Millisecond)
	def(&c.MaxBackoff, 30*time.Second)
	if c.TPS <= 0 {
		c.TPS = 100
	}
	if c.Window <= 0 {
		c.Window = 10
	}
	if c.Profile.Name == "" {
		c.Profile = GenericProfile
	}
}

// bind keeps one bind up: it dials, binds, keeps the link alive with
// enquire_link and rebinds with jittered exponential back-off when the link
// drops. Submits wait for the bind to come up rather than fail at once. A
// transmitter+receiver bind keeps two links so: submits go on the
// transmitter, deliveries arrive on the receiver, and the bind is up while
// both are.
type bind struct {
	cfg     BindConfig
	log     *slog.Logger
	handle  requestHandler
	tps     *pacer // screens ahead of bulk SMS (PRODUCT.md §8, "USSD first")
	metrics *metrics

	mu    sync.Mutex
	cur   *link         // where submits go: the transceiver or the transmitter
	rx    *link         // the receiver of a transmitter+receiver bind
	ready chan struct{} // closed while cur != nil; replaced when the link drops
	since time.Time     // when upLocked last changed, for the operations dashboard
}

// upLocked is up with b.mu held.
func (b *bind) upLocked() bool {
	return b.cur != nil && (b.cfg.Type != BindTransmitterReceiver || b.rx != nil)
}

// up reports whether the bind can both send and receive.
func (b *bind) up() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.upLocked()
}

func newBind(cfg BindConfig, handle requestHandler, log *slog.Logger, m *metrics) *bind {
	cfg.setDefaults()
	return &bind{
		cfg:     cfg,
		log:     log.With("smsc", cfg.Addr),
		handle:  handle,
		tps:     newPacer(cfg.TPS),
		metrics: m,
		ready:   make(chan struct{}),
		since:   time.Now(), // down since the gateway was built
	}
}

// current returns the bound link, or nil.
func (b *bind) current() *link {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cur
}

// waitLink returns the bound link, waiting for a rebind until ctx ends.
func (b *bind) waitLink(ctx context.Context) (*link, error) {
	for {
		b.mu.Lock()
		l, ready := b.cur, b.ready
		b.mu.Unlock()
		if l != nil {
			return l, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("smpp %s not bound: %w", b.cfg.Addr, ctx.Err())
		}
	}
}

// submit sends a submit_sm within the bind's TPS and window, in the USSD
// lane (ahead of bulk SMS), and returns the SMSC's response.
func (b *bind) submit(ctx context.Context, p pdu.Body) (pdu.Body, error) {
	if err := b.tps.screen(ctx); err != nil {
		return nil, err
	}
	l, err := b.waitLink(ctx)
	if err != nil {
		return nil, err
	}
	return l.request(ctx, p)
}

// linkKind is which bind command a link uses.
type linkKind uint8

const (
	linkTransceiver linkKind = iota
	linkTransmitter
	linkReceiver
)

func (k linkKind) String() string {
	return [...]string{"transceiver", "transmitter", "receiver"}[k]
}

// run binds and rebinds until ctx ends; then it unbinds politely. A
// transmitter+receiver bind runs both links, each rebinding on its own.
func (b *bind) run(ctx context.Context) {
	if b.cfg.Type != BindTransmitterReceiver {
		b.runLink(ctx, linkTransceiver)
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.runLink(ctx, linkReceiver)
	}()
	b.runLink(ctx, linkTransmitter)
	<-done
}

// setLinkOf records kind's link (nil when it dropped).
func (b *bind) setLinkOf(kind linkKind, l *link) {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := b.upLocked()
	if kind == linkReceiver {
		b.rx = l
	} else {
		b.cur = l
		if l != nil {
			close(b.ready)
		} else {
			b.ready = make(chan struct{})
		}
	}
	if b.upLocked() != was {
		b.since = time.Now()
	}
}

// runLink keeps one link of the bind up until ctx ends.
func (b *bind) runLink(ctx context.Context, kind linkKind) {
	backoff := b.cfg.MinBackoff
	for {
		l, err := b.connect(ctx, kind)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.metrics.bindFailures.WithLabelValues(b.cfg.Addr).Inc()
			wait := jitter(backoff)
			b.log.Warn("smpp bind failed; retrying", "err", err, "in", wait.Round(time.Millisecond))
			if !sleep(ctx, wait) {
				return
			}
			backoff = min(backoff*2, b.cfg.MaxBackoff)
			continue
		}
		up := time.Now()
		b.log.Info("smpp bound", "system_id", b.cfg.SystemID, "profile", b.cfg.Profile.Name, "role", b.cfg.Role.String(), "link", kind.String())
		b.setLinkOf(kind, l)
		b.metrics.linkUp(b, kind, true)
		b.keepAlive(ctx, l)
		b.setLinkOf(kind, nil)
		b.metrics.linkUp(b, kind, false)
		if ctx.Err() != nil {
			b.unbind(l)
			return
		}
		b.log.Warn("smpp link lost; rebinding", "err", l.err)
		if time.Since(up) > time.Minute {
			backoff = b.cfg.MinBackoff // a link that held for a while starts afresh
		}
		if !sleep(ctx, jitter(backoff)) {
			return
		}
		backoff = min(backoff*2, b.cfg.MaxBackoff)
	}
}

// connect dials and binds as kind.
func (b *bind) connect(ctx context.Context, kind linkKind) (*link, error) {
	dctx, cancel := context.WithTimeout(ctx, b.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", b.cfg.Addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	l := newLink(conn, b.cfg.Window, b.cfg.WriteTimeout, b.cfg.RespTimeout, b.log)
	l.handle = b.handle
	go l.readLoop()

	var p pdu.Body
	switch kind {
	case linkTransmitter:
		p = pdu.NewBindTransmitter()
	case linkReceiver:
		p = pdu.NewBindReceiver()
	default:
		p = pdu.NewBindTransceiver()
	}
	f := p.Fields()
	f.Set(pdufield.SystemID, b.cfg.SystemID)
	f.Set(pdufield.Password, b.cfg.Password)
	f.Set(pdufield.SystemType, b.cfg.SystemType)
	f.Set(pdufield.InterfaceVersion, uint8(0x34))
	resp, err := l.request(dctx, p)
	if err != nil {
		l.close(err)
		return nil, fmt.Errorf("bind_%s: %w", kind, err)
	}
	if st := resp.Header().Status; st != StatusOK {
		l.close(errors.New("bind refused"))
		return nil, fmt.Errorf("bind_%s refused: %#x (%v)", kind, uint32(st), st)
	}
	return l, nil
}

// keepAlive sends enquire_link on the interval until the link dies or ctx
// ends. A missing enquire_link_resp means the peer is gone even if TCP has
// not noticed yet.
func (b *bind) keepAlive(ctx context.Context, l *link) {
	t := time.NewTicker(b.cfg.EnquireLink)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.done:
			return
		case <-t.C:
			if _, err := l.request(ctx, pdu.NewEnquireLink()); err != nil && ctx.Err() == nil {
				l.close(fmt.Errorf("enquire_link: %w", err))
				return
			}
		}
	}
}

// unbind tells the SMSC we are leaving, so it routes new traffic elsewhere,
// then closes the link.
func (b *bind) unbind(l *link) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := l.request(ctx, pdu.NewUnbind()); err != nil {
		b.log.Warn("smpp unbind", "err", err)
	}
	l.close(errors.New("unbound"))
	b.log.Info("smpp unbound")
}

func jitter(d time.Duration) time.Duration {
	// ±25 % so that many gateways do not rebind in lock step.
	return d*3/4 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
