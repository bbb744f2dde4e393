package entra_test

import (
	"context"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// Hostile key endpoints: every way the authority's metadata and key set
// can fail or lie. For each, a cold validator answers ErrKeysUnavailable
// (503) without waiting past a request's own context and without a fetch
// per request; a warm validator keeps serving its last good keys; both
// recover without a restart once the endpoint heals.

// requestBudget is the context of one request in these tests that expect
// a refusal: short, so that hanging faults cost little. That a request
// returns when its context ends, whatever the fetch it waits for does, is
// proven without a clock by TestRequestsEndWithTheirContextWhileFetchHangs.
// Nothing here compares elapsed time: on a loaded machine a goroutine may
// wait seconds for a CPU.
const requestBudget = 300 * time.Millisecond

// healBudget bounds waiting for a validator to heal on its own: its
// background retries back off up to a minute, longer than any healthy run
// waits.
const healBudget = 3 * time.Minute

// hostileConfig is srv's Config with the production HTTP client (the
// core's default: bounded redirects, never https to http), no token cache,
// a short fetch timeout and no rate limit on unknown-kid refreshes, so
// that a test can force a refresh whenever it needs one.
func hostileConfig(srv *entratest.Server) entra.Config {
	cfg := srv.Config()
	cfg.HTTPClient = nil
	cfg.CacheSize = -1
	cfg.FetchTimeout = 500 * time.Millisecond
	cfg.MinRefreshInterval = time.Nanosecond
	return cfg
}

// runConcurrently runs one subtest per case, up to limit at once. Most of
// a hostile case is waiting (for timeouts and for the validator's retry
// backoff), so the subtests run in goroutines of their own (t.Run may be
// called concurrently) rather than under t.Parallel, whose limit is
// GOMAXPROCS; limit bounds the fake authorities, and their RSA keys,
// alive at once.
func runConcurrently[C any](t *testing.T, cases []C, limit int, name func(C) string, f func(*testing.T, C)) {
	slots := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, tc := range cases {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			t.Run(name(tc), func(t *testing.T) { f(t, tc) })
		})
	}
	wg.Wait()
}

// endpointURL is the URL of ep for srv's home tenant.
func endpointURL(srv *entratest.Server, ep entratest.Endpoint) string {
	base := srv.URL + "/" + srv.TenantID
	switch ep {
	case entratest.EndpointMetadataV2:
		return base + "/v2.0/.well-known/openid-configuration"
	case entratest.EndpointMetadataV1:
		return base + "/.well-known/openid-configuration"
	}
	return base + "/discovery/v2.0/keys"
}

// fetchDoc returns the genuine document of ep.
func fetchDoc(t testing.TB, srv *entratest.Server, ep entratest.Endpoint) []byte {
	t.Helper()
	resp, err := srv.Client().Get(endpointURL(srv, ep))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("fetching %v: %d %v", ep, resp.StatusCode, err)
	}
	return b
}

// rewriteJSON decodes doc as a JSON object, applies f, and encodes it.
func rewriteJSON(t testing.TB, doc []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	return mustJSON(t, m)
}

// rewriteKeys applies f to every key of a key set document.
func rewriteKeys(t testing.TB, doc []byte, f func(k map[string]any)) []byte {
	return rewriteJSON(t, doc, func(m map[string]any) {
		for _, k := range m["keys"].([]any) {
			f(k.(map[string]any))
		}
	})
}

// burst runs n concurrent calls of f and returns their errors.
func burst(n int, f func() error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f() })
	}
	wg.Wait()
	return errs
}

// validateWithin validates tok with a context of d.
func validateWithin(t *testing.T, v *entra.Validator, tok string, d time.Duration) (*entra.Claims, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return v.Validate(ctx, tok)
}

// checkUnavailable asserts a cold refusal: ErrKeysUnavailable, no claims,
// and a 503 with Retry-After whose body says nothing of the cause.
func checkUnavailable(t *testing.T, c *entra.Claims, err error, srv *entratest.Server) {
	t.Helper()
	if c != nil || !errors.Is(err, entra.ErrKeysUnavailable) {
		t.Fatalf("cold validator: got %v (%v), want %v", entra.CodeOf(err), err, entra.CodeKeysUnavailable)
	}
	r := entra.ResponseFor(context.Background(), err)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("answer %d, Retry-After %q; want 503 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if body := string(r.Body); strings.Contains(body, host) || strings.Contains(body, "fetching") {
		t.Fatalf("503 body reveals the cause: %s", body)
	}
}

type hostileCase struct {
	name  string
	ep    entratest.Endpoint
	fault func(t *testing.T, srv *entratest.Server, doc []byte) entratest.Fault // doc: ep's genuine document
	hits  int                                                                   // endpoint hits per fetch; 0 is 1
}

func hostileCases() []hostileCase {
	fixed := func(f entratest.Fault) func(*testing.T, *entratest.Server, []byte) entratest.Fault {
		return func(*testing.T, *entratest.Server, []byte) entratest.Fault { return f }
	}
	body := func(b string) func(*testing.T, *entratest.Server, []byte) entratest.Fault {
		return fixed(entratest.Body("application/json", []byte(b)))
	}
	keys := func(f func(k map[string]any)) func(*testing.T, *entratest.Server, []byte) entratest.Fault {
		return func(t *testing.T, _ *entratest.Server, doc []byte) entratest.Fault {
			return entratest.Body("application/json", rewriteKeys(t, doc, f))
		}
	}
	meta := func(f func(m map[string]any)) func(*testing.T, *entratest.Server, []byte) entratest.Fault {
		return func(t *testing.T, _ *entratest.Server, doc []byte) entratest.Fault {
			return entratest.Body("application/json", rewriteJSON(t, doc, f))
		}
	}
	truncated := func(t *testing.T, _ *entratest.Server, doc []byte) entratest.Fault {
		return entratest.Body("application/json", doc[:len(doc)/2])
	}
	loop := func(ep entratest.Endpoint) func(*testing.T, *entratest.Server, []byte) entratest.Fault {
		return func(_ *testing.T, srv *entratest.Server, _ []byte) entratest.Fault {
			return entratest.Redirect(endpointURL(srv, ep), http.StatusFound)
		}
	}
	html := fixed(entratest.Body("text/html; charset=utf-8", []byte("<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>")))
	jwks, v2, v1 := entratest.EndpointJWKS, entratest.EndpointMetadataV2, entratest.EndpointMetadataV1
	return []hostileCase{
		{name: "key set times out", ep: jwks, fault: fixed(entratest.Hang())},
		{name: "key set answers slowly", ep: jwks, fault: fixed(entratest.Delay(5 * time.Second))},
		{name: "key set 500", ep: jwks, fault: fixed(entratest.Status(http.StatusInternalServerError))},
		{name: "key set 429 with Retry-After", ep: jwks, fault: fixed(entratest.RetryAfter(http.StatusTooManyRequests, 2*time.Second))},
		{name: "key set 404", ep: jwks, fault: fixed(entratest.Status(http.StatusNotFound))},
		{name: "key set HTML", ep: jwks, fault: html},
		{name: "key set truncated JSON", ep: jwks, fault: truncated},
		{name: "key set of 50 MB", ep: jwks, fault: fixed(entratest.Huge(50 << 20))},
		{name: "key set just over 1 MiB", ep: jwks, fault: fixed(entratest.Huge(1<<20 + 1))},
		{name: "key set empty", ep: jwks, fault: body(`{"keys":[]}`)},
		{name: "key set null", ep: jwks, fault: body(`{"keys":null}`)},
		{name: "key set is an array", ep: jwks, fault: body(`[{"kty":"RSA"}]`)},
		{name: "key set empty body", ep: jwks, fault: body(``)},
		{name: "keys of kty oct", ep: jwks, fault: keys(func(k map[string]any) { k["kty"] = "oct" })},
		{name: "keys for encryption", ep: jwks, fault: keys(func(k map[string]any) { k["use"] = "enc" })},
		{name: "keys with alg HS256", ep: jwks, fault: keys(func(k map[string]any) { k["alg"] = "HS256" })},
		{name: "keys with alg none", ep: jwks, fault: keys(func(k map[string]any) { k["alg"] = "none" })},
		{name: "keys whose x5c is not theirs", ep: jwks, fault: keys(func(k map[string]any) { k["n"] = b64u(append([]byte{0xc5}, make([]byte, 255)...)) })},
		// net/http sends an idempotent request again when a reused
		// connection drops without an answer: two requests per fetch.
		{name: "key set connection dropped", ep: jwks, fault: fixed(entratest.Disconnect()), hits: 2},
		{name: "key set redirect loop", ep: jwks, fault: loop(jwks), hits: 4},
		{name: "key set redirect to a missing page", ep: jwks, fault: func(_ *testing.T, srv *entratest.Server, _ []byte) entratest.Fault {
			return entratest.Redirect(srv.URL+"/nowhere", http.StatusTemporaryRedirect)
		}},
		{name: "metadata v2.0 500", ep: v2, fault: fixed(entratest.Status(http.StatusInternalServerError))},
		{name: "metadata v2.0 times out", ep: v2, fault: fixed(entratest.Hang())},
		{name: "metadata v2.0 HTML", ep: v2, fault: html},
		{name: "metadata v2.0 without issuer", ep: v2, fault: meta(func(m map[string]any) { delete(m, "issuer") })},
		{name: "metadata v2.0 keys over plain http", ep: v2, fault: meta(func(m map[string]any) { m["jwks_uri"] = "http://login.example.com/common/discovery/v2.0/keys" })},
		{name: "metadata v2.0 keys from a file", ep: v2, fault: meta(func(m map[string]any) { m["jwks_uri"] = "file:///etc/passwd" })},
		{name: "metadata v2.0 redirect loop", ep: v2, fault: loop(v2), hits: 4},
		{name: "metadata v1.0 503", ep: v1, fault: fixed(entratest.Status(http.StatusServiceUnavailable))},
		{name: "metadata v1.0 truncated JSON", ep: v1, fault: truncated},
	}
}

// TestHostileKeyEndpoints runs each fault on a cold validator (it must
// refuse with 503, bounded in time and fetches, and heal once the fault
// clears), then on the same validator once warm (it must keep its keys,
// and pick up new ones once the fault clears).
func TestHostileKeyEndpoints(t *testing.T) {
	runConcurrently(t, hostileCases(), 12, func(tc hostileCase) string { return tc.name }, func(t *testing.T, tc hostileCase) {
		hits := max(tc.hits, 1)
		srv := entratest.NewServer()
		t.Cleanup(srv.Close)
		doc := fetchDoc(t, srv, tc.ep)
		srv.SetFault(tc.ep, tc.fault(t, srv, doc))
		v := newValidator(t, hostileConfig(srv))
		tok := srv.UserToken("Orders.Read")

		// Cold: one request waits for the first fetch at most for its
		// own context, and is refused with 503.
		c, err := validateWithin(t, v, tok, requestBudget)
		checkUnavailable(t, c, err, srv)
		if err := v.Ready(ctxWithin(t, 50*time.Millisecond)); !errors.Is(err, entra.ErrKeysUnavailable) {
			t.Fatalf("Ready while cold: got %v, want %v", entra.CodeOf(err), entra.CodeKeysUnavailable)
		}
		// However many requests arrive, they join fetches, never start
		// one: the endpoint sees only the background loop's retries,
		// however long the burst takes on a loaded machine. (The +2: the
		// fetch in flight when the burst began, and one that had already
		// given up but whose request the loaded server read only later.)
		before := srv.Fetches(tc.ep)
		loop0, req0 := entra.FetchesStarted(v)
		for _, err := range burst(200, func() error { _, err := validateWithin(t, v, tok, requestBudget); return err }) {
			if !errors.Is(err, entra.ErrKeysUnavailable) {
				t.Fatalf("cold burst: got %v, want %v", entra.CodeOf(err), entra.CodeKeysUnavailable)
			}
		}
		loop1, req1 := entra.FetchesStarted(v)
		if req1 != req0 {
			t.Errorf("200 cold requests started %d fetches, want 0", req1-req0)
		}
		if n, most := srv.Fetches(tc.ep)-before, hits*int(loop1-loop0+2); n > most {
			t.Errorf("200 cold requests met %d requests to %v, want at most %d (%d background retries)", n, tc.ep, most, loop1-loop0)
		}
		// Healing needs no restart.
		srv.ClearFaults()
		if err := v.Ready(ctxWithin(t, healBudget)); err != nil {
			t.Fatalf("validator did not heal: %v", err)
		}
		if _, err := v.Validate(ctxT(t), tok); err != nil {
			t.Fatalf("after healing: %v", err)
		}

		// Warm: a new key forces a refresh, which meets the fault.
		newTok := srv.Mint(entratest.Token{KeyID: srv.AddKey(), Scopes: []string{"Orders.Read"}})
		srv.SetFault(tc.ep, tc.fault(t, srv, doc))
		if tc.ep != entratest.EndpointJWKS {
			// Between scheduled refreshes only keys are fetched.
			if err := eventuallyValid(t, v, newTok); err != nil {
				t.Fatalf("warm, key of a new kid during a metadata fault: %v", err)
			}
		} else if _, err = validateWithin(t, v, newTok, requestBudget); !errors.Is(err, entra.ErrUnknownKey) {
			t.Fatalf("warm, key of a new kid during the fault: got %v (%v), want %v", entra.CodeOf(err), err, entra.CodeUnknownKey)
		}
		// The last good keys keep serving, without fetches. The refresh
		// for the new kid may outlive its request: it ends first. The
		// count is of fetches started, not of requests the authority
		// saw: on a loaded machine the server may read a request of that
		// refresh only after the refresh gave up on it.
		entra.WaitForFetch(ctxT(t), v)
		loop0, req0 = entra.FetchesStarted(v)
		for _, err := range burst(200, func() error { _, err := v.Validate(ctxT(t), tok); return err }) {
			if err != nil {
				t.Fatalf("warm validator refused a valid token during the fault: %v", err)
			}
		}
		if loop1, req1 := entra.FetchesStarted(v); loop1 != loop0 || req1 != req0 {
			t.Errorf("200 requests with a known key started %d fetches", loop1-loop0+req1-req0)
		}
		if st := v.Stats(); st.Keys == 0 {
			t.Fatal("warm validator lost its keys")
		}
		// Healing: the next refresh picks up the new key.
		srv.ClearFaults()
		if err := eventuallyValid(t, v, newTok); err != nil {
			t.Fatalf("warm validator did not pick up the new key after the fault: %v", err)
		}
	})
}

// eventuallyValid validates tok (a token of a kid the validator does not
// hold yet) until it is accepted or healBudget passes, and returns the last
// error. Each attempt waits for a refresh for the kid (MinRefreshInterval
// is a nanosecond here), which on a loaded machine may run past its 500ms
// FetchTimeout: a refresh that failed that way is simply tried again.
func eventuallyValid(t *testing.T, v *entra.Validator, tok string) error {
	t.Helper()
	ctx := ctxWithin(t, healBudget)
	for {
		_, err := v.Validate(ctx, tok)
		if err == nil || ctx.Err() != nil || !errors.Is(err, entra.ErrUnknownKey) {
			return err
		}
		entra.WaitForFetch(ctx, v)
	}
}

// ctxWithin is a context that ends after d, cancelled with the test.
func ctxWithin(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// A 50 MB key set is read no further than the 1 MiB cap: the validator
// fails cleanly and allocates a small fraction of the body.
func TestHostileHugeKeySetMemory(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Huge(50<<20))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := newValidator(t, hostileConfig(srv))
	c, err := v.Validate(ctxT(t), srv.UserToken("a"))
	runtime.ReadMemStats(&after)
	checkUnavailable(t, c, err, srv)
	// One request per fetch: background retries may have begun.
	n := srv.Fetches(entratest.EndpointJWKS)
	if loop, _ := entra.FetchesStarted(v); n < 1 || uint64(n) > loop {
		t.Errorf("key set fetched %d times in %d fetches, want once per fetch", n, loop)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("a 50 MB key set cost %d MiB of allocations, want at most 16", alloc>>20)
	}
}

// A flood of tokens with unknown kids during a key set outage costs at
// most one fetch per MinRefreshInterval, and the known keys keep serving.
func TestHostileUnknownKidFloodDuringOutage(t *testing.T) {
	for _, f := range []struct {
		name  string
		fault entratest.Fault
	}{
		{"500", entratest.Status(http.StatusInternalServerError)},
		{"hang", entratest.Hang()},
	} {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			srv := entratest.NewServer()
			t.Cleanup(srv.Close)
			cfg := hostileConfig(srv)
			cfg.MinRefreshInterval = 0 // the default, 5 minutes
			v := newValidator(t, cfg)
			if err := v.Ready(ctxWithin(t, healBudget)); err != nil {
				t.Fatal(err)
			}
			tok := srv.UserToken("a")
			// Minted before the flood: signing is what would keep the
			// CPUs busy, not the validator.
			flood := make([]string, 200)
			for i := range flood {
				flood[i] = srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"kid": fmt.Sprintf("flood-%d", i)}})
			}
			srv.SetFault(entratest.EndpointJWKS, f.fault)
			before := srv.Fetches(entratest.EndpointJWKS)
			_, req0 := entra.FetchesStarted(v)
			start := time.Now()
			var next atomic.Int64
			errs := burst(len(flood), func() error {
				_, err := validateWithin(t, v, flood[next.Add(1)-1], requestBudget)
				return err
			})
			for _, err := range errs {
				if !errors.Is(err, entra.ErrUnknownKey) {
					t.Fatalf("unknown kid during outage: got %v (%v), want %v", entra.CodeOf(err), err, entra.CodeUnknownKey)
				}
			}
			// The one refresh the rate limit allows may outlive the flood.
			entra.WaitForFetch(ctxT(t), v)
			// One refresh per MinRefreshInterval (the default) the flood lasted:
			// on a healthy machine, one.
			allowed := 1 + int(time.Since(start)/entra.DefaultMinRefreshInterval)
			if _, req1 := entra.FetchesStarted(v); req1-req0 < 1 || int(req1-req0) > allowed {
				t.Errorf("200 unknown kids started %d refreshes, want 1 to %d", req1-req0, allowed)
			}
			// The authority may not even have read the request of a
			// refresh that gave up (hang): at most, not exactly.
			if n := srv.Fetches(entratest.EndpointJWKS) - before; n > allowed {
				t.Errorf("200 unknown kids caused %d key set fetches, want at most %d", n, allowed)
			}
			for _, err := range burst(200, func() error { _, err := v.Validate(ctxT(t), tok); return err }) {
				if err != nil {
					t.Fatalf("valid token during the flood: %v", err)
				}
			}
		})
	}
}

// Redirects: a loop is cut after a few hops and never loads keys; a short
// chain is followed; https never follows a redirect to plain http.
func TestHostileRedirects(t *testing.T) {
	t.Run("loop is bounded", func(t *testing.T) {
		srv := entratest.NewServer()
		defer srv.Close()
		// Each hop redirects to the next, numbered: the longest chain
		// one fetch followed shows however many fetches (background
		// retries) ran meanwhile.
		var mu sync.Mutex
		longest := -1
		srv.SetFault(entratest.EndpointJWKS, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			hop, _ := strconv.Atoi(r.URL.Query().Get("hop"))
			mu.Lock()
			longest = max(longest, hop)
			mu.Unlock()
			http.Redirect(w, r, endpointURL(srv, entratest.EndpointJWKS)+"?hop="+strconv.Itoa(hop+1), http.StatusFound)
		})
		v := newValidator(t, hostileConfig(srv))
		c, err := v.Validate(ctxT(t), srv.UserToken("a"))
		checkUnavailable(t, c, err, srv)
		// Config.HTTPClient documents "at most 3 redirects"; the client
		// stops when a third redirect would be followed (3 requests).
		mu.Lock()
		defer mu.Unlock()
		if longest < 1 || longest > 3 {
			t.Errorf("a redirect loop was followed for %d redirects, want 1 to 3", longest)
		}
	})
	t.Run("short chain is followed", func(t *testing.T) {
		srv := entratest.NewServer()
		defer srv.Close()
		srv.SetFault(entratest.EndpointJWKS, entratest.Times(2, entratest.Redirect(endpointURL(srv, entratest.EndpointJWKS), http.StatusMovedPermanently)))
		v := newValidator(t, hostileConfig(srv))
		if err := v.Ready(ctxT(t)); err != nil {
			t.Fatalf("two redirects: %v", err)
		}
	})
	t.Run("https to http is refused", testRedirectDowngrade)
}

// testRedirectDowngrade serves metadata over TLS whose key set URL
// redirects either to plain http (refused: the plain server sees no
// request) or to https (followed). The core's default client is used,
// which trusts the test certificate only because http.DefaultTransport is
// swapped for the length of this test (which therefore is not parallel).
func testRedirectDowngrade(t *testing.T) {
	plain := entratest.NewServer()
	defer plain.Close()
	jwks := fetchDoc(t, plain, entratest.EndpointJWKS)
	plain.ResetCounts()
	var tlsURL string
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		base := tlsURL + "/" + mode + "/" + plain.TenantID
		switch rest {
		case plain.TenantID + "/v2.0/.well-known/openid-configuration":
			_, _ = w.Write(mustJSON(t, map[string]string{"issuer": plain.Issuer("2.0", ""), "jwks_uri": base + "/keys"}))
		case plain.TenantID + "/.well-known/openid-configuration":
			_, _ = w.Write(mustJSON(t, map[string]string{"issuer": plain.Issuer("1.0", ""), "jwks_uri": base + "/keys"}))
		case plain.TenantID + "/keys":
			if mode == "down" {
				http.Redirect(w, r, endpointURL(plain, entratest.EndpointJWKS), http.StatusFound)
			} else {
				http.Redirect(w, r, base+"/real-keys", http.StatusFound)
			}
		case plain.TenantID + "/real-keys":
			_, _ = w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	// Spare connections the transport drops show up as handshake errors.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	tlsURL = tlsSrv.URL

	pool := x509.NewCertPool()
	pool.AddCert(tlsSrv.Certificate())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	saved := http.DefaultTransport
	http.DefaultTransport = tr
	defer func() {
		http.DefaultTransport = saved
		tr.CloseIdleConnections()
	}()

	config := func(mode string) entra.Config {
		return entra.Config{TenantID: plain.TenantID, ClientID: plain.ClientID, AuthorityHost: tlsURL + "/" + mode + "/",
			CacheSize: -1, FetchTimeout: 2 * time.Second}
	}
	tok := plain.UserToken("a")

	up := newValidator(t, config("up"))
	if _, err := up.Validate(ctxT(t), tok); err != nil {
		t.Fatalf("https to https redirect: %v", err)
	}
	down := newValidator(t, config("down"))
	c, err := down.Validate(ctxT(t), tok)
	checkUnavailable(t, c, err, plain)
	if n := plain.Fetches(entratest.EndpointJWKS); n != 0 {
		t.Fatalf("the plain-http key set was requested %d times after an https redirect", n)
	}
	up.Close()
	down.Close()
}

// TestHostileKeySets serves key sets that lie in one key (the current
// one) next to a genuine second key: a key that cannot be trusted is
// dropped (its tokens get ErrUnknownKey) and the rest keep working; a key
// set with nothing but such keys leaves a cold validator unavailable.
func TestHostileKeySets(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	second := srv.AddKey()
	stranger := srv.AddUnpublishedKey() // material for keys that are not what they claim
	cur := srv.CurrentKeyID()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(fetchDoc(t, srv, entratest.EndpointJWKS), &set); err != nil {
		t.Fatal(err)
	}
	var curJWK, secondJWK map[string]any
	for _, k := range set.Keys {
		switch k["kid"] {
		case cur:
			curJWK = k
		case second:
			secondJWK = k
		}
	}
	if curJWK == nil || secondJWK == nil || curJWK["x5c"] == nil {
		t.Fatalf("entratest key set lacks its keys or their x5c: %v", set.Keys)
	}
	strangerCert := srv.Certificate(stranger).Raw
	strangerX5t := func() string { s := sha1.Sum(strangerCert); return b64u(s[:]) }()
	strangerN := b64u(srv.PublicKey(stranger).N.Bytes())
	small := mustRSAKey(t, 1024)
	ecCert := selfSignedDER(t, mustECKey(t, elliptic.P256()))
	ecX5t := func() string { s := sha1.Sum(ecCert); return b64u(s[:]) }()

	// each returns the entries that replace the current key's.
	edit := func(f func(k map[string]any)) func() []map[string]any {
		return func() []map[string]any { k := maps.Clone(curJWK); f(k); return []map[string]any{k} }
	}
	tests := []struct {
		name    string
		entries func() []map[string]any
		want    error // for a token of the current key
	}{
		{"genuine", edit(func(k map[string]any) {}), nil},
		{"x5c of another key", edit(func(k map[string]any) {
			k["x5c"] = []string{base64.StdEncoding.EncodeToString(strangerCert)}
			k["x5t"] = strangerX5t
		}), entra.ErrUnknownKey},
		{"n of another key", edit(func(k map[string]any) { k["n"] = strangerN }), entra.ErrUnknownKey},
		{"x5t not the thumbprint of x5c", edit(func(k map[string]any) { k["x5t"] = b64u(make([]byte, 20)) }), entra.ErrUnknownKey},
		{"x5c not base64", edit(func(k map[string]any) { k["x5c"] = []string{"!!not base64!!"} }), entra.ErrUnknownKey},
		{"x5c not a certificate", edit(func(k map[string]any) {
			k["x5c"] = []string{base64.StdEncoding.EncodeToString([]byte("not a certificate"))}
			delete(k, "x5t")
		}), entra.ErrUnknownKey},
		{"x5c of an EC key", edit(func(k map[string]any) {
			k["x5c"] = []string{base64.StdEncoding.EncodeToString(ecCert)}
			k["x5t"] = ecX5t
		}), entra.ErrUnknownKey},
		{"x5c only (no n/e)", edit(func(k map[string]any) { delete(k, "n"); delete(k, "e") }), nil},
		{"n/e only (no x5c, as B2C)", edit(func(k map[string]any) { delete(k, "x5c"); delete(k, "x5t") }), nil},
		{"n without e", edit(func(k map[string]any) { delete(k, "e") }), entra.ErrUnknownKey},
		{"neither n/e nor x5c", edit(func(k map[string]any) { delete(k, "n"); delete(k, "e"); delete(k, "x5c"); delete(k, "x5t") }), entra.ErrUnknownKey},
		{"kty oct", edit(func(k map[string]any) { k["kty"] = "oct" }), entra.ErrUnknownKey},
		{"kty rsa in lower case", edit(func(k map[string]any) { k["kty"] = "rsa" }), entra.ErrUnknownKey},
		{"kty EC on an RSA key", edit(func(k map[string]any) { k["kty"] = "EC" }), entra.ErrUnknownKey},
		{"kty missing", edit(func(k map[string]any) { delete(k, "kty") }), entra.ErrUnknownKey},
		{"use enc", edit(func(k map[string]any) { k["use"] = "enc" }), entra.ErrUnknownKey},
		{"use missing", edit(func(k map[string]any) { delete(k, "use") }), nil},
		{"key_ops encrypt", edit(func(k map[string]any) { k["key_ops"] = []string{"encrypt"} }), entra.ErrUnknownKey},
		{"key_ops verify", edit(func(k map[string]any) { k["key_ops"] = []string{"verify"} }), nil},
		{"alg HS256", edit(func(k map[string]any) { k["alg"] = "HS256" }), entra.ErrUnknownKey},
		{"alg none", edit(func(k map[string]any) { k["alg"] = "none" }), entra.ErrUnknownKey},
		{"alg ES256 on an RSA key", edit(func(k map[string]any) { k["alg"] = "ES256" }), entra.ErrUnknownKey},
		{"alg RS384 (tokens say RS256)", edit(func(k map[string]any) { k["alg"] = "RS384" }), entra.ErrAlgorithmNotAllowed},
		{"alg RS256", edit(func(k map[string]any) { k["alg"] = "RS256" }), nil},
		{"e of 1", edit(func(k map[string]any) { k["e"] = b64u([]byte{1}); delete(k, "x5c"); delete(k, "x5t") }), entra.ErrUnknownKey},
		{"even e", edit(func(k map[string]any) { k["e"] = b64u([]byte{1, 0, 0}); delete(k, "x5c"); delete(k, "x5t") }), entra.ErrUnknownKey},
		{"e of 5 bytes", edit(func(k map[string]any) { k["e"] = b64u([]byte{1, 0, 0, 0, 1}); delete(k, "x5c"); delete(k, "x5t") }), entra.ErrUnknownKey},
		{"1024-bit modulus", edit(func(k map[string]any) { k["n"] = b64u(small.N.Bytes()); delete(k, "x5c"); delete(k, "x5t") }), entra.ErrUnknownKey},
		{"kid missing", edit(func(k map[string]any) { delete(k, "kid") }), entra.ErrUnknownKey},
		{"issuer of another tenant", edit(func(k map[string]any) { k["issuer"] = srv.Issuer("2.0", "6babcaad-604b-40ac-a9d7-9fd97c0b779f") }), entra.ErrIssuerInvalid},
		{"duplicate kid, same key", func() []map[string]any { return []map[string]any{curJWK, maps.Clone(curJWK)} }, nil},
		{"duplicate kid, another key (both dropped)", func() []map[string]any {
			k := maps.Clone(curJWK)
			k["n"], k["x5c"], k["x5t"] = strangerN, []string{base64.StdEncoding.EncodeToString(strangerCert)}, strangerX5t
			return []map[string]any{curJWK, k}
		}, entra.ErrUnknownKey},
		{"duplicate kid, another key first (both dropped)", func() []map[string]any {
			k := maps.Clone(curJWK)
			k["n"], k["x5c"], k["x5t"] = strangerN, []string{base64.StdEncoding.EncodeToString(strangerCert)}, strangerX5t
			return []map[string]any{k, curJWK}
		}, entra.ErrUnknownKey},
		{"duplicate kid, another issuer (both dropped)", func() []map[string]any {
			k := maps.Clone(curJWK)
			k["issuer"] = srv.Issuer("2.0", "6babcaad-604b-40ac-a9d7-9fd97c0b779f")
			return []map[string]any{curJWK, k}
		}, entra.ErrUnknownKey},
	}
	curTok := srv.Mint(entratest.Token{Scopes: []string{"a"}})
	secondTok := srv.Mint(entratest.Token{KeyID: second, Scopes: []string{"a"}})
	strangerTok := srv.Mint(entratest.Token{KeyID: stranger, Scopes: []string{"a"}, Header: map[string]any{"kid": cur}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			entries := tc.entries()
			ka := newKeyAuthority(t)
			ka.mirror(srv)
			ka.setKeys(append(slices.Clone(entries), secondJWK)...)
			v := newValidator(t, ka.config())
			if err := v.Ready(ctxT(t)); err != nil {
				t.Fatalf("a key set with a genuine key did not load: %v", err)
			}
			if _, err := v.Validate(ctxT(t), secondTok); err != nil {
				t.Fatalf("the genuine key stopped working: %v", err)
			}
			if tc.want == nil {
				if _, err := v.Validate(ctxT(t), curTok); err != nil {
					t.Fatalf("token of the current key: %v", err)
				}
			} else {
				checkRefused(t, v, curTok, tc.want)
			}
			// The stranger's signature under the current kid never passes.
			if c, err := v.Validate(ctxT(t), strangerTok); err == nil || c != nil {
				t.Fatal("a token signed by a key that is not published was accepted")
			}
			if tc.want != entra.ErrUnknownKey {
				return
			}
			// Nothing but untrusted keys: a cold validator has no keys.
			cold := newKeyAuthority(t)
			cold.mirror(srv)
			cold.setKeys(entries...)
			cv := newValidator(t, cold.config())
			c, err := validateWithin(t, cv, curTok, 2*time.Second)
			if c != nil || !errors.Is(err, entra.ErrKeysUnavailable) {
				t.Fatalf("a key set of untrusted keys only: got %v (%v), want %v", entra.CodeOf(err), err, entra.CodeKeysUnavailable)
			}
		})
	}
}
