package entra_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/golang-jwt/jwt/v5"
)

// golang-jwt/jwt/v5 is a test-only oracle (see docs/design.md): nothing
// outside _test.go files imports it. FuzzGolangJWTOracle signs fuzzed
// headers and payloads with the authority's current key and checks that
// every token entraguard accepts golang-jwt's parser accepts too, under the
// same rules (the published key of the token's kid, RS256 only, exp
// required, the same leeway, audiences, issuers and clock), and reads with
// the same claim values. entraguard may refuse more (duplicate names,
// invalid UTF-8, trailing data, typ, tid...), never accept more.
//
// Placeholders in the seeds (testdata/fuzz/FuzzGolangJWTOracle), replaced
// on every input: $I v2.0 issuer, $V v1.0 issuer, $D tenant, $A audience,
// $K current kid, $E an hour after the clock, $B five minutes before it,
// $X the last instant exp is valid (clock - leeway), $N the last instant
// nbf is valid (clock + leeway), $T the clock.

// golang-jwt keeps NumericDates to the second by default; entraguard reads
// them as golang-jwt does with nanosecond precision (math.Modf, then the
// fraction in nanoseconds), so both compare the same instants.
func init() { jwt.TimePrecision = time.Nanosecond }

// oracle is an authority, a validator with a fixed clock, and golang-jwt
// parsers configured alike.
type oracle struct {
	srv     *entratest.Server
	v       *entra.Validator
	now     time.Time
	subst   *strings.Replacer
	parsers []*jwt.Parser // one per issuer the validator accepts
	auds    []string
}

func newOracle(f testing.TB) *oracle {
	f.Helper()
	srv := entratest.NewServer()
	f.Cleanup(srv.Close)
	// One fixed instant for both, on a whole second so that the seeds'
	// $X and $N are the exact edges of exp and nbf.
	now := time.Unix(time.Now().Unix(), 0)
	cfg := srv.Config()
	cfg.Now = func() time.Time { return now }
	cfg.CacheSize = -1 // every input takes the full path
	v, err := entra.NewValidator(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(v.Close)
	ctx, cancel := fuzzCtx()
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		f.Fatal(err)
	}
	skew := entra.DefaultClockSkew
	o := &oracle{srv: srv, v: v, now: now, auds: []string{srv.ClientID, "api://" + srv.ClientID}}
	unix := func(t time.Time) string { return fmt.Sprint(t.Unix()) }
	issuers := []string{srv.Issuer(entra.Version2, ""), srv.Issuer(entra.Version1, "")}
	o.subst = strings.NewReplacer(
		"$I", issuers[0], "$V", issuers[1], "$D", srv.TenantID, "$A", srv.ClientID, "$K", srv.CurrentKeyID(),
		"$E", unix(now.Add(time.Hour)), "$B", unix(now.Add(-5*time.Minute)),
		"$X", unix(now.Add(-skew)), "$N", unix(now.Add(skew)), "$T", unix(now))
	for _, iss := range issuers {
		o.parsers = append(o.parsers, jwt.NewParser(
			jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(skew),
			jwt.WithAudience(o.auds...),
			jwt.WithIssuer(iss),
			jwt.WithTimeFunc(func() time.Time { return now }),
			jwt.WithJSONNumber(),
		))
	}
	return o
}

// keyfunc is the validator's key lookup: the published key of the kid.
func (o *oracle) keyfunc(t *jwt.Token) (any, error) {
	kid, ok := t.Header["kid"].(string)
	if !ok || !slices.Contains(o.srv.KeyIDs(), kid) {
		return nil, errors.New("kid is not published")
	}
	return o.srv.PublicKey(kid), nil
}

// golangJWT parses tok with golang-jwt: its claims if one of the parsers
// (one per accepted issuer) accepts it, else every parser's error.
func (o *oracle) golangJWT(tok string) (jwt.MapClaims, error) {
	var errs []error
	for _, p := range o.parsers {
		mc := jwt.MapClaims{}
		if _, err := p.ParseWithClaims(tok, mc, o.keyfunc); err != nil {
			errs = append(errs, err)
			continue
		}
		return mc, nil
	}
	return nil, errors.Join(errs...)
}

// sameClaims reports how c differs from golang-jwt's reading mc, or nil.
func sameClaims(c *entra.Claims, mc jwt.MapClaims) error {
	if iss, err := mc.GetIssuer(); err != nil || iss != c.Issuer() {
		return fmt.Errorf("iss %q (%v), entraguard %q", iss, err, c.Issuer())
	}
	if sub, err := mc.GetSubject(); err != nil || sub != c.Subject() {
		return fmt.Errorf("sub %q (%v), entraguard %q", sub, err, c.Subject())
	}
	if aud, err := mc.GetAudience(); err != nil || !slices.Equal([]string(aud), c.Audience()) {
		return fmt.Errorf("aud %q (%v), entraguard %q", aud, err, c.Audience())
	}
	for _, d := range []struct {
		name string
		get  func() (*jwt.NumericDate, error)
		ours time.Time
	}{
		{"exp", mc.GetExpirationTime, c.ExpiresAt()},
		{"nbf", mc.GetNotBefore, c.NotBefore()},
		{"iat", mc.GetIssuedAt, c.IssuedAt()},
	} {
		nd, err := d.get()
		switch {
		case err != nil:
			return fmt.Errorf("%s: golang-jwt cannot read it (%v), entraguard accepted it", d.name, err)
		case nd == nil && !d.ours.IsZero():
			return fmt.Errorf("%s absent for golang-jwt, entraguard %v", d.name, d.ours)
		case nd != nil && !nd.Equal(d.ours):
			return fmt.Errorf("%s %v, entraguard %v", d.name, nd.Time, d.ours)
		}
	}
	for name, ours := range map[string]string{"oid": c.ObjectID(), "tid": c.TenantID()} {
		if s, _ := mc[name].(string); !strings.EqualFold(s, ours) {
			return fmt.Errorf("%s %q, entraguard %q", name, s, ours)
		}
	}
	var scopes []string
	if scp, ok := mc["scp"].(string); ok {
		// Space-separated (RFC 6749 §3.3), as the validator reads it.
		for _, sc := range strings.Split(scp, " ") {
			if sc != "" {
				scopes = append(scopes, sc)
			}
		}
	}
	if !slices.Equal(scopes, c.Scopes()) && (len(scopes) > 0 || len(c.Scopes()) > 0) {
		return fmt.Errorf("scp %q, entraguard %q", mc["scp"], c.Scopes())
	}
	var roles []string
	if rs, ok := mc["roles"].([]any); ok {
		for _, r := range rs {
			s, ok := r.(string)
			if !ok {
				return fmt.Errorf("roles %v hold a non-string, entraguard %q", rs, c.Roles())
			}
			roles = append(roles, s)
		}
	}
	if !slices.Equal(roles, c.Roles()) && (len(roles) > 0 || len(c.Roles()) > 0) {
		return fmt.Errorf("roles %v, entraguard %q", mc["roles"], c.Roles())
	}
	return nil
}

func FuzzGolangJWTOracle(f *testing.F) {
	o := newOracle(f)
	srv := o.srv
	for _, tok := range []string{
		srv.UserToken("Orders.Read"), srv.AppToken("Admin"),
		srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}}),
	} {
		h, p, _ := segments(tok)
		f.Add(decodeLoose(h), decodeLoose(p))
	}
	// Seeds as written files live in testdata; these are built from the
	// authority's own tokens, whose keys are made per process.
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		if len(header)+len(payload) > maxFuzzInput/2 {
			return
		}
		header = []byte(o.subst.Replace(string(header)))
		payload = []byte(o.subst.Replace(string(payload)))
		tok := srv.SignBytes("", header, payload)
		ctx, cancel := fuzzCtx()
		defer cancel()
		c, err := o.v.Validate(ctx, tok)
		if err != nil {
			checkRefusal(t, c, err)
			return
		}
		mc, gerr := o.golangJWT(tok)
		if gerr != nil {
			t.Fatalf("entraguard accepted a token golang-jwt refuses: %v\nheader %q\npayload %q", gerr, header, payload)
		}
		if why := sameClaims(c, mc); why != nil {
			t.Fatalf("entraguard and golang-jwt read different claims: %v\npayload %q", why, payload)
		}
	})
}

// The oracle itself must tell a refusal from an acceptance: golang-jwt, as
// configured here, accepts the authority's genuine tokens and refuses the
// ones entraguard refuses for the rules they share.
func TestGolangJWTOracleIsNotVacuous(t *testing.T) {
	o := newOracle(t)
	srv := o.srv
	for _, tok := range []string{srv.UserToken("Orders.Read"), srv.Mint(entratest.Token{Version: "1.0", Scopes: []string{"a"}})} {
		mc, err := o.golangJWT(tok)
		if err != nil {
			t.Fatalf("golang-jwt refused a genuine token: %v", err)
		}
		c, err := o.v.Validate(ctxT(t), tok)
		if err != nil {
			t.Fatal(err)
		}
		if why := sameClaims(c, mc); why != nil {
			t.Fatal(why)
		}
	}
	hdr := []byte(o.subst.Replace(`{"alg":"RS256","kid":"$K"}`))
	for name, payload := range map[string]string{
		"expired":          `{"aud":"$A","iss":"$I","exp":$B}`,
		"exp at the edge":  `{"aud":"$A","iss":"$I","exp":$X}`,
		"not yet valid":    `{"aud":"$A","iss":"$I","exp":$E,"nbf":$E}`,
		"no exp":           `{"aud":"$A","iss":"$I"}`,
		"another audience": `{"aud":"api://other","iss":"$I","exp":$E}`,
		"another issuer":   `{"aud":"$A","iss":"https://evil.example/$D/v2.0","exp":$E}`,
		"exp is a string":  `{"aud":"$A","iss":"$I","exp":"$E"}`,
	} {
		tok := srv.SignBytes("", hdr, []byte(o.subst.Replace(payload)))
		if _, err := o.golangJWT(tok); err == nil {
			t.Errorf("%s: golang-jwt accepted it", name)
		}
	}
	for name, tok := range map[string]string{
		"alg none":    srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"alg": "none"}}),
		"unknown kid": srv.Mint(entratest.Token{Scopes: []string{"a"}, Header: map[string]any{"kid": "nope"}}),
	} {
		if _, err := o.golangJWT(tok); err == nil {
			t.Errorf("%s: golang-jwt accepted it", name)
		}
	}
}

// oracleValues are the values FuzzGolangJWTOracleClaims puts in a claim:
// the right ones, their edges, and every wrong type and near miss.
var oracleValues = map[string][]string{
	"aud":   {`"$A"`, `"api://$A"`, `["$A"]`, `["x","$A"]`, `[]`, `["$A",1]`, `"\u0024A"`, `"$A "`, `"API://$A"`, `null`, `1`, `{"aud":"$A"}`, `"api://other"`},
	"iss":   {`"$I"`, `"$V"`, `"$I/"`, `"$I "`, `["$I"]`, `null`, `""`, `"https://login.microsoftonline.com/$D/v2.0"`, `"$I".`},
	"exp":   {`$E`, `$X`, `$X.5`, `$X.000000001`, `$T`, `$B`, `"$E"`, `null`, `-1`, `1e300`, `$E0`, `1.7e9`, `[$E]`, `true`, `$E.`, `0x10`},
	"nbf":   {`$B`, `$N`, `$N.5`, `$N.000000001`, `$E`, `"$B"`, `null`, `-1`, `[$B]`},
	"iat":   {`$B`, `$E`, `"$B"`, `null`, `-5`, `{}`},
	"tid":   {`"$D"`, `"$D "`, `"00000000-0000-0000-0000-000000000000"`, `7`, `null`, `""`},
	"sub":   {`"s"`, `""`, `7`, `null`, `["s"]`},
	"oid":   {`"00000000-0000-4000-8000-000000000001"`, `7`, `null`},
	"scp":   {`"Orders.Read"`, `" a  b "`, `"a\tb"`, `["Orders.Read"]`, `""`, `7`},
	"roles": {`["Admin"]`, `[]`, `["a",1]`, `"Admin"`, `null`},
	"ver":   {`"2.0"`, `"1.0"`, `2`, `null`},
}

var oracleClaimNames = []string{"aud", "iss", "exp", "nbf", "iat", "tid", "sub", "oid", "scp", "roles", "ver"}

var oracleHeaders = []string{
	`{"typ":"JWT","alg":"RS256","kid":"$K"}`,
	`{"alg":"RS256","kid":"$K"}`,
	`{"alg":"RS256","kid":"$K","typ":"at+jwt"}`,
	`{"alg":"RS256","kid":"$K","typ":"JOSE"}`,
	`{"alg":"RS256","kid":"$K","crit":["b64"],"b64":false}`,
	`{"alg":"RS256","kid":"$K","alg":"RS256"}`,
	`{"alg":"RS256"}`,
	`{"alg":"RS256","kid":"$K","jku":"https://evil.example/keys"}`,
	`{"alg":"PS256","kid":"$K"}`,
	`{"alg":"RS256","kid":"$K","x5t":"x"}`,
}

// oraclePayload builds a payload from recipe: a valid base set of claims,
// then per pair of bytes a claim (low bits; the high bit writes it twice or
// drops it) and its value.
func oraclePayload(recipe []byte) (header string, payload string) {
	vals := map[string]string{"aud": `"$A"`, "iss": `"$I"`, "exp": `$E`, "nbf": `$B`, "iat": `$B`, "tid": `"$D"`, "sub": `"s"`, "oid": `"00000000-0000-4000-8000-000000000001"`, "scp": `"Orders.Read"`, "ver": `"2.0"`}
	twice := map[string]bool{}
	header = oracleHeaders[0]
	if len(recipe) > 0 {
		header = oracleHeaders[int(recipe[0])%len(oracleHeaders)]
		recipe = recipe[1:]
	}
	for ; len(recipe) >= 2; recipe = recipe[2:] {
		name := oracleClaimNames[int(recipe[0]&0x3f)%len(oracleClaimNames)]
		switch recipe[0] >> 6 {
		case 1:
			delete(vals, name)
			continue
		case 2:
			twice[name] = true
		}
		choices := oracleValues[name]
		vals[name] = choices[int(recipe[1])%len(choices)]
	}
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, name := range oracleClaimNames {
		v, ok := vals[name]
		if !ok {
			continue
		}
		for range 1 + btoi(twice[name]) {
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(`"` + name + `":` + v)
		}
	}
	b.WriteByte('}')
	return header, b.String()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzGolangJWTOracleClaims is FuzzGolangJWTOracle over payloads assembled
// from well-formed JSON with adversarial claim values (see oracleValues),
// which reach the claim checks far more often than mutated bytes do.
func FuzzGolangJWTOracleClaims(f *testing.F) {
	o := newOracle(f)
	f.Add([]byte{})
	f.Add([]byte{0, 2, 1})    // exp at its edge
	f.Add([]byte{0, 2, 2})    // exp half a second past it
	f.Add([]byte{0, 3, 1})    // nbf at its edge
	f.Add([]byte{0, 3, 2})    // nbf half a second before it
	f.Add([]byte{0, 0, 3})    // aud ["x", $A]
	f.Add([]byte{0, 1, 1})    // iss v1.0
	f.Add([]byte{0, 0x80, 0}) // aud twice
	f.Add([]byte{0, 0x42, 0}) // no exp
	f.Add([]byte{2, 8, 1, 9, 0})
	f.Fuzz(func(t *testing.T, recipe []byte) {
		if len(recipe) > 64 {
			return
		}
		h, p := oraclePayload(recipe)
		header, payload := o.subst.Replace(h), o.subst.Replace(p)
		tok := o.srv.SignBytes("", []byte(header), []byte(payload))
		ctx, cancel := fuzzCtx()
		defer cancel()
		c, err := o.v.Validate(ctx, tok)
		if err != nil {
			checkRefusal(t, c, err)
			return
		}
		mc, gerr := o.golangJWT(tok)
		if gerr != nil {
			t.Fatalf("entraguard accepted a token golang-jwt refuses: %v\nheader %s\npayload %s", gerr, header, payload)
		}
		if why := sameClaims(c, mc); why != nil {
			t.Fatalf("entraguard and golang-jwt read different claims: %v\npayload %s", why, payload)
		}
	})
}
