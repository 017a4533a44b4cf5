package menus

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/care360/care360"
)

// foldVietnamese removes diacritics so that text fits the GSM-7 alphabet of a
// feature phone: decompose, drop combining marks, recompose, and map the two
// letters that are not a base letter plus a mark (đ, Đ).
func foldVietnamese(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		return s
	}
	return strings.NewReplacer("đ", "d", "Đ", "D").Replace(out)
}

// formatNumber writes n with the language's thousands separator: "12.345" in
// Vietnamese, "12,345" in English.
func formatNumber(n int64, lang care360.Language) string {
	sep := byte('.')
	if lang == care360.LangEn {
		sep = ','
	}
	neg := n < 0
	if neg {
		n = -n
	}
	digits := strconv.FormatInt(n, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(sep)
		}
		b.WriteByte(digits[i])
	}
	return b.String()
}

// screenLength counts what a screen costs on the air: UTF-16 units for UCS-2
// screens, characters for GSM-7 ones (extension characters such as € or {
// take two septets).
func screenLength(s string, ucs2 bool) int {
	n := 0
	for _, r := range s {
		switch {
		case ucs2 && r > 0xFFFF:
			n += 2
		case !ucs2 && strings.ContainsRune("^{}\\[~]|€\f", r):
			n += 2
		default:
			n++
		}
	}
	return n
}
