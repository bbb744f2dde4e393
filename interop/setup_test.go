package interop_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// The apps registered with every authority of these tests.
const (
	daemonID  = "6731de76-14a6-49ae-97bc-6eba6914391e" // client credentials, secret and certificate
	daemonSec = "interop.secret-value_42"
	midTierID = "9b1c3f7e-7d4a-4c7e-a0a8-5b6f1e2d3c4b" // on-behalf-of, secret and certificate
	midSec    = "interop.mid-tier-secret"
)

// authority is a fake Entra ID on TLS with a daemon app and a middle tier.
type authority struct {
	*entratest.Server
	cert    *x509.Certificate // the daemon's and the middle tier's certificate
	key     crypto.Signer
	v       *entra.Validator
	scope   string // the API's .default scope
	handler http.Handler
}

func newAuthority(t *testing.T, opts ...entratest.Option) *authority {
	t.Helper()
	srv := entratest.NewTLSServer(opts...)
	t.Cleanup(srv.Close)
	a := &authority{Server: srv, scope: "api://" + srv.ClientID + "/.default"}
	a.cert, a.key = entratest.NewClientCertificate(daemonID)
	srv.RegisterApp(entratest.App{ClientID: daemonID, Secret: daemonSec, Certificate: a.cert, Roles: []string{"Orders.Read.All"}})
	srv.RegisterApp(entratest.App{ClientID: midTierID, Secret: midSec, Certificate: a.cert, Scopes: []string{"Orders.Read"}})
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	a.v = v
	a.handler = entra.Middleware(v)(entra.RequireScopeOrAppRole([]string{"Orders.Read"}, []string{"Orders.Read.All"}).
		Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := entra.ClaimsFromContext(r.Context())
			_, _ = w.Write([]byte(c.ObjectID()))
		})))
	return a
}

// authorityURL is the authority MSAL and azidentity are given.
func (a *authority) authorityURL() string { return a.URL + "/" + a.TenantID }

// accepts checks that entraguard's validator and middleware accept token,
// and returns its claims.
func (a *authority) accepts(t *testing.T, token string) *entra.Claims {
	t.Helper()
	c, err := a.v.Validate(context.Background(), token)
	if err != nil {
		t.Fatalf("the validator refuses the token: %v", err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/orders", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.String() != c.ObjectID() {
		t.Fatalf("the middleware answers %d %q, want 200 %q", rec.Code, rec.Body.String(), c.ObjectID())
	}
	return c
}
