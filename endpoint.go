package care360

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Endpoint is an outbound HTTP service the operator names in
// CARE360_CONFIG (PRODUCT.md §9): the provisioning interface, and later
// partners' USSD applications. Staff choose one by Name and never type a
// URL, so nothing staff can change decides where a subscriber's MSISDN is
// sent. Headers usually carry credentials: they go on the request and
// nowhere else (no log line, no API answer, no error text).
type Endpoint struct {
	Name    string
	URL     string
	Headers map[string]string
	Timeout time.Duration // whole call, connection to last byte
}

// DefaultEndpointTimeout bounds a call to an endpoint that sets none.
const DefaultEndpointTimeout = 3 * time.Second

// Validate checks an endpoint as configured: an absolute http(s) URL
// without user information (credentials go in headers, which are never
// shown) and a positive timeout.
func (e Endpoint) Validate() error {
	u, err := url.Parse(e.URL)
	switch {
	case e.Name == "" || strings.ContainsAny(e.Name, " \t\n"):
		return fmt.Errorf("endpoint name %q: want a non-empty word", e.Name)
	case err != nil || !u.IsAbs() || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fmt.Errorf("endpoint %s: url must be an absolute https:// or http:// URL", e.Name)
	case u.User != nil:
		return fmt.Errorf("endpoint %s: url must not carry credentials; put them in headers", e.Name)
	case e.Timeout <= 0:
		return fmt.Errorf("endpoint %s: timeout must be positive", e.Name)
	}
	for k := range e.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n") || strings.ContainsAny(e.Headers[k], "\r\n") {
			return fmt.Errorf("endpoint %s: header %q is malformed", e.Name, k)
		}
	}
	return nil
}

// LogValue shows an endpoint in logs by name and URL only.
func (e Endpoint) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", e.Name), slog.String("url", e.URL))
}

// String is the endpoint's name and URL, never its headers.
func (e Endpoint) String() string { return e.Name + " (" + e.URL + ")" }

// NewRequest is a request to the endpoint's URL carrying its headers.
func (e Endpoint) NewRequest(ctx context.Context, method string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.URL, body)
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: %w", e.Name, err)
	}
	for k, v := range e.Headers {
		req.Header.Set(k, v)
	}
	return req, nil
}

// Client is the HTTP client for calls to the endpoint: bounded by its
// timeout, following no redirect (a 3xx comes back as the answer, so a
// server cannot send the call somewhere the operator did not name) and
// verifying TLS certificates. base is the transport to use (nil: a
// default one); a transport that skips verification is refused.
func (e Endpoint) Client(base http.RoundTripper) *http.Client {
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		// Keep a connection for each call that can be in flight (a partner
		// app sees one per dialogue step at once, up to the gateway's 64
		// workers): with Go's default of 2 idle connections a host, most
		// calls would open a connection and do a TLS handshake of their own.
		t.MaxIdleConnsPerHost, t.MaxIdleConns = 64, 256
		base = t
	}
	if t, ok := base.(*http.Transport); ok && t.TLSClientConfig != nil && t.TLSClientConfig.InsecureSkipVerify {
		base = refuse{}
	}
	return &http.Client{
		Transport:     base,
		Timeout:       e.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refuse is the transport of a client that would not verify TLS.
type refuse struct{}

func (refuse) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("TLS verification is required")
}

// CallError is the text to record for a failed call: the cause without
// the request's URL, which Go's client puts in front of it.
func CallError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// Endpoints are the configured endpoints by name.
type Endpoints map[string]Endpoint

// Names are the endpoint names in order, for messages.
func (es Endpoints) Names() []string {
	names := make([]string, 0, len(es))
	for n := range es {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
