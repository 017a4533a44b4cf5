package care360_test

import (
	"testing"

	"github.com/care360/care360"
)

func TestParseMSISDN(t *testing.T) {
	t.Parallel()
	good := map[string]string{
		"0903123456":      "84903123456",
		"84903123456":     "84903123456",
		"+84903123456":    "84903123456",
		" 0903 123 456 ":  "84903123456",
		"090-312-3456":    "84903123456",
		"0363123456":      "84363123456",
		"+84 912.345.678": "84912345678",
	}
	for in, want := range good {
		got, err := care360.ParseMSISDN(in)
		if err != nil || string(got) != want {
			t.Errorf("ParseMSISDN(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "0", "+", "abc", "090312345", "09031234567", "903123456", "+85903123456",
		"0203123456", "0903l23456", "0084903123456", "849031234567", "+84", "84",
		"0903123456#", "09031234５6",
	}
	for _, in := range bad {
		got, err := care360.ParseMSISDN(in)
		if err == nil {
			t.Errorf("ParseMSISDN(%q) = %q; want an error", in, got)
			continue
		}
		if care360.ErrorCode(err) != care360.EINVALID {
			t.Errorf("ParseMSISDN(%q) error code = %q; want invalid", in, care360.ErrorCode(err))
		}
	}
}

func TestMaskMSISDN(t *testing.T) {
	t.Parallel()
	if got := care360.MSISDN("84903123456").Masked(); got != "********456" {
		t.Errorf("Masked = %q", got)
	}
	if got := care360.MaskMSISDN("12"); got != "**" {
		t.Errorf("MaskMSISDN(12) = %q", got)
	}
}
