package web_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/care360/care360"
	"github.com/care360/care360/web"
)

// countingStaff is the real staff store, counting the token lookups that
// reach the database.
type countingStaff struct {
	care360.StaffService
	lookups atomic.Int64
}

func (c *countingStaff) StaffToken(ctx context.Context, id int64) (*care360.Staff, [32]byte, error) {
	c.lookups.Add(1)
	return c.StaffService.StaffToken(ctx, id)
}

// TestAuthFailuresLimited: the 21st failed authentication within a minute
// from one address is answered 429 with Retry-After, before the database
// is asked about the token, and the address stays refused whatever it
// sends, a valid token included, until the minute is over.
func TestAuthFailuresLimited(t *testing.T) {
	t.Parallel()
	staff := &countingStaff{}
	b := setup(t, func(c *web.Config) {
		staff.StaffService = c.Admin.Staff
		c.Admin.Staff = staff
	})
	forged := "Bearer " + care360.StaffToken(424242, "not-the-secret")
	for i := range 20 {
		b.send(t, http.MethodGet, "/api/v1/me", "", forged).errorOf(t, http.StatusUnauthorized, "unauthorized")
		if n := staff.lookups.Load(); n != int64(i+1) {
			t.Fatalf("after %d failures, %d lookups", i+1, n)
		}
	}
	res := b.send(t, http.MethodGet, "/api/v1/me", "", forged)
	res.errorOf(t, http.StatusTooManyRequests, "too_many_requests")
	wait, err := strconv.Atoi(res.header.Get("Retry-After"))
	if err != nil || wait < 1 || wait > 60 {
		t.Errorf("Retry-After = %q, want 1..60 seconds", res.header.Get("Retry-After"))
	}
	if n := staff.lookups.Load(); n != 20 {
		t.Errorf("the refused request still looked its token up: %d lookups", n)
	}
	// Blocked means blocked: the admin token, an unknown path, no token.
	b.do(t, http.MethodGet, "/api/v1/me", "").errorOf(t, http.StatusTooManyRequests, "too_many_requests")
	b.send(t, http.MethodGet, "/api/v1/nothing-here", "", forged).errorOf(t, http.StatusTooManyRequests, "too_many_requests")
	b.send(t, http.MethodGet, "/api/v1/me", "", "").errorOf(t, http.StatusTooManyRequests, "too_many_requests")
	if n := staff.lookups.Load(); n != 20 {
		t.Errorf("%d lookups, want 20", n)
	}
	// Probes, metrics and the console are not behind a token.
	if res := b.send(t, http.MethodGet, "/healthz", "", ""); res.status != http.StatusOK {
		t.Errorf("/healthz: %d", res.status)
	}
}

// TestAuthFailuresPerAddress: the limit is per client address (as
// Config.ClientAddr says, here a header), IPv6 clients per /64, and a short
// window lets the address in again.
func TestAuthFailuresPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) {
		c.Bounds = web.Bounds{AuthFailures: 3, AuthWindow: 2 * time.Second}
		c.ClientAddr = func(r *http.Request) netip.Addr {
			a, _ := netip.ParseAddr(r.Header.Get("X-Test-Client"))
			return a
		}
	})
	from := func(addr, auth string) response {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/api/v1/me", nil)
		req.Header.Set("X-Test-Client", addr)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return response{status: res.StatusCode, header: res.Header}
	}
	for range 3 {
		from("2001:db8:1:2::1", "Bearer wrong")
	}
	if st := from("2001:db8:1:2::ffff", "Bearer "+testToken).status; st != http.StatusTooManyRequests {
		t.Errorf("same /64: %d, want 429", st)
	}
	if st := from("2001:db8:1:3::1", "Bearer "+testToken).status; st != http.StatusOK {
		t.Errorf("another /64: %d, want 200", st)
	}
	if st := from("192.0.2.7", "Bearer "+testToken).status; st != http.StatusOK {
		t.Errorf("another address: %d, want 200", st)
	}
	time.Sleep(2100 * time.Millisecond)
	if st := from("2001:db8:1:2::1", "Bearer "+testToken).status; st != http.StatusOK {
		t.Errorf("after the window: %d, want 200", st)
	}
}

// TestSlowBodyCut: a client that sends its body slower than the body
// timeout is cut off, instead of holding a connection and a handler.
func TestSlowBodyCut(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) { c.Bounds = web.Bounds{BodyTimeout: 300 * time.Millisecond} })
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PUT /api/v1/subscribers/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":", newMSISDN(), testToken)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body after %v: %v", time.Since(start).Round(time.Millisecond), err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || time.Since(start) > 3*time.Second {
		t.Errorf("stalled body: %d after %v", res.StatusCode, time.Since(start))
	}
}

// TestLongAnswersNotCut: the body deadline ends with the body. A handler
// that works longer than it after reading its body, or a request without
// a body, is not cancelled (reports, streamed audit files, exports).
func TestLongAnswersNotCut(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) {
		c.Bounds = web.Bounds{BodyTimeout: 200 * time.Millisecond}
		c.Extra = func(r *mux.Router) {
			r.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
				buf := make([]byte, 64)
				for {
					if _, err := r.Body.Read(buf); err != nil {
						break
					}
				}
				select {
				case <-time.After(800 * time.Millisecond):
					w.Write([]byte("done"))
				case <-r.Context().Done():
					w.WriteHeader(http.StatusGatewayTimeout)
				}
			})
		}
	})
	for _, body := range []string{"", "some body"} {
		res := b.send(t, http.MethodPost, "/slow", body, "")
		if res.status != http.StatusOK || string(res.body) != "done" {
			t.Errorf("body %q: %d %s", body, res.status, res.body)
		}
	}
}

// TestAPIRequestsBounded: beyond Bounds.APIRequests concurrent /api/
// requests the server answers 503 with Retry-After at once, instead of
// queueing without end.
func TestAPIRequestsBounded(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *web.Config) { c.Bounds = web.Bounds{APIRequests: 2} })
	// Two requests whose bodies never come hold both places.
	for range 2 {
		conn, err := net.Dial("tcp", strings.TrimPrefix(b.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "PUT /api/v1/subscribers/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\n{", newMSISDN(), testToken)
	}
	// The two requests take their places once the server has read their
	// headers, which on a loaded machine can take seconds: the deadline only
	// decides how long a failure takes.
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := b.do(t, http.MethodGet, "/api/v1/me", "")
		if res.status == http.StatusServiceUnavailable {
			res.errorOf(t, http.StatusServiceUnavailable, "unavailable")
			if res.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a third concurrent API request: %d, want 503", res.status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Health probes are not API requests.
	if res := b.send(t, http.MethodGet, "/healthz", "", ""); res.status != http.StatusOK {
		t.Errorf("/healthz: %d", res.status)
	}
}
