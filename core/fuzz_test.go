package entra_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// Fuzz targets. Each keeps its authority and validator for all the inputs
// of a process (set up once per target, closed with f.Cleanup), or, where
// the input is the authority's document, builds a cheap validator per
// input over an in-memory transport (no sockets) and closes it.
//
// Seeds are under testdata/fuzz/<FuzzName>/. Keys are made per process, so
// seeds that must refer to them (a key set that publishes the good key, a
// payload with the right issuer) carry placeholders, replaced on every
// input: the fuzzer mutates around real shapes and still reaches the
// accepting paths. The invariants never depend on the placeholders.
//
//	FuzzValidate, FuzzAuthorizationHeader: $G a genuine token; $H, $L, $S its segments
//	FuzzSignedToken: $I v2.0 issuer, $V v1.0 issuer, $D tenant, $A audience, $K kid, $E exp, $B iat/nbf
//	FuzzJWKS, FuzzMetadata: $N modulus, $C x5c, $T x5t (of the good RSA key), $X $Y (of the good EC key),
//	    $I issuer, $J key set URL, $D tenant

// maxFuzzInput bounds an input: the validator refuses tokens above 16 KiB
// and key sets above 1 MiB at once; longer inputs only slow the fuzzer.
const maxFuzzInput = 64 << 10

// fuzzStatus is every status the middleware may answer.
var fuzzStatus = map[int]bool{200: true, 400: true, 401: true, 403: true, 503: true}

// --- Tokens against an entratest authority -------------------------------

// fuzzEntra is an entratest authority with a ready validator, for the
// targets whose input is a token or a request.
type fuzzEntra struct {
	srv      *entratest.Server
	v        *entra.Validator
	good     string
	segments *strings.Replacer
	claims   *strings.Replacer
	issuers  []string
}

func newFuzzEntra(f *testing.F) *fuzzEntra {
	f.Helper()
	srv := entratest.NewServer()
	f.Cleanup(srv.Close)
	v, err := entra.NewValidator(srv.Config()) // with the token cache: it is on the path too
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(v.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		f.Fatal(err)
	}
	fe := &fuzzEntra{srv: srv, v: v, good: srv.UserToken("Orders.Read")}
	h, l, s := segments(fe.good)
	fe.segments = strings.NewReplacer("$G", fe.good, "$H", h, "$L", l, "$S", s)
	now := time.Now()
	fe.issuers = []string{srv.Issuer(entra.Version2, ""), srv.Issuer(entra.Version1, "")}
	fe.claims = strings.NewReplacer(
		"$I", fe.issuers[0], "$V", fe.issuers[1], "$D", srv.TenantID, "$A", srv.ClientID,
		"$K", srv.CurrentKeyID(), "$E", fmt.Sprint(now.Add(time.Hour).Unix()), "$B", fmt.Sprint(now.Add(-5*time.Minute).Unix()))
	return fe
}

// genuine reports why tok is not a token the authority issued for this
// API and still valid, or nil if it is: checked independently of the
// validator, with encoding/json and crypto/rsa.
func (fe *fuzzEntra) genuine(tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not three segments")
	}
	raw := make([][]byte, 3)
	for i, p := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil || strings.ContainsAny(p, "\r\n") {
			return fmt.Errorf("segment %d is not strict base64url", i)
		}
		raw[i] = b
	}
	var h map[string]any
	if err := json.Unmarshal(raw[0], &h); err != nil {
		return fmt.Errorf("header: %v", err)
	}
	if h["alg"] != "RS256" {
		return fmt.Errorf("alg %v", h["alg"])
	}
	for _, name := range []string{"jku", "jwk", "x5u", "x5c", "crit", "cty", "nonce", "enc", "zip", "epk"} {
		if _, ok := h[name]; ok {
			return fmt.Errorf("header has %s", name)
		}
	}
	if typ, ok := h["typ"]; ok {
		s, _ := typ.(string)
		if !strings.EqualFold(s, "JWT") && !strings.EqualFold(s, "at+jwt") && !strings.EqualFold(s, "application/at+jwt") {
			return fmt.Errorf("typ %v", typ)
		}
	}
	kid, _ := h["kid"].(string)
	if !slices.Contains(fe.srv.KeyIDs(), kid) {
		return fmt.Errorf("kid %q is not published", kid)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(fe.srv.PublicKey(kid), crypto.SHA256, digest[:], raw[2]); err != nil {
		return errors.New("signature does not verify")
	}
	return fe.claimsOK(raw[1], nil)
}

// claimsOK reports why payload is not valid claims for this API, or nil;
// with c, also whether the validator read them as encoding/json does.
func (fe *fuzzEntra) claimsOK(payload []byte, c *entra.Claims) error {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return fmt.Errorf("payload: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("payload has trailing data")
	}
	iss, _ := m["iss"].(string)
	if !slices.Contains(fe.issuers, iss) {
		return fmt.Errorf("iss %q", iss)
	}
	tid, _ := m["tid"].(string)
	if _, ok := m["tid"]; !ok {
		// Without tid, the legacy tenant claim is the tenant, as
		// Microsoft.IdentityModel reads it.
		tid, _ = m["http://schemas.microsoft.com/identity/claims/tenantid"].(string)
	}
	if !strings.EqualFold(tid, fe.srv.TenantID) {
		return fmt.Errorf("tid %q", tid)
	}
	var aud []string
	switch a := m["aud"].(type) {
	case string:
		aud = []string{a}
	case []any:
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return errors.New("aud has a non-string")
			}
			aud = append(aud, s)
		}
	default:
		return fmt.Errorf("aud %T", m["aud"])
	}
	if !slices.Contains(aud, fe.srv.ClientID) && !slices.Contains(aud, "api://"+fe.srv.ClientID) {
		return fmt.Errorf("aud %q", aud)
	}
	now := float64(time.Now().Unix())
	skew := entra.DefaultClockSkew.Seconds()
	exp, err := numberClaim(m, "exp")
	if err != nil || exp == nil || *exp+skew+1 < now {
		return fmt.Errorf("exp %v %v", exp, err)
	}
	for _, name := range []string{"nbf", "iat"} {
		if n, err := numberClaim(m, name); err != nil {
			return err
		} else if name == "nbf" && n != nil && (*n-skew-1 > now || *n > *exp) {
			return fmt.Errorf("nbf %v", *n)
		}
	}
	if c == nil {
		return nil
	}
	// The validator must have read what encoding/json reads.
	if c.Issuer() != iss || !strings.EqualFold(c.TenantID(), tid) || !slices.Equal(c.Audience(), aud) {
		return fmt.Errorf("claims differ from the payload: iss %q tid %q aud %q", c.Issuer(), c.TenantID(), c.Audience())
	}
	if got := float64(c.ExpiresAt().UnixNano()) / 1e9; math.Abs(got-*exp) > 1e-3 {
		return fmt.Errorf("ExpiresAt %v, exp %v", got, *exp)
	}
	if scp, ok := m["scp"].(string); ok {
		var want []string
		for _, s := range strings.Split(scp, " ") {
			if s != "" && s != "/" { // "/": unscoped, as app-only agent tokens say
				want = append(want, s)
			}
		}
		if !slices.Equal(c.Scopes(), want) {
			return fmt.Errorf("Scopes %q, scp %q", c.Scopes(), scp)
		}
	} else if len(c.Scopes()) > 0 {
		return fmt.Errorf("Scopes %q without scp", c.Scopes())
	}
	if roles, ok := m["roles"].([]any); ok {
		if len(c.Roles()) != len(roles) {
			return fmt.Errorf("Roles %q, roles %v", c.Roles(), roles)
		}
		for i, r := range roles {
			if c.Roles()[i] != r {
				return fmt.Errorf("Roles %q, roles %v", c.Roles(), roles)
			}
		}
	} else if len(c.Roles()) > 0 {
		return fmt.Errorf("Roles %q without roles", c.Roles())
	}
	if oid, ok := m["oid"].(string); ok && c.ObjectID() != oid {
		return fmt.Errorf("ObjectID %q, oid %q", c.ObjectID(), oid)
	}
	return nil
}

// numberClaim returns a NumericDate claim, nil if absent, or an error if
// it is not a number within what the validator accepts.
func numberClaim(m map[string]any, name string) (*float64, error) {
	v, ok := m[name]
	if !ok {
		return nil, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%s is %T", name, v)
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f >= 253402300800 {
		return nil, fmt.Errorf("%s %v out of range", name, n)
	}
	return &f, nil
}

// checkRefusal asserts the shape of a refusal: no claims, an *entra.Error
// with a code and a description, answered 401 or (keys) 503.
func checkRefusal(t *testing.T, c *entra.Claims, err error) {
	t.Helper()
	if c != nil {
		t.Fatalf("claims returned with an error: %v", err)
	}
	var e *entra.Error
	if !errors.As(err, &e) || e.Code == "" || e.Description == "" {
		t.Fatalf("error is not a described *entra.Error: %#v", err)
	}
	if r := entra.ResponseFor(context.Background(), err); r.Status != http.StatusUnauthorized && r.Status != http.StatusServiceUnavailable {
		t.Fatalf("refusal %v answered %d", e.Code, r.Status)
	}
}

func fuzzCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// FuzzValidate: random and mutated tokens. Invariant: no panic, and a
// token is accepted only if it verifies with a published key of the
// authority and its claims are valid for this API (checked independently);
// the claims returned are those of the payload.
func FuzzValidate(f *testing.F) {
	fe := newFuzzEntra(f)
	srv := fe.srv
	for _, s := range []string{
		"$G", "$H.$L.$S", "$H.$L.", "$H.$L", "$H..$S", ".$L.$S", "$G.", "$G.$S.$S", "$H.$L.$S$S",
		srv.AppToken("Admin"),
		srv.AgentAppToken("Admin"), srv.AgentUserToken("a"),
		srv.Mint(entratest.Token{Agent: entra.AgentAutonomous, Claims: map[string]any{"scp": "/"}}),
		srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"TID": srv.TenantID}}),
		srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"tid": nil, "http://schemas.microsoft.com/identity/claims/tenantid": srv.TenantID}}),
		srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}}),
		srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"alg": "none"}}),
		srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"nonce": "x"}}),
		srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"exp": json.RawMessage("1e300")}}),
		srv.SignBytes("", []byte(`{"alg":"RS256","alg":"none"}`), []byte(`{}`)),
		b64u([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".a.b.c.d",
		"", ".", "..", "a.b.c", "eyJ.eyJ.", strings.Repeat("A", 17<<10),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > maxFuzzInput {
			return
		}
		tok := fe.segments.Replace(in)
		ctx, cancel := fuzzCtx()
		defer cancel()
		c, err := fe.v.Validate(ctx, tok)
		if err != nil {
			checkRefusal(t, c, err)
			return
		}
		if c == nil {
			t.Fatal("nil claims without an error")
		}
		if why := fe.genuine(tok); why != nil {
			t.Fatalf("accepted a token that is not genuine: %v", why)
		}
		if why := fe.claimsOK(decodeLoose(segmentAt(tok, 1)), c); why != nil {
			t.Fatalf("accepted, but %v", why)
		}
	})
}

func segmentAt(tok string, i int) string {
	p := strings.Split(tok, ".")
	if i < len(p) {
		return p[i]
	}
	return ""
}

func decodeLoose(s string) []byte {
	b, _ := base64.RawURLEncoding.DecodeString(s)
	return b
}

// FuzzSignedToken: header and payload bytes signed with the authority's
// current key, so that every input reaches the claims. Invariant: no
// panic; accepted only if encoding/json reads the header as RS256 under
// the current kid and the payload as valid claims, and the validator's
// claims equal encoding/json's reading (no parser differential).
func FuzzSignedToken(f *testing.F) {
	fe := newFuzzEntra(f)
	srv := fe.srv
	for _, tok := range []string{srv.UserToken("Orders.Read"), srv.AppToken("Admin"), srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}})} {
		h, p, _ := segments(tok)
		f.Add(decodeLoose(h), decodeLoose(p))
	}
	const claims = `"aud":"$A","iss":"$I","iat":$B,"nbf":$B,"exp":$E,"tid":"$D","oid":"00000000-0000-4000-8000-000000000001","scp":"Orders.Read","ver":"2.0"`
	hdr := []byte(`{"typ":"JWT","alg":"RS256","kid":"$K"}`)
	for _, p := range []string{
		`{` + claims + `}`,
		`{` + claims + `,"aud":"api://attacker"}`,
		`{"a\u0075d":"$A","iss":"$I","exp":$E,"tid":"$D"}`,
		`{"aud":["$A","x"],"iss":"$V","exp":$E,"tid":"$D","roles":["Admin"]}`,
		`{"aud":"$A","iss":"$I","exp":$E.5,"tid":"$D","scp":" a  b "}`,
		`{"aud":"$A","iss":"$I","exp":1e300,"tid":"$D"}`,
		`{"aud":"$A","iss":"$I","exp":$E,"tid":"$D","nested":{"aud":"x","aud":"y"}}`,
		` {"aud":"$A","iss":"$I","exp":$E,"tid":"$D"} `,
		"{\"aud\":\"$A\",\"iss\":\"$I\",\"exp\":$E,\"tid\":\"$D\",\"name\":\"\xff\"}",
		`{"aud":"$A","iss":"$I","exp":$E,"tid":"$D","x":"\ud800"}`,
		`{"aud":"$A","iss":"$I","exp":$E,"tid":"$D"}x`,
		`[` + claims + `]`,
	} {
		f.Add(hdr, []byte(p))
	}
	f.Add([]byte(`{"alg":"RS256","kid":"$K","alg":"none"}`), []byte(`{`+claims+`}`))
	f.Add([]byte(`{"alg":"RS256","kid":"$K","typ":"at+jwt","x5t":"$K"}`), []byte(`{`+claims+`}`))
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		if len(header)+len(payload) > maxFuzzInput/2 {
			return
		}
		header = []byte(fe.claims.Replace(string(header)))
		payload = []byte(fe.claims.Replace(string(payload)))
		tok := srv.SignBytes("", header, payload)
		ctx, cancel := fuzzCtx()
		defer cancel()
		c, err := fe.v.Validate(ctx, tok)
		if err != nil {
			checkRefusal(t, c, err)
			return
		}
		if why := fe.genuine(tok); why != nil {
			t.Fatalf("accepted: %v", why)
		}
		if why := fe.claimsOK(payload, c); why != nil {
			t.Fatalf("accepted: %v", why)
		}
	})
}

// fuzzBearer is the credential of an Authorization value, as RFC 6750 and
// the middleware read it, or "".
func fuzzBearer(v string) string {
	v = strings.TrimLeft(v, " \t")
	if len(v) < 7 || !strings.EqualFold(v[:6], "bearer") || (v[6] != ' ' && v[6] != '\t') {
		return ""
	}
	return strings.Trim(v[7:], " \t")
}

// FuzzAuthorizationHeader: requests through entra.Middleware, with zero,
// one or two Authorization headers and a second token header. Invariant:
// no panic; the status is 200, 400, 401, 403 or 503; no header carries a
// control character; a refusal is JSON with a well-formed challenge and
// never echoes a genuine token; a 200 carries exactly one genuine token.
func FuzzAuthorizationHeader(f *testing.F) {
	fe := newFuzzEntra(f)
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, found := entra.ClaimsFromContext(r.Context()); !found {
			t := "no claims in the context of an authenticated request"
			http.Error(w, t, http.StatusTeapot)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.Handle("/", ok)
	mux.Handle("/guarded", entra.RequireScope("Orders.Read").Middleware(ok))
	h := entra.Middleware(fe.v, entra.WithTokenFromHeader("X-Api-Token"))(mux)
	for _, s := range []struct {
		a, b string
		n    uint8
	}{
		{"Bearer $G", "", 2}, {"bearer $G", "", 3}, {"BEARER\t$G  ", "", 2}, {"  Bearer   $G", "", 2},
		{"Bearer $G", "Bearer $G", 4}, {"Bearer $G", "$G", 6}, {"Basic dXNlcjpwYXNz", "$G", 6},
		{"Bearer", "", 2}, {"Bearer ", "", 2}, {"Bearer $H.$L.", "", 2}, {"Bearer $G\r\nX: y", "", 2},
		{"Bearer $G,Bearer $G", "", 2}, {"Bearer\x00$G", "", 2}, {"Bearer $G", "", 0}, {"Beärer $G", "", 2},
		{"Bearer " + fe.srv.AppToken("Orders.Read.All"), "", 3}, {"Bearer " + fe.srv.UserToken(), "", 2},
	} {
		f.Add(s.a, s.b, s.n)
	}
	f.Fuzz(func(t *testing.T, a, b string, n uint8) {
		if len(a)+len(b) > maxFuzzInput {
			return
		}
		a, b = fe.segments.Replace(a), fe.segments.Replace(b)
		path := "/"
		if n&1 == 1 {
			path = "/guarded"
		}
		req := httptest.NewRequest(http.MethodGet, path, nil)
		var candidates []string
		switch (n >> 1) % 4 {
		case 1:
			req.Header["Authorization"] = []string{a}
			candidates = []string{fuzzBearer(a)}
		case 2:
			req.Header["Authorization"] = []string{a, b}
		case 3:
			req.Header["Authorization"] = []string{a}
			req.Header["X-Api-Token"] = []string{b}
			second := strings.TrimSpace(b)
			if t := fuzzBearer(second); t != "" {
				second = t
			}
			candidates = []string{fuzzBearer(a), second}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !fuzzStatus[rec.Code] {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		for name, vals := range rec.Header() {
			for _, v := range vals {
				if strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("header %s carries a control character", name)
				}
			}
		}
		if rec.Code == http.StatusOK {
			if (n>>1)%4 == 2 {
				t.Fatal("two Authorization headers were let through")
			}
			genuine := 0
			for _, c := range candidates {
				if c != "" && fe.genuine(c) == nil {
					genuine++
				}
			}
			if genuine != 1 {
				t.Fatalf("200 for a request with %d genuine tokens", genuine)
			}
			return
		}
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if rec.Header().Get("Content-Type") != "application/json" || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error == "" {
			t.Fatalf("refusal %d is not the JSON body: %q", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusServiceUnavailable && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer realm=") {
			t.Fatalf("refusal %d without a Bearer challenge", rec.Code)
		}
		for _, c := range candidates {
			// A genuine token refused (403, or sent twice) must not be echoed.
			if fe.genuine(c) == nil && (strings.Contains(rec.Body.String(), c[len(c)-32:]) || strings.Contains(rec.Header().Get("WWW-Authenticate"), c[len(c)-32:])) {
				t.Fatal("the refusal echoes the token")
			}
		}
	})
}

// --- Documents of the authority over an in-memory transport --------------

const (
	fuzzHost   = "login.fuzz.test"
	fuzzBase   = "https://" + fuzzHost
	fuzzTenant = "0d5b1e3c-7a2f-4c8d-9e6b-1f3a5c7e9b2d"
	fuzzOther  = "9c1e7a3b-5d2f-4b8e-a6c4-2e8f0a1c3d5b"
	fuzzClient = "5c7e9b2d-1f3a-4e6b-8d9c-0d5b1e3c7a2f"
	fuzzKeys   = "/" + fuzzTenant + "/discovery/v2.0/keys"
	fuzzMetaV2 = "/" + fuzzTenant + "/v2.0/.well-known/openid-configuration"
	fuzzMetaV1 = "/" + fuzzTenant + "/.well-known/openid-configuration"
)

var fuzzIssuer = fuzzBase + "/" + fuzzTenant + "/v2.0"

// memAuthority serves documents from memory through an http.RoundTripper:
// no sockets, no goroutines, so a validator per input is cheap.
type memAuthority struct {
	mu       sync.Mutex
	docs     map[string][]byte // host+path → body; others 404
	keysHits atomic.Int64
}

func (m *memAuthority) set(path string, body []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	m.docs[fuzzHost+path] = body
}

func (m *memAuthority) RoundTrip(r *http.Request) (*http.Response, error) {
	m.mu.Lock()
	body, ok := m.docs[r.URL.Host+r.URL.Path]
	m.mu.Unlock()
	status := http.StatusOK
	if !ok {
		status = http.StatusNotFound
	} else if r.URL.Path == fuzzKeys {
		m.keysHits.Add(1)
	}
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: r,
	}, nil
}

// validator returns a validator of the in-memory authority (all
// algorithms allowed, no cache) that discovers v2.0 and v1.0 metadata, or
// reads only metadataURL if set.
func (m *memAuthority) validator(t *testing.T, metadataURL string) *entra.Validator {
	t.Helper()
	v, err := entra.NewValidator(entra.Config{
		TenantID: fuzzTenant, ClientID: fuzzClient, AuthorityHost: fuzzBase + "/", MetadataURL: metadataURL,
		HTTPClient: &http.Client{Transport: m}, Algorithms: allAlgorithms, CacheSize: -1, FetchTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newMemValidator returns a validator of an in-memory authority with the
// genuine v2.0 metadata (alone, the cheapest) and the key set doc.
func newMemValidator(t *testing.T, w *fuzzWorld, doc []byte) *entra.Validator {
	t.Helper()
	m := &memAuthority{}
	m.set(fuzzMetaV2, w.metaV2)
	m.set(fuzzKeys, doc)
	return m.validator(t, fuzzBase+fuzzMetaV2)
}

// fuzzWorld holds the keys and tokens of the document targets, made once
// per process.
type fuzzWorld struct {
	good, other     *rsa.PrivateKey
	goodEC, otherEC *ecdsa.PrivateKey
	goodCert        []byte
	otherCert       []byte
	goodECCert      []byte
	subst           *strings.Replacer
	// tokens: RS256 and PS256 under kid k1, ES256 under kid k2, by the good
	// or the other key; foreign is the good key's token of another tenant,
	// v1 its v1.0 token.
	goodRS, goodPS, goodES, otherRS, otherES, foreign, v1 string
	goodJWKS, metaV2, metaV1                              []byte
}

var fuzzWorldOnce = sync.OnceValues(func() (*fuzzWorld, error) {
	w := &fuzzWorld{}
	var err error
	if w.good, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if w.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if w.goodEC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if w.otherEC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if w.goodCert, err = certDER(w.good); err != nil {
		return nil, err
	}
	if w.otherCert, err = certDER(w.other); err != nil {
		return nil, err
	}
	if w.goodECCert, err = certDER(w.goodEC); err != nil {
		return nil, err
	}
	ec := ecJWK("k2", &w.goodEC.PublicKey)
	x5t := sha1.Sum(w.goodCert)
	w.subst = strings.NewReplacer(
		"$N", b64u(w.good.N.Bytes()), "$C", base64.StdEncoding.EncodeToString(w.goodCert), "$T", b64u(x5t[:]),
		"$X", ec["x"].(string), "$Y", ec["y"].(string),
		"$I", fuzzIssuer, "$J", fuzzBase+fuzzKeys, "$D", fuzzTenant)

	now := time.Now()
	claims := func(tenant, iss string) []byte {
		b, _ := json.Marshal(map[string]any{
			"aud": fuzzClient, "iss": iss, "tid": tenant, "ver": "2.0", "scp": "Orders.Read",
			"oid": "00000000-0000-4000-8000-000000000002", "sub": "fuzz",
			"iat": now.Add(-5 * time.Minute).Unix(), "nbf": now.Add(-5 * time.Minute).Unix(), "exp": now.Add(24 * time.Hour).Unix(),
		})
		return b
	}
	home := claims(fuzzTenant, fuzzIssuer)
	hdr := func(alg, kid string) []byte { return []byte(`{"typ":"JWT","alg":"` + alg + `","kid":"` + kid + `"}`) }
	for _, s := range []struct {
		dst     *string
		alg     string
		key     crypto.Signer
		kid     string
		payload []byte
	}{
		{&w.goodRS, "RS256", w.good, "k1", home},
		{&w.goodPS, "PS256", w.good, "k1", home},
		{&w.goodES, "ES256", w.goodEC, "k2", home},
		{&w.otherRS, "RS256", w.other, "k1", home},
		{&w.otherES, "ES256", w.otherEC, "k2", home},
		{&w.foreign, "RS256", w.good, "k1", claims(fuzzOther, fuzzBase+"/"+fuzzOther+"/v2.0")},
		{&w.v1, "RS256", w.good, "k1", claims(fuzzTenant, "https://sts.windows.net/"+fuzzTenant+"/")},
	} {
		if *s.dst, err = signJWS(s.alg, s.key, hdr(s.alg, s.kid), s.payload); err != nil {
			return nil, err
		}
	}
	w.goodJWKS = []byte(w.subst.Replace(`{"keys":[{"kty":"RSA","use":"sig","kid":"k1","x5t":"$T","n":"$N","e":"AQAB","x5c":["$C"]},{"kty":"EC","use":"sig","kid":"k2","crv":"P-256","x":"$X","y":"$Y"}]}`))
	meta := func(iss string) []byte {
		b, _ := json.Marshal(map[string]string{"issuer": iss, "jwks_uri": fuzzBase + fuzzKeys, "authorization_endpoint": fuzzBase + "/" + fuzzTenant + "/oauth2/v2.0/authorize"})
		return b
	}
	w.metaV2, w.metaV1 = meta(fuzzIssuer), meta("https://sts.windows.net/"+fuzzTenant+"/")
	return w, nil
})

func fuzzWorldFor(f *testing.F) *fuzzWorld {
	f.Helper()
	w, err := fuzzWorldOnce()
	if err != nil {
		f.Fatal(err)
	}
	return w
}

// jwksKey is a key of a key set as the validator decodes it.
type jwksKey struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	X5c    []string `json:"x5c"`
	Issuer string   `json:"issuer"`
}

// publishes reports whether the key set doc publishes pub under kid, for
// issuer iss: an entry of that kid whose n (or x/y), or failing those whose
// x5c certificate, is pub, and whose issuer property, if any, admits iss.
func publishes(doc []byte, kid string, pub crypto.PublicKey, iss string) bool {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if json.Unmarshal(doc, &set) != nil {
		return false
	}
	for _, raw := range set.Keys {
		var k jwksKey
		if json.Unmarshal(raw, &k) != nil || k.Kid != kid {
			continue
		}
		if k.Issuer != "" && k.Issuer != iss && !templateMatches(k.Issuer, iss, fuzzTenant) {
			continue
		}
		switch p := pub.(type) {
		case *rsa.PublicKey:
			if n, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.N, "=")); err == nil && new(big.Int).SetBytes(n).Cmp(p.N) == 0 {
				return true
			}
		case *ecdsa.PublicKey:
			want := ecJWK(kid, p)
			if k.X == want["x"] && k.Y == want["y"] {
				return true
			}
		}
		if certHolds(k.X5c, pub) {
			return true
		}
	}
	return false
}

func certHolds(x5c []string, pub crypto.PublicKey) bool {
	if len(x5c) == 0 {
		return false
	}
	der, err := base64.StdEncoding.DecodeString(x5c[0])
	if err != nil {
		return false
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return false
	}
	eq, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(pub)
}

// templateMatches reports whether iss is the issuer template tmpl (with
// "{tenantid}") for tenant.
func templateMatches(tmpl, iss, tenant string) bool {
	return strings.Contains(tmpl, "{tenantid}") && strings.Replace(tmpl, "{tenantid}", tenant, 1) == iss
}

// checkKeys asserts what the validator's key set may hold, whatever the
// document said: usable public keys, no duplicate kid, certificates that
// hold the key they are published with.
func checkKeys(t *testing.T, keys []entra.Key) {
	t.Helper()
	seen := map[string]bool{}
	for _, k := range keys {
		if k.ID == "" || seen[k.ID] {
			t.Fatalf("key set has an empty or duplicate kid %q", k.ID)
		}
		seen[k.ID] = true
		switch p := k.PublicKey.(type) {
		case *rsa.PublicKey:
			if p.N.BitLen() < 2048 || p.E < 3 || p.E%2 == 0 {
				t.Fatalf("key %q: RSA key of %d bits, e %d", k.ID, p.N.BitLen(), p.E)
			}
		case *ecdsa.PublicKey:
			if c := p.Curve; c != elliptic.P256() && c != elliptic.P384() && c != elliptic.P521() {
				t.Fatalf("key %q: curve %v", k.ID, c.Params().Name)
			}
		default:
			t.Fatalf("key %q: %T", k.ID, k.PublicKey)
		}
		if k.Certificate != nil {
			if eq, ok := k.Certificate.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(k.PublicKey) {
				t.Fatalf("key %q: its certificate holds another key", k.ID)
			}
		}
	}
}

// validateAll validates tokens with v and returns which were accepted.
func validateAll(t *testing.T, v *entra.Validator, toks ...string) []bool {
	t.Helper()
	ctx, cancel := fuzzCtx()
	defer cancel()
	out := make([]bool, len(toks))
	for i, tok := range toks {
		c, err := v.Validate(ctx, tok)
		if err != nil {
			checkRefusal(t, c, err)
			continue
		}
		out[i] = true
	}
	return out
}

// FuzzJWKS: fuzzed key set documents. Invariant: no panic; the loaded keys
// are usable and consistent; a token signed by a key the document does not
// publish (the other keys, never in any document) is never accepted; a
// token of the good key is accepted only if the document publishes that key
// under the token's kid.
func FuzzJWKS(f *testing.F) {
	w := fuzzWorldFor(f)
	for _, s := range []string{
		string(w.goodJWKS),
		`{"keys":[{"kty":"RSA","use":"sig","kid":"k1","x5t":"$T","n":"$N","e":"AQAB","x5c":["$C"],"issuer":"$I"}]}`,
		`{"keys":[{"kty":"RSA","use":"sig","kid":"k1","n":"$N","e":"AQAB","issuer":"https://login.fuzz.test/{tenantid}/v2.0"}]}`,
		`{"keys":[{"kty":"RSA","kid":"k1","x5c":["$C"]}]}`,
		`{"keys":[{"kty":"RSA","kid":"k1","n":"$N","e":"AQAB","alg":"PS256"}]}`,
		`{"keys":[{"kty":"EC","kid":"k2","crv":"P-256","x":"$X","y":"$Y","alg":"ES256","use":"sig","key_ops":["verify"]}]}`,
		`{"keys":[{"kty":"RSA","kid":"k1","n":"$N","e":"AQAB"},{"kty":"RSA","kid":"k1","n":"$N","e":"AQAB"}]}`,
		`{"keys":[{"kty":"RSA","kid":"k1","n":"$N","e":"AQAB"},{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"}]}`,
		`{"keys":[{"kty":"RSA","kid":"k1","n":"$N","e":"AQAB","x5c":["MIIB"]}]}`,
		`{"keys":[{"kty":"RSA","kid":"k1","n":"$N","e":"AQ"},{"kty":"RSA","kid":"k3","n":"$N","e":"AAEAAQ"}]}`,
		`{"keys":[{"kty":"RSA","kid":"k1","n":"$N==","e":"AQAB","use":"enc"},{"kty":"oct","kid":"k1","k":"c2VjcmV0"}]}`,
		`{"keys":[{"kty":"EC","kid":"k2","crv":"P-384","x":"$X","y":"$Y"},{"kty":"EC","kid":"k2","crv":"P-256","x":"$Y","y":"$X"}]}`,
		`{"keys":null}`, `{"keys":[]}`, `{"keys":[null,1,"a",[]]}`, `{"keys":{"kty":"RSA"}}`, `[]`, `{}`, ``,
		`{"KEYS":[{"KTY":"RSA","KID":"k1","N":"$N","E":"AQAB"}]}`,
		`{"keys":[{"kty":"RSA","kid":"k1","n":"$N","e":"AQAB","kid":"k9"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > maxFuzzInput {
			return
		}
		doc = []byte(w.subst.Replace(string(doc)))
		v := newMemValidator(t, w, doc)
		defer v.Close()
		got := validateAll(t, v, w.goodRS, w.goodPS, w.goodES, w.otherRS, w.otherES)
		if got[3] || got[4] {
			t.Fatal("accepted a token signed by a key that no document publishes")
		}
		if (got[0] || got[1]) && !publishes(doc, "k1", &w.good.PublicKey, fuzzIssuer) {
			t.Fatal("accepted a token of a key the document does not publish under its kid")
		}
		if got[2] && !publishes(doc, "k2", &w.goodEC.PublicKey, fuzzIssuer) {
			t.Fatal("accepted an ES256 token of a key the document does not publish under its kid")
		}
		checkKeys(t, v.Keys())
		if bytes.Equal(doc, w.goodJWKS) && !(got[0] && got[1] && got[2]) {
			t.Fatalf("the genuine key set did not validate genuine tokens: %v", got)
		}
	})
}

// FuzzMetadata: fuzzed v2.0 OpenID metadata, with genuine v1.0 metadata
// and keys. Invariant: no panic; the other key's token is never accepted;
// a token is accepted only if the keys were fetched where the document
// said, and (for v2.0 tokens) its issuer is the document's issuer, or the
// document's {tenantid} template for the token's tid.
func FuzzMetadata(f *testing.F) {
	w := fuzzWorldFor(f)
	for _, s := range []string{
		`{"issuer":"$I","jwks_uri":"$J","authorization_endpoint":"https://login.fuzz.test/$D/oauth2/v2.0/authorize"}`,
		`{"issuer":"https://login.fuzz.test/{tenantid}/v2.0","jwks_uri":"$J"}`,
		`{"issuer":"https://login.fuzz.test/$D/v2.0","jwks_uri":"https://login.fuzz.test/$D/discovery/v2.0/keys?appid=x"}`,
		`{"issuer":"$I","jwks_uri":"http://login.fuzz.test/$D/discovery/v2.0/keys"}`,
		`{"issuer":"$I","jwks_uri":"https://user@login.fuzz.test/$D/discovery/v2.0/keys"}`,
		`{"issuer":"$I","jwks_uri":"https://login.fuzz.test/$D/discovery/v2.0/%6Beys"}`,
		`{"issuer":"","jwks_uri":"$J"}`, `{"issuer":"$I"}`, `{"jwks_uri":"$J"}`,
		`{"issuer":"$I","jwks_uri":"$J","issuer":"https://evil.example/{tenantid}/v2.0"}`,
		`{"Issuer":"$I","JWKS_URI":"$J"}`, `{"issuer":1,"jwks_uri":"$J"}`,
		`{"issuer":"{tenantid}","jwks_uri":"$J"}`, `{"issuer":"https://login.fuzz.test/{tenantid}{tenantid}/v2.0","jwks_uri":"$J"}`,
		`null`, `[]`, `"x"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if len(doc) > maxFuzzInput {
			return
		}
		doc = []byte(w.subst.Replace(string(doc)))
		m := &memAuthority{}
		m.set(fuzzMetaV2, doc)
		m.set(fuzzMetaV1, w.metaV1)
		m.set(fuzzKeys, w.goodJWKS)
		v := m.validator(t, "")
		defer v.Close()
		got := validateAll(t, v, w.goodRS, w.foreign, w.v1, w.otherRS)
		if got[3] {
			t.Fatal("accepted a token signed by a key that no document publishes")
		}
		if !(got[0] || got[1] || got[2]) {
			return
		}
		if m.keysHits.Load() == 0 {
			t.Fatal("accepted a token without fetching the key set")
		}
		var meta struct {
			Issuer string `json:"issuer"`
		}
		_ = json.Unmarshal(doc, &meta)
		if got[0] && meta.Issuer != fuzzIssuer && !templateMatches(meta.Issuer, fuzzIssuer, fuzzTenant) {
			t.Fatalf("accepted a token of issuer %q with metadata issuer %q", fuzzIssuer, meta.Issuer)
		}
		foreignIss := fuzzBase + "/" + fuzzOther + "/v2.0"
		if got[1] && meta.Issuer != foreignIss && !templateMatches(meta.Issuer, foreignIss, fuzzOther) {
			t.Fatalf("accepted a token of issuer %q with metadata issuer %q", foreignIss, meta.Issuer)
		}
	})
}

// FuzzX5C: fuzzed certificate bytes in the x5c of a key set: alone, next
// to the good key's n/e, next to its x5t, or next to the good EC key's x/y.
// Invariant: no panic; a token is accepted only if the certificate parses
// and holds its key, and, where the key set also gives n/e or x/y, they
// are that key too (they must agree).
func FuzzX5C(f *testing.F) {
	w := fuzzWorldFor(f)
	for mode := range uint8(4) {
		for _, der := range [][]byte{w.goodCert, w.otherCert, w.goodECCert, w.goodCert[:len(w.goodCert)/2], {}, {0x30, 0x82, 0xff, 0xff}} {
			f.Add(der, mode)
		}
	}
	f.Fuzz(func(t *testing.T, der []byte, mode uint8) {
		if len(der) > maxFuzzInput {
			return
		}
		x5c := base64.StdEncoding.EncodeToString(der)
		var key map[string]any
		switch mode % 4 {
		case 0:
			key = map[string]any{"kty": "RSA", "use": "sig", "kid": "k1", "x5c": []string{x5c}}
		case 1:
			key = rsaJWK("k1", &w.good.PublicKey)
			key["x5c"] = []string{x5c}
		case 2:
			sum := sha1.Sum(der)
			key = map[string]any{"kty": "RSA", "kid": "k1", "x5c": []string{x5c}, "x5t": b64u(sum[:])}
		case 3:
			key = ecJWK("k2", &w.goodEC.PublicKey)
			key["x5c"] = []string{x5c}
		}
		doc, err := json.Marshal(map[string]any{"keys": []any{key}})
		if err != nil {
			t.Fatal(err)
		}
		v := newMemValidator(t, w, doc)
		defer v.Close()
		if mode%4 == 3 {
			got := validateAll(t, v, w.goodES, w.otherES)
			if got[1] {
				t.Fatal("accepted a token signed by a key that no document publishes")
			}
			if got[0] && !certHolds([]string{x5c}, &w.goodEC.PublicKey) {
				t.Fatal("accepted an ES256 token of a key whose x5c does not hold it")
			}
		} else {
			got := validateAll(t, v, w.goodRS, w.otherRS)
			if got[0] && !certHolds([]string{x5c}, &w.good.PublicKey) {
				t.Fatal("accepted a token of a key whose x5c does not hold it")
			}
			if got[1] && (mode%4 == 1 || !certHolds([]string{x5c}, &w.other.PublicKey)) {
				t.Fatal("accepted a token of a key that the x5c does not hold, or that n/e contradict")
			}
			if bytes.Equal(der, w.goodCert) && !got[0] {
				t.Fatal("the genuine certificate did not validate a genuine token")
			}
		}
		checkKeys(t, v.Keys())
	})
}
