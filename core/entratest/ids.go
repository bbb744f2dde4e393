package entratest

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// NewGUID returns a random (version 4) GUID in Entra ID's lower-case
// 8-4-4-4-12 form, such as a tenant, client or object ID of a test.
func NewGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func randUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

// randBytes returns n random bytes, for the opaque parts of tokens.
func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
