package smsc

import (
	"encoding/hex"
	"regexp"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// sms builds a submit_sm.
func sms(t *testing.T, from, to, text string, coding byte, receipt bool) pdu.Body {
	t.Helper()
	p := pdu.NewSubmitSM(nil)
	f := p.Fields()
	f.Set(pdufield.SourceAddr, from)
	f.Set(pdufield.DestinationAddr, to)
	sm, err := encodeText(text, coding)
	if err != nil {
		t.Fatal(err)
	}
	f.Set(pdufield.DataCoding, coding)
	f.Set(pdufield.ShortMessage, sm)
	if receipt {
		f.Set(pdufield.RegisteredDelivery, uint8(1))
	}
	return p
}

func TestSMSAndReceipt(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{ReceiptDelay: 20 * time.Millisecond})
	e := boundESME(t, s)
	const to = "84903123456"
	text := "Ma qua tang: ABC123 {het han 31/12}"
	id := e.expectSubmitResp(e.send(sms(t, "9237", to, text, 0x00, true)))

	r := e.expect(pdu.DeliverSMID)
	f := r.Fields()
	if esm := fieldByte(f, pdufield.ESMClass); esm != 0x04 {
		t.Errorf("receipt esm_class %#x", esm)
	}
	if src, dst := fieldString(f, pdufield.SourceAddr), fieldString(f, pdufield.DestinationAddr); src != to || dst != "9237" {
		t.Errorf("receipt addresses %q -> %q", src, dst)
	}
	if got := string(tlvBytes(r, pdutlv.TagReceiptedMessageID)); got != id+"\x00" {
		t.Errorf("receipted_message_id %q, want %q", got, id)
	}
	if got := tlvBytes(r, pdutlv.TagMessageStateOption); len(got) != 1 || got[0] != 2 {
		t.Errorf("message_state %x, want 02", got)
	}
	body, _, _, _ := messageText(r)
	re := regexp.MustCompile(`^id:(\S+) sub:001 dlvr:001 submit date:\d{10} done date:\d{10} stat:DELIVRD err:000 text:(.*)$`)
	if m := re.FindStringSubmatch(body); m == nil || m[1] != id || m[2] != text[:20] {
		t.Errorf("receipt text %q", body)
	}
	e.ack(r, 0)

	// UCS-2 and a UDH part, neither with a receipt.
	e.expectSubmitResp(e.send(sms(t, "9237", to, "Chúc mừng sinh nhật", 0x08, false)))
	p := sms(t, "9237", to, "part one", 0x00, false)
	udh := []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}
	p.Fields().Set(pdufield.ESMClass, uint8(0x40))
	p.Fields().Set(pdufield.ShortMessage, append(append([]byte(nil), udh...), "part one"...))
	e.expectSubmitResp(e.send(p))

	got := s.Messages(to)
	if len(got) != 3 {
		t.Fatalf("%d messages, want 3", len(got))
	}
	if got[0].ID != id || got[0].Text != text || got[0].From != "9237" || got[0].To != to || got[0].SubmittedAt.IsZero() {
		t.Errorf("message 0: %+v", got[0])
	}
	if got[1].Text != "Chúc mừng sinh nhật" || got[1].DataCoding != 0x08 {
		t.Errorf("message 1: %+v", got[1])
	}
	if got[2].Text != "part one" || got[2].ESMClass != 0x40 || hex.EncodeToString(got[2].UDH) != hex.EncodeToString(udh) {
		t.Errorf("message 2: %+v", got[2])
	}
	if got[0].ID == got[1].ID || got[1].ID == got[2].ID {
		t.Error("message ids repeat")
	}
}

func TestSendMO(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	type res struct {
		st  uint32
		err error
	}
	ch := make(chan res, 1)
	go func() {
		st, err := s.SendMO(ctx(t), "84903123456", "9237", "DIEM", 0x00)
		ch <- res{st, err}
	}()
	d := e.expect(pdu.DeliverSMID)
	if text, _, esm, _ := messageText(d); text != "DIEM" || esm != 0 || op(d) != -1 {
		t.Errorf("MO text %q esm %#x op %d", text, esm, op(d))
	}
	e.ack(d, 0x64)
	if r := <-ch; r.err != nil || r.st != 0x64 {
		t.Errorf("SendMO = %#x, %v; want 0x64", r.st, r.err)
	}
}

func TestSendRawAndPDU(t *testing.T) {
	t.Parallel()
	s := setup(t, Config{})
	e := boundESME(t, s)
	raw, _ := hex.DecodeString(pssrHex)
	type res struct {
		p   pdu.Body
		err error
	}
	ch := make(chan res, 1)
	go func() { p, err := s.SendRaw(ctx(t), raw); ch <- res{p, err} }()
	d := e.expect(pdu.DeliverSMID)
	if text, _, _, _ := messageText(d); text != "*4006#" || d.Header().Seq != 2 {
		t.Errorf("raw PDU arrived as %q seq %d", text, d.Header().Seq)
	}
	// A request with the same number first: it is not the response.
	e.sendSeq(pdu.NewEnquireLink(), 2)
	e.expect(pdu.EnquireLinkRespID)
	nack := pdu.NewGenericNACK()
	nack.Header().Status = 0x02
	e.sendSeq(nack, 2)
	r := <-ch
	if r.err != nil || r.p.Header().ID != pdu.GenericNACKID || r.p.Header().Status != 0x02 {
		t.Fatalf("SendRaw = %v, %v", r.p, r.err)
	}

	go func() { p, err := s.SendPDU(ctx(t), pdu.NewEnquireLink()); ch <- res{p, err} }()
	el := e.expect(pdu.EnquireLinkID)
	e.sendSeq(pdu.NewEnquireLinkResp(), el.Header().Seq)
	if r := <-ch; r.err != nil || r.p.Header().ID != pdu.EnquireLinkRespID {
		t.Fatalf("SendPDU = %v, %v", r.p, r.err)
	}
}
