package entratest_test

import (
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
)

// A tenant's own key is published in that tenant's key sets only.
func TestAddTenantKeyPublishedForItsTenantOnly(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	kid := srv.AddTenantKey(otherTenant)
	for path, want := range map[string]bool{
		"/" + otherTenant + "/discovery/v2.0/keys":  true,
		"/" + otherTenant + "/discovery/keys":       true,
		"/" + srv.TenantID + "/discovery/v2.0/keys": false,
		"/organizations/discovery/v2.0/keys":        false,
		"/common/discovery/keys":                    false,
	} {
		keys := fetchKeys(t, srv, srv.URL+path)
		if _, got := keys[kid]; got != want {
			t.Errorf("%s lists the tenant key: %v, want %v", path, got, want)
		}
		if _, ok := keys[srv.CurrentKeyID()]; !ok {
			t.Errorf("%s lost the shared key", path)
		}
	}
	k := fetchKeys(t, srv, srv.URL+"/"+otherTenant+"/discovery/v2.0/keys")[kid]
	if k.raw["issuer"] != srv.URL+"/"+otherTenant+"/v2.0" {
		t.Errorf("tenant key issuer = %v", k.raw["issuer"])
	}
	tok := srv.Mint(entratest.Token{TenantID: otherTenant, KeyID: kid})
	if err := verify(t, tok, fetchKeys(t, srv, srv.URL+"/"+otherTenant+"/discovery/v2.0/keys")); err != nil {
		t.Fatalf("token signed with the tenant key: %v", err)
	}
	if srv.KeyIDs()[0] != srv.CurrentKeyID() || len(srv.KeyIDs()) != 1 {
		t.Errorf("KeyIDs() = %v, want the shared key only", srv.KeyIDs())
	}
}

// SetKeyIssuer and SetKeyCloudInstance change what the v2.0 key sets say of
// a key, and nothing in the v1.0 ones.
func TestSetKeyIssuerAndCloudInstance(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	kid := srv.CurrentKeyID()
	srv.SetKeyIssuer(kid, " ")
	srv.SetKeyCloudInstance(kid, "microsoftonline.us")
	for _, tenant := range []string{srv.TenantID, "organizations"} {
		k := fetchKeys(t, srv, srv.URL+"/"+tenant+"/discovery/v2.0/keys")[kid]
		if k.raw["issuer"] != " " || k.raw["cloud_instance_name"] != "microsoftonline.us" {
			t.Errorf("%s: issuer %q, cloud_instance_name %q", tenant, k.raw["issuer"], k.raw["cloud_instance_name"])
		}
	}
	k := fetchKeys(t, srv, srv.URL+"/"+srv.TenantID+"/discovery/keys")[kid]
	if _, ok := k.raw["issuer"]; ok {
		t.Error("v1.0 key set has an issuer")
	}
}

func TestTenantKeyHelpersPanicOnBadInput(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	for name, f := range map[string]func(){
		"AddTenantKey not a GUID":     func() { srv.AddTenantKey("contoso.com") },
		"SetKeyIssuer unknown kid":    func() { srv.SetKeyIssuer("nope", "x") },
		"SetKeyCloudInstance unknown": func() { srv.SetKeyCloudInstance("nope", "x") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
