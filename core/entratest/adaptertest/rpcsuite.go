package adaptertest

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// RPCAdapter is what [RunRPCTests] needs from an RPC adapter (gRPC,
// Connect): functions that hide the framework, so that this package
// imports none.
type RPCAdapter struct {
	// Unary and Stream are the names, without the service, of the unary
	// method and the streaming method that Serve serves ("EmptyCall",
	// "FullDuplexCall").
	Unary, Stream string

	// Serve starts a server of service s.Service with two methods, and
	// stops it when t ends:
	//   - Unary, whose handler answers OK when the adapter's accessor
	//     finds claims in its context, and Internal when it finds none;
	//   - Stream, whose handler sends the client messages (one per
	//     message received, or one every few milliseconds) until the
	//     stream ends.
	// In front of them are the adapter's interceptors built from
	// s.Validator, s.Rules and s.Options, unless s.Bare: then they are
	// built but not installed. Each handler is called with the method's
	// name as the client called it ("/" + s.Service + "/" + Unary).
	// When s.TLS is set, the server serves TLS with it on a loopback
	// port, with what the adapter needs to read the connection's client
	// certificate.
	Serve func(t *testing.T, s RPCServer) RPCClient

	// ClaimsFix is the fix that the adapter's report of claims read
	// without the interceptor names, such as "install the interceptor".
	ClaimsFix string

	// StreamChallenges says that the transport carries the challenge
	// when a stream ends (as gRPC's trailers do): the suite then checks
	// it on an expired token's stream.
	StreamChallenges bool
}

// RPCServer is what [RPCAdapter.Serve] serves.
type RPCServer struct {
	// Service is the full name of the service ("r1.Orders").
	Service string
	// Validator is the validator of the interceptors.
	Validator *entra.Validator
	// Rules are the method rules of the interceptors.
	Rules *entra.MethodRules
	// Options are the interceptors' options.
	Options []entra.Option
	// Bare builds the interceptors but leaves them out of the server.
	Bare bool
	// TLS, when set, makes the server serve TLS with this configuration.
	TLS *tls.Config
}

// RPCClient calls a server that [RPCAdapter.Serve] started.
type RPCClient struct {
	// Call calls the unary method with this Authorization value
	// ("Bearer <token>"; "": none).
	Call func(authorization string) RPCResult
	// CallWith calls the unary method with these request headers, every
	// value of each (in gRPC, metadata keyed by their lower-case names).
	CallWith func(headers http.Header) RPCResult
	// Open opens a stream of the streaming method with this
	// Authorization value; the stream is closed when the test ends.
	Open func(authorization string) RPCStream
	// Check builds the adapter's interceptor from the server's validator
	// and rules, and returns what its start-up check says of the rules
	// against the services the server serves.
	Check func(rules *entra.MethodRules) error
	// Dial returns a client of the same server (one that serves TLS)
	// that connects with the TLS configuration cfg.
	Dial func(cfg *tls.Config) RPCClient
}

// RPCStream exchanges one message of an open stream: it returns nil while
// the stream serves, and how the stream ended once it has.
type RPCStream func() *RPCResult

// RPCResult is what a client reads of a call's status.
type RPCResult struct {
	// Code is the status code (0: OK), numbered as gRPC numbers them.
	Code entra.RPCCode
	// Reason is the reason of the ErrorInfo detail, "" if none.
	Reason string
	// Message is the status message.
	Message string
	// Challenge is the WWW-Authenticate challenge the client read, "" if
	// none (a transport may not carry it on a stream).
	Challenge string
	// Metadata is the metadata of the ErrorInfo detail (scope, claims).
	Metadata map[string]string
	// RetryDelay is the delay of the RetryInfo detail, 0 if none.
	RetryDelay time.Duration
}

// String formats r for a test's failure message.
func (r RPCResult) String() string {
	return fmt.Sprintf("code %d, reason %q, message %q, challenge %q, metadata %v, retry delay %v", r.Code, r.Reason, r.Message, r.Challenge, r.Metadata, r.RetryDelay)
}

// rpcRuns makes service names unique to one run of a test: a method is
// reported once per process, and go test -count=N runs a test N times in
// one process.
var rpcRuns atomic.Int32

func freshService() string { return fmt.Sprintf("r%d.Orders", rpcRuns.Add(1)) }

// RunRPCTests is the behaviour suite that every RPC adapter of entraguard
// runs with one call. Through the servers a starts, it checks:
//
//   - a unary call's refusals: the status code, the ErrorInfo reason and
//     metadata (the scope missing), the message and the challenge, for no
//     token, a token of another scheme, malformed, expired, alg none,
//     another audience, no scp or roles, a scope not met, two
//     Authorization values (InvalidArgument); never echoing the token;
//   - signing keys that cannot be fetched: Unavailable, keys_unavailable,
//     a RetryInfo delay of a second or more, and no challenge;
//   - RequireAuthContext: a client that handles claims challenges gets
//     Unauthenticated with the claims in the challenge and the ErrorInfo
//     metadata; other callers PermissionDenied naming the context;
//   - a rule naming a service the server does not serve is reported by the
//     start-up check, and logged once; rules naming served services pass;
//   - a method no rule covers is refused with PermissionDenied and logged
//     once, naming it;
//   - claims read by a handler the interceptor never saw are not found,
//     and reported once per method through the validator's logger, naming
//     the method and a.ClaimsFix, never the token;
//   - an open stream ends with Unauthenticated (token_expired, and the
//     challenge if a.StreamChallenges) once the validator's clock passes
//     exp + ClockSkew, not before;
//   - an open stream ends with Unauthenticated (token_revoked) once its
//     caller is revoked, and another caller's stream goes on;
//   - under entra.WithMTLSBinding, over TLS with client certificates, a
//     token bound to alice's certificate is accepted as "MTLS_POP <token>"
//     from alice, on a call and on a stream; refused (Unauthenticated)
//     from another certificate, without one, as a bearer token, unbound,
//     and over a connection without TLS; and, from a trusted proxy that
//     terminates TLS and forwards the certificate (Envoy's
//     X-Forwarded-Client-Cert) over a plain connection, accepted with
//     alice's certificate and refused with another.
func RunRPCTests(t *testing.T, a RPCAdapter) {
	t.Run("refusals", func(t *testing.T) { testRPCRefusals(t, a) })
	t.Run("keys unavailable", func(t *testing.T) { testRPCKeysUnavailable(t, a) })
	t.Run("step-up", func(t *testing.T) { testRPCStepUp(t, a) })
	t.Run("rule typos are reported", func(t *testing.T) { testRuleTypos(t, a) })
	t.Run("claims without the interceptor are reported", func(t *testing.T) { testRPCClaimsReported(t, a) })
	t.Run("stream ends when the token expires", func(t *testing.T) { testStreamExpires(t, a) })
	t.Run("stream ends when the caller is revoked", func(t *testing.T) { testStreamRevoked(t, a) })
	t.Run("mTLS binding", func(t *testing.T) { testRPCMTLS(t, a) })
}

func testRuleTypos(t *testing.T, a RPCAdapter) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	var logs LogBuffer
	v := NewReadyValidator(t, auth, LogTo(&logs))
	svc := freshService()
	typo := strings.Replace(svc, "Orders", "Ordres", 1)
	rules := entra.NewMethodRules().
		Service(typo, entra.RequireScope("Orders.Read")).
		Method("/" + svc + "/" + a.Unary)
	c := a.Serve(t, RPCServer{Service: svc, Validator: v, Rules: rules})

	err := c.Check(rules)
	if !errors.Is(err, entra.ErrConfigInvalid) || !strings.Contains(err.Error(), `"`+typo+`" names no service the server serves`) {
		t.Fatalf("Check = %v, want the typo %q named", err, typo)
	}
	if strings.Contains(err.Error(), a.Unary) {
		t.Errorf("Check reports a rule that names a served method: %v", err)
	}
	if n := strings.Count(logs.String(), "names no service the server serves"); n != 1 {
		t.Errorf("Check logged %d lines, want 1:\n%s", n, logs.String())
	}
	if err := c.Check(entra.NewMethodRules().Service(svc)); err != nil {
		t.Errorf("rules naming the served service: %v", err)
	}

	// The streaming method has no rule: refused, and logged once.
	method := "/" + svc + "/" + a.Stream
	for range 3 {
		r := c.Open("Bearer " + auth.UserToken("Orders.Read"))()
		if r == nil || r.Code != entra.RPCPermissionDenied {
			t.Fatalf("a method without a rule: %v, want PermissionDenied", r)
		}
	}
	if n := strings.Count(logs.String(), "method="+method); n != 1 {
		t.Errorf("the method without a rule was logged %d times, want once:\n%s", n, logs.String())
	}
}

func testRPCClaimsReported(t *testing.T, a RPCAdapter) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	var logs LogBuffer
	v := NewReadyValidator(t, auth, LogTo(&logs))
	svc := freshService()
	c := a.Serve(t, RPCServer{Service: svc, Validator: v, Rules: entra.NewMethodRules().Service(svc), Bare: true})
	method := "/" + svc + "/" + a.Unary
	tok := auth.UserToken("Orders.Read")
	for range 2 {
		if r := c.Call("Bearer " + tok); r.Code != entra.RPCInternal {
			t.Fatalf("the handler found claims nothing validated: %v", r)
		}
	}
	out := logs.String()
	const msg = "a handler read the claims of a request that did not pass through the authentication middleware"
	if n := strings.Count(out, msg); n != 1 {
		t.Fatalf("reported %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "route="+method) || !strings.Contains(out, a.ClaimsFix) {
		t.Errorf("the line does not name the method %s and the fix %q:\n%s", method, a.ClaimsFix, out)
	}
	if strings.Contains(out, tok) {
		t.Error("the token reached the log")
	}
}

// fakeClock is a Config.Now the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// openStream serves behind v, checking calls every 10 ms, and opens a
// stream with token, whose first message it reads.
func openStream(t *testing.T, a RPCAdapter, v *entra.Validator, svc, token string) RPCStream {
	t.Helper()
	c := a.Serve(t, RPCServer{Service: svc, Validator: v, Rules: entra.NewMethodRules().Service(svc),
		Options: []entra.Option{entra.WithCallCheckInterval(10 * time.Millisecond)}})
	s := c.Open("Bearer " + token)
	if r := s(); r != nil {
		t.Fatalf("a fresh stream: %v", r)
	}
	return s
}

// waitEnd exchanges messages until the server ends the stream, and returns
// how. The deadline only bounds a failure.
func waitEnd(t *testing.T, s RPCStream) RPCResult {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r := s(); r != nil {
			return *r
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the stream still serves")
	return RPCResult{}
}

func testStreamExpires(t *testing.T, a RPCAdapter) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	clock := &fakeClock{}
	clock.ns.Store(time.Now().UnixNano())
	v := NewReadyValidator(t, auth, func(cfg *entra.Config) { cfg.Now = clock.Now })
	tok := auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)})
	s := openStream(t, a, v, freshService(), tok)

	// Within exp + skew the stream serves.
	clock.Advance(time.Hour + entra.DefaultClockSkew - time.Second)
	for range 3 {
		if r := s(); r != nil {
			t.Fatalf("before exp + skew: %v", r)
		}
		time.Sleep(20 * time.Millisecond) // two checks
	}
	clock.Advance(time.Second)
	if r := waitEnd(t, s); r.Code != entra.RPCUnauthenticated || r.Reason != string(entra.CodeTokenExpired) {
		t.Errorf("ended with %v, want Unauthenticated and token_expired", r)
	} else if a.StreamChallenges && !strings.Contains(r.Challenge, `error="invalid_token"`) {
		t.Errorf("ended with %v, want an invalid_token challenge", r)
	}
}

func testStreamRevoked(t *testing.T, a RPCAdapter) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	list := entra.NewRevocationList(entra.RevocationListOptions{})
	v := NewReadyValidator(t, auth, func(cfg *entra.Config) { cfg.Revocations = list })
	tok := auth.UserToken("Orders.Read")
	other := auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: entratest.NewGUID()}) // another user, not revoked
	svc := freshService()
	s := openStream(t, a, v, svc, tok)
	kept := openStream(t, a, v, svc, other)

	c, err := v.Validate(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := list.RevokeUser(c.TenantID(), c.ObjectID(), time.Time{}, "test"); err != nil {
		t.Fatal(err)
	}
	if r := waitEnd(t, s); r.Code != entra.RPCUnauthenticated || r.Reason != string(entra.CodeTokenRevoked) {
		t.Errorf("ended with %v, want Unauthenticated and token_revoked", r)
	}
	time.Sleep(50 * time.Millisecond) // lets the other stream's checks run
	for range 3 {
		if r := kept(); r != nil {
			t.Fatalf("another user's stream ended too: %v", r)
		}
	}
}

func testRPCMTLS(t *testing.T, a RPCAdapter) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	v := NewReadyValidator(t, auth)
	ca := entratest.NewCertAuthority()
	alice, mallory := ca.ClientCertificate("alice"), ca.ClientCertificate("mallory")
	tok := auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: alice.Leaf})
	svc := freshService()
	server := RPCServer{Service: svc, Validator: v, Rules: entra.NewMethodRules().Service(svc),
		Options: []entra.Option{entra.WithMTLSBinding(entra.MTLSBinding{})}}
	plain := a.Serve(t, server)
	server.TLS = ca.ServerTLSConfig()
	c := a.Serve(t, server)
	asAlice, asMallory, anonymous := c.Dial(ca.ClientTLSConfig(&alice)), c.Dial(ca.ClientTLSConfig(&mallory)), c.Dial(ca.ClientTLSConfig(nil))

	if r := asAlice.Call("MTLS_POP " + tok); r.Code != 0 {
		t.Fatalf("alice: %v", r)
	}
	if r := asAlice.Open("MTLS_POP " + tok)(); r != nil {
		t.Fatalf("alice's stream: %v", r)
	}
	// Behind a trusted proxy (the loopback), over a plain connection.
	proxied := a.Serve(t, RPCServer{Service: svc, Validator: v, Rules: entra.NewMethodRules().Service(svc),
		Options: []entra.Option{entra.WithMTLSBinding(entra.MTLSBinding{TrustedProxies: []string{"127.0.0.0/8", "::1"}, CertHeaderFormat: entra.CertHeaderXFCC})}})
	forwarded := func(cert *x509.Certificate) http.Header {
		sum := sha256.Sum256(cert.Raw)
		return http.Header{"Authorization": {"MTLS_POP " + tok}, "X-Forwarded-Client-Cert": {"Hash=" + hex.EncodeToString(sum[:])}}
	}
	if r := proxied.CallWith(forwarded(alice.Leaf)); r.Code != 0 {
		t.Errorf("alice through a trusted proxy: %v", r)
	}
	if r := proxied.CallWith(forwarded(mallory.Leaf)); r.Code != entra.RPCUnauthenticated || r.Reason != string(entra.CodeTokenBindingInvalid) {
		t.Errorf("another certificate through a trusted proxy: %v, want Unauthenticated %q", r, entra.CodeTokenBindingInvalid)
	}

	for name, tc := range map[string]struct {
		client RPCClient
		auth   string
		reason entra.Code
	}{
		"other certificate":              {asMallory, "MTLS_POP " + tok, entra.CodeTokenBindingInvalid},
		"no certificate":                 {anonymous, "MTLS_POP " + tok, entra.CodeTokenBindingInvalid},
		"Bearer with the certificate":    {asAlice, "Bearer " + tok, entra.CodeTokenBound},
		"unbound token as MTLS_POP":      {asAlice, "MTLS_POP " + auth.UserToken("Orders.Read"), entra.CodeTokenBindingInvalid},
		"Bearer without the certificate": {anonymous, "Bearer " + tok, entra.CodeTokenBound},
		"without TLS":                    {plain, "MTLS_POP " + tok, entra.CodeTokenBindingInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			if r := tc.client.Call(tc.auth); r.Code != entra.RPCUnauthenticated || r.Reason != string(tc.reason) {
				t.Errorf("call: %v, want Unauthenticated %q", r, tc.reason)
			}
			if r := tc.client.Open(tc.auth)(); r == nil || r.Code != entra.RPCUnauthenticated || r.Reason != string(tc.reason) {
				t.Errorf("stream: %v, want Unauthenticated %q", r, tc.reason)
			}
		})
	}
}

func testRPCRefusals(t *testing.T, a RPCAdapter) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	v := NewReadyValidator(t, auth)
	svc := freshService()
	c := a.Serve(t, RPCServer{Service: svc, Validator: v,
		Rules:   entra.NewMethodRules().Method("/"+svc+"/"+a.Unary, entra.RequireScope("Orders.Read")),
		Options: []entra.Option{entra.WithRealm("orders")}})
	past := time.Now().Add(-3 * time.Hour)
	expired := auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: past, NotBefore: past, ExpiresAt: past.Add(time.Hour)})
	_, expiredErr := v.Validate(t.Context(), expired)
	var ee *entra.Error
	if !errors.As(expiredErr, &ee) {
		t.Fatalf("the expired token: %v", expiredErr)
	}
	for _, tc := range []struct {
		name, auth string
		code       entra.RPCCode
		reason     entra.Code
		message    string // "": any non-empty
		challenge  string // a part of the challenge
		scope      string
	}{
		{"no token", "", entra.RPCUnauthenticated, entra.CodeTokenMissing, "", `Bearer realm="orders"`, ""},
		{"Basic is no token", "Basic dXNlcjpwYXNz", entra.RPCUnauthenticated, entra.CodeTokenMissing, "", `Bearer realm="orders"`, ""},
		{"garbage token", "Bearer not-a-jwt", entra.RPCUnauthenticated, entra.CodeTokenMalformed, "token is not a JWT: it needs three dot-separated segments", `error="invalid_token"`, ""},
		{"expired token", "Bearer " + expired, entra.RPCUnauthenticated, entra.CodeTokenExpired, ee.Description, `error_description="token expired at`, ""},
		{"alg none", "Bearer " + auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Header: map[string]any{"alg": "none"}}), entra.RPCUnauthenticated, entra.CodeAlgorithmNotAllowed, "", `error="invalid_token"`, ""},
		{"wrong audience", "Bearer " + auth.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, Audience: "api://another"}), entra.RPCUnauthenticated, entra.CodeAudienceInvalid, "", `error="invalid_token"`, ""},
		{"no scp or roles", "Bearer " + auth.Mint(entratest.Token{}), entra.RPCUnauthenticated, entra.CodeNoScopeOrRole, "", `error="invalid_token"`, ""},
		{"scope met", "Bearer " + auth.UserToken("Orders.Read"), 0, "", "", "", ""},
		{"scope not met", "Bearer " + auth.UserToken("Orders.Write"), entra.RPCPermissionDenied, entra.CodeForbidden, `the token does not meet the requirement: scope "Orders.Read"`, `error="insufficient_scope"`, "Orders.Read"},
		{"scope in other case", "Bearer " + auth.UserToken("orders.read"), entra.RPCPermissionDenied, entra.CodeForbidden, "", `scope="Orders.Read"`, "Orders.Read"},
		{"app with a role named like the scope", "Bearer " + auth.AppToken("Orders.Read"), entra.RPCPermissionDenied, entra.CodeForbidden, "", `error="insufficient_scope"`, "Orders.Read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Call(tc.auth)
			if tc.code == 0 {
				if r.Code != 0 {
					t.Fatalf("refused: %v", r)
				}
				return
			}
			if r.Code != tc.code || r.Reason != string(tc.reason) {
				t.Fatalf("got %v, want code %d and %q", r, tc.code, tc.reason)
			}
			if r.Message == "" || (tc.message != "" && r.Message != tc.message) {
				t.Errorf("message %q, want %q", r.Message, tc.message)
			}
			if !strings.Contains(r.Challenge, tc.challenge) || !strings.HasPrefix(r.Challenge, "Bearer ") {
				t.Errorf("challenge %q, want it to hold %q", r.Challenge, tc.challenge)
			}
			if r.Metadata["scope"] != tc.scope {
				t.Errorf("ErrorInfo scope %q, want %q", r.Metadata["scope"], tc.scope)
			}
			if tok := strings.TrimPrefix(tc.auth, "Bearer "); len(tok) > 16 && strings.Contains(r.Message+r.Challenge, tok) {
				t.Error("the refusal echoes the token")
			}
		})
	}
	t.Run("two Authorization values", func(t *testing.T) {
		tok := auth.UserToken("Orders.Read")
		r := c.CallWith(http.Header{"Authorization": {"Bearer " + tok, "Bearer " + tok}})
		if r.Code != entra.RPCInvalidArgument || r.Reason != string(entra.CodeInvalidRequest) {
			t.Fatalf("got %v, want InvalidArgument and %q", r, entra.CodeInvalidRequest)
		}
		if r.Message != "the request has more than one Authorization header" {
			t.Errorf("message %q", r.Message)
		}
		if !strings.HasPrefix(r.Challenge, "Bearer ") || !strings.Contains(r.Challenge, `error="invalid_request"`) || r.Metadata["scope"] != "" {
			t.Errorf("challenge %q, metadata %v", r.Challenge, r.Metadata)
		}
		if strings.Contains(r.Message+r.Challenge, tok) {
			t.Error("the refusal echoes the token")
		}
	})
}

func testRPCKeysUnavailable(t *testing.T, a RPCAdapter) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	auth.SetFault(entratest.EndpointJWKS, entratest.RetryAfter(http.StatusServiceUnavailable, 5*time.Second))
	v, err := entra.NewValidator(auth.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	svc := freshService()
	c := a.Serve(t, RPCServer{Service: svc, Validator: v, Rules: entra.NewMethodRules().Service(svc)})
	r := c.Call("Bearer " + auth.UserToken("Orders.Read"))
	if r.Code != entra.RPCUnavailable || r.Reason != string(entra.CodeKeysUnavailable) || r.RetryDelay < time.Second || r.Challenge != "" || r.Message == "" {
		t.Fatalf("got %v, want Unavailable, %q, a retry delay of 1s or more and no challenge", r, entra.CodeKeysUnavailable)
	}
}

func testRPCStepUp(t *testing.T, a RPCAdapter) {
	auth := entratest.NewServer()
	t.Cleanup(auth.Close)
	v := NewReadyValidator(t, auth)
	svc := freshService()
	c := a.Serve(t, RPCServer{Service: svc, Validator: v,
		Rules: entra.NewMethodRules().Method("/"+svc+"/"+a.Unary, entra.RequireScope("Payments.Approve"), entra.RequireAuthContext("c1"))})
	const claims = "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"
	stepped := auth.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}, AuthContexts: []string{"c1"}})
	capable := auth.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}, ClientCapabilities: []string{"cp1"}})
	plain := auth.Mint(entratest.Token{Scopes: []string{"Payments.Approve"}})
	if r := c.Call("Bearer " + stepped); r.Code != 0 {
		t.Fatalf("stepped-up call: %v", r)
	}
	if r := c.Call("Bearer " + capable); r.Code != entra.RPCUnauthenticated || r.Reason != string(entra.CodeAuthContextRequired) || r.Metadata["claims"] != claims ||
		!strings.Contains(r.Challenge, `error="insufficient_claims"`) || !strings.Contains(r.Challenge, `claims="`+claims+`"`) {
		t.Errorf("a client that handles claims challenges: %v", r)
	}
	if r := c.Call("Bearer " + plain); r.Code != entra.RPCPermissionDenied || r.Reason != string(entra.CodeAuthContextRequired) || r.Metadata["claims"] != "" ||
		!strings.Contains(r.Message, `"c1"`) || strings.Contains(r.Challenge, "claims=") {
		t.Errorf("another client: %v", r)
	}
}
