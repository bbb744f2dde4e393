package interop_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/entraguard/entraguard/core/entratest"
)

// clientOptions point azidentity at the fake authority, as docs/testing.md
// says.
func clientOptions(a *authority) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: a.URL + "/"},
		Transport: a.Client(),
	}
}

func getToken(t *testing.T, cred azcore.TokenCredential, scope string) (string, error) {
	t.Helper()
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
	return tok.Token, err
}

func TestAzidentityClientSecret(t *testing.T) {
	a := newAuthority(t)
	cred, err := azidentity.NewClientSecretCredential(a.TenantID, daemonID, daemonSec, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            clientOptions(a),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, cred, a.scope)
	if err != nil {
		t.Fatalf("azidentity: %v", err)
	}
	if c := a.accepts(t, tok); c.AppID() != daemonID {
		t.Errorf("app %q", c.AppID())
	}

	wrong, err := azidentity.NewClientSecretCredential(a.TenantID, daemonID, "not-the-secret", &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            clientOptions(a),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = getToken(t, wrong, a.scope)
	var authErr *azidentity.AuthenticationFailedError
	if !errors.As(err, &authErr) || authErr.RawResponse == nil || authErr.RawResponse.StatusCode != http.StatusUnauthorized || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("wrong secret: got %v, want AuthenticationFailedError 401 AADSTS7000215", err)
	}
}

func TestAzidentityClientCertificate(t *testing.T) {
	a := newAuthority(t)
	cred, err := azidentity.NewClientCertificateCredential(a.TenantID, daemonID, []*x509.Certificate{a.cert}, a.key, &azidentity.ClientCertificateCredentialOptions{
		ClientOptions:            clientOptions(a),
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, cred, a.scope)
	if err != nil {
		t.Fatalf("azidentity: %v", err)
	}
	if c := a.accepts(t, tok); c.AppID() != daemonID || !c.HasRole("Orders.Read.All") {
		t.Errorf("app %q roles %v", c.AppID(), c.Roles())
	}
}

func TestAzidentityOnBehalfOf(t *testing.T) {
	a := newAuthority(t)
	userToken := a.Mint(entratest.Token{Audience: midTierID, Scopes: []string{"access_as_user"}})
	opts := &azidentity.OnBehalfOfCredentialOptions{ClientOptions: clientOptions(a), DisableInstanceDiscovery: true}
	withSecret, err := azidentity.NewOnBehalfOfCredentialWithSecret(a.TenantID, midTierID, userToken, midSec, opts)
	if err != nil {
		t.Fatal(err)
	}
	withCert, err := azidentity.NewOnBehalfOfCredentialWithCertificate(a.TenantID, midTierID, userToken, []*x509.Certificate{a.cert}, a.key, opts)
	if err != nil {
		t.Fatal(err)
	}
	for name, cred := range map[string]azcore.TokenCredential{"secret": withSecret, "certificate": withCert} {
		t.Run(name, func(t *testing.T) {
			tok, err := getToken(t, cred, "api://"+a.ClientID+"/Orders.Read")
			if err != nil {
				t.Fatalf("azidentity: %v", err)
			}
			c := a.accepts(t, tok)
			if c.ObjectID() != a.UserObjectID || c.AppID() != midTierID || !c.HasScope("Orders.Read") {
				t.Errorf("oid %q azp %q scp %v", c.ObjectID(), c.AppID(), c.Scopes())
			}
		})
	}
}
