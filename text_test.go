package care360_test

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/care360/care360"
)

func TestFold(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Điểm của bạn":     "Diem cua ban",
		"KIM CƯƠNG":        "KIM CUONG",
		"đồng ý":           "dong y",
		"plain ASCII 123!": "plain ASCII 123!",
	} {
		if got := care360.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTierName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		tier care360.Tier
		lang care360.Language
		want string
	}{
		{care360.TierKimCuong, care360.LangVi, "Kim cuong"},
		{care360.TierKimCuong, care360.LangViUnicode, "Kim cương"},
		{care360.TierKimCuong, care360.LangEn, "Diamond"},
		{care360.TierBac, care360.LangVi, "Bac"},
	}
	for _, c := range cases {
		if got := c.tier.Name(c.lang); got != c.want {
			t.Errorf("%s in %s = %q, want %q", c.tier, c.lang, got, c.want)
		}
	}
}

func TestSplitSMS(t *testing.T) {
	t.Parallel()
	septets := func(s string) int {
		n := 0
		for _, r := range s {
			n++
			if strings.ContainsRune("\f^{}\\[~]|€", r) {
				n++
			}
		}
		return n
	}
	cases := []struct {
		name  string
		text  string
		parts int
		ucs2  bool
	}{
		{"160 GSM-7 is one", strings.Repeat("a", 160), 1, false},
		{"161 GSM-7 is two", strings.Repeat("a", 161), 2, false},
		{"306 GSM-7 is two", strings.Repeat("a", 306), 2, false},
		{"307 GSM-7 is three", strings.Repeat("a", 307), 3, false},
		{"80 euro signs are 160 septets", strings.Repeat("€", 80), 1, false},
		{"81 euro signs", strings.Repeat("€", 81), 2, false},
		{"70 UCS-2 is one", strings.Repeat("đ", 70), 1, true},
		{"71 UCS-2 is two", strings.Repeat("đ", 71), 2, true},
		{"134 UCS-2 is two", strings.Repeat("đ", 134), 2, true},
		{"135 UCS-2 is three", strings.Repeat("đ", 135), 3, true},
	}
	for _, c := range cases {
		parts, ucs2 := care360.SplitSMS(c.text)
		if len(parts) != c.parts || ucs2 != c.ucs2 || strings.Join(parts, "") != c.text {
			t.Errorf("%s: %d parts (ucs2 %v), want %d (%v)", c.name, len(parts), ucs2, c.parts, c.ucs2)
		}
	}
	// An escape pair straddling the part boundary moves whole to the next part.
	text := strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10)
	parts, _ := care360.SplitSMS(text)
	if len(parts) != 2 || parts[0] != strings.Repeat("a", 152) || septets(parts[0]) > 153 {
		t.Errorf("escape pair cut: %q", parts)
	}
	// A surrogate pair is never cut either.
	text = strings.Repeat("x", 66) + "đ😀" + strings.Repeat("y", 10)
	parts, ucs2 := care360.SplitSMS(text)
	if !ucs2 || len(parts) != 2 || len(utf16.Encode([]rune(parts[0]))) != 67 || !strings.HasPrefix(parts[1], "😀") {
		t.Errorf("surrogate pair: %q", parts)
	}
}

func TestFitsGSM7(t *testing.T) {
	t.Parallel()
	if !care360.FitsGSM7("Ma qua: ABC{123} €5 @home") {
		t.Error("GSM-7 text with extension characters refused")
	}
	for _, s := range []string{"Điểm", "\x1b", "😀", "ç"} {
		if care360.FitsGSM7(s) {
			t.Errorf("%q fits GSM-7?", s)
		}
	}
}
