package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"sync"
)

// stream is a deterministic byte stream: HMAC-SHA256 in counter mode, keyed by
// the seed and bound to a purpose string. Block i is
//
//	HMAC-SHA256(SHA-256("sithseid-testpki/v1\x00" || seed), purpose || 0x00 || uint32be(i))
//
// It is not a DRBG anyone should use for real keys; it exists because Go 1.26's
// rsa.GenerateKey and ecdsa.GenerateKey ignore their io.Reader and always use
// crypto/rand, which would make test certificates different on every run.
type stream struct {
	mac     []byte // HMAC key
	purpose string
	counter uint32
	buf     []byte
}

func newStream(seed, purpose string) *stream {
	k := sha256.Sum256([]byte("sithseid-testpki/v1\x00" + seed))
	return &stream{mac: k[:], purpose: purpose}
}

func (s *stream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.buf) == 0 {
			h := hmac.New(sha256.New, s.mac)
			h.Write([]byte(s.purpose))
			var c [5]byte
			binary.BigEndian.PutUint32(c[1:], s.counter)
			h.Write(c[:])
			s.counter++
			s.buf = h.Sum(nil)
		}
		k := copy(p[n:], s.buf)
		s.buf = s.buf[k:]
		n += k
	}
	return n, nil
}

// deriveBytes returns n bytes of the (seed, purpose) stream.
func deriveBytes(seed, purpose string, n int) []byte {
	b := make([]byte, n)
	_, _ = io.ReadFull(newStream(seed, purpose), b)
	return b
}

// deriveSerial returns a positive 127-bit certificate serial number (16
// octets in DER; RFC 5280 §4.1.2.2 allows up to 20), unique per (seed, purpose).
func deriveSerial(seed, purpose string) *big.Int {
	b := deriveBytes(seed, "serial/"+purpose, 16)
	b[0] &= 0x7f
	b[0] |= 0x40 // never zero, always 16 octets: serials sort and print alike
	return new(big.Int).SetBytes(b)
}

// keyCache holds derived keys process-wide, keyed by seed and purpose. An
// RSA-2048 key takes tens of milliseconds to find; the same test binary asks
// for the same CA keys over and over. Keys are immutable once built.
var keyCache sync.Map // string -> crypto.Signer (*rsa.PrivateKey | *ecdsa.PrivateKey)

func cacheKey(seed, purpose string, kt KeyType) string {
	return fmt.Sprintf("%q/%q/%s", seed, purpose, kt)
}

// deriveKey returns the key of type kt for (seed, purpose), from the cache
// when it was derived before.
func deriveKey(seed, purpose string, kt KeyType) (crypto.Signer, error) {
	ck := cacheKey(seed, purpose, kt)
	if k, ok := keyCache.Load(ck); ok {
		return k.(crypto.Signer), nil
	}
	var (
		k   crypto.Signer
		err error
	)
	r := newStream(seed, "key/"+string(kt)+"/"+purpose)
	switch kt {
	case RSA2048:
		k, err = deriveRSA(r, 2048)
	case P256:
		k, err = deriveP256(r)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownKeyType, kt)
	}
	if err != nil {
		return nil, err
	}
	actual, _ := keyCache.LoadOrStore(ck, k)
	return actual.(crypto.Signer), nil
}

// deriveP256 reads 48 bytes (so the reduction bias is 2^-128) and maps them
// to a scalar in [1, n-1]: SEC 1 v2 §3.2.1 / FIPS 186-5 A.2.1 "extra random
// bits" method.
func deriveP256(r io.Reader) (*ecdsa.PrivateKey, error) {
	curve := elliptic.P256()
	n := curve.Params().N
	b := make([]byte, 48)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	nMinus1 := new(big.Int).Sub(n, big.NewInt(1))
	d := new(big.Int).SetBytes(b)
	d.Mod(d, nMinus1)
	d.Add(d, big.NewInt(1))
	raw := make([]byte, 32)
	d.FillBytes(raw)
	return ecdsa.ParseRawPrivateKey(curve, raw)
}

// smallPrimes are the odd primes below 2^14, used to sieve prime candidates
// before the costly Miller-Rabin rounds.
var smallPrimes = func() []uint64 {
	const limit = 1 << 14
	composite := make([]bool, limit)
	var ps []uint64
	for i := 3; i < limit; i += 2 {
		if composite[i] {
			continue
		}
		ps = append(ps, uint64(i))
		for j := i * i; j < limit; j += 2 * i {
			composite[j] = true
		}
	}
	return ps
}()

// derivePrime finds the first prime p >= a random odd start with the top two
// bits set (so a product of two such primes has exactly 2*bits bits), with
// gcd(p-1, e) = 1. The search is incremental, so it is deterministic in r.
func derivePrime(r io.Reader, bits int, e int64) (*big.Int, error) {
	buf := make([]byte, bits/8)
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		buf[0] |= 0xc0
		buf[len(buf)-1] |= 1
		start := new(big.Int).SetBytes(buf)
		// Residues of start modulo each small prime, stepped by 2 per candidate.
		res := make([]uint64, len(smallPrimes))
		m := new(big.Int)
		for i, sp := range smallPrimes {
			res[i] = m.Mod(start, new(big.Int).SetUint64(sp)).Uint64()
		}
		bigE := big.NewInt(e)
		for delta := uint64(0); delta < 1<<20; delta += 2 {
			divisible := false
			for i, sp := range smallPrimes {
				if (res[i]+delta)%sp == 0 {
					divisible = true
					break
				}
			}
			if divisible {
				continue
			}
			p := new(big.Int).Add(start, new(big.Int).SetUint64(delta))
			if p.BitLen() != bits {
				break // ran off the top; draw a new start
			}
			if !p.ProbablyPrime(20) {
				continue
			}
			pm1 := new(big.Int).Sub(p, big.NewInt(1))
			if new(big.Int).GCD(nil, nil, pm1, bigE).Cmp(big.NewInt(1)) != 0 {
				continue
			}
			return p, nil
		}
	}
}

// deriveRSA builds an RSA key with e = 65537 from two derived primes
// (FIPS 186-5 A.1.3 in spirit: random probable primes; d = e^-1 mod lcm(p-1, q-1)).
func deriveRSA(r io.Reader, bits int) (*rsa.PrivateKey, error) {
	const e = 65537
	for {
		p, err := derivePrime(r, bits/2, e)
		if err != nil {
			return nil, err
		}
		q, err := derivePrime(r, bits/2, e)
		if err != nil {
			return nil, err
		}
		if p.Cmp(q) == 0 {
			continue
		}
		if p.Cmp(q) < 0 {
			p, q = q, p
		}
		one := big.NewInt(1)
		pm1 := new(big.Int).Sub(p, one)
		qm1 := new(big.Int).Sub(q, one)
		g := new(big.Int).GCD(nil, nil, pm1, qm1)
		lambda := new(big.Int).Mul(pm1, qm1)
		lambda.Div(lambda, g)
		d := new(big.Int).ModInverse(big.NewInt(e), lambda)
		if d == nil {
			continue
		}
		k := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: e},
			D:         d,
			Primes:    []*big.Int{p, q},
		}
		if k.N.BitLen() != bits {
			continue
		}
		k.Precompute()
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("derived RSA key invalid: %w", err)
		}
		return k, nil
	}
}
