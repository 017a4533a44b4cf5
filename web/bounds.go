package web

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Bounds limit what one client, and all clients together, may hold of the
// server (PRODUCT.md §9). The zero value is the product's defaults.
type Bounds struct {
	// AuthFailures is how many failed authentications one client address
	// may make per AuthWindow before every request of its under /api/ is
	// answered 429 until the window ends; 0 means 20.
	AuthFailures int
	// AuthWindow is the length of the window; 0 means one minute.
	AuthWindow time.Duration
	// AuthClients bounds how many addresses the limiter remembers at once;
	// 0 means 10,000. Beyond it, addresses it has not seen share one
	// allowance, so that an attacker spraying addresses cannot grow memory.
	AuthClients int
	// APIRequests bounds concurrent /api/ requests; more are answered 503
	// with Retry-After at once. 0 means 32.
	APIRequests int
	// BodyTimeout bounds reading a request body: all of it for JSON bodies,
	// and a pause between two reads for uploads; 0 means 30 s.
	BodyTimeout time.Duration
	// UploadTimeout bounds reading the whole body of an upload (a CSV
	// import, a usage batch); 0 means one hour.
	UploadTimeout time.Duration
}

// WithDefaults fills zero bounds with the product's defaults.
func (l Bounds) WithDefaults() Bounds {
	if l.AuthFailures <= 0 {
		l.AuthFailures = 20
	}
	if l.AuthWindow <= 0 {
		l.AuthWindow = time.Minute
	}
	if l.AuthClients <= 0 {
		l.AuthClients = 10_000
	}
	if l.APIRequests <= 0 {
		l.APIRequests = 32
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = 30 * time.Second
	}
	if l.UploadTimeout <= 0 {
		l.UploadTimeout = time.Hour
	}
	return l
}

// PeerAddr is the default client address: the TCP peer of r.
func PeerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// authLimiter counts failed authentications per client address in fixed
// windows. Its table holds at most max addresses; IPv6 clients are counted
// per /64, which is what one subscriber line or host usually gets.
type authLimiter struct {
	limit  int
	window time.Duration
	max    int
	now    func() time.Time

	mu        sync.Mutex
	clients   map[netip.Addr]*authWindow
	overflow  authWindow // addresses that did not fit in clients
	lastSweep time.Time
}

type authWindow struct {
	start    time.Time
	failures int
}

func newAuthLimiter(l Bounds) *authLimiter {
	return &authLimiter{limit: l.AuthFailures, window: l.AuthWindow, max: l.AuthClients,
		now: time.Now, clients: make(map[netip.Addr]*authWindow)}
}

// key is the unit one limit applies to.
func limiterKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// blocked reports whether a has used up its failures, and for how long
// more. It is checked before any work, including the database lookup of a
// staff token.
func (l *authLimiter) blocked(a netip.Addr) (retryAfter time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.clients[limiterKey(a)]
	if w == nil {
		if len(l.clients) >= l.max && now.Sub(l.lastSweep) >= time.Second {
			l.sweep(now)
		}
		if len(l.clients) < l.max {
			return 0, false // unknown and there is room: never failed here
		}
		w = &l.overflow
	}
	if w.failures < l.limit || now.Sub(w.start) >= l.window {
		return 0, false
	}
	return w.start.Add(l.window).Sub(now), true
}

// fail records a failed authentication from a.
func (l *authLimiter) fail(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	k := limiterKey(a)
	w := l.clients[k]
	if w == nil {
		if len(l.clients) >= l.max && now.Sub(l.lastSweep) >= time.Second {
			l.sweep(now)
		}
		if len(l.clients) < l.max {
			w = &authWindow{start: now}
			l.clients[k] = w
		} else {
			w = &l.overflow
		}
	}
	if now.Sub(w.start) >= l.window {
		*w = authWindow{start: now}
	}
	w.failures++
}

// sweep forgets addresses whose window is over. It runs at most once a
// second, and only when the table is full, so spraying addresses costs the
// server no more than one pass a second.
func (l *authLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, w := range l.clients {
		if now.Sub(w.start) >= l.window {
			delete(l.clients, k)
		}
	}
}

// size is how many addresses the limiter remembers.
func (l *authLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// codeTooManyRequests is not a domain code: only HTTP limits callers.
const codeTooManyRequests = "too_many_requests"

// errTooManyFailures is what authenticate returns for a blocked address.
type errTooManyFailures struct{ retryAfter time.Duration }

func (e *errTooManyFailures) Error() string { return "too many failed authentications" }

// tooManyFailures answers 429 with the seconds to wait.
func tooManyFailures(w http.ResponseWriter, e *errTooManyFailures) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.retryAfter.Seconds()))))
	writeJSON(w, http.StatusTooManyRequests, errorBody{Error: errorDetail{
		Code:    codeTooManyRequests,
		Message: "too many failed authentications from your address; retry later",
	}})
}

// apiBusy answers a request beyond Bounds.APIRequests.
func apiBusy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errorDetail{
		Code:    "unavailable",
		Message: "too many API requests at once; retry shortly",
	}})
}

// boundBodies puts a read deadline on every request body, so that a client
// sending it slowly cannot hold a connection for ever. The deadline is
// cleared once the body has been read, because net/http then watches the
// connection for the client going away and would take a passed deadline
// for that, cancelling a long answer (a report, a streamed audit file).
// Requests without a body get no deadline for the same reason.
func (s *Server) boundBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		now := time.Now()
		b := &deadlineBody{ReadCloser: r.Body, rc: rc, start: now,
			idle: s.bounds.BodyTimeout, total: s.bounds.BodyTimeout, upload: s.bounds.UploadTimeout}
		if rc.SetReadDeadline(now.Add(b.total)) != nil {
			next.ServeHTTP(w, r) // a writer without deadlines (a test recorder)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, b))
		r.Body = b
		next.ServeHTTP(w, r)
	})
}

type bodyKey struct{}

// deadlineBody moves the connection's read deadline as the body arrives.
type deadlineBody struct {
	io.ReadCloser
	rc          *http.ResponseController
	start       time.Time
	idle, total time.Duration
	upload      time.Duration // what total becomes for an upload
	long        bool
	done        bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF && !b.done:
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	case n > 0 && b.long:
		d := time.Now().Add(b.idle)
		if end := b.start.Add(b.total); end.Before(d) {
			d = end
		}
		b.rc.SetReadDeadline(d)
	}
	return n, err
}

// allowLongBody lets an upload's body take up to Bounds.UploadTimeout, as
// long as it keeps arriving: no pause may exceed Bounds.BodyTimeout.
func allowLongBody(r *http.Request) {
	if b, ok := r.Context().Value(bodyKey{}).(*deadlineBody); ok {
		b.long, b.total = true, b.upload
	}
}

// apiSlots bounds concurrent /api/ requests (Bounds.APIRequests), so that a
// flood queues neither goroutines nor database waits without end.
type apiSlots chan struct{}

func (c apiSlots) tryAcquire() bool {
	select {
	case c <- struct{}{}:
		return true
	default:
		return false
	}
}

func (c apiSlots) release() { <-c }
