package idp

import (
	"net"
	"net/netip"

	"github.com/sithseid/sithseid/oob"
)

// sameEndUser is the endUserIp check of a lookup (docs/protocol.md §5):
// oob.SameEndUser, and also two addresses that are both this host's own
// (loopback or an interface's): a browser and an app on the service's own
// host reach it over either, say a relying party that saw the host's LAN
// address and a lookup over loopback. The interfaces are read per call:
// lookups are rare, and addresses change (DHCP, VPN).
func sameEndUser(endUserIP, lookupIP string) bool {
	if oob.SameEndUser(endUserIP, lookupIP) {
		return true
	}
	a, errA := netip.ParseAddr(endUserIP)
	b, errB := netip.ParseAddr(lookupIP)
	if errA != nil || errB != nil {
		return false
	}
	return ownAddress(a) && ownAddress(b)
}

// ownAddress reports whether a is loopback or an address of one of this
// host's interfaces.
func ownAddress(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	if a.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ad := range addrs {
		if n, ok := ad.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == a {
				return true
			}
		}
	}
	return false
}
