package gateway

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// yielder makes marketing SMS give way to screens beyond the binds' lanes
// (PRODUCT.md §8, "USSD first"). Within a bind's window and TPS a screen
// never queues behind bulk submits (pacer.go), but the gateway, Postgres
// and the SMSC link share the machine: a campaign sent as fast as the binds
// take it fills the cores with claims, settles and receipts, and a screen
// then queues for a core instead (p99 of 58–97 ms at 1,000 steps/s,
// docs/benchmarks.md, "USSD while a campaign sends").
//
// So marketing is a scavenger, as LEDBAT is for bulk transfers: it takes
// the capacity screens leave. Each answered step reports how long it took
// from its deliver_sm. The quickest step of the last baseWindow is what a
// step costs uncontended, the database's round trips included wherever the
// database is; a step slower than that by more than slack waited for
// something. When screens begin, marketing is limited to startBulkRate.
// Every interval, when more than one step in slowShare of the interval's
// waited, the limit is halved from what marketing actually sent (never
// below minBulkRate); otherwise it grows by a tenth, but to no more than
// twice what was sent when marketing did not have to wait. Once no screen
// has been answered for quietAfter the limit is lifted: a campaign alone
// goes as fast as the binds take it.
//
// Claimed marketing waits in the sender's gate, never in a submitter, and
// transactional SMS (codes, replies) pass by it (outbox.go).
type yielder struct {
	lim *rate.Limiter
	now func() time.Time

	mu       sync.Mutex
	interval time.Duration
	start    time.Time // of the interval
	steps    int       // answered this interval
	slow     int       // of which waited
	sent     int       // marketing parts let through this interval
	waited   bool      // and whether one had to wait
	base     [2]time.Duration
	baseAt   time.Time // when base[0]'s window began
	lastStep time.Time // when the last screen was answered
	limited  bool
}

const (
	yieldInterval = 100 * time.Millisecond
	baseWindow    = 10 * time.Second
	// slack is how much slower than uncontended a step may be before it
	// counts as having waited: PERFORMANCE.md asks p99 < 20 ms.
	slack     = 10 * time.Millisecond
	slowShare = 50 // more than 2 % of steps waiting halves the rate
	// quietAfter without a screen the limit goes: USSD traffic comes in
	// bursts, and a lull of a few intervals is no sign the screens are gone.
	quietAfter = 5 * time.Second
	// minBulkRate keeps a campaign moving however busy the screens are;
	// startBulkRate is where it starts while screens are answered.
	minBulkRate   = 20
	startBulkRate = 200
)

func newYielder() *yielder {
	return &yielder{lim: rate.NewLimiter(rate.Inf, 1), now: time.Now, interval: yieldInterval, start: time.Now()}
}

// step reports an answered screen that took d from its deliver_sm.
func (y *yielder) step(d time.Duration) {
	y.mu.Lock()
	defer y.mu.Unlock()
	now := y.now()
	y.roll(now)
	if now.Sub(y.baseAt) > baseWindow {
		y.base = [2]time.Duration{d, y.base[0]}
		y.baseAt = now
	}
	if y.base[0] == 0 || d < y.base[0] {
		y.base[0] = d
	}
	y.steps++
	y.lastStep = now
	if d > y.uncontended()+slack {
		y.slow++
	}
}

// uncontended is the quickest step of the last one or two base windows.
func (y *yielder) uncontended() time.Duration {
	if y.base[1] > 0 && y.base[1] < y.base[0] {
		return y.base[1]
	}
	return y.base[0]
}

// wait holds a marketing submit while the screens need the machine.
func (y *yielder) wait(ctx context.Context) error {
	// A reservation made at a low rate would keep its wait after the
	// rate is raised or lifted; so none is kept longer than an interval.
	for {
		r := y.lim.Reserve()
		d := r.Delay()
		if d == 0 {
			y.count(1, false)
			return nil
		}
		if d <= yieldInterval {
			if !sleep(ctx, d) {
				r.Cancel()
				return ctx.Err()
			}
			y.count(1, true)
			return nil
		}
		r.Cancel()
		y.count(0, true)
		if !sleep(ctx, yieldInterval) {
			return ctx.Err()
		}
	}
}

// count adds marketing parts let through to the interval's, and notes
// whether marketing had to wait.
func (y *yielder) count(parts int, waited bool) {
	y.mu.Lock()
	defer y.mu.Unlock()
	y.roll(y.now())
	y.sent += parts
	y.waited = y.waited || waited
}

// roll closes the intervals that have passed and sets the rate for the
// next; y.mu is held.
func (y *yielder) roll(now time.Time) {
	elapsed := now.Sub(y.start)
	if elapsed < y.interval {
		return
	}
	sent := float64(y.sent) / elapsed.Seconds()
	limit := float64(y.lim.Limit())
	switch {
	case now.Sub(y.lastStep) > quietAfter:
		// No screens to make room for.
		y.lim.SetLimitAt(now, rate.Inf)
		y.limited = false
	case !y.limited:
		// Screens are being answered again: marketing starts slowly, so
		// that a campaign's first burst does not take the cores from them.
		y.setLimit(now, startBulkRate)
	case y.slow*slowShare > y.steps:
		y.setLimit(now, max(min(sent, limit)/2, minBulkRate))
	default:
		next := limit*1.1 + 1
		if !y.waited {
			next = min(next, max(2*sent, startBulkRate)) // room to grow, not a burst in waiting
		}
		y.setLimit(now, next)
	}
	y.start, y.steps, y.slow, y.sent, y.waited = now, 0, 0, 0, false
}

// setLimit limits marketing to perSecond, in bursts of at most an
// interval's worth; y.mu is held.
func (y *yielder) setLimit(now time.Time, perSecond float64) {
	y.lim.SetLimitAt(now, rate.Limit(perSecond))
	y.lim.SetBurstAt(now, max(1, int(perSecond*y.interval.Seconds())))
	y.limited = true
}

// backlog is how much claimed marketing may wait for the yielder: half a
// second of it at the current limit, or any amount when unlimited.
func (y *yielder) backlog() int {
	y.mu.Lock()
	defer y.mu.Unlock()
	if !y.limited {
		return math.MaxInt
	}
	return max(10, int(float64(y.lim.Limit())/2))
}

// writeLinger is how long, while screens are answered, the outbox's writers
// (outcomes and receipts) wait for more before writing a batch. Marketing
// then leaves the gate a few at a time, and written as they came its
// outcomes and receipts were a transaction for every two or three
// messages (docs/benchmarks.md, "Marketing that costs the screens less").
// A receipt's answer and a submitter's next message wait as long at most.
const writeLinger = 20 * time.Millisecond

// linger is how long the outbox's writers wait for a batch to fill:
// writeLinger while screens are answered, nothing otherwise.
func (y *yielder) linger() time.Duration {
	y.mu.Lock()
	defer y.mu.Unlock()
	if !y.limited {
		return 0
	}
	return writeLinger
}

// bulkLimit is marketing's rate now, in parts per second (0: unlimited).
func (y *yielder) bulkLimit() float64 {
	y.mu.Lock()
	defer y.mu.Unlock()
	if !y.limited {
		return 0
	}
	return float64(y.lim.Limit())
}
