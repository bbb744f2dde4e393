package demo

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// demoMode is the local Entra ID emulator of demo mode, with a registered
// daemon app that can get tokens from its token endpoint, and a web tier
// that calls the API on behalf of its users.
//
// The emulator serves HTTPS, as Microsoft's client libraries require: its
// certificate, and the daemon's certificate and key, are written to files
// in a temporary directory (removed by Close) that the examples and curl
// read.
type demoMode struct {
	emulator  *entratest.Server
	appID     string // the daemon app (client credentials), role Orders.Read.All
	secret    string
	cert      *x509.Certificate
	key       crypto.Signer
	webID     string // the web tier (on-behalf-of), consented to Orders.Read
	webSecret string
	dir       string // the temporary directory of the files below
	caFile    string // the emulator's TLS certificate (PEM)
	certFile  string // the daemon's certificate and private key (PEM)
}

// appRole is the app role of the demo's daemon app.
const appRole = "Orders.Read.All"

// extractToken is the sed program that takes access_token out of the token
// endpoint's one-line JSON answer: sed is on every machine, jq and python3
// are not.
const extractToken = `sed -E 's/.*"access_token":"([^"]+)".*/\1/'`

// webScope is the delegated scope the web tier asks for on behalf of its
// users, and userScope the scope of the users' tokens for the web tier.
const (
	webScope  = "Orders.Read"
	userScope = "access_as_user"
)

func startDemo() (*demoMode, error) {
	srv := entratest.NewTLSServer()
	d := &demoMode{emulator: srv, appID: srv.CallerID, secret: newSecret(), webID: entratest.NewGUID(), webSecret: newSecret()}
	d.cert, d.key = entratest.NewClientCertificate(d.appID)
	srv.RegisterApp(entratest.App{
		ClientID:    d.appID,
		Secret:      d.secret,
		Certificate: d.cert,
		Roles:       []string{appRole},
		ObjectID:    srv.CallerObjectID,
	})
	srv.RegisterApp(entratest.App{ClientID: d.webID, Secret: d.webSecret, Scopes: []string{webScope}})
	if err := d.writeFiles(); err != nil {
		d.close()
		return nil, fmt.Errorf("demo mode: writing the emulator's certificate files: %w", err)
	}
	return d, nil
}

// writeFiles writes the emulator's TLS certificate and the daemon's
// certificate and key, as PEM, into a new temporary directory.
func (d *demoMode) writeFiles() error {
	dir, err := os.MkdirTemp("", "entraguard-demo-")
	if err != nil {
		return err
	}
	d.dir = dir
	d.caFile = filepath.Join(dir, "emulator-ca.pem")
	if err := os.WriteFile(d.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.emulator.TLSCertificate().Raw}), 0o644); err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(d.key)
	if err != nil {
		return err
	}
	d.certFile = filepath.Join(dir, "daemon.pem")
	both := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d.cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	return os.WriteFile(d.certFile, both, 0o600)
}

// close stops the emulator and removes the files.
func (d *demoMode) close() {
	d.emulator.Close()
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
	srv := d.emulator
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
	p("Press Ctrl+C to stop.")
	_, _ = io.WriteString(w, b.String())
}
