package entratest

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	entra "github.com/entraguard/entraguard/core"
)

// Token describes a token for [Server.Mint]. Its zero value is a v2.0
// delegated access token of the server's user, for the API under test,
// with no scope and no role; every zero field gets a realistic default.
//
// The claims follow Entra ID's access tokens:
//
//   - v2.0 delegated: aud, iss, iat, nbf, exp, aio, azp, azpacr, name, oid,
//     preferred_username, rh, scp, sub, tid, uti, ver;
//   - v2.0 app-only: aud, iss, iat, nbf, exp, aio, azp, azpacr, idtyp, oid,
//     rh, roles, sub, tid, uti, ver;
//   - v1.0 delegated: aud, iss, iat, nbf, exp, acr, aio, amr, appid,
//     appidacr, ipaddr, name, oid, rh, scp, sub, tid, unique_name, upn, uti,
//     ver;
//   - v1.0 app-only: aud, iss, iat, nbf, exp, aio, appid, appidacr, idp,
//     idtyp, oid, rh, roles, sub, tid, uti, ver;
//
// plus groups when Groups is set, scp only when Scopes is set, roles
// only when Roles is set, acrs when AuthContexts is set and xms_cc when
// ClientCapabilities is set. aio, rh and uti are random opaque values, so a
// minted token is about as long as a real one (1.1 to 1.5 KB).
type Token struct {
	// Version is the token version, "2.0" or "1.0". v2.0 tokens are issued
	// by URL + "/{tid}/v2.0"; v1.0 tokens by "https://sts.windows.net/{tid}/",
	// as Entra ID's. Default: "2.0". Mint panics on another value; set
	// Claims["ver"] to mint an unknown version.
	Version string

	// App makes an app-only token (client credentials flow): idtyp "app",
	// sub and oid are the calling app's service principal
	// ([Server.CallerObjectID]), and there is no user.
	App bool

	// TenantID is the tenant that issues the token: the tid and the tenant
	// of the issuer. Use any GUID to test a multi-tenant API.
	// Default: [Server.TenantID].
	TenantID string

	// Audience is aud. Default: [Server.ClientID] for v2.0 tokens and
	// "api://" + ClientID for v1.0 tokens, as Entra ID issues them.
	Audience string

	// ClientID is the calling application: azp (v2.0) or appid (v1.0).
	// Default: [Server.CallerID].
	ClientID string

	// Subject is sub. Default: for a user, a pairwise identifier derived
	// from the user's oid and the audience; for an app, its oid.
	Subject string

	// ObjectID is oid. Default: [Server.UserObjectID] for delegated tokens,
	// [Server.CallerObjectID] for app-only tokens.
	ObjectID string

	// Name is the user's display name, name. Default: [Server.UserName] for
	// delegated tokens; app-only tokens carry a name only if it is set.
	Name string

	// PreferredUsername is the user's sign-in name: preferred_username
	// (v2.0), or upn and unique_name (v1.0). Default:
	// [Server.UserPrincipalName] for delegated tokens; app-only tokens carry
	// one only if it is set.
	PreferredUsername string

	// Scopes are the delegated permissions, scp (space-separated). Entra ID
	// never puts scp in app-only tokens; set it there only to test that.
	Scopes []string

	// Roles are the app roles, roles.
	Roles []string

	// Groups are group object IDs, groups.
	Groups []string

	// IssuedAt is iat. Default: five minutes before now (the server's clock,
	// [WithClock]), as Entra ID backdates iat and nbf for clock skew.
	IssuedAt time.Time

	// NotBefore is nbf. Default: IssuedAt.
	NotBefore time.Time

	// ExpiresAt is exp. Default: IssuedAt plus 65 minutes (an hour from now
	// when IssuedAt is defaulted).
	ExpiresAt time.Time

	// Claims are added to the payload last, over the claims above: use them
	// for other claims (xms_cc, wids, acct, idp, hasgroups...) and to
	// override any claim, with any JSON value (a json.RawMessage is written
	// as is). A nil value deletes the claim.
	Claims map[string]any

	// Header fields are added to the JOSE header last, over typ, alg, kid
	// (and x5t for v1.0): use them for attack tests ("alg": "none", a "jku",
	// a Graph "nonce", a "kid" the server does not know...). The signature is
	// RS256 with the signing key whatever the header says. A nil value
	// deletes the field.
	Header map[string]any

	// Agent makes a Microsoft Entra Agent ID token of this kind (see
	// agent.go's list of claims): the caller is the agent identity
	// ([Server.AgentID]) of the blueprint [Server.AgentBlueprintID], and
	// the token carries the facet claims of Microsoft's samples.
	// [entra.AgentAutonomous] is app-only (App is implied). Default:
	// entra.AgentNone, no agent. Mint panics on an unknown kind.
	Agent entra.AgentKind

	// AuthContexts are the Conditional Access authentication contexts the
	// sign-in satisfied, acrs (e.g. "c1"), as Entra issues them after a
	// step-up: test [entra.RequireAuthContext] with and without them.
	AuthContexts []string

	// ClientCapabilities are the capabilities the client declared, xms_cc
	// (e.g. "cp1": it handles claims challenges), as Entra issues them
	// when the API requests the optional claim xms_cc.
	ClientCapabilities []string

	// KeyID selects the key that signs the token: any key the server holds,
	// published or not ([Server.AddKey], [Server.AddUnpublishedKey],
	// [Server.AddAppKey], [Server.RemoveKey]). Default: the current key,
	// [Server.CurrentKeyID]. Mint panics if the server holds no such key.
	KeyID string

	// BoundCertificate binds the token to this client certificate, as
	// Entra's mTLS proof-of-possession tokens (token_type mtls_pop) are:
	// the payload carries cnf {"x5t#S256": entra.CertificateThumbprint(cert)}.
	// Default: nil, an unbound (bearer) token.
	BoundCertificate *x509.Certificate
}

// Token lifetimes of Mint's defaults.
const (
	backdate = 5 * time.Minute
	lifetime = 65 * time.Minute
)

// Mint returns a signed compact JWS (RS256) for t, with the JOSE header
// {"typ":"JWT","alg":"RS256","kid":...} (and "x5t" equal to "kid" for v1.0,
// as Entra ID's). It panics on a Version other than "", "1.0" and "2.0", on
// an unknown KeyID, and on Claims or Header values that cannot be encoded
// as JSON.
func (s *Server) Mint(t Token) string {
	version := t.Version
	switch version {
	case "":
		version = s.resourceVersion(t.Audience)
	case entra.Version1, entra.Version2:
	default:
		panic(fmt.Sprintf("entratest: Token.Version %q: use %q or %q", t.Version, entra.Version2, entra.Version1))
	}
	v1 := version == entra.Version1
	k := s.mustKey("Mint", t.KeyID)
	t = s.agentDefaults(t)

	tid := cmp.Or(t.TenantID, s.TenantID)
	aud := t.Audience
	if aud == "" {
		aud = s.ClientID
		if v1 {
			aud = "api://" + s.ClientID
		}
	}
	iat := t.IssuedAt
	if iat.IsZero() {
		iat = s.opts.now().Add(-backdate)
	}
	nbf := t.NotBefore
	if nbf.IsZero() {
		nbf = iat
	}
	exp := t.ExpiresAt
	if exp.IsZero() {
		exp = iat.Add(lifetime)
	}

	c := map[string]any{
		"aud": aud,
		"iat": iat.Unix(),
		"nbf": nbf.Unix(),
		"exp": exp.Unix(),
		"tid": tid,
		"ver": version,
		"rh":  "0.A" + base64.RawURLEncoding.EncodeToString(randBytes(36)) + ".",
		"uti": base64.RawURLEncoding.EncodeToString(randBytes(16)),
	}
	caller := cmp.Or(t.ClientID, s.CallerID)
	if v1 {
		c["iss"] = issuerV1(tid)
		c["appid"] = caller
	} else {
		c["iss"] = issuerV2(s.URL, tid)
		c["azp"] = caller
	}
	name, username := t.Name, t.PreferredUsername
	if t.App {
		oid := cmp.Or(t.ObjectID, s.CallerObjectID)
		c["oid"] = oid
		c["sub"] = cmp.Or(t.Subject, oid)
		c["idtyp"] = "app"
		c["aio"] = base64.StdEncoding.EncodeToString(randBytes(39))
		if v1 {
			c["appidacr"] = "1"
			c["idp"] = issuerV1(tid)
		} else {
			c["azpacr"] = "1"
		}
	} else {
		oid := cmp.Or(t.ObjectID, s.UserObjectID)
		c["oid"] = oid
		c["sub"] = cmp.Or(t.Subject, pairwiseSubject(oid, aud))
		c["aio"] = base64.StdEncoding.EncodeToString(randBytes(75))
		name = cmp.Or(name, s.UserName)
		username = cmp.Or(username, s.UserPrincipalName)
		if v1 {
			c["acr"] = "1"
			c["amr"] = []string{"pwd"}
			c["appidacr"] = "0"
			c["ipaddr"] = "203.0.113.7"
		} else {
			c["azpacr"] = "0"
		}
	}
	if name != "" {
		c["name"] = name
	}
	if username != "" {
		if v1 {
			c["upn"] = username
			c["unique_name"] = username
		} else {
			c["preferred_username"] = username
		}
	}
	if len(t.Scopes) > 0 {
		c["scp"] = strings.Join(t.Scopes, " ")
	}
	if len(t.Roles) > 0 {
		c["roles"] = slices.Clone(t.Roles)
	}
	if len(t.Groups) > 0 {
		c["groups"] = slices.Clone(t.Groups)
	}
	if len(t.AuthContexts) > 0 {
		c["acrs"] = slices.Clone(t.AuthContexts)
	}
	if len(t.ClientCapabilities) > 0 {
		c["xms_cc"] = slices.Clone(t.ClientCapabilities)
	}
	s.addAgentClaims(t, v1, c)
	if t.BoundCertificate != nil {
		c["cnf"] = map[string]any{"x5t#S256": entra.CertificateThumbprint(t.BoundCertificate)}
	}
	merge(c, t.Claims)

	h := map[string]any{"typ": "JWT", "alg": "RS256", "kid": k.kid}
	if v1 {
		h["x5t"] = k.kid
	}
	merge(h, t.Header)
	return signJWS(k, encodeObject("header", h, headerOrder), encodeObject("claim", c, claimOrder))
}

// UserToken returns a delegated access token (v2.0 unless
// [WithAccessTokenVersion] says otherwise) of the server's user for the API
// under test, with these delegated permissions (scp): Mint of
// Token{Scopes: scopes}. With no scopes the token has no scp.
func (s *Server) UserToken(scopes ...string) string {
	return s.Mint(Token{Scopes: scopes})
}

// AppToken returns an app-only access token (client credentials; v2.0
// unless [WithAccessTokenVersion] says otherwise) of the calling app for the
// API under test, with these app roles (roles):
// Mint of Token{App: true, Roles: roles}. With no roles the token has no
// roles claim.
func (s *Server) AppToken(roles ...string) string {
	return s.Mint(Token{App: true, Roles: roles})
}

// Sign returns a compact JWS of exactly these header and claims, signed
// (RS256) with the current key, for attack tests that [Server.Mint] cannot
// express. Only "alg" ("RS256") and "kid" (the current key's) are added to
// the header, and only if absent; a nil value deletes a field or claim.
// Sign panics on values that cannot be encoded as JSON.
func (s *Server) Sign(header, claims map[string]any) string {
	return s.SignWithKey("", header, claims)
}

// SignWithKey is [Server.Sign] with the key kid, published or not; an empty
// kid is the current key. It panics if the server holds no such key.
func (s *Server) SignWithKey(kid string, header, claims map[string]any) string {
	k := s.mustKey("SignWithKey", kid)
	h := map[string]any{}
	if _, ok := header["alg"]; !ok {
		h["alg"] = "RS256"
	}
	if _, ok := header["kid"]; !ok {
		h["kid"] = k.kid
	}
	merge(h, header)
	c := map[string]any{}
	merge(c, claims)
	return signJWS(k, encodeObject("header", h, headerOrder), encodeObject("claim", c, claimOrder))
}

// SignBytes returns a compact JWS whose header and payload are exactly
// these bytes (base64url-encoded), signed (RS256) with the key kid, or the
// current key if kid is empty: for tests of malformed JSON, duplicate
// fields, or a header without "alg". It panics if the server holds no such
// key.
func (s *Server) SignBytes(kid string, header, payload []byte) string {
	return signJWS(s.mustKey("SignBytes", kid), header, payload)
}

// Issuer returns the issuer (iss) of a token of this version ("2.0" or
// "1.0"; "" is "2.0") from the tenant tid ("" is [Server.TenantID]):
// URL + "/{tid}/v2.0" or "https://sts.windows.net/{tid}/". It panics on
// another version.
func (s *Server) Issuer(version, tid string) string {
	tid = cmp.Or(tid, s.TenantID)
	switch version {
	case "", entra.Version2:
		return issuerV2(s.URL, tid)
	case entra.Version1:
		return issuerV1(tid)
	}
	panic(fmt.Sprintf("entratest: Issuer(%q, ...): use %q or %q", version, entra.Version2, entra.Version1))
}

// pairwiseSubject derives a stable sub from a user and an audience, as
// Entra ID's sub is unique per user and application.
func pairwiseSubject(oid, aud string) string {
	sum := sha256.Sum256([]byte(oid + "\x00" + aud))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// merge sets src's entries in dst; a nil value deletes the entry.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}

// Members written first, in this order, as Entra ID writes them; the
// others follow in alphabetical order.
var (
	headerOrder = []string{"typ", "alg", "x5t", "kid"}
	claimOrder  = []string{"aud", "iss", "iat", "nbf", "exp"}
)

// encodeObject writes m as a JSON object, with first's keys first.
func encodeObject(what string, m map[string]any, first []string) []byte {
	rank := func(k string) int {
		if i := slices.Index(first, k); i >= 0 {
			return i
		}
		return len(first)
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		_ = enc.Encode(k)           // a string always encodes
		buf.Truncate(buf.Len() - 1) // Encode's newline
		buf.WriteByte(':')
		if err := enc.Encode(m[k]); err != nil {
			panic(fmt.Sprintf("entratest: %s %q cannot be encoded as JSON: %v", what, k, err))
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// signJWS signs header and payload with k (RS256) into a compact JWS.
func signJWS(k *signingKey, header, payload []byte) string {
	input := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, k.priv, crypto.SHA256, digest[:])
	if err != nil {
		panic("entratest: signing: " + err.Error())
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
