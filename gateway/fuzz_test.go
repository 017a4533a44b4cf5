package gateway

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/care360/care360"
)

// echo answers every step with a fixed screen; the fuzzers check the
// protocol layer, not the dialogues.
type echo struct{}

func (echo) Step(context.Context, care360.USSDRequest) (care360.USSDReply, error) {
	return care360.USSDReply{Text: "ok"}, nil
}

// FuzzDecodeText: any bytes in any data coding decode or fail cleanly.
func FuzzDecodeText(f *testing.F) {
	f.Add(byte(0x0F), []byte("*090#"))
	f.Add(byte(0x08), []byte{0x00, 0x41, 0x01})
	f.Add(byte(0x00), []byte{0x1B, 0x65, 0x1B})
	f.Fuzz(func(t *testing.T, coding byte, b []byte) {
		s, err := decodeText(coding, b)
		if err == nil && coding == codingUCS2 && len(b)%2 != 0 {
			t.Fatalf("odd UCS-2 accepted: %q", s)
		}
	})
}

// FuzzHandleDeliver feeds arbitrary PDU bodies, framed with a sane length,
// to a link whose handler is the gateway's: nothing may panic, and every
// request must get exactly one answer whose sequence number is the request's.
func FuzzHandleDeliver(f *testing.F) {
	real, _ := hex.DecodeString("0000004400000005000000000000000250320001013636393737303931323035000101363639323330313131323100000000000000000f00062a34303036230501000101")
	f.Add(uint32(5), real[16:])
	f.Add(uint32(5), []byte{0xff, 0xff, 0x00})
	f.Add(uint32(0x15), []byte{})
	f.Add(uint32(0x999), []byte{1, 2, 3})
	g := New(Config{USSD: echo{}, Workers: 2, Logger: slog.New(slog.DiscardHandler),
		Binds: []BindConfig{{Addr: "127.0.0.1:1", MinBackoff: time.Hour}}})
	g.Start()
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		g.Stop(ctx)
	})
	f.Fuzz(func(t *testing.T, id uint32, body []byte) {
		if len(body) > maxPDULen-16 || id&respBit != 0 || id == 0x06 {
			return // responses and unbind are not requests the handler sees
		}
		ours, peer := net.Pipe()
		defer peer.Close()
		l := newLink(ours, 4, time.Second, time.Second, g.log)
		l.handle = g.handler(g.binds[0])
		go l.readLoop()
		defer l.close(nil)
		pdu := make([]byte, 16+len(body))
		binary.BigEndian.PutUint32(pdu[0:], uint32(len(pdu)))
		binary.BigEndian.PutUint32(pdu[4:], id)
		binary.BigEndian.PutUint32(pdu[12:], 4242)
		copy(pdu[16:], body)
		go peer.Write(pdu)
		hdr := make([]byte, 16)
		peer.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(peer, hdr); err != nil {
			t.Fatalf("no answer to command %#x: %v", id, err)
		}
		if binary.BigEndian.Uint32(hdr[4:])&respBit == 0 || binary.BigEndian.Uint32(hdr[12:]) != 4242 {
			t.Fatalf("answer %x does not answer the request", hdr)
		}
	})
}
