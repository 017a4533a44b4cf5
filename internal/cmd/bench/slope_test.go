package main

import (
	"math"
	"testing"
)

// A backlog that rises while the queue forms and then holds has no trend
// once formed; one that keeps rising has its rate.
func TestSlope(t *testing.T) {
	formingThenFlat := []int64{100, 200, 300, 300, 300, 300, 300, 300}
	if s := slope(formingThenFlat[2:], 3, 5); math.Abs(s) > 1e-9 {
		t.Errorf("flat once formed: slope %v", s)
	}
	if s := slope(formingThenFlat, 1, 5); s <= 0 {
		t.Errorf("over the whole feed the forming shows: slope %v", s)
	}
	rising := []int64{50, 100, 150, 200}
	if s := slope(rising, 1, 5); math.Abs(s-10) > 1e-9 {
		t.Errorf("rising 50 every 5 s: slope %v, want 10", s)
	}
}
