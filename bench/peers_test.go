package bench

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	jwtmw "github.com/auth0/go-jwt-middleware/v2/jwks"
	jwtmwvalidator "github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// leeway is the clock skew every validator is given: entraguard's default.
const leeway = 5 * time.Minute

// fixture is one fake Entra authority, one token it minted, and what a
// validator needs to know about it, learned from the authority's v2.0
// OpenID metadata as any library would.
type fixture struct {
	srv     *entratest.Server
	cfg     entra.Config
	token   string
	issuer  string // the v2.0 metadata's issuer
	jwksURI string // the v2.0 metadata's jwks_uri
	aud     string // the token's audience: the API's client ID
	sub     string // the token's sub, which every validator must return
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	srv := entratest.NewServer()
	tb.Cleanup(srv.Close)
	f := &fixture{srv: srv, cfg: srv.Config()}
	f.token = srv.UserToken("Orders.Read", "Orders.Write")

	metaURL := strings.TrimRight(f.cfg.AuthorityHost, "/") + "/" + f.cfg.TenantID + "/v2.0/.well-known/openid-configuration"
	resp, err := http.Get(metaURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil || meta.Issuer == "" || meta.JWKSURI == "" {
		tb.Fatalf("metadata at %s: %v (%+v)", metaURL, err, meta)
	}
	f.issuer, f.jwksURI = meta.Issuer, meta.JWKSURI

	var claims struct {
		Aud string `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(f.payload(tb), &claims); err != nil {
		tb.Fatal(err)
	}
	if claims.Iss != f.issuer {
		tb.Fatalf("token iss %q is not the metadata's issuer %q", claims.Iss, f.issuer)
	}
	f.aud, f.sub = claims.Aud, claims.Sub
	if f.aud == "" || f.sub == "" {
		tb.Fatalf("token lacks aud or sub: %+v", claims)
	}
	return f
}

func (f *fixture) payload(tb testing.TB) []byte {
	parts := strings.Split(f.token, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d parts", len(parts))
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// claimNames returns the token's claim names, in the payload's order.
func (f *fixture) claimNames(tb testing.TB) []string {
	dec := json.NewDecoder(strings.NewReader(string(f.payload(tb))))
	var names []string
	if _, err := dec.Token(); err != nil {
		tb.Fatal(err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			tb.Fatal(err)
		}
		names = append(names, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			tb.Fatal(err)
		}
	}
	return names
}

// validateFunc validates the fixture's token and returns its sub claim.
type validateFunc func(ctx context.Context, token string) (string, error)

// peer is one way to validate the token. setup builds it once (fetching
// keys as it would in production); the function it returns is what each
// request pays.
type peer struct {
	name  string
	setup func(tb testing.TB, f *fixture) validateFunc
}

var peers = []peer{
	{"raw-rsa", setupRawRSA},
	{"keyfunc-golang-jwt", setupKeyfunc},
	{"go-oidc", setupGoOIDC},
	{"jwx", setupJWX},
	{"go-jwt-middleware", setupGoJWTMiddleware},
	{"entraguard-nocache", func(tb testing.TB, f *fixture) validateFunc { return setupEntraguard(tb, f, -1) }},
	{"entraguard-cache", func(tb testing.TB, f *fixture) validateFunc { return setupEntraguard(tb, f, 0) }},
}

// setupRawRSA is the floor: SHA-256 and rsa.VerifyPKCS1v15 over the token's
// signing input, with the key looked up and the signature decoded once,
// outside the loop. It checks nothing else and returns the known sub.
func setupRawRSA(tb testing.TB, f *fixture) validateFunc {
	v, err := entra.NewValidator(f.cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer v.Close()
	if err := v.Ready(context.Background()); err != nil {
		tb.Fatal(err)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	h, _ := base64.RawURLEncoding.DecodeString(f.token[:strings.IndexByte(f.token, '.')])
	if err := json.Unmarshal(h, &hdr); err != nil {
		tb.Fatal(err)
	}
	var pub *rsa.PublicKey
	for _, k := range v.Keys() {
		if k.ID == hdr.Kid {
			pub, _ = k.PublicKey.(*rsa.PublicKey)
		}
	}
	if pub == nil {
		tb.Fatalf("no RSA key %q", hdr.Kid)
	}
	i := strings.LastIndexByte(f.token, '.')
	signed := []byte(f.token[:i])
	sig, err := base64.RawURLEncoding.DecodeString(f.token[i+1:])
	if err != nil {
		tb.Fatal(err)
	}
	sub := f.sub
	return func(context.Context, string) (string, error) {
		d := sha256.Sum256(signed)
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
			return "", err
		}
		return sub, nil
	}
}

// setupKeyfunc: MicahParks/keyfunc/v3 (JWKS fetched from the authority and
// refreshed in the background) with golang-jwt/jwt/v5 and its validation
// options, into MapClaims (the usual way).
func setupKeyfunc(tb testing.TB, f *fixture) validateFunc {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	kf, err := keyfunc.NewDefaultCtx(ctx, []string{f.jwksURI})
	if err != nil {
		tb.Fatal(err)
	}
	p := jwt.NewParser(
		jwt.WithIssuer(f.issuer),
		jwt.WithAudience(f.aud),
		jwt.WithLeeway(leeway),
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	return func(_ context.Context, token string) (string, error) {
		var claims jwt.MapClaims
		if _, err := p.ParseWithClaims(token, &claims, kf.Keyfunc); err != nil {
			return "", err
		}
		return claims.GetSubject()
	}
}

// setupGoOIDC: coreos/go-oidc/v3 IDTokenVerifier over a RemoteKeySet
// (keys cached after the first fetch), issuer checked, ClientID = aud.
func setupGoOIDC(tb testing.TB, f *fixture) validateFunc {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	ks := oidc.NewRemoteKeySet(ctx, f.jwksURI)
	ver := oidc.NewVerifier(f.issuer, ks, &oidc.Config{
		ClientID:             f.aud,
		SupportedSigningAlgs: []string{oidc.RS256},
		SkipIssuerCheck:      false,
	})
	return func(ctx context.Context, token string) (string, error) {
		t, err := ver.Verify(ctx, token)
		if err != nil {
			return "", err
		}
		return t.Subject, nil
	}
}

// setupJWX: lestrrat-go/jwx/v3 jwt.Parse against a jwk.Cache'd key set
// (Entra's keys have no alg, so the algorithm is inferred from the key),
// validating exp/nbf/iat, iss and aud.
func setupJWX(tb testing.TB, f *fixture) validateFunc {
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	c, err := jwk.NewCache(ctx, httprc.NewClient())
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Register(ctx, f.jwksURI); err != nil {
		tb.Fatal(err)
	}
	set, err := c.CachedSet(f.jwksURI)
	if err != nil {
		tb.Fatal(err)
	}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)),
		jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(f.issuer),
		jwxjwt.WithAudience(f.aud),
		jwxjwt.WithAcceptableSkew(leeway),
	}
	return func(_ context.Context, token string) (string, error) {
		t, err := jwxjwt.ParseString(token, opts...)
		if err != nil {
			return "", err
		}
		sub, ok := t.Subject()
		if !ok {
			return "", errors.New("jwx: no sub")
		}
		return sub, nil
	}
}

// setupGoJWTMiddleware: auth0/go-jwt-middleware/v2's validator with its
// caching JWKS provider (keys cached for 5 minutes).
func setupGoJWTMiddleware(tb testing.TB, f *fixture) validateFunc {
	iss, err := url.Parse(f.issuer)
	if err != nil {
		tb.Fatal(err)
	}
	jwksURL, err := url.Parse(f.jwksURI)
	if err != nil {
		tb.Fatal(err)
	}
	prov := jwtmw.NewCachingProvider(iss, 5*time.Minute, jwtmw.WithCustomJWKSURI(jwksURL))
	v, err := jwtmwvalidator.New(prov.KeyFunc, jwtmwvalidator.RS256, f.issuer, []string{f.aud},
		jwtmwvalidator.WithAllowedClockSkew(leeway))
	if err != nil {
		tb.Fatal(err)
	}
	return func(ctx context.Context, token string) (string, error) {
		c, err := v.ValidateToken(ctx, token)
		if err != nil {
			return "", err
		}
		vc, ok := c.(*jwtmwvalidator.ValidatedClaims)
		if !ok {
			return "", fmt.Errorf("go-jwt-middleware: unexpected claims %T", c)
		}
		return vc.RegisteredClaims.Subject, nil
	}
}

// setupEntraguard: entra.Validator.Validate with the token cache off
// (cacheSize -1) or on (0: the default size).
func setupEntraguard(tb testing.TB, f *fixture, cacheSize int) validateFunc {
	cfg := f.cfg
	cfg.CacheSize = cacheSize
	v, err := entra.NewValidator(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	if err := v.Ready(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return func(ctx context.Context, token string) (string, error) {
		c, err := v.Validate(ctx, token)
		if err != nil {
			return "", err
		}
		return c.Subject(), nil
	}
}

// ready builds p and validates the fixture's token once, checking the
// result: the key fetch happens here, outside any measurement.
func ready(tb testing.TB, f *fixture, p peer) validateFunc {
	tb.Helper()
	validate := p.setup(tb, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := validate(ctx, f.token)
	if err != nil {
		tb.Fatalf("%s: the token does not validate: %v", p.name, err)
	}
	if sub != f.sub {
		tb.Fatalf("%s: sub = %q, want %q", p.name, sub, f.sub)
	}
	return validate
}

type badToken struct {
	what  string
	token string
}

// badTokens are tokens every validator must refuse.
func badTokens(tb testing.TB, f *fixture) []badToken {
	tb.Helper()
	s := f.srv
	scopes := []string{"Orders.Read"}
	past := time.Now().Add(-3 * time.Hour)
	tampered := f.token[:len(f.token)-6] + "AAAAAA"
	if tampered == f.token {
		tampered = f.token[:len(f.token)-6] + "BBBBBB"
	}
	return []badToken{
		{"a tampered signature", tampered},
		{"a tampered payload", tamperPayload(tb, f.token)},
		{"another audience", s.Mint(entratest.Token{Scopes: scopes, Audience: "api://another-api"})},
		{"another issuer", s.Mint(entratest.Token{Scopes: scopes, Claims: map[string]any{"iss": "https://login.microsoftonline.com/" + s.TenantID + "/v2.0"}})},
		{"an expiry 2 hours ago", s.Mint(entratest.Token{Scopes: scopes, IssuedAt: past, NotBefore: past, ExpiresAt: past.Add(time.Hour)})},
		{"alg none in the header", s.Mint(entratest.Token{Scopes: scopes, Header: map[string]any{"alg": "none"}})},
		{"an unpublished signing key", s.Mint(entratest.Token{Scopes: scopes, KeyID: s.AddUnpublishedKey()})},
	}
}

// tamperPayload changes the token's name claim and keeps the signature.
func tamperPayload(tb testing.TB, token string) string {
	parts := strings.Split(token, ".")
	p, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		tb.Fatal(err)
	}
	m["name"] = "Mallory"
	p, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(p)
	return strings.Join(parts, ".")
}
