package oob

import "net/netip"

// SameEndUser reports whether a and b, two IP addresses in text form, are
// the same end user's address for the endUserIp check (docs/protocol.md
// §5): equal once an IPv4-mapped IPv6 address is unmapped and a zone
// dropped, or both loopback (127.0.0.0/8, ::1: the browser and the
// authenticator on one host may reach the services over either family).
// Anything that does not parse matches nothing.
func SameEndUser(a, b string) bool {
	x, err := netip.ParseAddr(a)
	if err != nil {
		return false
	}
	y, err := netip.ParseAddr(b)
	if err != nil {
		return false
	}
	x, y = x.Unmap().WithZone(""), y.Unmap().WithZone("")
	if x.IsLoopback() && y.IsLoopback() {
		return true
	}
	return x == y
}
