// Package provision fulfils airtime and data gifts through the operator's
// provisioning HTTP interface (PRODUCT.md §4.3): a Worker leases due calls
// from a care360.ProvisionQueue, POSTs each to the configured endpoint its
// gift names (never a URL staff typed, PRODUCT.md §9), and reports the
// outcome; the queue completes the claim, schedules a
// retry, or refunds the points when the call finally fails.
package provision

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/care360/care360"
)

// Config configures a Worker; zero values are the defaults.
type Config struct {
	Queue care360.ProvisionQueue
	// Endpoints are the configured endpoints calls may name; a call
	// naming another (or none) fails without a request.
	Endpoints care360.Endpoints
	// Transport carries the calls (nil: a default one verifying TLS);
	// each endpoint's own timeout bounds a call and no redirect is
	// followed (care360.Endpoint.Client).
	Transport http.RoundTripper
	// Owner names this worker in leases (default: random per process).
	Owner string
	// Batch is how many calls one pass leases and runs at once (10).
	Batch int
	// Poll is the pause between passes that found nothing to do (1 s).
	Poll time.Duration
	// Lease is how long a leased call is this worker's (1 min, and
	// always longer than the longest endpoint timeout), so a call is
	// never run twice at once.
	Lease time.Duration
	// MaxAttempts ends the retries (5): the last failure refunds.
	MaxAttempts int
	// Backoff is the first retry's delay (30 s), doubled each time up to
	// 30 minutes.
	Backoff time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// Worker runs provisioning calls until stopped.
type Worker struct {
	cfg       Config
	log       *slog.Logger
	stop      context.CancelFunc
	done      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once
}

// New returns a worker; Start runs it.
func New(cfg Config) *Worker {
	if cfg.Owner == "" {
		b := make([]byte, 6)
		rand.Read(b)
		cfg.Owner = "provision-" + hex.EncodeToString(b)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 10
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	for _, ep := range cfg.Endpoints {
		cfg.Lease = max(cfg.Lease, ep.Timeout+10*time.Second)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Worker{cfg: cfg, log: cfg.Logger, done: make(chan struct{})}
}

// Start runs passes in the background until Stop.
func (w *Worker) Start() {
	w.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		w.stop = cancel
		go w.loop(ctx)
	})
}

// Stop ends the loop and waits for the pass in progress (up to ctx's
// deadline). Calls it leased and did not finish are due again when their
// lease ends. Safe to call twice, and before Start.
func (w *Worker) Stop(ctx context.Context) error {
	var err error
	w.stopOnce.Do(func() {
		if w.stop == nil {
			return
		}
		w.stop()
		select {
		case <-w.done:
		case <-ctx.Done():
			err = fmt.Errorf("provision: stop: %w", ctx.Err())
		}
	})
	return err
}

func (w *Worker) loop(ctx context.Context) {
	defer close(w.done)
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("provision: pass failed", "err", err)
		}
		if n > 0 && err == nil {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.cfg.Poll):
		}
	}
}

// RunOnce leases the due calls, runs them at once and settles each; it
// returns how many it ran.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	calls, err := w.cfg.Queue.ClaimCalls(ctx, w.cfg.Owner, w.cfg.Batch, w.cfg.Lease)
	if err != nil {
		return 0, err
	}
	// A call once started runs to its end (the client's timeout bounds
	// it) even if Stop comes meanwhile: cutting it off could leave the
	// operator having credited a top-up we record as failed.
	run := context.WithoutCancel(ctx)
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			errs[i] = w.cfg.Queue.SettleCall(run, w.cfg.Owner, w.call(run, c))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return len(calls), err
		}
	}
	return len(calls), nil
}

// request is the body the operator's interface receives. reference is the
// claim's code: the same on every retry, so the operator can refuse to
// credit twice what it already did.
type request struct {
	MSISDN    string `json:"msisdn"`
	Kind      string `json:"kind"`
	Value     int64  `json:"value"`
	Reference string `json:"reference"`
}

// call makes one attempt and says what it came to: 2xx is done; a timeout,
// a lost connection, 408, 429 and 5xx are worth retrying; any other answer,
// a redirect included, is a refusal, final at once. A call naming no
// configured endpoint (one queued when gifts still held URLs, or whose
// endpoint left the configuration) fails at once without a request.
func (w *Worker) call(ctx context.Context, c care360.ProvisionCall) care360.ProvisionOutcome {
	o := care360.ProvisionOutcome{ID: c.ID, Attempt: c.Attempts}
	ep, ok := w.cfg.Endpoints[c.Endpoint]
	if !ok || c.Endpoint == "" {
		o.Error = fmt.Sprintf("no configured endpoint %q", c.Endpoint)
		return w.judge(c, o)
	}
	body, _ := json.Marshal(request{MSISDN: string(c.MSISDN), Kind: string(c.Kind), Value: c.Value, Reference: c.Reference})
	req, err := ep.NewRequest(ctx, http.MethodPost, bytes.NewReader(body))
	if err != nil {
		o.Error = "bad endpoint URL"
		return w.judge(c, o)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", c.Reference)
	resp, err := ep.Client(w.cfg.Transport).Do(req)
	if err != nil {
		o.Retry, o.Error = true, care360.CallError(err)
		return w.judge(c, o)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	o.Status = resp.StatusCode
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		o.OK = true
	case s >= 300 && s < 400:
		o.Error = fmt.Sprintf("HTTP %d: redirect to %.200q not followed", s, resp.Header.Get("Location"))
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		o.Retry, o.Error = true, fmt.Sprintf("HTTP %d: %s", s, snippet)
	default:
		o.Error = fmt.Sprintf("HTTP %d: %s", s, snippet)
	}
	return w.judge(c, o)
}

// judge turns a retryable failure into a final one after the last attempt,
// and schedules the next attempt with exponential back-off.
func (w *Worker) judge(c care360.ProvisionCall, o care360.ProvisionOutcome) care360.ProvisionOutcome {
	level := slog.LevelInfo
	if !o.OK {
		level = slog.LevelWarn
		if c.Attempts >= w.cfg.MaxAttempts {
			o.Retry = false
		}
		if o.Retry {
			o.RetryAt = w.cfg.Now().Add(min(w.cfg.Backoff<<min(c.Attempts-1, 16), 30*time.Minute))
		}
	}
	w.log.Log(context.Background(), level, "provision: call", "call", c.ID, "endpoint", c.Endpoint, "claim", c.ClaimID, "msisdn", c.MSISDN.Masked(),
		"attempt", c.Attempts, "ok", o.OK, "retry", o.Retry, "status", o.Status, "err", o.Error)
	return o
}
