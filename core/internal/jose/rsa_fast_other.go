//go:build !amd64 || purego

package jose

import "crypto/rsa"

// rsaFastPath reports whether this build has rsaFast: amd64, not purego.
// Here it has not; every key uses bigmod's ExpShortVarTime.
const rsaFastPath = false

type rsaFast struct{}

func newRSAFast(*rsa.PublicKey) *rsaFast { return nil }

func (*rsaFast) verify(pad, digest, sig []byte) bool {
	panic("jose: no fast RSA path in this build")
}
