// Package gateway is the SMPP side of Care360: it binds to SMSCs and USSD
// centres as an ESME, owns the session layer (go-smpp supplies only the PDU
// codec, see shared/SMPP.md), and turns USSD deliver_sm into dialogue steps.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/care360/care360"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Gateway.
type Config struct {
	Binds     []BindConfig
	USSD      care360.USSDService
	Numbering care360.Numbering
	// Workers is how many dialogue steps run at once (default 64); each
	// dialogue always lands on the same worker, so its steps stay in order.
	Workers int
	// StepTimeout bounds one dialogue step; USSD centres give up after 5–15 s
	// and the product promises an answer within 2 s (default 2s).
	StepTimeout time.Duration
	Logger      *slog.Logger
	Registry    prometheus.Registerer // nil: metrics are kept but not exported

	// SMS handles keyword MOs; nil answers them ESME_RX_T_APPN so the SMSC
	// keeps them.
	SMS care360.MOService
	// Outbox, if set, is sent by the outbox senders and receives delivery
	// receipts (outbox.go, dlr.go).
	Outbox care360.OutboxQueue
	// ShortCode is the source_addr of outgoing SMS (CARE360_SMS_SHORTCODE).
	ShortCode string
	Sender    SenderConfig
	// Push, with a queue, sends network-initiated USSD (push.go).
	Push PushConfig
}

// Gateway runs every bind and the dialogue workers.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	binds   []*bind
	shards  []shard
	seed    maphash.Seed
	sender  *sender    // nil without an outbox
	dlr     *dlrWriter // nil without an outbox
	pusher  *pusher    // nil without a push queue
	yield   *yielder   // marketing SMS give way to screens (yield.go)

	// admit guards the decision to take a step against Stop: a step is either
	// counted in inflight before Stop starts waiting, or refused.
	admit    sync.RWMutex
	draining bool
	inflight sync.WaitGroup // steps accepted and not yet answered
	// lateSenders holds a token for each shed step's screen in flight.
	lateSenders chan struct{}
	cost        stepCost // what a step costs the engine (late.go)

	// workCtx bounds everything the workers do; Stop cancels it once the
	// drain deadline has passed.
	workCtx  context.Context
	stopWork context.CancelFunc

	cancelBinds context.CancelFunc
	bindsDone   sync.WaitGroup
	workersDone sync.WaitGroup
	startOnce   sync.Once
	stopOnce    sync.Once
}

// New builds a gateway; Start brings it up.
func New(cfg Config) *Gateway {
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 2 * time.Second
	}
	if cfg.Numbering.CountryCode == "" {
		cfg.Numbering = care360.VietnamMobile
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger, metrics: newMetrics(cfg.Registry), seed: maphash.MakeSeed(), yield: newYielder(),
		lateSenders: make(chan struct{}, lateSenders)}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "care360_sms_marketing_rate_limit",
			Help: "Marketing SMS parts per second this instance sends while screens need the machine; 0 when not limited.",
		}, g.yield.bulkLimit))
	}
	g.workCtx, g.stopWork = context.WithCancel(context.Background())
	for _, bc := range cfg.Binds {
		b := newBind(bc, nil, g.log, g.metrics)
		b.handle = g.handler(b)
		g.binds = append(g.binds, b)
	}
	if cfg.Outbox != nil {
		g.sender, g.dlr = newSender(g), newDLRWriter(g)
	}
	if cfg.Push.Queue != nil && cfg.Push.Dialogues != nil {
		owner := cfg.Sender
		owner.setDefaults()
		g.pusher = newPusher(g, owner.Owner)
	}
	return g
}

// Start binds to every SMSC in the background and starts the workers. It
// does not wait for the binds: Ready says when they are up.
func (g *Gateway) Start() {
	g.startOnce.Do(func() {
		g.shards = make([]shard, g.cfg.Workers)
		for i := range g.shards {
			// Bounded queues: when one stays full, work is refused with
			// ESME_RTHROTTLED rather than queued without end.
			g.shards[i].q = make(chan func(), 256)
			g.workersDone.Add(1)
			go g.work(g.shards[i].q)
		}
		ctx, cancel := context.WithCancel(context.Background())
		g.cancelBinds = cancel
		for _, b := range g.binds {
			g.bindsDone.Add(1)
			go func() {
				defer g.bindsDone.Done()
				b.run(ctx)
			}()
		}
		if g.sender != nil {
			g.dlr.start()
			g.sender.start()
		}
		if g.pusher != nil {
			g.pusher.start()
		}
	})
}

// Stop drains and leaves: new deliver_sm are refused with a temporary error
// (the SMSC retries them elsewhere), steps in flight finish and get their
// answers (up to ctx's deadline), then every bind unbinds. Safe to call twice.
func (g *Gateway) Stop(ctx context.Context) error {
	return g.stop(func(time.Duration) (context.Context, context.CancelFunc) { return context.WithCancel(ctx) })
}

// StopBudgets bound each stage of a graceful stop (PRODUCT.md §1): an
// overrun stage is cut short and the next one runs with its own budget.
type StopBudgets struct {
	Steps    time.Duration // in-flight steps answered and their responses awaited (default 5s)
	HandBack time.Duration // unsent outbox claims handed back, submits in flight settled (default 2s)
	Unbind   time.Duration // unbind sent and answered on every bind (default 2s)
}

// WithDefaults fills zero budgets with the product's defaults.
func (b StopBudgets) WithDefaults() StopBudgets {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&b.Steps, 5*time.Second)
	def(&b.HandBack, 2*time.Second)
	def(&b.Unbind, 2*time.Second)
	return b
}

// StopWithin is Stop with a budget of its own for each stage: steps, then
// the outbox hand-back, then the unbind. Safe to call twice.
func (g *Gateway) StopWithin(b StopBudgets) error {
	b = b.WithDefaults()
	budgets := []time.Duration{b.Steps, b.HandBack, b.Unbind}
	stage := 0
	return g.stop(func(time.Duration) (context.Context, context.CancelFunc) {
		d := budgets[min(stage, len(budgets)-1)]
		stage++
		return context.WithTimeout(context.Background(), d)
	})
}

// stop runs the stages in order, each under the context stage gives it.
func (g *Gateway) stop(stage func(time.Duration) (context.Context, context.CancelFunc)) error {
	var err error
	g.stopOnce.Do(func() {
		g.admit.Lock()
		g.draining = true
		g.admit.Unlock()
		if g.pusher != nil {
			// No new pushes; those in hand are sent and recorded (each
			// within a step's budget).
			g.pusher.halt()
		}
		ctx, cancel := stage(0)
		done := make(chan struct{})
		go func() { g.inflight.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			err = fmt.Errorf("gateway stop: steps still in flight: %w", ctx.Err())
		}
		cancel()
		// Past the deadline, what is still waiting (a screen for a bind that
		// is down) gives up rather than holding the process.
		g.stopWork()
		if g.sender != nil {
			// Unsent claims go back to the outbox and in-flight submits get
			// their answers before the binds go.
			ctx, cancel := stage(0)
			err = errors.Join(err, g.sender.stop(ctx))
			cancel()
			g.dlr.stop()
		}
		if g.cancelBinds != nil {
			ctx, cancel := stage(0)
			g.cancelBinds()
			unbound := make(chan struct{})
			go func() { g.bindsDone.Wait(); close(unbound) }()
			select {
			case <-unbound:
			case <-ctx.Done():
				err = errors.Join(err, fmt.Errorf("gateway stop: unbind not done: %w", ctx.Err()))
			}
			cancel()
		}
		for i := range g.shards {
			close(g.shards[i].q)
		}
		g.workersDone.Wait()
	})
	return err
}

// Bound returns how many binds are up.
func (g *Gateway) Bound() int {
	n := 0
	for _, b := range g.binds {
		if b.up() {
			n++
		}
	}
	return n
}

// Ready reports an error unless every role the binds carry (USSD, SMS) has
// at least one bind up: one SMS bind down is a failover, not an outage.
func (g *Gateway) Ready(ctx context.Context) error {
	if len(g.binds) == 0 {
		return errors.New("no SMPP binds configured")
	}
	var errs []error
	for _, r := range g.Roles() {
		errs = append(errs, g.ReadyFor(r)(ctx))
	}
	return errors.Join(errs...)
}

// enqueue hands a USSD step to the worker that owns its subscriber (see
// enqueueFunc). Keyed by subscriber, not by dialogue: a network abort and the
// redial that follows it carry different session numbers, and the redial
// must see what the abort left (the dialogue kept for resuming).
func (g *Gateway) enqueue(s step, accepted func()) bool {
	key := string(s.req.MSISDN)
	if key == "" {
		key = s.src
	}
	return g.enqueueFunc(key, func() { g.runStep(s) }, accepted)
}

// enqueueFunc hands run to the worker that owns key (a dialogue, or an
// MSISDN for keyword SMS, so one subscriber's messages stay in order),
// calling accepted first so that the deliver_sm_resp goes out before the
// worker can answer. It never blocks the read loop for long: that loop also
// reads the responses the workers wait for, so a reader blocked on a full
// queue behind workers blocked on responses would be a deadlock. Work that
// finds its queue full for longer than queueWait is refused (false) with
// the metric care360_ussd_steps_shed_total; false also means stopping.
func (g *Gateway) enqueueFunc(key string, run, accepted func()) bool {
	g.admit.RLock()
	defer g.admit.RUnlock()
	if g.draining {
		return false
	}
	sh := &g.shards[maphash.String(g.seed, key)%uint64(len(g.shards))]
	deadline := time.Now().Add(queueWait)
	for {
		sh.mu.Lock()
		if len(sh.q) < cap(sh.q) {
			// Room cannot vanish while we hold the producers' lock: only
			// the worker takes from the queue.
			accepted()
			g.inflight.Add(1)
			sh.q <- run
			sh.mu.Unlock()
			return true
		}
		sh.mu.Unlock()
		if time.Now().After(deadline) {
			g.metrics.shed.Inc()
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// queueWait is how long work may wait for room in its worker's queue.
const queueWait = 20 * time.Millisecond

// shard is one worker's queue; producers (the read loops of every bind)
// check for room and push under mu.
type shard struct {
	mu sync.Mutex
	q  chan func()
}

func (g *Gateway) work(q chan func()) {
	defer g.workersDone.Done()
	for run := range q {
		run()
		g.inflight.Done()
	}
}

// stopping reports whether Stop has begun.
func (g *Gateway) stopping() bool {
	g.admit.RLock()
	defer g.admit.RUnlock()
	return g.draining
}
