package smsc

import (
	"bytes"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// goSMPPReceipt is m's delivery receipt as go-smpp builds it: what
// appendReceipt must write.
func goSMPPReceipt(m Message, done time.Time, stat string) pdu.Body {
	p := newDeliverSM()
	f := p.Fields()
	setAddrs(f, m.To, m.From)
	f.Set(pdufield.ESMClass, uint8(0x04))
	f.Set(pdufield.DataCoding, uint8(codingDefault))
	f.Set(pdufield.ShortMessage, receiptText(m, done, stat))
	p.TLVFields().Set(pdutlv.TagReceiptedMessageID, pdutlv.CString(m.ID))
	p.TLVFields().Set(pdutlv.TagMessageStateOption, messageStates[stat])
	return p
}

// samePDU fails unless got and want (whole PDUs) have the same length and
// header and decode, through go-smpp, to the same fields and TLVs. TLVs are
// compared as a set: go-smpp writes them in its map's order.
func samePDU(t *testing.T, got, want []byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d octets, want %d:\n got  % x\n want % x", len(got), len(want), got, want)
	}
	if !bytes.Equal(got[:pdu.HeaderLen], want[:pdu.HeaderLen]) {
		t.Fatalf("header % x, want % x", got[:pdu.HeaderLen], want[:pdu.HeaderLen])
	}
	g, err := pdu.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("go-smpp cannot decode % x: %v", got, err)
	}
	w, err := pdu.Decode(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range w.FieldList() {
		gf, wf := g.Fields()[name], w.Fields()[name]
		if (gf == nil) != (wf == nil) || gf != nil && !bytes.Equal(gf.Bytes(), wf.Bytes()) {
			t.Errorf("field %s: %v, want %v", name, gf, wf)
		}
	}
	if len(g.TLVFields()) != len(w.TLVFields()) {
		t.Errorf("%d TLVs, want %d", len(g.TLVFields()), len(w.TLVFields()))
	}
	for tag, wf := range w.TLVFields() {
		if gf := g.TLVFields()[tag]; gf == nil || !bytes.Equal(gf.Bytes(), wf.Bytes()) {
			t.Errorf("TLV %#04x: %v, want %v", uint16(tag), gf, wf)
		}
	}
}

func TestSubmitSMRespWrittenAsGoSMPPWritesIt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		seq    uint32
		status pdu.Status
		id     string
	}{
		{1, statusOK, "5f3a0001"},
		{0x7FFFFFFF, statusOK, "x"},
		{42, statusInvSerTyp, ""},
		{7, StatusAbsent, ""},
	} {
		ref := pdu.NewSubmitSMResp()
		if c.id != "" {
			ref.Fields().Set(pdufield.MessageID, c.id)
		}
		want, err := encode(ref, c.seq, c.status)
		if err != nil {
			t.Fatal(err)
		}
		got := appendSubmitSMResp([]byte("before"), c.seq, c.status, c.id)
		if string(got[:6]) != "before" {
			t.Fatalf("appending overwrote what was there: %q", got[:6])
		}
		if !bytes.Equal(got[6:], want) {
			t.Fatalf("submit_sm_resp %+v:\n got  % x\n want % x", c, got[6:], want)
		}
	}
}

func TestReceiptWrittenAsGoSMPPWritesIt(t *testing.T) {
	t.Parallel()
	submitted := time.Date(2026, 12, 6, 9, 41, 0, 0, time.UTC)
	done := submitted.Add(3 * time.Second)
	for _, c := range []struct {
		m    Message
		stat string
	}{
		{Message{ID: "5f3a0001", From: "9237", To: "84903123456", Text: "Ma OTP 1234", SubmittedAt: submitted}, StatDelivered},
		{Message{ID: "1", From: "+84903000001", To: "0903123456", Text: "A text well over twenty characters long", SubmittedAt: submitted}, StatUndeliverable},
		{Message{ID: "ab", From: "CARE360", To: "12345", Text: "{curly} [square] ~ €uro", SubmittedAt: submitted}, StatExpired},
		{Message{ID: "id-with-dashes", From: "9237", To: "84903123456", Text: "Chúc mừng năm mới! Quà Tết đã đến", SubmittedAt: submitted}, StatRejected},
		{Message{ID: "e", From: "9237", To: "84903123456", Text: "", SubmittedAt: submitted}, StatDelivered},
	} {
		want, err := encode(goSMPPReceipt(c.m, done, c.stat), 99, statusOK)
		if err != nil {
			t.Fatal(err)
		}
		got := appendReceipt(nil, 99, c.m, done, c.stat)
		samePDU(t, got, want)
		// Two in one buffer, as post writes a batch: each keeps its own length.
		two := appendReceipt(appendReceipt(nil, 1, c.m, done, c.stat), 2, c.m, done, c.stat)
		samePDU(t, two[len(got):], appendReceipt(nil, 2, c.m, done, c.stat))
	}
}
