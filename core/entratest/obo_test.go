package entratest_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

const midTierID = "9b1c3f7e-7d4a-4c7e-a0a8-5b6f1e2d3c4b"

// newOBOServer starts a server with a middle tier registered with a secret,
// consented to Orders.Read on the API under test.
func newOBOServer(t *testing.T, opts ...entratest.Option) *entratest.Server {
	t.Helper()
	srv := entratest.NewServer(opts...)
	t.Cleanup(srv.Close)
	srv.RegisterApp(entratest.App{ClientID: midTierID, Secret: testSecret, Scopes: []string{"Orders.Read", "Orders.Write"}})
	return srv
}

// userTokenForMidTier is the signed-in user's token for the middle tier.
func userTokenForMidTier(srv *entratest.Server) string {
	return srv.Mint(entratest.Token{Audience: midTierID, Scopes: []string{"access_as_user"}})
}

func oboForm(srv *entratest.Server, assertion, scope string) url.Values {
	return url.Values{
		"grant_type":          {entratest.GrantJWTBearer},
		"requested_token_use": {"on_behalf_of"},
		"client_id":           {midTierID},
		"client_secret":       {testSecret},
		"assertion":           {assertion},
		"scope":               {scope},
	}
}

func validatorOf(t *testing.T, srv *entratest.Server) *entra.Validator {
	t.Helper()
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func TestOnBehalfOf(t *testing.T) {
	srv := newOBOServer(t)
	v := validatorOf(t, srv)
	a := postToken(t, srv, srv.TokenURL(), oboForm(srv, userTokenForMidTier(srv), "api://"+srv.ClientID+"/Orders.Read openid profile offline_access"), nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	var scope struct {
		Scope string `json:"scope"`
	}
	_ = json.Unmarshal(a.raw, &scope)
	if scope.Scope != "api://"+srv.ClientID+"/Orders.Read" {
		t.Errorf("scope = %q", scope.Scope)
	}
	c, err := v.Validate(context.Background(), a.AccessToken)
	if err != nil {
		t.Fatalf("the validator refuses the OBO token: %v", err)
	}
	_, claims := parse(t, a.AccessToken)
	want := map[string]any{
		"aud": srv.ClientID, "azp": midTierID, "azpacr": "1", "oid": srv.UserObjectID,
		"tid": srv.TenantID, "scp": "Orders.Read", "ver": "2.0", "preferred_username": srv.UserPrincipalName,
	}
	for k, w := range want {
		if claims[k] != w {
			t.Errorf("%s = %v, want %v", k, claims[k], w)
		}
	}
	if c.ObjectID() != srv.UserObjectID {
		t.Errorf("Claims.ObjectID = %q", c.ObjectID())
	}
	if _, ok := claims["idtyp"]; ok {
		t.Errorf("a delegated token has idtyp %v", claims["idtyp"])
	}

	// .default gets every consented scope.
	a = postToken(t, srv, srv.TokenURL(), oboForm(srv, userTokenForMidTier(srv), srv.ClientID+"/.default"), nil)
	if a.status != http.StatusOK {
		t.Fatalf(".default: status %d: %s", a.status, a.raw)
	}
	if _, claims := parse(t, a.AccessToken); claims["scp"] != "Orders.Read Orders.Write" {
		t.Errorf(".default: scp = %v", claims["scp"])
	}
}

func TestOnBehalfOfWithCertificate(t *testing.T) {
	srv := entratest.NewServer(entratest.WithAccessTokenVersion("1.0"))
	t.Cleanup(srv.Close)
	cert, key := entratest.NewClientCertificate(midTierID)
	srv.RegisterApp(entratest.App{ClientID: midTierID, Certificate: cert, Scopes: []string{"Orders.Read"}})
	form := oboForm(srv, userTokenForMidTier(srv), "api://"+srv.ClientID+"/Orders.Read")
	form.Del("client_secret")
	form.Set("client_assertion_type", entratest.ClientAssertionType)
	form.Set("client_assertion", entratest.ClientAssertion(srv.TokenURL(), midTierID, cert, key))
	a := postToken(t, srv, srv.TokenURL(), form, nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	_, claims := parse(t, a.AccessToken)
	want := map[string]any{
		"aud": "api://" + srv.ClientID, "iss": "https://sts.windows.net/" + srv.TenantID + "/", "appid": midTierID,
		"appidacr": "2", "oid": srv.UserObjectID, "scp": "Orders.Read", "ver": "1.0", "upn": srv.UserPrincipalName,
	}
	for k, w := range want {
		if claims[k] != w {
			t.Errorf("%s = %v, want %v", k, claims[k], w)
		}
	}
	if _, err := validatorOf(t, srv).Validate(context.Background(), a.AccessToken); err != nil {
		t.Fatalf("the validator refuses the v1.0 OBO token: %v", err)
	}
}

func TestOnBehalfOfRefuses(t *testing.T) {
	srv := newOBOServer(t)
	other := entratest.NewServer(entratest.WithTenantID(srv.TenantID))
	t.Cleanup(other.Close)
	api := "api://" + srv.ClientID + "/Orders.Read"
	user := userTokenForMidTier(srv)
	with := func(f url.Values, k, v string) url.Values {
		if v == "-" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name     string
		form     url.Values
		status   int
		error    string
		code     int
		suberror string
	}{
		{name: "no requested_token_use", form: with(oboForm(srv, user, api), "requested_token_use", "-"), status: 400, error: "invalid_request", code: 900144},
		{name: "no assertion", form: with(oboForm(srv, user, api), "assertion", "-"), status: 400, error: "invalid_request", code: 900144},
		{name: "wrong secret", form: with(oboForm(srv, user, api), "client_secret", "guess"), status: 401, error: "invalid_client", code: 7000215},
		{name: "unknown app", form: with(oboForm(srv, user, api), "client_id", "11111111-2222-3333-4444-555555555555"), status: 400, error: "unauthorized_client", code: 700016},
		{name: "token for the API, not the middle tier", form: oboForm(srv, srv.UserToken("Orders.Read"), api), status: 400, error: "invalid_grant", code: 500131},
		{name: "expired token", form: oboForm(srv, srv.Mint(entratest.Token{Audience: midTierID, Scopes: []string{"x"}, IssuedAt: time.Now().Add(-3 * time.Hour)}), api), status: 400, error: "invalid_grant", code: 500133},
		{name: "token of another authority", form: oboForm(srv, other.Mint(entratest.Token{Audience: midTierID, Scopes: []string{"x"}}), api), status: 400, error: "invalid_grant", code: 50013},
		{name: "tampered token", form: oboForm(srv, tamper(t, user), api), status: 400, error: "invalid_grant", code: 50013},
		{name: "unpublished key", form: oboForm(srv, srv.Mint(entratest.Token{Audience: midTierID, Scopes: []string{"x"}, KeyID: srv.AddUnpublishedKey()}), api), status: 400, error: "invalid_grant", code: 50013},
		{name: "app-only token", form: oboForm(srv, srv.Mint(entratest.Token{App: true, Audience: midTierID, Roles: []string{"r"}}), api), status: 400, error: "invalid_grant", code: 50013},
		{name: "not a JWT", form: oboForm(srv, "not-a-jwt", api), status: 400, error: "invalid_grant", code: 50013},
		{name: "scope not consented", form: oboForm(srv, user, "api://"+srv.ClientID+"/Orders.Delete"), status: 400, error: "invalid_grant", code: 65001, suberror: "consent_required"},
		{name: "another resource", form: oboForm(srv, user, "https://graph.microsoft.com/User.Read"), status: 400, error: "invalid_resource", code: 500011},
		{name: "bare scope", form: oboForm(srv, user, "Orders.Read"), status: 400, error: "invalid_scope", code: 70011},
		{name: "OIDC scopes only", form: oboForm(srv, user, "openid profile"), status: 400, error: "invalid_request", code: 900144},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := postToken(t, srv, srv.TokenURL(), tt.form, nil)
			var sub struct {
				Suberror string `json:"suberror"`
			}
			_ = json.Unmarshal(a.raw, &sub)
			if a.status != tt.status || a.Error != tt.error || !slices.Equal(a.ErrorCodes, []int{tt.code}) || sub.Suberror != tt.suberror || a.AccessToken != "" {
				t.Fatalf("got %d %s %v %q, want %d %s [%d] %q: %s", a.status, a.Error, a.ErrorCodes, sub.Suberror, tt.status, tt.error, tt.code, tt.suberror, a.raw)
			}
			if !strings.HasPrefix(a.Description, "AADSTS") {
				t.Errorf("description %q", a.Description)
			}
		})
	}

	// A middle tier with no consent at all gets consent_required for .default.
	srv.RegisterApp(entratest.App{ClientID: midTierID, Secret: testSecret})
	a := postToken(t, srv, srv.TokenURL(), oboForm(srv, user, "api://"+srv.ClientID+"/.default"), nil)
	if a.status != 400 || !slices.Equal(a.ErrorCodes, []int{65001}) {
		t.Fatalf(".default without consent: got %d %v: %s", a.status, a.ErrorCodes, a.raw)
	}
}

// tamper changes the payload of a token, keeping its signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	_, claims := parse(t, tok)
	claims["oid"] = "00000000-0000-0000-0000-000000000001"
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestTokenEndpointVersion1(t *testing.T) {
	srv := entratest.NewServer(entratest.WithAccessTokenVersion("1.0"))
	t.Cleanup(srv.Close)
	srv.RegisterApp(entratest.App{ClientID: testAppID, Secret: testSecret, Roles: []string{"Orders.Read.All"}})
	v := validatorOf(t, srv)
	for _, tt := range []struct{ scope, aud string }{
		{"api://" + srv.ClientID + "/.default", "api://" + srv.ClientID},
		{srv.ClientID + "/.default", srv.ClientID},
	} {
		form := secretForm(srv)
		form.Set("scope", tt.scope)
		a := postToken(t, srv, srv.TokenURL(), form, nil)
		if a.status != http.StatusOK {
			t.Fatalf("status %d: %s", a.status, a.raw)
		}
		h, claims := parse(t, a.AccessToken)
		want := map[string]any{"aud": tt.aud, "iss": "https://sts.windows.net/" + srv.TenantID + "/", "appid": testAppID, "appidacr": "1", "ver": "1.0", "idtyp": "app"}
		for k, w := range want {
			if claims[k] != w {
				t.Errorf("scope %s: %s = %v, want %v", tt.scope, k, claims[k], w)
			}
		}
		if _, ok := claims["azp"]; ok {
			t.Errorf("a v1.0 token has azp")
		}
		if h["x5t"] != h["kid"] {
			t.Errorf("v1.0 header: x5t %v, kid %v", h["x5t"], h["kid"])
		}
		if _, err := v.Validate(context.Background(), a.AccessToken); err != nil {
			t.Errorf("scope %s: the validator refuses the v1.0 token: %v", tt.scope, err)
		}
	}
	// Mint follows the API's version.
	if _, claims := parse(t, srv.UserToken("Orders.Read")); claims["ver"] != "1.0" || claims["aud"] != "api://"+srv.ClientID {
		t.Errorf("Mint: ver %v aud %v", claims["ver"], claims["aud"])
	}
}

func TestWithAccessTokenVersionPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	entratest.NewServer(entratest.WithAccessTokenVersion("3.0")).Close()
}

// signPS256 signs an assertion as MSAL Go does: PS256, with x5t#S256 in
// standard base64 with padding.
func signPS256(t *testing.T, key crypto.Signer, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	sig, err := key.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func freshClaims(srv *entratest.Server) map[string]any {
	c := assertionClaims(srv)
	c["jti"] = entratest.NewGUID()
	return c
}

func TestTokenEndpointAssertionForms(t *testing.T) {
	srv, cert, key := newAppServer(t)
	s256 := sha256.Sum256(cert.Raw)
	for _, tt := range []struct {
		name   string
		header map[string]any
		ps     bool
	}{
		{"PS256 x5t#S256 std padded (MSAL Go)", map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, true},
		{"PS256 x5t#S256 base64url", map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])}, true},
		{"RS256 x5t#S256 std padded", map[string]any{"alg": "RS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(s256[:])}, false},
		{"RS256 x5t std", map[string]any{"alg": "RS256", "typ": "JWT", "x5t": base64.StdEncoding.EncodeToString(mustSHA1(cert))}, false},
		{"x5c ignored without subject name auth", map[string]any{"alg": "RS256", "typ": "JWT", "x5t": x5t(cert), "x5c": []string{"bm90IGEgY2VydA=="}}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var as string
			if tt.ps {
				as = signPS256(t, key, tt.header, freshClaims(srv))
			} else {
				as = signAssertion(t, key, tt.header, freshClaims(srv))
			}
			if a := postToken(t, srv, srv.TokenURL(), assertionForm(srv, as), nil); a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
		})
	}
	// An expired assertion is refused.
	c := freshClaims(srv)
	c["nbf"], c["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-30*time.Minute).Unix()
	a := postToken(t, srv, srv.TokenURL(), assertionForm(srv, signAssertion(t, key, map[string]any{"alg": "RS256", "x5t": x5t(cert)}, c)), nil)
	if a.status != 401 || !slices.Equal(a.ErrorCodes, []int{700024}) {
		t.Fatalf("expired: %d %v: %s", a.status, a.ErrorCodes, a.raw)
	}
}

func mustSHA1(cert *x509.Certificate) []byte {
	b, _ := base64.RawURLEncoding.DecodeString(x5t(cert))
	return b
}

func TestTokenEndpointSubjectNameIssuer(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	ca, caKey := newCA(t, "Contoso Test CA")
	leaf, leafKey := newLeaf(t, ca, caKey, "daemon.contoso.example")
	srv.RegisterApp(entratest.App{ClientID: testAppID, SubjectName: "daemon.contoso.example", Issuers: []*x509.Certificate{ca}})
	x5c := []string{base64.StdEncoding.EncodeToString(leaf.Raw)}
	header := map[string]any{"alg": "RS256", "typ": "JWT", "x5t": x5t(leaf), "x5c": x5c}
	if a := postToken(t, srv, srv.TokenURL(), assertionForm(srv, signAssertion(t, leafKey, header, freshClaims(srv))), nil); a.status != http.StatusOK {
		t.Fatalf("SN/I: status %d: %s", a.status, a.raw)
	}
	// A certificate of another CA, with the same subject, is refused.
	otherCA, otherKey := newCA(t, "Other CA")
	rogue, rogueKey := newLeaf(t, otherCA, otherKey, "daemon.contoso.example")
	header["x5c"] = []string{base64.StdEncoding.EncodeToString(rogue.Raw)}
	a := postToken(t, srv, srv.TokenURL(), assertionForm(srv, signAssertion(t, rogueKey, header, freshClaims(srv))), nil)
	if a.status != 401 || !slices.Equal(a.ErrorCodes, []int{700027}) {
		t.Fatalf("rogue CA: %d %v: %s", a.status, a.ErrorCodes, a.raw)
	}
	// Another subject from the trusted CA is refused.
	wrong, wrongKey := newLeaf(t, ca, caKey, "intruder.contoso.example")
	header["x5c"] = []string{base64.StdEncoding.EncodeToString(wrong.Raw)}
	a = postToken(t, srv, srv.TokenURL(), assertionForm(srv, signAssertion(t, wrongKey, header, freshClaims(srv))), nil)
	if a.status != 401 || !slices.Equal(a.ErrorCodes, []int{700027}) {
		t.Fatalf("wrong subject: %d %v: %s", a.status, a.ErrorCodes, a.raw)
	}
	// The right chain, signed with another key, is refused.
	header["x5c"] = x5c
	a = postToken(t, srv, srv.TokenURL(), assertionForm(srv, signAssertion(t, wrongKey, header, freshClaims(srv))), nil)
	if a.status != 401 || !slices.Equal(a.ErrorCodes, []int{700027}) {
		t.Fatalf("wrong key: %d %v: %s", a.status, a.ErrorCodes, a.raw)
	}
}

func newCA(t *testing.T, cn string) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func newLeaf(t *testing.T, ca *x509.Certificate, caKey *rsa.PrivateKey, cn string) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func TestTLSServer(t *testing.T) {
	srv := entratest.NewTLSServer()
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %q", srv.URL)
	}
	if srv.TLSCertificate() == nil {
		t.Fatal("no TLS certificate")
	}
	// The server's client trusts it; the default client does not.
	if code, _, _ := get(t, srv, srv.URL+"/"+srv.TenantID+"/v2.0/.well-known/openid-configuration"); code != 200 {
		t.Fatalf("metadata: %d", code)
	}
	if _, err := (&http.Client{Transport: &http.Transport{}}).Get(srv.URL + "/" + srv.TenantID + "/discovery/v2.0/keys"); err == nil {
		t.Fatal("a client that does not trust the certificate connected")
	}
	meta := getJSON(t, srv, srv.URL+"/"+srv.TenantID+"/v2.0/.well-known/openid-configuration")
	if meta["token_endpoint"] != srv.TokenURL() || !strings.HasPrefix(srv.TokenURL(), "https://") {
		t.Errorf("token_endpoint %v, TokenURL %s", meta["token_endpoint"], srv.TokenURL())
	}
	if _, err := validatorOf(t, srv).Validate(context.Background(), srv.UserToken("Orders.Read")); err != nil {
		t.Fatalf("validator over TLS: %v", err)
	}
	if plain := entratest.NewServer(); plain.TLSCertificate() != nil {
		plain.Close()
		t.Fatal("a plain server has a TLS certificate")
	} else {
		plain.Close()
	}
}

func TestWithListener(t *testing.T) {
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skip("cannot listen on 0.0.0.0:", err)
	}
	srv := entratest.NewServer(entratest.WithListener(l))
	t.Cleanup(srv.Close)
	port := l.Addr().(*net.TCPAddr).Port
	if want := "http://127.0.0.1:" + strconv.Itoa(port); srv.URL != want {
		t.Fatalf("URL %q, want %q", srv.URL, want)
	}
	if code, _, _ := get(t, srv, srv.URL+"/"+srv.TenantID+"/discovery/v2.0/keys"); code != 200 {
		t.Fatalf("keys: %d", code)
	}
}

func TestAppAccessTokenVersion(t *testing.T) {
	// A middle tier that accepts v1.0 tokens gets v1.0 user tokens from
	// Mint, and exchanges them on behalf of the user for the (v2.0) API.
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	srv.RegisterApp(entratest.App{ClientID: midTierID, Secret: testSecret, Scopes: []string{"Orders.Read"}, AccessTokenVersion: "1.0"})
	user := srv.Mint(entratest.Token{Audience: "api://" + midTierID, Scopes: []string{"access_as_user"}})
	if _, claims := parse(t, user); claims["ver"] != "1.0" || claims["iss"] != "https://sts.windows.net/"+srv.TenantID+"/" || claims["upn"] != srv.UserPrincipalName {
		t.Fatalf("the middle tier's user token: ver %v iss %v upn %v", claims["ver"], claims["iss"], claims["upn"])
	}
	if _, claims := parse(t, srv.UserToken("x")); claims["ver"] != "2.0" {
		t.Errorf("the API's token: ver %v", claims["ver"])
	}
	a := postToken(t, srv, srv.TokenURL(), oboForm(srv, user, "api://"+srv.ClientID+"/Orders.Read"), nil)
	if a.status != http.StatusOK {
		t.Fatalf("OBO with a v1.0 user token: %d %s", a.status, a.raw)
	}
	_, claims := parse(t, a.AccessToken)
	if claims["ver"] != "2.0" || claims["oid"] != srv.UserObjectID || claims["preferred_username"] != srv.UserPrincipalName || claims["azp"] != midTierID {
		t.Errorf("OBO token: %v", claims)
	}
	defer func() {
		if recover() == nil {
			t.Error("RegisterApp accepted AccessTokenVersion 3.0")
		}
	}()
	srv.RegisterApp(entratest.App{ClientID: "x", Secret: "y", AccessTokenVersion: "3.0"})
}
