package entra_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// A cold validator under a burst of 1,000 concurrent requests fetches each
// metadata document and the key set exactly once.
func TestColdBurstFetchesOnce(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	// Slow keys, so that every request arrives while the fetch is in flight.
	srv.SetFault(entratest.EndpointJWKS, entratest.Delay(200*time.Millisecond))
	tok := srv.UserToken("Orders.Read")
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)

	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for range 1000 {
		wg.Go(func() {
			if _, err := v.Validate(ctx, tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Validate during a cold burst: %v", err)
	}
	for _, ep := range []entratest.Endpoint{entratest.EndpointMetadataV2, entratest.EndpointMetadataV1, entratest.EndpointJWKS} {
		if n := srv.Fetches(ep); n != 1 {
			t.Errorf("endpoint %v fetched %d times, want 1", ep, n)
		}
	}
}

// A flood of tokens with random unknown kids costs at most one key fetch
// per MinRefreshInterval, and none of those requests waits for the limit.
func TestUnknownKidFloodIsRateLimited(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config()) // MinRefreshInterval: the default, 5 minutes
	ctx := ctxT(t)
	if err := v.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	toks := make([]string, 500)
	for i := range toks {
		toks[i] = srv.Mint(entratest.Token{Header: map[string]any{"kid": fmt.Sprintf("random-kid-%d", i)}})
	}
	before := srv.Fetches(entratest.EndpointJWKS)
	start := time.Now()
	var wg sync.WaitGroup
	for _, tok := range toks {
		wg.Go(func() {
			if _, err := v.Validate(ctx, tok); !errors.Is(err, entra.ErrUnknownKey) {
				t.Errorf("unknown kid: got %v", entra.CodeOf(err))
			}
		})
	}
	wg.Wait()
	entra.WaitForFetch(ctx, v) // the refresh may outlive the requests
	// One fetch per MinRefreshInterval the flood lasted: on a healthy
	// machine, one.
	if n, most := srv.Fetches(entratest.EndpointJWKS)-before, 1+int(time.Since(start)/entra.DefaultMinRefreshInterval); n > most {
		t.Fatalf("500 unknown kids caused %d key fetches, want at most %d (one per window)", n, most)
	}
	// The legitimate token still validates from the cached keys.
	if _, err := v.Validate(ctx, srv.UserToken("a")); err != nil {
		t.Fatal(err)
	}
}

// A key rotated in by the authority is picked up by the unknown-kid refresh.
func TestRotatedKeyIsAccepted(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)
	if _, err := v.Validate(ctx, srv.UserToken("a")); err != nil {
		t.Fatal(err)
	}
	oldKid := srv.CurrentKeyID()
	newKid := srv.RotateKeys()
	if newKid == oldKid {
		t.Fatal("RotateKeys kept the kid")
	}
	tok := srv.UserToken("a")
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatalf("token signed with the rotated-in key: %v", err)
	}
	found := false
	for _, k := range v.Keys() {
		found = found || k.ID == newKid
	}
	if !found {
		t.Fatal("Keys() does not list the new key")
	}
}

// During a key endpoint outage the last good keys keep serving.
func TestOutageKeepsServingCachedKeys(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)
	tok := srv.UserToken("a")
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	for _, f := range []entratest.Fault{entratest.Status(500), entratest.Body("text/html", []byte("<html>down</html>")), entratest.Body("application/json", []byte(`{"keys":[]}`))} {
		srv.SetFault(entratest.EndpointJWKS, f)
		// An unknown kid forces a refresh, which fails.
		_, err := v.Validate(ctx, srv.Mint(entratest.Token{Header: map[string]any{"kid": "forces-refresh"}}))
		if !errors.Is(err, entra.ErrUnknownKey) {
			t.Fatalf("unknown kid during outage: got %v", entra.CodeOf(err))
		}
		for _, tk := range []string{tok, srv.UserToken("b")} {
			if _, err := v.Validate(ctx, tk); err != nil {
				t.Fatalf("valid token during outage: %v", err)
			}
		}
	}
}

// A validator that never loaded keys answers ErrKeysUnavailable (with a
// retry hint), does not hammer the endpoint, and heals once it answers.
func TestColdOutageHeals(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Status(503))
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)
	tok := srv.UserToken("a")
	var e *entra.Error
	for range 50 {
		_, err := v.Validate(ctx, tok)
		if !errors.As(err, &e) || e.Code != entra.CodeKeysUnavailable {
			t.Fatalf("cold outage: got %v, want keys_unavailable", err)
		}
	}
	if e.RetryAfter < time.Second {
		t.Errorf("RetryAfter = %v", e.RetryAfter)
	}
	// Cold requests only join fetches: the endpoint sees the background
	// loop's retries alone, however long the 50 requests took.
	n := srv.Fetches(entratest.EndpointJWKS)
	loop, forRequests := entra.FetchesStarted(v)
	if forRequests != 0 || uint64(n) > loop {
		t.Errorf("50 requests during a cold outage: %d key fetches, %d started by requests, %d by the background loop", n, forRequests, loop)
	}
	srv.ClearFaults()
	if err := v.Ready(ctx); err != nil {
		t.Fatalf("validator did not heal: %v", err)
	}
	if _, err := v.Validate(ctx, tok); err != nil {
		t.Fatalf("after healing: %v", err)
	}
}

// A request never waits longer than its own context for a slow endpoint.
func TestSlowEndpointHonoursRequestDeadline(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Hang())
	v := newValidator(t, srv.Config())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// That it returns at the deadline rather than with the fetch is
	// TestRequestsEndWithTheirContextWhileFetchHangs's, without a clock.
	_, err := v.Validate(ctx, srv.UserToken("a"))
	if !errors.Is(err, entra.ErrKeysUnavailable) {
		t.Fatalf("got %v, want keys_unavailable", entra.CodeOf(err))
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cause is not the request's deadline: %v", err)
	}
	if err := v.Ready(ctx); err == nil {
		t.Fatal("Ready succeeded while keys hang")
	}
}

// Config.AppSpecificKeys adds ?appid= to the key URL.
func TestAppSpecificKeys(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.AppSpecificKeys = true
	v := newValidator(t, cfg)
	if _, err := v.Validate(ctxT(t), srv.UserToken("a")); err != nil {
		t.Fatal(err)
	}
	if q := srv.LastQuery(entratest.EndpointJWKS); q.Get("appid") != srv.ClientID {
		t.Fatalf("key fetch query = %v, want appid=%s", q, srv.ClientID)
	}
}

// Close ends every goroutine (goleak checks at exit) and is idempotent.
func TestCloseIsIdempotent(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Hang())
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { v.Close(); v.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute): // fail rather than hang
		t.Fatal("Close blocked on a hanging fetch")
	}
}

// An authority without v1.0 metadata (404) serves v2.0 tokens only: the
// validator accepts those, and refuses v1.0 tokens by issuer.
func TestAuthorityWithoutV1Metadata(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointMetadataV1, entratest.Status(404))
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)
	if _, err := v.Validate(ctx, srv.UserToken("a")); err != nil {
		t.Fatalf("v2 token: %v", err)
	}
	if _, err := v.Validate(ctx, srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}})); !errors.Is(err, entra.ErrIssuerInvalid) {
		t.Fatalf("v1 token: got %v, want issuer_invalid", entra.CodeOf(err))
	}
	// Any other failure of the v1.0 document fails the load.
	srv2 := entratest.NewServer()
	defer srv2.Close()
	srv2.SetFault(entratest.EndpointMetadataV1, entratest.Status(500))
	v2 := newValidator(t, srv2.Config())
	if _, err := v2.Validate(ctx, srv2.UserToken("a")); !errors.Is(err, entra.ErrKeysUnavailable) {
		t.Fatalf("v1 metadata 500: got %v, want keys_unavailable", entra.CodeOf(err))
	}
}

// An authority that answers 503 or 429 with Retry-After gets that time:
// the background retry waits for it, and callers are told to wait as long.
func TestRetryAfterIsHonoured(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.RetryAfter(503, 2*time.Minute))
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)
	_, err := v.Validate(ctx, srv.UserToken("a"))
	var e *entra.Error
	if !errors.As(err, &e) || e.Code != entra.CodeKeysUnavailable {
		t.Fatalf("got %v, want keys_unavailable", err)
	}
	if e.RetryAfter < 110*time.Second || e.RetryAfter > 10*time.Minute {
		t.Fatalf("RetryAfter = %v, want about the authority's 2m", e.RetryAfter)
	}
	if r := entra.ResponseFor(context.Background(), err); r.Header.Get("Retry-After") != fmt.Sprint(int(e.RetryAfter/time.Second)) {
		t.Fatalf("503 Retry-After = %q", r.Header.Get("Retry-After"))
	}
	// Many requests meanwhile cause no further fetch.
	for range 20 {
		_, _ = v.Validate(ctx, srv.UserToken("a"))
	}
	if n := srv.Fetches(entratest.EndpointJWKS); n != 1 {
		t.Fatalf("%d key fetches while the authority asked to wait", n)
	}
}

// Keys returns copies: a caller that changes the keys and certificates it
// got (here, to an attacker's key) changes nothing the validator verifies
// with, and the next call returns the published keys again.
func TestKeysReturnsCopies(t *testing.T) {
	w, err := fuzzWorldOnce()
	if err != nil {
		t.Fatal(err)
	}
	v := newMemValidator(t, w, w.goodJWKS)
	defer v.Close()
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	keys := v.Keys()
	if len(keys) != 2 {
		t.Fatalf("%d keys, want 2", len(keys))
	}
	for _, k := range keys {
		switch pub := k.PublicKey.(type) {
		case *rsa.PublicKey:
			pub.N.Set(w.other.N)
			pub.E = w.other.E
			if k.Certificate == nil {
				t.Fatal("the RSA key lost its certificate")
			}
			k.Certificate.PublicKey.(*rsa.PublicKey).N.Set(w.other.N)
			k.Certificate.Raw[len(k.Certificate.Raw)-1] ^= 0xff
		case *ecdsa.PublicKey:
			*pub = w.otherEC.PublicKey
		default:
			t.Fatalf("key %s is a %T", k.ID, k.PublicKey)
		}
	}
	for _, tok := range []string{w.goodRS, w.goodES} {
		if _, err := v.Validate(ctxT(t), tok); err != nil {
			t.Errorf("genuine token refused after the returned keys were changed: %v", err)
		}
	}
	for _, tok := range []string{w.otherRS, w.otherES} {
		if _, err := v.Validate(ctxT(t), tok); !errors.Is(err, entra.ErrSignatureInvalid) {
			t.Errorf("a token of the key written into the copies: %v, want %v", err, entra.ErrSignatureInvalid)
		}
	}
	for _, k := range v.Keys() {
		switch pub := k.PublicKey.(type) {
		case *rsa.PublicKey:
			if pub.N.Cmp(w.good.N) != 0 || pub.E != w.good.E || k.Certificate.PublicKey.(*rsa.PublicKey).N.Cmp(w.good.N) != 0 || !slices.Equal(k.Certificate.Raw, w.goodCert) {
				t.Error("Keys returned a changed RSA key")
			}
		case *ecdsa.PublicKey:
			if !pub.Equal(&w.goodEC.PublicKey) {
				t.Error("Keys returned a changed EC key")
			}
		}
	}
}
