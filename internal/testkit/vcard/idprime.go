package vcard

// The IDPrime 940 card kind: its state, its file system and its constants.
// The facts are from FIELD-NOTES.md "IDPrime 940" and OpenSC's idprime
// driver (src/libopensc/card-idprime.c, pkcs15-idprime.c); the wire
// contract shared with cardreader/idprime is /work/notes/idprime-contract.md.
// Values no public source gives are marked "not public: chosen".

import (
	"bytes"
	"compress/zlib"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf16"
)

// idprimeATR satisfies every OpenSC idprime ATR table from 0.23 (which
// wildcards bytes 10–13 and types the card by its CPLC) to 0.27 (which
// names the 940 by "85 59 56 FB"): direct convention, TA1 96, T=0, 15
// historical bytes. No public source gives a SITHS card's own ATR.
var idprimeATR = []byte{0x3B, 0x7F, 0x96, 0x00, 0x00, 0x80, 0x31, 0x80, 0x65, 0xB0, 0x85, 0x59, 0x56, 0xFB, 0x12, 0x0F, 0xFE, 0x82, 0x90, 0x00}

// idprimeAID is the IDPrime applet (OpenSC card-idprime.c idprime_path).
var idprimeAID = []byte{0xA0, 0x00, 0x00, 0x00, 0x18, 0x80, 0x00, 0x00, 0x00, 0x06, 0x62}

// idprimeAppletVersion is answered to GET DATA DF30 (OpenSC 0.25+ reads it;
// "4.3.5.D" is the form FIELD-NOTES quotes). Not public for SITHS: chosen.
const idprimeAppletVersion = "4.3.5.D"

// idprimeOSRelease is CPLC byte 11 (the OS release level's first byte):
// OpenSC 0.23 types the applet V1..V4 by it; real 940s are V4.
const idprimeOSRelease = 0x04

// idprimeTokenLabel is the p11/tinfo token label. Not public: chosen.
const idprimeTokenLabel = "SITHS eID"

// PIN references (FIELD-NOTES: user PIN 11, the 940's signature PIN 83).
// refIDPPUK is where an empty VERIFY reads the PUK's tries: not public,
// chosen (see the contract).
const (
	refIDPPIN     = 0x11
	refIDPSignPIN = 0x83
	refIDPPUK     = 0x12
)

// idpKeyRefBase: container n's key is 0x56+n, what OpenSC 0.23 computes for
// a V4 applet from the certificate file's digits; the 0005 file says the
// same for 0.24+.
const idpKeyRefBase = 0x56

// DefaultSignPIN is the signature PIN (reference 83) of an IDPrime card
// provisioned with a signing key. A test value, printed by init.
const DefaultSignPIN = "135791"

// File identifiers (FIELD-NOTES "0101 index", the real layout).
const (
	fidIndex    = 0x0101
	fidCardID   = 0x0201
	fidCardCF   = 0x0202
	fidCardApps = 0x0203
	fidCMap     = 0x0204
	fidTInfo    = 0x0205
	fidFirstKey = 0x0206 // certificates from here on
	fidKeyRefs  = 0x0005
)

// Lengths of the minidriver records OpenSC reads.
const (
	cmapRecordLen   = 86 // CONTAINER_MAP_RECORD: GUID (40 UTF-16 chars), flags, reserved, 2 key sizes
	keyRefRecordLen = 8
	indexRecordLen  = 21
)

// idpState is an IDPrime card's content beyond its PINs.
type idpState struct {
	// CardID is the 16-byte cardid file (0201): an 8-byte per-card value
	// twice. OpenSC's PKCS#11 serial is its last 16 hex digits.
	CardID []byte    `json:"card_id"`
	Label  string    `json:"label"` // p11/tinfo
	Keys   []*idpKey `json:"keys"`
}

// idpKey is a key container with its certificate.
type idpKey struct {
	Container int    `json:"container"` // 0–9: record n of cmapfile, certificate kxc0n / ksc0n
	Signing   bool   `json:"signing"`   // a signature certificate (ksc) rather than key exchange (kxc)
	PINRef    byte   `json:"pin_ref"`   // 11 or 83
	PKCS8     []byte `json:"pkcs8"`
	Cert      []byte `json:"cert"` // DER
}

func (k *idpKey) keyRef() byte { return idpKeyRefBase + byte(k.Container) }

// fileName is the minidriver name in mscp: kxcNN or kscNN.
func (k *idpKey) fileName() string {
	t := 'x'
	if k.Signing {
		t = 's'
	}
	return fmt.Sprintf("k%cc%02d", t, k.Container)
}

func (st *state) checkIDPrime() error {
	d := st.IDPrime
	if d == nil {
		return errors.New("IDPrime card without its data")
	}
	if len(d.CardID) != 16 {
		return errors.New("IDPrime cardid is not 16 bytes")
	}
	if len(d.Label) > 200 {
		return errors.New("IDPrime token label too long")
	}
	seen := map[int]bool{}
	for _, k := range d.Keys {
		if k == nil || k.Container < 0 || k.Container > 9 || seen[k.Container] {
			return errors.New("IDPrime key containers invalid")
		}
		seen[k.Container] = true
		switch k.PINRef {
		case refIDPPIN:
		case refIDPSignPIN:
			if st.SignPIN == nil {
				return errors.New("IDPrime key under a signature PIN the card lacks")
			}
		default:
			return fmt.Errorf("IDPrime key under PIN %02x", k.PINRef)
		}
		if _, err := parseIDPKey(k); err != nil {
			return fmt.Errorf("IDPrime container %d: %w", k.Container, err)
		}
		if _, err := x509.ParseCertificate(k.Cert); err != nil {
			return fmt.Errorf("IDPrime container %d certificate: %w", k.Container, err)
		}
	}
	return nil
}

func parseIDPKey(k *idpKey) (*rsa.PrivateKey, error) {
	key, err := x509.ParsePKCS8PrivateKey(k.PKCS8)
	if err != nil {
		return nil, err
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() != 2048 {
		return nil, errors.New("not an RSA-2048 key")
	}
	return rk, nil
}

// padIDP pads a PIN or PUK to the 16 bytes the IDPrime takes: ASCII digits
// then 00 (OpenSC pkcs15-idprime.c: pad_char 00, stored_length 16).
func padIDP(s string) []byte {
	b := make([]byte, 16)
	copy(b, s)
	return b
}

// validIDPDigits: min–max ASCII digits, then 00 to 16 bytes.
func validIDPDigits(b []byte, min, max int) bool {
	if len(b) != 16 {
		return false
	}
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n < min || n > max {
		return false
	}
	for _, x := range b[n:] {
		if x != 0 {
			return false
		}
	}
	return true
}

// IDPrime PINs are 6–8 digits, the PUK 8 (SITHS practice, the contract).
func validIDPPIN(b []byte) bool { return validIDPDigits(b, 6, 8) }
func validIDPPUK(b []byte) bool { return validIDPDigits(b, 8, 8) }

// idpFile is one entry of the 0101 index.
type idpFile struct {
	fid       uint16
	name, dir string
	flag      byte // 01; 03 for cardid (as on real cards)
	data      []byte
}

// buildIDPFiles lays out an IDPrime card's files (contract "Files").
func buildIDPFiles(st *state) (map[uint16][]byte, error) {
	d := st.IDPrime
	guid := func(n int) string { return fmt.Sprintf("sithseid-%s-%02d", hex.EncodeToString(d.CardID[:8]), n) }

	maxC := -1
	for _, k := range d.Keys {
		maxC = max(maxC, k.Container)
	}
	cmap := make([]byte, 0, (maxC+1)*cmapRecordLen)
	keyRefs := make([]byte, 0, len(d.Keys)*keyRefRecordLen)
	for n := 0; n <= maxC; n++ {
		rec := make([]byte, cmapRecordLen)
		for _, k := range d.Keys {
			if k.Container != n {
				continue
			}
			for i, u := range utf16.Encode([]rune(guid(n))) {
				binary.LittleEndian.PutUint16(rec[2*i:], u)
			}
			rec[80] = 0x01 // CONTAINER_MAP_VALID_CONTAINER
			if n == 0 {
				rec[80] |= 0x02 // CONTAINER_MAP_DEFAULT_CONTAINER
			}
			if k.Signing {
				binary.LittleEndian.PutUint16(rec[82:], 2048) // wSigKeySizeBits
			} else {
				binary.LittleEndian.PutUint16(rec[84:], 2048) // wKeyExchangeKeySizeBits
			}
			pinIndex := byte(1)
			if k.PINRef == refIDPSignPIN {
				pinIndex = 2
			}
			// [0] != 0 marks the record valid; OpenSC 0.24.0 reads the PIN
			// index there, later readings at [7]: both say the same.
			kr := make([]byte, keyRefRecordLen)
			kr[0], kr[1], kr[2], kr[7] = pinIndex, k.keyRef(), byte(k.Container), pinIndex
			keyRefs = append(keyRefs, kr...)
		}
		cmap = append(cmap, rec...)
	}
	if len(keyRefs) == 0 {
		keyRefs = make([]byte, keyRefRecordLen) // one empty record: a file of size 0 is refused
	}
	if len(cmap) == 0 {
		cmap = make([]byte, cmapRecordLen)
	}
	label := d.Label
	tinfo := append([]byte{0x01, byte(len(label) + 1)}, label...)
	tinfo = append(tinfo, 0)

	files := []idpFile{
		{fidCardID, "cardid", "", 0x03, append([]byte(nil), d.CardID...)},
		// cardcf: version, PIN freshness, containers and files freshness
		// (minidriver CARD_CACHE_FILE_FORMAT); all zero on a new card.
		{fidCardCF, "cardcf", "", 0x01, make([]byte, 6)},
		{fidCardApps, "cardapps", "", 0x01, []byte("mscp\x00\x00\x00\x00")},
		{fidCMap, "cmapfile", "mscp", 0x01, cmap},
		{fidTInfo, "tinfo", "p11", 0x01, tinfo},
	}
	for i, k := range d.Keys {
		z, err := compressCert(k.Cert)
		if err != nil {
			return nil, err
		}
		files = append(files, idpFile{uint16(fidFirstKey + i), k.fileName(), "mscp", 0x01, z})
	}
	index := []byte{byte(len(files))}
	out := map[uint16][]byte{fidKeyRefs: keyRefs}
	for _, f := range files {
		rec := make([]byte, indexRecordLen)
		binary.BigEndian.PutUint16(rec[0:], f.fid)
		binary.BigEndian.PutUint16(rec[2:], uint16(len(f.data)))
		copy(rec[4:12], f.name)
		copy(rec[12:20], f.dir)
		rec[20] = f.flag
		index = append(index, rec...)
		out[f.fid] = f.data
	}
	out[fidIndex] = index
	return out, nil
}

// compressCert is the IDPrime certificate form 01 00 <DER length LE16>
// <zlib>: the only one OpenSC 0.23 reads (raw DER support came with 0.25,
// OpenSC PR #2958).
func compressCert(der []byte) ([]byte, error) {
	if len(der) > 0xFFFF {
		return nil, errors.New("vcard: certificate too large")
	}
	var b bytes.Buffer
	b.Write([]byte{0x01, 0x00, byte(len(der)), byte(len(der) >> 8)})
	w, err := zlib.NewWriterLevel(&b, zlib.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(der); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// idprimeCPLC is the answer to GET DATA 9F7F: 9F 7F 2A and the 42 bytes of
// card production life cycle data (GlobalPlatform). OpenSC reads only byte
// 11 of the answer (the OS release level); the rest is chosen, with the IC
// serial number and IC batch identifier (the chip's identity, which the
// sithseid backend takes as the card ID) taken from the cardid, so each
// card has its own, derived from its card number as the cardid is.
func idprimeCPLC(cardID []byte) []byte {
	d := make([]byte, 42)
	copy(d[0:], []byte{0x40, 0x90})             // IC fabricator (not public: chosen)
	copy(d[2:], []byte{0x7C, 0x93})             // IC type (chosen)
	copy(d[4:], []byte{0x12, 0x91})             // OS identifier (chosen)
	copy(d[6:], []byte{0x30, 0x45})             // OS release date (chosen)
	copy(d[8:], []byte{idprimeOSRelease, 0x00}) // OS release level: applet V4
	copy(d[12:16], cardID[:4])                  // IC serial number
	copy(d[16:18], cardID[4:6])                 // IC batch identifier
	return append([]byte{0x9F, 0x7F, 0x2A}, d...)
}
