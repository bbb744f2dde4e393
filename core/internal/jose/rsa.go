package jose

import (
	"crypto"
	"crypto/fips140"
	"crypto/rsa"
	"sync"

	"filippo.io/bigmod"
)

// RSAVerifier verifies RSASSA-PKCS1-v1_5 signatures (RS256, RS384, RS512)
// with a modulus prepared once per key. crypto/rsa prepares the modulus
// (the Montgomery constants, R² mod n) again on every call, which is about
// a quarter of a token's first validation.
//
// It computes EM' = s^e mod n and compares it, in constant time and in
// full, with the one encoding a valid signature can have:
//
//	0x00 0x01 FF…FF 0x00 DigestInfo(hash) digest
//
// The decrypted block is never parsed, so there is no ASN.1, padding or
// length field to get wrong (the Bleichenbacher-2006 family of forgeries).
// This is what crypto/rsa itself does (RFC 8017 §8.2.2, "compare"), with
// the same checks first: the signature is exactly as long as the modulus
// and, as a number, below it. Its verdicts equal rsa.VerifyPKCS1v15's for
// every input; rsa_test.go proves it on Wycheproof's vectors and the real
// Entra tokens, and FuzzRSAPKCS1v15 checks it differentially.
//
// s^e mod n itself takes 18 Montgomery multiplications instead of 19 for
// a 2048-bit key with e = 65537 (all of Entra's keys) on amd64: the RSA
// exponentiation is most of a validation, and bigmod's ExpShortVarTime
// spends two of its 19 converting s into the Montgomery domain and the
// result out of it. rsaFast (rsa_fast_amd64.go) stays out of the domain:
// with mont(a, b) = a·b/R mod n, square-and-multiply on s itself ends at
// s^e·R^-(e-1), and one multiplication by R^e mod n, computed once per
// key, gives s^e mod n: bitlen(e)-1 squares, popcount(e)-1
// multiplications and that one. The Montgomery multiplication is
// bigmod's own, copied from filippo.io/bigmod v0.1.0 (2048-bit loop and
// its amd64 assembly, bigmod_amd64.go and .s, under Go's BSD license),
// since bigmod does not export it. Other sizes, other architectures and
// purego builds use ExpShortVarTime; the checks and the comparison are
// the same on both paths, and rsa_fast_amd64_test.go compares the fast
// one with math/big, with ExpShortVarTime and with crypto/rsa, on both of
// the assembly's paths (ADX/BMI2 and plain).
type RSAVerifier struct {
	n    *bigmod.Modulus
	e    uint
	size int // modulus length in bytes, = rsa.PublicKey.Size()
	// fast is the 18-multiplication path for the key, or nil (a modulus
	// not of 2048 bits, or a build not for amd64 or with purego).
	fast *rsaFast
	// pad256, pad384 and pad512 are EM without the digest, for each hash.
	pad256, pad384, pad512 []byte
}

// DigestInfo prefixes of RFC 8017 §9.2, note 1 (as in crypto/rsa).
var (
	digestInfoSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	digestInfoSHA384 = []byte{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}
	digestInfoSHA512 = []byte{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}
)

// NewRSAVerifier prepares k, or returns nil when k must be left to
// crypto/rsa: in FIPS 140 mode (verification stays inside the validated
// module), and for every key crypto/rsa refuses or treats specially (an
// even or short modulus, an exponent below 3, even or above 2³¹-1), so that
// crypto/rsa gives its own verdict on those. The key set
// reader refuses most of them already.
func NewRSAVerifier(k *rsa.PublicKey) *RSAVerifier {
	if fips140.Enabled() || k == nil || k.N == nil || k.N.Sign() <= 0 || k.N.Bit(0) == 0 ||
		k.N.BitLen() < 1024 || k.E < 3 || k.E&1 == 0 || k.E > 1<<31-1 {
		return nil
	}
	m, err := bigmod.NewModulus(k.N.Bytes())
	if err != nil || m.Size() != k.Size() {
		return nil
	}
	v := &RSAVerifier{n: m, e: uint(k.E), size: m.Size()}
	v.pad256 = pkcs1Pad(v.size, digestInfoSHA256, 32)
	v.pad384 = pkcs1Pad(v.size, digestInfoSHA384, 48)
	v.pad512 = pkcs1Pad(v.size, digestInfoSHA512, 64)
	v.fast = newRSAFast(k)
	return v
}

// pkcs1Pad returns 0x00 0x01 FF…FF 0x00 prefix: the first size-hashLen
// bytes of EM (RFC 8017 §9.2), or nil when the modulus is too short for
// the hash (crypto/rsa's ErrMessageTooLong, a failed verification).
func pkcs1Pad(size int, prefix []byte, hashLen int) []byte {
	if size < len(prefix)+hashLen+2+8+1 {
		return nil
	}
	p := make([]byte, size-hashLen)
	p[1] = 1
	for i := 2; i < len(p)-len(prefix)-1; i++ {
		p[i] = 0xff
	}
	copy(p[len(p)-len(prefix):], prefix)
	return p
}

// rsaScratch holds the numbers of one verification, reused across calls.
type rsaScratch struct {
	s, m, want *bigmod.Nat
	em         []byte
}

var rsaScratchPool = sync.Pool{New: func() any {
	return &rsaScratch{s: bigmod.NewNat(), m: bigmod.NewNat(), want: bigmod.NewNat()}
}}

// Verify reports whether sig is a valid PKCS#1 v1.5 signature of digest,
// a digest made with h (SHA-256, -384 or -512).
func (v *RSAVerifier) Verify(h crypto.Hash, digest, sig []byte) bool {
	var pad []byte
	switch h {
	case crypto.SHA256:
		pad = v.pad256
	case crypto.SHA384:
		pad = v.pad384
	case crypto.SHA512:
		pad = v.pad512
	}
	// RFC 8017 §8.2.2 step 1: the signature is exactly k octets.
	if pad == nil || len(digest) != h.Size() || len(sig) != v.size {
		return false
	}
	if v.fast != nil {
		return v.fast.verify(pad, digest, sig)
	}
	return v.verifyBigmod(pad, digest, sig)
}

// verifyBigmod is Verify with bigmod's ExpShortVarTime, for the keys
// without a fast path; its arguments are checked as Verify checks them.
func (v *RSAVerifier) verifyBigmod(pad, digest, sig []byte) bool {
	w := rsaScratchPool.Get().(*rsaScratch)
	defer rsaScratchPool.Put(w)
	// RSAVP1 step 1: the signature representative is below n.
	s, err := w.s.SetBytes(sig, v.n)
	if err != nil {
		return false
	}
	// The expected EM, 0x00 0x01 FF…FF 0x00 DigestInfo digest, as a
	// number: it is below n (its first byte is zero and n is exactly
	// v.size bytes), so comparing numbers in constant time is comparing
	// the two encodings in full, without converting the result to bytes.
	if cap(w.em) < v.size {
		w.em = make([]byte, v.size)
	}
	em := w.em[:v.size]
	copy(em, pad)
	copy(em[len(pad):], digest)
	want, err := w.want.SetBytes(em, v.n)
	if err != nil {
		return false
	}
	return w.m.ExpShortVarTime(s, v.e, v.n).Equal(want) == 1
}

// Verify checks sig over digest, made with a.Hash(), for algorithm a with
// the public key pub (*rsa.PublicKey or *ecdsa.PublicKey); it is false when
// the key does not fit a. prepared is NewRSAVerifier(pub), made once when
// the key was read, or nil: RS256, RS384 and RS512 use it when it is not
// nil, and everything else (PSS, ECDSA, keys left to crypto/rsa) uses
// crypto/rsa or crypto/ecdsa. It never panics on hostile input.
func Verify(a Alg, pub crypto.PublicKey, prepared *RSAVerifier, digest, sig []byte) bool {
	if prepared != nil && a >= RS256 && a <= RS512 {
		return prepared.Verify(a.Hash(), digest, sig)
	}
	return verifySig(a, pub, digest, sig)
}
