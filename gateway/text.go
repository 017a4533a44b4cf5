package gateway

import (
	"errors"
	"unicode/utf16"

	"github.com/fiorix/go-smpp/smpp/encoding"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
)

// Data codings we read and write.
const (
	codingDefault  = 0x00 // SMSC default alphabet: GSM 03.38 here
	codingIA5      = 0x01 // IA5; USSD centres mean the GSM default alphabet
	codingLatin1   = 0x03
	codingUCS2     = 0x08
	codingGSMUnspc = 0x0F // GSM 03.38 "language unspecified" (not SMPP 3.4, but sent by USSD centres)
)

var errOddUCS2 = errors.New("UCS-2 text has an odd number of octets")

// errCoding marks a data_coding the gateway cannot read.
var errCoding = errors.New("unsupported data_coding")

// decodeText turns a short_message into text. 0x00, 0x01 and 0x0F are the GSM
// default alphabet, unpacked, one character per octet (PRODUCT.md §3.1).
func decodeText(coding byte, b []byte) (string, error) {
	switch coding {
	case codingDefault, codingIA5, codingGSMUnspc:
		return string(pdutext.GSM7(b).Decode()), nil
	case codingLatin1:
		return string(pdutext.Latin1(b).Decode()), nil
	case codingUCS2:
		if len(b)%2 != 0 {
			return "", errOddUCS2
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		return string(utf16.Decode(u)), nil
	}
	return "", errCoding
}

// fitsGSM7 reports whether every character of s is in the GSM 03.38 default
// alphabet or its extension table.
func fitsGSM7(s string) bool {
	return len(encoding.ValidateGSM7String(s)) == 0
}

// encodeText picks GSM-7 (unpacked) when the text fits it, else UCS-2.
func encodeText(s string) (coding byte, b []byte) {
	if fitsGSM7(s) {
		return codingDefault, pdutext.GSM7(s).Encode()
	}
	u := utf16.Encode([]rune(s))
	b = make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c>>8), byte(c)
	}
	return codingUCS2, b
}
