package smsc

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// A minimal raw ESME for tests: its own framing and numbering, go-smpp's
// codec only, so the simulator is checked against code that shares nothing
// with it but the codec.

const waitPDU = 5 * time.Second

type testESME struct {
	t    *testing.T
	conn net.Conn
	in   chan pdu.Body
	mu   sync.Mutex
	seq  uint32
}

// setup starts a simulator with cfg (credentials defaulted) and returns it.
func setup(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.SystemID == "" {
		cfg.SystemID, cfg.Password = "care360", "secret"
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s := New(cfg)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dialESME connects a test ESME without binding.
func dialESME(t *testing.T, addr string) *testESME {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := &testESME{t: t, conn: conn, in: make(chan pdu.Body, 64)}
	go e.read()
	t.Cleanup(func() { conn.Close() })
	return e
}

// boundESME connects and binds as transceiver with the right credentials.
func boundESME(t *testing.T, s *Server) *testESME {
	t.Helper()
	e := dialESME(t, s.Addr())
	if st := e.bind(pdu.NewBindTransceiver(), "care360", "secret"); st != 0 {
		t.Fatalf("bind status %#x", st)
	}
	return e
}

func (e *testESME) read() {
	defer close(e.in)
	for {
		var lb [4]byte
		if _, err := io.ReadFull(e.conn, lb[:]); err != nil {
			return
		}
		buf := make([]byte, binary.BigEndian.Uint32(lb[:]))
		copy(buf, lb[:])
		if _, err := io.ReadFull(e.conn, buf[4:]); err != nil {
			return
		}
		p, err := pdu.Decode(bytes.NewReader(buf))
		if err != nil {
			e.t.Errorf("test ESME: decode %x: %v", buf, err)
			return
		}
		e.in <- p
	}
}

// send writes p under the ESME's own next sequence number and returns it.
func (e *testESME) send(p pdu.Body) uint32 {
	e.mu.Lock()
	e.seq++
	seq := e.seq
	e.mu.Unlock()
	e.sendSeq(p, seq)
	return seq
}

func (e *testESME) sendSeq(p pdu.Body, seq uint32) {
	p.Header().Seq = seq
	var b bytes.Buffer
	if err := p.SerializeTo(&b); err != nil {
		e.t.Errorf("encode: %v", err)
		return
	}
	e.write(b.Bytes())
}

func (e *testESME) write(b []byte) {
	e.conn.SetWriteDeadline(time.Now().Add(waitPDU))
	if _, err := e.conn.Write(b); err != nil {
		e.t.Errorf("test ESME write: %v", err)
	}
}

// next returns the next PDU, failing the test after waitPDU.
func (e *testESME) next() pdu.Body {
	e.t.Helper()
	select {
	case p, ok := <-e.in:
		if !ok {
			e.t.Fatal("test ESME: connection closed")
		}
		return p
	case <-time.After(waitPDU):
		e.t.Fatal("test ESME: no PDU in time")
	}
	return nil
}

// expect returns the next PDU, which must have command id id.
func (e *testESME) expect(id pdu.ID) pdu.Body {
	e.t.Helper()
	p := e.next()
	if p.Header().ID != id {
		e.t.Fatalf("got %s (%#x), want %s", p.Header().ID, uint32(p.Header().ID), id)
	}
	return p
}

func (e *testESME) bind(p pdu.Body, sys, pass string) pdu.Status {
	e.t.Helper()
	p.Fields().Set(pdufield.SystemID, sys)
	p.Fields().Set(pdufield.Password, pass)
	p.Fields().Set(pdufield.InterfaceVersion, uint8(0x34))
	seq := e.send(p)
	r := e.expect(p.Header().ID | respBit)
	if r.Header().Seq != seq {
		e.t.Fatalf("bind_resp seq %d, want %d", r.Header().Seq, seq)
	}
	return r.Header().Status
}

// ack answers a deliver_sm.
func (e *testESME) ack(d pdu.Body, status pdu.Status) {
	r := pdu.NewDeliverSMResp()
	r.Header().Status = status
	e.sendSeq(r, d.Header().Seq)
}

// submitScreen sends a USSD screen to msisdn echoing the deliver_sm's
// session TLVs and returns the submit_sm's sequence number.
func (e *testESME) submitScreen(d pdu.Body, op byte, text string, coding byte) uint32 {
	e.t.Helper()
	return e.send(e.screenPDU(d, op, text, coding))
}

func (e *testESME) screenPDU(d pdu.Body, op byte, text string, coding byte) pdu.Body {
	e.t.Helper()
	p := pdu.NewSubmitSM(nil)
	f := p.Fields()
	f.Set(pdufield.SourceAddr, fieldString(d.Fields(), pdufield.DestinationAddr))
	f.Set(pdufield.DestinationAddr, fieldString(d.Fields(), pdufield.SourceAddr))
	sm, err := encodeText(text, coding)
	if err != nil {
		e.t.Fatal(err)
	}
	f.Set(pdufield.DataCoding, coding)
	f.Set(pdufield.ShortMessage, sm)
	p.TLVFields().Set(pdutlv.TagUssdServiceOp, op)
	if info := tlvBytes(d, pdutlv.TagItsSessionInfo); info != nil {
		info = []byte{info[0], info[1] &^ 1}
		if op == opPSSRResponse {
			info[1] |= 1
		}
		p.TLVFields().Set(pdutlv.TagItsSessionInfo, info)
	}
	if umr := tlvBytes(d, pdutlv.TagUserMessageReference); umr != nil {
		p.TLVFields().Set(pdutlv.TagUserMessageReference, append([]byte(nil), umr...))
	}
	return p
}

// expectSubmitResp waits for the submit_sm_resp to seq and returns its message_id.
func (e *testESME) expectSubmitResp(seq uint32) string {
	e.t.Helper()
	r := e.expect(pdu.SubmitSMRespID)
	if r.Header().Seq != seq || r.Header().Status != 0 {
		e.t.Fatalf("submit_sm_resp seq %d status %#x, want seq %d status 0", r.Header().Seq, r.Header().Status, seq)
	}
	id := fieldString(r.Fields(), pdufield.MessageID)
	if id == "" {
		e.t.Fatal("submit_sm_resp without message_id")
	}
	return id
}

// op returns the ussd_service_op of p, or -1.
func op(p pdu.Body) int {
	if b := tlvBytes(p, pdutlv.TagUssdServiceOp); len(b) == 1 {
		return int(b[0])
	}
	return -1
}

// async runs f in a goroutine and returns a channel with its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

func wait(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(2 * waitPDU):
		t.Fatal("call did not return")
	}
	return nil
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*waitPDU)
	t.Cleanup(cancel)
	return c
}
