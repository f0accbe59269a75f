package idp

import (
	"encoding/base64"
	"net"
	"net/http"
	"testing"

	"github.com/sithseid/sithseid/oob"
)

// authFrom starts an order whose endUserIp is ip; strict asks for a
// refusal, not a flag, of a lookup from elsewhere.
func (f *fixture) authFrom(ip string, strict bool) oob.AuthResponse {
	f.t.Helper()
	req := map[string]any{
		"endUserIp":       ip,
		"userVisibleData": base64.StdEncoding.EncodeToString([]byte("Logga in")),
	}
	if strict {
		req["requireEndUserIpMatch"] = true
	}
	var a oob.AuthResponse
	f.decodeReply(f.rp(oob.PathAuth, req), http.StatusOK, &a)
	return a
}

// An autostart lookup says where the order was started and whether the
// lookup came from there (docs/protocol.md §5): the test's lookups come
// from 127.0.0.1, so 127.0.0.1 and ::1 (both loopback) match and a LAN or
// public address does not; without requireEndUserIpMatch a mismatch is
// flagged, the order goes on.
func TestLookupOriginFlag(t *testing.T) {
	f := newFixture(t, nil)
	for _, tc := range []struct {
		ip    string
		match bool
	}{
		{"127.0.0.1", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"192.0.2.7", false},
		{"10.1.2.3", false},
		{"2001:db8::7", false},
	} {
		a := f.authFrom(tc.ip, false)
		l := f.lookup(a.AutoStartToken)
		if l.Origin == nil || l.Origin.EndUserIP != tc.ip || l.Origin.EndUserIPMatch != tc.match {
			t.Fatalf("endUserIp %s: origin %+v, want %s match=%v", tc.ip, l.Origin, tc.ip, tc.match)
		}
		f.wantState(a.OrderRef, oob.StatusPending, oob.HintStarted)
	}
}

// With requireEndUserIpMatch a lookup from another address is refused
// with 403 endUserIpMismatch and the order fails with that hint, so the
// relying party's page can say so; its token is dead afterwards. From the
// order's own address the lookup goes through.
func TestLookupOriginRefused(t *testing.T) {
	f := newFixture(t, nil)
	a := f.authFrom("192.0.2.7", true)
	lookup := func() reply {
		return f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": a.AutoStartToken}, nil)
	}
	f.wantError(lookup(), http.StatusForbidden, oob.ErrorCodeEndUserIPMismatch, "address the order was started from")
	f.wantState(a.OrderRef, oob.StatusFailed, oob.HintEndUserIPMismatch)
	f.wantError(lookup(), http.StatusGone, oob.ErrorCodeExpired, "")

	ok := f.authFrom("127.0.0.1", true)
	if l := f.lookup(ok.AutoStartToken); l.Origin == nil || !l.Origin.EndUserIPMatch {
		t.Fatalf("strict order looked up from its own address: origin %+v", l.Origin)
	}
}

// A QR code is scanned on another device by design: no origin, no
// refusal, even for a strict order.
func TestLookupOriginNotForQR(t *testing.T) {
	f := newFixture(t, nil)
	a := f.authFrom("192.0.2.7", true)
	var l oob.LookupResponse
	f.decodeReply(f.post(f.plain, oob.PathLookup, map[string]string{"qrCode": oob.QRPayload(a.QRStartToken, a.QRStartSecret, 0)}, nil), http.StatusOK, &l)
	if l.Origin != nil {
		t.Fatalf("QR lookup carries origin %+v", l.Origin)
	}
}

// The reference service counts two of its own host's addresses as one
// end user: a relying party that saw this host's LAN address and a lookup
// over loopback are the same computer; an address of no interface here is
// not.
func TestLookupOriginOwnHost(t *testing.T) {
	var lan string
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			lan = n.IP.String()
			break
		}
	}
	if lan == "" {
		t.Log("this host has no address but loopback: only the other half is checked")
	} else if !sameEndUser(lan, "127.0.0.1") || !sameEndUser("::1", lan) {
		t.Fatalf("this host's %s and loopback are not one end user", lan)
	}
	f := newFixture(t, nil)
	if lan != "" {
		a := f.authFrom(lan, true)
		if l := f.lookup(a.AutoStartToken); l.Origin == nil || !l.Origin.EndUserIPMatch {
			t.Fatalf("strict order from this host's %s looked up over loopback: origin %+v", lan, l.Origin)
		}
	}
	if sameEndUser("203.0.113.250", "127.0.0.1") {
		t.Fatal("an address of no interface here counted as this host")
	}
}
