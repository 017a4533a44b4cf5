package smsc

import (
	"bytes"
	"encoding/hex"
	"net"
	"testing"
	"time"
)

// FuzzLink feeds arbitrary bytes to a bound link's read loop: whatever
// arrives, the simulator must neither panic nor hang.
func FuzzLink(f *testing.F) {
	pssr, _ := hex.DecodeString(pssrHex)
	f.Add(pssr)
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 0, 20, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New(Config{ResponseTimeout: 50 * time.Millisecond})
		srv, cli := net.Pipe()
		defer cli.Close()
		l := newLink(s, srv, 1)
		l.bind = 0x09 // transceiver
		s.links = append(s.links, l)
		s.wg.Add(1)
		go l.serve()
		go func() { // drain our answers
			buf := make([]byte, 4096)
			for {
				if _, err := cli.Read(buf); err != nil {
					return
				}
			}
		}()
		cli.SetWriteDeadline(time.Now().Add(time.Second))
		cli.Write(data)
		cli.Close()
		s.Close()
	})
}

// FuzzText checks that decoding never panics and GSM-7 round-trips.
func FuzzText(f *testing.F) {
	f.Add([]byte("Menu\n1. Diem {KNDL} €"), byte(0))
	f.Add([]byte{0x1b}, byte(0x0f))
	f.Add([]byte{0x00, 0xd8}, byte(8))
	f.Fuzz(func(t *testing.T, b []byte, coding byte) {
		s := decodeText(b, coding)
		if isGSM(coding) {
			if enc, err := encodeText(s, coding); err == nil && !bytes.Equal(enc, b) && decodeText(enc, coding) != s {
				t.Errorf("GSM-7 %x decodes to %q, which encodes to %x", b, s, enc)
			}
		}
	})
}
