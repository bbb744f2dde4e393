package jose

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// refB64 is what the validator accepted before DecodeSegment:
// base64.RawURLEncoding.Strict(), with line breaks refused (the strict
// decoder skips them; validate refuses them before decoding).
var rawURL = base64.RawURLEncoding.Strict()

func refB64(src string) ([]byte, bool) {
	if strings.ContainsAny(src, "\r\n") {
		return nil, false
	}
	out := make([]byte, base64.RawURLEncoding.DecodedLen(len(src)))
	n, err := base64.RawURLEncoding.Strict().Decode(out, []byte(src))
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

func checkB64(t *testing.T, src string) {
	t.Helper()
	want, wantOK := refB64(src)
	dst := make([]byte, DecodedLen(len(src)))
	n, ok := DecodeSegment(dst, src)
	if ok != wantOK {
		t.Fatalf("DecodeSegment(%q) ok = %v, encoding/base64 says %v", src, ok, wantOK)
	}
	if ok && !bytes.Equal(dst[:n], want) {
		t.Fatalf("DecodeSegment(%q) = %x, encoding/base64 gives %x", src, dst[:n], want)
	}
}

func TestDecodeB64URL(t *testing.T) {
	for _, src := range []string{
		"", "A", "AA", "AB", "AAA", "AAB", "AAAA", "QQ", "QR", "QUE", "QUF", "QUFB",
		"eyJhbGciOiJSUzI1NiJ9", "-_-_", "+/+/", "AA==", "AA=", "A===", "AAAA\n", "AA\rAA",
		"AAAAAAAA", "AAAAAAA", "AAAAAAAAA", "AAAAAAAAAA", "AAAAAAAA*AAAAAAA", "AAAAAAAAAAAAAAA\x00",
		"\xff\xfe\xfd\xfc", "AAAAAAAAAAAAAAA.", "AAAA AAA",
	} {
		checkB64(t, src)
	}
	// Every length up to 40 of valid data, and each position made invalid.
	for n := 0; n <= 40; n++ {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*37 + n)
		}
		enc := base64.RawURLEncoding.EncodeToString(data)
		checkB64(t, enc)
		for i := range enc {
			for _, c := range []byte{'=', '+', '/', '.', 0, 0x80, 0xff, '\n'} {
				checkB64(t, enc[:i]+string(c)+enc[i+1:])
			}
		}
	}
	// A destination shorter than the decoding is refused, not overrun.
	if _, ok := DecodeSegment(make([]byte, 2), "AAAA"); ok {
		t.Fatal("DecodeSegment wrote 3 bytes into 2")
	}
}

// FuzzBase64URL checks DecodeSegment against encoding/base64 (strict, raw
// URL alphabet): the same verdict and the same bytes for every input.
func FuzzBase64URL(f *testing.F) {
	for _, s := range []string{"", "QUFB", "eyJhbGciOiJSUzI1NiJ9", "AB", "AAB", "-_-_-_-_-", "AA=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		checkB64(t, src)
		// Decoding into a slice of a larger buffer never writes past it.
		buf := make([]byte, DecodedLen(len(src))+8)
		for i := range buf {
			buf[i] = 0xaa
		}
		dst := buf[:DecodedLen(len(src))]
		DecodeSegment(dst, src)
		for _, b := range buf[len(dst):] {
			if b != 0xaa {
				t.Fatalf("DecodeSegment(%q) wrote past its destination", src)
			}
		}
	})
}

func BenchmarkDecodeB64URL(b *testing.B) {
	data := bytes.Repeat([]byte(`"0000002a-1b2c-4d3e-8f40-0000000148b7",`), 200)
	src := base64.RawURLEncoding.EncodeToString(data)
	dst := make([]byte, len(data))
	b.Run("entraguard", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			if _, ok := DecodeSegment(dst, src); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("encoding-base64", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		in := []byte(src)
		for b.Loop() {
			if _, err := rawURL.Decode(dst, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
