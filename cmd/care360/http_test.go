package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPIdleConnectionClosed: a keep-alive connection left idle is
// closed after the idle timeout (120 s in the product, shortened here),
// so idle sockets cannot pile up.
func TestHTTPIdleConnectionClosed(t *testing.T) {
	t.Parallel()
	h := startWith(t, nil, func(c *Config) { c.HTTPIdleTimeout = 300 * time.Millisecond })
	conn := dialHTTP(t, h)
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: care360\r\n\r\n")
	rd := bufio.NewReader(conn)
	res, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Close {
		t.Fatalf("/healthz: %d, close %v", res.StatusCode, res.Close)
	}
	start := time.Now()
	if closed, after := waitClosed(conn, rd); !closed {
		t.Errorf("idle keep-alive connection still open after %v", after)
	} else if time.Since(start) < 250*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", after)
	}
}

// TestHTTPSlowHeadersCut: a client sending its headers a line at a time
// (slowloris) is cut off at the header timeout (5 s in the product,
// shortened here), and oversized headers are refused.
func TestHTTPSlowHeadersCut(t *testing.T) {
	t.Parallel()
	h := startWith(t, nil, func(c *Config) { c.HTTPHeaderTimeout = 300 * time.Millisecond })
	conn := dialHTTP(t, h)
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: care360\r\n")
	done := make(chan struct{})
	defer close(done)
	go func() { // one more header line every 100 ms, never the blank line
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := io.WriteString(conn, "X-Slow: "+strings.Repeat("a", i%10+1)+"\r\n"); err != nil {
				return
			}
		}
	}()
	if closed, after := waitClosed(conn, bufio.NewReader(conn)); !closed {
		t.Errorf("slow headers still being read after %v", after)
	}

	big := dialHTTP(t, h)
	io.WriteString(big, "GET /healthz HTTP/1.1\r\nHost: care360\r\nX-Big: "+strings.Repeat("b", 64<<10)+"\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(big), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", res.StatusCode)
	}
}

func dialHTTP(t *testing.T, h *harness) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", h.m.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// waitClosed reads until the server closes the connection, for at most 5 s
// (anything it sends first, such as a 408, is skipped).
func waitClosed(conn net.Conn, rd *bufio.Reader) (closed bool, after time.Duration) {
	start := time.Now()
	conn.SetReadDeadline(start.Add(5 * time.Second))
	_, err := io.Copy(io.Discard, rd)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false, time.Since(start).Round(time.Millisecond)
	}
	return true, time.Since(start).Round(time.Millisecond)
}
