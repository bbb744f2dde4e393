package jose

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The PKCS#1 v1.5 verifier of rsa.go must give rsa.VerifyPKCS1v15's verdict
// for every input. These tests compare the two on published vectors, real
// Entra tokens, edge cases and (FuzzRSAPKCS1v15) arbitrary input.

// stockVerify is the reference: crypto/rsa.
func stockVerify(pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	return rsa.VerifyPKCS1v15(pub, h, digest, sig) == nil
}

// oursVerify is the request path's verification: Verify with the key
// prepared as package entra prepares it (the prepared modulus when there
// is one, crypto/rsa otherwise).
func oursVerify(pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	a := map[crypto.Hash]Alg{crypto.SHA256: RS256, crypto.SHA384: RS384, crypto.SHA512: RS512}[h]
	return Verify(a, pub, NewRSAVerifier(pub), digest, sig)
}

func digestOf(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA384:
		d := sha512.Sum384(msg)
		return d[:]
	case crypto.SHA512:
		d := sha512.Sum512(msg)
		return d[:]
	}
	d := sha256.Sum256(msg)
	return d[:]
}

func rsaVectorsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ENTRAGUARD_VECTORS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared", "vectors")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared test vectors not found at %s (set ENTRAGUARD_VECTORS)", dir)
	}
	return dir
}

// above31 is 2³¹+1, a variable so that this file also compiles where int
// has 32 bits (converted to int there, it wraps to a negative exponent,
// which is refused too).
var above31 = int64(1)<<31 + 1

// TestRSAWycheproof runs every Wycheproof RSASSA-PKCS1-v1_5 2048/SHA-256
// vector: valid ones must verify, invalid ones must not, and on every one
// (the "acceptable" one too) the verdict must be crypto/rsa's.
func TestRSAWycheproof(t *testing.T) {
	path := filepath.Join(rsaVectorsDir(t), "jose-standard", "wycheproof", "rsa_signature_2048_sha256_test.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("Wycheproof vectors not found: %v", err)
	}
	var doc struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			PublicKeyDer string `json:"publicKeyDer"`
			Sha          string `json:"sha"`
			Tests        []struct {
				TcID   int    `json:"tcId"`
				Msg    string `json:"msg"`
				Sig    string `json:"sig"`
				Result string `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	n, valid := 0, 0
	for _, g := range doc.TestGroups {
		if g.Sha != "SHA-256" {
			t.Fatalf("unexpected hash %s", g.Sha)
		}
		der, _ := hex.DecodeString(g.PublicKeyDer)
		k, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		pub := k.(*rsa.PublicKey)
		if NewRSAVerifier(pub) == nil {
			t.Fatal("a 2048-bit key with e=65537 was not prepared")
		}
		for _, tc := range g.Tests {
			n++
			msg, _ := hex.DecodeString(tc.Msg)
			sig, _ := hex.DecodeString(tc.Sig)
			d := digestOf(crypto.SHA256, msg)
			ours, stock := oursVerify(pub, crypto.SHA256, d, sig), stockVerify(pub, crypto.SHA256, d, sig)
			if ours != stock {
				t.Errorf("tc %d (%s): ours %v, crypto/rsa %v", tc.TcID, tc.Result, ours, stock)
			}
			switch tc.Result {
			case "valid":
				valid++
				if !ours {
					t.Errorf("tc %d: a valid signature was refused", tc.TcID)
				}
			case "invalid":
				if ours {
					t.Errorf("tc %d: an invalid signature was accepted", tc.TcID)
				}
			}
		}
	}
	if n != doc.NumberOfTests || n < 250 || valid == 0 {
		t.Fatalf("ran %d of %d vectors (%d valid)", n, doc.NumberOfTests, valid)
	}
}

// TestRSARealEntraTokens verifies every real Entra token against every RSA
// key of every captured key set, ours against crypto/rsa: the same verdict
// on each pair, and each token accepted by some key exactly when the
// manifest says its signature is valid.
func TestRSARealEntraTokens(t *testing.T) {
	dir := rsaVectorsDir(t)
	mb, err := os.ReadFile(filepath.Join(dir, "entra", "tokens", "manifest.json"))
	if err != nil {
		t.Skipf("Entra token manifest not found: %v", err)
	}
	var manifest []struct {
		File     string `json:"file"`
		Expected string `json:"expected"`
	}
	if err := json.Unmarshal(mb, &manifest); err != nil {
		t.Fatal(err)
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "entra", "jwks", "*.json"))
	more, _ := filepath.Glob(filepath.Join(dir, "entra", "jwks", "panva-wellknown", "entra-*.json"))
	var keys []*rsa.PublicKey
	seen := map[string]bool{}
	for _, f := range append(sets, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		list, err := rsaKeysOf(b)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, rk := range list {
			if !seen[rk.N.String()] {
				seen[rk.N.String()] = true
				keys = append(keys, rk)
			}
		}
	}
	if len(manifest) < 20 || len(keys) < 20 {
		t.Fatalf("found %d tokens and %d keys", len(manifest), len(keys))
	}
	valid := 0
	for _, tok := range manifest {
		raw, err := os.ReadFile(filepath.Join(dir, tok.File))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.TrimSpace(string(raw))
		i := strings.LastIndexByte(s, '.')
		sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s[i+1:], "="))
		if err != nil {
			t.Fatalf("%s: signature is not base64url", filepath.Base(tok.File))
		}
		d := digestOf(crypto.SHA256, []byte(s[:i]))
		accepted := false
		for _, k := range keys {
			ours, stock := oursVerify(k, crypto.SHA256, d, sig), stockVerify(k, crypto.SHA256, d, sig)
			if ours != stock {
				// File name only: never a token's content.
				t.Errorf("%s: ours %v, crypto/rsa %v", filepath.Base(tok.File), ours, stock)
			}
			accepted = accepted || ours
		}
		if want := strings.HasPrefix(tok.Expected, "VALID"); accepted != want {
			t.Errorf("%s: accepted %v, want %v", filepath.Base(tok.File), accepted, want)
		}
		if strings.HasPrefix(tok.Expected, "VALID") {
			valid++
		}
	}
	if valid < 15 {
		t.Fatalf("manifest lists %d tokens with a valid signature, want 15", valid)
	}
}

// rsaKeysOf returns the RSA keys of a JWKS document (kty RSA, n and e in
// base64url), the keys package entra reads from such a set.
func rsaKeysOf(doc []byte) ([]*rsa.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, err
	}
	var out []*rsa.PublicKey
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil {
			return nil, fmt.Errorf("key modulus: %w", err)
		}
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		if err != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("key exponent %q is not a base64url integer", k.E)
		}
		out = append(out, &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())})
	}
	return out, nil
}

var (
	fuzzKeyOnce sync.Once
	fuzzKeys    []*rsa.PrivateKey
)

// testRSAKeys returns a 2048-bit and a 3072-bit key made for these tests
// (testdata/rsa*-test-only.pem; generating them in every fuzz worker would
// take most of a short fuzz run).
func testRSAKeys(tb testing.TB) []*rsa.PrivateKey {
	fuzzKeyOnce.Do(func() {
		for _, name := range []string{"rsa2048-test-only.pem", "rsa3072-test-only.pem"} {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				panic(err)
			}
			blk, _ := pem.Decode(b)
			if blk == nil {
				panic(name + " is not PEM")
			}
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				panic(err)
			}
			fuzzKeys = append(fuzzKeys, k.(*rsa.PrivateKey))
		}
	})
	return fuzzKeys
}

// rawSign returns em^d mod n (by the CRT): a "signature" whose decryption
// is em, so that near-valid encodings (padding, DigestInfo, hash) are tried.
func rawSign(k *rsa.PrivateKey, em []byte) []byte {
	m := new(big.Int).SetBytes(em)
	p, q := k.Primes[0], k.Primes[1]
	m1 := new(big.Int).Exp(new(big.Int).Mod(m, p), k.Precomputed.Dp, p)
	m2 := new(big.Int).Exp(new(big.Int).Mod(m, q), k.Precomputed.Dq, q)
	h := new(big.Int).Sub(m1, m2)
	h.Mul(h, k.Precomputed.Qinv).Mod(h, p)
	s := h.Mul(h, q).Add(h, m2)
	return s.FillBytes(make([]byte, k.Size()))
}

// TestRSAEdgeCases covers what the vectors may not: every hash, signatures
// at and around the modulus, wrong lengths, altered encodings, and keys
// left to crypto/rsa.
func TestRSAEdgeCases(t *testing.T) {
	msg := []byte("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0")
	for _, priv := range testRSAKeys(t) {
		pub := &priv.PublicKey
		if NewRSAVerifier(pub) == nil {
			t.Fatal("key not prepared")
		}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			d := digestOf(h, msg)
			sig, err := rsa.SignPKCS1v15(nil, priv, h, d)
			if err != nil {
				t.Fatal(err)
			}
			nb := priv.N.FillBytes(make([]byte, priv.Size()))
			nMinus1 := new(big.Int).Sub(priv.N, big.NewInt(1)).FillBytes(make([]byte, priv.Size()))
			em := append(pkcs1Pad(priv.Size(), map[crypto.Hash][]byte{crypto.SHA256: digestInfoSHA256, crypto.SHA384: digestInfoSHA384, crypto.SHA512: digestInfoSHA512}[h], h.Size()), d...)
			flip := func(i int) []byte { e := bytes.Clone(em); e[i] ^= 1; return rawSign(priv, e) }
			// s + n: the same residue, but not below the modulus.
			over := new(big.Int).Add(new(big.Int).SetBytes(sig), priv.N)
			cases := []struct {
				name string
				sig  []byte
				want bool
			}{
				{"valid", sig, true},
				{"raw-signed valid encoding", rawSign(priv, em), true},
				{"bit flipped", func() []byte { s := bytes.Clone(sig); s[len(s)/2] ^= 0x10; return s }(), false},
				{"zero", make([]byte, priv.Size()), false},
				{"one", append(make([]byte, priv.Size()-1), 1), false},
				{"modulus", nb, false},
				{"modulus-1", nMinus1, false},
				{"all ff", bytes.Repeat([]byte{0xff}, priv.Size()), false},
				{"plus modulus", over.Bytes(), false},
				{"short", sig[1:], false},
				{"leading zero", append([]byte{0}, sig...), false},
				{"empty", nil, false},
				{"first byte", flip(0), false},
				{"block type", flip(1), false},
				{"padding", flip(5), false},
				{"separator", flip(priv.Size() - h.Size() - len(digestInfoSHA256) - 1), false},
				{"DigestInfo", flip(priv.Size() - h.Size() - 3), false},
				{"digest", flip(priv.Size() - 1), false},
			}
			for _, c := range cases {
				ours, stock := oursVerify(pub, h, d, c.sig), stockVerify(pub, h, d, c.sig)
				if ours != c.want || stock != c.want {
					t.Errorf("%d bits %v %s: ours %v, crypto/rsa %v, want %v", priv.N.BitLen(), h, c.name, ours, stock, c.want)
				}
			}
			// The signature of one hash never verifies as another's.
			for _, other := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
				if other != h {
					od := digestOf(other, msg)
					if oursVerify(pub, other, od, sig) || oursVerify(pub, other, d[:min(len(d), other.Size())], sig) {
						t.Errorf("%v signature verified as %v", h, other)
					}
				}
			}
		}
	}
	// Keys crypto/rsa refuses or treats specially are not prepared; their
	// verdicts stay crypto/rsa's.
	base := testRSAKeys(t)[0]
	d := digestOf(crypto.SHA256, msg)
	sig, _ := rsa.SignPKCS1v15(nil, base, crypto.SHA256, d)
	for name, pub := range map[string]*rsa.PublicKey{
		"even modulus":    {N: new(big.Int).Add(base.N, big.NewInt(1)), E: base.E},
		"exponent 2":      {N: base.N, E: 2},
		"exponent 1":      {N: base.N, E: 1},
		"exponent 2^31+1": {N: base.N, E: int(above31)},
		"no modulus":      {N: nil, E: 65537},
		"tiny modulus":    {N: big.NewInt(3233), E: 17},
	} {
		if NewRSAVerifier(pub) != nil {
			t.Errorf("%s: key was prepared", name)
		}
		if pub.N != nil {
			if ours, stock := oursVerify(pub, crypto.SHA256, d, sig), stockVerify(pub, crypto.SHA256, d, sig); ours != stock || ours {
				t.Errorf("%s: ours %v, crypto/rsa %v", name, ours, stock)
			}
		}
	}
	// A large but valid exponent is prepared and agrees.
	if v := NewRSAVerifier(&rsa.PublicKey{N: base.N, E: 1<<31 - 1}); v == nil {
		t.Error("exponent 2^31-1 was not prepared")
	}
}

// TestRSAConcurrent verifies with one key from many goroutines (the
// modulus is shared, scratch numbers are pooled); -race checks it.
func TestRSAConcurrent(t *testing.T) {
	priv := testRSAKeys(t)[0]
	v := NewRSAVerifier(&priv.PublicKey)
	var wg sync.WaitGroup
	for g := range 8 {
		msg := []byte{byte(g)}
		d := digestOf(crypto.SHA256, msg)
		sig, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d)
		wg.Go(func() {
			for i := range 20 {
				bad := bytes.Clone(sig)
				bad[i] ^= 1
				if !v.Verify(crypto.SHA256, d, sig) || v.Verify(crypto.SHA256, d, bad) {
					t.Error("wrong verdict under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
}

// FuzzRSAPKCS1v15 compares ours with rsa.VerifyPKCS1v15 on random and
// mutated signatures, keys and messages. mode chooses how the signature is
// made: 0 valid then mutated at pos with mut, 1 raw bytes from mut, 2 a
// raw-signed encoding with mut XORed in (near-valid paddings), 3 a
// signature checked against a mutated key (modulus bits and exponent).
func FuzzRSAPKCS1v15(f *testing.F) {
	f.Add(byte(0), byte(0), []byte("a.b"), uint16(0), []byte{})
	f.Add(byte(0), byte(1), []byte("header.payload"), uint16(10), []byte{1})
	f.Add(byte(1), byte(2), []byte("x"), uint16(0), bytes.Repeat([]byte{0xff}, 256))
	f.Add(byte(2), byte(0), []byte("x"), uint16(1), []byte{2})
	f.Add(byte(2), byte(4), []byte("y"), uint16(200), []byte{0x10, 0, 0x30})
	f.Add(byte(3), byte(1), []byte("z"), uint16(3), []byte{0x80})
	f.Add(byte(3), byte(3), []byte("z"), uint16(0), []byte{1, 0, 1})
	f.Fuzz(func(t *testing.T, mode, sel byte, msg []byte, pos uint16, mut []byte) {
		keys := testRSAKeys(t)
		priv := keys[int(sel)%len(keys)]
		h := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}[int(sel/2)%3]
		pub := &priv.PublicKey
		d := digestOf(h, msg)
		size := priv.Size()
		var sig []byte
		switch mode % 4 {
		case 0, 3:
			sig, _ = rsa.SignPKCS1v15(nil, priv, h, d)
			for i, b := range mut {
				if j := int(pos) + i; j < len(sig) {
					sig[j] ^= b
				}
			}
			if mode%4 == 0 && len(mut) > 0 && mut[0]&0x80 != 0 {
				sig = sig[:int(pos)%(len(sig)+1)] // truncated
			}
			if mode%4 == 3 {
				// Mutate the key instead: low modulus bytes and exponent.
				nb := priv.N.FillBytes(make([]byte, size))
				e := priv.E
				for i, b := range mut {
					if i == 0 {
						e = []int{3, 65537, 17, int(above31 - 1), 1<<31 - 1, 2, 1, int(pos) | 1}[b%8]
						continue
					}
					nb[size-1-(int(pos)+i)%size] ^= b
				}
				pub = &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: e}
			}
		case 1:
			sig = mut
		case 2:
			pi := map[crypto.Hash][]byte{crypto.SHA256: digestInfoSHA256, crypto.SHA384: digestInfoSHA384, crypto.SHA512: digestInfoSHA512}[h]
			em := append(pkcs1Pad(size, pi, h.Size()), d...)
			for i, b := range mut {
				em[(int(pos)+i)%size] ^= b
			}
			sig = rawSign(priv, em)
		}
		ours, stock := oursVerify(pub, h, d, sig), stockVerify(pub, h, d, sig)
		if ours != stock {
			t.Fatalf("mode %d, %d-bit key, %v: ours %v, crypto/rsa %v", mode%4, pub.N.BitLen(), h, ours, stock)
		}
	})
}
