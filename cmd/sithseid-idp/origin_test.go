package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sithseid/sithseid/oob"
)

// rp auth --end-user-ip and --require-ip-match: the lookup (made from
// 127.0.0.1) carries the order's origin, flagged when it differs, and a
// strict order from another address is refused with endUserIpMismatch.
func TestRPAuthEndUserIP(t *testing.T) {
	dir, _ := startServe(t)
	auth := func(args ...string) authOut {
		t.Helper()
		code, out, stderr := runCLI(t, append([]string{"rp", "auth", "--state", dir}, args...)...)
		if code != 0 {
			t.Fatalf("rp auth %v: %d %s", args, code, stderr)
		}
		var a authOut
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	lookup := func(a authOut) oob.LookupResponse {
		t.Helper()
		code, out, stderr := runCLI(t, "authn", "lookup", "--state", dir, "--token", a.AutoStartToken)
		if code != 0 {
			t.Fatalf("lookup: %d %s", code, stderr)
		}
		var l oob.LookupResponse
		if err := oob.DecodeBytes([]byte(out), &l); err != nil {
			t.Fatalf("lookup output %s: %v", out, err)
		}
		return l
	}
	if l := lookup(auth()); l.Origin == nil || *l.Origin != (oob.Origin{EndUserIP: "127.0.0.1", EndUserIPMatch: true}) {
		t.Fatalf("default order: origin %+v", l.Origin)
	}
	if l := lookup(auth("--end-user-ip", "192.0.2.7")); l.Origin == nil || *l.Origin != (oob.Origin{EndUserIP: "192.0.2.7"}) {
		t.Fatalf("order from 192.0.2.7: origin %+v", l.Origin)
	}
	a := auth("--end-user-ip", "192.0.2.7", "--require-ip-match")
	if code, _, stderr := runCLI(t, "authn", "lookup", "--state", dir, "--token", a.AutoStartToken); code != exitError || !strings.Contains(stderr, "endUserIpMismatch") {
		t.Fatalf("strict order from 192.0.2.7: %d %s", code, stderr)
	}
	if l := lookup(auth("--require-ip-match")); l.Origin == nil || !l.Origin.EndUserIPMatch {
		t.Fatalf("strict order from 127.0.0.1: origin %+v", l.Origin)
	}
}
