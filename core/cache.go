package entra

import (
	"strings"
	"sync"
	"time"
)

// tokenCache remembers successful validations, keyed by the whole token
// string (never by the signature alone). An entry is used only before the
// token's exp (skew does not extend it) and only while the key set is the
// one it was validated with; the cache is flushed when the keys change.
// Failures are never cached. Claims are immutable, so entries are shared.
type tokenCache struct {
	shards   [cacheShards]cacheShard
	perShard int
}

const cacheShards = 16

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	claims *Claims
	exp    int64 // UnixNano of the token's exp
	gen    uint64
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{perShard: max(1, (size+cacheShards-1)/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

// shard picks a shard from the signature's last full base64url character,
// which is uniformly distributed for real signatures. Only the spread of
// entries depends on it, never a lookup's result.
func (c *tokenCache) shard(token string) *cacheShard {
	return &c.shards[token[len(token)-2]%cacheShards]
}

func (c *tokenCache) get(token string, now time.Time, gen uint64) *Claims {
	if len(token) < 2 {
		return nil
	}
	sh := c.shard(token)
	sh.mu.RLock()
	e, ok := sh.m[token]
	sh.mu.RUnlock()
	if !ok || e.gen != gen || now.UnixNano() >= e.exp {
		return nil
	}
	return e.claims
}

// getBytes is get for a token lent as bytes: the map lookup converts
// without allocating, and nothing of token is kept.
func (c *tokenCache) getBytes(token []byte, now time.Time, gen uint64) *Claims {
	sh := &c.shards[token[len(token)-2]%cacheShards]
	sh.mu.RLock()
	e, ok := sh.m[string(token)]
	sh.mu.RUnlock()
	if !ok || e.gen != gen || now.UnixNano() >= e.exp {
		return nil
	}
	return e.claims
}

func (c *tokenCache) put(token string, claims *Claims, gen uint64) {
	sh := c.shard(token)
	exp := claims.expires.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[token]; !ok && len(sh.m) >= c.perShard {
		// Evict: expired or stale entries among a few, else one at random
		// (map iteration starts at a random place).
		now := time.Now().UnixNano()
		evicted, seen := false, 0
		var victim string
		for k, e := range sh.m {
			if e.exp <= now || e.gen != gen {
				delete(sh.m, k)
				evicted = true
			} else if victim == "" {
				victim = k
			}
			if seen++; seen >= 32 {
				break
			}
		}
		if !evicted {
			delete(sh.m, victim)
		}
	}
	// The key is cloned so the cache never pins a caller's larger buffer.
	sh.m[strings.Clone(token)] = cacheEntry{claims: claims, exp: exp, gen: gen}
}

func (c *tokenCache) clear() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.mu.Unlock()
	}
}

func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
