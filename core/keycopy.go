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
		//lint:ignore SA1019 X and Y are how a curve point is copied without re-encoding.
		k.PublicKey = &ecdsa.PublicKey{Curve: pub.Curve, X: new(big.Int).Set(pub.X), Y: new(big.Int).Set(pub.Y)}
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
