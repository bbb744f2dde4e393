package demo

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/emulator"
)

// demoMode is the local Entra ID emulator of demo mode (package
// emulator, in process), with a registered daemon app that can get tokens
// from its token endpoint, a web tier that calls the API on behalf of its
// users, a web app (examples/webapp) that signs users in through the
// emulator's sign-in page, and two users who can sign in.
//
// The emulator serves HTTPS, as Microsoft's client libraries require: its
// certificate, and the daemon's certificate and key, are written to files
// in a temporary directory (removed by Close) that the examples and curl
// read.
type demoMode struct {
	emulator  *emulator.Emulator
	server    *http.Server // serves emulator on TLS
	client    *http.Client // trusts the emulator's certificate
	appID     string       // the daemon app (client credentials), role Orders.Read.All
	secret    string
	cert      *x509.Certificate
	key       crypto.Signer
	webID     string // the web tier (on-behalf-of), consented to Orders.Read
	webSecret string
	siteID    string // the web app of examples/webapp (authorization code with PKCE)
	siteSec   string
	users     []emulator.User // as the emulator resolved them
	dir       string          // the temporary directory of the files below
	caFile    string          // the emulator's TLS certificate (PEM)
	certFile  string          // the daemon's certificate and private key (PEM)
}

// appRole is the app role of the demo's daemon app.
const appRole = "Orders.Read.All"

// extractToken is the sed program that takes access_token out of the token
// endpoint's one-line JSON answer: sed is on every machine, jq and python3
// are not.
const extractToken = `sed -E 's/.*"access_token":"([^"]+)".*/\1/'`

// webScope is the delegated scope the web tier and the web app ask for on
// behalf of their users, and userScope the scope of the users' tokens for
// the web tier.
const (
	webScope  = "Orders.Read"
	userScope = "access_as_user"
)

// webAppAddr is the address the demo tells examples/webapp to listen on:
// examples/obo is told 127.0.0.1:8081.
const webAppAddr = "127.0.0.1:8082"

func startDemo() (d *demoMode, err error) {
	d = &demoMode{appID: entratest.NewGUID(), secret: newSecret(), webID: entratest.NewGUID(), webSecret: newSecret(),
		siteID: entratest.NewGUID(), siteSec: newSecret()}
	defer func() {
		if err != nil {
			d.close()
			d = nil
		}
	}()
	if d.dir, err = os.MkdirTemp("", "entraguard-demo-"); err != nil {
		return nil, fmt.Errorf("demo mode: making a directory for the emulator's certificate files: %w", err)
	}
	d.cert, d.key = entratest.NewClientCertificate(d.appID)
	if err := d.writeDaemonFile(); err != nil {
		return nil, fmt.Errorf("demo mode: writing the daemon's certificate file: %w", err)
	}
	d.emulator, err = emulator.New(emulator.Config{
		APIScopes: []string{"Orders.Read", "Orders.Write", "Profile"},
		Users: []emulator.User{
			{Name: "Adele Vance", UPN: "AdeleV@contoso.onmicrosoft.com", Email: "AdeleV@contoso.com"},
			{Name: "Ben Walters", UPN: "BenW@contoso.onmicrosoft.com", Email: "BenW@contoso.com"},
		},
		Apps: []emulator.App{
			{ClientID: d.appID, Name: "Contoso Orders daemon (examples/client)", Secret: d.secret,
				CertificateFile: d.certFile, Roles: []string{appRole}},
			{ClientID: d.webID, Name: "Contoso Orders web tier (examples/obo)", Secret: d.webSecret,
				Scopes: []string{webScope}},
			// Any port of a loopback redirect URI, as Entra ID allows; "/" is
			// where sign-out comes back to.
			{ClientID: d.siteID, Name: "Contoso Orders (examples/webapp)", Secret: d.siteSec,
				RedirectURIs: []string{"http://127.0.0.1/auth/callback", "http://127.0.0.1/",
					"http://localhost/auth/callback", "http://localhost/"}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("demo mode: %w", err)
	}
	d.users = d.emulator.Config().Users
	if err := d.serveTLS(); err != nil {
		return nil, fmt.Errorf("demo mode: serving the emulator: %w", err)
	}
	return d, nil
}

// serveTLS serves the emulator on HTTPS on a loopback port, with a
// certificate made for it, and writes that certificate to caFile.
func (d *demoMode) serveTLS() error {
	cert, err := entratest.LoopbackCertificate()
	if err != nil {
		return err
	}
	d.caFile = filepath.Join(d.dir, "emulator-ca.pem")
	if err := os.WriteFile(d.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw}), 0o644); err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	d.client = &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d.emulator.SetURL("https://" + ln.Addr().String())
	d.server = &http.Server{Handler: d.emulator, ReadHeaderTimeout: 10 * time.Second}
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	go func() { _ = d.server.Serve(tlsLn) }()
	return nil
}

// config is the validator's configuration: the emulator's tenant and API,
// its keys fetched over the emulator's TLS.
func (d *demoMode) config() entra.Config {
	srv := d.emulator.Authority()
	return entra.Config{TenantID: srv.TenantID, ClientID: srv.ClientID, AuthorityHost: srv.URL + "/", HTTPClient: d.client}
}

// writeDaemonFile writes the daemon's certificate and key, as PEM, into
// the demo's directory.
func (d *demoMode) writeDaemonFile() error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(d.key)
	if err != nil {
		return err
	}
	d.certFile = filepath.Join(d.dir, "daemon.pem")
	both := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	return os.WriteFile(d.certFile, both, 0o600)
}

// close stops the emulator and removes the files.
func (d *demoMode) close() {
	if d.server != nil {
		_ = d.server.Close()
	}
	if d.client != nil {
		d.client.CloseIdleConnections()
	}
	if d.emulator != nil {
		d.emulator.Close()
	}
	if d.dir != "" {
		_ = os.RemoveAll(d.dir)
	}
}

// newSecret returns a random client secret made of characters that need
// no quoting in a shell or a form.
func newSecret() string {
	var b [30]byte
	_, _ = rand.Read(b[:])
	return "demo." + base64.RawURLEncoding.EncodeToString(b[:])
}

// print writes the demo's banner and sample requests to w, for the API at
// apiURL. Every command works as printed, pasted into bash.
func (d *demoMode) print(w io.Writer, framework, apiURL string) {
	srv := d.emulator.Authority()
	now := time.Now()
	userToken := srv.UserToken("Orders.Read")
	assertion := entratest.ClientAssertion(srv.TokenURL(), d.appID, d.cert, d.key)
	scope := "api://" + srv.ClientID + "/.default"
	clock := func(t time.Time) string { return t.Format("15:04:05") }

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	curl := func(token, path string) { p(`curl -i -H "Authorization: Bearer %s" %s%s`, token, apiURL, path) }
	getToken := func(credential string) {
		p(`TOKEN=$(curl -s --cacert %s %s -d grant_type=client_credentials -d client_id=%s %s -d scope=%s | %s)`,
			d.caFile, srv.TokenURL(), d.appID, credential, scope, extractToken)
		p(`curl -i -H "Authorization: Bearer $TOKEN" %s/api/orders`, apiURL)
	}
	rule := strings.Repeat("=", 78)

	p(rule)
	p(" entraguard %s example: DEMO MODE, with a LOCAL ENTRA ID EMULATOR", framework)
	p("")
	p(" This API trusts only an emulator started for this demo at %s.", srv.URL)
	p(" It is NOT Microsoft Entra ID: no tenant, account or secret of yours is")
	p(" involved, and its tokens are worth nothing anywhere else. To accept real")
	p(" Entra ID tokens, set ENTRA_TENANT_ID and ENTRA_CLIENT_ID (see docs/).")
	p(rule)
	p("")
	p("API        %s", apiURL)
	p("emulator   %s  (tenant %s)", srv.URL, srv.TenantID)
	p("API app    client ID %s, scope %s", srv.ClientID, scope)
	for _, u := range d.users {
		p("user       %s  %s  object ID %s", u.Name, u.UPN, u.ObjectID)
	}
	p("")
	p("Sample tokens signed by the emulator, valid for 1 hour (until %s):", clock(now.Add(time.Hour)))
	p("")
	p("# 1. A user with the delegated scope Orders.Read: 200 and the orders")
	curl(userToken, "/api/orders")
	p("#    The same user asks who they are: 200 and the caller's claims")
	curl(userToken, "/api/me")
	p("")
	p("# 2. A user without Orders.Read (scope Profile only): 403 insufficient_scope")
	curl(srv.UserToken("Profile"), "/api/orders")
	p("")
	p("# 3. An app with the app role Orders.Read.All (client credentials): 200")
	curl(srv.AppToken(appRole), "/api/orders")
	p("")
	p("# 4. An app with the app role Admin: 200 {\"admin\":true}")
	curl(srv.Mint(entratest.Token{App: true, ClientID: entratest.NewGUID(), ObjectID: entratest.NewGUID(), Roles: []string{"Admin"}}), "/api/admin")
	p("")
	p("# No token: 401 with a WWW-Authenticate challenge")
	p("curl -i %s/api/orders", apiURL)
	p("")
	p("Client credentials: the demo's daemon app (client ID %s, app role %s)", d.appID, appRole)
	p("gets a token from the emulator's token endpoint, as it would from Entra ID,")
	p("and calls the API with it. Paste both lines of each pair; echo $TOKEN shows")
	p("the token, or the endpoint's error if there was one.")
	p("")
	p("# 5. With the app's client secret:")
	getToken("-d client_secret=" + d.secret)
	p("")
	p("# 6. With the app's certificate: a signed client assertion (private_key_jwt),")
	p("#    valid for 10 minutes (until %s); restart the demo for a new one.", clock(now.Add(10*time.Minute)))
	getToken("-d client_assertion_type=" + entratest.ClientAssertionType + " -d client_assertion=" + assertion)
	p("")
	p("Microsoft's client libraries need HTTPS: the emulator serves it with a")
	p("certificate of its own, in %s (curl --cacert; EMULATOR_CA_FILE below).", d.caFile)
	p("")
	p("# 7. examples/client: the daemon calls the API with MSAL Go, once with its")
	p("#    client secret, once with its certificate (%s).", d.certFile)
	authority := fmt.Sprintf("AZURE_TENANT_ID=%s AZURE_AUTHORITY_HOST=%s/ EMULATOR_CA_FILE=%s", srv.TenantID, srv.URL, d.caFile)
	p("env %s AZURE_CLIENT_ID=%s AZURE_CLIENT_SECRET=%s AZURE_CLIENT_CERTIFICATE_PATH=%s API_URL=%s API_SCOPE=%s go run ./examples/client",
		authority, d.appID, d.secret, d.certFile, apiURL, scope)
	p("")
	p("# 8. examples/obo: a web tier (client ID %s) accepts its users' tokens", d.webID)
	p("#    and calls the API on behalf of each user (on-behalf-of, scope %s).", webScope)
	p("env %s AZURE_CLIENT_ID=%s AZURE_CLIENT_SECRET=%s API_URL=%s API_SCOPE=api://%s/%s ADDR=127.0.0.1:8081 go run ./examples/obo",
		authority, d.webID, d.webSecret, apiURL, srv.ClientID, webScope)
	p("#    A user's token for the web tier (scope %s), valid for 1 hour:", userScope)
	p("USER_TOKEN=%s", srv.Mint(entratest.Token{Audience: d.webID, Scopes: []string{userScope}}))
	p(`curl -i -H "Authorization: Bearer $USER_TOKEN" http://127.0.0.1:8081/orders`)
	p("")
	p("# 9. examples/webapp: a web app (client ID %s) signs users in with MSAL Go", d.siteID)
	p("#    (authorization code with PKCE) through the emulator's sign-in page, and")
	p("#    calls the API's /api/me with each user's token (scope %s).", webScope)
	p("env ENTRA_TENANT_ID=%s ENTRA_AUTHORITY_HOST=%s/ EMULATOR_CA_FILE=%s WEB_CLIENT_ID=%s WEB_CLIENT_SECRET=%s API_URL=%s API_SCOPE=api://%s/%s ADDR=%s go run ./examples/webapp",
		srv.TenantID, srv.URL, d.caFile, d.siteID, d.siteSec, apiURL, srv.ClientID, webScope, webAppAddr)
	names := make([]string, len(d.users))
	for i, u := range d.users {
		names[i] = u.UPN
	}
	p("#    Then open http://%s/ and sign in as %s;", webAppAddr, strings.Join(names, " or "))
	p("#    the emulator asks no password. Any port of its redirect URI")
	p("#    http://127.0.0.1/auth/callback is accepted, as Entra ID does for loopback.")
	p("")
	p("Press Ctrl+C to stop.")
	_, _ = io.WriteString(w, b.String())
}
