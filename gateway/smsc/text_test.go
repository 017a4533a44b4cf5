package smsc

import (
	"testing"

	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
)

// The octets gsmSame lets through untranslated mean the same in GSM-7 as
// in ASCII: the codec agrees on every one of them.
func TestGSMSameAgreesWithTheCodec(t *testing.T) {
	t.Parallel()
	for c := range 128 {
		s := string(rune(c))
		if !gsmSame(s) {
			continue
		}
		if got := pdutext.GSM7(s).Encode(); string(got) != s {
			t.Errorf("%q: the codec encodes %x", s, got)
		}
		if got := pdutext.GSM7([]byte(s)).Decode(); string(got) != s {
			t.Errorf("%q: the codec decodes %q", s, got)
		}
	}
	for _, s := range []string{"@", "$", "_", "Ma OTP: 1234 @ $5"} {
		if gsmSame(s) {
			t.Errorf("%q taken as the same in GSM-7", s)
		}
	}
}
