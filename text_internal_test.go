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
