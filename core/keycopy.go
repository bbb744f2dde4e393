package entra

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"math/big"
)

// clone returns a deep copy of k: a new public key and a certificate parsed
// anew from a copy of its DER, so that nothing a caller of
// [Validator.Keys] holds is shared with the keys that verify tokens.
func (k Key) clone() Key {
	switch pub := k.PublicKey.(type) {
	case *rsa.PublicKey:
		k.PublicKey = &rsa.PublicKey{N: new(big.Int).Set(pub.N), E: pub.E}
	case *ecdsa.PublicKey:
		// Re-encoded: the point's coordinates are not to be copied by hand.
		var cp *ecdsa.PublicKey
		if b, err := pub.Bytes(); err == nil {
			cp, _ = ecdsa.ParseUncompressedPublicKey(pub.Curve, b)
		}
		if cp == nil {
			// parseJWKS publishes only points that encode; never share.
			k.PublicKey = nil
		} else {
			k.PublicKey = cp
		}
	default:
		// parseJWKS publishes RSA and EC keys only; anything else is
		// not handed out rather than shared.
		k.PublicKey = nil
	}
	if k.Certificate != nil {
		cert, err := x509.ParseCertificate(bytes.Clone(k.Certificate.Raw))
		if err != nil {
			// It parsed when the key set was read; a copy cannot fail.
			cert = nil
		}
		k.Certificate = cert
	}
	return k
}
