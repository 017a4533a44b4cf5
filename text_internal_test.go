package care360

import "testing"

// The table of runes below 256 answers as the alphabets do, and every other
// rune is still found in them.
func TestSeptetsAsTheAlphabets(t *testing.T) {
	t.Parallel()
	for r := rune(-1); r <= 0x10FFFF; r++ {
		if got, want := septets(r), septetsOf(r); got != want {
			t.Fatalf("septets(%U) = %d, the alphabets say %d", r, got, want)
		}
	}
	for r, want := range map[rune]int{'A': 1, '@': 1, 'é': 1, 'Δ': 1, '€': 2, '^': 2, 0x1b: 0, 'ạ': 0, 'ơ': 0} {
		if got := septets(r); got != want {
			t.Errorf("septets(%q) = %d, want %d", r, got, want)
		}
	}
}

// Folding by the tables answers as normalisation does for every pair of
// runes they hold (and letters of ASCII on either side), so for any text
// of them; text with other runes is normalised.
func TestFoldByTable(t *testing.T) {
	t.Parallel()
	var held []rune
	for r := rune(0x80); r < 0x1F00; r++ {
		if _, ok := foldRune(r); ok {
			held = append(held, r)
		}
	}
	if len(held) != 0x370-0x80+0x100 {
		t.Fatalf("the tables hold %d runes", len(held))
	}
	for _, a := range append(held, 'a', 'D') {
		for _, b := range append(held, 'a', 'D') {
			s := string([]rune{a, b})
			if got, want := Fold(s), foldByNormalisation(s); got != want {
				t.Fatalf("Fold(%q) = %q, normalisation gives %q", s, got, want)
			}
		}
	}
	for _, s := range []string{"Điểm của bạn: 1.250 điểm, hạng Kim cương", "e\u0301 và e\u20d7", "ᄀ" + "ᅡ", "\xffđ"} {
		if got, want := Fold(s), foldByNormalisation(s); got != want {
			t.Errorf("Fold(%q) = %q, normalisation gives %q", s, got, want)
		}
	}
}

func BenchmarkFold(b *testing.B) {
	const s = "Quà tặng Kết nối dài lâu: voucher Highlands 50.000đ đã được gửi tới bạn"
	b.ReportAllocs()
	for b.Loop() {
		Fold(s)
	}
}
