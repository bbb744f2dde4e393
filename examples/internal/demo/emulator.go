package demo

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// demoMode is the local Entra ID emulator of demo mode, with a registered
// daemon app that can get tokens from its token endpoint.
type demoMode struct {
	emulator *entratest.Server
	appID    string // the daemon app (client credentials), role Orders.Read.All
	secret   string
	cert     *x509.Certificate
	key      crypto.Signer
}

// appRole is the app role of the demo's daemon app.
const appRole = "Orders.Read.All"

// extractToken is the sed program that takes access_token out of the token
// endpoint's one-line JSON answer: sed is on every machine, jq and python3
// are not.
const extractToken = `sed -E 's/.*"access_token":"([^"]+)".*/\1/'`

func startDemo() *demoMode {
	srv := entratest.NewServer()
	d := &demoMode{emulator: srv, appID: srv.CallerID, secret: newSecret()}
	d.cert, d.key = entratest.NewClientCertificate(d.appID)
	srv.RegisterApp(entratest.App{
		ClientID:    d.appID,
		Secret:      d.secret,
		Certificate: d.cert,
		Roles:       []string{appRole},
		ObjectID:    srv.CallerObjectID,
	})
	return d
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
		p(`TOKEN=$(curl -s %s -d grant_type=client_credentials -d client_id=%s %s -d scope=%s | %s)`,
			srv.TokenURL(), d.appID, credential, scope, extractToken)
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
	curl(srv.Mint(entratest.Token{App: true, ClientID: newGUID(), ObjectID: newGUID(), Roles: []string{"Admin"}}), "/api/admin")
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
	p("Press Ctrl+C to stop.")
	_, _ = io.WriteString(w, b.String())
}
