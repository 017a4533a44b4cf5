package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr is the address a request is judged by (PRODUCT.md §9): the TCP
// peer, unless the peer is one of the trusted reverse proxies; then the
// right-most X-Forwarded-For entry that is not itself a trusted proxy. Only
// entries appended by proxies we trust are believed: anything to the left
// of the first untrusted hop was written by the client and may be forged.
// When every hop is trusted the left-most entry is the client; a trusted
// peer that sends no X-Forwarded-For is the client itself. The zero
// Addr means there is no address to believe: the peer could not be read,
// or a trusted proxy passed on an entry that is not an address (callers
// refuse it, or count it as one client).
func ClientAddr(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := parseAddr(r.RemoteAddr)
	if !peer.IsValid() || !inAny(peer, trusted) {
		return peer
	}
	values := r.Header.Values("X-Forwarded-For")
	if len(values) == 0 {
		return peer // a request the proxy made itself
	}
	client := peer
	// Several headers are one list, in order (RFC 7230 §3.2.2).
	hops := strings.Split(strings.Join(values, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseAddr(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			// Not written by a proxy we trust, and whatever lies left of
			// it may be forged: no address can be believed.
			return netip.Addr{}
		}
		client = a
		if !inAny(a, trusted) {
			return a
		}
	}
	return client
}

// parseAddr reads "ip", "ip:port" or "[ip]:port"; IPv4-mapped IPv6
// addresses become IPv4 so that IPv4 prefixes match them.
func parseAddr(s string) netip.Addr {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
