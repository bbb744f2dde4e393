package entra_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// madeUpTenant is the i-th tenant ID an attacker makes up.
func madeUpTenant(i int) string {
	return fmt.Sprintf("%08x-0bad-4bad-8bad-%012x", i, i)
}

// tenantFetchCounter counts the tenant metadata requests the authority
// gets, by tenant; with entraLike, it answers a tenant it does not know
// (anything but the known ones and the multi-tenant names) as Entra does:
// 400, AADSTS90002.
type tenantFetchCounter struct {
	mu       sync.Mutex
	byTenant map[string]int
}

func countTenantFetches(srv *entratest.Server, entraLike bool, known ...string) *tenantFetchCounter {
	fc := &tenantFetchCounter{byTenant: map[string]int{}}
	srv.SetFault(entratest.EndpointMetadataV2, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		tenant, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		tenant = strings.ToLower(tenant)
		if tenant == entra.TenantOrganizations || tenant == entra.TenantCommon {
			next.ServeHTTP(w, r)
			return
		}
		fc.mu.Lock()
		fc.byTenant[tenant]++
		fc.mu.Unlock()
		isKnown := false
		for _, k := range known {
			isKnown = isKnown || strings.EqualFold(k, tenant)
		}
		if entraLike && !isKnown {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant '%s' not found."}`, tenant)
			return
		}
		next.ServeHTTP(w, r)
	})
	return fc
}

func (fc *tenantFetchCounter) of(tenant string) int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.byTenant[strings.ToLower(tenant)]
}

func (fc *tenantFetchCounter) total() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	n := 0
	for _, c := range fc.byTenant {
		n += c
	}
	return n
}

// Forged tokens with made-up tenant IDs (not even signed with a published
// key) use up the fetch budget of tenants never seen before, and fill the
// tenants kept. A tenant a token was accepted from keeps its key set
// anyway: its next valid token, signed with its own key, is accepted, and
// the flood costs at most 10 fetches per MinRefreshInterval.
func TestForgedTenantsCannotDisplaceAnAcceptedTenant(t *testing.T) {
	for _, entraLike := range []bool{true, false} {
		name := "made-up tenants answered 400, as Entra does"
		if !entraLike {
			name = "tenants that exist"
		}
		t.Run(name, func(t *testing.T) {
			srv := entratest.NewServer()
			defer srv.Close()
			kid := srv.AddTenantKey(tenantA)
			forgedKid := srv.AddUnpublishedKey()
			fc := countTenantFetches(srv, entraLike, tenantA)
			v := multiTenantValidator(t, srv, func(c *entra.Config) { c.MaxTenantKeySets, c.MinRefreshInterval = 3, time.Hour }) // AnyTenant; one window however slow the machine
			real := func() string {
				return srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Scopes: []string{"Orders.Read"}})
			}
			if _, err := v.Validate(ctxT(t), real()); err != nil {
				t.Fatalf("the tenant's token before the flood: %v", err)
			}

			const n = 300
			for i := range n {
				forged := srv.Mint(entratest.Token{TenantID: madeUpTenant(i), KeyID: forgedKid, Scopes: []string{"Orders.Read"}})
				_, err := v.Validate(ctxT(t), forged)
				wantCode(t, err, entra.ErrUnknownKey)
			}
			if got := fc.total() - 1; got > 10 {
				t.Errorf("%d forged tokens made %d tenant fetches, want at most 10", n, got)
			}

			if _, err := v.Validate(ctxT(t), real()); err != nil {
				t.Fatalf("the tenant's valid token after %d forged ones: %v", n, err)
			}
			if got := fc.of(tenantA); got != 1 {
				t.Errorf("the tenant's key set was fetched %d times, want once", got)
			}
		})
	}
}

// With AllowedTenants, made-up tenants cost no fetch, and forged tokens of
// listed tenants cannot use up a budget the others need: every listed
// tenant gets its own key set fetched, even one never seen before.
func TestForgedTenantsCannotKeepAListedTenantOut(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	kid := srv.AddTenantKey(tenantA)
	forgedKid := srv.AddUnpublishedKey()
	allowed := []string{tenantA}
	for i := range 15 {
		allowed = append(allowed, madeUpTenant(1000+i))
	}
	fc := countTenantFetches(srv, true, tenantA)
	v := multiTenantValidator(t, srv, func(c *entra.Config) { c.AllowedTenants, c.MinRefreshInterval = allowed, time.Hour })

	for i := range 300 { // tenants not listed
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: madeUpTenant(i), KeyID: forgedKid, Scopes: []string{"a"}}))
		wantCode(t, err, entra.ErrUnknownKey)
	}
	if got := fc.total(); got != 0 {
		t.Fatalf("forged tokens of tenants not listed made %d tenant fetches, want 0", got)
	}
	for range 3 { // listed tenants, each more than once
		for _, tid := range allowed[1:] {
			_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tid, KeyID: forgedKid, Scopes: []string{"a"}}))
			wantCode(t, err, entra.ErrUnknownKey)
		}
	}
	if got := fc.total(); got != len(allowed)-1 {
		t.Errorf("forged tokens of %d listed tenants made %d tenant fetches, want one each", len(allowed)-1, got)
	}

	tok := srv.Mint(entratest.Token{TenantID: tenantA, KeyID: kid, Scopes: []string{"Orders.Read"}})
	if _, err := v.Validate(ctxT(t), tok); err != nil {
		t.Fatalf("a listed tenant's first valid token after the flood: %v", err)
	}
	if got := fc.total(); got != len(allowed) {
		t.Errorf("%d tenant fetches in all, want %d (one per listed tenant)", got, len(allowed))
	}
}

// With AnyTenant, a tenant whose tokens were accepted before, signed with
// Entra's shared keys as most are, is known to be real: when it moves to a
// key of its own during a flood of forged tokens, its first such token is
// accepted. A tenant never seen before shares the ten fetches per window
// with the forged tokens, which keeps the authority's load bounded.
func TestForgedTenantsCannotKeepAKnownTenantOut(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	forgedKid := srv.AddUnpublishedKey()
	const neverSeen = "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
	fc := countTenantFetches(srv, true, tenantB, neverSeen)
	v := multiTenantValidator(t, srv, func(c *entra.Config) { c.MinRefreshInterval = time.Hour }) // AnyTenant; one window

	// Tenant B calls with tokens signed by the shared keys.
	if _, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenantB, Scopes: []string{"Orders.Read"}})); err != nil {
		t.Fatalf("a token signed with a shared key: %v", err)
	}
	if got := fc.total(); got != 0 {
		t.Fatalf("a token signed with a shared key made %d tenant fetches, want 0", got)
	}

	const n = 300
	for i := range n {
		_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: madeUpTenant(i), KeyID: forgedKid, Scopes: []string{"a"}}))
		wantCode(t, err, entra.ErrUnknownKey)
	}
	if got := fc.total(); got != 10 {
		t.Fatalf("%d forged tokens made %d tenant fetches, want 10", n, got)
	}

	// Tenant B now signs with a key of its own.
	kid := srv.AddTenantKey(tenantB)
	if _, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: tenantB, KeyID: kid, Scopes: []string{"Orders.Read"}})); err != nil {
		t.Fatalf("a known tenant's first token signed with its own key, after %d forged ones: %v", n, err)
	}
	// A tenant never seen before waits for the next window: no fetch.
	kidNew := srv.AddTenantKey(neverSeen)
	_, err := v.Validate(ctxT(t), srv.Mint(entratest.Token{TenantID: neverSeen, KeyID: kidNew, Scopes: []string{"a"}}))
	wantCode(t, err, entra.ErrUnknownKey)
	if got := fc.total(); got != 11 {
		t.Errorf("%d tenant fetches in all, want 11 (10 forged, tenant B once)", got)
	}
}
