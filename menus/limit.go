package menus

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/care360/care360"
)

// dialLimiter bounds how often each MSISDN may open a dialogue on this
// instance. It is memory only: a flood is local to the instance the SMSC
// sends it to, and losing the counts on restart is harmless.
type dialLimiter struct {
	rate  rate.Limit
	burst int

	mu    sync.Mutex
	byNum map[care360.MSISDN]*rate.Limiter
	swept time.Time
}

// maxTracked bounds the limiter's memory; beyond it, idle entries are swept.
const maxTracked = 100_000

func newDialLimiter(perSecond float64, burst int) *dialLimiter {
	return &dialLimiter{rate: rate.Limit(perSecond), burst: burst, byNum: map[care360.MSISDN]*rate.Limiter{}}
}

// allow takes one dial from msisdn's budget.
func (d *dialLimiter) allow(msisdn care360.MSISDN) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.byNum[msisdn]
	if !ok {
		if len(d.byNum) >= maxTracked {
			d.sweep()
		}
		l = rate.NewLimiter(d.rate, d.burst)
		d.byNum[msisdn] = l
	}
	return l.Allow()
}

// sweep forgets subscribers whose budget is full again: they are
// indistinguishable from ones never seen.
func (d *dialLimiter) sweep() {
	now := time.Now()
	if now.Sub(d.swept) < time.Second {
		return
	}
	d.swept = now
	for k, l := range d.byNum {
		if l.TokensAt(now) >= float64(d.burst) {
			delete(d.byNum, k)
		}
	}
}
