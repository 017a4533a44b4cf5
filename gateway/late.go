package gateway

import (
	"sync"
	"time"

	"github.com/care360/care360"
)

// A screen step whose worker picks it up with too little of its budget left
// for the engine to finish it is answered "service unavailable" at once,
// without running (shedLate). Under overload, with more steps outstanding
// than the machine answers within a budget, every worker's queue grows
// about a budget long: run anyway, such steps start their work with too
// little time left, almost all of them fail after costing as much as a
// success, and the steps behind them, which could have made it, wait
// behind that wasted work until they cannot either. Shed, a late step
// costs one submit_sm, sent off the worker; the steps that run have the
// time to finish.
//
// "Too little" is what steps recently cost the engine (stepCost), but
// never more than a tenth of the engine's share of the budget (150 ms by
// default): a step picked up within the first nine tenths always runs. A
// slow spell, whose steps push the estimate up, cannot then leave every
// step shed and the estimate no fresh samples to come down with; and a
// gateway starting cold, whose first steps are slow while its connections
// and statements are made and whose queues fill meanwhile, serves the
// steps that waited (with a quarter as the bound, a gateway's first second
// on a new database shed a few that would have finished).

// unavailable is the op 17 screen of a step that cannot be answered in
// its budget (PRODUCT.md §3.1).
var unavailable = care360.USSDReply{Text: "Dich vu tam thoi gian doan. Vui long thu lai sau.", End: true}

// stepCost estimates how long the engine takes for a step as TCP estimates
// its retransmission timeout (RFC 6298): a smoothed mean of the steps that
// finished plus four smoothed mean deviations, so that it covers nearly
// every step while steps cost what they usually do, and widens at once
// when their cost jumps about. Nothing is shed until warmSteps have
// finished: before that nothing is known of what a step costs. They are
// few on purpose: under overload, before shedding begins, hardly any step
// finishes, so a warm-up of more (32 were tried) may never end, and a
// gateway started into an overload would stay collapsed. The price is
// that the estimate starts from a cold gateway's slow first steps: on a
// crowded machine a warm-up now and then sheds a step that had waited
// over 1.35 s and would just have finished.
type stepCost struct {
	mu     sync.Mutex
	srtt   time.Duration
	rttvar time.Duration
	n      int
}

// warmSteps is how many steps must finish before any is shed.
const warmSteps = 16

// observe adds the engine time of a step that finished.
func (c *stepCost) observe(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n < warmSteps {
		c.n++
	}
	if c.n == 1 {
		c.srtt, c.rttvar = d, d/2
		return
	}
	dev := c.srtt - d
	if dev < 0 {
		dev = -dev
	}
	c.rttvar += (dev - c.rttvar) / 4
	c.srtt += (d - c.srtt) / 8
}

// estimate is the time a step should be given to finish; zero until
// warmSteps have.
func (c *stepCost) estimate() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n < warmSteps {
		return 0
	}
	return c.srtt + 4*c.rttvar
}

// tooLate reports whether a screen step with left of the engine's share
// (engine) of its budget should be shed rather than run: less is left than
// the estimate, and less than a tenth of engine.
func (c *stepCost) tooLate(left, engine time.Duration) bool {
	return left < min(c.estimate(), engine/10)
}

// shedLate answers a step picked up too late "service unavailable", the
// submit_sm on a goroutine of its own (at most lateSenders at once) so that
// the worker goes on to steps that can still be answered in time. The
// dialogue is left as it was, to be resumed or to idle out like one the
// network dropped.
func (g *Gateway) shedLate(s step, deadline time.Time, reserve time.Duration) {
	g.metrics.late.Inc()
	select {
	case g.lateSenders <- struct{}{}:
		g.inflight.Add(1) // the worker's own count still holds: Stop waits for this one too
		go func() {
			defer func() { <-g.lateSenders; g.inflight.Done() }()
			g.answer(s, unavailable, deadline, reserve)
		}()
	default:
		g.answer(s, unavailable, deadline, reserve)
	}
}

// lateSenders bounds the screens of shed steps in flight at once.
const lateSenders = 256
