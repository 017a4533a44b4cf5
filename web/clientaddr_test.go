package web_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/care360/care360/web"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted := prefixes("10.0.0.0/8", "::1/128")
	for _, tc := range []struct {
		peer string
		xff  []string
		want string // "" is the zero Addr
	}{
		{"203.0.113.7:4000", nil, "203.0.113.7"},
		{"203.0.113.7:4000", []string{"198.51.100.1"}, "203.0.113.7"}, // untrusted peer: header ignored
		{"10.0.0.2:4000", nil, "10.0.0.2"},
		{"10.0.0.2:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"10.0.0.2:4000", []string{"192.0.2.66, 198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		{"10.0.0.2:4000", []string{"192.0.2.66", "198.51.100.1 , 10.0.0.3"}, "198.51.100.1"},
		{"10.0.0.2:4000", []string{"10.0.0.9, 10.0.0.3"}, "10.0.0.9"}, // all trusted: the left-most
		{"10.0.0.2:4000", []string{"198.51.100.1, bogus"}, ""},
		{"[::1]:4000", []string{"2001:db8::5"}, "2001:db8::5"},
		{"[::ffff:10.0.0.2]:4000", []string{"[2001:db8::6]:555"}, "2001:db8::6"}, // mapped peer; a hop with a port
		{"not-an-address", []string{"198.51.100.1"}, ""},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		got := web.ClientAddr(r, trusted)
		var want netip.Addr
		if tc.want != "" {
			want = netip.MustParseAddr(tc.want)
		}
		if got != want {
			t.Errorf("peer %s, X-Forwarded-For %q: %v; want %v", tc.peer, tc.xff, got, want)
		}
	}
}
