package entra_test

import (
	"testing"
	"unsafe"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// A caller may lend the token as a string over a buffer it reuses for
// the next request (as frameworks built on fasthttp do). The cache keeps
// its own copy: when the buffer then holds a forged token of the same
// length and the same signature (so the same cache bucket and hash), the
// forged token is refused on its signature, never served from the cache,
// and the claims of the first token are intact.
func TestCacheKeepsItsOwnCopyOfTheToken(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v := newValidator(t, srv.Config()) // the default configuration: cache on
	ctx := ctxT(t)
	tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Name: "Alice Original"})

	buf := []byte(tok)
	lent := unsafe.String(&buf[0], len(buf))
	// The first sight only records the token's fingerprint; the second
	// stores it.
	var c *entra.Claims
	for sight := range 2 {
		var err error
		if c, err = v.Validate(ctx, lent); err != nil {
			t.Fatal(err)
		}
		if got := v.Stats().CachedTokens; got != sight {
			t.Fatalf("cache holds %d tokens after sight %d, want %d", got, sight+1, sight)
		}
	}

	// The same token with one payload character changed: same length,
	// same signature.
	forged := []byte(tok)
	i := len(tok) / 2
	if forged[i] == 'A' {
		forged[i] = 'B'
	} else {
		forged[i] = 'A'
	}
	copy(buf, forged) // the caller reuses its buffer

	if _, err := v.Validate(ctx, string(forged)); entra.CodeOf(err) != entra.CodeSignatureInvalid {
		t.Fatalf("forged token after the buffer was reused: got %v (%v), want %v", entra.CodeOf(err), err, entra.CodeSignatureInvalid)
	}
	if c.Name() != "Alice Original" {
		t.Fatalf("claims of the first token changed with the caller's buffer: name %q", c.Name())
	}
	again, err := v.Validate(ctx, string([]byte(tok)))
	if err != nil {
		t.Fatalf("the first token, presented again: %v", err)
	}
	if again != c {
		t.Fatal("the first token, presented again, was not served from the cache")
	}
}
