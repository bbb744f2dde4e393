package entra_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// Every typed accessor reads its claim, from v1 and v2 tokens alike.
func TestClaimsAccessors(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	ctx := ctxT(t)
	iat := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	v2, err := v.Validate(ctx, srv.Mint(entratest.Token{
		Scopes: []string{"Orders.Read"}, Groups: []string{"g1"}, IssuedAt: iat, NotBefore: iat,
		Subject: "pairwise-sub", PreferredUsername: "adele@contoso.example",
		Claims: map[string]any{
			"email": "adele@contoso.example", "wids": []string{"w1"}, "xms_cc": []string{"cp1"},
			"idp": "live.com", "custom": map[string]any{"n": 1},
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]any{
		"Subject": v2.Subject(), "PreferredUsername": v2.PreferredUsername(), "Email": v2.Email(),
		"Groups": strings.Join(v2.Groups(), ","), "WIDs": strings.Join(v2.WIDs(), ","),
		"ClientCapabilities": strings.Join(v2.ClientCapabilities(), ","), "IdentityProvider": v2.IdentityProvider(),
		"Issuer": v2.Issuer(), "Audience": strings.Join(v2.Audience(), ","),
	} {
		want := map[string]any{
			"Subject": "pairwise-sub", "PreferredUsername": "adele@contoso.example", "Email": "adele@contoso.example",
			"Groups": "g1", "WIDs": "w1", "ClientCapabilities": "cp1", "IdentityProvider": "live.com",
			"Issuer": srv.Issuer("2.0", srv.TenantID), "Audience": srv.ClientID,
		}[name]
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if !v2.IssuedAt().Equal(iat) || !v2.NotBefore().Equal(iat) || v2.ExpiresAt().Before(time.Now()) {
		t.Errorf("dates: iat %v nbf %v exp %v", v2.IssuedAt(), v2.NotBefore(), v2.ExpiresAt())
	}
	if got, ok := v2.Get("custom"); !ok || got.(map[string]any)["n"] != json.Number("1") {
		t.Errorf("Get(custom) = %v, %v", got, ok)
	}
	if _, ok := v2.Get("absent"); ok {
		t.Errorf("Get(absent) found a claim")
	}
	var raw map[string]any
	if err := json.Unmarshal(v2.RawJSON(), &raw); err != nil || raw["tid"] != srv.TenantID {
		t.Errorf("RawJSON: %v %v", err, raw["tid"])
	}
	var summary map[string]any
	b, err := json.Marshal(v2)
	if err != nil || json.Unmarshal(b, &summary) != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	for _, k := range []string{"oid", "tid", "sub", "name", "preferred_username", "app_id", "identity_type", "scopes", "roles", "groups", "token_version"} {
		if _, ok := summary[k]; !ok {
			t.Errorf("MarshalJSON lacks %q: %s", k, b)
		}
	}
	if summary["identity_type"] != "user" || summary["token_version"] != "2.0" || summary["roles"] == nil {
		t.Errorf("MarshalJSON = %s", b)
	}

	v1, err := v.Validate(ctx, srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"Orders.Read"}}))
	if err != nil {
		t.Fatal(err)
	}
	if v1.UPN() == "" || len(v1.AMR()) == 0 || v1.Username() != v1.UPN() || v1.Version() != "1.0" {
		t.Errorf("v1 user: upn %q amr %q username %q", v1.UPN(), v1.AMR(), v1.Username())
	}
}

// Key.PEM gives the published public key back.
func TestKeyPEM(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, k := range v.Keys() {
		block, _ := pem.Decode(k.PEM())
		if block == nil || block.Type != "PUBLIC KEY" {
			t.Fatalf("key %s: no PUBLIC KEY block", k.ID)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil || !pub.(*rsa.PublicKey).Equal(srv.PublicKey(k.ID)) {
			t.Fatalf("key %s: PEM is not the published key (%v)", k.ID, err)
		}
		if k.Certificate == nil || !k.Certificate.PublicKey.(*rsa.PublicKey).Equal(srv.PublicKey(k.ID)) {
			t.Fatalf("key %s: certificate missing or of another key", k.ID)
		}
	}
	st := v.Stats()
	if st.Keys != len(v.Keys()) || st.Refreshes == 0 || st.KeysLoadedAt.IsZero() || st.LastRefreshError != nil {
		t.Errorf("Stats = %+v", st)
	}
}

// An Azure AD B2C-style authority: one metadata document (MetadataURL), keys
// without x5c, tokens without tid.
func TestMetadataURLOverride(t *testing.T) {
	srv := entratest.NewServer(entratest.WithoutX5C())
	defer srv.Close()
	cfg := srv.Config()
	cfg.MetadataURL = srv.URL + "/" + srv.TenantID + "/v2.0/.well-known/openid-configuration"
	v := newValidator(t, cfg)
	ctx := ctxT(t)
	if _, err := v.Validate(ctx, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"tid": nil}})); err != nil {
		t.Fatalf("token without tid from the configured metadata: %v", err)
	}
	for _, k := range v.Keys() {
		if k.Certificate != nil {
			t.Errorf("key %s has a certificate, the key set had no x5c", k.ID)
		}
	}
	if _, err := v.Validate(ctx, srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}})); !errors.Is(err, entra.ErrIssuerInvalid) {
		t.Fatalf("v1 token not named by the one document: got %v", entra.CodeOf(err))
	}
	if n := srv.Fetches(entratest.EndpointMetadataV1); n != 0 {
		t.Errorf("v1.0 metadata fetched %d times with MetadataURL set", n)
	}
}

// Handlers answer a claims challenge with the middleware's options, and
// the refusal reaches OnRejected; WithoutAuthorizationURI leaves the URI out.
func TestWriteErrorAndChallengeOptions(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var rejected atomic.Int32
	challenge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entra.WriteError(w, r, entra.ClaimsChallenge(`{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`))
	})
	h := entra.Middleware(v, entra.WithRealm("orders"),
		entra.OnRejected(func(_ context.Context, e *entra.Error) { rejected.Add(1) }))(challenge)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"xms_cc": []string{"cp1"}}}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	ch := rec.Header().Get("WWW-Authenticate")
	if rec.Code != 401 || !strings.HasPrefix(ch, `Bearer realm="orders", authorization_uri="`) || !strings.Contains(ch, `error="insufficient_claims"`) || !strings.Contains(ch, `claims="`) {
		t.Fatalf("claims challenge: %d %q", rec.Code, ch)
	}
	if rejected.Load() != 1 {
		t.Errorf("OnRejected called %d times", rejected.Load())
	}

	plain := entra.Middleware(v, entra.WithoutAuthorizationURI())(challenge)
	rec = httptest.NewRecorder()
	plain.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if ch := rec.Header().Get("WWW-Authenticate"); rec.Code != 401 || strings.Contains(ch, "authorization_uri") {
		t.Fatalf("WithoutAuthorizationURI: %d %q", rec.Code, ch)
	}

	// Without any middleware, answers use the defaults.
	r := entra.ResponseFor(ctxT(t), entra.ErrForbidden)
	if r.Status != 403 || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer realm=""`) {
		t.Fatalf("ResponseFor without middleware: %d %q", r.Status, r.Header.Get("WWW-Authenticate"))
	}
}

// NewContext lets handler tests run without a token.
func TestNewContext(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	c, err := v.Validate(ctxT(t), srv.AppToken("Admin"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := entra.NewContext(ctxT(t), c)
	if got, ok := entra.ClaimsFromContext(ctx); !ok || got != c {
		t.Fatal("ClaimsFromContext did not return the claims of NewContext")
	}
	if resp := entra.Authorize(ctx, entra.RequireRole("Admin")); resp != nil {
		t.Fatalf("Authorize: %d", resp.Status)
	}
	if resp := entra.Authorize(ctx, entra.RequireRole("Reader")); resp == nil || resp.Status != 403 {
		t.Fatal("Authorize let a missing role through")
	}
	if _, ok := entra.ClaimsFromContext(ctxT(t)); ok {
		t.Fatal("claims in an empty context")
	}
}

// Every exported method of Claims, including those added later, is safe on
// a nil *Claims and reads as zero values.
func TestNilClaimsAreSafe(t *testing.T) {
	var c *entra.Claims
	typ := reflect.TypeOf(c)
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		args := []reflect.Value{reflect.ValueOf(c)}
		for j := 1; j < m.Type.NumIn(); j++ {
			args = append(args, reflect.Zero(m.Type.In(j)))
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("(*Claims)(nil).%s panicked: %v", m.Name, r)
				}
			}()
			for _, out := range m.Func.Call(args) {
				if out.Kind() == reflect.Bool && out.Bool() && m.Name != "Get" {
					t.Errorf("(*Claims)(nil).%s = true, want false", m.Name)
				}
			}
		}()
	}
	if c.IsApp() || c.IsUser() || c.IdentityType() != "" || c.HasScope("") || len(c.Raw()) != 0 {
		t.Fatal("a nil *Claims does not read as zero values")
	}
	if b, err := json.Marshal(struct{ C *entra.Claims }{c}); err != nil || string(b) != `{"C":null}` {
		t.Fatalf("json of a nil *Claims: %s, %v", b, err)
	}
	// The guards refuse a nil *Claims rather than panicking.
	if err := entra.RequireScope("Orders.Read").Check(c); !errors.Is(err, entra.ErrTokenMissing) {
		t.Fatalf("Check(nil) = %v, want ErrTokenMissing", err)
	}
}
