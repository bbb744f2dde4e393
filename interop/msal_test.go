package interop_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/entraguard/entraguard/core/entratest"
)

// msalClient is an MSAL Go confidential client for the fake authority, set
// up as docs/testing.md says.
func msalClient(t *testing.T, a *authority, clientID string, cred confidential.Credential, opts ...confidential.Option) confidential.Client {
	t.Helper()
	opts = append([]confidential.Option{
		confidential.WithHTTPClient(a.Client()),
		confidential.WithInstanceDiscovery(false),
	}, opts...)
	app, err := confidential.New(a.authorityURL(), clientID, cred, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestMSALClientSecret(t *testing.T) {
	a := newAuthority(t)
	cred, err := confidential.NewCredFromSecret(daemonSec)
	if err != nil {
		t.Fatal(err)
	}
	app := msalClient(t, a, daemonID, cred)
	res, err := app.AcquireTokenByCredential(context.Background(), []string{a.scope})
	if err != nil {
		t.Fatalf("MSAL: %v", err)
	}
	c := a.accepts(t, res.AccessToken)
	if c.AppID() != daemonID || !c.HasRole("Orders.Read.All") {
		t.Errorf("app %q roles %v", c.AppID(), c.Roles())
	}
	// MSAL's cache answers the second request.
	before := a.Fetches(entratest.EndpointToken)
	if _, err := app.AcquireTokenByCredential(context.Background(), []string{a.scope}); err != nil {
		t.Fatal(err)
	}
	if n := a.Fetches(entratest.EndpointToken); n != before {
		t.Errorf("the token endpoint was called %d more times; MSAL should have used its cache", n-before)
	}
}

func TestMSALCertificate(t *testing.T) {
	for _, version := range []string{"2.0", "1.0"} {
		t.Run(version, func(t *testing.T) {
			a := newAuthority(t, entratest.WithAccessTokenVersion(version))
			cred, err := confidential.NewCredFromCert([]*x509.Certificate{a.cert}, a.key)
			if err != nil {
				t.Fatal(err)
			}
			res, err := msalClient(t, a, daemonID, cred).AcquireTokenByCredential(context.Background(), []string{a.scope})
			if err != nil {
				t.Fatalf("MSAL: %v", err)
			}
			c := a.accepts(t, res.AccessToken)
			if c.AppID() != daemonID || c.Version() != version {
				t.Errorf("app %q version %q", c.AppID(), c.Version())
			}
		})
	}
}

func TestMSALSubjectNameIssuer(t *testing.T) {
	// With WithX5C, MSAL sends the certificate chain; an app registered
	// for subject name and issuer authentication trusts it by its CA.
	a := newAuthority(t)
	ca, caKey := newCA(t)
	leaf, leafKey := newLeaf(t, ca, caKey, "daemon.contoso.example")
	const sniID = "2f7d1c3b-8a9e-4b5c-9d6e-0f1a2b3c4d5e"
	a.RegisterApp(entratest.App{ClientID: sniID, SubjectName: "daemon.contoso.example", Issuers: []*x509.Certificate{ca}, Roles: []string{"Orders.Read.All"}})
	cred, err := confidential.NewCredFromCert([]*x509.Certificate{leaf, ca}, leafKey)
	if err != nil {
		t.Fatal(err)
	}
	res, err := msalClient(t, a, sniID, cred, confidential.WithX5C()).AcquireTokenByCredential(context.Background(), []string{a.scope})
	if err != nil {
		t.Fatalf("MSAL: %v", err)
	}
	a.accepts(t, res.AccessToken)

	// Without x5c the thumbprint is not registered: refused.
	_, err = msalClient(t, a, sniID, cred).AcquireTokenByCredential(context.Background(), []string{a.scope})
	wantAADSTS(t, err, http.StatusUnauthorized, "AADSTS700027")
}

func TestMSALOnBehalfOf(t *testing.T) {
	a := newAuthority(t)
	// The signed-in user's token for the middle tier, as the front end got it.
	userToken := a.Mint(entratest.Token{Audience: midTierID, Scopes: []string{"access_as_user"}})
	secret, err := confidential.NewCredFromSecret(midSec)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := confidential.NewCredFromCert([]*x509.Certificate{a.cert}, a.key)
	if err != nil {
		t.Fatal(err)
	}
	for name, cred := range map[string]confidential.Credential{"secret": secret, "certificate": cert} {
		t.Run(name, func(t *testing.T) {
			app := msalClient(t, a, midTierID, cred)
			scopes := []string{"api://" + a.ClientID + "/Orders.Read"}
			res, err := app.AcquireTokenOnBehalfOf(context.Background(), userToken, scopes)
			if err != nil {
				t.Fatalf("MSAL OBO: %v", err)
			}
			c := a.accepts(t, res.AccessToken)
			if c.ObjectID() != a.UserObjectID || c.AppID() != midTierID || !c.HasScope("Orders.Read") || c.TenantID() != a.TenantID {
				t.Errorf("oid %q azp %q scp %v tid %q", c.ObjectID(), c.AppID(), c.Scopes(), c.TenantID())
			}
			// The same user assertion again: MSAL's cache answers.
			before := a.Fetches(entratest.EndpointToken)
			if _, err := app.AcquireTokenOnBehalfOf(context.Background(), userToken, scopes); err != nil {
				t.Fatal(err)
			}
			if n := a.Fetches(entratest.EndpointToken); n != before {
				t.Errorf("the token endpoint was called %d more times; MSAL should have used its cache", n-before)
			}
		})
	}

	app := msalClient(t, a, midTierID, secret)
	// A token for the API itself, not for the middle tier: AADSTS500131.
	_, err = app.AcquireTokenOnBehalfOf(context.Background(), a.UserToken("Orders.Read"), []string{"api://" + a.ClientID + "/Orders.Read"})
	wantAADSTS(t, err, http.StatusBadRequest, "AADSTS500131")
	// A scope the middle tier has no consent for: AADSTS65001.
	_, err = app.AcquireTokenOnBehalfOf(context.Background(), userToken, []string{"api://" + a.ClientID + "/Orders.Write"})
	wantAADSTS(t, err, http.StatusBadRequest, "AADSTS65001")
}

func TestMSALRefusals(t *testing.T) {
	a := newAuthority(t)
	wrong, err := confidential.NewCredFromSecret("not-the-secret")
	if err != nil {
		t.Fatal(err)
	}
	_, err = msalClient(t, a, daemonID, wrong).AcquireTokenByCredential(context.Background(), []string{a.scope})
	wantAADSTS(t, err, http.StatusUnauthorized, "AADSTS7000215")

	_, err = msalClient(t, a, "11111111-2222-3333-4444-555555555555", wrong).AcquireTokenByCredential(context.Background(), []string{a.scope})
	wantAADSTS(t, err, http.StatusBadRequest, "AADSTS700016")
}

// wantAADSTS checks that err is MSAL's error for an answer of the token
// endpoint with this status and AADSTS code.
func wantAADSTS(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want MSAL's CallErr with %s", err, code)
	}
	if ce.Resp == nil || ce.Resp.StatusCode != status || !strings.Contains(err.Error(), code) {
		t.Fatalf("got %v, want status %d %s", err, status, code)
	}
}
