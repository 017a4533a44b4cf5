// Package partner hands USSD dialogues to external applications
// (PRODUCT.md §3.7): a Client calls the endpoint an application names as
// Africa's Talking would call us (§3.4: a form POST of sessionId,
// serviceCode, phoneNumber, networkCode and text) and reads its
// "CON <screen>" or "END <screen>" answer.
package partner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/care360/care360"
)

// Config wires a Client.
type Config struct {
	// Endpoints are the configured endpoints; an application is one of
	// them by name (PRODUCT.md §9).
	Endpoints care360.Endpoints
	// Transport carries the calls (nil: a default one verifying TLS).
	Transport http.RoundTripper
	Logger    *slog.Logger
	Registry  prometheus.Registerer // nil: metrics kept but not exported
}

// Client calls partner applications. It is safe for concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	errors  *prometheus.CounterVec
	mu      sync.Mutex
	clients map[string]*http.Client
}

var _ care360.USSDApps = (*Client)(nil)

// maxAnswer bounds what is read of an answer: a screen is at most a few
// hundred characters, several pages at most.
const maxAnswer = 4 << 10

// Reasons a call fails, the label of care360_ussd_app_errors_total.
const (
	ReasonTimeout     = "timeout"     // no answer within the endpoint's timeout or the step's budget
	ReasonUnreachable = "unreachable" // the connection failed
	ReasonStatus      = "status"      // an answer other than 200
	ReasonUnparseable = "unparseable" // not "CON ..." or "END ..."
	ReasonUnknown     = "unknown_app" // no endpoint of that name
)

// New makes a Client.
func New(cfg Config) *Client {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, log: cfg.Logger, clients: map[string]*http.Client{},
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "care360_ussd_app_errors_total",
			Help: "Calls to partner USSD applications that ended the dialogue with \"service unavailable\", by app and reason (timeout, unreachable, status, unparseable, unknown_app).",
		}, []string{"app", "reason"}),
	}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(c.errors)
	}
	return c
}

// CallApp posts one step to the application and returns its screen.
func (c *Client) CallApp(ctx context.Context, app string, req care360.AppRequest) (reply care360.USSDReply, err error) {
	reason := ""
	defer func() {
		if reason != "" {
			c.errors.WithLabelValues(app, reason).Inc()
			c.log.Warn("partner ussd app failed", "app", app, "reason", reason, "err", err)
		}
	}()
	ep, ok := c.cfg.Endpoints[app]
	if !ok {
		reason = ReasonUnknown
		return reply, fmt.Errorf("ussd app %q: no such endpoint", app)
	}
	form := url.Values{"sessionId": {req.SessionID}, "serviceCode": {req.ServiceCode},
		"phoneNumber": {req.PhoneNumber}, "text": {req.Text}}
	if req.NetworkCode != "" {
		form.Set("networkCode", req.NetworkCode)
	}
	hreq, err := ep.NewRequest(ctx, http.MethodPost, strings.NewReader(form.Encode()))
	if err != nil {
		reason = ReasonUnreachable
		return reply, err
	}
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client(ep).Do(hreq)
	if err != nil {
		reason = ReasonUnreachable
		if isTimeout(ctx, err) {
			reason = ReasonTimeout
		}
		// Never the URL's query or the headers: only the cause.
		return reply, fmt.Errorf("ussd app %s: %s", app, care360.CallError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		reason = ReasonUnreachable
		if isTimeout(ctx, err) {
			reason = ReasonTimeout
		}
		return reply, fmt.Errorf("ussd app %s: reading the answer: %s", app, care360.CallError(err))
	}
	if resp.StatusCode != http.StatusOK {
		reason = ReasonStatus
		return reply, fmt.Errorf("ussd app %s: status %d", app, resp.StatusCode)
	}
	reply, ok = Parse(body)
	if !ok {
		reason = ReasonUnparseable
		return reply, fmt.Errorf("ussd app %s: answer is not CON or END text (%d bytes)", app, len(body))
	}
	return reply, nil
}

// Parse reads an Africa's Talking answer: "CON " or "END " then the
// screen, valid UTF-8 within maxAnswer bytes and not empty.
func Parse(body []byte) (care360.USSDReply, bool) {
	if len(body) > maxAnswer || !utf8.Valid(body) {
		return care360.USSDReply{}, false
	}
	s := strings.TrimRight(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	if rest, ok := strings.CutPrefix(s, "CON "); ok && strings.TrimSpace(rest) != "" {
		return care360.USSDReply{Text: rest}, true
	}
	if rest, ok := strings.CutPrefix(s, "END "); ok && strings.TrimSpace(rest) != "" {
		return care360.USSDReply{Text: rest, End: true}, true
	}
	return care360.USSDReply{}, false
}

// client is the endpoint's HTTP client, made once.
func (c *Client) client(ep care360.Endpoint) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	hc, ok := c.clients[ep.Name]
	if !ok {
		hc = ep.Client(c.cfg.Transport)
		c.clients[ep.Name] = hc
	}
	return hc
}

// isTimeout reports whether a call failed for want of time: the
// endpoint's own timeout or the step's deadline.
func isTimeout(ctx context.Context, err error) bool {
	var ne interface{ Timeout() bool }
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
