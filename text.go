package care360

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Fold removes Vietnamese diacritics so that text fits the GSM-7 alphabet of
// a feature phone and so that what subscribers type compares equal however
// they typed it: decompose, drop combining marks, recompose, and map the two
// letters that are not a base letter plus a mark (đ, Đ).
//
// Text of Latin letters, Vietnamese included, is folded rune by rune from a
// table of the same folds (foldLatin): a claim's SMS, an offer's or a gift's
// title are folded on every request, and normalising through a transform
// chain cost more than the rest of building them. Anything else is
// normalised (foldByNormalisation).
func Fold(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		switch {
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
		default:
			f, ok := foldRune(r)
			if !ok {
				return foldByNormalisation(s)
			}
			b.WriteString(f)
		}
	}
	return b.String()
}

// foldLatin is Fold of each rune from U+0080 to U+036F (Latin-1, the Latin
// extensions, the spacing modifiers and the combining marks) and from
// U+1E00 to U+1EFF (Latin Extended Additional, where most of Vietnamese's
// letters are). Among these, once the marks are dropped, no two runes
// compose, so the fold of a text of them is the folds of its runes one
// after the other; TestFoldByTable checks it against normalisation for
// every pair.
var foldLatin, foldLatinAdditional = foldTable(0x80, 0x370), foldTable(0x1E00, 0x1F00)

func foldTable(from, to rune) []string {
	t := make([]string, to-from)
	for i := range t {
		t[i] = foldByNormalisation(string(from + rune(i)))
	}
	return t
}

// foldRune is r's entry in the tables, false when it has none.
func foldRune(r rune) (string, bool) {
	switch {
	case r >= 0x80 && r < 0x370:
		return foldLatin[r-0x80], true
	case r >= 0x1E00 && r < 0x1F00:
		return foldLatinAdditional[r-0x1E00], true
	}
	return "", false
}

// foldByNormalisation is Fold by Unicode normalisation.
func foldByNormalisation(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		return s
	}
	return dStroke.Replace(out)
}

// dStroke maps the two letters folding cannot reach; a Replacer is safe to
// share and dear to build, so it is built once.
var dStroke = strings.NewReplacer("đ", "d", "Đ", "D")

// Localize picks the text for lang from a catalog entry written in
// Vietnamese with diacritics and in English; plain "vi" (and an unknown
// language) is the fold of the Vietnamese, so the two never drift apart.
func Localize(lang Language, viUnicode, en string) string {
	switch lang {
	case LangEn:
		return en
	case LangViUnicode:
		return viUnicode
	}
	return Fold(viUnicode)
}

// tierNames are the tiers as subscribers read them: [Vietnamese, English].
var tierNames = map[Tier][2]string{
	TierDong:     {"Đồng", "Bronze"},
	TierBac:      {"Bạc", "Silver"},
	TierTitan:    {"Titan", "Titan"},
	TierVang:     {"Vàng", "Gold"},
	TierKimCuong: {"Kim cương", "Diamond"},
}

// foldedTierNames are the plain-vi names, folded once: tier names are on
// the hottest screens (points, DIEM), and folding is Unicode normalisation.
var foldedTierNames = func() map[Tier]string {
	m := make(map[Tier]string, len(tierNames))
	for t, n := range tierNames {
		m[t] = Fold(n[0])
	}
	return m
}()

// Name returns the tier's name in lang ("Kim cuong" in vi, "Kim cương" in
// vi-unicode, "Diamond" in en).
func (t Tier) Name(lang Language) string {
	n, ok := tierNames[t]
	switch {
	case !ok:
		return string(t)
	case lang == LangEn:
		return n[1]
	case lang == LangViUnicode:
		return n[0]
	}
	return foldedTierNames[t]
}

// gsm7Basic is the GSM 03.38 default alphabet in code order (0x1B is the
// escape, not a character: septets refuses it). gsm7Extension holds the
// characters reached through the escape, each costing two septets.
const (
	gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Extension = "\f^{}\\[~]|€"
)

// gsm7Latin is septets for the runes below 256, looked up instead of
// searched: every outgoing SMS is measured rune by rune, twice.
var gsm7Latin = func() (t [256]int8) {
	for r := range rune(len(t)) {
		t[r] = int8(septetsOf(r))
	}
	return t
}()

// septets is what r costs in GSM-7: 1, 2 for the extension table, 0 if r
// has no GSM-7 code.
func septets(r rune) int {
	if r >= 0 && r < rune(len(gsm7Latin)) {
		return int(gsm7Latin[r])
	}
	return septetsOf(r)
}

// GSM7Septets is what r costs in GSM-7: 1, 2 for a character of the
// extension table (sent behind an escape), 0 if GSM-7 has no code for it.
func GSM7Septets(r rune) int { return septets(r) }

// septetsOf is septets, found in the alphabets.
func septetsOf(r rune) int {
	switch {
	case r == 0x1b:
		return 0
	case strings.ContainsRune(gsm7Basic, r):
		return 1
	case strings.ContainsRune(gsm7Extension, r):
		return 2
	}
	return 0
}

// FitsGSM7 reports whether every character of s is in the GSM-7 default
// alphabet or its extension table.
func FitsGSM7(s string) bool {
	for _, r := range s {
		if septets(r) == 0 {
			return false
		}
	}
	return true
}

// SMS sizes (3GPP TS 23.040): one message carries 160 GSM-7 septets or 70
// UCS-2 units; a part of a concatenated message loses 7 septets (3 units) to
// its user data header.
const (
	gsmSingle, gsmPart   = 160, 153
	ucs2Single, ucs2Part = 70, 67
)

// DefaultMaxSMSParts is how many concatenated parts one message may take
// (*default*): handsets reassemble more, but operators bill each part.
const DefaultMaxSMSParts = 6

// SplitSMS cuts text into the parts it is sent in: GSM-7 when every
// character fits (extension characters count twice and an escape pair is
// never cut), else UCS-2 (a surrogate pair is never cut). One part needs no
// header; longer texts are cut at the concatenated size.
func SplitSMS(text string) (parts []string, ucs2 bool) {
	rs := []rune(text)
	if FitsGSM7(text) {
		return split(rs, gsmSingle, gsmPart, septets), false
	}
	return split(rs, ucs2Single, ucs2Part, func(r rune) int { return len(utf16.Encode([]rune{r})) }), true
}

func split(rs []rune, single, part int, cost func(rune) int) []string {
	total := 0
	for _, r := range rs {
		total += cost(r)
	}
	if total <= single {
		return []string{string(rs)}
	}
	var out []string
	start, used := 0, 0
	for i, r := range rs {
		if c := cost(r); used+c > part {
			out = append(out, string(rs[start:i]))
			start, used = i, c
		} else {
			used += c
		}
	}
	return append(out, string(rs[start:]))
}

// Number writes n with the language's thousands separator: 12.345 in
// Vietnamese, 12,345 in English (PRODUCT.md §3.2).
func Number(n int64, lang Language) string {
	sep := "."
	if lang == LangEn {
		sep = ","
	}
	s := fmt.Sprint(max(n, -n))
	var out string
	for len(s) > 3 {
		out, s = sep+s[len(s)-3:]+out, s[:len(s)-3]
	}
	if n < 0 {
		s = "-" + s
	}
	return s + out
}

// gsm7Equivalents are the stand-ins for characters staff often type that
// GSM-7 lacks (PRODUCT.md §3.2): typographic punctuation a word processor
// puts in, the dong sign, spaces of every width, invisible formatting.
var gsm7Equivalents = map[rune]string{
	'₫': "d", '–': "-", '—': "-", '‐': "-", '‑': "-", '‒': "-", '―': "-", '−': "-",
	'‘': "'", '’': "'", '‚': "'", '‛': "'", '′': "'", '`': "'", '´': "'", '‹': "'", '›': "'",
	'“': `"`, '”': `"`, '„': `"`, '‟': `"`, '″': `"`, '«': `"`, '»': `"`,
	'…': "...", '•': "*", '·': ".", '×': "x", '÷': "/", '©': "(c)", '®': "(R)", '™': "TM", '°': "o",
	'\t': " ", '\u00a0': " ", '\u202f': " ", '\u205f': " ", '\u3000': " ",
	'\u00ad': "", '\u200b': "", '\u200c': "", '\u200d': "", '\u2060': "", '\ufeff': "",
}

// ToGSM7 replaces the characters of s that GSM-7 lacks by GSM-7
// equivalents where there is a sensible one: typographic punctuation and
// spaces (gsm7Equivalents), letters with diacritics (their fold),
// full-width ASCII; combining marks are dropped. Other characters (CJK,
// emoji…) stay, and text holding them goes out as UCS-2. Screens in plain
// Vietnamese and English pass staff text through it so that a stray curly
// quote does not turn a 182-character screen into an 80-character one.
func ToGSM7(s string) string {
	if FitsGSM7(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if septets(r) > 0 {
			b.WriteRune(r)
			continue
		}
		if rep, ok := gsm7Equivalents[r]; ok {
			b.WriteString(rep)
			continue
		}
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r >= 0x2000 && r <= 0x200a: // en quad … hair space
			b.WriteByte(' ')
			continue
		case r >= 0xff01 && r <= 0xff5e: // full-width ASCII
			if n := r - 0xfee0; septets(n) > 0 {
				b.WriteRune(n)
				continue
			}
		}
		if f := Fold(string(r)); f != string(r) && FitsGSM7(f) {
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
