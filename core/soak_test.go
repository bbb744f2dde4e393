package entra_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// soakToken is a token of the soak test and what may be said of it.
type soakToken struct {
	tok   string
	valid bool // otherwise valid; its key decides
}

// TestSoak validates a mix of valid and invalid tokens from 8 goroutines
// while the authority rotates keys (publishing new ones, later removing
// them) and its endpoints fail now and then. It must never accept an
// invalid token, and never refuse a valid token whose key stayed published
// throughout. It runs 3 s by default, 10 s with ENTRAGUARD_SOAK=1, and is
// skipped with -short; on a machine too loaded to see a rotated-in key
// accepted in that time, it goes on until one is (at most a minute more).
func TestSoak(t *testing.T) {
	d := 3 * time.Second
	switch {
	case os.Getenv("ENTRAGUARD_SOAK") == "1":
		d = 10 * time.Second
	case testing.Short():
		t.Skip("soak test skipped with -short (ENTRAGUARD_SOAK=1 runs it for 10s)")
	}
	srv := entratest.NewServer()
	defer srv.Close()
	stable := srv.CurrentKeyID()
	stable2 := srv.AddKey()
	unpublished := srv.AddUnpublishedKey()
	cfg := srv.Config()
	cfg.MinRefreshInterval = time.Millisecond // rotated-in keys are picked up at once
	cfg.FetchTimeout = 500 * time.Millisecond
	v := newValidator(t, cfg) // with the token cache, flushed on every key change
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	// Valid tokens of the keys that stay published throughout.
	stableToks := []string{
		srv.UserToken("Orders.Read"),
		srv.AppToken("Admin"),
		srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"Orders.Read"}}),
		srv.Mint(entratest.Token{KeyID: stable2, Scopes: []string{"Orders.Write"}}),
		srv.Mint(entratest.Token{KeyID: stable2, App: true, Roles: []string{"Orders.Read.All"}}),
	}
	// Invalid tokens, whatever the keys.
	good := stableToks[0]
	gh, gp, gs := segments(good)
	der, _ := x509.MarshalPKIXPublicKey(srv.PublicKey(stable))
	hs := func() string {
		h := b64u([]byte(`{"alg":"HS256","kid":"` + stable + `"}`))
		m := hmac.New(sha256.New, der)
		m.Write([]byte(h + "." + gp))
		return h + "." + gp + "." + b64u(m.Sum(nil))
	}()
	invalidToks := []string{
		gh + "." + gp + "." + gs[:len(gs)-4] + "AAAA",
		b64u([]byte(`{"alg":"none","kid":"`+stable+`"}`)) + "." + gp + ".",
		hs,
		gh + "." + gp + ".",
		gh + "." + func() string { _, p, _ := segments(stableToks[1]); return p }() + "." + gs,
		srv.Mint(entratest.Token{Audience: "api://someone-else", Scopes: []string{"a"}}),
		srv.Mint(entratest.Token{TenantID: "6babcaad-604b-40ac-a9d7-9fd97c0b779f", Scopes: []string{"a"}}),
		srv.Mint(entratest.Token{ExpiresAt: time.Now().Add(-time.Hour), IssuedAt: time.Now().Add(-2 * time.Hour), NotBefore: time.Now().Add(-2 * time.Hour), Scopes: []string{"a"}}),
		srv.Mint(entratest.Token{KeyID: unpublished, Scopes: []string{"a"}}),
		srv.Mint(entratest.Token{KeyID: unpublished, Scopes: []string{"a"}, Header: map[string]any{"kid": stable}}),
		srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"nonce": "x"}}),
		srv.SignBytes("", []byte(`{"alg":"RS256","kid":"`+stable+`","alg":"none"}`), decodeSegment(t, gp)),
	}

	var rotating atomic.Pointer[[]soakToken]
	rotating.Store(&[]soakToken{})
	var (
		validations, falseAccepts, falseRejects, rotatedAccepted atomic.Int64
		mu                                                       sync.Mutex
		firstProblem                                             string
	)
	problem := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		if firstProblem == "" {
			firstProblem = s
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
				switch n := rand.IntN(8); {
				case n < 3:
					tok := stableToks[rand.IntN(len(stableToks))]
					if _, err := v.Validate(rctx, tok); err != nil {
						falseRejects.Add(1)
						problem("a valid token of a key published throughout was refused: " + err.Error())
					}
				case n < 6:
					if c, err := v.Validate(rctx, invalidToks[rand.IntN(len(invalidToks))]); err == nil || c != nil {
						falseAccepts.Add(1)
						problem("an invalid token was accepted")
					}
				default:
					pool := *rotating.Load()
					if len(pool) == 0 {
						break
					}
					st := pool[rand.IntN(len(pool))]
					c, err := v.Validate(rctx, st.tok)
					switch {
					case err == nil && !st.valid:
						falseAccepts.Add(1)
						problem("an invalid token of a rotated key was accepted")
					case err == nil:
						rotatedAccepted.Add(1)
					case c != nil:
						problem("claims returned with an error")
					}
				}
				rcancel()
				validations.Add(1)
			}
		})
	}

	// The authority: rotate every tick; on odd ticks inject a fault, on
	// even ticks clear it; keep at most two rotated keys published.
	faults := []entratest.Fault{
		entratest.Status(http.StatusInternalServerError),
		entratest.RetryAfter(http.StatusTooManyRequests, time.Second),
		entratest.Body("text/html", []byte("<html>maintenance</html>")),
		entratest.Body("application/json", []byte(`{"keys":`)),
		entratest.Delay(30 * time.Millisecond),
		entratest.Disconnect(),
		entratest.Times(1, entratest.Status(http.StatusServiceUnavailable)),
	}
	wg.Go(func() {
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		var rotated []string
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if ran := time.Since(started); ran >= d && (rotatedAccepted.Load() > 0 || ran >= d+time.Minute) {
				cancel()
				return
			}
			if i%2 == 1 {
				srv.SetFault(entratest.EndpointJWKS, faults[rand.IntN(len(faults))])
			} else {
				srv.ClearFaults()
			}
			kid := srv.RotateKeys()
			rotated = append(rotated, kid)
			if len(rotated) > 2 {
				srv.RemoveKey(rotated[0])
				rotated = rotated[1:]
			}
			pool := append(slices.Clone(*rotating.Load()),
				soakToken{srv.Mint(entratest.Token{KeyID: kid, Scopes: []string{"Orders.Read"}}), true},
				soakToken{srv.Mint(entratest.Token{KeyID: kid, Scopes: []string{"Orders.Read"}, Audience: "api://someone-else"}), false},
				soakToken{srv.Mint(entratest.Token{KeyID: kid, Scopes: []string{"Orders.Read"}, Header: map[string]any{"kid": stable}}), false},
			)
			if len(pool) > 60 {
				pool = pool[len(pool)-60:]
			}
			rotating.Store(&pool)
		}
	})
	wg.Wait()
	srv.ClearFaults()

	st := v.Stats()
	t.Logf("%d validations in %v; rotated-key tokens accepted %d; key refreshes %d (%d failed)",
		validations.Load(), time.Since(started).Round(time.Millisecond), rotatedAccepted.Load(), st.Refreshes, st.RefreshFailures)
	if n := falseAccepts.Load(); n != 0 {
		t.Errorf("%d invalid tokens accepted", n)
	}
	if n := falseRejects.Load(); n != 0 {
		t.Errorf("%d valid tokens of keys published throughout refused", n)
	}
	if firstProblem != "" {
		t.Errorf("first problem: %s", strings.TrimSpace(firstProblem))
	}
	if rotatedAccepted.Load() == 0 {
		t.Error("no token of a rotated-in key was ever accepted: keys are not picked up under churn")
	}
	if st.Keys < 2 {
		t.Errorf("the validator holds %d keys, want at least the two stable ones", st.Keys)
	}
}
