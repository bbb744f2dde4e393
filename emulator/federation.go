package emulator

import (
	"cmp"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// remoteKeys are an external issuer's keys, fetched through its discovery
// document.
type remoteKeys struct {
	keys    map[string]*rsa.PublicKey
	fetched time.Time
}

// remoteKeysTTL is how long an issuer's keys are kept; an unknown kid
// fetches them again at most once a minute.
const (
	remoteKeysTTL     = 10 * time.Minute
	remoteKeysRefetch = time.Minute
	maxIssuerDocument = 1 << 20
)

// WorkloadIssuer returns the issuer URL of the emulator's own workload
// identity issuer: a federated credential with this issuer (or none)
// accepts the tokens of [Emulator.WorkloadToken].
func (e *Emulator) WorkloadIssuer() string { return e.srv.URL + workloadPath }

// WorkloadToken returns a token of the emulator's workload issuer for
// subject, shaped as a Kubernetes service account token projected for
// workload identity: aud api://AzureADTokenExchange, an hour's lifetime.
// Write it to the file AZURE_FEDERATED_TOKEN_FILE names.
func (e *Emulator) WorkloadToken(subject string) string {
	now := e.now()
	ns, name := "default", subject
	if parts := strings.Split(subject, ":"); len(parts) == 4 && parts[0] == "system" && parts[1] == "serviceaccount" {
		ns, name = parts[2], parts[3]
	}
	return e.srv.Sign(map[string]any{"typ": nil}, map[string]any{
		"aud": []string{tokenExchangeAud},
		"exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(),
		"iss": e.WorkloadIssuer(),
		"jti": entratest.NewGUID(),
		"kubernetes.io": map[string]any{
			"namespace":      ns,
			"serviceaccount": map[string]string{"name": name, "uid": derived(subject, "service account")},
		},
		"nbf": now.Unix(),
		"sub": subject,
	})
}

// WriteWorkloadToken writes [Emulator.WorkloadToken] to path (mode 0600).
func (e *Emulator) WriteWorkloadToken(path, subject string) error {
	return os.WriteFile(path, []byte(e.WorkloadToken(subject)), 0o600)
}

func (e *Emulator) serveWorkloadMetadata(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "max-age=3600")
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                e.WorkloadIssuer(),
		"jwks_uri":                              e.WorkloadIssuer() + "/keys",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

// serveWorkloadKeys serves the keys of the workload issuer: the
// emulator's own.
func (e *Emulator) serveWorkloadKeys(w http.ResponseWriter, r *http.Request) {
	r2 := r.Clone(r.Context())
	r2.URL = &url.URL{Path: "/" + e.cfg.TenantID + "/discovery/v2.0/keys"}
	e.srv.ServeHTTP(w, r2)
}

// checkFederated verifies a client assertion of app issued by an external
// issuer, as Entra ID does for workload identity federation: a federated
// credential of the app names its iss and sub and its audience is in aud,
// and the signature verifies with a key of the issuer's discovery
// document.
func (e *Emulator) checkFederated(app *App, assertion string) *entratest.TokenError {
	h, c, signed, sig, err := splitJWT(assertion)
	if err != nil {
		return tokenError(http.StatusUnauthorized, "invalid_client", 50027, "JWT token is invalid or malformed. %s", err)
	}
	iss, _ := c["iss"].(string)
	sub, _ := c["sub"].(string)
	var cred *FederatedCredential
	for i, f := range app.FederatedCredentials {
		fi := f.Issuer
		if fi == "" {
			fi = e.WorkloadIssuer()
		}
		if fi == iss && f.Subject == sub {
			cred = &app.FederatedCredentials[i]
			break
		}
	}
	if cred == nil {
		return badRequest("invalid_request", 70021, "No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Add a federated credential with this issuer and subject to app '%s' (federated_credentials).", iss, sub, app.ClientID)
	}
	aud := cmp.Or(cred.Audience, tokenExchangeAud)
	if !audienceHas(c["aud"], aud) {
		return badRequest("invalid_request", 700212, "No matching federated identity record found for presented assertion audience: the federated credential's audience is '%s'.", aud)
	}
	if h.Alg != "RS256" {
		return tokenError(http.StatusUnauthorized, "invalid_client", 50027, "JWT token is invalid or malformed: its alg %q is not RS256.", h.Alg)
	}
	pub, err := e.issuerKey(iss, h.Kid)
	if err != nil {
		return tokenError(http.StatusUnauthorized, "invalid_client", 700211, "No matching federated identity record found for presented assertion issuer '%s': its keys could not be read (%v).", iss, err)
	}
	if err := verifyRS256(pub, signed, sig); err != nil {
		return tokenError(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation: %v.", err)
	}
	if err := e.checkTimes(c); err != nil {
		return tokenError(http.StatusUnauthorized, "invalid_client", 700024, "Client assertion is not within its valid time range: %v.", err)
	}
	return nil
}

// issuerKey returns the key kid of an issuer: the emulator's own for its
// workload issuer, else from the issuer's discovery document and keys.
func (e *Emulator) issuerKey(iss, kid string) (*rsa.PublicKey, error) {
	if iss == e.WorkloadIssuer() {
		if k := e.srv.PublicKey(kid); k != nil {
			return k, nil
		}
		return nil, errors.New("the emulator holds no such key")
	}
	now := e.now()
	e.mu.Lock()
	rk := e.issuers[iss]
	e.mu.Unlock()
	if rk != nil && now.Sub(rk.fetched) < remoteKeysTTL {
		if k := rk.keys[kid]; k != nil {
			return k, nil
		}
		if now.Sub(rk.fetched) < remoteKeysRefetch {
			return nil, fmt.Errorf("no key %q", kid)
		}
	}
	keys, err := e.fetchIssuerKeys(iss)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if len(e.issuers) > 100 {
		clear(e.issuers)
	}
	e.issuers[iss] = &remoteKeys{keys: keys, fetched: now}
	e.mu.Unlock()
	if k := keys[kid]; k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("no key %q", kid)
}

func (e *Emulator) fetchIssuerKeys(iss string) (map[string]*rsa.PublicKey, error) {
	u, err := url.Parse(iss)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("the issuer is not an http(s) URL")
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := e.getJSON(strings.TrimSuffix(iss, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, err
	}
	if doc.Issuer != iss {
		return nil, fmt.Errorf("the discovery document names issuer %q", doc.Issuer)
	}
	var set struct {
		Keys []struct {
			Kty, Kid, N, E, Use string
		} `json:"keys"`
	}
	if err := e.getJSON(doc.JWKSURI, &set); err != nil {
		return nil, err
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		x, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(x) > 4 || len(n) < 256 {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(x).Int64())}
	}
	return keys, nil
}

func (e *Emulator) getJSON(u string, v any) error {
	resp, err := e.fetch.Get(u)
	if err != nil {
		return fmt.Errorf("fetching %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: HTTP status %d", u, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxIssuerDocument))
	if err != nil {
		return fmt.Errorf("reading %s: %v", u, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s is not JSON: %v", u, err)
	}
	return nil
}

// ownsClientCredentials reports whether a client credentials request is
// the emulator's rather than entratest's: a federated or agent assertion,
// a blueprint's fmi_path, or an app entratest does not hold.
func (e *Emulator) ownsClientCredentials(form url.Values) bool {
	if form.Get("fmi_path") != "" || e.agentByID(form.Get("client_id")) != nil {
		return true
	}
	if a := form.Get("client_assertion"); a != "" {
		if iss, _ := unverifiedClaim(a, "iss"); !strings.EqualFold(iss, form.Get("client_id")) {
			return true
		}
	}
	app := e.lookupApp(form.Get("client_id"))
	return app != nil && app.Secret == "" && app.CertificateFile == "" && app.Type == AppConfidential
}

// appGrant answers client credentials for what entratest does not serve:
// a workload-federated app, a blueprint's token for an agent (fmi_path),
// and an agent identity authenticated by that token.
func (e *Emulator) appGrant(r *http.Request, form url.Values, tenantSeg string) (*tokenAnswer, *entratest.TokenError) {
	clientID := form.Get("client_id")
	if clientID == "" {
		return nil, missing("client_id")
	}
	if form.Get("scope") == "" {
		return nil, missing("scope")
	}
	if ag := e.agentByBlueprint(clientID); ag != nil && form.Get("fmi_path") != "" {
		return e.blueprintGrant(r, form, tenantSeg)
	}
	if ag := e.agentByID(clientID); ag != nil {
		return e.agentAppGrant(form, ag)
	}
	app, acr, terr := e.credentialsClient(r, form, clientID, tenantSeg)
	if terr != nil {
		return nil, terr
	}
	res, terr := e.defaultResource(form.Get("scope"))
	if terr != nil {
		return nil, terr
	}
	return e.appToken(res, app.ClientID, appObjectID(app.ClientID), app.Roles, acr, nil), nil
}

// credentialsClient checks the client of a client credentials grant (at
// either endpoint): a confidential app of the config, authenticated. It
// returns the app and how it authenticated.
func (e *Emulator) credentialsClient(r *http.Request, form url.Values, clientID, tenantSeg string) (*App, string, *entratest.TokenError) {
	app := e.lookupApp(clientID)
	if app == nil {
		return nil, "", unknownClient(clientID, e.cfg.TenantID)
	}
	if app.Type != AppConfidential {
		return nil, "", tokenError(http.StatusUnauthorized, "invalid_client", 7000218, "The client credentials grant is for confidential apps; '%s' is a %s client.", app.ClientID, app.Type)
	}
	acr, terr := e.authenticate(r, form, app, tenantSeg)
	if terr != nil {
		return nil, "", terr
	}
	return app, acr, nil
}

// defaultResource reads the one "{resource}/.default" scope of the client
// credentials grant.
func (e *Emulator) defaultResource(scope string) (*resource, *entratest.TokenError) {
	var scopes []string
	for _, s := range strings.Fields(scope) {
		switch strings.ToLower(s) {
		case "openid", "profile", "offline_access", "email":
		default:
			scopes = append(scopes, s)
		}
	}
	if len(scopes) != 1 || !strings.HasSuffix(scopes[0], "/.default") {
		return nil, badRequest("invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
	}
	id := strings.TrimSuffix(scopes[0], "/.default")
	res := e.resourceOf(id)
	if res == nil {
		return nil, badRequest("invalid_resource", 500011, "The resource principal named %s was not found in the tenant named %s.", id, e.cfg.TenantID)
	}
	return res, nil
}

// appToken mints an app-only access token.
func (e *Emulator) appToken(res *resource, clientID, objectID string, roles []string, acr string, claims map[string]any) *tokenAnswer {
	now := e.now()
	c := map[string]any{acrName(res.version): acr}
	for k, v := range claims {
		c[k] = v
	}
	tok := e.srv.Mint(entratest.Token{
		Version: res.version, App: true, TenantID: e.cfg.TenantID, Audience: res.aud, ClientID: clientID,
		ObjectID: objectID, Roles: roles, IssuedAt: now.Add(-backdate), ExpiresAt: now.Add(accessLifetime), Claims: c,
	})
	secs := int(accessLifetime / time.Second)
	return &tokenAnswer{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: tok}
}

// appObjectID is the object ID of an app's service principal: the oid and
// sub of its app-only tokens, the same from every endpoint.
func appObjectID(clientID string) string { return derived(clientID, "service principal") }
