package smsc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

func TestBind(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	tests := []struct {
		name      string
		bind      func() pdu.Body
		sys, pass string
		want      pdu.Status
	}{
		{"transceiver", pdu.NewBindTransceiver, "care360", "secret", 0},
		{"receiver", pdu.NewBindReceiver, "care360", "secret", 0},
		{"transmitter", pdu.NewBindTransmitter, "care360", "secret", 0},
		{"bad system_id", pdu.NewBindTransceiver, "nobody", "secret", statusInvSysID},
		{"bad password", pdu.NewBindTransceiver, "care360", "wrong", statusInvPaswd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := dialESME(t, s.Addr())
			if got := e.bind(tt.bind(), tt.sys, tt.pass); got != tt.want {
				t.Errorf("bind status %#x, want %#x", got, tt.want)
			}
		})
	}
}

func TestBoundAndDropLinks(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e1, e2 := boundESME(t, s), boundESME(t, s)
	if err := s.WaitBound(ctx(t), 2); err != nil {
		t.Fatal(err)
	}
	if st := e1.bind(pdu.NewBindTransceiver(), "care360", "secret"); st != statusAlyBnd {
		t.Errorf("second bind on a link: status %#x, want ESME_RALYBND", st)
	}
	s.DropLinks()
	for _, e := range []*testESME{e1, e2} {
		select {
		case _, ok := <-e.in:
			if ok {
				t.Error("PDU after DropLinks")
			}
		case <-time.After(waitPDU):
			t.Fatal("link not dropped")
		}
	}
	deadline := time.Now().Add(waitPDU)
	for s.Bound() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Bound(); n != 0 {
		t.Errorf("Bound() = %d after DropLinks", n)
	}
	// The ESME rebinds.
	boundESME(t, s)
	if err := s.WaitBound(ctx(t), 1); err != nil {
		t.Fatal(err)
	}
}

func TestEnquireLinkAndUnbind(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	seq := e.send(pdu.NewEnquireLink())
	if r := e.expect(pdu.EnquireLinkRespID); r.Header().Seq != seq || r.Header().Status != 0 {
		t.Errorf("enquire_link_resp seq %d status %#x", r.Header().Seq, r.Header().Status)
	}
	seq = e.send(pdu.NewUnbind())
	if r := e.expect(pdu.UnbindRespID); r.Header().Seq != seq {
		t.Errorf("unbind_resp seq %d, want %d", r.Header().Seq, seq)
	}
	select {
	case _, ok := <-e.in:
		if ok {
			t.Error("link still open after unbind")
		}
	case <-time.After(waitPDU):
		t.Error("link still open after unbind")
	}
}

func TestSimulatorEnquireLink(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{EnquireLink: 20 * time.Millisecond})
	e := boundESME(t, s)
	r := e.expect(pdu.EnquireLinkID)
	resp := pdu.NewEnquireLinkResp()
	e.sendSeq(resp, r.Header().Seq)
	if r2 := e.expect(pdu.EnquireLinkID); r2.Header().Seq == r.Header().Seq {
		t.Errorf("simulator reused sequence number %d", r.Header().Seq)
	}
}

func TestUnknownCommandGetsGenericNack(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	for _, id := range []uint32{0x00001234, uint32(pdu.DataSMID), uint32(pdu.DeliverSMID)} {
		raw := make([]byte, 16)
		binary.BigEndian.PutUint32(raw[0:], 16)
		binary.BigEndian.PutUint32(raw[4:], id)
		binary.BigEndian.PutUint32(raw[12:], 777)
		if id == uint32(pdu.DeliverSMID) {
			// A deliver_sm from an ESME is not ours to take, however well formed.
			raw, _ = hex.DecodeString(pssrHex)
			binary.BigEndian.PutUint32(raw[12:], 777)
		}
		e.write(raw)
		r := e.expect(pdu.GenericNACKID)
		if r.Header().Seq != 777 || r.Header().Status != statusInvCmdID {
			t.Errorf("id %#x: generic_nack seq %d status %#x, want 777 / ESME_RINVCMDID", id, r.Header().Seq, r.Header().Status)
		}
	}
	// The link stays up.
	seq := e.send(pdu.NewEnquireLink())
	if r := e.expect(pdu.EnquireLinkRespID); r.Header().Seq != seq {
		t.Errorf("enquire_link_resp seq %d, want %d", r.Header().Seq, seq)
	}
}

func TestSubmitBeforeBind(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := dialESME(t, s.Addr())
	seq := e.send(pdu.NewSubmitSM(nil))
	if r := e.expect(pdu.SubmitSMRespID); r.Header().Seq != seq || r.Header().Status != statusInvBndSts {
		t.Errorf("submit_sm_resp seq %d status %#x, want ESME_RINVBNDSTS", r.Header().Seq, r.Header().Status)
	}
}

// TestDeliverSMEncoding checks the work-around for go-smpp's stray UDH
// length octet: the simulator's deliver_sm must be byte-exact.
func TestDeliverSMEncoding(t *testing.T) {
	t.Parallel()
	p := newDeliverSM()
	p.Header().Seq = 2
	setAddrs(p.Fields(), "66977091205", "66923011121")
	p.Fields().Set(pdufield.ServiceType, "P2")
	p.Fields().Set(pdufield.DataCoding, uint8(0x0F))
	p.Fields().Set(pdufield.ShortMessage, []byte("*4006#"))
	p.TLVFields().Set(pdutlv.TagUssdServiceOp, uint8(1))
	var b bytes.Buffer
	if err := p.SerializeTo(&b); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b.Bytes()); got != pssrHex {
		t.Errorf("deliver_sm\n got %s\nwant %s", got, pssrHex)
	}
}

// pssrHex is a real PSSR indication (PRODUCT.md §3.1).
const pssrHex = "0000004400000005000000000000000250320001013636393737303931323035000101363639323330313131323100000000000000000f00062a34303036230501000101"
