package gateway

import (
	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"

	"github.com/care360/care360"
)

// esmUDHI says short_message starts with a user data header (concatenation).
const esmUDHI = 0x40

// sms is one outgoing message cut into the PDUs that carry it.
type sms struct {
	parts     []pdu.Body // parts[i] is part i+1
	truncated bool       // the text needed more than maxParts parts
}

// newSMS cuts text into submit_sm PDUs from src to dst: GSM-7 (unpacked,
// data_coding 0x00) when every character fits the default alphabet or its
// extension table, else UCS-2 (0x08). One part goes bare; longer texts
// become concatenated parts, each with an 8-bit-reference UDH (IEI 0x00).
// ref must be the same whenever the message is sent again, so a handset
// that got some parts of an earlier attempt still joins them. Parts beyond
// maxParts are dropped.
func newSMS(src, dst, text string, ref byte, maxParts int, receipts bool) sms {
	texts, ucs2 := care360.SplitSMS(text)
	var out sms
	if maxParts > 0 && len(texts) > maxParts {
		texts, out.truncated = texts[:maxParts], true
	}
	coding := byte(codingDefault)
	if ucs2 {
		coding = codingUCS2
	}
	for i, t := range texts {
		var body []byte
		if ucs2 {
			body = pdutext.UCS2(t).Encode()
		} else {
			body = pdutext.GSM7(t).Encode()
		}
		p := pdu.NewSubmitSM(nil)
		f := p.Fields()
		f.Set(pdufield.SourceAddrTON, uint8(0))
		f.Set(pdufield.SourceAddrNPI, uint8(0))
		f.Set(pdufield.SourceAddr, src)
		f.Set(pdufield.DestAddrTON, uint8(1)) // international: we send canonical MSISDNs
		f.Set(pdufield.DestAddrNPI, uint8(1))
		f.Set(pdufield.DestinationAddr, dst)
		f.Set(pdufield.DataCoding, coding)
		if receipts {
			f.Set(pdufield.RegisteredDelivery, uint8(1))
		}
		if len(texts) > 1 {
			f.Set(pdufield.ESMClass, uint8(esmUDHI))
			udh := []byte{0x05, 0x00, 0x03, ref, byte(len(texts)), byte(i + 1)}
			body = append(udh, body...)
		}
		f.Set(pdufield.ShortMessage, body)
		out.parts = append(out.parts, p)
	}
	return out
}
