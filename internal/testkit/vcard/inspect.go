package vcard

import "time"

// Inspection for tests that check a card's state after a fault without
// going through PC/SC (where every look costs APDUs, and a wrong-PIN probe
// a try). None of these touch the retry counters.

// PINIs reports whether pin is the card's current PIN (on an IDPrime card
// the identification PIN 11). The counter is not touched.
func (c *Card) PINIs(pin []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.PIN.matches(c.pad(pin))
}

// PUKIs reports whether puk is the card's current PUK.
func (c *Card) PUKIs(puk []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.PUK.matches(c.pad(puk))
}

// SignPINIs reports whether pin is the IDPrime card's signature PIN (83);
// false on cards without one.
func (c *Card) SignPINIs(pin []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.SignPIN != nil && c.st.SignPIN.matches(c.pad(pin))
}

// SignPINRetries returns the signature PIN's tries left; ok is false when
// the card has no signature PIN (PIV cards, IDPrime cards without
// WithSigning).
func (c *Card) SignPINRetries() (tries int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.SignPIN == nil {
		return 0, false
	}
	return c.st.SignPIN.Tries, true
}

// CardID is an IDPrime card's cardid file (16 bytes; OpenSC's serial is
// its hex form), nil on PIV cards.
func (c *Card) CardID() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.IDPrime == nil {
		return nil
	}
	return append([]byte(nil), c.st.IDPrime.CardID...)
}

// CPLC is an IDPrime card's answer to GET DATA 9F7F (9F 7F 2A and 42
// bytes), nil on PIV cards.
func (c *Card) CPLC() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.st.IDPrime == nil {
		return nil
	}
	return idprimeCPLC(c.st.IDPrime.CardID)
}

// pad is a PIN or PUK in the card's padding: FF to 8 bytes (PIV), 00 to
// 16 (IDPrime).
func (c *Card) pad(v []byte) []byte {
	if c.idp != nil {
		return padIDP(string(v))
	}
	return padRef(string(v))
}

// HasObject reports whether the data object with BER-TLV tag (0x5FC10A)
// is on the card.
func (c *Card) HasObject(tag int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.st.Objects[objKey(tag)]
	return ok
}

// Object returns a copy of the value of a data object, nil when absent.
func (c *Card) Object(tag int) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.st.Objects[objKey(tag)]
	if !ok {
		return nil
	}
	return append([]byte(nil), v...)
}

// RestoreObject puts a data object back as Object returned it (nil
// deletes it) and saves the state: a test's way to undo a removal before
// the next round.
func (c *Card) RestoreObject(tag int, value []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := objKey(tag)
	if value == nil {
		delete(c.st.Objects, k)
	} else {
		c.st.Objects[k] = append([]byte(nil), value...)
	}
	return c.save()
}

// A Profile is a timing profile: the delay a real card adds to every APDU
// and, on top, to every private-key operation. RunOptions takes it apart.
type Profile struct {
	Name        string
	Latency     time.Duration // per APDU
	SignLatency time.Duration // per private-key operation, on top
}

// ProfileIDPrime is a SITHS card (Thales IDPrime 940, RSA-2048) in a
// USB CCID reader, the profile benchmarks run with. The figures and their
// sources are in docs/performance.md: ~10 ms per short APDU at the reader's
// T=1 exchange (a few ms of USB round trips plus the card's own
// processing) and ~200 ms per RSA-2048 private-key operation (CRT on a
// smart-card coprocessor).
var ProfileIDPrime = Profile{Name: "idprime-usb", Latency: 10 * time.Millisecond, SignLatency: 200 * time.Millisecond}

// ProfileNone is the virtual card's own speed (well under a millisecond
// per APDU through pcscd).
var ProfileNone = Profile{Name: "none"}

// Apply sets o's latencies to the profile's and returns o.
func (p Profile) Apply(o RunOptions) RunOptions {
	o.Latency, o.SignLatency = p.Latency, p.SignLatency
	return o
}

// CardTime is the time a real card of this profile spends on apdus APDUs
// of which signatures were private-key operations: what benchmarks
// subtract from a total to get the host's own time.
func (p Profile) CardTime(apdus, signatures int64) time.Duration {
	return time.Duration(apdus)*p.Latency + time.Duration(signatures)*p.SignLatency
}

// Profiles are the named timing profiles ("sithseid-vcard run --profile").
var Profiles = []Profile{ProfileNone, ProfileIDPrime}

// LookupProfile finds a profile by name.
func LookupProfile(name string) (Profile, bool) {
	for _, p := range Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}
