package interop_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/managedidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/golang-jwt/jwt/v5"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/emulator"
)

// IDs of the emulator's configuration in these tests.
const (
	emuTenant  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	emuWeb     = "0b7a5f1c-55b8-4a43-9f35-3c1b1b0f8f10"
	emuWebSec  = "interop.web-secret"
	emuWebCB   = "https://localhost/signin-oidc"
	emuCLI     = "5d1f8a3b-4c2e-4b7a-9e6d-1a2b3c4d5e6f"
	emuDaemon  = "3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b"
	emuWorker  = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
	emuAdele   = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	emuSubject = "system:serviceaccount:orders:worker"
	emuBP      = "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a"
	emuBPSec   = "interop.blueprint-secret"
	emuAgent   = "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"
)

// localEntra is the emulator on TLS, as "entraguard emulator -tls" serves it.
type localEntra struct {
	*emulator.Emulator
	ts                    *httptest.Server
	v                     *entra.Validator
	daemonKey             crypto.Signer
	daemonCrt             *x509.Certificate
	api, systemMI, userMI string
}

// serveEmulator runs an emulator of cfg on TLS, as "entraguard emulator
// -tls" serves it, until the test ends.
func serveEmulator(t *testing.T, cfg emulator.Config) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	e, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(e)
	e.SetURL(ts.URL)
	t.Cleanup(func() { ts.Close(); e.Close() })
	return e, ts
}

// apiValidator is the validator of an API whose authority is the emulator
// at ts.
func apiValidator(t *testing.T, ts *httptest.Server, api string) *entra.Validator {
	t.Helper()
	v, err := entra.NewValidator(entra.Config{TenantID: emuTenant, ClientID: api, AuthorityHost: ts.URL + "/", HTTPClient: ts.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func newLocalEntra(t *testing.T) *localEntra {
	t.Helper()
	// The API and the managed identities get new IDs per emulator: MSAL
	// Go's managed identity cache is process-wide.
	api, systemMI, userMI := newID(), newID(), newID()
	cert, key := entratest.NewClientCertificate(emuDaemon)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "daemon.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := emulator.Config{
		TenantID:       emuTenant,
		ClientID:       api,
		APIScopes:      []string{"Orders.Read", "Orders.Write"},
		NonInteractive: true,
		Users: []emulator.User{{ObjectID: emuAdele, Name: "Adele Vance", UPN: "adele@contoso.example", Email: "adele@contoso.example",
			Roles: map[string][]string{api: {"Admin"}}}},
		Apps: []emulator.App{
			{ClientID: emuWeb, Secret: emuWebSec, RedirectURIs: []string{emuWebCB}},
			{ClientID: emuCLI, Type: emulator.AppPublic, RedirectURIs: []string{"http://localhost"}},
			{ClientID: emuDaemon, CertificateFile: certFile, Roles: []string{"Orders.Read.All"}},
			{ClientID: emuWorker, Roles: []string{"Orders.Read.All"}, FederatedCredentials: []emulator.FederatedCredential{{Subject: emuSubject}}},
		},
		ManagedIdentities: []emulator.ManagedIdentity{
			{ClientID: systemMI, SystemAssigned: true, Roles: []string{"Orders.Read.All"}},
			{ClientID: userMI, Roles: []string{"Admin"}},
		},
		Agents:             []emulator.Agent{{BlueprintClientID: emuBP, BlueprintSecret: emuBPSec, AgentID: emuAgent, Roles: []string{"Orders.Read.All"}}},
		DeviceCodeInterval: 1,
	}
	e, ts := serveEmulator(t, cfg)
	v := apiValidator(t, ts, api)
	return &localEntra{Emulator: e, ts: ts, v: v, daemonKey: key, daemonCrt: cert, api: api, systemMI: systemMI, userMI: userMI}
}

func (l *localEntra) authority() string { return l.ts.URL + "/" + emuTenant }

func (l *localEntra) azOptions() azcore.ClientOptions {
	return azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: l.ts.URL + "/"}, Transport: l.ts.Client()}
}

// accepts checks a token with entraguard's validator and with golang-jwt
// against the emulator's published keys, and returns entraguard's claims.
func (l *localEntra) accepts(t *testing.T, tok string) *entra.Claims {
	t.Helper()
	c, err := l.v.Validate(context.Background(), tok)
	if err != nil {
		t.Fatalf("entraguard refuses the token: %v", err)
	}
	keys := l.jwks(t)
	parsed, err := jwt.Parse(tok, func(tk *jwt.Token) (any, error) {
		kid, _ := tk.Header["kid"].(string)
		if k := keys[kid]; k != nil {
			return k, nil
		}
		return nil, fmt.Errorf("no key %q", kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(c.Issuer()), jwt.WithAudience(c.Audience()[0]), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		t.Fatalf("golang-jwt refuses the token: %v", err)
	}
	return c
}

func (l *localEntra) jwks(t *testing.T) map[string]*rsa.PublicKey {
	t.Helper()
	resp, err := l.ts.Client().Get(l.authority() + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []struct{ Kid, N, E string } }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return out
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

func TestEmulatorMSALAuthCodeFormPostAndSilentRefresh(t *testing.T) {
	l := newLocalEntra(t)
	cred, err := confidential.NewCredFromSecret(emuWebSec)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(l.authority(), emuWeb, cred, confidential.WithHTTPClient(l.ts.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	read := []string{"api://" + l.api + "/Orders.Read"}
	authURL, err := app.AuthCodeURL(ctx, emuWeb, emuWebCB, read, confidential.WithLoginHint("adele@contoso.example"))
	if err != nil {
		t.Fatal(err)
	}
	// The web app adds PKCE and form_post to MSAL's URL, as examples/webapp
	// does; the browser is an HTTP client (non-interactive mode).
	verifier := "interop-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"
	u, _ := url.Parse(authURL)
	q := u.Query()
	q.Set("code_challenge", pkceChallenge(verifier))
	q.Set("code_challenge_method", "S256")
	q.Set("response_mode", "form_post")
	q.Set("state", "s-42")
	u.RawQuery = q.Encode()
	resp, err := l.ts.Client().Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	posted := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(string(page), -1) {
		posted.Set(m[1], m[2])
	}
	if resp.StatusCode != 200 || posted.Get("code") == "" || posted.Get("state") != "s-42" || !strings.Contains(string(page), `action="`+emuWebCB+`"`) {
		t.Fatalf("form_post answer: %d %s", resp.StatusCode, page)
	}
	res, err := app.AcquireTokenByAuthCode(ctx, posted.Get("code"), emuWebCB, read, confidential.WithChallenge(verifier))
	if err != nil {
		t.Fatalf("MSAL AcquireTokenByAuthCode: %v", err)
	}
	c := l.accepts(t, res.AccessToken)
	if c.ObjectID() != emuAdele || !c.HasScope("Orders.Read") || c.HasScope("Orders.Write") || !c.HasRole("Admin") || res.IDToken.Oid != emuAdele || res.Account.HomeAccountID == "" {
		t.Errorf("user %q scopes %v roles %v, id token oid %q, account %q", c.ObjectID(), c.Scopes(), c.Roles(), res.IDToken.Oid, res.Account.HomeAccountID)
	}
	// The ID token verifies with golang-jwt, for the web app as audience.
	keys := l.jwks(t)
	idt, err := jwt.Parse(res.IDToken.RawToken, func(tk *jwt.Token) (any, error) {
		kid, _ := tk.Header["kid"].(string)
		return keys[kid], nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(l.authority()+"/v2.0"), jwt.WithAudience(emuWeb), jwt.WithExpirationRequired())
	if err != nil || !idt.Valid {
		t.Errorf("golang-jwt refuses the ID token: %v", err)
	}
	// AcquireTokenSilent for another scope of the API: MSAL has no such
	// access token, so it redeems its refresh token.
	write := []string{"api://" + l.api + "/Orders.Write"}
	res2, err := app.AcquireTokenSilent(ctx, write, confidential.WithSilentAccount(res.Account))
	if err != nil {
		t.Fatalf("MSAL AcquireTokenSilent: %v", err)
	}
	if c := l.accepts(t, res2.AccessToken); !c.HasScope("Orders.Write") || c.ObjectID() != emuAdele {
		t.Errorf("silent token: scopes %v", c.Scopes())
	}
	// And again after the rotation: MSAL keeps the new refresh token.
	if _, err := app.AcquireTokenSilent(ctx, []string{"api://" + l.api + "/Orders.Read", "api://" + l.api + "/Orders.Write"}, confidential.WithSilentAccount(res.Account)); err != nil {
		t.Fatalf("MSAL AcquireTokenSilent after rotation: %v", err)
	}
}

// newID returns a random GUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func pkceChallenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

func TestEmulatorMSALReusedClientAssertion(t *testing.T) {
	// MSAL Node, Python and Java reuse an assertion for up to ten minutes:
	// here two MSAL Go clients (no shared cache) send the very same one.
	l := newLocalEntra(t)
	assertion := entratest.ClientAssertion(l.TokenURL(), emuDaemon, l.daemonCrt, l.daemonKey)
	cred := confidential.NewCredFromAssertionCallback(func(context.Context, confidential.AssertionRequestOptions) (string, error) {
		return assertion, nil
	})
	for i := range 2 {
		app, err := confidential.New(l.authority(), emuDaemon, cred, confidential.WithHTTPClient(l.ts.Client()), confidential.WithInstanceDiscovery(false))
		if err != nil {
			t.Fatal(err)
		}
		res, err := app.AcquireTokenByCredential(context.Background(), []string{"api://" + l.api + "/.default"})
		if err != nil {
			t.Fatalf("request %d with the same assertion: %v", i+1, err)
		}
		if c := l.accepts(t, res.AccessToken); !c.IsApp() || c.AppID() != emuDaemon || !c.HasRole("Orders.Read.All") {
			t.Errorf("app %v %q roles %v", c.IsApp(), c.AppID(), c.Roles())
		}
	}
}

func TestEmulatorMSALPublicDeviceCode(t *testing.T) {
	l := newLocalEntra(t)
	app, err := public.New(emuCLI, public.WithAuthority(l.authority()), public.WithHTTPClient(l.ts.Client()), public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dc, err := app.AcquireTokenByDeviceCode(ctx, []string{"api://" + l.api + "/Orders.Read"})
	if err != nil {
		t.Fatalf("MSAL device code: %v", err)
	}
	if dc.Result.UserCode == "" || !strings.HasPrefix(dc.Result.VerificationURL, l.ts.URL) {
		t.Errorf("device code result %+v", dc.Result)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatalf("MSAL device code result: %v", err)
	}
	if c := l.accepts(t, res.AccessToken); c.ObjectID() != emuAdele || !c.HasScope("Orders.Read") {
		t.Errorf("user %q scopes %v", c.ObjectID(), c.Scopes())
	}
}

// setAppService points managed identity clients at the emulator's App
// Service endpoint.
func setAppService(t *testing.T, l *localEntra) {
	t.Setenv("IDENTITY_ENDPOINT", l.IdentityEndpoint())
	t.Setenv("IDENTITY_HEADER", l.Config().IdentityHeader)
}

func TestEmulatorMSALManagedIdentity(t *testing.T) {
	l := newLocalEntra(t)
	setAppService(t, l)
	for _, tc := range []struct {
		id   managedidentity.ID
		want string
		role string
	}{
		{managedidentity.SystemAssigned(), l.systemMI, "Orders.Read.All"},
		{managedidentity.UserAssignedClientID(l.userMI), l.userMI, "Admin"},
	} {
		client, err := managedidentity.New(tc.id, managedidentity.WithHTTPClient(l.ts.Client()))
		if err != nil {
			t.Fatal(err)
		}
		res, err := client.AcquireToken(context.Background(), "api://"+l.api)
		if err != nil {
			t.Fatalf("MSAL managed identity: %v", err)
		}
		c := l.accepts(t, res.AccessToken)
		if !c.IsApp() || c.AppID() != tc.want || !c.HasRole(tc.role) || time.Until(c.ExpiresAt()) < 23*time.Hour {
			t.Errorf("app %v %q roles %v exp %v", c.IsApp(), c.AppID(), c.Roles(), c.ExpiresAt())
		}
	}
}

func TestEmulatorAzidentityManagedIdentity(t *testing.T) {
	l := newLocalEntra(t)
	setAppService(t, l)
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: l.ts.Client()},
		ID:            azidentity.ClientID(l.userMI),
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, cred, "api://"+l.api+"/.default")
	if err != nil {
		t.Fatalf("azidentity ManagedIdentityCredential: %v", err)
	}
	if c := l.accepts(t, tok); c.AppID() != l.userMI || !c.HasRole("Admin") {
		t.Errorf("app %q roles %v", c.AppID(), c.Roles())
	}
}

func TestEmulatorAzidentityWorkloadIdentity(t *testing.T) {
	l := newLocalEntra(t)
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := l.WriteWorkloadToken(file, emuSubject); err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions:            l.azOptions(),
		ClientID:                 emuWorker,
		TenantID:                 emuTenant,
		TokenFilePath:            file,
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, cred, "api://"+l.api+"/.default")
	if err != nil {
		t.Fatalf("azidentity WorkloadIdentityCredential: %v", err)
	}
	if c := l.accepts(t, tok); c.AppID() != emuWorker || !c.HasRole("Orders.Read.All") {
		t.Errorf("app %q roles %v", c.AppID(), c.Roles())
	}
	// A token for another service account is refused.
	if err := l.WriteWorkloadToken(file, "system:serviceaccount:orders:other"); err != nil {
		t.Fatal(err)
	}
	other, _ := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions: l.azOptions(), ClientID: emuWorker, TenantID: emuTenant, TokenFilePath: file, DisableInstanceDiscovery: true,
	})
	if _, err := getToken(t, other, "api://"+l.api+"/.default"); err == nil || !strings.Contains(err.Error(), "AADSTS70021") {
		t.Errorf("another subject: %v, want AADSTS70021", err)
	}
}

func TestEmulatorAzidentityDeviceCode(t *testing.T) {
	l := newLocalEntra(t)
	var prompted string
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions:            l.azOptions(),
		ClientID:                 emuCLI,
		TenantID:                 emuTenant,
		DisableInstanceDiscovery: true,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			prompted = m.Message
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := getToken(t, cred, "api://"+l.api+"/Orders.Read")
	if err != nil {
		t.Fatalf("azidentity DeviceCodeCredential: %v", err)
	}
	if c := l.accepts(t, tok); c.ObjectID() != emuAdele || !c.HasScope("Orders.Read") || !strings.Contains(prompted, "/devicelogin") {
		t.Errorf("user %q scopes %v prompt %q", c.ObjectID(), c.Scopes(), prompted)
	}
}

func TestEmulatorMSALAgentFlows(t *testing.T) {
	// MSAL Go's own Agent ID calls: the blueprint's token for the agent
	// (fmi_path), then the agent's app-only and agent-user tokens.
	l := newLocalEntra(t)
	ctx := context.Background()
	bpCred, _ := confidential.NewCredFromSecret(emuBPSec)
	bp, err := confidential.New(l.authority(), emuBP, bpCred, confidential.WithHTTPClient(l.ts.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	t1 := func(context.Context, confidential.AssertionRequestOptions) (string, error) {
		res, err := bp.AcquireTokenByCredential(ctx, []string{"api://AzureADTokenExchange/.default"}, confidential.WithFMIPath(emuAgent))
		return res.AccessToken, err
	}
	agent, err := confidential.New(l.authority(), emuAgent, confidential.NewCredFromAssertionCallback(t1),
		confidential.WithHTTPClient(l.ts.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	res, err := agent.AcquireTokenByCredential(ctx, []string{"api://" + l.api + "/.default"})
	if err != nil {
		t.Fatalf("agent app token: %v", err)
	}
	if c := l.accepts(t, res.AccessToken); c.AgentKind() != entra.AgentAutonomous || !c.HasRole("Orders.Read.All") {
		t.Errorf("agent app token: kind %q roles %v", c.AgentKind(), c.Roles())
	}
	t2, err := agent.AcquireTokenByCredential(ctx, []string{"api://AzureADTokenExchange/.default"})
	if err != nil {
		t.Fatalf("T2: %v", err)
	}
	user, err := agent.AcquireTokenByUserFederatedIdentityCredential(ctx, []string{"api://" + l.api + "/Orders.Read"}, t2.AccessToken,
		confidential.WithUserObjectID(l.Config().Agents[0].UserObjectID))
	if err != nil {
		t.Fatalf("agent user token: %v", err)
	}
	if c := l.accepts(t, user.AccessToken); c.AgentKind() != entra.AgentUserAccount || !c.HasScope("Orders.Read") {
		t.Errorf("agent user token: kind %q scopes %v", c.AgentKind(), c.Scopes())
	}
}
