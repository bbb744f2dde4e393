package jose

import "encoding/binary"

// This file holds the base64url decoder of the request path. It accepts
// exactly what base64.RawURLEncoding.Strict() accepts with no line breaks
// (the alphabet A–Z a–z 0–9 - _, no padding, a length that is not 1 mod 4,
// and zero bits after the last byte), and decodes a string without copying
// it first. It is about 1.7 times as fast as encoding/base64
// (BenchmarkDecodeB64URL), which matters for tokens with many groups:
// their payload is most of their size. TestDecodeB64URL and FuzzBase64URL
// check it against encoding/base64 byte for byte.

// b64Invalid marks a byte outside the alphabet in the tables below. Valid
// entries use at most the low 24 bits, so any invalid byte in a group of
// four leaves a bit of 0xff000000 set in the OR of their entries.
const b64Invalid = 0xff000000

// b64Tab[k][c] is the 6-bit value of base64url character c shifted to its
// place in a 24-bit group of four characters when c is the k-th of them.
var b64Tab = func() (t [4][256]uint32) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for k := range t {
		for c := range t[k] {
			t[k][c] = b64Invalid
		}
	}
	for v := 0; v < len(alphabet); v++ {
		c := alphabet[v]
		t[0][c] = uint32(v) << 18
		t[1][c] = uint32(v) << 12
		t[2][c] = uint32(v) << 6
		t[3][c] = uint32(v)
	}
	return t
}()

// DecodedLen is the length of the decoding of n base64url characters
// without padding.
func DecodedLen(n int) int { return n/4*3 + n%4*6/8 }

// DecodeSegment decodes src into dst, which must hold DecodedLen(len(src))
// bytes, and reports whether src is valid unpadded, canonical base64url.
// On false, dst holds garbage.
func DecodeSegment(dst []byte, src string) (int, bool) {
	n := DecodedLen(len(src))
	if len(src)%4 == 1 || len(dst) < n {
		return 0, false
	}
	t0, t1, t2, t3 := &b64Tab[0], &b64Tab[1], &b64Tab[2], &b64Tab[3]
	var bad uint32
	si, di := 0, 0
	// Eight characters give six bytes, written as one eight-byte store
	// while at least two bytes of room remain behind them (the next store
	// overwrites those two); sixteen at a time first, then eight.
	for ; si+16 <= len(src) && di+14 <= len(dst); si, di = si+16, di+12 {
		s := src[si : si+16]
		a := t0[s[0]] | t1[s[1]] | t2[s[2]] | t3[s[3]]
		b := t0[s[4]] | t1[s[5]] | t2[s[6]] | t3[s[7]]
		c := t0[s[8]] | t1[s[9]] | t2[s[10]] | t3[s[11]]
		d := t0[s[12]] | t1[s[13]] | t2[s[14]] | t3[s[15]]
		bad |= a | b | c | d
		binary.BigEndian.PutUint64(dst[di:di+8], uint64(a)<<40|uint64(b)<<16)
		binary.BigEndian.PutUint64(dst[di+6:di+14], uint64(c)<<40|uint64(d)<<16)
	}
	for ; si+8 <= len(src) && di+8 <= len(dst); si, di = si+8, di+6 {
		s := src[si : si+8]
		a := t0[s[0]] | t1[s[1]] | t2[s[2]] | t3[s[3]]
		b := t0[s[4]] | t1[s[5]] | t2[s[6]] | t3[s[7]]
		bad |= a | b
		binary.BigEndian.PutUint64(dst[di:di+8], uint64(a)<<40|uint64(b)<<16)
	}
	for ; si+4 <= len(src); si, di = si+4, di+3 {
		a := t0[src[si]] | t1[src[si+1]] | t2[src[si+2]] | t3[src[si+3]]
		bad |= a
		dst[di], dst[di+1], dst[di+2] = byte(a>>16), byte(a>>8), byte(a)
	}
	switch len(src) - si {
	case 2:
		a := t0[src[si]] | t1[src[si+1]]
		bad |= a
		if a&0xffff != 0 { // strict: the four bits after the byte are zero
			bad |= b64Invalid
		}
		dst[di] = byte(a >> 16)
	case 3:
		a := t0[src[si]] | t1[src[si+1]] | t2[src[si+2]]
		bad |= a
		if a&0xff != 0 { // strict: the two bits after the two bytes are zero
			bad |= b64Invalid
		}
		dst[di], dst[di+1] = byte(a>>16), byte(a>>8)
	}
	if bad&b64Invalid != 0 {
		return 0, false
	}
	return n, true
}
