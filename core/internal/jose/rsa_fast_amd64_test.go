//go:build amd64 && !purego

package jose

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

// The 18-multiplication path (rsa_fast_amd64.go) must compute s^e mod n
// exactly and give bigmod's and crypto/rsa's verdict on every signature,
// with addMulVVW2048's ADX/BMI2 code and with its plain code.

// forEachAsmPath runs f with supportADX as the CPU has it and, when that
// is true, again with the plain assembly forced.
func forEachAsmPath(t *testing.T, f func(t *testing.T)) {
	saved := supportADX
	t.Cleanup(func() { supportADX = saved })
	for _, adx := range []bool{true, false} {
		name := map[bool]string{true: "adx", false: "plain"}[adx]
		t.Run(name, func(t *testing.T) {
			if adx && !saved {
				t.Skip("this CPU has no ADX and BMI2")
			}
			supportADX = adx
			defer func() { supportADX = saved }()
			f(t)
		})
	}
}

func TestRSAFastPathTaken(t *testing.T) {
	if !rsaFastPath {
		t.Fatal("rsaFastPath is false in an amd64, non-purego build")
	}
	keys := testRSAKeys(t)
	if v := NewRSAVerifier(&keys[0].PublicKey); v == nil || v.fast == nil {
		t.Fatal("a 2048-bit key has no fast path")
	}
	if v := NewRSAVerifier(&keys[1].PublicKey); v == nil || v.fast != nil {
		t.Fatal("a 3072-bit key has a fast path")
	}
	t.Logf("supportADX = %v", supportADX)
}

// TestRSAFastExp compares exp with math/big on random odd moduli of 2041
// to 2048 bits (all 32 limbs), exponents NewRSAVerifier accepts, and
// random and extreme s.
func TestRSAFastExp(t *testing.T) {
	forEachAsmPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewChaCha8([32]byte{1}))
		for i := range 60 {
			bitLen := 2048 - i%8
			nb := make([]byte, 256)
			for j := range nb {
				nb[j] = byte(rng.Uint32())
			}
			n := new(big.Int).SetBytes(nb)
			n.SetBit(n, 0, 1)
			for b := bitLen; b < 2048; b++ {
				n.SetBit(n, b, 0)
			}
			n.SetBit(n, bitLen-1, 1)
			if i%10 == 0 { // sparse moduli: all ones, top and bottom bit only
				n = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bitLen)), big.NewInt(1))
				if i%20 == 0 {
					n.SetBit(new(big.Int), bitLen-1, 1).SetBit(n, 0, 1)
				}
			}
			e := []int{3, 17, 65537, 1<<31 - 1, int(rng.Uint32N(1<<30))*2 + 1}[i%5]
			if e == 1 {
				e = 3
			}
			f := newRSAFast(&rsa.PublicKey{N: n, E: e})
			if f == nil {
				t.Fatalf("%d-bit modulus not prepared", n.BitLen())
			}
			var c [montLimbs]uint
			limbsFromBytes(&c, new(big.Int).Exp(new(big.Int).Lsh(big.NewInt(1), 2048), big.NewInt(int64(e)), n).FillBytes(make([]byte, 256)))
			if f.c != c {
				t.Fatalf("modulus %d (%d bits), e=%d: c is not R^e mod n", i, n.BitLen(), e)
			}
			nm1 := new(big.Int).Sub(n, big.NewInt(1))
			for k, s := range []*big.Int{big.NewInt(0), big.NewInt(1), big.NewInt(2), nm1, randBelow(rng, n), randBelow(rng, n)} {
				var sl, got [montLimbs]uint
				limbsFromBytes(&sl, s.FillBytes(make([]byte, 256)))
				f.exp(&got, &sl)
				var want [montLimbs]uint
				limbsFromBytes(&want, new(big.Int).Exp(s, big.NewInt(int64(e)), n).FillBytes(make([]byte, 256)))
				if got != want {
					t.Fatalf("modulus %d (%d bits), e=%d, s #%d: s^e mod n differs from math/big", i, n.BitLen(), e, k)
				}
			}
		}
	})
}

// randBelow returns a random number in [0, m) (nearly uniform; m ≤ 2^2048).
func randBelow(rng *rand.Rand, m *big.Int) *big.Int {
	b := make([]byte, 264)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return new(big.Int).Mod(new(big.Int).SetBytes(b), m)
}

// TestRSAFastVerdicts compares the fast path's verdicts with bigmod's path
// and crypto/rsa's on valid signatures, signatures and digests with a bit
// flipped, near-valid encodings, and s = 0, 1, n-1, n, above n.
func TestRSAFastVerdicts(t *testing.T) {
	priv := testRSAKeys(t)[0]
	pub := &priv.PublicKey
	v := NewRSAVerifier(pub)
	if v == nil || v.fast == nil {
		t.Fatal("no fast path for the 2048-bit key")
	}
	slow := *v
	slow.fast = nil
	size := priv.Size()
	forEachAsmPath(t, func(t *testing.T) {
		rng := rand.New(rand.NewChaCha8([32]byte{2}))
		accepted, total := 0, 0
		check := func(what string, h crypto.Hash, d, sig []byte) {
			t.Helper()
			fast, bm, stock := v.Verify(h, d, sig), slow.Verify(h, d, sig), stockVerify(pub, h, d, sig)
			if fast != bm || fast != stock {
				t.Fatalf("%s (%v): fast %v, bigmod %v, crypto/rsa %v", what, h, fast, bm, stock)
			}
			total++
			if fast {
				accepted++
			}
		}
		nb := priv.N.FillBytes(make([]byte, size))
		for i := range 40 {
			h := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}[i%3]
			msg := make([]byte, 1+rng.IntN(64))
			for j := range msg {
				msg[j] = byte(rng.Uint32())
			}
			d := digestOf(h, msg)
			pi := map[crypto.Hash][]byte{crypto.SHA256: digestInfoSHA256, crypto.SHA384: digestInfoSHA384, crypto.SHA512: digestInfoSHA512}[h]
			em := append(pkcs1Pad(size, pi, h.Size()), d...)
			sig := rawSign(priv, em)
			check("valid", h, d, sig)
			for range 4 {
				s := bytes.Clone(sig)
				s[rng.IntN(size)] ^= 1 << rng.IntN(8)
				check("signature bit flipped", h, d, s)
				dd := bytes.Clone(d)
				dd[rng.IntN(len(dd))] ^= 1 << rng.IntN(8)
				check("digest bit flipped", h, dd, sig)
				e := bytes.Clone(em)
				e[rng.IntN(size)] ^= 1 << rng.IntN(8)
				check("encoding bit flipped", h, d, rawSign(priv, e))
			}
			// At and above n: n + (random below 2^2048 - n).
			over := new(big.Int).Add(priv.N, randBelow(rng, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 2048), priv.N)))
			check("above n", h, d, over.FillBytes(make([]byte, size)))
			if i < 3 {
				// The same residue as a valid signature, plus n.
				if sn := new(big.Int).Add(new(big.Int).SetBytes(sig), priv.N); sn.BitLen() <= 2048 {
					check("valid plus n", h, d, sn.FillBytes(make([]byte, size)))
				}
				for name, s := range map[string]*big.Int{
					"zero": big.NewInt(0), "one": big.NewInt(1), "n-1": new(big.Int).Sub(priv.N, big.NewInt(1)),
					"n+1": new(big.Int).Add(priv.N, big.NewInt(1)), "2^2048-1": new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 2048), big.NewInt(1)),
				} {
					check(name, h, d, s.FillBytes(make([]byte, size)))
				}
				check("n", h, d, nb)
			}
		}
		if accepted != 40 {
			t.Fatalf("%d of %d signatures accepted, want the 40 valid ones", accepted, total)
		}
		t.Logf("%d verdicts agree", total)
	})
}

// TestRSAFastNoAlloc: the fast path allocates nothing.
func TestRSAFastNoAlloc(t *testing.T) {
	priv := testRSAKeys(t)[0]
	v := NewRSAVerifier(&priv.PublicKey)
	d := digestOf(crypto.SHA256, []byte("x"))
	sig, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d)
	if n := testing.AllocsPerRun(20, func() {
		if !v.Verify(crypto.SHA256, d, sig) {
			t.Fatal("refused")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per verification", n)
	}
}

// rsaBenchInputs returns a 2048-bit test key, its verifier with the fast
// path and a copy without it (bigmod's path), and an RS256 digest with
// its signature.
func rsaBenchInputs(b *testing.B) (pub *rsa.PublicKey, v, slow *RSAVerifier, d, sig []byte) {
	priv := testRSAKeys(b)[0]
	pub = &priv.PublicKey
	v = NewRSAVerifier(pub)
	s := *v
	s.fast = nil
	d = digestOf(crypto.SHA256, []byte("header.payload"))
	sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d)
	if err != nil {
		b.Fatal(err)
	}
	return pub, v, &s, d, sig
}

// BenchmarkRSAVerify2048 verifies one RS256 signature with a 2048-bit key
// (e = 65537): fast is the 18-multiplication path (ADX as the CPU has
// it), fast-plain its plain assembly, bigmod the ExpShortVarTime path,
// stock rsa.VerifyPKCS1v15.
func BenchmarkRSAVerify2048(b *testing.B) {
	pub, v, slow, d, sig := rsaBenchInputs(b)
	run := func(verify func() bool) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !verify() {
					b.Fatal("refused")
				}
			}
		}
	}
	b.Run("fast", run(func() bool { return v.Verify(crypto.SHA256, d, sig) }))
	b.Run("fast-plain", func(b *testing.B) {
		saved := supportADX
		supportADX = false
		defer func() { supportADX = saved }()
		run(func() bool { return v.Verify(crypto.SHA256, d, sig) })(b)
	})
	b.Run("bigmod", run(func() bool { return slow.Verify(crypto.SHA256, d, sig) }))
	b.Run("stock", run(func() bool { return stockVerify(pub, crypto.SHA256, d, sig) }))
}

// BenchmarkRSAVerify2048Paired runs the fast path, bigmod's path and
// rsa.VerifyPKCS1v15 in turn in every iteration (rotating which goes
// first), so that load from other jobs falls on all three alike, and
// reports each one's ns per verification and the ratios fast/bigmod and
// fast/stock. (ns/op is the three together; B/op and allocs/op are
// crypto/rsa's, the other two allocate nothing.)
func BenchmarkRSAVerify2048Paired(b *testing.B) {
	pub, v, slow, d, sig := rsaBenchInputs(b)
	verify := [3]func() bool{
		func() bool { return v.Verify(crypto.SHA256, d, sig) },
		func() bool { return slow.Verify(crypto.SHA256, d, sig) },
		func() bool { return stockVerify(pub, crypto.SHA256, d, sig) },
	}
	var sum [3]time.Duration
	n := 0
	for b.Loop() {
		for k := range 3 {
			which := (k + n) % 3
			t0 := time.Now()
			ok := verify[which]()
			sum[which] += time.Since(t0)
			if !ok {
				b.Fatal("refused")
			}
		}
		n++
	}
	b.ReportMetric(float64(sum[0])/float64(n), "fast-ns")
	b.ReportMetric(float64(sum[1])/float64(n), "bigmod-ns")
	b.ReportMetric(float64(sum[2])/float64(n), "stock-ns")
	b.ReportMetric(float64(sum[0])/float64(sum[1]), "fast/bigmod")
	b.ReportMetric(float64(sum[0])/float64(sum[2]), "fast/stock")
}
