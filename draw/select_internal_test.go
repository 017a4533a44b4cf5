package draw

import (
	"math/rand/v2"
	"testing"
)

// The float shortcut and the exact comparison agree wherever the float
// keys are far enough apart to be trusted, and the exact one decides ties.
func TestExactAgreesWithFloat(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	var key [32]byte
	for i := range 20000 {
		ex := &Entry{ID: int64(2 * i), Tickets: 1 + r.IntN(5)}
		x := score(unit(&key, ex.ID), ex, 0)
		ey := &Entry{ID: int64(2*i + 1), Tickets: 1 + r.IntN(5)}
		y := score(unit(&key, ey.ID), ey, 0)
		if x.k == y.k {
			continue
		}
		if got, want := exact(&x, &y) > 0, x.k > y.k; got != want {
			t.Fatalf("x=%+v y=%+v: exact says %v, float %v", x, y, got, want)
		}
	}
	// Equal numbers and weights: only the id decides.
	a := cand{id: 1, a: 12345, w: 3}
	b := cand{id: 2, a: 12345, w: 3}
	a.k, b.k = -1, -1
	if !before(&a, &b) || before(&b, &a) {
		t.Fatal("a tie must go to the smaller id")
	}
	// A true tie across weights: u_x = 3/4 with 1 ticket and u_y = 9/16
	// with 2 give the same key, (9/16)^(1/2) = 3/4.
	x := cand{id: 9, a: 3 << 52, w: 1, k: -0.2876820724517809}
	y := cand{id: 3, a: 9 << 50, w: 2, k: -0.2876820724517809}
	if exact(&x, &y) != 0 || !before(&y, &x) {
		t.Fatal("an exact tie across weights must go to the smaller id")
	}
}

func TestUnitIsOpenInterval(t *testing.T) {
	t.Parallel()
	var key [32]byte
	for id := range int64(1000) {
		a := unit(&key, id)
		if a%2 != 1 || a >= 1<<54 {
			t.Fatalf("id %d: a = %d, want odd and below 2^54", id, a)
		}
	}
}
