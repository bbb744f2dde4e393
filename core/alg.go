package entra

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"math/big"
)

// alg identifies a JWS algorithm this package can verify.
type alg uint8

const (
	algUnknown alg = iota
	algRS256
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
)

var algNames = [...]string{
	algUnknown: "",
	algRS256:   "RS256",
	algRS384:   "RS384",
	algRS512:   "RS512",
	algPS256:   "PS256",
	algPS384:   "PS384",
	algPS512:   "PS512",
	algES256:   "ES256",
	algES384:   "ES384",
	algES512:   "ES512",
}

func (a alg) String() string { return algNames[a] }

// algByName matches exactly and case-sensitively, as RFC 7515 requires:
// "rs256" and "None" are unknown.
func algByName(name string) alg {
	for i, n := range algNames {
		if i != 0 && n == name {
			return alg(i)
		}
	}
	return algUnknown
}

// algSet is a bit set of algs.
type algSet uint16

func (s algSet) has(a alg) bool { return a != algUnknown && s&(1<<a) != 0 }

func (a alg) hash() crypto.Hash {
	switch a {
	case algRS256, algPS256, algES256:
		return crypto.SHA256
	case algRS384, algPS384, algES384:
		return crypto.SHA384
	default:
		return crypto.SHA512
	}
}

func (a alg) isRSA() bool { return a >= algRS256 && a <= algPS512 }

// curve returns the curve an ES algorithm requires.
func (a alg) curve() elliptic.Curve {
	switch a {
	case algES256:
		return elliptic.P256()
	case algES384:
		return elliptic.P384()
	case algES512:
		return elliptic.P521()
	}
	return nil
}

// verifySig checks sig over digest with pub for algorithm a. It never panics
// on hostile input: sizes are checked before any arithmetic.
func verifySig(a alg, pub crypto.PublicKey, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if !a.isRSA() || len(sig) != k.Size() {
			return false
		}
		if a >= algPS256 {
			return rsa.VerifyPSS(k, a.hash(), digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(k, a.hash(), digest, sig) == nil
	case *ecdsa.PublicKey:
		c := a.curve()
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
