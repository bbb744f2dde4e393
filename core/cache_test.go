package entra_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// fakeClock is a settable clock for Config.Now.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock { c := &fakeClock{}; c.ns.Store(t.UnixNano()); return c }
func (c *fakeClock) Now() time.Time   { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Set(t time.Time)  { c.ns.Store(t.UnixNano()) }

func TestCacheReturnsSameClaimsUntilExp(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	now := time.Now()
	clock := newClock(now)
	cfg := srv.Config()
	cfg.Now = clock.Now
	cfg.CacheFirstSight = true
	v := newValidator(t, cfg)
	ctx := ctxT(t)
	exp := now.Add(10 * time.Minute).Truncate(time.Second)
	tok := srv.Mint(entratest.Token{ExpiresAt: exp, Scopes: []string{"a"}})

	c1, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c1 != c2 {
		t.Fatal("second validation of the same token did not come from the cache")
	}
	// Past exp but within skew: the cached entry is not used (skew does
	// not extend it); the full validation still accepts the token.
	clock.Set(exp.Add(time.Minute))
	c3, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatalf("within skew: %v", err)
	}
	if c3 == c1 {
		t.Fatal("cache served a token past its exp")
	}
	clock.Set(exp.Add(entra.DefaultClockSkew + time.Second))
	if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrTokenExpired) {
		t.Fatalf("past exp and skew: got %v", entra.CodeOf(err))
	}
}

// A failure is never cached as a success, and a token differing only in its
// signature is not served from the cache.
func TestCacheNeverCachesFailures(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)
	tok := srv.UserToken("a")
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	forged := tok[:len(tok)-4] + "AAAA"
	if forged == tok {
		forged = tok[:len(tok)-4] + "BBBB"
	}
	for range 2 {
		if _, err := v.Validate(ctx, forged); !errors.Is(err, entra.ErrSignatureInvalid) {
			t.Fatalf("forged signature: got %v", entra.CodeOf(err))
		}
	}
}

// When the key set changes, cached validations are dropped: a token signed
// with a removed key stops validating.
func TestCacheFlushedWhenKeyRemoved(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)
	oldKid := srv.CurrentKeyID()
	tok := srv.UserToken("a")
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	srv.RotateKeys()
	srv.RemoveKey(oldKid)
	// A token with the new key triggers the refresh that drops the old key.
	if _, err := v.Validate(ctx, srv.UserToken("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrUnknownKey) {
		t.Fatalf("token of a removed key: got %v, want unknown_key", entra.CodeOf(err))
	}
}

func TestCacheDisabled(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.CacheSize = -1
	v := newValidator(t, cfg)
	ctx := ctxT(t)
	tok := srv.UserToken("a")
	c1, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c1 == c2 {
		t.Fatal("CacheSize -1 still cached")
	}
}

// The cache stays within its bound.
func TestCacheBounded(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.CacheSize = 16
	cfg.CacheFirstSight = true
	v := newValidator(t, cfg)
	ctx := ctxT(t)
	toks := make([]string, 200)
	for i := range toks {
		toks[i] = srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"n": i}})
		if _, err := v.Validate(ctx, toks[i]); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.Stats().CachedTokens; n == 0 || n > 16 {
		t.Fatalf("cache holds %d tokens, want 1..16", n)
	}
	hits := 0
	for _, tok := range toks {
		c1, _ := v.Validate(ctx, tok)
		c2, _ := v.Validate(ctx, tok)
		if c1 == c2 {
			hits++
		}
	}
	if hits == 0 {
		t.Fatal("bounded cache never hit")
	}
}

// CacheMaxBytes bounds the cache's memory: a token too large for its share
// is validated every time but not cached, a negative value is refused, and
// Stats reports the bytes held.
func TestCacheMaxBytes(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.CacheMaxBytes = -1
	if _, err := entra.NewValidator(cfg); !errors.Is(err, entra.ErrConfigInvalid) {
		t.Fatalf("negative CacheMaxBytes: got %v", err)
	}

	cfg.CacheMaxBytes = 2 << 20 // entries up to 4 KiB
	cfg.CacheFirstSight = true
	v := newValidator(t, cfg)
	ctx := ctxT(t)
	small := srv.UserToken("a")
	groups := make([]string, 150)
	for i := range groups {
		groups[i] = fmt.Sprintf("%08d-0000-0000-0000-000000000000", i)
	}
	large := srv.Mint(entratest.Token{Scopes: []string{"a"}, Groups: groups})
	for _, tok := range []string{small, large} {
		c1, err := v.Validate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := v.Validate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if cached := c1 == c2; cached != (tok == small) {
			t.Errorf("token of %d bytes: cached %v", len(tok), cached)
		}
	}
	st := v.Stats()
	if st.CachedTokens != 1 || st.CachedBytes < 2*len(small) || st.CachedBytes > 4<<10 {
		t.Fatalf("Stats: %d tokens, %d bytes (token %d bytes)", st.CachedTokens, st.CachedBytes, len(small))
	}
}

// With the default clock the cache judges expiry on the monotonic clock:
// an entry is served until the token's exp and never after it.
func TestCacheDefaultClockExpiresAtExp(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.Now = nil
	cfg.CacheFirstSight = true
	v := newValidator(t, cfg)
	ctx := ctxT(t)
	exp := time.Now().Truncate(time.Second).Add(2 * time.Second)
	tok := srv.Mint(entratest.Token{ExpiresAt: exp, Scopes: []string{"a"}})
	c1, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := v.Validate(ctx, tok); err != nil || (c2 != c1 && time.Now().Before(exp)) {
		t.Fatalf("before exp: not served from the cache (%v)", err)
	}
	for time.Now().Before(exp) {
		time.Sleep(time.Until(exp) + time.Millisecond)
	}
	// Past exp, within skew: validated again, not served from the cache.
	c3, err := v.Validate(ctx, tok)
	if err != nil {
		t.Fatalf("within skew: %v", err)
	}
	if c3 == c1 {
		t.Fatal("cache served a token past its exp")
	}
}

// By default a token is cached from its second successful validation: the
// first keeps nothing of it, the second stores it, the third is a hit,
// through Validate and through a framework that lends the header bytes
// (Fiber). A token that fails is never recorded: a later valid
// presentation of it is its first sight.
func TestCacheFromSecondSight(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	now := time.Now()
	clock := newClock(now)
	cfg := srv.Config()
	cfg.Now = clock.Now
	v := newValidator(t, cfg) // the default: cache from the second sight
	ctx := ctxT(t)
	tok := srv.UserToken("a")
	var got [3]*entra.Claims
	for i := range got {
		c, err := v.Validate(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = c
		if n, want := v.Stats().CachedTokens, min(i, 1); n != want {
			t.Fatalf("after sight %d the cache holds %d tokens, want %d", i+1, n, want)
		}
	}
	if got[1] == got[0] || got[2] != got[1] {
		t.Fatal("want a miss, a miss that stores the token, then a hit")
	}

	// A token refused (here not yet valid) is not recorded.
	nbf := now.Add(time.Hour).Truncate(time.Second)
	later := srv.Mint(entratest.Token{NotBefore: nbf, ExpiresAt: nbf.Add(time.Hour), Scopes: []string{"a"}})
	if _, err := v.Validate(ctx, later); !errors.Is(err, entra.ErrTokenNotYetValid) {
		t.Fatalf("token before nbf: got %v", entra.CodeOf(err))
	}
	clock.Set(nbf.Add(time.Minute))
	if _, err := v.Validate(ctx, later); err != nil {
		t.Fatal(err)
	}
	if n := v.Stats().CachedTokens; n != 1 {
		t.Fatalf("a token refused once, then valid once, was cached (%d tokens)", n)
	}
	clock.Set(now)

	// The lent-bytes path: a miss, a miss that stores, then hits.
	a := entra.NewAuthenticator(v)
	tokB := srv.AppToken("Admin")
	buf := make([]byte, 0, 4096)
	reads := 0
	serve := func() *entra.Claims {
		t.Helper()
		buf = append(buf[:0], "Bearer "+tokB...)
		cctx, resp := a.Authenticate(ctx, lendingRequest{buf: buf, reads: &reads})
		if resp != nil {
			t.Fatalf("refused: %s", resp.Body)
		}
		c, _ := entra.ClaimsFromContext(cctx)
		return c
	}
	b1, b2, b3, b4 := serve(), serve(), serve(), serve()
	if b2 == b1 || b3 != b2 || b4 != b2 {
		t.Fatal("a token lent as bytes: want a miss, a miss that stores it, then hits")
	}
}
