package localapi

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sithseid/sithseid/app"
	"github.com/sithseid/sithseid/cardreader"
)

// The wrong PIN (or PUK) that used the last try crosses the wire as
// blocked, not as wrong with 0 tries left, and comes back as blocked; a
// PIN of the wrong form keeps its reason. Wrapped (a signature PIN's
// *app.PINError, context) or not.
func TestWireBlockedAndWrongForm(t *testing.T) {
	for _, tc := range []struct {
		err     error
		code    string
		retries int
		is      error
	}{
		{&cardreader.WrongPINError{Retries: 0}, "pinBlocked", 0, cardreader.ErrPINBlocked},
		{fmt.Errorf("changing PIN: %w", &cardreader.WrongPINError{Retries: 0}), "pinBlocked", 0, cardreader.ErrPINBlocked},
		{&app.PINError{PIN: cardreader.PINSignature, Err: &cardreader.WrongPINError{Retries: 0}}, "pinBlocked", 0, cardreader.ErrPINBlocked},
		{&cardreader.WrongPUKError{Retries: 0}, "pukBlocked", 0, cardreader.ErrPUKBlocked},
		{&cardreader.WrongPINError{Retries: 2}, "wrongPIN", 2, nil},
		{&cardreader.WrongPUKError{Retries: 1}, "wrongPUK", 1, nil},
	} {
		we := ToWire(tc.err)
		if we.Code != tc.code || we.Retries != tc.retries {
			t.Errorf("%v: wire %+v, want %s/%d", tc.err, we, tc.code, tc.retries)
		}
		back := fromWire(we)
		if tc.is != nil && !errors.Is(back, tc.is) {
			t.Errorf("%v: back %v is not %v", tc.err, back, tc.is)
		}
		var wrong *cardreader.WrongPINError
		if tc.code == "pinBlocked" && errors.As(back, &wrong) {
			t.Errorf("%v: back as a wrong PIN %v", tc.err, wrong)
		}
	}
	we := ToWire(&cardreader.PINPolicyError{Reason: cardreader.PINWrongForm})
	var pe *cardreader.PINPolicyError
	if back := fromWire(we); we.Code != "pinPolicy" || !errors.As(back, &pe) || pe.Reason != cardreader.PINWrongForm {
		t.Errorf("wrong form: wire %+v, back %v", we, back)
	}
}
