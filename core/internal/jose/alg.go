package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"
	"strings"
)

// Alg identifies a JWS algorithm this package can verify. The zero Alg,
// AlgUnknown, is every other name.
type Alg uint8

// The algorithms, in this order: RS256 to RS512 are PKCS#1 v1.5, RS256 to
// PS512 RSA, ES256 to ES512 ECDSA (range checks rely on it).
const (
	AlgUnknown Alg = iota
	RS256
	RS384
	RS512
	PS256
	PS384
	PS512
	ES256
	ES384
	ES512
)

var algNames = [...]string{
	AlgUnknown: "",
	RS256:      "RS256",
	RS384:      "RS384",
	RS512:      "RS512",
	PS256:      "PS256",
	PS384:      "PS384",
	PS512:      "PS512",
	ES256:      "ES256",
	ES384:      "ES384",
	ES512:      "ES512",
}

// String returns the algorithm's JWS name, or "" for AlgUnknown.
func (a Alg) String() string { return algNames[a] }

// AlgByName returns the algorithm named name, or AlgUnknown. It matches
// exactly and case-sensitively, as RFC 7515 requires: "rs256" and "None"
// are unknown.
func AlgByName(name string) Alg {
	for i, n := range algNames {
		if i != 0 && n == name {
			return Alg(i)
		}
	}
	return AlgUnknown
}

// AlgSet is a bit set of algorithms: s holds a when bit a is set
// (s |= 1 << a adds it).
type AlgSet uint16

// Has reports whether s contains a; AlgUnknown is in no set.
func (s AlgSet) Has(a Alg) bool { return a != AlgUnknown && s&(1<<a) != 0 }

// Hash returns the hash the algorithm signs with: SHA-256, -384 or -512.
func (a Alg) Hash() crypto.Hash {
	switch a {
	case RS256, PS256, ES256:
		return crypto.SHA256
	case RS384, PS384, ES384:
		return crypto.SHA384
	default:
		return crypto.SHA512
	}
}

// IsRSA reports whether a is an RSA algorithm (RS… or PS…).
func (a Alg) IsRSA() bool { return a >= RS256 && a <= PS512 }

// curve returns the curve an ES algorithm requires.
func (a Alg) Curve() elliptic.Curve {
	switch a {
	case ES256:
		return elliptic.P256()
	case ES384:
		return elliptic.P384()
	case ES512:
		return elliptic.P521()
	}
	return nil
}

// verifySig checks sig over digest with pub for algorithm a with
// crypto/rsa or crypto/ecdsa, and is false when pub does not fit a. It
// never panics on hostile input: sizes are checked before any arithmetic.
func verifySig(a Alg, pub crypto.PublicKey, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if !a.IsRSA() || len(sig) != k.Size() {
			return false
		}
		if a >= PS256 {
			return rsa.VerifyPSS(k, a.Hash(), digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(k, a.Hash(), digest, sig) == nil
	case *ecdsa.PublicKey:
		c := a.Curve()
		if c == nil || k.Curve != c {
			return false
		}
		size := (c.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		// ecdsa.Verify rejects r or s of zero (the "psychic signature").
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}

// String lists the algorithms of s by name, comma-separated, in the order
// of the constants.
func (s AlgSet) String() string {
	var names []string
	for a := RS256; a <= ES512; a++ {
		if s.Has(a) {
			names = append(names, a.String())
		}
	}
	return strings.Join(names, ", ")
}
