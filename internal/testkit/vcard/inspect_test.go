package vcard

import (
	"testing"
	"time"
)

func TestProfiles(t *testing.T) {
	p, ok := LookupProfile("idprime-usb")
	if !ok || p != ProfileIDPrime {
		t.Fatalf("LookupProfile(idprime-usb) = %+v %v", p, ok)
	}
	if _, ok := LookupProfile("fast"); ok {
		t.Error("an unknown profile was found")
	}
	o := p.Apply(RunOptions{DropAfter: 3})
	if o.Latency != 10*time.Millisecond || o.SignLatency != 200*time.Millisecond || o.DropAfter != 3 {
		t.Errorf("Apply: %+v", o)
	}
	if d := p.CardTime(19, 1); d != 390*time.Millisecond {
		t.Errorf("CardTime(19, 1) = %v, want 390ms", d)
	}
	if d := ProfileNone.CardTime(100, 10); d != 0 {
		t.Errorf("no profile: %v", d)
	}
}

// The inspection helpers read the state without touching the counters,
// and RestoreObject undoes a deletion on disk too.
func TestInspection(t *testing.T) {
	dir := t.TempDir()
	if err := Provision(ProvisionOptions{Dir: dir, PIN: "246813", PUK: "13572468"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !c.PINIs([]byte("246813")) || c.PINIs([]byte("246814")) || !c.PUKIs([]byte("13572468")) || c.PUKIs([]byte("246813")) {
		t.Error("PINIs/PUKIs compare wrongly")
	}
	if p, u := c.PINRetries(); p != 3 || u != 3 {
		t.Errorf("a look cost tries: %d %d", p, u)
	}
	const sign = 0x5FC10A
	v := c.Object(sign)
	if v == nil || !c.HasObject(sign) {
		t.Fatal("no 9C certificate object")
	}
	if err := c.RestoreObject(sign, nil); err != nil || c.HasObject(sign) {
		t.Fatalf("delete: %v", err)
	}
	if again, _ := Load(dir); again.HasObject(sign) {
		t.Error("the deletion was not saved")
	}
	if err := c.RestoreObject(sign, v); err != nil {
		t.Fatal(err)
	}
	if again, _ := Load(dir); string(again.Object(sign)) != string(v) {
		t.Error("the restored object differs on disk")
	}
}
