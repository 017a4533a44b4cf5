package care360

import "strings"

// MSISDN is a subscriber number in canonical international form without the
// plus sign, e.g. "84903123456". Build one with Numbering.Parse.
type MSISDN string

// String returns the canonical form.
func (m MSISDN) String() string { return string(m) }

// Masked returns the number with all but the last 3 digits hidden, as logs must
// show it (Decree 13/2023/NĐ-CP treats subscriber numbers as personal data).
func (m MSISDN) Masked() string { return MaskMSISDN(string(m)) }

// MaskMSISDN masks any number-like string except its last 3 characters.
func MaskMSISDN(s string) string {
	if len(s) <= 3 {
		return strings.Repeat("*", len(s))
	}
	return strings.Repeat("*", len(s)-3) + s[len(s)-3:]
}

// Numbering is the national numbering plan the gateway serves: the country
// code and the length of a national significant number (NSN).
type Numbering struct {
	CountryCode string // "84" for Vietnam
	MinNSN      int    // shortest national significant number
	MaxNSN      int    // longest
	// Prefixes, if set, are the allowed first digits of an NSN (mobile ranges).
	Prefixes string
}

// VietnamMobile is the default plan: since the 2018 renumbering every
// Vietnamese mobile NSN has 9 digits and starts with 3, 5, 7, 8 or 9.
var VietnamMobile = Numbering{CountryCode: "84", MinNSN: 9, MaxNSN: 9, Prefixes: "35789"}

// Parse accepts "0903123456", "84903123456" or "+84903123456" (spaces, dots and
// dashes between digits are tolerated) and returns the canonical MSISDN.
func (n Numbering) Parse(s string) (MSISDN, error) {
	raw := strings.TrimSpace(s)
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-':
			return -1
		}
		return r
	}, raw)
	var nsn string
	switch {
	case strings.HasPrefix(clean, "+"+n.CountryCode):
		nsn = clean[1+len(n.CountryCode):]
	case strings.HasPrefix(clean, "0") && !strings.HasPrefix(clean, "00"):
		nsn = clean[1:]
	case strings.HasPrefix(clean, n.CountryCode):
		nsn = clean[len(n.CountryCode):]
	default:
		return "", Errorf(EINVALID, "invalid MSISDN %q: use 0XXXXXXXXX, %sXXXXXXXXX or +%sXXXXXXXXX", raw, n.CountryCode, n.CountryCode)
	}
	if nsn == "" || strings.TrimLeft(nsn, "0123456789") != "" {
		return "", Errorf(EINVALID, "invalid MSISDN %q: only digits are allowed", raw)
	}
	if len(nsn) < n.MinNSN || len(nsn) > n.MaxNSN {
		return "", Errorf(EINVALID, "invalid MSISDN %q: the national number must have %d digits", raw, n.MinNSN)
	}
	if n.Prefixes != "" && !strings.ContainsRune(n.Prefixes, rune(nsn[0])) {
		return "", Errorf(EINVALID, "invalid MSISDN %q: not a mobile number", raw)
	}
	return MSISDN(n.CountryCode + nsn), nil
}

// ParseMSISDN parses s with the default numbering plan (VietnamMobile).
func ParseMSISDN(s string) (MSISDN, error) { return VietnamMobile.Parse(s) }
