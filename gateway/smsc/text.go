package smsc

import (
	"errors"
	"fmt"

	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutlv"
)

// Data codings the simulator knows.
const (
	codingDefault  = 0x00 // SMSC default alphabet: GSM 03.38, unpacked
	codingIA5      = 0x01
	codingLatin1   = 0x03
	codingUCS2     = 0x08
	codingGSMUnspc = 0x0F // GSM 03.38 "language unspecified", what USSD centres send
)

// errText means a text cannot be carried in the requested data coding.
var errText = errors.New("smsc: text not representable")

// isGSM reports whether coding means the GSM default alphabet, one
// character per octet (how USSD centres use 0x00, 0x01 and 0x0F alike).
func isGSM(coding byte) bool {
	return coding == codingDefault || coding == codingIA5 || coding == codingGSMUnspc
}

// encodeText encodes s for data_coding coding. Text that the coding cannot
// carry is an error rather than silently mangled, so tests notice.
func encodeText(s string, coding byte) ([]byte, error) {
	switch {
	case isGSM(coding) && gsmSame(s):
		return []byte(s), nil
	case isGSM(coding):
		b := pdutext.GSM7(s).Encode()
		// pdutext returns its input unchanged when a character has no GSM-7
		// code; a round trip with only 7-bit octets proves it encoded.
		if !septets(b) || string(pdutext.GSM7(b).Decode()) != s {
			return nil, fmt.Errorf("%w in GSM-7: %q (use data_coding 0x08)", errText, s)
		}
		return b, nil
	case coding == codingUCS2:
		return pdutext.UCS2(s).Encode(), nil
	case coding == codingLatin1:
		return pdutext.Latin1(s).Encode(), nil
	default:
		return []byte(s), nil
	}
}

// decodeText decodes a short_message for its data_coding.
func decodeText(b []byte, coding byte) string {
	switch {
	case isGSM(coding) && gsmSame(b):
		return string(b)
	case isGSM(coding):
		if !septets(b) {
			// Octets above 0x7F are not unpacked GSM-7 (typically UTF-8 sent
			// with the wrong data_coding): show them as '?' so a test sees it.
			c := make([]byte, len(b))
			for i, o := range b {
				c[i] = o
				if o > 0x7F {
					c[i] = '?'
				}
			}
			b = c
		}
		return string(pdutext.GSM7(b).Decode())
	case coding == codingUCS2:
		return string(pdutext.UCS2(b).Decode())
	case coding == codingLatin1:
		return string(pdutext.Latin1(b).Decode())
	default:
		return string(b)
	}
}

// sameInGSM marks the octets that mean the same character in ASCII and in
// the GSM 03.38 default alphabet (unpacked): letters, digits, space, line
// breaks and the punctuation GSM keeps in ASCII's places. Text of only
// these needs no translation either way; '@', '$', '_' and the rest go
// through the codec.
var sameInGSM = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '\n' || c == '\r' || c >= ' ' && c <= '#' || c >= '%' && c <= '?' ||
			c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
	}
	return t
}()

// gsmSame reports whether every octet of text is one of sameInGSM.
func gsmSame[T string | []byte](text T) bool {
	for i := 0; i < len(text); i++ {
		if !sameInGSM[text[i]] {
			return false
		}
	}
	return true
}

func septets(b []byte) bool {
	for _, o := range b {
		if o > 0x7F {
			return false
		}
	}
	return true
}

// newDeliverSM returns an empty deliver_sm ready to fill in.
func newDeliverSM() pdu.Body {
	p := pdu.NewDeliverSM()
	// go-smpp's deliver_sm field list includes the UDH length and UDH; unset,
	// they serialise as a stray 0x00 octet before short_message and corrupt
	// every deliver_sm. Zero-length bodies make them vanish.
	p.Fields()[pdufield.UDHLength] = &pdufield.SM{}
	p.Fields()[pdufield.GSMUserData] = &pdufield.UDHList{}
	return p
}

// setAddrs fills in source and destination with plausible TON/NPI.
func setAddrs(f pdufield.Map, src, dst string) {
	f.Set(pdufield.SourceAddrTON, ton(src))
	f.Set(pdufield.SourceAddrNPI, uint8(1))
	f.Set(pdufield.SourceAddr, src)
	f.Set(pdufield.DestAddrTON, ton(dst))
	f.Set(pdufield.DestAddrNPI, uint8(1))
	f.Set(pdufield.DestinationAddr, dst)
}

// ton guesses the type of number: international for digits not starting
// with 0 (84903123456), national for 0903123456, unknown otherwise (short
// codes, USSD strings).
func ton(addr string) uint8 {
	if len(addr) < 7 {
		return 0
	}
	for i := 0; i < len(addr); i++ {
		if c := addr[i]; c < '0' || c > '9' {
			if !(i == 0 && c == '+') {
				return 0
			}
		}
	}
	if addr[0] == '0' {
		return 2
	}
	return 1
}

// tlvBytes returns the value of TLV tag, or nil if absent.
func tlvBytes(p pdu.Body, tag pdutlv.Tag) []byte {
	if v, ok := p.TLVFields()[tag]; ok && v != nil {
		return v.Bytes()
	}
	return nil
}

// messageText returns the text of a submit_sm or deliver_sm: short_message,
// or message_payload when short_message is empty, without any UDH.
func messageText(p pdu.Body) (text string, coding, esm byte, udh []byte) {
	f := p.Fields()
	coding, esm = fieldByte(f, pdufield.DataCoding), fieldByte(f, pdufield.ESMClass)
	var sm []byte
	if v, ok := f[pdufield.ShortMessage]; ok && v != nil {
		sm = v.Bytes()
	}
	if len(sm) == 0 {
		sm = tlvBytes(p, pdutlv.TagMessagePayload)
	}
	if esm&0x40 != 0 && len(sm) > 0 && int(sm[0])+1 <= len(sm) {
		udh, sm = append([]byte(nil), sm[:sm[0]+1]...), sm[sm[0]+1:]
	}
	return decodeText(sm, coding), coding, esm, udh
}
