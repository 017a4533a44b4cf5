package gateway

import (
	"strings"
	"testing"

	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
)

// join reassembles parts as a handset would: check each UDH, strip it,
// decode, concatenate.
func join(t *testing.T, m sms, ref byte) (string, byte) {
	t.Helper()
	var out strings.Builder
	var coding byte
	for i, p := range m.parts {
		f := p.Fields()
		coding = fieldByte(f, pdufield.DataCoding)
		body := f[pdufield.ShortMessage].Bytes()
		if len(m.parts) > 1 {
			if fieldByte(f, pdufield.ESMClass) != esmUDHI {
				t.Fatalf("part %d without UDHI", i+1)
			}
			udh := body[:6]
			if udh[0] != 5 || udh[1] != 0 || udh[2] != 3 || udh[3] != ref || int(udh[4]) != len(m.parts) || int(udh[5]) != i+1 {
				t.Fatalf("part %d UDH % x", i+1, udh)
			}
			body = body[6:]
		}
		if coding == codingUCS2 {
			if len(body) > 134 {
				t.Fatalf("UCS-2 part %d has %d octets", i+1, len(body))
			}
			out.Write(pdutext.UCS2(body).Decode())
		} else {
			if len(body) > 160 {
				t.Fatalf("GSM-7 part %d has %d septets", i+1, len(body))
			}
			out.Write(pdutext.GSM7(body).Decode())
		}
	}
	return out.String(), coding
}

func TestNewSMS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		text   string
		parts  int
		coding byte
	}{
		{"short GSM-7", "Ma qua tang: ABC123", 1, codingDefault},
		{"GSM-7 with extension characters", strings.Repeat("{€}", 30), 2, codingDefault},
		{"long GSM-7", strings.Repeat("Diem cua quy khach. ", 20), 3, codingDefault},
		{"Vietnamese", "Chúc mừng sinh nhật quý khách! Quà tặng của quý khách là một bó hoa tươi và mã giảm giá 20% tại cửa hàng.", 2, codingUCS2},
		{"emoji", strings.Repeat("🎁 ", 40), 2, codingUCS2},
	}
	for _, c := range cases {
		m := newSMS("9237", "84903123456", c.text, 42, 6, true)
		got, coding := join(t, m, 42)
		if len(m.parts) != c.parts || coding != c.coding || got != c.text || m.truncated {
			t.Errorf("%s: %d parts coding %#x truncated %v, round trip %q", c.name, len(m.parts), coding, m.truncated, got)
		}
		f := m.parts[0].Fields()
		if fieldString(f, pdufield.SourceAddr) != "9237" || fieldString(f, pdufield.DestinationAddr) != "84903123456" || fieldByte(f, pdufield.RegisteredDelivery) != 1 {
			t.Errorf("%s: addresses or receipt request wrong", c.name)
		}
	}
	m := newSMS("9237", "84903123456", strings.Repeat("x", 153*7), 1, 6, false)
	if len(m.parts) != 6 || !m.truncated {
		t.Errorf("7 parts of text: %d parts, truncated %v", len(m.parts), m.truncated)
	}
}
