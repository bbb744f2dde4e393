package entra_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// body decodes a refusal's JSON body.
func refusalBody(t *testing.T, b []byte) (code, desc string) {
	t.Helper()
	var m struct {
		Code        string `json:"code"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m.Code, m.Description
}

func boundToken(srv *entratest.Server) string {
	ca := entratest.NewCertAuthority()
	c := ca.ClientCertificate("bound client")
	return srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: c.Leaf})
}

// A token bound to a certificate (cnf x5t#S256) is refused when presented
// as a bearer token, by default, with a description that says why and
// what to do, every time (the second time from the verified-token cache).
func TestBoundTokenRefusedAsBearer(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	tok := boundToken(srv)
	h := entra.Middleware(v)(http.HandlerFunc(okHandler))
	for i := range 2 {
		rec := get(t, h, "/", http.Header{"Authorization": {"Bearer " + tok}})
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("try %d: status %d, want 401", i, rec.Code)
		}
		code, desc := refusalBody(t, rec.Body.Bytes())
		if code != string(entra.CodeTokenBound) {
			t.Fatalf("try %d: code %q, want %q", i, code, entra.CodeTokenBound)
		}
		for _, want := range []string{"cnf", "bearer", "MTLS_POP", "WithMTLSBinding"} {
			if !strings.Contains(desc, want) {
				t.Errorf("description %q does not mention %q", desc, want)
			}
		}
		if !strings.Contains(rec.Header().Get("Www-Authenticate"), `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q", rec.Header().Get("Www-Authenticate"))
		}
	}
	// An unbound token of the same caller passes.
	if rec := get(t, h, "/", http.Header{"Authorization": {"Bearer " + srv.UserToken("Orders.Read")}}); rec.Code != http.StatusOK {
		t.Fatalf("unbound token: status %d", rec.Code)
	}
}

// Validate and AuthenticateToken have no proof of possession either.
func TestBoundTokenRefusedByValidateAndAuthenticateToken(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	tok := boundToken(srv)
	for i := range 2 {
		if _, err := v.Validate(t.Context(), tok); !errors.Is(err, entra.ErrTokenBound) {
			t.Fatalf("Validate, try %d: %v, want token_bound", i, err)
		}
	}
	a := entra.NewAuthenticator(v)
	if _, _, err := a.AuthenticateToken(t.Context(), tok); !errors.Is(err, entra.ErrTokenBound) {
		t.Fatalf("AuthenticateToken: %v, want token_bound", err)
	}
}

// Any cnf binds the token, even one this package cannot verify (DPoP's
// jkt, a jwk) or an empty one; a cnf that cannot be read refuses the
// token as malformed, never as unbound.
func TestConfirmationShapes(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	d := sha256.Sum256([]byte("a certificate"))
	thumb := base64.RawURLEncoding.EncodeToString(d[:])
	tests := []struct {
		name string
		cnf  json.RawMessage
		want entra.Code
	}{
		{"x5t#S256", json.RawMessage(`{"x5t#S256":"` + thumb + `"}`), entra.CodeTokenBound},
		{"jkt (DPoP)", json.RawMessage(`{"jkt":"` + thumb + `"}`), entra.CodeTokenBound},
		{"kid", json.RawMessage(`{"kid":"abc"}`), entra.CodeTokenBound},
		{"empty object", json.RawMessage(`{}`), entra.CodeTokenBound},
		{"x5t#S256 beside others", json.RawMessage(`{"kid":"k","x5t#S256":"` + thumb + `","jwk":{"kty":"EC"}}`), entra.CodeTokenBound},
		{"string", json.RawMessage(`"` + thumb + `"`), entra.CodeTokenMalformed},
		{"null", json.RawMessage(`null`), entra.CodeTokenMalformed},
		{"array", json.RawMessage(`[{"x5t#S256":"` + thumb + `"}]`), entra.CodeTokenMalformed},
		{"thumbprint a number", json.RawMessage(`{"x5t#S256":1}`), entra.CodeTokenMalformed},
		{"thumbprint padded", json.RawMessage(`{"x5t#S256":"` + thumb + `="}`), entra.CodeTokenMalformed},
		{"thumbprint standard base64", json.RawMessage(`{"x5t#S256":"` + base64.StdEncoding.EncodeToString(d[:]) + `"}`), entra.CodeTokenMalformed},
		{"thumbprint hex", json.RawMessage(`{"x5t#S256":"` + strings.Repeat("ab", 32) + `"}`), entra.CodeTokenMalformed},
		{"thumbprint SHA-1 sized", json.RawMessage(`{"x5t#S256":"` + base64.RawURLEncoding.EncodeToString(d[:20]) + `"}`), entra.CodeTokenMalformed},
		{"thumbprint empty", json.RawMessage(`{"x5t#S256":""}`), entra.CodeTokenMalformed},
		{"member in other case", json.RawMessage(`{"X5T#S256":"` + thumb + `"}`), entra.CodeTokenMalformed},
		{"member twice", json.RawMessage(`{"x5t#S256":"` + thumb + `","x5t#S256":"` + thumb + `"}`), entra.CodeTokenMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"cnf": tc.cnf}})
			_, err := v.Validate(t.Context(), tok)
			if got := entra.CodeOf(err); got != tc.want {
				t.Fatalf("Validate: %v (code %q), want %q", err, got, tc.want)
			}
		})
	}
	t.Run("CNF beside nothing", func(t *testing.T) {
		// Another reader folding case would see a cnf this one did not.
		tok := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Claims: map[string]any{"CNF": map[string]any{"x5t#S256": thumb}}})
		if _, err := v.Validate(t.Context(), tok); entra.CodeOf(err) != entra.CodeTokenMalformed {
			t.Fatalf("Validate: %v, want token_malformed", err)
		}
	})
}

// An API that does not verify bindings refuses the MTLS_POP scheme with
// token_bound, saying how to enable it, rather than as a missing token.
func TestMTLSPoPSchemeWithoutBinding(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	h := entra.Middleware(v, entra.WithOptionalToken())(http.HandlerFunc(okHandler))
	rec := get(t, h, "/", http.Header{"Authorization": {"MTLS_POP " + boundToken(srv)}})
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rec.Code)
	}
	code, desc := refusalBody(t, rec.Body.Bytes())
	if code != string(entra.CodeTokenBound) || !strings.Contains(desc, "WithMTLSBinding") {
		t.Fatalf("code %q, description %q", code, desc)
	}
}

func TestCertificateThumbprint(t *testing.T) {
	ca := entratest.NewCertAuthority()
	c := ca.ClientCertificate("thumb")
	d := sha256.Sum256(c.Leaf.Raw)
	want := base64.RawURLEncoding.EncodeToString(d[:])
	if got := entra.CertificateThumbprint(c.Leaf); got != want || len(got) != 43 {
		t.Fatalf("CertificateThumbprint = %q, want %q", got, want)
	}
	if entra.CertificateThumbprint(nil) != "" {
		t.Fatal("thumbprint of nil")
	}
}

// bytesRequest is a Request whose framework lends header bytes (as Fiber's
// does), which the middleware reads the verified-token cache with.
type bytesRequest struct{ auth string }

func (r bytesRequest) HeaderValues(name string) []string {
	if name == "Authorization" {
		return []string{r.auth}
	}
	return nil
}
func (r bytesRequest) HeaderBytes(name string) [][]byte {
	if name == "Authorization" {
		return [][]byte{[]byte(r.auth)}
	}
	return nil
}
func (bytesRequest) Cookie(string) string { return "" }
func (bytesRequest) Query(string) string  { return "" }
func (bytesRequest) Path() string         { return "/" }

// The lent-bytes cache lookup does not let a cached bound token through.
func TestBoundTokenRefusedFromLentBytes(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	v := newValidator(t, srv.Config())
	a := entra.NewAuthenticator(v)
	tok := boundToken(srv)
	for i := range 3 {
		_, resp := a.Authenticate(t.Context(), bytesRequest{auth: "Bearer " + tok})
		if resp == nil || resp.Err.Code != entra.CodeTokenBound {
			t.Fatalf("try %d: %+v, want a token_bound refusal", i, resp)
		}
	}
	if _, resp := a.Authenticate(t.Context(), bytesRequest{auth: "Bearer " + srv.UserToken("Orders.Read")}); resp != nil {
		t.Fatalf("unbound token refused: %+v", resp.Err)
	}
}
