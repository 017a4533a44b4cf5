package store_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// cutProxy stands between the store and Postgres on real TCP. Once armed,
// it lets the next INSERT run and commit, waits for the server to say the
// transaction is over (ReadyForQuery), and then drops the connection
// without passing the answer on: a commit whose outcome the client never
// learns, as when a link fails right after COMMIT.
type cutProxy struct {
	ln    net.Listener
	to    string
	armed atomic.Bool
	cuts  atomic.Int64
	wg    sync.WaitGroup
}

// newCutProxy proxies the database at dbURL and returns the proxy and a
// URL that reaches the database through it.
func newCutProxy(t *testing.T, dbURL string) (*cutProxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		t.Fatalf("the test database %q is not reached over TCP: %v", dbURL, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, to: u.Host}
	p.wg.Go(p.accept)
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	q := u.Query()
	q.Set("sslmode", "disable") // every server message then has a type and a length
	u.Host, u.RawQuery = ln.Addr().String(), q.Encode()
	return p, u.String()
}

func (p *cutProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.to)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Go(func() { io.Copy(s, c); s.Close() })
		p.wg.Go(func() { p.serverToClient(s, c); c.Close(); s.Close() })
	}
}

// serverToClient passes the server's messages on, one by one, unless armed:
// then an INSERT's CommandComplete and everything after it up to
// ReadyForQuery are held back and the connection is cut.
func (p *cutProxy) serverToClient(s, c net.Conn) {
	var held bool
	head := make([]byte, 5)
	for {
		if _, err := io.ReadFull(s, head); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(head[1:])-4)
		if _, err := io.ReadFull(s, body); err != nil {
			return
		}
		if head[0] == 'C' && bytes.HasPrefix(body, []byte("INSERT")) && p.armed.CompareAndSwap(true, false) {
			held = true
		}
		if held {
			if head[0] == 'Z' { // committed: the answer is lost on its way
				p.cuts.Add(1)
				return
			}
			continue
		}
		if _, err := c.Write(append(head, body...)); err != nil {
			return
		}
	}
}
