package idp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sithseid/sithseid/oob"
)

var fuzzPaths = []string{
	oob.PathAuth, oob.PathCollect, oob.PathCancel,
	oob.PathLookup, oob.PathQR, oob.PathComplete, oob.PathTransactionCancel,
}

// FuzzRequests feeds arbitrary bodies to every endpoint. The service must
// never panic or fail with a 5xx, and every reply must pass the clients'
// strict decoder (an error reply as oob.ErrorResponse).
func FuzzRequests(f *testing.F) {
	for i, body := range []string{
		`{"endUserIp":"1.2.3.4","userVisibleData":"eA=="}`,
		`{"endUserIp":"::1","userVisibleData":"eA==","returnUrl":"https://a.example/"}`,
		`{"orderRef":"0b5c3e39-4a8e-4c39-9a39-6b1a0c0e2f11"}`,
		`{"orderRef":"0b5c3e39-4a8e-4c39-9a39-6b1a0c0e2f11"}`,
		`{"autoStartToken":"0b5c3e39-4a8e-4c39-9a39-6b1a0c0e2f11"}`,
		`{"autoStartToken":"0b5c3e39-4a8e-4c39-9a39-6b1a0c0e2f11"}`,
		`{"transactionId":"0b5c3e39-4a8e-4c39-9a39-6b1a0c0e2f11","signatureAlgorithm":"ecdsa-sha256","signature":"eA=="}`,
		`{"transactionId":"0b5c3e39-4a8e-4c39-9a39-6b1a0c0e2f11","reason":"userCancel"}`,
	} {
		f.Add(uint8(i%len(fuzzPaths)), []byte(body))
	}
	f.Add(uint8(3), []byte(`{"qrCode":"sithseid.0b5c3e39-4a8e-4c39-9a39-6b1a0c0e2f11.0.`+
		`dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8"}`))
	f.Add(uint8(0), []byte(`{"endUserIp":"1.2.3.4","userVisibleData":"eA==","endUserIp":"5.6.7.8"}`))

	pki, _ := sharedPKI(&testing.T{})
	srv, err := New(Options{
		PKI:            pki,
		RelyingParties: []RelyingParty{{Name: testRPName, APIKey: testRPKey}},
		RPRate:         -1, IPRate: -1, MaxOrders: 1000,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := fuzzPaths[int(which)%len(fuzzPaths)]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testRPKey)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		var e oob.ErrorResponse
		switch {
		case w.Code == http.StatusOK:
			var m oob.Message
			switch path {
			case oob.PathAuth:
				m = &oob.AuthResponse{}
			case oob.PathCancel, oob.PathTransactionCancel:
				m = &oob.EmptyResponse{}
			default:
				t.Fatalf("%s answered 200 to a made-up order: %s", path, w.Body.Bytes())
			}
			if err := oob.DecodeBytes(w.Body.Bytes(), m); err != nil {
				t.Fatalf("%s reply %s: %v", path, w.Body.Bytes(), err)
			}
		case w.Code == http.StatusServiceUnavailable:
			if err := oob.DecodeBytes(w.Body.Bytes(), &e); err != nil || e.ErrorCode != oob.ErrorCodeMaintenance {
				t.Fatalf("503 %s", w.Body.Bytes())
			}
		case w.Code >= 500:
			t.Fatalf("%s: HTTP %d %s", path, w.Code, w.Body.Bytes())
		default:
			if err := oob.DecodeBytes(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("%s: HTTP %d, reply %s: %v", path, w.Code, w.Body.Bytes(), err)
			}
		}
	})
}
