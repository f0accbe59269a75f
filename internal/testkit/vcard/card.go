package vcard

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// PIV application identifier (NIST SP 800-73-4 Part 1 §2.2): the RID
// A0 00 00 03 08 and the PIX 00 00 10 00 01 00. A SELECT may give any prefix of
// at least the RID (right truncation, ISO/IEC 7816-4 §12.2.2).
var pivAID = []byte{0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00}

// yubiMgmtAID is YubiKey's management application. The card answers its
// SELECT, so a client that selects it leaves the PIV application (and its
// security status) the way it would on a YubiKey; every other command there
// is 6D00.
var yubiMgmtAID = []byte{0xA0, 0x00, 0x00, 0x05, 0x27, 0x47, 0x11, 0x17}

// maxChain bounds the data a command chain may accumulate (the largest PIV
// object a client puts is a certificate of a few KiB).
const maxChain = 16 * 1024

type application int

const (
	appNone application = iota
	appPIV
	appMgmt
)

// opKind tells the server what an APDU was, for its counters and latencies.
type opKind int

const (
	opOther  opKind = iota
	opSign          // a private-key operation (PIV GENERAL AUTHENTICATE with a slot key, IDPrime PSO CDS)
	opVerify        // a VERIFY that carried a PIN
)

// Card is a virtual card of one Kind (a PIV card application or an
// IDPrime 940) with its state directory. Transmit is safe for concurrent
// use; a card processes one APDU at a time, like a real one.
type Card struct {
	mu   sync.Mutex
	dir  string
	st   *state
	rand io.Reader

	// idp is the IDPrime applet of a KindIDPrime card; nil on PIV cards.
	idp *idpApplet

	// Volatile state, cleared on power-off, reset and selecting another
	// application.
	app         application
	pinVerified bool // PIN verified in this session (PIN policy "once")
	pinFresh    bool // PIN verified and not yet consumed (PIN policy "always")
	mgmtAuthed  bool
	witness     []byte // pending management-key witness (mutual auth)
	challenge   []byte // pending management-key challenge (external auth)
	chainIns    [3]byte
	chainData   []byte
	chaining    bool
	pending     []byte // response bytes left for GET RESPONSE

	keys map[string]any // parsed private keys by slot, cache of st.Keys

	signatures atomic.Int64
	verifies   atomic.Int64
	// failSave makes every state write fail, for tests of the write path.
	failSave func() error
	// repanic turns off the panic guard in Transmit, so fuzzing sees bugs.
	repanic bool
}

// Load opens the card whose state lives in dir.
func Load(dir string) (*Card, error) {
	st, err := loadState(dir)
	if err != nil {
		return nil, err
	}
	c := &Card{dir: dir, st: st, rand: rand.Reader, keys: map[string]any{}}
	if st.Kind == KindIDPrime {
		if c.idp, err = newIDPApplet(st); err != nil {
			return nil, fmt.Errorf("vcard: %w", err)
		}
	}
	for slot, k := range st.Keys {
		if _, err := parseKey(k); err != nil {
			return nil, fmt.Errorf("vcard: key in slot %s: %w", slot, err)
		}
	}
	c.powerOn()
	return c, nil
}

// Dir is the card's state directory.
func (c *Card) Dir() string { return c.dir }

// Serial is the card's serial number (GET SERIAL).
func (c *Card) Serial() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.Serial
}

// PINRetries returns the PIN's and the PUK's tries left (on an IDPrime
// card: the identification PIN 11 and the PUK).
func (c *Card) PINRetries() (pin, puk int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st.PIN.Tries, c.st.PUK.Tries
}

// Signatures is the number of private-key operations since Load.
func (c *Card) Signatures() int64 { return c.signatures.Load() }

// PowerOff cuts the card's power: all security status is lost.
func (c *Card) PowerOff() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearSession()
	c.app = appNone
}

// Reset is a warm reset: like a power cycle, the card's application is the
// default selection again and all security status is lost.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.powerOn()
}

// ATR is the card's answer to reset.
func (c *Card) ATR() []byte {
	if c.idp != nil {
		return append([]byte(nil), idprimeATR...)
	}
	return append([]byte(nil), atr...)
}

// atr: direct convention, T=1 (TD1=80 → TD2=01), historical bytes in
// compact-TLV (ISO/IEC 7816-4 §8.1.1): card capabilities 73 C0 21 C0 (extended
// Lc/Le, command chaining) and issuer data "SITHSvc".
var atr = func() []byte {
	hist := []byte{0x80, 0x73, 0xC0, 0x21, 0xC0, 0x57, 'S', 'I', 'T', 'H', 'S', 'v', 'c'}
	b := []byte{0x3B, 0x80 | byte(len(hist)), 0x80, 0x01}
	b = append(b, hist...)
	var tck byte
	for _, x := range b[1:] {
		tck ^= x
	}
	return append(b, tck)
}()

func (c *Card) powerOn() {
	c.clearSession()
	// The PIV application is the card's default application, selected at
	// power-on, as on many PIV cards; clients select it anyway.
	c.app = appPIV
}

func (c *Card) clearSession() {
	if c.idp != nil {
		c.idp.clearSession()
	}
	c.pinVerified, c.pinFresh, c.mgmtAuthed = false, false, false
	c.witness, c.challenge = nil, nil
	clear(c.chainData)
	c.chaining, c.chainData = false, nil
	c.pending = nil
}

func (c *Card) save() error {
	if c.failSave != nil {
		if err := c.failSave(); err != nil {
			return err
		}
	}
	return saveState(c.dir, c.st)
}

// Transmit processes one C-APDU and returns the R-APDU (data and SW1 SW2).
// It never panics, whatever the input.
func (c *Card) Transmit(capdu []byte) []byte {
	r, _ := c.transmit(capdu)
	return r
}

func (c *Card) transmit(capdu []byte) (resp []byte, kind opKind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() {
		if p := recover(); p != nil { // a bug must not take the reader down
			if c.repanic {
				panic(p)
			}
			c.clearSession()
			resp, kind = sw(swNoPreciseDiagnosis), opOther
		}
	}()
	if c.idp != nil {
		return c.idpTransmit(capdu)
	}
	cmd, ok := parseAPDU(capdu)
	if !ok {
		c.chaining, c.chainData, c.pending = false, nil, nil
		return sw(swWrongLength), opOther
	}
	// CLA: only 00 and 10 (chaining); no secure messaging, no logical
	// channels (SP 800-73-4 Part 2 §3).
	if cmd.cla&^0x10 != 0 {
		return sw(swCLANotSupported), opOther
	}
	if cmd.ins == 0xC0 && !cmd.chained() { // GET RESPONSE
		if cmd.p1 != 0 || cmd.p2 != 0 {
			c.pending = nil
			return sw(swIncorrectP1P2), opOther
		}
		if c.pending == nil {
			return sw(swConditionsNotMet), opOther
		}
		data := c.pending
		c.pending = nil
		return c.respond(data, cmd.ne, swOK), opOther
	}
	c.pending = nil

	// Command chaining (ISO/IEC 7816-4 §5.3.3).
	head := [3]byte{cmd.ins, cmd.p1, cmd.p2}
	if c.chaining && head != c.chainIns && cmd.ins != 0xA4 {
		clear(c.chainData)
		c.chaining, c.chainData = false, nil
		return sw(swLastCmdExpected), opOther
	}
	if cmd.chained() {
		if !c.chaining {
			c.chaining, c.chainIns, c.chainData = true, head, nil
		}
		if len(c.chainData)+len(cmd.data) > maxChain {
			c.chaining, c.chainData = false, nil
			return sw(swWrongLength), opOther
		}
		c.chainData = append(c.chainData, cmd.data...)
		return sw(swOK), opOther
	}
	if c.chaining {
		if head == c.chainIns {
			cmd.data = append(c.chainData, cmd.data...)
			defer clear(cmd.data) // a chained command may carry secrets
		}
		c.chaining, c.chainData = false, nil
	}

	if cmd.ins == 0xA4 {
		data, code := c.selectApp(cmd)
		return c.respond(data, cmd.ne, code), opOther
	}
	if c.app != appPIV {
		return sw(swINSNotSupported), opOther
	}
	var data []byte
	code := swOK
	switch cmd.ins {
	case 0xCB:
		data, code = c.getData(cmd)
	case 0xDB:
		code = c.putData(cmd)
	case 0x20:
		code = c.verify(cmd)
		if len(cmd.data) > 0 {
			kind = opVerify
			c.verifies.Add(1)
		}
	case 0x24:
		code = c.changeReference(cmd)
	case 0x2C:
		code = c.resetRetryCounter(cmd)
	case 0x87:
		var signed bool
		data, code, signed = c.generalAuthenticate(cmd)
		if signed {
			kind = opSign
			c.signatures.Add(1)
		}
	case 0x47:
		data, code = c.generateKey(cmd)
	case 0xFD: // GET VERSION (Yubico extension)
		if cmd.p1 != 0 || cmd.p2 != 0 {
			code = swIncorrectP1P2
		} else {
			data = c.st.Version[:]
		}
	case 0xF8: // GET SERIAL (Yubico extension)
		if cmd.p1 != 0 || cmd.p2 != 0 {
			code = swIncorrectP1P2
		} else {
			data = []byte{byte(c.st.Serial >> 24), byte(c.st.Serial >> 16), byte(c.st.Serial >> 8), byte(c.st.Serial)}
		}
	case 0xF7:
		data, code = c.metadata(cmd)
	case 0xFF:
		code = c.setManagementKey(cmd)
	case 0xFE:
		code = c.importKey(cmd)
	case 0xFB:
		code = c.factoryReset(cmd)
	case 0xFA:
		code = c.setRetries(cmd)
	default:
		code = swINSNotSupported
	}
	if code != swOK {
		data = nil
	}
	return c.respond(data, cmd.ne, code), kind
}

// respond returns up to ne bytes of data with code, keeping the rest for
// GET RESPONSE and answering 61xx (ISO/IEC 7816-4 §5.1.3).
func (c *Card) respond(data []byte, ne, code int) []byte {
	if code != swOK || len(data) <= ne {
		return withSW(data, code)
	}
	rest := data[ne:]
	c.pending = append([]byte(nil), rest...)
	n := len(rest)
	if n > 255 {
		n = 0 // 00: 256 or more bytes remain
	}
	return withSW(data[:ne], swBytesRemaining|n)
}

// selectApp is SELECT (SP 800-73-4 Part 2 §3.1.1): by AID, answering the
// application property template.
func (c *Card) selectApp(cmd command) ([]byte, int) {
	if cmd.p1 != 0x04 || (cmd.p2 != 0x00 && cmd.p2 != 0x0C) {
		return nil, swIncorrectP1P2
	}
	switch {
	case len(cmd.data) >= 5 && len(cmd.data) <= len(pivAID) && bytes.HasPrefix(pivAID, cmd.data):
		if c.app != appPIV {
			c.clearSession()
		}
		c.app = appPIV
		if cmd.p2 == 0x0C {
			return nil, swOK
		}
		return pivAPT(), swOK
	case bytes.Equal(cmd.data, yubiMgmtAID):
		c.clearSession()
		c.app = appMgmt
		return nil, swOK
	}
	// An unsuccessful SELECT leaves the current selection as it was.
	return nil, swFileNotFound
}

// pivAPT is the application property template (SP 800-73-4 Part 2 Table 3).
func pivAPT() []byte {
	var algs []byte
	for _, a := range []byte{alg3DES, algAES128, algAES192, algAES256, algRSA2048, algECCP256} {
		algs = append(algs, tlv(0x80, []byte{a})...)
	}
	algs = append(algs, tlv(0x06, []byte{0x00})...)
	body := tlv(0x4F, pivAID[5:])
	body = append(body, tlv(0x79, tlv(0x4F, pivAID[:5]))...)
	body = append(body, tlv(0x50, []byte("SITHS eID virtual PIV card"))...)
	body = append(body, tlv(0x5F50, []byte("https://github.com/sithseid/sithseid"))...)
	body = append(body, tlv(0xAC, algs)...)
	return tlv(0x61, body)
}
