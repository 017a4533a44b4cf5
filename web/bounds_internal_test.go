package web

import (
	"net/netip"
	"testing"
	"time"
)

// TestAuthLimiterMemoryBounded: an attacker spraying failures from a
// million addresses grows the limiter's table to its bound and no
// further; the addresses that do not fit share one allowance; the table
// empties as windows end.
func TestAuthLimiterMemoryBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newAuthLimiter(Bounds{AuthClients: 1000}.WithDefaults())
	l.now = func() time.Time { return now }
	known := netip.MustParseAddr("198.51.100.1")
	for range 20 {
		l.fail(known)
	}
	for i := range 1_000_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if i >= 1<<24 {
			t.Fatal("ran out of addresses")
		}
		l.fail(a)
	}
	if n := l.size(); n > 1000 {
		t.Fatalf("the table holds %d addresses, bound 1000", n)
	}
	if _, blocked := l.blocked(known); !blocked {
		t.Error("an address blocked before the spray was let in again")
	}
	if _, blocked := l.blocked(netip.MustParseAddr("203.0.113.9")); !blocked {
		t.Error("the overflow allowance is not limited")
	}
	now = now.Add(time.Minute)
	if _, blocked := l.blocked(known); blocked {
		t.Error("still blocked after the window")
	}
	l.fail(netip.MustParseAddr("203.0.113.9"))
	if n := l.size(); n != 1 {
		t.Errorf("after the window the table holds %d addresses, want 1", n)
	}
}
