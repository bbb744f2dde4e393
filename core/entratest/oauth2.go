package entratest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/internal/guid"
)

// An App is a client application registered with the fake authority by
// [Server.RegisterApp]: a daemon or service that calls the API under test
// on its own behalf, with the OAuth 2.0 client credentials grant at the
// token endpoint ([Server.TokenURL]).
type App struct {
	// ClientID is the application (client) ID the app sends as client_id,
	// and the azp of its tokens. Matched case-insensitively, as Entra ID
	// matches GUIDs. Required.
	ClientID string

	// Secret is the app's client secret, accepted as client_secret in the
	// form (client_secret_post) or in an Authorization: Basic header
	// (client_secret_basic). Optional, but an app needs a Secret, a
	// Certificate or both.
	Secret string

	// Certificate is the app's certificate credential: a client assertion
	// (private_key_jwt) is accepted when it names this certificate's
	// thumbprint in its x5t (SHA-1) or x5t#S256 header and is signed
	// (RS256 or PS256) with its key. It must hold an RSA public key; see
	// [NewClientCertificate] and [ClientAssertion]. Optional.
	Certificate *x509.Certificate

	// Roles are the app roles granted to the app (application permissions
	// an administrator consented to): the roles claim of its tokens.
	// Optional. Without roles a token has no roles claim and, as with Entra
	// ID, the API refuses it unless it admits tokens without scp or roles.
	Roles []string

	// ObjectID is the object ID of the app's service principal: the oid and
	// sub of its tokens. Optional. Default: a random GUID, fixed at
	// registration.
	ObjectID string

	// Scopes are the delegated permissions of the API under test that the
	// app may use on behalf of its users (consent granted by the users or
	// an administrator), such as "Orders.Read": what a middle tier gets in
	// the scp of the tokens of the on-behalf-of grant ([GrantJWTBearer]).
	// A request for a scope not listed here is refused with AADSTS65001
	// (consent_required), as Entra ID refuses it. Optional.
	Scopes []string

	// SubjectName turns on subject name and issuer (SN/I) authentication:
	// a client assertion whose x5c header carries a certificate with this
	// subject common name, issued by one of Issuers, is accepted whatever
	// its thumbprint, as for apps whose trustedCertificateSubjects name it.
	// MSAL sends x5c when asked to (confidential.WithX5C). Without
	// SubjectName x5c is ignored, as Entra ID ignores it, and only the
	// thumbprint of Certificate counts. Optional.
	SubjectName string

	// Issuers are the certificate authorities trusted to issue the
	// certificates of SubjectName: the x5c chain must verify to one of them.
	// Required with SubjectName.
	Issuers []*x509.Certificate

	// AccessTokenVersion is the app's own accessTokenAcceptedVersion, for an
	// app that is itself an API, such as a middle tier: "2.0" or "1.0".
	// [Server.Mint] gives tokens whose Audience is the app (its ClientID or
	// "api://" + ClientID) this version unless Token.Version says otherwise.
	// Optional. Default: the server's [WithAccessTokenVersion].
	AccessTokenVersion string

	// RefuseAssertionReplay refuses a client assertion whose jti the app
	// already used (AADSTS50027), for a test of a client that must make a
	// new assertion for every request. Off by default: Entra ID accepts an
	// assertion again until its exp (plus clock skew), and MSAL Node, MSAL
	// Python and MSAL Java before 1.23 reuse theirs for up to ten minutes.
	RefuseAssertionReplay bool
}

// Values of the client credentials grant.
const (
	// GrantClientCredentials is the grant_type of the client credentials grant.
	GrantClientCredentials = "client_credentials"
	// ClientAssertionType is the client_assertion_type of a JWT client
	// assertion (RFC 7523, private_key_jwt).
	ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// GrantJWTBearer is the grant_type of the on-behalf-of grant (RFC 7523
	// JWT bearer), sent with requested_token_use=on_behalf_of.
	GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// Lifetimes and limits of the token endpoint.
const (
	// appTokenLifetime is the lifetime of tokens issued by the endpoint, as
	// its expires_in says it: Entra ID answers 3599.
	appTokenLifetime = 3599 * time.Second
	// assertionLifetime is the lifetime of assertions made by ClientAssertion,
	// that of MSAL's.
	assertionLifetime = 10 * time.Minute
	// assertionSkew is the clock skew allowed on an assertion's nbf and exp.
	assertionSkew = 5 * time.Minute
	// maxTokenRequest bounds a token request's body.
	maxTokenRequest = 64 << 10
)

// registeredApp is an App with its credentials prepared for checks.
type registeredApp struct {
	App
	sha1Thumb, sha256Thumb []byte // of Certificate.Raw; nil without one
}

// appRegistry holds a Server's registered apps, and the client
// assertions they used.
type appRegistry struct {
	mu   sync.RWMutex
	apps map[string]*registeredApp // by lower-case client ID
	used map[string]time.Time      // client ID + "\x00" + jti -> until when it is remembered
}

func (s *Server) appRegistry() *appRegistry {
	s.apps.mu.Lock()
	if s.apps.apps == nil {
		s.apps.apps = map[string]*registeredApp{}
	}
	s.apps.mu.Unlock()
	return &s.apps
}

// lookupApp returns the registered app with that client ID, or nil.
func (s *Server) lookupApp(clientID string) *registeredApp {
	reg := &s.apps
	reg.mu.RLock()
	defer reg.mu.RUnlock()
	return reg.apps[strings.ToLower(clientID)]
}

// resourceVersion is the token version of a token for aud: that of the
// registered app aud names, if it has one, else the API's.
func (s *Server) resourceVersion(aud string) string {
	if aud != "" {
		id := strings.TrimPrefix(aud, "api://")
		if app := s.lookupApp(id); app != nil && app.AccessTokenVersion != "" {
			return app.AccessTokenVersion
		}
	}
	return s.opts.version
}

// RegisterApp registers a client application in the server's home tenant,
// so that it can get app-only tokens for the API under test from the token
// endpoint ([Server.TokenURL]) with the client credentials grant.
// Registering an app again with the same ClientID replaces it.
//
// RegisterApp panics if the ClientID is empty or has white space, if the
// app has neither a Secret nor a Certificate, or if the Certificate does
// not hold an RSA public key.
func (s *Server) RegisterApp(app App) {
	if strings.TrimSpace(app.ClientID) == "" || strings.ContainsAny(app.ClientID, " \t\r\n") {
		panic(fmt.Sprintf("entratest: RegisterApp: App.ClientID %q: a client ID is a GUID or an identifier without spaces", app.ClientID))
	}
	if app.Secret == "" && app.Certificate == nil && app.SubjectName == "" {
		panic(fmt.Sprintf("entratest: RegisterApp(%q): the app needs a Secret, a Certificate or a SubjectName", app.ClientID))
	}
	if app.SubjectName != "" && len(app.Issuers) == 0 {
		panic(fmt.Sprintf("entratest: RegisterApp(%q): SubjectName needs the Issuers trusted to issue its certificates", app.ClientID))
	}
	switch app.AccessTokenVersion {
	case "", entra.Version1, entra.Version2:
	default:
		panic(fmt.Sprintf("entratest: RegisterApp(%q): AccessTokenVersion %q: use %q or %q", app.ClientID, app.AccessTokenVersion, entra.Version2, entra.Version1))
	}
	ra := &registeredApp{App: app}
	ra.Roles = slices.Clone(app.Roles)
	ra.Scopes = slices.Clone(app.Scopes)
	ra.Issuers = slices.Clone(app.Issuers)
	if ra.ObjectID == "" {
		ra.ObjectID = NewGUID()
	}
	if c := app.Certificate; c != nil {
		if _, ok := c.PublicKey.(*rsa.PublicKey); !ok {
			panic(fmt.Sprintf("entratest: RegisterApp(%q): the Certificate holds a %T; Entra ID accepts RSA certificates", app.ClientID, c.PublicKey))
		}
		s1, s256 := sha1.Sum(c.Raw), sha256.Sum256(c.Raw)
		ra.sha1Thumb, ra.sha256Thumb = s1[:], s256[:]
	}
	reg := s.appRegistry()
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.apps[strings.ToLower(app.ClientID)] = ra
}

// TokenURL returns the v2.0 token endpoint of the server's home tenant,
// URL + "/{TenantID}/oauth2/v2.0/token": where registered apps get tokens,
// and the audience (aud) of their client assertions.
func (s *Server) TokenURL() string {
	return s.URL + "/" + s.TenantID + "/oauth2/v2.0/token"
}

// NewClientCertificate returns a self-signed certificate (CN=clientID,
// valid for a year from an hour ago) and its RSA private key, to register
// as an [App]'s Certificate and sign its client assertions with
// [ClientAssertion]. Like the server's keys, the key may come from a pool
// of keys of closed servers, to start fast; it is for tests and demos only.
// It panics if the certificate cannot be created.
func NewClientCertificate(clientID string) (*x509.Certificate, crypto.Signer) {
	key := leaseKey(DefaultKeyBits)
	now := time.Now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetUint64(randUint64() | 1<<63),
		Subject:               pkix.Name{CommonName: clientID},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SignatureAlgorithm:    x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic("entratest: NewClientCertificate: " + err.Error())
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic("entratest: NewClientCertificate: " + err.Error())
	}
	return cert, key
}

// ClientAssertion returns a client assertion (RFC 7523) for the client
// credentials grant, shaped as Entra ID wants it: a JWT signed with key
// (RS256), whose header names cert's SHA-1 thumbprint in x5t (MSAL Go
// signs PS256 and names the SHA-256 thumbprint in x5t#S256; the server
// accepts both), with aud tokenURL (the token endpoint, see [Server.TokenURL]),
// iss and sub clientID, a random jti, and nbf and iat now and exp ten
// minutes later (time.Now, not a server's clock). Send it as
// client_assertion with client_assertion_type [ClientAssertionType].
//
// It panics if cert is nil or key is not an RSA key.
func ClientAssertion(tokenURL, clientID string, cert *x509.Certificate, key crypto.Signer) string {
	if cert == nil {
		panic("entratest: ClientAssertion needs the certificate whose thumbprint the assertion names")
	}
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		panic(fmt.Sprintf("entratest: ClientAssertion needs an RSA key, not a %T (Entra ID accepts RS256 and PS256 assertions)", key.Public()))
	}
	thumb := sha1.Sum(cert.Raw)
	now := time.Now()
	header := map[string]any{"typ": "JWT", "alg": "RS256", "x5t": base64.RawURLEncoding.EncodeToString(thumb[:])}
	claims := map[string]any{
		"aud": tokenURL,
		"iss": clientID,
		"sub": clientID,
		"jti": NewGUID(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	}
	input := base64.RawURLEncoding.EncodeToString(encodeObject("header", header, headerOrder)) + "." +
		base64.RawURLEncoding.EncodeToString(encodeObject("claim", claims, claimOrder))
	digest := sha256.Sum256([]byte(input))
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		panic("entratest: ClientAssertion: signing: " + err.Error())
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// tokenResponse is the token endpoint's answer, in Entra ID's field order.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

// tokenErrorBody is a refusal as Entra ID writes it.
type tokenErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri"`
	Suberror      string `json:"suberror,omitempty"`
}

func invalidRequest(code int, format string, args ...any) *TokenError {
	return &TokenError{Status: http.StatusBadRequest, OAuthError: "invalid_request", AADSTS: code, Description: fmt.Sprintf(format, args...)}
}

func invalidClient(code int, format string, args ...any) *TokenError {
	return &TokenError{Status: http.StatusUnauthorized, OAuthError: "invalid_client", AADSTS: code, Description: fmt.Sprintf(format, args...)}
}

func missingParam(name string) *TokenError {
	return invalidRequest(900144, "The request body must contain the following parameter: '%s'.", name)
}

// malformedRequest is Entra ID's catch-all for requests it cannot read.
func malformedRequest(detail string) *TokenError {
	return invalidRequest(9002313, "Invalid request. Request is malformed or invalid. %s", detail)
}

const certificateCredentialsDoc = "Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."

// serveToken answers the OAuth 2.0 token endpoint (EndpointToken).
//
// The v2.0 endpoint, POST /{tenant}/oauth2/v2.0/token, serves two grants to
// the apps registered with [Server.RegisterApp], as Entra ID does:
//
//   - client credentials: grant_type=client_credentials, client_id, scope
//     (the API's "api://{ClientID}/.default" or "{ClientID}/.default"; the
//     OpenID Connect scopes MSAL adds are ignored), and a credential;
//   - on-behalf-of: grant_type=[GrantJWTBearer], requested_token_use=on_behalf_of,
//     assertion (the user's access token for the middle tier), scope (the
//     API's delegated scopes, or its /.default), client_id and a credential.
//
// The credential is client_secret (or an Authorization: Basic header) or
// client_assertion_type and client_assertion (RS256 or PS256; x5t or
// x5t#S256 in base64url or standard base64; good until its exp plus five
// minutes of clock skew, and used again as often as the client likes, as
// Entra ID allows, unless the app has [App.RefuseAssertionReplay]). It answers an
// access token for the API in the API's version ([WithAccessTokenVersion]),
// or Entra ID's error JSON with its AADSTS codes. Neither secrets nor
// assertions are ever logged or echoed.
//
// The v1.0 endpoint (/{tenant}/oauth2/token) is not served: it answers 404.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, tenant string) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/token") {
		answerJSON(w, http.StatusNotFound, noStore, map[string]string{
			"error":             "not_found",
			"error_description": "entratest: the v1.0 token endpoint is not served; use /{tenant}/oauth2/v2.0/token, or mint tokens with Server.Mint",
		})
		return
	}
	resp, terr := s.issueToken(r, tenant)
	w.Header().Set("Pragma", "no-cache")
	if terr != nil {
		s.answerTokenError(w, r, terr)
		return
	}
	answerJSON(w, http.StatusOK, noStore, resp)
}

func (s *Server) answerTokenError(w http.ResponseWriter, r *http.Request, e *TokenError) {
	now := s.opts.now().UTC()
	ts := now.Format("2006-01-02 15:04:05Z")
	trace := NewGUID()
	corr := strings.ToLower(r.Header.Get("client-request-id"))
	if !guid.Is(corr) {
		corr = NewGUID()
	}
	desc := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", e.AADSTS, e.Description, trace, corr, ts)
	answerJSON(w, e.Status, noStore, tokenErrorBody{
		Error:         e.OAuthError,
		Description:   desc,
		ErrorCodes:    []int{e.AADSTS},
		Timestamp:     ts,
		TraceID:       trace,
		CorrelationID: corr,
		ErrorURI:      s.baseURL(r) + "/error?code=" + fmt.Sprint(e.AADSTS),
		Suberror:      e.Suberror,
	})
}

// issueToken checks a token request and mints its token.
func (s *Server) issueToken(r *http.Request, tenantSeg string) (*tokenResponse, *TokenError) {
	if r.Method != http.MethodPost {
		return nil, invalidRequest(900561, "The endpoint only accepts POST, OPTIONS requests. Received a %s request.", r.Method)
	}
	t, ok := resolveTenant(tenantSeg)
	if !ok {
		return nil, invalidRequest(90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenantSeg)
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxTokenRequest)
	if err := r.ParseForm(); err != nil {
		return nil, malformedRequest("The body could not be read as an application/x-www-form-urlencoded form.")
	}
	form := r.PostForm // parameters in the query string do not count

	grant := form.Get("grant_type")
	switch {
	case grant == "":
		return nil, missingParam("grant_type")
	case grant != GrantClientCredentials && grant != GrantJWTBearer:
		return nil, &TokenError{Status: http.StatusBadRequest, OAuthError: "unsupported_grant_type", AADSTS: 70003,
			Description: fmt.Sprintf("The app requested an unsupported grant type '%s'. (entratest serves the client_credentials and on-behalf-of (%s) grants; mint other tokens with Server.Mint.)", grant, GrantJWTBearer)}
	}
	if grant == GrantJWTBearer {
		if terr := checkOBOForm(form); terr != nil {
			return nil, terr
		}
	}

	app, acr, terr := s.authenticateClient(r, form, t, tenantSeg, grant, true)
	if terr != nil {
		return nil, terr
	}
	scope := form.Get("scope")
	if grant == GrantJWTBearer {
		return s.onBehalfOf(form, app, t, acr)
	}

	resource, terr := s.checkScope(scope, t.tid)
	if terr != nil {
		return nil, terr
	}
	now := s.opts.now()
	exp := now.Add(appTokenLifetime)
	tok := Token{
		Version:   s.opts.version,
		App:       true,
		TenantID:  t.tid,
		Audience:  s.resourceAudience(resource),
		ClientID:  app.ClientID,
		ObjectID:  app.ObjectID,
		Roles:     app.Roles,
		IssuedAt:  now.Add(-backdate),
		NotBefore: now.Add(-backdate),
		ExpiresAt: exp,
	}
	tok.Claims = map[string]any{acrClaim(s.opts.version): acr}
	token := s.Mint(tok)
	secs := int(appTokenLifetime / time.Second)
	return &tokenResponse{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: token}, nil
}

// authenticateClient finds the registered app a token request names and
// checks its credential: a secret (form or Basic) or a client assertion. It
// returns the app and how it authenticated ("1" a secret, "2" a
// certificate). With needScope a missing scope is refused after a missing
// client_id, in Entra ID's order.
func (s *Server) authenticateClient(r *http.Request, form url.Values, t tenant, tenantSeg, grant string, needScope bool) (*registeredApp, string, *TokenError) {
	clientID := form.Get("client_id")
	secret, hasSecret := form.Get("client_secret"), form.Has("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		// client_secret_basic: both parts are form-encoded (RFC 6749 §2.3.1).
		u, err1 := url.QueryUnescape(user)
		p, err2 := url.QueryUnescape(pass)
		switch {
		case err1 != nil || err2 != nil:
			return nil, "", malformedRequest("The Authorization header could not be read.")
		case clientID != "" && !strings.EqualFold(clientID, u):
			return nil, "", malformedRequest("The client_id parameter and the Authorization header name different clients.")
		case hasSecret:
			return nil, "", malformedRequest("Send the client secret once: in the Authorization header or in the body, not both.")
		}
		clientID, secret, hasSecret = u, p, true
	}
	if clientID == "" {
		return nil, "", missingParam("client_id")
	}
	if needScope && form.Get("scope") == "" {
		return nil, "", missingParam("scope")
	}
	if t.tid == "" {
		return nil, "", malformedRequest(fmt.Sprintf("The %s grant needs a tenant-specific endpoint, /{tenant-id}/oauth2/v2.0/token, not /%s.", grantName(grant), t.path))
	}
	var app *registeredApp
	if t.tid == strings.ToLower(s.TenantID) {
		app = s.lookupApp(clientID)
	}
	if app == nil {
		return nil, "", &TokenError{Status: http.StatusBadRequest, OAuthError: "unauthorized_client", AADSTS: 700016,
			Description: fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, t.tid)}
	}

	assertion, hasAssertion := form.Get("client_assertion"), form.Has("client_assertion")
	switch {
	case hasSecret && hasAssertion:
		return nil, "", malformedRequest("Send either a client secret or a client assertion, not both.")
	case hasSecret:
		if app.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(app.Secret)) != 1 {
			return nil, "", invalidClient(7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID)
		}
	case hasAssertion:
		switch typ := form.Get("client_assertion_type"); {
		case typ == "":
			return nil, "", missingParam("client_assertion_type")
		case typ != ClientAssertionType:
			return nil, "", malformedRequest(fmt.Sprintf("client_assertion_type must be '%s'.", ClientAssertionType))
		}
		root := s.baseURL(r) + "/" + tenantSeg
		if terr := s.checkAssertion(app, clientID, assertion, []string{root + "/oauth2/v2.0/token", root + "/oauth2/token"}); terr != nil {
			return nil, "", terr
		}
	default:
		return nil, "", invalidClient(7000216, "'client_assertion', 'client_secret' or 'request' is required for the '%s' grant type.", grant)
	}
	// appidacr / azpacr: how the client authenticated.
	acr := "1"
	if hasAssertion {
		acr = "2"
	}
	return app, acr, nil
}

// A TokenError is a refusal of the token endpoint, as [Server.AuthenticateClient]
// returns it and [Server.WriteTokenError] writes it: Entra ID's error JSON
// with its AADSTS code.
type TokenError struct {
	// Status is the HTTP status: 400 or 401.
	Status int
	// OAuthError is the OAuth 2.0 error code, such as "invalid_client".
	OAuthError string
	// AADSTS is Entra ID's error code, such as 7000215.
	AADSTS int
	// Description is the text after "AADSTS{code}: ".
	Description string
	// Suberror is Entra ID's suberror, such as "consent_required"; often "".
	Suberror string
}

// Error returns the OAuth error, the AADSTS code and the description.
func (e *TokenError) Error() string {
	return fmt.Sprintf("%s: AADSTS%d: %s", e.OAuthError, e.AADSTS, e.Description)
}

// AuthenticateClient checks the client credentials of a token request
// (already parsed: form is its body) to the tenant of the path segment
// tenantSeg, as the token endpoint does for its own grants: the app must be
// registered ([Server.RegisterApp]) in the home tenant, and send its secret
// (form or Authorization: Basic) or a client assertion of its certificate.
// It returns the app's client ID as registered and how it authenticated
// ("1" a secret, "2" a certificate: the azpacr of its tokens), or a
// *[TokenError]. For servers built on this one, such as an emulator that
// serves more grants.
func (s *Server) AuthenticateClient(r *http.Request, form url.Values, tenantSeg string) (clientID, acr string, err error) {
	t, ok := resolveTenant(tenantSeg)
	if !ok {
		return "", "", invalidRequest(90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenantSeg)
	}
	app, acr, terr := s.authenticateClient(r, form, t, tenantSeg, form.Get("grant_type"), false)
	if terr != nil {
		return "", "", terr
	}
	return app.ClientID, acr, nil
}

// WriteTokenError answers e as Entra ID writes a token endpoint's refusal:
// error, error_description ("AADSTS{code}: …" with trace and correlation
// IDs and a timestamp), error_codes, timestamp, trace_id, correlation_id,
// error_uri and suberror, with no-store caching.
func (s *Server) WriteTokenError(w http.ResponseWriter, r *http.Request, e *TokenError) {
	w.Header().Set("Pragma", "no-cache")
	s.answerTokenError(w, r, e)
}

// grantName names a grant_type in errors.
func grantName(grant string) string {
	if grant == GrantJWTBearer {
		return "on-behalf-of"
	}
	return "client credentials"
}

// acrClaim is the claim that says how the client authenticated: azpacr in
// v2.0 tokens, appidacr in v1.0 tokens. "1" is a secret, "2" a certificate.
func acrClaim(version string) string {
	if version == entra.Version1 {
		return "appidacr"
	}
	return "azpacr"
}

// resourceAudience is the aud of a token for the API under test requested
// as resource ("api://{ClientID}" or "{ClientID}"): the client ID in v2.0
// tokens, the resource as requested in v1.0 tokens, as Entra ID issues them.
func (s *Server) resourceAudience(resource string) string {
	if s.opts.version == entra.Version1 {
		if strings.EqualFold(resource, s.ClientID) {
			return s.ClientID
		}
		return "api://" + s.ClientID
	}
	return s.ClientID
}

// oidcScopes are the OpenID Connect scopes MSAL adds to every request;
// Entra ID ignores them where they mean nothing (client credentials) and
// answers them with an ID and a refresh token elsewhere.
var oidcScopes = map[string]bool{"openid": true, "offline_access": true, "profile": true, "email": true}

// resourceScopes splits a scope parameter into the scopes of resources,
// without the OpenID Connect scopes.
func resourceScopes(scope string) []string {
	var out []string
	for _, sc := range strings.Fields(scope) {
		if !oidcScopes[strings.ToLower(sc)] {
			out = append(out, sc)
		}
	}
	return out
}

// checkScope accepts the API's own resource with /.default, as the client
// credentials grant requires, and returns the resource as requested. The
// OpenID Connect scopes MSAL adds (openid, offline_access, profile) are
// ignored, as Entra ID ignores them.
func (s *Server) checkScope(scope, tid string) (string, *TokenError) {
	scopes := resourceScopes(scope)
	if len(scopes) != 1 {
		return "", &TokenError{Status: http.StatusBadRequest, OAuthError: "invalid_scope", AADSTS: 70011,
			Description: fmt.Sprintf("The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope %s is not valid. The client credentials grant takes one scope, the API's '{application ID URI}/.default'.", scope)}
	}
	resource, ok := strings.CutSuffix(scopes[0], "/.default")
	if !ok {
		return "", &TokenError{Status: http.StatusBadRequest, OAuthError: "invalid_scope", AADSTS: 1002012,
			Description: fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scopes[0])}
	}
	if !s.isAPIResource(resource) {
		return "", &TokenError{Status: http.StatusBadRequest, OAuthError: "invalid_resource", AADSTS: 500011,
			Description: fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant. (entratest issues tokens for its API only: api://%s/.default.)", resource, tid, s.ClientID)}
	}
	return resource, nil
}

// isAPIResource reports whether resource names the API under test.
func (s *Server) isAPIResource(resource string) bool {
	return strings.EqualFold(resource, s.ClientID) || strings.EqualFold(resource, "api://"+s.ClientID)
}

// checkAssertion verifies a client assertion of app: its header and
// signature against the app's certificate, then iss, sub, aud, nbf, exp
// and jti.
func (s *Server) checkAssertion(app *registeredApp, clientID, assertion string, audiences []string) *TokenError {
	malformed := func(detail string) *TokenError {
		return invalidClient(50027, "JWT token is invalid or malformed. %s", detail)
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return malformed("The client assertion is not a compact JWS (three base64url parts).")
	}
	var header struct {
		Alg     string   `json:"alg"`
		X5t     string   `json:"x5t"`
		X5tS256 string   `json:"x5t#S256"`
		X5c     []string `json:"x5c"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return malformed("The client assertion's header is not a base64url JSON object.")
	}
	switch header.Alg {
	case "RS256", "PS256":
	default:
		return malformed(fmt.Sprintf("The client assertion's alg %q is not supported: sign it with RS256 or PS256.", header.Alg))
	}

	var pub *rsa.PublicKey
	var thumb []byte
	if app.SubjectName != "" && len(header.X5c) > 0 {
		// Subject name and issuer authentication: the chain, not the
		// thumbprint, names the key.
		leaf, terr := s.checkX5C(app, header.X5c)
		if terr != nil {
			return terr
		}
		pub = leaf.PublicKey.(*rsa.PublicKey)
		sum := sha1.Sum(leaf.Raw)
		thumb = sum[:]
	} else {
		var want []byte
		var ok bool
		switch {
		case header.X5tS256 != "":
			thumb, ok = decodeThumbprint(header.X5tS256)
			want = app.sha256Thumb
		case header.X5t != "":
			thumb, ok = decodeThumbprint(header.X5t)
			want = app.sha1Thumb
		default:
			return malformed("The client assertion's header names no certificate: set x5t to the base64url SHA-1 thumbprint of the app's certificate (or x5t#S256 to its SHA-256 thumbprint).")
		}
		if !ok {
			return malformed("The client assertion's x5t or x5t#S256 is not base64 (standard or URL-safe) of a thumbprint.")
		}
		if want == nil || subtle.ConstantTimeCompare(thumb, want) != 1 {
			return invalidClient(700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", strings.ToUpper(hex.EncodeToString(thumb)), app.ClientID)
		}
		pub = app.Certificate.PublicKey.(*rsa.PublicKey)
	}

	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return malformed("The client assertion's signature is not base64url.")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if header.Alg == "PS256" {
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	} else {
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	}
	if err != nil {
		return invalidClient(700027, "Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '%s']", strings.ToUpper(hex.EncodeToString(thumb)))
	}

	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return malformed("The client assertion's payload is not a base64url JSON object.")
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	if !strings.EqualFold(iss, clientID) || !strings.EqualFold(sub, clientID) {
		return invalidClient(700021, "Client assertion application identifier doesn't match 'client_id' parameter: its iss and sub must both be the client ID. %s", certificateCredentialsDoc)
	}
	if !audienceIn(claims["aud"], audiences) {
		return invalidClient(700023, "Client assertion audience claim does not match Realm issuer: its aud must be the token endpoint, %s. %s", audiences[0], certificateCredentialsDoc)
	}
	now := s.opts.now()
	exp, hasExp := numericClaim(claims["exp"])
	nbf, hasNbf := numericClaim(claims["nbf"])
	if !hasExp || now.After(exp.Add(assertionSkew)) || hasNbf && now.Before(nbf.Add(-assertionSkew)) {
		from, until := "(none)", "(none)"
		if hasNbf {
			from = nbf.UTC().Format(time.RFC3339)
		}
		if hasExp {
			until = exp.UTC().Format(time.RFC3339)
		}
		return invalidClient(700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. %s", now.UTC().Format(time.RFC3339), from, until, certificateCredentialsDoc)
	}
	jti, _ := claims["jti"].(string)
	if jti == "" {
		return malformed("The client assertion has no jti: give each assertion a unique identifier (a GUID).")
	}
	if app.RefuseAssertionReplay && !s.apps.useAssertion(app.ClientID, jti, exp.Add(assertionSkew), now) {
		return malformed(fmt.Sprintf("The client assertion with jti '%s' was already used: make a new assertion, with a new jti, for every request (this app refuses replayed assertions: App.RefuseAssertionReplay).", jti))
	}
	return nil
}

// maxUsedAssertions bounds the remembered jti values of client assertions.
const maxUsedAssertions = 1 << 16

// useAssertion records the jti of an app's assertion until it expires, and
// reports false if it was already recorded. The record is bounded: expired
// entries go first, then, at the bound, the entry that expires soonest.
func (reg *appRegistry) useAssertion(clientID, jti string, until, now time.Time) bool {
	key := strings.ToLower(clientID) + "\x00" + jti
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.used == nil {
		reg.used = map[string]time.Time{}
	}
	if t, ok := reg.used[key]; ok && !now.After(t) {
		return false
	}
	if len(reg.used) >= 1024 {
		for k, t := range reg.used {
			if now.After(t) {
				delete(reg.used, k)
			}
		}
	}
	if len(reg.used) >= maxUsedAssertions {
		var first string
		var soonest time.Time
		for k, t := range reg.used {
			if first == "" || t.Before(soonest) {
				first, soonest = k, t
			}
		}
		delete(reg.used, first)
	}
	reg.used[key] = until
	return true
}

// decodeThumbprint decodes an x5t or x5t#S256 header: base64url as RFC 7515
// says, or standard base64 with padding as MSAL writes it; Entra ID takes
// both.
func decodeThumbprint(v string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) > 0 {
			return b, true
		}
	}
	return nil, false
}

// checkX5C verifies the x5c chain of an assertion of an app with subject
// name and issuer authentication, and returns its leaf certificate.
func (s *Server) checkX5C(app *registeredApp, x5c []string) (*x509.Certificate, *TokenError) {
	refuse := func(reason string) *TokenError {
		return invalidClient(700027, "Client assertion failed signature validation. [Reason - %s, subject name and issuer authentication of app '%s']", reason, app.ClientID)
	}
	if len(x5c) > 10 {
		return nil, refuse("The x5c chain is longer than 10 certificates.")
	}
	var certs []*x509.Certificate
	for _, c := range x5c {
		der, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return nil, refuse("An x5c entry is not standard base64 of a DER certificate.")
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, refuse("An x5c entry is not a certificate.")
		}
		certs = append(certs, cert)
	}
	leaf := certs[0]
	if !strings.EqualFold(leaf.Subject.CommonName, app.SubjectName) && !strings.EqualFold(leaf.Subject.String(), app.SubjectName) {
		return nil, refuse(fmt.Sprintf("The certificate's subject %q is not the app's trusted subject %q.", leaf.Subject.String(), app.SubjectName))
	}
	if _, ok := leaf.PublicKey.(*rsa.PublicKey); !ok {
		return nil, refuse("The certificate does not hold an RSA key.")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range app.Issuers {
		roots.AddCert(c)
	}
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: s.opts.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, refuse("The certificate is not issued by an issuer the app trusts, or is not valid now.")
	}
	return leaf, nil
}

// decodeSegment decodes a base64url JSON segment of a JWS into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	if !json.Valid(b) || len(b) == 0 || b[0] != '{' {
		return errors.New("not a JSON object")
	}
	return json.Unmarshal(b, v)
}

// audienceIn reports whether aud, a string or an array of strings, holds
// one of want (compared case-insensitively, as URLs of Entra ID).
func audienceIn(aud any, want []string) bool {
	var auds []string
	switch a := aud.(type) {
	case string:
		auds = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	for _, a := range auds {
		for _, w := range want {
			if strings.EqualFold(a, w) {
				return true
			}
		}
	}
	return false
}

// numericClaim reads a NumericDate claim.
func numericClaim(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
