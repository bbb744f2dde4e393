package entratest_test

import (
	"crypto/rsa"
	"slices"
	"sync"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
)

func TestJWKSVerifiesMintedTokens(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	for _, path := range []string{"/" + srv.TenantID + "/discovery/v2.0/keys", "/" + srv.TenantID + "/discovery/keys", "/organizations/discovery/v2.0/keys"} {
		keys := fetchKeys(t, srv, srv.URL+path)
		if got := keyIDs(keys); len(got) != 1 || got[0] != srv.CurrentKeyID() {
			t.Fatalf("%s publishes %v, want the current key %s", path, got, srv.CurrentKeyID())
		}
		k := keys[srv.CurrentKeyID()]
		if k.cert == nil {
			t.Fatalf("%s: no x5c", path)
		}
		if k.cert.Subject.CommonName != "accounts.accesscontrol.windows.net" {
			t.Errorf("certificate subject %s", k.cert.Subject)
		}
		for _, tok := range []string{
			srv.UserToken("Orders.Read"),
			srv.AppToken("Admin"),
			srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}}),
			srv.Mint(entratest.Token{Version: "1.0", App: true}),
			srv.Mint(entratest.Token{TenantID: otherTenant}),
		} {
			if err := verify(t, tok, keys); err != nil {
				t.Errorf("%s: token does not verify with n/e: %v", path, err)
			}
			if err := verifyWith(t, tok, k.cert.PublicKey.(*rsa.PublicKey)); err != nil {
				t.Errorf("%s: token does not verify with the x5c certificate: %v", path, err)
			}
		}
	}
	// A tampered token does not verify: the check above means something.
	tok := srv.UserToken("a")
	if err := verifyWith(t, tok[:len(tok)-4]+"AAAA", srv.PublicKey(srv.CurrentKeyID())); err == nil {
		t.Fatal("a tampered signature verifies")
	}
}

func TestJWKSIssuerProperty(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	for tenant, want := range map[string]string{
		srv.TenantID:    srv.URL + "/" + srv.TenantID + "/v2.0",
		otherTenant:     srv.URL + "/" + otherTenant + "/v2.0",
		"organizations": srv.URL + "/{tenantid}/v2.0",
		"common":        srv.URL + "/{tenantid}/v2.0",
	} {
		for _, k := range fetchKeys(t, srv, srv.URL+"/"+tenant+"/discovery/v2.0/keys") {
			if k.raw["issuer"] != want {
				t.Errorf("%s v2.0 key issuer = %v, want %s", tenant, k.raw["issuer"], want)
			}
		}
		for _, k := range fetchKeys(t, srv, srv.URL+"/"+tenant+"/discovery/keys") {
			if _, ok := k.raw["issuer"]; ok {
				t.Errorf("%s v1.0 key carries issuer %v", tenant, k.raw["issuer"])
			}
		}
	}
}

func TestKeyRotation(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	url := srv.URL + "/" + srv.TenantID + "/discovery/v2.0/keys"
	old := srv.CurrentKeyID()
	oldTok := srv.UserToken("a")

	kid := srv.RotateKeys()
	if kid == old || srv.CurrentKeyID() != kid {
		t.Fatalf("RotateKeys = %s, current %s, old %s", kid, srv.CurrentKeyID(), old)
	}
	keys := fetchKeys(t, srv, url)
	if _, ok := keys[old]; !ok || len(keys) != 2 {
		t.Fatalf("after RotateKeys the key set has %v, want the old and the new key", keyIDs(keys))
	}
	if got := srv.KeyIDs(); !slices.Equal(got, []string{old, kid}) {
		t.Errorf("KeyIDs = %v", got)
	}
	newTok := srv.UserToken("a")
	if h, _ := parse(t, newTok); h["kid"] != kid {
		t.Errorf("token kid %v, want the new key %s", h["kid"], kid)
	}
	for _, tok := range []string{oldTok, newTok} {
		if err := verify(t, tok, keys); err != nil {
			t.Error(err)
		}
	}

	srv.RemoveKey(old)
	keys = fetchKeys(t, srv, url)
	if _, ok := keys[old]; ok || len(keys) != 1 {
		t.Fatalf("after RemoveKey the key set has %v", keyIDs(keys))
	}
	if got := srv.KeyIDs(); !slices.Equal(got, []string{kid}) {
		t.Errorf("KeyIDs = %v", got)
	}
	// The removed key still signs, for tests of tokens the validator must refuse.
	removed := srv.Mint(entratest.Token{KeyID: old})
	if h, _ := parse(t, removed); h["kid"] != old {
		t.Errorf("kid %v, want %s", h["kid"], old)
	}
	if err := verifyWith(t, removed, srv.PublicKey(old)); err != nil {
		t.Error(err)
	}
	wantPanic(t, func() { srv.RemoveKey("no-such-kid") })
	wantPanic(t, func() { srv.Mint(entratest.Token{KeyID: "no-such-kid"}) })
}

func TestAddKeys(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	url := srv.URL + "/" + srv.TenantID + "/discovery/v2.0/keys"
	current := srv.CurrentKeyID()

	next := srv.AddKey()
	hidden := srv.AddUnpublishedKey()
	app := srv.AddAppKey(srv.ClientID)
	if srv.CurrentKeyID() != current {
		t.Fatal("adding keys changed the current key")
	}
	keys := fetchKeys(t, srv, url)
	if !sameSet(keyIDs(keys), []string{current, next}) || !sameSet(srv.KeyIDs(), []string{current, next}) {
		t.Fatalf("key set %v, KeyIDs %v, want %s and %s", keyIDs(keys), srv.KeyIDs(), current, next)
	}
	appKeys := fetchKeys(t, srv, url+"?appid="+srv.ClientID)
	if !sameSet(keyIDs(appKeys), []string{current, next, app}) {
		t.Fatalf("app key set %v, want the tenant keys and %s", keyIDs(appKeys), app)
	}
	if q := srv.LastQuery(entratest.EndpointJWKS); q.Get("appid") != srv.ClientID {
		t.Errorf("LastQuery = %v", q)
	}
	if got := keyIDs(fetchKeys(t, srv, url+"?appid="+srv.CallerID)); !sameSet(got, []string{current, next}) {
		t.Errorf("key set of another app %v", got)
	}

	for _, kid := range []string{next, app} {
		tok := srv.Mint(entratest.Token{KeyID: kid})
		if err := verify(t, tok, appKeys); err != nil {
			t.Errorf("key %s: %v", kid, err)
		}
	}
	tok := srv.Mint(entratest.Token{KeyID: hidden})
	if h, _ := parse(t, tok); h["kid"] != hidden {
		t.Errorf("kid %v, want %s", h["kid"], hidden)
	}
	if err := verifyWith(t, tok, srv.PublicKey(hidden)); err != nil {
		t.Error(err)
	}
	if !srv.Certificate(hidden).PublicKey.(*rsa.PublicKey).Equal(srv.PublicKey(hidden)) || !srv.PrivateKey(hidden).PublicKey.Equal(srv.PublicKey(hidden)) {
		t.Error("Certificate, PrivateKey and PublicKey disagree")
	}
	if srv.PublicKey("nope") != nil || srv.PrivateKey("nope") != nil || srv.Certificate("nope") != nil {
		t.Error("an unknown kid has a key")
	}
	wantPanic(t, func() { srv.AddAppKey("") })
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestWithoutX5C(t *testing.T) {
	srv := entratest.NewServer(entratest.WithoutX5C())
	defer srv.Close()
	keys := fetchKeys(t, srv, srv.URL+"/"+srv.TenantID+"/discovery/v2.0/keys")
	for kid, k := range keys {
		for _, field := range []string{"x5c", "x5t"} {
			if _, ok := k.raw[field]; ok {
				t.Errorf("key %s carries %s", kid, field)
			}
		}
	}
	if err := verify(t, srv.UserToken("a"), keys); err != nil {
		t.Fatal(err)
	}
}

func TestWithKeyBits(t *testing.T) {
	srv := entratest.NewServer(entratest.WithKeyBits(1024))
	defer srv.Close()
	keys := fetchKeys(t, srv, srv.URL+"/"+srv.TenantID+"/discovery/v2.0/keys")
	if n := keys[srv.CurrentKeyID()].pub.N.BitLen(); n != 1024 {
		t.Fatalf("modulus of %d bits", n)
	}
	if err := verify(t, srv.UserToken("a"), keys); err != nil {
		t.Fatal(err)
	}
}

// Servers open at the same time never share a key, even when they reuse
// the keys of closed servers.
func TestOpenServersHaveDistinctKeys(t *testing.T) {
	for range 3 { // let the pool fill and be reused
		var (
			mu      sync.Mutex
			servers []*entratest.Server
			wg      sync.WaitGroup
		)
		for range 4 {
			wg.Go(func() {
				s := entratest.NewServer()
				s.RotateKeys()
				mu.Lock()
				servers = append(servers, s)
				mu.Unlock()
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, s := range servers {
			for _, kid := range s.KeyIDs() {
				n := s.PublicKey(kid).N.String()
				if seen[n] {
					t.Fatal("two open servers share a key")
				}
				seen[n] = true
			}
		}
		for _, s := range servers {
			s.Close()
		}
	}
}
