package vcard

// PIN and PUK handling: VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER
// (NIST SP 800-73-4 Part 2 §3.2). Key references: 80 PIV Card Application
// PIN, 81 PIN Unblocking Key.

const (
	refPIN = 0x80
	refPUK = 0x81
)

// DefaultTries is the number of tries a new PIN or PUK gets.
const DefaultTries = 3

// validPIN: 6–8 ASCII digits padded with FF to 8 bytes (Part 2 §2.4.3).
func validPIN(b []byte) bool { return validDigits(b, 6) }

// validPUK: the PUK is 8 digits (Part 2 §2.4.3); a PUK being checked may be
// 6–8 digits, as YubiKey-style tools allow, but a new one must be 8.
func validPUK(b []byte, isNew bool) bool {
	if isNew {
		return validDigits(b, 8)
	}
	return validDigits(b, 6)
}

func validDigits(b []byte, min int) bool {
	if len(b) != 8 {
		return false
	}
	n := 0
	for n < 8 && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n < min {
		return false
	}
	for _, x := range b[n:] {
		if x != 0xFF {
			return false
		}
	}
	return true
}

// checkRef compares a candidate with a PIN or PUK. The retry counter is
// decremented and persisted before the comparison and restored only on a
// match, so a reader pulled mid-command never gains a try (the anti-tearing
// order of real cards). It returns swOK, 63Cx or 6581.
func (c *Card) checkRef(r *refData, candidate []byte) int {
	if r.Tries == 0 {
		return swBlocked
	}
	r.Tries--
	if err := c.save(); err != nil {
		r.Tries++
		return swMemoryFailure
	}
	if !r.matches(candidate) {
		return swVerifyFail | r.Tries
	}
	r.Tries = r.Max
	if err := c.save(); err != nil {
		// The try stays spent on disk; the safe direction.
		return swMemoryFailure
	}
	return swOK
}

func (c *Card) verify(cmd command) int {
	if cmd.p1 == 0xFF { // reset the security status of the reference
		if cmd.p2 != refPIN {
			return swRefNotFound
		}
		if len(cmd.data) != 0 {
			return swWrongLength
		}
		c.pinVerified, c.pinFresh = false, false
		return swOK
	}
	if cmd.p1 != 0x00 {
		return swIncorrectP1P2
	}
	if cmd.p2 != refPIN {
		// The PUK cannot be verified, only used (RESET RETRY COUNTER).
		return swRefNotFound
	}
	pin := &c.st.PIN
	if len(cmd.data) == 0 { // status query (Part 2 §3.2.1)
		switch {
		case pin.Tries == 0:
			return swBlocked
		case c.pinVerified:
			return swOK
		default:
			return swVerifyFail | pin.Tries
		}
	}
	if len(cmd.data) != 8 || !validPIN(cmd.data) {
		return swIncorrectData
	}
	c.pinVerified, c.pinFresh = false, false
	code := c.checkRef(pin, cmd.data)
	if code == swOK {
		c.pinVerified, c.pinFresh = true, true
	}
	return code
}

func (c *Card) changeReference(cmd command) int {
	if cmd.p1 != 0x00 {
		return swIncorrectP1P2
	}
	var r *refData
	switch cmd.p2 {
	case refPIN:
		r = &c.st.PIN
	case refPUK:
		r = &c.st.PUK
	default:
		return swRefNotFound
	}
	if len(cmd.data) != 16 {
		return swIncorrectData
	}
	old, nw := cmd.data[:8], cmd.data[8:]
	if cmd.p2 == refPIN {
		if !validPIN(old) || !validPIN(nw) {
			return swIncorrectData
		}
	} else if !validPUK(old, false) || !validPUK(nw, true) {
		return swIncorrectData
	}
	if cmd.p2 == refPIN {
		c.pinVerified, c.pinFresh = false, false
	}
	if code := c.checkRef(r, old); code != swOK {
		return code
	}
	if code := c.replaceRef(r, nw, false); code != swOK {
		return code
	}
	if cmd.p2 == refPIN {
		c.pinVerified, c.pinFresh = true, true
	}
	return swOK
}

func (c *Card) resetRetryCounter(cmd command) int {
	if cmd.p1 != 0x00 {
		return swIncorrectP1P2
	}
	if cmd.p2 != refPIN {
		return swRefNotFound
	}
	if len(cmd.data) != 16 {
		return swIncorrectData
	}
	puk, nw := cmd.data[:8], cmd.data[8:]
	if !validPUK(puk, false) || !validPIN(nw) {
		return swIncorrectData
	}
	c.pinVerified, c.pinFresh = false, false
	if code := c.checkRef(&c.st.PUK, puk); code != swOK {
		return code
	}
	return c.replaceRef(&c.st.PIN, nw, true)
}

// replaceRef sets r to the new value nw (padded), all tries back when
// refill (an unblock), and writes the state; a failed write leaves r as it
// was.
func (c *Card) replaceRef(r *refData, nw []byte, refill bool) int {
	saved := *r
	if err := r.set(nw); err != nil {
		return swMemoryFailure
	}
	r.Default = false
	if refill {
		r.Tries = r.Max
	}
	if err := c.save(); err != nil {
		*r = saved
		return swMemoryFailure
	}
	return swOK
}

// setRetries is Yubico's SET PIN RETRIES (INS FA): P1 PIN tries, P2 PUK
// tries. It needs the management key and the PIN, and resets PIN and PUK to
// their defaults, as on a YubiKey.
func (c *Card) setRetries(cmd command) int {
	if !c.mgmtAuthed || !c.pinVerified {
		return swSecurityStatus
	}
	if cmd.p1 < 1 || cmd.p1 > 15 || cmd.p2 < 1 || cmd.p2 > 15 {
		return swIncorrectP1P2
	}
	saved := c.st.PIN
	savedPUK := c.st.PUK
	if err := setDefaultRefs(c.st, int(cmd.p1), int(cmd.p2)); err != nil {
		return swMemoryFailure
	}
	if err := c.save(); err != nil {
		c.st.PIN, c.st.PUK = saved, savedPUK
		return swMemoryFailure
	}
	c.pinVerified, c.pinFresh = false, false
	return swOK
}

// padRef pads a PIN or PUK with FF to 8 bytes.
func padRef(s string) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = 0xFF
	}
	copy(b, s)
	return b
}

func setDefaultRefs(st *state, pinTries, pukTries int) error {
	p, u := padRef(DefaultPIN), padRef(DefaultPUK)
	defer clear(p)
	defer clear(u)
	if err := st.PIN.set(p); err != nil {
		return err
	}
	if err := st.PUK.set(u); err != nil {
		return err
	}
	st.PIN.Tries, st.PIN.Max, st.PIN.Default = pinTries, pinTries, true
	st.PUK.Tries, st.PUK.Max, st.PUK.Default = pukTries, pukTries, true
	return nil
}
