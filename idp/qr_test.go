package idp

import (
	"net/http"
	"testing"
	"time"

	"github.com/sithseid/sithseid/oob"
)

func (f *fixture) qrLookup(code string) reply {
	f.t.Helper()
	return f.post(f.plain, oob.PathLookup, map[string]string{"qrCode": code}, nil)
}

// The animated QR code: the service's current payload is accepted within
// the 30 s window and refused after it; old (relayed) codes, codes from the
// future and codes with a wrong HMAC are refused.
func TestQRCode(t *testing.T) {
	f := newFixture(t, nil)
	a := f.auth("Logga in", "")

	var q oob.QRResponse
	f.decodeReply(f.post(f.plain, oob.PathQR, map[string]string{"autoStartToken": a.AutoStartToken}, nil), http.StatusOK, &q)
	if q.QRCode != oob.QRPayload(a.QRStartToken, a.QRStartSecret, 0) || q.ValidFor != 30 {
		t.Fatalf("qr at t=0: %+v", q)
	}
	// The relying party's own payload at t=0 is accepted now.
	var l oob.LookupResponse
	f.decodeReply(f.qrLookup(q.QRCode), http.StatusOK, &l)
	if l.RelyingParty.Name != testRPName || l.UserVisibleText != "Logga in" {
		t.Fatalf("lookup by QR: %+v", l)
	}
	f.wantState(a.OrderRef, oob.StatusPending, oob.HintStarted)

	// A wrong HMAC (someone who knows the token but not the secret).
	f.wantError(f.qrLookup(oob.QRPayload(a.QRStartToken, a.AutoStartToken, 0)), http.StatusNotFound, oob.ErrorCodeNotFound, "")
	// An unknown QR start token.
	f.wantError(f.qrLookup(oob.QRPayload(oob.NewUUID(), a.QRStartSecret, 0)), http.StatusNotFound, oob.ErrorCodeNotFound, "")
	// A code from the future (t=5 at elapsed 0).
	f.wantError(f.qrLookup(oob.QRPayload(a.QRStartToken, a.QRStartSecret, 5)), http.StatusGone, oob.ErrorCodeExpired, "from the future")

	f.clock.Advance(29*time.Second + 500*time.Millisecond)
	f.decodeReply(f.post(f.plain, oob.PathQR, map[string]string{"autoStartToken": a.AutoStartToken}, nil), http.StatusOK, &q)
	if q.QRCode != oob.QRPayload(a.QRStartToken, a.QRStartSecret, 29) || q.ValidFor != 1 {
		t.Fatalf("qr at t=29: %+v", q)
	}
	f.decodeReply(f.qrLookup(q.QRCode), http.StatusOK, &l)
	// The t=0 code is now 29 s old: a relayed code.
	f.wantError(f.qrLookup(oob.QRPayload(a.QRStartToken, a.QRStartSecret, 0)), http.StatusGone, oob.ErrorCodeExpired, "too old")
	// A few seconds of slack are allowed.
	f.decodeReply(f.qrLookup(oob.QRPayload(a.QRStartToken, a.QRStartSecret, 25)), http.StatusOK, &l)

	f.clock.Advance(2 * time.Second) // elapsed 31.5 s
	f.wantError(f.post(f.plain, oob.PathQR, map[string]string{"autoStartToken": a.AutoStartToken}, nil),
		http.StatusGone, oob.ErrorCodeExpired, "QR window")
	f.wantError(f.qrLookup(oob.QRPayload(a.QRStartToken, a.QRStartSecret, 31)), http.StatusGone, oob.ErrorCodeExpired, "30 s window")
	// The order itself lives on: the autostart token still works.
	f.lookup(a.AutoStartToken)
	f.wantState(a.OrderRef, oob.StatusPending, oob.HintStarted)
}

// After the order's lifetime, collect says expiredTransaction and every
// token is refused; long after, the order is forgotten (bounded memory).
func TestExpiryAndPurge(t *testing.T) {
	f := newFixture(t, nil)
	a := f.auth("Logga in", "")
	l := f.lookup(a.AutoStartToken)
	f.clock.Advance(oob.OrderLifetime)
	f.wantState(a.OrderRef, oob.StatusFailed, oob.HintExpiredTransaction)
	f.wantError(f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": a.AutoStartToken}, nil),
		http.StatusGone, oob.ErrorCodeExpired, "")
	alg, sig := sign(t, f.card.HSAAuth.Key, l)
	f.wantError(f.complete(&f.card.HSAAuth, l.TransactionID, alg, sig), http.StatusGone, oob.ErrorCodeExpired, "")

	for range 20 {
		f.auth("Fler", "")
	}
	if n := f.srv.orders.size(); n != 21 {
		t.Fatalf("%d orders held, want 21", n)
	}
	f.clock.Advance(oob.OrderLifetime + orderRetention + time.Second)
	f.auth("Ny", "") // a new order triggers the purge
	if n := f.srv.orders.size(); n != 1 {
		t.Fatalf("%d orders held after purge, want 1", n)
	}
	f.wantError(f.rp(oob.PathCollect, map[string]string{"orderRef": a.OrderRef}), http.StatusNotFound, oob.ErrorCodeNotFound, "")
	f.wantError(f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": a.AutoStartToken}, nil),
		http.StatusNotFound, oob.ErrorCodeNotFound, "")
	f.wantError(f.complete(&f.card.HSAAuth, l.TransactionID, alg, sig), http.StatusNotFound, oob.ErrorCodeNotFound, "")
}

// MaxOrders bounds the live orders: past it, auth answers 503.
func TestMaxOrders(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxOrders = 3 })
	for range 3 {
		f.auth("x", "")
	}
	r := f.rp(oob.PathAuth, map[string]string{"endUserIp": "::1", "userVisibleData": "eA=="})
	f.wantError(r, http.StatusServiceUnavailable, oob.ErrorCodeMaintenance, "")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
}

func TestCancel(t *testing.T) {
	f := newFixture(t, nil)

	// The relying party cancels: the order fails with userCancel, its
	// tokens die, a second cancel is refused.
	a := f.auth("Logga in", "")
	l := f.lookup(a.AutoStartToken)
	var empty oob.EmptyResponse
	f.decodeReply(f.rp(oob.PathCancel, map[string]string{"orderRef": a.OrderRef}), http.StatusOK, &empty)
	f.wantState(a.OrderRef, oob.StatusFailed, oob.HintUserCancel)
	f.wantError(f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": a.AutoStartToken}, nil), http.StatusGone, oob.ErrorCodeExpired, "")
	alg, sig := sign(t, f.card.HSAAuth.Key, l)
	f.wantError(f.complete(&f.card.HSAAuth, l.TransactionID, alg, sig), http.StatusGone, oob.ErrorCodeExpired, "")
	f.wantError(f.rp(oob.PathCancel, map[string]string{"orderRef": a.OrderRef}), http.StatusGone, oob.ErrorCodeExpired, "")
	f.wantError(f.rp(oob.PathCancel, map[string]string{"orderRef": oob.NewUUID()}), http.StatusNotFound, oob.ErrorCodeNotFound, "")

	// The authenticator cancels with each reason.
	for _, reason := range []string{oob.ReasonUserCancel, oob.ReasonCardRemoved, oob.ReasonStartFailed} {
		a := f.auth("Logga in", "")
		l := f.lookup(a.AutoStartToken)
		f.decodeReply(f.post(f.plain, oob.PathTransactionCancel, map[string]string{"transactionId": l.TransactionID, "reason": reason}, nil), http.StatusOK, &empty)
		f.wantState(a.OrderRef, oob.StatusFailed, reason)
		f.wantError(f.post(f.plain, oob.PathTransactionCancel, map[string]string{"transactionId": l.TransactionID, "reason": reason}, nil), http.StatusGone, oob.ErrorCodeExpired, "")
	}
	f.wantError(f.post(f.plain, oob.PathTransactionCancel, map[string]string{"transactionId": oob.NewUUID(), "reason": "userCancel"}, nil), http.StatusNotFound, oob.ErrorCodeNotFound, "")
}

// One relying party cannot see or cancel another's orders.
func TestRelyingPartiesAreSeparate(t *testing.T) {
	const otherKey = "other-rp-key-0123456789abcdef"
	f := newFixture(t, func(o *Options) {
		o.RelyingParties = append(o.RelyingParties, RelyingParty{Name: "Annan vårdgivare", APIKey: otherKey})
	})
	a := f.auth("Logga in", "")
	other := map[string]string{"Authorization": "Bearer " + otherKey}
	f.wantError(f.post(f.plain, oob.PathCollect, map[string]string{"orderRef": a.OrderRef}, other), http.StatusNotFound, oob.ErrorCodeNotFound, "")
	f.wantError(f.post(f.plain, oob.PathCancel, map[string]string{"orderRef": a.OrderRef}, other), http.StatusNotFound, oob.ErrorCodeNotFound, "")
	f.wantState(a.OrderRef, oob.StatusPending, oob.HintOutstandingTransaction)
}

// An order gives out a bounded number of transactions: more lookups are
// someone probing with a leaked token.
func TestLookupsPerOrderBounded(t *testing.T) {
	f := newFixture(t, nil)
	a := f.auth("Logga in", "")
	seen := map[string]bool{}
	for range maxTransactionsPerOrder {
		l := f.lookup(a.AutoStartToken)
		if seen[l.TransactionID] {
			t.Fatal("transactionId repeated")
		}
		seen[l.TransactionID] = true
	}
	f.wantError(f.post(f.plain, oob.PathLookup, map[string]string{"autoStartToken": a.AutoStartToken}, nil),
		http.StatusConflict, oob.ErrorCodeAlreadyInProgress, "too many lookups")
	f.wantState(a.OrderRef, oob.StatusPending, oob.HintStarted)
}
