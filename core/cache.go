package entra

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// tokenCache remembers successful validations, keyed by the whole token
// string (never by the signature alone). An entry is used only before the
// token's exp (skew does not extend it) and only while the key set is the
// one it was validated with; the cache is flushed when the keys change.
// Failures are never cached. Claims are immutable, so entries are shared.
//
// It is bounded twice: at most maxEntries entries and maxBytes bytes, as
// counted by entryCost; an entry larger than maxEntry is not cached at all.
// When full, an insert evicts expired or stale entries, else one chosen at
// random.
//
// Reads take no lock and write nothing shared: a bucket is an immutable
// slice of entries (held by value) published through an atomic pointer,
// and writers (under one of cacheLocks striped locks) replace it with a
// copy. At full size a bucket holds one entry on average, so the copy is
// short, and a bucket of one entry is a single allocation (see newBucket). The bucket is chosen by
// a seeded hash of 16 characters of the signature, which is uniformly
// distributed and, since only validated tokens are inserted, not chosen by
// a caller; a lookup always compares the whole token.
//
// Unless Config.CacheFirstSight is set, a token is cached from its second
// successful validation, not its first (admission on second sight, the
// "doorkeeper" of TinyLFU): the first only stores a 64-bit fingerprint of
// the token (its bucket hash) in door, a direct-mapped table of atomic
// words that never grows and never allocates. A token seen once, the bulk
// of a busy API's distinct tokens when each client presents its token
// once or twice, then keeps no memory: what makes a first sight dearer
// than a validation without the cache is the memory a new entry keeps
// (the token, its payload and claims, on fresh pages). The fingerprint
// only decides whether a validated token is stored; a lookup still
// compares the whole token, and a colliding fingerprint at worst caches a
// token one validation early.
type tokenCache struct {
	buckets    []atomic.Pointer[[]cacheEntry]
	mask       uint64
	seed0      uint64
	seed1      uint64
	seed       maphash.Seed // for tokens too short for the fast hash
	maxEntries int
	maxBytes   int
	maxEntry   int // largest entry cached, in bytes

	door     []atomic.Uint64 // fingerprints of tokens validated once; nil: cache from the first sight
	doorMask uint64

	locks [cacheLocks]paddedMutex

	acct    sync.Mutex // guards entries and used; taken after a bucket lock, never before
	entries int
	used    int
	count   atomic.Int64 // entries, for len without the lock
}

const (
	cacheLocks = 64
	// maxBucket bounds a bucket's length (a bucket is copied on every
	// insert). At full size buckets hold one entry on average; a longer
	// chain means many equal hashes, and the token is then not cached.
	maxBucket = 16
	// maxEntryShare: an entry may use at most 1/maxEntryShare of maxBytes.
	maxEntryShare = 512
	// entryOverhead is what an entry costs besides its token and claims:
	// the entry, its pointer in a bucket and the bucket's share of the
	// table, rounded up.
	entryOverhead = int(unsafe.Sizeof(cacheEntry{})) + 64
)

type paddedMutex struct {
	sync.Mutex
	_ [64 - unsafe.Sizeof(sync.Mutex{})]byte
}

type cacheEntry struct {
	token  string
	hash   uint64
	claims *Claims
	exp    int64 // the token's exp on the cache's clock (see cacheNow)
	gen    uint64
	cost   int
}

// monoBase is the origin of the cache's monotonic clock.
var monoBase = time.Now()

// cacheNow is the time on the cache's clock, in nanoseconds. With the
// default clock it is monotonic time since monoBase: one clock read
// instead of time.Now's two (wall and monotonic), and immune to the wall
// clock being set back, which would otherwise extend every entry. With
// Config.Now it is that clock's UnixNano, so a fake clock rules the cache.
func (v *Validator) cacheNow() int64 {
	if v.monoClock {
		return int64(time.Since(monoBase))
	}
	return v.s.now().UnixNano()
}

// cacheDeadline converts the validation time now (from Config.Now or
// time.Now) and a token's exp to the cache's clock. With the default clock
// the deadline is now's monotonic reading plus the time exp was ahead of
// now's wall reading: the entry lives exactly as long as the token had
// left when it was validated.
func (v *Validator) cacheDeadline(now, exp time.Time) (at, dead int64) {
	if v.monoClock {
		at = int64(now.Sub(monoBase)) // both carry monotonic readings
		return at, at + int64(exp.Sub(now))
	}
	return now.UnixNano(), exp.UnixNano()
}

// doorPerBucket is how many doorkeeper slots (8 bytes each) there are per
// bucket: 64 Ki slots, 512 KiB, with the default CacheSize. With a working
// set as large as the cache, at most a quarter of the slots are in use.
const doorPerBucket = 4

func newTokenCache(maxEntries, maxBytes int, firstSight bool) *tokenCache {
	// About one bucket per entry that fits, and a power of two.
	n := min(maxEntries, maxBytes/512, 1<<22)
	n = 1 << bits.Len(uint(max(n, 16)-1))
	c := &tokenCache{
		buckets:    make([]atomic.Pointer[[]cacheEntry], n),
		mask:       uint64(n - 1),
		seed0:      rand.Uint64(),
		seed1:      rand.Uint64(),
		seed:       maphash.MakeSeed(),
		maxEntries: maxEntries,
		maxBytes:   maxBytes,
		maxEntry:   maxBytes / maxEntryShare,
	}
	if !firstSight {
		d := min(n*doorPerBucket, 1<<20)
		c.door = make([]atomic.Uint64, d)
		c.doorMask = uint64(d - 1)
	}
	c.prefault()
	return c
}

// prefault writes one word of every page of the bucket and doorkeeper
// tables, so that the pages are mapped when the Validator is made and not
// by the first validations (a first sight that touches a fresh page of the
// doorkeeper pays for the page fault, about 7 % of a validation on a VM;
// BenchmarkFirstSightDefaultPaired's first-x-off).
func (c *tokenCache) prefault() {
	const perPage = 4096 / 8
	for i := 0; i < len(c.buckets); i += perPage {
		c.buckets[i].Store(nil)
	}
	for i := 0; i < len(c.door); i += perPage {
		c.door[i].Store(0)
	}
}

// entryCost is what an entry keeps in memory: the token (the cache's own
// copy, which shares one allocation with the payload; see ownedPayload), the
// claims with the payload JSON they keep, the slices they hold and the
// cache's overhead. Strings inside the payload are substrings of it.
func entryCost(token string, c *Claims) int {
	const str = int(unsafe.Sizeof(""))
	n := len(token) + int(unsafe.Sizeof(*c)) + len(c.raw) + entryOverhead
	n += str * (len(c.audience) + len(c.scopes) + len(c.roles) + c.groups.Len() + len(c.wids) + len(c.xmsCC) + len(c.amr) + len(c.acrs))
	if c.cnf != nil {
		n += int(unsafe.Sizeof(*c.cnf))
	}
	n += int(unsafe.Sizeof(Facet(0))) * (len(c.ext.actFct) + len(c.ext.subFct) + len(c.ext.tntFct))
	n += int(unsafe.Sizeof(IdentityRelation(0))) * len(c.ext.idrel)
	return n
}

// hashString hashes token for the bucket choice. For a JWT's length it
// reads the 16 characters before the last one (the last character of a
// signature holds only a few bits).
func (c *tokenCache) hashString(s string) uint64 {
	n := len(s)
	if n < 32 {
		return maphash.String(c.seed, s)
	}
	a := le64(s[n-17:])
	b := le64(s[n-9:])
	return mix(a^c.seed0, b^c.seed1^uint64(n))
}

func (c *tokenCache) hashBytes(s []byte) uint64 {
	n := len(s)
	if n < 32 {
		return maphash.Bytes(c.seed, s)
	}
	a := le64b(s[n-17:])
	b := le64b(s[n-9:])
	return mix(a^c.seed0, b^c.seed1^uint64(n))
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b^0x9e3779b97f4a7c15)
	return hi ^ lo
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le64b(s []byte) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// lookup returns the entry for token in bucket h, or nil. It reads one
// atomic pointer and an immutable slice.
func (c *tokenCache) lookup(h uint64, token string) *cacheEntry {
	b := c.buckets[h&c.mask].Load()
	if b == nil {
		return nil
	}
	for i := range *b {
		if e := &(*b)[i]; e.hash == h && e.token == token {
			return e
		}
	}
	return nil
}

// doorWays is how many slots of the doorkeeper a fingerprint may take:
// one 64-byte cache line of them, so that a first sight costs one memory
// access of the doorkeeper. With a working set as large as the cache
// (a sixth of the slots with the default sizes, at most a quarter; see
// doorPerBucket), a set is full, and a fingerprint overwrites another,
// for about one token in 250,000 (one in 10,000 at a quarter); that token
// is cached from a later sight.
const doorWays = 8

// doorSet returns the doorkeeper slots a token with hash h may take,
// chosen by bits of h that the bucket index does not use.
func (c *tokenCache) doorSet(h uint64) []atomic.Uint64 {
	i := (h >> 40) & c.doorMask &^ (doorWays - 1)
	return c.door[i : i+doorWays : i+doorWays]
}

// admits reports whether a token with hash h (see hashString) is to be
// cached when it validates: with CacheFirstSight always, else when its
// fingerprint was recorded by an earlier successful validation. It then
// frees the fingerprint's slot: the cache holds the token from now on.
func (c *tokenCache) admits(h uint64) bool {
	if c.door == nil {
		return true
	}
	fp := h | 1
	set := c.doorSet(h)
	for i := range set {
		if set[i].Load() == fp {
			return set[i].CompareAndSwap(fp, 0)
		}
	}
	return false
}

// sighted records the fingerprint of a validated token with hash h that
// was not admitted, so that its next validation caches it: in an empty
// slot of its set, else in one chosen at random (a fixed choice would let
// tokens that take turns overwrite each other for ever, and none would
// ever be cached).
func (c *tokenCache) sighted(h uint64) {
	fp := h | 1
	set := c.doorSet(h)
	for i := range set {
		switch set[i].Load() {
		case fp:
			return
		case 0:
			if set[i].CompareAndSwap(0, fp) {
				return
			}
		}
	}
	set[rand.IntN(doorWays)].Store(fp)
}

// get returns the claims cached for token (with hash h) if they are for
// key generation gen and the token has not expired on the cache's clock,
// and the clock's reading; the clock is read only when token is in the
// cache (a miss, a first sight, needs no reading).
func (v *Validator) cacheGet(h uint64, token string, gen uint64) (*Claims, int64) {
	e := v.cache.lookup(h, token)
	if e == nil {
		return nil, 0
	}
	now := v.cacheNow()
	if e.gen != gen || now >= e.exp {
		return nil, now
	}
	return e.claims, now
}

// lookupBytes is lookup for a token lent as bytes: the comparison
// converts without allocating, and nothing of token is kept.
func (c *tokenCache) lookupBytes(token []byte) *cacheEntry {
	h := c.hashBytes(token)
	b := c.buckets[h&c.mask].Load()
	if b == nil {
		return nil
	}
	for i := range *b {
		if e := &(*b)[i]; e.hash == h && e.token == string(token) {
			return e
		}
	}
	return nil
}

func (c *tokenCache) lock(i uint64) *paddedMutex { return &c.locks[i%cacheLocks] }

// newBucket returns an empty bucket with room for n entries. A bucket of
// one entry, the usual size, is one allocation: its slice header and its
// entry share it.
func newBucket(n int) *[]cacheEntry {
	if n <= 1 {
		b := &struct {
			s   []cacheEntry
			one [1]cacheEntry
		}{}
		b.s = b.one[:0]
		return &b.s
	}
	s := make([]cacheEntry, 0, n)
	return &s
}

// put caches claims for token, validated with key generation gen at now,
// until exp (both on the cache's clock). A token whose entry is larger
// than maxEntry is not cached.
//
// The cache keeps token as it is: it must be a string of the cache's own,
// never one that aliases a caller's buffer (which a caller may reuse, or
// which may be much larger than the token). Validate passes the copy it
// made along with the claims' payload (see ownedPayload), so that a first
// sight copies the token once, in the claims' allocation.
func (c *tokenCache) put(token string, claims *Claims, gen uint64, now, exp int64) {
	if exp <= now {
		return
	}
	cost := entryCost(token, claims)
	if cost > c.maxEntry {
		return
	}
	h := c.hashString(token)
	if e := c.lookup(h, token); e != nil && e.gen == gen && e.exp > now {
		return // a concurrent miss of the same token cached it already
	}
	if !c.reserve(cost, gen, now) {
		return
	}
	i := h & c.mask
	mu := c.lock(i)
	mu.Lock()
	var old []cacheEntry
	if b := c.buckets[i].Load(); b != nil {
		old = *b
	}
	nb := newBucket(len(old) + 1)
	freed, dropped := 0, 0
	for _, e := range old {
		if (e.hash == h && e.token == token) || e.exp <= now || e.gen != gen {
			freed += e.cost
			dropped++
			continue
		}
		*nb = append(*nb, e)
	}
	added := len(*nb) < maxBucket
	if added {
		*nb = append(*nb, cacheEntry{token: token, hash: h, claims: claims, exp: exp, gen: gen, cost: cost})
	}
	if added || dropped > 0 {
		c.buckets[i].Store(nb)
	}
	mu.Unlock()
	if !added {
		freed += cost
		dropped++
	}
	c.release(dropped, freed)
}

// reserve makes room for an entry of cost bytes and counts it, evicting
// as needed. It fails when nothing can be evicted.
func (c *tokenCache) reserve(cost int, gen uint64, now int64) bool {
	for range 4 * maxEntryShare {
		c.acct.Lock()
		if c.entries < c.maxEntries && c.used+cost <= c.maxBytes {
			c.entries++
			c.used += cost
			c.count.Store(int64(c.entries))
			c.acct.Unlock()
			return true
		}
		c.acct.Unlock()
		if !c.evictOne(gen, now) {
			return false
		}
	}
	return false
}

func (c *tokenCache) release(entries, bytes int) {
	if entries == 0 {
		return
	}
	c.acct.Lock()
	c.entries -= entries
	c.used -= bytes
	c.count.Store(int64(c.entries))
	c.acct.Unlock()
}

// evictSample is how many non-empty buckets evictOne looks at for an
// expired or stale entry before it evicts one at random.
const evictSample = 8

// evictOne removes one entry: an expired or stale one (with the others of
// its bucket) if one of evictSample non-empty buckets after a random one
// holds any, else the oldest entry of the first of them.
func (c *tokenCache) evictOne(gen uint64, now int64) bool {
	start := rand.Uint64()
	victim, seen := uint64(0), 0
	for j := uint64(0); j <= c.mask && seen < evictSample; j++ {
		i := (start + j) & c.mask
		b := c.buckets[i].Load()
		if b == nil || len(*b) == 0 {
			continue
		}
		if seen == 0 {
			victim = i
		}
		seen++
		for _, e := range *b {
			if e.exp <= now || e.gen != gen {
				victim, seen = i, evictSample
				break
			}
		}
	}
	if seen == 0 {
		return false
	}
	mu := c.lock(victim)
	mu.Lock()
	b := c.buckets[victim].Load()
	if b == nil || len(*b) == 0 {
		mu.Unlock()
		return true // emptied meanwhile: the caller tries again
	}
	old := *b
	nb := newBucket(len(old))
	freed, dropped := 0, 0
	for _, e := range old {
		if e.exp <= now || e.gen != gen {
			freed += e.cost
			dropped++
			continue
		}
		*nb = append(*nb, e)
	}
	if dropped == 0 {
		freed, dropped = (*nb)[0].cost, 1
		*nb = (*nb)[1:]
	}
	if len(*nb) == 0 {
		c.buckets[victim].Store(nil)
	} else {
		c.buckets[victim].Store(nb)
	}
	mu.Unlock()
	c.release(dropped, freed)
	return true
}

func (c *tokenCache) clear() {
	for i := range c.buckets {
		if c.buckets[i].Load() == nil {
			continue
		}
		mu := c.lock(uint64(i))
		mu.Lock()
		b := c.buckets[i].Swap(nil)
		mu.Unlock()
		if b != nil {
			freed := 0
			for _, e := range *b {
				freed += e.cost
			}
			c.release(len(*b), freed)
		}
	}
}

func (c *tokenCache) len() int { return int(c.count.Load()) }

// usedBytes returns the bytes the entries count for.
func (c *tokenCache) usedBytes() int {
	c.acct.Lock()
	defer c.acct.Unlock()
	return c.used
}

// ownedPayload returns the payload as the claims keep it, a copy of p.
// With kept non-nil (a token the cache is to store), it sets *kept to the token the cache is to keep,
// a copy of token, made in the same allocation as the payload: a first
// sight that is cached copies the token once and allocates once for both.
func (v *Validator) ownedPayload(token string, p []byte, kept *string) string {
	if kept == nil {
		return string(p)
	}
	var b strings.Builder
	b.Grow(len(p) + len(token)) // the one allocation, not zeroed first
	b.Write(p)
	b.WriteString(token)
	both := b.String()
	*kept = both[len(p):]
	return both[:len(p)]
}
