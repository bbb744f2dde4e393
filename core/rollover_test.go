package entra_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// Tests of Microsoft's signing-key rollover guidance and of issue 11's key,
// metadata and cloud items: per-tenant key sets, key issuers, clouds, last
// known good metadata.

const (
	tenantA = "6babcaad-604b-40ac-a9d7-9fd97c0b779f"
	tenantB = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// multiTenantValidator is a validator of "organizations" without a token
// cache, so that every Validate meets the key lookup.
func multiTenantValidator(t *testing.T, srv *entratest.Server, edit func(*entra.Config)) *entra.Validator {
	t.Helper()
	cfg := srv.MultiTenantConfig(entra.TenantOrganizations)
	cfg.CacheSize = -1
	if edit != nil {
		edit(&cfg)
	}
	cfg.AnyTenant = len(cfg.AllowedTenants) == 0 // any tenant, unless the test lists some
	v := newValidator(t, cfg)
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return v
}

// wantCode is in agent_test.go.

// A multi-tenant validator fetches the key set of a token's own tenant when
// its kid is not in the shared key set, once, and keeps it.
func TestTenantKeySetFetchedForUnknownKid(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := multiTenantValidator(t, srv, nil)
	kid := srv.AddTenantKey(tenantA)
	before := srv.Fetches(entratest.EndpointMetadataV2)
	for _, ver := range []string{entra.Version2, entra.Version1} {
		tok := srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Version: ver, Scopes: []string{"Orders.Read"}})
		c, err := v.Validate(ctxT(t), tok)
		if err != nil {
			t.Fatalf("v%s token signed with the tenant's own key: %v", ver, err)
		}
		if c.TenantID() != tenantA {
			t.Fatalf("tid = %q", c.TenantID())
		}
	}
	if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 1 {
		t.Fatalf("tenant metadata fetched %d times, want 1", n)
	}
	if got := v.Stats().TenantKeySets; got != 1 {
		t.Fatalf("Stats().TenantKeySets = %d, want 1", got)
	}
	// Another tenant cannot use tenant A's key.
	tok := srv.Mint(entratest.Token{TenantID: tenantB, KeyID: kid, Scopes: []string{"Orders.Read"}})
	_, err := v.Validate(ctxT(t), tok)
	wantCode(t, err, entra.ErrUnknownKey)
}

// A tenant that fails the tenant checks never makes the validator fetch.
func TestTenantKeySetNotFetchedForRefusedTenant(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	kid := srv.AddTenantKey(tenantA)
	t.Run("not in AllowedTenants", func(t *testing.T) {
		v := multiTenantValidator(t, srv, func(c *entra.Config) { c.AllowedTenants = []string{tenantB} })
		before := srv.Fetches(entratest.EndpointMetadataV2)
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Scopes: []string{"a"}}))
		wantCode(t, err, entra.ErrUnknownKey)
		if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 0 {
			t.Fatalf("%d tenant metadata fetches, want 0", n)
		}
	})
	t.Run("issuer of another authority", func(t *testing.T) {
		v := multiTenantValidator(t, srv, nil)
		before := srv.Fetches(entratest.EndpointMetadataV2)
		tok := srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Scopes: []string{"a"},
			Claims: map[string]any{"iss": "https://login.example.com/" + tenantA + "/v2.0"}})
		_, err := v.Validate(ctxT(t), tok)
		wantCode(t, err, entra.ErrUnknownKey)
		if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 0 {
			t.Fatalf("%d tenant metadata fetches, want 0", n)
		}
	})
	t.Run("tid not a GUID", func(t *testing.T) {
		v := multiTenantValidator(t, srv, nil)
		before := srv.Fetches(entratest.EndpointMetadataV2)
		tok := srv.Mint(entratest.Token{KeyID: kid, Scopes: []string{"a"}, Claims: map[string]any{"tid": "contoso.com"}})
		_, err := v.Validate(ctxT(t), tok)
		wantCode(t, err, entra.ErrUnknownKey)
		if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 0 {
			t.Fatalf("%d tenant metadata fetches, want 0", n)
		}
	})
	t.Run("turned off", func(t *testing.T) {
		v := multiTenantValidator(t, srv, func(c *entra.Config) { c.MaxTenantKeySets = -1 })
		before := srv.Fetches(entratest.EndpointMetadataV2)
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Scopes: []string{"a"}}))
		wantCode(t, err, entra.ErrUnknownKey)
		if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 0 {
			t.Fatalf("%d tenant metadata fetches, want 0", n)
		}
	})
}

// A single-tenant validator's key set is its tenant's: it fetches no other.
func TestSingleTenantValidatorFetchesNoTenantKeySets(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.CacheSize = -1
	cfg.MinRefreshInterval = time.Nanosecond
	v := newValidator(t, cfg)
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	other := srv.AddTenantKey(tenantA)
	before := srv.Fetches(entratest.EndpointMetadataV2)
	_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{KeyID: other, Scopes: []string{"a"}}))
	wantCode(t, err, entra.ErrUnknownKey)
	if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 0 {
		t.Fatalf("%d metadata fetches, want 0", n)
	}
	if got := v.Stats().TenantKeySets; got != 0 {
		t.Fatalf("Stats().TenantKeySets = %d, want 0", got)
	}
	// Its own tenant's keys (AddTenantKey of the home tenant) it has.
	own := srv.AddTenantKey(srv.TenantID)
	if _, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{KeyID: own, Scopes: []string{"a"}})); err != nil {
		t.Fatalf("home tenant's own key: %v", err)
	}
}

// A tenant's key set is fetched at most once per MinRefreshInterval, and
// requests never wait for the limit.
func TestTenantKeySetRateLimited(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := multiTenantValidator(t, srv, nil) // MinRefreshInterval: the default, 5 minutes
	unpublished := srv.AddUnpublishedKey()
	before := srv.Fetches(entratest.EndpointMetadataV2)
	errs := burst(50, func() error {
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenantA, KeyID: unpublished, Scopes: []string{"a"}}))
		return err
	})
	for _, err := range errs {
		wantCode(t, err, entra.ErrUnknownKey)
	}
	if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 1 {
		t.Fatalf("50 tokens of one tenant with an unknown kid: %d tenant fetches, want 1", n)
	}
	// The tenant's key published later is found only after the window.
	kid := srv.AddTenantKey(tenantA)
	_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Scopes: []string{"a"}}))
	wantCode(t, err, entra.ErrUnknownKey)
	if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 1 {
		t.Fatalf("within the window: %d tenant fetches, want 1", n)
	}
}

// Tokens of many made-up tenants cost at most 10 tenant fetches per window.
func TestTenantKeySetFetchesBoundedOverall(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := multiTenantValidator(t, srv, nil)
	unpublished := srv.AddUnpublishedKey()
	before := srv.Fetches(entratest.EndpointMetadataV2)
	for i := range 30 {
		tid := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tid, KeyID: unpublished, Scopes: []string{"a"}}))
		wantCode(t, err, entra.ErrUnknownKey)
	}
	if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 10 {
		t.Fatalf("30 made-up tenants: %d tenant fetches, want 10", n)
	}
}

// At most MaxTenantKeySets tenants' sets are kept, least recently used out.
func TestTenantKeySetsBoundedLRU(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := multiTenantValidator(t, srv, func(c *entra.Config) {
		c.MaxTenantKeySets = 1
		c.MinRefreshInterval = time.Nanosecond
	})
	keyA, keyB := srv.AddTenantKey(tenantA), srv.AddTenantKey(tenantB)
	tokA := srv.Mint(entratest.Token{TenantID: tenantA, KeyID: keyA, Scopes: []string{"a"}})
	tokB := srv.Mint(entratest.Token{TenantID: tenantB, KeyID: keyB, Scopes: []string{"a"}})
	before := srv.Fetches(entratest.EndpointMetadataV2)
	for _, tok := range []string{tokA, tokA, tokB, tokA} {
		if _, err := v.Validate(ctxT(t), tok); err != nil {
			t.Fatal(err)
		}
	}
	// A, (A kept), B evicts A, A again.
	if n := srv.Fetches(entratest.EndpointMetadataV2) - before; n != 3 {
		t.Fatalf("%d tenant fetches, want 3", n)
	}
	if got := v.Stats().TenantKeySets; got != 1 {
		t.Fatalf("Stats().TenantKeySets = %d, want 1", got)
	}
}

// A tenant's own key obeys the key issuer checks like any other.
func TestTenantKeyObeysIssuerChecks(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := multiTenantValidator(t, srv, nil)
	kid := srv.AddTenantKey(tenantA)
	srv.SetKeyIssuer(kid, srv.Issuer(entra.Version2, tenantB))
	for _, ver := range []string{entra.Version2, entra.Version1} {
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Version: ver, Scopes: []string{"a"}}))
		wantCode(t, err, entra.ErrIssuerInvalid)
	}
}

// A tenant's metadata that names another issuer gives no keys.
func TestTenantKeySetOfAnotherIssuerRefused(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := multiTenantValidator(t, srv, nil)
	kid := srv.AddTenantKey(tenantA)
	srv.SetFault(entratest.EndpointMetadataV2, rewriteFault(func(m map[string]any) {
		m["issuer"] = strings.Replace(m["issuer"].(string), tenantA, tenantB, 1)
	}))
	_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Scopes: []string{"a"}}))
	wantCode(t, err, entra.ErrUnknownKey)
}

// rewriteFault rewrites the JSON of the authority's normal answer.
func rewriteFault(f func(m map[string]any)) entratest.Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			http.Error(w, "bad document", http.StatusInternalServerError)
			return
		}
		f(m)
		b, _ := json.Marshal(m)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}

// A blank key issuer counts as absent, as in Microsoft.IdentityModel; it
// used to refuse every token as issuer_invalid.
func TestKeyBlankIssuerIsAbsent(t *testing.T) {
	for _, blank := range []string{" ", "\t \n"} {
		srv := entratest.NewServer()
		defer srv.Close()
		srv.SetKeyIssuer(srv.CurrentKeyID(), blank)
		for _, cfg := range []entra.Config{srv.Config(), anyTenant(srv.MultiTenantConfig(entra.TenantCommon))} {
			v := newValidator(t, cfg)
			for _, ver := range []string{entra.Version2, entra.Version1} {
				if _, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Version: ver, Scopes: []string{"a"}})); err != nil {
					t.Fatalf("key issuer %q, v%s token: %v", blank, ver, err)
				}
			}
			if k := v.Keys(); len(k) != 1 || k[0].Issuer != "" {
				t.Fatalf("Keys() = %+v, want one key without issuer", k)
			}
		}
	}
}

// For v1.0 tokens the key's issuer, filled with the token's tid, must be the
// v2.0 form of the token's issuer: the right tenant GUID in another issuer
// is not enough.
func TestV1TokenKeyIssuerMatchesV2Form(t *testing.T) {
	srv := entratest.NewServer(entratest.WithTenantID(tenantA))
	defer srv.Close()
	cases := []struct {
		name, keyIssuer string
		want            *entra.Error // nil: accepted
	}{
		{"template of this authority", srv.URL + "/{tenantid}/v2.0", nil},
		{"this tenant's v2.0 issuer", srv.Issuer(entra.Version2, tenantA), nil},
		{"the token's own v1.0 issuer", srv.Issuer(entra.Version1, tenantA), nil},
		{"personal-account key", srv.Issuer(entra.Version2, entratest.ConsumersTenantID), entra.ErrIssuerInvalid},
		{"another tenant's key", srv.Issuer(entra.Version2, tenantB), entra.ErrIssuerInvalid},
		{"this tenant on another host", "https://login.example.com/" + tenantA + "/v2.0", entra.ErrIssuerInvalid},
		{"template on another host", "https://login.example.com/{tenantid}/v2.0", entra.ErrIssuerInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kid := srv.AddKey()
			srv.SetKeyIssuer(kid, tc.keyIssuer)
			for _, cfg := range []entra.Config{srv.Config(), anyTenant(srv.MultiTenantConfig(entra.TenantOrganizations))} {
				cfg.CacheSize = -1
				v := newValidator(t, cfg)
				_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Version: entra.Version1, KeyID: kid, Scopes: []string{"a"}}))
				if tc.want == nil {
					if err != nil {
						t.Fatalf("%s: %v", cfg.TenantID, err)
					}
					continue
				}
				wantCode(t, err, tc.want)
			}
		})
	}
}

// A key whose cloud_instance_name differs from the metadata's is not used,
// unless AnyCloudKeys; the other keys keep serving.
func TestKeyOfAnotherCloudInstanceNotUsed(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	us := srv.AddKey()
	srv.SetKeyCloudInstance(us, "microsoftonline.us")
	tok := srv.Mint(entratest.Token{KeyID: us, Scopes: []string{"a"}})
	cfg := srv.Config()
	cfg.CacheSize = -1
	v := newValidator(t, cfg)
	_, err := v.Validate(ctxT(t), tok)
	wantCode(t, err, entra.ErrUnknownKey)
	if _, err := v.Validate(ctxT(t), srv.UserToken("a")); err != nil {
		t.Fatalf("the authority's own key: %v", err)
	}
	for _, k := range v.Keys() {
		if k.ID == us {
			t.Fatal("Keys() lists the other cloud's key")
		}
	}
	cfg.AnyCloudKeys = true
	if _, err := newValidator(t, cfg).Validate(ctxT(t), tok); err != nil {
		t.Fatalf("AnyCloudKeys: %v", err)
	}
}

// A key whose issuer names another cloud's authority host never signs this
// authority's tokens, AnyCloudKeys or not.
func TestKeyIssuerOfAnotherCloudNeverSigns(t *testing.T) {
	srv := entratest.NewServer(entratest.WithTenantID(tenantA))
	defer srv.Close()
	// The authority names the global cloud's issuers, as Entra does.
	const public = "https://login.microsoftonline.com/"
	srv.SetFault(entratest.EndpointMetadataV2, rewriteFault(func(m map[string]any) {
		m["issuer"] = public + tenantA + "/v2.0"
	}))
	gov := srv.AddKey()
	srv.SetKeyIssuer(gov, "https://login.microsoftonline.us/{tenantid}/v2.0")
	own := srv.AddKey()
	srv.SetKeyIssuer(own, public+"{tenantid}/v2.0")
	for _, anyCloud := range []bool{false, true} {
		cfg := srv.Config()
		cfg.CacheSize = -1
		cfg.AnyCloudKeys = anyCloud
		v := newValidator(t, cfg)
		mint := func(kid string) string {
			return srv.Mint(entratest.Token{KeyID: kid, Scopes: []string{"a"}, Claims: map[string]any{"iss": public + tenantA + "/v2.0"}})
		}
		if _, err := v.Validate(ctxT(t), mint(own)); err != nil {
			t.Fatalf("key of this cloud: %v", err)
		}
		_, err := v.Validate(ctxT(t), mint(gov))
		wantCode(t, err, entra.ErrUnknownKey)
	}
}

// waitFor polls cond until it holds or the test's context ends.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx := ctxT(t)
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// One transient 404 of the v1.0 metadata keeps the last good v1.0 issuer,
// and the validator retries with backoff until the document is back.
func TestV1Metadata404KeepsLastGoodIssuer(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.CacheSize = -1
	v := newValidator(t, cfg)
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	v1 := srv.Mint(entratest.Token{Version: entra.Version1, Scopes: []string{"a"}})
	srv.SetFault(entratest.EndpointMetadataV1, entratest.Status(http.StatusNotFound))
	before := srv.Fetches(entratest.EndpointMetadataV1)
	if err := entra.ForceMetadataRefresh(v); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctxT(t), v1); err != nil {
		t.Fatalf("v1.0 token after one v1.0 metadata 404: %v", err)
	}
	if v.Stats().LastRefreshError == nil {
		t.Fatal("Stats().LastRefreshError is nil while the v1.0 metadata fails")
	}
	// The background loop retries soon, not in RefreshInterval.
	waitFor(t, "a retry of the v1.0 metadata", func() bool { return srv.Fetches(entratest.EndpointMetadataV1)-before >= 3 })
	if _, err := v.Validate(ctxT(t), v1); err != nil {
		t.Fatalf("v1.0 token during the retries: %v", err)
	}
	srv.ClearFaults()
	waitFor(t, "a clean refresh", func() bool { return v.Stats().LastRefreshError == nil })
	if _, err := v.Validate(ctxT(t), v1); err != nil {
		t.Fatal(err)
	}
}

// A failing or malformed metadata document keeps its last good issuer and
// jwks_uri; keys keep being refreshed from the last good jwks_uri.
func TestMetadataFailureKeepsLastGood(t *testing.T) {
	cases := []struct {
		name  string
		ep    entratest.Endpoint
		fault entratest.Fault
	}{
		{"v2.0 500", entratest.EndpointMetadataV2, entratest.Status(http.StatusInternalServerError)},
		{"v2.0 404", entratest.EndpointMetadataV2, entratest.Status(http.StatusNotFound)},
		{"v2.0 without jwks_uri", entratest.EndpointMetadataV2, rewriteFault(func(m map[string]any) { delete(m, "jwks_uri") })},
		{"v2.0 malformed issuer", entratest.EndpointMetadataV2, rewriteFault(func(m map[string]any) { m["issuer"] = "not a URL" })},
		{"v1.0 503", entratest.EndpointMetadataV1, entratest.Status(http.StatusServiceUnavailable)},
		{"v1.0 malformed issuer", entratest.EndpointMetadataV1, rewriteFault(func(m map[string]any) { m["issuer"] = "https://sts.windows.net/{tenantid}/{tenantid}/" })},
		{"v1.0 without issuer", entratest.EndpointMetadataV1, rewriteFault(func(m map[string]any) { delete(m, "issuer") })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := entratest.NewServer()
			defer srv.Close()
			cfg := srv.Config()
			cfg.CacheSize = -1
			cfg.MinRefreshInterval = time.Nanosecond
			v := newValidator(t, cfg)
			if err := v.Ready(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			srv.SetFault(tc.ep, tc.fault)
			if err := entra.ForceMetadataRefresh(v); err != nil {
				t.Fatal(err)
			}
			for _, ver := range []string{entra.Version2, entra.Version1} {
				if _, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Version: ver, Scopes: []string{"a"}})); err != nil {
					t.Fatalf("v%s token after the fault: %v", ver, err)
				}
			}
			// Keys still come from the last good jwks_uri. The loop's own
			// retry may be in flight with the key set from before the
			// rotation: each attempt waits for a fetch, never for time.
			tok := srv.Mint(entratest.Token{KeyID: srv.RotateKeys(), Scopes: []string{"a"}})
			var err error
			for range 3 {
				if _, err = v.Validate(ctxT(t), tok); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("rotated key during the fault: %v", err)
			}
		})
	}
}

// A refresh that changes the issuers flushes the verified-token cache.
func TestIssuerChangeFlushesCache(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config() // with the token cache, from the first sight
	cfg.CacheFirstSight = true
	v := newValidator(t, cfg)
	v1 := srv.Mint(entratest.Token{Version: entra.Version1, Scopes: []string{"a"}})
	if _, err := v.Validate(ctxT(t), v1); err != nil {
		t.Fatal(err)
	}
	if v.Stats().CachedTokens != 1 {
		t.Fatal("the token was not cached")
	}
	srv.SetFault(entratest.EndpointMetadataV1, rewriteFault(func(m map[string]any) {
		m["issuer"] = "https://sts.example.net/" + srv.TenantID + "/"
	}))
	if err := entra.ForceMetadataRefresh(v); err != nil {
		t.Fatal(err)
	}
	_, err := v.Validate(ctxT(t), v1)
	wantCode(t, err, entra.ErrIssuerInvalid)
}

// Microsoft.IdentityModel accepts "{tid}/v1.1" issuers. Entra's v2.0 and
// v1.0 metadata do not name them; entraguard accepts one where the metadata
// it reads names it, and refuses it otherwise.
func TestV11IssuerOnlyWhereMetadataNamesIt(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v11 := srv.URL + "/" + srv.TenantID + "/v1.1"
	tok := srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"iss": v11}})

	_, err := newValidator(t, srv.Config()).Validate(ctxT(t), tok)
	wantCode(t, err, entra.ErrIssuerInvalid)

	srv.SetFault(entratest.EndpointMetadataV2, rewriteFault(func(m map[string]any) { m["issuer"] = v11 }))
	srv.SetKeyIssuer(srv.CurrentKeyID(), v11)
	cfg := srv.Config()
	cfg.MetadataURL = srv.URL + "/" + srv.TenantID + "/v2.0/.well-known/openid-configuration"
	if _, err := newValidator(t, cfg).Validate(ctxT(t), tok); err != nil {
		t.Fatalf("v1.1 issuer named by the metadata: %v", err)
	}
}

// Each authority preset builds its metadata URLs on its own host.
func TestAuthorityPresets(t *testing.T) {
	for preset, host := range map[string]string{
		entra.AuthorityPublic:       "login.microsoftonline.com",
		entra.AuthorityUSGovernment: "login.microsoftonline.us",
		entra.AuthorityChina:        "login.chinacloudapi.cn",
		entra.AuthorityChinaPartner: "login.partner.microsoftonline.cn",
		entra.AuthorityBleu:         "login.sovcloud-identity.fr",
		entra.AuthorityDelos:        "login.sovcloud-identity.de",
		entra.AuthorityGovSG:        "login.sovcloud-identity.sg",
	} {
		rt := &recordingTransport{}
		v, err := entra.NewValidator(entra.Config{TenantID: tenantA, ClientID: "api", AuthorityHost: preset,
			HTTPClient: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatalf("%s: %v", preset, err)
		}
		waitFor(t, "a first fetch", func() bool { return len(rt.urls()) > 0 })
		v.Close()
		for _, u := range rt.urls() {
			if !strings.HasPrefix(u, "https://"+host+"/"+tenantA+"/") {
				t.Errorf("%s: fetched %s", preset, u)
			}
		}
		if len(rt.urls()) == 0 {
			t.Errorf("%s: nothing fetched", preset)
		}
	}
	if entra.AuthorityPublic != entra.DefaultAuthorityHost {
		t.Fatal("AuthorityPublic is not the default authority")
	}
}

// recordingTransport records the URLs asked for and answers none.
type recordingTransport struct {
	mu   sync.Mutex
	seen []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.seen = append(rt.seen, r.URL.String())
	rt.mu.Unlock()
	return nil, errors.New("no network in tests")
}

func (rt *recordingTransport) urls() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return append([]string(nil), rt.seen...)
}

// A token of another cloud is refused with an error that names both clouds.
func TestTokenOfAnotherCloudNamesTheClouds(t *testing.T) {
	srv := entratest.NewServer(entratest.WithTenantID(tenantA))
	defer srv.Close()
	srv.SetFault(entratest.EndpointMetadataV2, rewriteFault(func(m map[string]any) {
		m["issuer"] = "https://login.microsoftonline.com/" + tenantA + "/v2.0"
	}))
	v := newValidator(t, srv.Config())
	for iss, cloud := range map[string]string{
		"https://sts.chinacloudapi.cn/" + tenantA + "/":           "China",
		"https://login.microsoftonline.us/" + tenantA + "/v2.0":   "US Government",
		"https://login.sovcloud-identity.fr/" + tenantA + "/v2.0": "Bleu",
	} {
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"iss": iss}}))
		wantCode(t, err, entra.ErrIssuerInvalid)
		if !strings.Contains(err.Error(), cloud) || !strings.Contains(err.Error(), "public") {
			t.Errorf("issuer of the %s cloud: %v", cloud, err)
		}
	}
}

// A v1.0 metadata that has answered 404 for a day is believed: the
// authority dropped v1.0, and v1.0 tokens are refused.
func TestV1Metadata404ForADayDropsV1(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := srv.Config()
	cfg.CacheSize = -1
	v := newValidator(t, cfg)
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	v1 := srv.Mint(entratest.Token{Version: entra.Version1, Scopes: []string{"a"}})
	srv.SetFault(entratest.EndpointMetadataV1, entratest.Status(http.StatusNotFound))
	if err := entra.ForceMetadataRefresh(v); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctxT(t), v1); err != nil {
		t.Fatalf("v1.0 token after the first 404: %v", err)
	}
	entra.AgeV1Missing(v, 25*time.Hour)
	// The loop's own retry may be in flight from before the ageing: each
	// attempt waits for a refresh, never for time.
	var err error
	for range 3 {
		if err := entra.ForceMetadataRefresh(v); err != nil {
			t.Fatal(err)
		}
		if _, err = v.Validate(ctxT(t), v1); err != nil {
			break
		}
	}
	wantCode(t, err, entra.ErrIssuerInvalid)
	if _, err := v.Validate(ctxT(t), srv.UserToken("a")); err != nil {
		t.Fatalf("v2.0 token: %v", err)
	}
}

// Entra's real 2025 "common" key set lists two keys of the US Government
// cloud (cloud_instance_name "microsoftonline.us"). With the real metadata's
// cloud_instance_name, they are not loaded, and the real tokens signed by
// the global cloud's keys still validate.
func TestRealKeySetKeysOfAnotherCloudSkipped(t *testing.T) {
	dir := vectorsDir(t)
	const set = "entra/jwks/2025-09_common_discovery_v2.0_keys__dfinity-internet-identity.json"
	jwks, err := os.ReadFile(filepath.Join(dir, set))
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/common/v2.0/.well-known/openid-configuration":
			_, _ = w.Write([]byte(`{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","jwks_uri":"` + srv.URL + `/common/discovery/v2.0/keys","cloud_instance_name":"microsoftonline.com"}`))
		case "/common/.well-known/openid-configuration":
			_, _ = w.Write([]byte(`{"issuer":"https://sts.windows.net/{tenantid}/","jwks_uri":"` + srv.URL + `/common/discovery/keys","cloud_instance_name":"microsoftonline.com"}`))
		case "/common/discovery/v2.0/keys":
			_, _ = w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	seen := 0
	for _, tok := range loadManifest(t, dir) {
		if tok.JWKS != set || !strings.Contains(tok.File, "/valid-signature/") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, tok.File))
		if err != nil {
			t.Fatal(err)
		}
		at := time.Unix(tok.Iat+1, 0)
		v := newValidator(t, entra.Config{TenantID: entra.TenantCommon, AnyTenant: true, ClientID: "11111111-2222-3333-4444-555555555555",
			Audiences: audiences(tok.Aud), AuthorityHost: srv.URL, HTTPClient: srv.Client(), Now: func() time.Time { return at }})
		if _, err := v.Validate(ctxT(t), strings.TrimSpace(string(raw))); err != nil {
			t.Fatalf("%s: %v", filepath.Base(tok.File), err)
		}
		for _, k := range v.Keys() {
			if k.ID == "wf9rj3EkQvzKpxDG-mJn1gALi6U" || k.ID == "dwd9Kc_5AQRdu0kNDRn5H5_ejaM" {
				t.Fatalf("key %s of the US Government cloud was loaded", k.ID)
			}
		}
		if n := len(v.Keys()); n != 4 {
			t.Fatalf("%d keys loaded, want the 4 of the global cloud", n)
		}
		seen++
	}
	if seen == 0 {
		t.Fatal("no token of that key set in the manifest")
	}
}

// MaxTenantKeySets is bounded; NewValidator names the field.
func TestMaxTenantKeySetsConfig(t *testing.T) {
	_, err := entra.NewValidator(entra.Config{TenantID: entra.TenantOrganizations, AnyTenant: true, ClientID: "api", MaxTenantKeySets: 1 << 30})
	wantCode(t, err, entra.ErrConfigInvalid)
	if !strings.Contains(err.Error(), "MaxTenantKeySets") {
		t.Fatalf("error does not name the field: %v", err)
	}
}

// A tenant's key set older than RefreshInterval is refreshed in the
// background when used: a key the tenant removed stops being trusted, and
// the verified-token cache is flushed.
func TestTenantKeySetRefreshedWhenStale(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := anyTenant(srv.MultiTenantConfig(entra.TenantOrganizations))
	v := newValidator(t, cfg) // with the token cache
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	kid := srv.AddTenantKey(tenantA)
	mint := func() string {
		return srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Scopes: []string{"a"}})
	}
	cached := mint()
	if _, err := v.Validate(ctxT(t), cached); err != nil {
		t.Fatal(err)
	}
	srv.RemoveKey(kid)
	if _, err := v.Validate(ctxT(t), mint()); err != nil {
		t.Fatalf("within RefreshInterval the tenant's set is not refetched: %v", err)
	}
	entra.AgeTenantKeySets(v, 2*entra.DefaultRefreshInterval)
	before := srv.Fetches(entratest.EndpointMetadataV2)
	if _, err := v.Validate(ctxT(t), mint()); err != nil {
		t.Fatalf("a stale set still serves while it is refreshed: %v", err)
	}
	waitFor(t, "the background refresh", func() bool {
		return srv.Fetches(entratest.EndpointJWKS) > 0 && srv.Fetches(entratest.EndpointMetadataV2) > before
	})
	waitFor(t, "the removed key to be refused", func() bool {
		_, err := v.Validate(ctxT(t), cached)
		return errors.Is(err, entra.ErrUnknownKey)
	})
}

// A request waits for a tenant's key set fetch no longer than its own
// context, and Close ends a fetch in flight.
func TestTenantKeySetFetchBoundedByContext(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cfg := anyTenant(srv.MultiTenantConfig(entra.TenantOrganizations))
	cfg.CacheSize = -1
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	kid := srv.AddTenantKey(tenantA)
	srv.SetFault(entratest.EndpointMetadataV2, entratest.Hang())
	tok := srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Scopes: []string{"a"}})
	for range 3 { // the first starts the fetch, the others join it
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := v.Validate(ctx, tok)
		cancel()
		wantCode(t, err, entra.ErrUnknownKey)
	}
	v.Close() // with the fetch still hanging; goleak checks it ended
}
