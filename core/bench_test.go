package entra_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// benchSetup returns a started authority, a Validator with its keys loaded,
// and a realistic (~1.3 KB) v2 delegated access token.
func benchSetup(b *testing.B, cacheSize int) (*entratest.Server, *entra.Validator, string) {
	b.Helper()
	srv := entratest.NewServer()
	b.Cleanup(srv.Close)
	cfg := srv.Config()
	cfg.CacheSize = cacheSize
	cfg.Logger = slog.New(slog.DiscardHandler) // nothing between result lines
	v := newValidator(b, cfg)
	if err := v.Ready(ctxT(b)); err != nil {
		b.Fatal(err)
	}
	return srv, v, srv.UserToken("Orders.Read", "Orders.Write")
}

// cacheToken validates tok twice, so that v's cache holds it: by default
// a token is cached from its second sight.
func cacheToken(b *testing.B, v *entra.Validator, tok string) {
	b.Helper()
	for range 2 {
		if _, err := v.Validate(ctxT(b), tok); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuPerOp reports the CPU time the process spends per operation
// (cpu-ns/op, garbage collection included) from now until the returned
// function is called after the loop. On a machine shared with other jobs,
// wall-clock ns/op measures the other jobs as much as the code; CPU time
// per operation far less. With RunParallel it sums every goroutine's CPU:
// equal figures at -cpu 1 and 2 mean reads do not slow each other down.
func cpuPerOp(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkRawVerify is the floor: SHA-256 and rsa.VerifyPKCS1v15 over the
// same token, with the signature decoded outside the loop.
func BenchmarkRawVerify(b *testing.B) {
	_, v, tok := benchSetup(b, -1)
	pub := v.Keys()[0].PublicKey.(*rsa.PublicKey)
	i := strings.LastIndexByte(tok, '.')
	signed := []byte(tok[:i])
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		d := sha256.Sum256(signed)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstValidationPaired measures the ratio the performance goal
// is stated in (a first validation against the bare crypto/rsa verify)
// robustly on a shared machine: every iteration runs one raw
// rsa.VerifyPKCS1v15 + SHA-256 and one Validate without the token cache,
// alternating which goes first, and times each with the thread's own CPU
// clock, so that other processes' load and preemption hit both alike. It
// reports raw-cpu-ns, validate-cpu-ns and their ratio (x-raw).
func BenchmarkFirstValidationPaired(b *testing.B) {
	if _, ok := threadCPU(); !ok {
		b.Skip("no thread CPU clock on this platform")
	}
	_, v, tok := benchSetup(b, -1)
	pub := v.Keys()[0].PublicKey.(*rsa.PublicKey)
	i := strings.LastIndexByte(tok, '.')
	signed := []byte(tok[:i])
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	ctx := ctxT(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var sum [2]time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for k := range 2 {
			which := k ^ (n & 1)
			t0, _ := threadCPU()
			if which == 0 {
				d := sha256.Sum256(signed)
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
					b.Fatal(err)
				}
			} else if _, err := v.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
			t1, _ := threadCPU()
			sum[which] += t1 - t0
		}
		n++
	}
	b.ReportMetric(float64(sum[0])/float64(n), "raw-cpu-ns")
	b.ReportMetric(float64(sum[1])/float64(n), "validate-cpu-ns")
	b.ReportMetric(float64(sum[1])/float64(sum[0]), "x-raw")
}

// BenchmarkValidate is a full validation of a token with a cached key and
// no token cache: what the first request with a new token costs.
func BenchmarkValidate(b *testing.B) {
	_, v, tok := benchSetup(b, -1)
	ctx := ctxT(b)
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateLargeToken is BenchmarkValidate for a token with 200
// groups (about 11 KB), to compare with BenchmarkValidate's 1.3 KB token:
// claims parsing should not make it cost much more than the signature.
func BenchmarkValidateLargeToken(b *testing.B) {
	srv, v, _ := benchSetup(b, -1)
	groups := make([]string, 200)
	for i := range groups {
		groups[i] = fmt.Sprintf("%08x-1b2c-4d3e-8f40-%012x", i, i*7919)
	}
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read", "Orders.Write"}, Groups: groups})
	ctx := ctxT(b)
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLargeTokenPaired is BenchmarkFirstValidationPaired for the
// 200-group token of BenchmarkValidateLargeToken against the 1.3 KB one,
// both without the token cache: it reports small-cpu-ns, large-cpu-ns and
// their ratio (x-small).
//
// It also measures, in the same loop, the work no validator can skip for
// the extra bytes: SHA-256 over each token's signing input and base64url
// decoding of its payload (with the validator's own decoder). floor-x-small
// is the ratio a validator would reach if everything else about the large
// token (reading its claims included) were free: small-cpu-ns plus the
// difference of the two floors, over small-cpu-ns.
func BenchmarkLargeTokenPaired(b *testing.B) {
	if _, ok := threadCPU(); !ok {
		b.Skip("no thread CPU clock on this platform")
	}
	srv, v, small := benchSetup(b, -1)
	groups := make([]string, 200)
	for i := range groups {
		groups[i] = fmt.Sprintf("%08x-1b2c-4d3e-8f40-%012x", i, i*7919)
	}
	large := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read", "Orders.Write"}, Groups: groups})
	toks := [2]string{small, large}
	// The floor's inputs are prepared outside the loop: it times only the
	// hashing and the decoding.
	var signed [2][]byte
	var payloads [2]string
	buf := make([]byte, len(large))
	for i, tok := range toks {
		dot1, dot2 := strings.IndexByte(tok, '.'), strings.LastIndexByte(tok, '.')
		signed[i], payloads[i] = []byte(tok[:dot2]), tok[dot1+1:dot2]
	}
	floor := func(i int) {
		d := sha256.Sum256(signed[i])
		if _, ok := entra.DecodeB64URL(buf, payloads[i]); !ok || d == [32]byte{} {
			b.Fatal("floor: payload is not base64url")
		}
	}
	ctx := ctxT(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var sum, floors [2]time.Duration
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for k := range 2 {
			which := k ^ (n & 1)
			t0, _ := threadCPU()
			if _, err := v.Validate(ctx, toks[which]); err != nil {
				b.Fatal(err)
			}
			t1, _ := threadCPU()
			floor(which)
			t2, _ := threadCPU()
			sum[which] += t1 - t0
			floors[which] += t2 - t1
		}
		n++
	}
	b.ReportMetric(float64(sum[0])/float64(n), "small-cpu-ns")
	b.ReportMetric(float64(sum[1])/float64(n), "large-cpu-ns")
	b.ReportMetric(float64(sum[1])/float64(sum[0]), "x-small")
	b.ReportMetric(float64(sum[0]+floors[1]-floors[0])/float64(sum[0]), "floor-x-small")
}

// BenchmarkValidateCached is a repeat validation served by the token cache.
func BenchmarkValidateCached(b *testing.B) {
	_, v, tok := benchSetup(b, 0)
	ctx := ctxT(b)
	cacheToken(b, v, tok)
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateCachedParallel measures cache hits from all cores.
func BenchmarkValidateCachedParallel(b *testing.B) {
	_, v, tok := benchSetup(b, 0)
	ctx := ctxT(b)
	cacheToken(b, v, tok)
	b.ReportAllocs()
	b.ResetTimer() // setup (keys, minting) is not measured
	defer cpuPerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Validate(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkValidateCachedParallel256 measures cache hits on 256 distinct
// tokens from all cores; run with -cpu 1,2 to see how reads scale.
func BenchmarkValidateCachedParallel256(b *testing.B) {
	srv, v, _ := benchSetup(b, 0)
	ctx := ctxT(b)
	toks := make([]string, 256)
	for i := range toks {
		toks[i] = srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"n": i}})
		cacheToken(b, v, toks[i])
	}
	b.ReportAllocs()
	b.ResetTimer() // setup (keys, minting) is not measured
	defer cpuPerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Validate(ctx, toks[i&255]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkParallelFloor256 is BenchmarkValidateCachedParallel256's floor
// run the same way: for each of the 256 tokens, the full comparison with a
// copy and one clock read, which share nothing between goroutines. Its
// throughput from 1 to 2 CPUs is what the machine itself allows; the cache
// scales as well as it does when the two ratios match.
func BenchmarkParallelFloor256(b *testing.B) {
	srv, _, _ := benchSetup(b, 0)
	toks, copies := make([]string, 256), make([]string, 256)
	for i := range toks {
		toks[i] = srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"n": i}})
		copies[i] = strings.Clone(toks[i])
	}
	start := time.Now()
	b.ResetTimer()
	defer cpuPerOp(b)()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if toks[i&255] != copies[i&255] || time.Since(start) < 0 {
				b.Error("copies differ")
				return
			}
			i++
		}
	})
}

// BenchmarkValidateRejectAlgNone measures how cheaply a forged token is refused.
func BenchmarkValidateRejectAlgNone(b *testing.B) {
	_, v, tok := benchSetup(b, -1)
	ctx := ctxT(b)
	forged := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + tok[strings.IndexByte(tok, '.'):]
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := v.Validate(ctx, forged); err == nil {
			b.Fatal("accepted alg none")
		}
	}
}

// pairedBlocks runs the functions of parts in blocks of block calls, in
// an order that rotates every iteration, and times each block on the
// thread's own CPU clock, so that the machine's drift (other load, the
// clock speed) hits every part alike. It reports each part's CPU time per
// call as <name>-cpu-ns, and returns the sums.
func pairedBlocks(b *testing.B, block int, names []string, parts []func()) []time.Duration {
	b.Helper()
	if _, ok := threadCPU(); !ok {
		b.Skip("no thread CPU clock on this platform")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sums := make([]time.Duration, len(parts))
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for k := range parts {
			which := (k + n) % len(parts)
			t0, _ := threadCPU()
			for range block {
				parts[which]()
			}
			t1, _ := threadCPU()
			sums[which] += t1 - t0
		}
		n++
	}
	for k, name := range names {
		b.ReportMetric(float64(sums[k])/float64(n*block), name+"-cpu-ns")
	}
	return sums
}

// BenchmarkCacheHitPaired puts a cache hit beside the two things no hit
// can skip: comparing the presented token with the cached one in full (a
// token is never matched by its hash or signature alone) and one
// monotonic clock read (an entry is used only before its exp), in
// alternating blocks (see pairedBlocks). x-floor is the hit's cost over
// the floor's. The token presented is a fresh copy, as a request's header
// is, so neither comparison can succeed on pointer equality.
func BenchmarkCacheHitPaired(b *testing.B) {
	_, v, tok := benchSetup(b, 0)
	ctx := ctxT(b)
	cacheToken(b, v, tok)
	fresh, other := strings.Clone(tok), strings.Clone(tok)
	start := time.Now()
	late := 0
	sums := pairedBlocks(b, 256, []string{"hit", "floor"}, []func(){
		func() {
			if _, err := v.Validate(ctx, fresh); err != nil {
				b.Fatal(err)
			}
		},
		func() {
			if fresh != other || time.Since(start) < 0 {
				late++
			}
		},
	})
	if late != 0 {
		b.Fatal("copies differ")
	}
	b.ReportMetric(float64(sums[0])/float64(sums[1]), "x-floor")
}

// BenchmarkMiddlewareParts splits what the net/http middleware costs on a
// cache hit, with a handler that does nothing, in alternating blocks (see
// pairedBlocks): hit is Validator.Validate alone; authenticate adds
// finding the token, the default policy and the claims' context (one
// allocation); middleware is all of it, r.WithContext included; and
// withcontext is that copy of the *http.Request alone, which net/http
// needs for a handler to see a new context. middleware-cpu-ns is what the
// middleware adds to a request; withcontext-cpu-ns is the part of it no
// net/http middleware that hands on a context can avoid.
func BenchmarkMiddlewareParts(b *testing.B) {
	_, v, tok := benchSetup(b, 0)
	r := httptest.NewRequest("GET", "http://api.test/orders", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	ctx := r.Context()
	cacheToken(b, v, tok)
	fresh := strings.Clone(tok)
	a := entra.NewAuthenticator(v)
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mw := entra.Middleware(v)(nop)
	w := httptest.NewRecorder()
	vctx := entra.NewContext(ctx, nil)
	pairedBlocks(b, 64, []string{"hit", "authenticate", "middleware", "withcontext"}, []func(){
		func() {
			if _, err := v.Validate(ctx, fresh); err != nil {
				b.Fatal(err)
			}
		},
		func() {
			if _, resp := a.Authenticate(ctx, entra.HTTPRequest{R: r}); resp != nil {
				b.Fatal(resp.Err)
			}
		},
		func() { mw.ServeHTTP(w, r) },
		func() { sinkRequest = r.WithContext(vctx) },
	})
	if w.Code != http.StatusOK {
		b.Fatal(w.Code)
	}
}

var sinkRequest *http.Request

// firstSightPool is how many distinct tokens the first-sight benchmarks
// cycle through: each is validated once per Validator, and a fresh
// Validator (with the default, empty cache) takes over when all have been.
const firstSightPool = 2048

// firstSight holds tokens never seen by the Validator in use, and the
// inputs of the stock verify of each (its signing input and signature,
// decoded outside the loop).
type firstSight struct {
	srv    *entratest.Server
	v      *entra.Validator
	pub    *rsa.PublicKey
	toks   []string
	signed [][]byte
	sigs   [][]byte
	next   int
}

// newFirstSight mints firstSightPool distinct user tokens (distinct oid
// and uti, ~1.3 KB like benchSetup's) and starts a Validator with the
// default configuration: the token cache on, a new token's fingerprint
// recorded (it is stored from its second sight).
func newFirstSight(b *testing.B) *firstSight {
	b.Helper()
	srv := entratest.NewServer()
	b.Cleanup(srv.Close)
	f := &firstSight{srv: srv}
	for i := range firstSightPool {
		tok := srv.Mint(entratest.Token{
			Scopes:   []string{"Orders.Read", "Orders.Write"},
			ObjectID: fmt.Sprintf("%08x-7c1d-4e2f-9a3b-%012x", i, i*104729),
		})
		dot := strings.LastIndexByte(tok, '.')
		sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
		if err != nil {
			b.Fatal(err)
		}
		f.toks = append(f.toks, tok)
		f.signed = append(f.signed, []byte(tok[:dot]))
		f.sigs = append(f.sigs, sig)
	}
	f.renew(b)
	f.pub = f.v.Keys()[0].PublicKey.(*rsa.PublicKey)
	return f
}

// renew replaces the Validator with a fresh one of the default
// configuration (after checking the old one kept none of the tokens it saw
// once: a first sight only records a fingerprint), with its keys loaded.
// The timer is stopped meanwhile.
func (f *firstSight) renew(b *testing.B) {
	b.Helper()
	if f.v != nil {
		if got := f.v.Stats().CachedTokens; got != 0 {
			b.Fatalf("the cache holds %d tokens after %d first sights: a first sight stored its token", got, f.next)
		}
		f.v.Close()
	}
	cfg := f.srv.Config() // CacheSize and CacheMaxBytes: the defaults
	cfg.Logger = slog.New(slog.DiscardHandler)
	v, err := entra.NewValidator(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(v.Close)
	if err := v.Ready(ctxT(b)); err != nil {
		b.Fatal(err)
	}
	f.v, f.next = v, 0
}

// token returns the index of a token the Validator has never seen,
// renewing the Validator (timer stopped) when the pool is used up.
func (f *firstSight) token(b *testing.B) int {
	if f.next == len(f.toks) {
		b.StopTimer()
		f.renew(b)
		b.StartTimer()
	}
	f.next++
	return f.next - 1
}

// BenchmarkFirstSightDefault is the first validation of a token with the
// default configuration: a cache miss that records the token's
// fingerprint (see Config.CacheFirstSight). Run it with
// -benchmem for the allocations of a first sight.
func BenchmarkFirstSightDefault(b *testing.B) {
	f := newFirstSight(b)
	ctx := ctxT(b)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for b.Loop() {
		if _, err := f.v.Validate(ctx, f.toks[f.token(b)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFirstSightDefaultPaired is BenchmarkFirstValidationPaired for
// the default configuration: every iteration validates a token the
// Validator has never seen (a cache miss that records its fingerprint; see firstSight)
// and runs the stock sha256.Sum256 + rsa.VerifyPKCS1v15 of the same token,
// each timed on the thread's CPU clock, in an order that rotates every
// iteration. It reports raw-cpu-ns, first-cpu-ns and their ratio (x-raw).
//
// A third part is the floor of any cache: Validate on a Validator without
// the token cache, keeping what a cache has to keep of each new token (its
// claims and a copy of the token, until the pool is used up, as a cache
// that stores every new token does). keep-cpu-ns and keep-x-raw are its cost; first-x-keep is the
// default's over it, what the cache adds beyond keeping the token. The
// difference between keep-x-raw and BenchmarkFirstValidationPaired's x-raw
// is the cost of the memory kept: the fresh heap pages a growing heap has
// to fault in, and the garbage collector's work on it.
//
// A fourth part is the floor of the default's first sight: Validate on a
// Validator without the token cache, its claims dropped (off-cpu-ns,
// off-x-raw; first-x-off is the default's over it).
//
// Before each part, the bytes it reads (the token, or the stock verify's
// signing input and signature) are brought into the CPU's cache outside the
// timing (see warm), as a request's token is when it has just been read:
// otherwise, with 2,048 tokens of 1.3 KB, whichever part reads a token
// first pays the cache misses for the parts after it.
//
// Where the thread's page faults can be counted (Linux), it reports them
// per call of each part (raw-faults, first-faults, keep-faults, off-faults).
//
// allocs/op counts all four parts (BenchmarkFirstSightDefault counts the
// default's first sight alone).
func BenchmarkFirstSightDefaultPaired(b *testing.B) {
	if _, ok := threadCPU(); !ok {
		b.Skip("no thread CPU clock on this platform")
	}
	f := newFirstSight(b)
	ctx := ctxT(b)
	cfg := f.srv.Config()
	cfg.CacheSize = -1
	cfg.Logger = slog.New(slog.DiscardHandler)
	off := newValidator(b, cfg)
	if err := off.Ready(ctx); err != nil {
		b.Fatal(err)
	}
	type kept struct {
		c   *entra.Claims
		tok string
	}
	keep := make([]kept, 0, firstSightPool)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var sum [4]time.Duration
	var faults [4]int64
	_, countFaults := threadFaults()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		j := f.token(b)
		if j == 0 {
			clear(keep) // with the Validator the cache is renewed for
			keep = keep[:0]
		}
		for k := range 4 {
			which := (k + n) % 4
			if which == 0 {
				warm(f.signed[j])
				warm(f.sigs[j])
			} else {
				warmString(f.toks[j])
			}
			f0, _ := threadFaults()
			t0, _ := threadCPU()
			switch which {
			case 0:
				d := sha256.Sum256(f.signed[j])
				if err := rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, d[:], f.sigs[j]); err != nil {
					b.Fatal(err)
				}
			case 1:
				if _, err := f.v.Validate(ctx, f.toks[j]); err != nil {
					b.Fatal(err)
				}
			case 2:
				c, err := off.Validate(ctx, f.toks[j])
				if err != nil {
					b.Fatal(err)
				}
				keep = append(keep, kept{c, strings.Clone(f.toks[j])})
			default:
				if _, err := off.Validate(ctx, f.toks[j]); err != nil {
					b.Fatal(err)
				}
			}
			t1, _ := threadCPU()
			f1, _ := threadFaults()
			sum[which] += t1 - t0
			faults[which] += f1 - f0
		}
		n++
	}
	b.ReportMetric(float64(sum[0])/float64(n), "raw-cpu-ns")
	b.ReportMetric(float64(sum[1])/float64(n), "first-cpu-ns")
	b.ReportMetric(float64(sum[2])/float64(n), "keep-cpu-ns")
	b.ReportMetric(float64(sum[1])/float64(sum[0]), "x-raw")
	b.ReportMetric(float64(sum[2])/float64(sum[0]), "keep-x-raw")
	b.ReportMetric(float64(sum[1])/float64(sum[2]), "first-x-keep")
	b.ReportMetric(float64(sum[3])/float64(n), "off-cpu-ns")
	b.ReportMetric(float64(sum[3])/float64(sum[0]), "off-x-raw")
	b.ReportMetric(float64(sum[1])/float64(sum[3]), "first-x-off")
	if countFaults {
		for k, name := range []string{"raw", "first", "keep", "off"} {
			b.ReportMetric(float64(faults[k])/float64(n), name+"-faults")
		}
	}
}

var sinkByte byte

// warm reads a byte of every 64 of p, so that p is in the CPU's cache.
func warm(p []byte) {
	for i := 0; i < len(p); i += 64 {
		sinkByte += p[i]
	}
}

// warmString is warm for a string.
func warmString(s string) {
	for i := 0; i < len(s); i += 64 {
		sinkByte += s[i]
	}
}
