//go:build amd64 && !purego

package jose

import (
	"crypto/rsa"
	"encoding/binary"
	"math/big"
	"math/bits"
)

// rsaFastPath reports whether this build has rsaFast: amd64, not purego.
const rsaFastPath = true

// rsaFast is a 2048-bit key prepared for the 18-multiplication chain (see
// RSAVerifier): n as little-endian 64-bit limbs, its Montgomery constant,
// and c = R^e mod n with R = 2^2048.
type rsaFast struct {
	n, c  [montLimbs]uint
	m0inv uint
	e     uint
}

// newRSAFast prepares k, a key NewRSAVerifier accepts, or returns nil when
// its modulus is not 2048 bits long (2041 to 2048 significant bits: 32
// limbs, bigmod's 2048 / _W case).
func newRSAFast(k *rsa.PublicKey) *rsaFast {
	if k.Size() != montLimbs*8 {
		return nil
	}
	f := &rsaFast{e: uint(k.E)}
	var buf [montLimbs * 8]byte
	limbsFromBytes(&f.n, k.N.FillBytes(buf[:]))
	f.m0inv = minusInverseModW(f.n[0])
	// c = R^e mod n, by square-and-multiply in the Montgomery domain
	// (where x is x·R): w = R^j·R for the exponent prefix j, starting at
	// R² mod n for j = 1, then out of the domain with a multiplication by
	// 1. About as long as one verification, and half of big.Int.Exp's time.
	rr := new(big.Int).Lsh(big.NewInt(1), 2*montLimbs*64)
	var w, rrLimbs [montLimbs]uint
	limbsFromBytes(&rrLimbs, rr.Mod(rr, k.N).FillBytes(buf[:]))
	w = rrLimbs
	for i := bits.Len(f.e) - 2; i >= 0; i-- {
		montMul2048(&w, &w, &w, &f.n, f.m0inv)
		if f.e>>i&1 != 0 {
			montMul2048(&w, &w, &rrLimbs, &f.n, f.m0inv)
		}
	}
	one := [montLimbs]uint{1}
	montMul2048(&f.c, &w, &one, &f.n, f.m0inv)
	return f
}

// limbsFromBytes sets x to the big-endian number b, len(b) = 256.
func limbsFromBytes(x *[montLimbs]uint, b []byte) {
	b = b[:montLimbs*8]
	for i := range x {
		x[i] = uint(binary.BigEndian.Uint64(b[len(b)-8*(i+1):]))
	}
}

// exp sets v = s^e mod n; s must be below n. With mont(a, b) = a·b/R mod
// n, square-and-multiply on s itself (not s·R) keeps V = s^j · R^-(j-1)
// for the exponent prefix j read so far: a square gives s^2j · R^-(2j-1),
// a multiplication by s gives s^(j+1) · R^-j. After all of e, one
// multiplication by c = R^e turns s^e · R^-(e-1) into s^e. That is
// bitlen(e)-1 squares, popcount(e)-1 multiplications and 1: 18 for 65537,
// where bigmod's ExpShortVarTime needs 19 (into and out of the Montgomery
// domain, 2, instead of 1).
func (f *rsaFast) exp(v, s *[montLimbs]uint) {
	*v = *s
	for i := bits.Len(f.e) - 2; i >= 0; i-- {
		montMul2048(v, v, v, &f.n, f.m0inv)
		if f.e>>i&1 != 0 {
			montMul2048(v, v, s, &f.n, f.m0inv)
		}
	}
	montMul2048(v, v, &f.c, &f.n, f.m0inv)
}

// verify reports whether sig^e mod n is the encoding pad || digest; sig is
// 256 bytes long (Verify checked it), and is refused when not below n.
func (f *rsaFast) verify(pad, digest, sig []byte) bool {
	if len(sig) != montLimbs*8 || len(pad)+len(digest) != montLimbs*8 {
		return false
	}
	var s, v [montLimbs]uint
	limbsFromBytes(&s, sig)
	// RSAVP1 step 1: the signature representative is below n.
	if !lessThan(&s, &f.n) {
		return false
	}
	f.exp(&v, &s)
	var em [montLimbs * 8]byte
	for i, w := range v {
		binary.BigEndian.PutUint64(em[len(em)-8*(i+1):], uint64(w))
	}
	// Compare the whole of EM', in constant time: every byte of the
	// padding and DigestInfo, then of the digest.
	var d byte
	for i, b := range pad {
		d |= em[i] ^ b
	}
	for i, b := range digest {
		d |= em[len(pad)+i] ^ b
	}
	return d == 0
}

// lessThan reports whether x < y.
func lessThan(x, y *[montLimbs]uint) bool {
	var borrow uint
	for i := range x {
		_, borrow = bits.Sub(x[i], y[i], borrow)
	}
	return borrow == 1
}
