package entratest

import (
	"cmp"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// oboTokenLifetime is the lifetime of on-behalf-of tokens, as expires_in
// says it: Entra ID's delegated tokens live 60 to 90 minutes.
const oboTokenLifetime = 4779 * time.Second

func invalidGrant(code int, format string, args ...any) *TokenError {
	return &TokenError{Status: http.StatusBadRequest, OAuthError: "invalid_grant", AADSTS: code, Description: fmt.Sprintf(format, args...)}
}

// checkOBOForm checks the parameters proper to the on-behalf-of grant.
func checkOBOForm(form url.Values) *TokenError {
	switch use := form.Get("requested_token_use"); {
	case use == "":
		return missingParam("requested_token_use")
	case use != "on_behalf_of":
		return malformedRequest(fmt.Sprintf("requested_token_use must be 'on_behalf_of', not '%s'.", use))
	}
	if form.Get("assertion") == "" {
		return missingParam("assertion")
	}
	return nil
}

// userAssertion is what the on-behalf-of grant reads of the incoming token.
type userAssertion struct {
	oid, tid, name, username string
}

// onBehalfOf answers the on-behalf-of grant of app, a middle tier that
// authenticated (acr "1" secret, "2" certificate) with a user's access token
// for itself as assertion: it checks the token as Entra ID does (signed by
// this authority, issued for the app, in its time range, a user's), then
// issues a delegated token of that user for the API under test, with the
// consented scopes that were asked for and azp (appid) the middle tier.
func (s *Server) onBehalfOf(form url.Values, app *registeredApp, t tenant, acr string) (*tokenResponse, *TokenError) {
	user, terr := s.checkUserAssertion(form.Get("assertion"), app, t)
	if terr != nil {
		return nil, terr
	}
	resource, granted, terr := s.checkOBOScopes(form.Get("scope"), app, t)
	if terr != nil {
		return nil, terr
	}
	now := s.opts.now()
	version := s.opts.version
	token := s.Mint(Token{
		Version:           version,
		TenantID:          user.tid,
		Audience:          s.resourceAudience(resource),
		ClientID:          app.ClientID,
		ObjectID:          user.oid,
		Name:              user.name,
		PreferredUsername: user.username,
		Scopes:            granted,
		IssuedAt:          now.Add(-backdate),
		NotBefore:         now.Add(-backdate),
		ExpiresAt:         now.Add(oboTokenLifetime),
		Claims:            map[string]any{acrClaim(version): acr},
	})
	full := make([]string, len(granted))
	for i, sc := range granted {
		full[i] = resource + "/" + sc
	}
	secs := int(oboTokenLifetime / time.Second)
	return &tokenResponse{TokenType: "Bearer", Scope: strings.Join(full, " "), ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: token}, nil
}

// checkUserAssertion verifies the incoming user token of an on-behalf-of
// request from app.
func (s *Server) checkUserAssertion(assertion string, app *registeredApp, t tenant) (userAssertion, *TokenError) {
	invalid := func(detail string) *TokenError {
		return invalidGrant(50013, "Assertion failed signature validation. [Reason - %s]", detail)
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return userAssertion{}, invalid("The assertion is not a JWT (three base64url parts): send the access token the middle tier received, as is.")
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return userAssertion{}, invalid("The assertion's header is not a base64url JSON object.")
	}
	if header.Alg != "RS256" {
		return userAssertion{}, invalid(fmt.Sprintf("The assertion's alg %q is not RS256.", header.Alg))
	}
	k := s.key(header.Kid)
	if k == nil || (k.state != keyPublished && (k.state != keyApp || !strings.EqualFold(k.app, app.ClientID))) {
		return userAssertion{}, invalid(fmt.Sprintf("The key was not found., Key ID of the assertion: '%s'", header.Kid))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&k.priv.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return userAssertion{}, invalid("Key was found, but use of the key to verify the signature failed.")
	}
	var c map[string]any
	if err := decodeSegment(parts[1], &c); err != nil {
		return userAssertion{}, invalid("The assertion's payload is not a base64url JSON object.")
	}
	str := func(name string) string { v, _ := c[name].(string); return v }

	tid := strings.ToLower(str("tid"))
	if tid != t.tid || (str("iss") != issuerV2(s.URL, tid) && str("iss") != issuerV1(tid)) {
		return userAssertion{}, invalidGrant(50013, "Assertion contains an invalid issuer or tenant: the assertion was issued by '%s' (tid '%s'); this endpoint serves tenant '%s' of this authority.", str("iss"), tid, t.tid)
	}
	now := s.opts.now()
	exp, hasExp := numericClaim(c["exp"])
	nbf, hasNbf := numericClaim(c["nbf"])
	if !hasExp || now.After(exp) || hasNbf && now.Before(nbf) {
		until := "(none)"
		if hasExp {
			until = exp.UTC().Format(time.RFC3339)
		}
		return userAssertion{}, invalidGrant(500133, "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: %s, expiry time of assertion %s.", now.UTC().Format(time.RFC3339), until)
	}
	if want := []string{app.ClientID, "api://" + app.ClientID}; !audienceIn(c["aud"], want) {
		return userAssertion{}, invalidGrant(500131, "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%v' and the expected audience is '%s' or one of the Application Id URIs of this application with App ID '%s'. The downstream client must request a token for the middle tier (the application that performs the on-behalf-of request), and the middle tier must use that token as the assertion.", c["aud"], app.ClientID, app.ClientID)
	}
	oid := str("oid")
	if str("idtyp") == "app" || oid == "" || str("scp") == "" && c["scp"] == nil {
		return userAssertion{}, invalidGrant(50013, "Assertion is not a user's token: on-behalf-of exchanges a delegated (user) access token, with scp and the user's oid; an app-only token has no user to act for.")
	}
	return userAssertion{
		oid:      oid,
		tid:      tid,
		name:     str("name"),
		username: cmp.Or(str("preferred_username"), str("upn"), str("unique_name")),
	}, nil
}

// checkOBOScopes resolves the scopes of an on-behalf-of request to the API
// under test, and returns the resource as requested and the granted
// delegated scopes: every consented scope for "/.default", else those asked
// for, all of which must be consented.
func (s *Server) checkOBOScopes(scope string, app *registeredApp, t tenant) (string, []string, *TokenError) {
	scopes := resourceScopes(scope)
	if len(scopes) == 0 {
		return "", nil, missingParam("scope")
	}
	var resource string
	var asked []string
	def := false
	for _, sc := range scopes {
		i := strings.LastIndex(sc, "/")
		if i <= 0 || i == len(sc)-1 {
			return "", nil, &TokenError{Status: http.StatusBadRequest, OAuthError: "invalid_scope", AADSTS: 70011,
				Description: fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope %s is not valid: name the downstream API's scopes in full, such as api://%s/Orders.Read, or api://%s/.default.", sc, s.ClientID, s.ClientID)}
		}
		res, name := sc[:i], sc[i+1:]
		if !s.isAPIResource(res) {
			return "", nil, &TokenError{Status: http.StatusBadRequest, OAuthError: "invalid_resource", AADSTS: 500011,
				Description: fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. (entratest issues tokens for its API only: api://%s.)", res, t.tid, s.ClientID)}
		}
		if resource != "" && !strings.EqualFold(res, resource) {
			return "", nil, &TokenError{Status: http.StatusBadRequest, OAuthError: "invalid_scope", AADSTS: 70011,
				Description: fmt.Sprintf("The provided value for the input parameter 'scope' is not valid: the scopes name two forms of one resource, %s and %s.", resource, res)}
		}
		resource = res
		if name == ".default" {
			def = true
		} else {
			asked = append(asked, name)
		}
	}
	if def && len(asked) > 0 {
		return "", nil, &TokenError{Status: http.StatusBadRequest, OAuthError: "invalid_scope", AADSTS: 70011,
			Description: "The provided value for the input parameter 'scope' is not valid: .default cannot be combined with other scopes of the resource."}
	}
	consentMissing := func() *TokenError {
		e := invalidGrant(65001, "The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource. (entratest: add the scopes to App.Scopes of the middle tier; consented: %q.)", app.ClientID, app.ClientID, app.Scopes)
		e.Suberror = "consent_required"
		return e
	}
	if def {
		if len(app.Scopes) == 0 {
			return "", nil, consentMissing()
		}
		return resource, slices.Clone(app.Scopes), nil
	}
	var granted []string
	for _, a := range asked {
		i := slices.IndexFunc(app.Scopes, func(c string) bool { return strings.EqualFold(c, a) })
		if i < 0 {
			return "", nil, consentMissing()
		}
		if !slices.Contains(granted, app.Scopes[i]) {
			granted = append(granted, app.Scopes[i])
		}
	}
	return resource, granted, nil
}
