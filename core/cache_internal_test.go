package entra

import (
	"crypto/sha256"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entraguard/entraguard/core/internal/jose"
)

// fakeToken returns a JWT-shaped string whose signature is random, as a
// real one is, with a payload of about payload bytes.
func fakeToken(r *rand.Rand, payload int) string {
	sig := make([]byte, 256)
	for i := range sig {
		sig[i] = byte(r.Uint32())
	}
	return "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("x", payload) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func fakeClaims(exp time.Time, payload int, groups int) *Claims {
	c := &Claims{raw: strings.Repeat("p", payload), expires: exp}
	if groups > 0 {
		r := jose.NewReader("[" + strings.Repeat(`"00000000-0000-0000-0000-000000000000",`, groups-1) + `"00000000-0000-0000-0000-000000000000"]`)
		var err error
		if c.groups, err = r.StringList(); err != nil {
			panic(err)
		}
	}
	return c
}

// putAt caches cl until its exp, on a cache clock in UnixNano.
func putAt(c *tokenCache, tok string, cl *Claims, gen uint64, now int64) {
	c.put(tok, cl, gen, now, cl.expires.UnixNano())
}

// seeAt is what Validate does with a token that validated and missed the
// cache: store it if it is admitted, else record its fingerprint.
func seeAt(c *tokenCache, tok string, cl *Claims, gen uint64, now int64) {
	if h := c.hashString(tok); c.admits(h) {
		putAt(c, tok, cl, gen, now)
	} else {
		c.sighted(h)
	}
}

// checkAccounting verifies that the counters equal what the buckets hold.
func checkAccounting(t *testing.T, c *tokenCache) {
	t.Helper()
	n, bytes := 0, 0
	for i := range c.buckets {
		if b := c.buckets[i].Load(); b != nil {
			for _, e := range *b {
				n++
				bytes += e.cost
			}
		}
	}
	if n != c.len() || bytes != c.usedBytes() {
		t.Fatalf("cache holds %d entries of %d bytes but counts %d of %d", n, bytes, c.len(), c.usedBytes())
	}
	if n > c.maxEntries || bytes > c.maxBytes {
		t.Fatalf("cache holds %d entries of %d bytes, over its bounds %d and %d", n, bytes, c.maxEntries, c.maxBytes)
	}
}

// With a working set as large as the cache, every token fits: the shards
// (buckets) share one budget instead of each holding 1/16 of it.
func TestCacheHoldsWorkingSetOfItsSize(t *testing.T) {
	const size = 10000
	r := rand.New(rand.NewPCG(1, 2))
	c := newTokenCache(size, DefaultCacheMaxBytes, true)
	exp := time.Now().Add(time.Hour)
	now := time.Now().UnixNano()
	toks := make([]string, size)
	for i := range toks {
		toks[i] = fakeToken(r, 900)
		putAt(c, toks[i], fakeClaims(exp, 700, 0), 1, now)
	}
	hits := 0
	for _, tok := range toks {
		if c.get(c.hashString(tok), tok, now, 1) != nil {
			hits++
		}
	}
	if hits < size*99/100 {
		t.Fatalf("hit rate %.2f%% at working set = size, want >= 99%%", 100*float64(hits)/size)
	}
	checkAccounting(t, c)
}

// The byte budget holds: entries are evicted to stay under it, and an
// entry above 1/512 of it is not cached.
func TestCacheBoundedInBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const budget = 4 << 20
	c := newTokenCache(10000, budget, true)
	exp := time.Now().Add(time.Hour)
	now := time.Now().UnixNano()
	var last string
	for range 3000 {
		last = fakeToken(r, 600)
		putAt(c, last, fakeClaims(exp, 450, 20), 1, now)
	}
	checkAccounting(t, c)
	if c.usedBytes() < budget*9/10 {
		t.Fatalf("cache uses %d of %d bytes after 3000 inserts; want it nearly full", c.usedBytes(), budget)
	}
	if c.get(c.hashString(last), last, now, 1) == nil {
		t.Fatal("the newest entry was not cached")
	}
	big := fakeToken(r, budget/maxEntryShare)
	putAt(c, big, fakeClaims(exp, 100, 0), 1, now)
	if c.get(c.hashString(big), big, now, 1) != nil {
		t.Fatal("an entry above 1/512 of the budget was cached")
	}
	checkAccounting(t, c)
}

// An entry's cost counts its token, claims and overhead: at least twice a
// token's size for a token whose claims keep their JSON.
func TestCacheEntryCost(t *testing.T) {
	tok := fakeToken(rand.New(rand.NewPCG(5, 6)), 1000)
	c := fakeClaims(time.Now(), 1000, 10)
	got := entryCost(tok, c)
	if got < len(tok)+1000+10*16 {
		t.Fatalf("entry cost %d is less than what it keeps", got)
	}
	// The slices and the cnf a bound or stepped-up token keeps count too.
	c.acrs = []string{"c1", "c2"}
	c.cnf = &confirmation{}
	if more := entryCost(tok, c); more < got+2*16+sha256.Size {
		t.Fatalf("entry cost %d with acrs and cnf, %d without: they are not counted", more, got)
	}
}

// Expired and stale entries are never served, and are the first evicted.
func TestCacheExpiredAndStale(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	c := newTokenCache(16, DefaultCacheMaxBytes, true)
	now := time.Now()
	tok := fakeToken(r, 100)
	putAt(c, tok, fakeClaims(now.Add(time.Minute), 100, 0), 1, now.UnixNano())
	if c.get(c.hashString(tok), tok, now.UnixNano(), 1) == nil {
		t.Fatal("fresh entry not served")
	}
	if c.get(c.hashString(tok), tok, now.Add(time.Minute).UnixNano(), 1) != nil {
		t.Fatal("entry served at its exp")
	}
	if c.get(c.hashString(tok), tok, now.UnixNano(), 2) != nil {
		t.Fatal("entry served for another key generation")
	}
	// A token already expired is not cached.
	old := fakeToken(r, 100)
	putAt(c, old, fakeClaims(now.Add(-time.Second), 100, 0), 1, now.UnixNano())
	if c.get(c.hashString(old), old, now.Add(-time.Hour).UnixNano(), 1) != nil {
		t.Fatal("an expired token was cached")
	}
	// Filling the cache with generation 2 evicts one entry at most (the
	// stale one when the eviction's sample finds it).
	var fresh []string
	for range 16 {
		f := fakeToken(r, 100)
		fresh = append(fresh, f)
		putAt(c, f, fakeClaims(now.Add(time.Hour), 100, 0), 2, now.UnixNano())
	}
	kept := 0
	for _, f := range fresh {
		if c.get(c.hashString(f), f, now.UnixNano(), 2) != nil {
			kept++
		}
	}
	if kept < 15 {
		t.Fatalf("%d of 16 fresh entries kept in a cache of 16", kept)
	}
	checkAccounting(t, c)
	c.clear()
	if c.len() != 0 || c.usedBytes() != 0 {
		t.Fatalf("clear left %d entries, %d bytes", c.len(), c.usedBytes())
	}
}

// Lookups (lock-free), inserts, evictions and flushes at once: -race and
// the accounting check afterwards.
func TestCacheConcurrent(t *testing.T) {
	c := newTokenCache(200, 1<<20, true)
	exp := time.Now().Add(time.Hour)
	now := time.Now().UnixNano()
	var toks []string
	r := rand.New(rand.NewPCG(9, 10))
	for range 400 {
		toks = append(toks, fakeToken(r, 300))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				tok := toks[(i*7+g*13)%len(toks)]
				cl := c.get(c.hashString(tok), tok, now, 1)
				if cl == nil {
					putAt(c, tok, fakeClaims(exp, 200, g), 1, now)
				} else if !cl.expires.Equal(exp) {
					t.Error("wrong entry")
					return
				}
				if g == 0 && i%500 == 0 {
					c.clear()
				}
			}
		})
	}
	for g := range 2 {
		wg.Go(func() {
			for i := range 2000 {
				c.getBytes([]byte(toks[(i+g)%len(toks)]), now, 1)
			}
		})
	}
	wg.Wait()
	checkAccounting(t, c)
}

// With admission on second sight (the default) and a working set as large
// as the cache, the first pass stores nothing, the second stores the
// tokens whose fingerprint no other token overwrote (99 in 100), and the
// third the rest: from then on, every token is a hit. Two tokens that
// share a slot do not lock each other out.
func TestCacheAdmitsOnSecondSight(t *testing.T) {
	const size = 10000
	c := newTokenCache(size, DefaultCacheMaxBytes, false)
	now := time.Now().UnixNano()
	toks, claims := workingSet(rand.New(rand.NewPCG(5, 6)), size)
	for pass, least := range []int{0, size * 95 / 100, size * 999 / 1000} {
		for i, tok := range toks {
			if c.get(c.hashString(tok), tok, now, 1) == nil {
				seeAt(c, tok, claims[i], 1, now)
			}
		}
		n := c.len()
		if pass == 0 && n != 0 {
			t.Fatalf("after one sight of each token the cache holds %d", n)
		}
		if n < least {
			t.Fatalf("after %d passes the cache holds %d of %d tokens, want at least %d", pass+1, n, size, least)
		}
	}
	checkAccounting(t, c)
}

// BenchmarkCacheHitRate cycles through a working set as large as the
// cache (10,000 tokens, the default size) with the default admission: each
// miss is stored if the token was seen before, else its fingerprint is
// recorded. Two passes (every token's first and second sight) run before
// the loop. It reports the share of tokens the second sight stored
// (admitted%) and the loop's hit rate from the third sight on (hit%):
// 100 % means the cache holds what it is told to.
func BenchmarkCacheHitRate(b *testing.B) {
	const size = DefaultCacheSize
	c := newTokenCache(size, DefaultCacheMaxBytes, false)
	now := time.Now().UnixNano()
	toks, claims := workingSet(rand.New(rand.NewPCG(11, 12)), size)
	for range 2 {
		for i, tok := range toks {
			seeAt(c, tok, claims[i], 1, now)
		}
	}
	admitted := 100 * float64(c.len()) / size // reported after the loop, which clears metrics
	hits, n := 0, 0
	b.ReportAllocs()
	for b.Loop() {
		i := n % size
		if c.get(c.hashString(toks[i]), toks[i], now, 1) != nil {
			hits++
		} else {
			seeAt(c, toks[i], claims[i], 1, now)
		}
		n++
	}
	b.ReportMetric(100*float64(hits)/float64(n), "hit%")
	b.ReportMetric(admitted, "admitted%")
}

// get returns the claims cached for token (with hash h) if they are for
// key generation gen and have not expired at now: the checks
// Validator.cacheGet makes, on a clock the test sets.
func (c *tokenCache) get(h uint64, token string, now int64, gen uint64) *Claims {
	e := c.lookup(h, token)
	if e == nil || e.gen != gen || now >= e.exp {
		return nil
	}
	return e.claims
}

// getBytes is get for a token lent as bytes (Validator.cachedBytes).
func (c *tokenCache) getBytes(token []byte, now int64, gen uint64) *Claims {
	e := c.lookupBytes(token)
	if e == nil || e.gen != gen || now >= e.exp {
		return nil
	}
	return e.claims
}

// workingSet returns n fake tokens of 900 bytes and their claims of 700,
// valid for an hour: a working set for the admission tests.
func workingSet(r *rand.Rand, n int) ([]string, []*Claims) {
	exp := time.Now().Add(time.Hour)
	toks := make([]string, n)
	claims := make([]*Claims, n)
	for i := range toks {
		toks[i] = fakeToken(r, 900)
		claims[i] = fakeClaims(exp, 700, 0)
	}
	return toks, claims
}
