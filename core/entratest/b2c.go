package entratest

import (
	"cmp"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	entra "github.com/entraguard/entraguard/core"
)

// B2C is a fake Azure AD B2C tenant in front of a [Server]: it serves the
// OpenID metadata of user flows (policies) at B2C's paths, on a loopback
// address of its own, with the Server's keys, and mints B2C-shaped tokens.
// Create it with [NewB2C]; Close it when finished.
type B2C struct {
	// URL is the base URL of the tenant's B2C authority,
	// "http://127.0.0.1:port", with no trailing slash.
	URL string

	// Domain is the tenant's domain in metadata paths.
	// Default: "contoso.onmicrosoft.com".
	Domain string

	srv *Server
	ts  *httptest.Server
}

// NewB2C starts a fake B2C authority for srv's tenant. Every user flow
// whose name starts with "B2C_1_" or "B2C_1A_" (any case) has metadata at
// URL/{Domain}/{flow}/v2.0/.well-known/openid-configuration (and at
// URL/{Domain}/v2.0/.well-known/openid-configuration?p={flow}); all flows
// name the same issuer, URL/{tenant ID}/v2.0/, and srv's key set, as B2C's
// default ("tfp-less") issuer format does. It panics if it cannot listen.
func NewB2C(srv *Server) *B2C {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("entratest: failed to listen on a loopback port: %v", err))
	}
	b := &B2C{Domain: "contoso.onmicrosoft.com", srv: srv}
	b.ts = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(b.serve)}}
	b.URL = "http://" + l.Addr().String()
	b.ts.Start()
	return b
}

// Close shuts the B2C authority down (not its Server).
func (b *B2C) Close() { b.ts.Close() }

// MetadataURL returns the metadata URL of the user flow, for
// entra.Config.MetadataURL.
func (b *B2C) MetadataURL(flow string) string {
	return b.URL + "/" + b.Domain + "/" + flow + "/v2.0/.well-known/openid-configuration"
}

// Issuer returns the issuer of every user flow's tokens.
func (b *B2C) Issuer() string { return b.URL + "/" + b.srv.TenantID + "/v2.0/" }

// Config returns the configuration of an API that accepts tokens of the
// user flow: TenantID (the domain), ClientID (the Server's), MetadataURL
// and HTTPClient are set.
func (b *B2C) Config(flow string) entra.Config {
	return entra.Config{
		TenantID:    b.Domain,
		ClientID:    b.srv.ClientID,
		MetadataURL: b.MetadataURL(flow),
		HTTPClient:  b.srv.Client(),
	}
}

// Mint returns a B2C access token of the user flow for the API under test,
// signed with the Server's key, shaped as B2C issues them: iss [B2C.Issuer],
// aud, exp, nbf, iat, auth_time, sub (the user's object ID,
// [Server.UserObjectID]), name, azp, scp, tfp (the flow) and ver "1.0"; no
// tid, no oid unless t.ObjectID is set (B2C emits it only when the flow is
// asked to). t's other fields apply as in [Server.Mint]. For the acr form
// of the flow claim, set t.Claims to {"tfp": nil, "acr": flow}.
func (b *B2C) Mint(flow string, t Token) string {
	if t.Version != "" && t.Version != entra.Version2 {
		panic("entratest: B2C.Mint: B2C tokens have one shape; leave Token.Version empty")
	}
	oid := cmp.Or(t.ObjectID, b.srv.UserObjectID)
	claims := map[string]any{
		"iss": b.Issuer(), "tid": nil, "ver": "1.0", "tfp": flow,
		"sub": cmp.Or(t.Subject, oid), "auth_time": b.srv.opts.now().Unix(),
		"aio": nil, "rh": nil, "uti": nil, "azpacr": nil, "preferred_username": nil,
	}
	if t.ObjectID == "" || t.App {
		claims["oid"] = nil
	}
	for k, v := range t.Claims {
		claims[k] = v
	}
	t.Claims = claims
	t.Subject = ""
	return b.srv.Mint(t)
}

func (b *B2C) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		answerJSON(w, http.StatusMethodNotAllowed, noStore, map[string]string{"error": "method_not_allowed"})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/"+b.Domain+"/")
	if !ok {
		answerJSON(w, http.StatusNotFound, noStore, map[string]string{"error": "not_found"})
		return
	}
	flow := r.URL.Query().Get("p")
	if f, tail, ok := strings.Cut(rest, "/"); ok && tail == "v2.0/.well-known/openid-configuration" {
		flow = f
	} else if rest != "v2.0/.well-known/openid-configuration" {
		flow = ""
	}
	low := strings.ToLower(flow)
	if !strings.HasPrefix(low, "b2c_1_") && !strings.HasPrefix(low, "b2c_1a_") {
		answerJSON(w, http.StatusNotFound, noStore, map[string]string{"error": "not_found", "error_description": "AADB2C90008: no such policy"})
		return
	}
	base := b.URL + "/" + b.Domain + "/" + low
	answerJSON(w, http.StatusOK, cacheable, map[string]any{
		"issuer":                                b.Issuer(),
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"jwks_uri":                              b.srv.URL + "/" + b.srv.TenantID + "/discovery/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code", "code id_token", "code token", "code id_token token", "id_token", "id_token token", "token", "token id_token"},
		"scopes_supported":                      []string{"openid"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"claims_supported":                      []string{"name", "sub", "idp", "tfp", "iss", "iat", "exp", "aud", "acr", "nonce", "auth_time"},
	})
}
