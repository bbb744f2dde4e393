package entra_test

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// mtlsFixture: a fake Entra, a certificate authority, two clients and a
// token bound to alice's certificate.
type mtlsFixture struct {
	srv            *entratest.Server
	v              *entra.Validator
	ca             *entratest.CertAuthority
	alice, mallory tls.Certificate
	aliceToken     string
}

func newMTLSFixture(t *testing.T) *mtlsFixture {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	f := &mtlsFixture{srv: srv, v: newValidator(t, srv.Config()), ca: entratest.NewCertAuthority()}
	f.alice = f.ca.ClientCertificate("alice")
	f.mallory = f.ca.ClientCertificate("mallory")
	f.aliceToken = srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: f.alice.Leaf})
	return f
}

// startTLS serves h over TLS with the authority's server certificate,
// asking clients for a certificate (and verifying one when given).
func (f *mtlsFixture) startTLS(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = f.ca.ServerTLSConfig()
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts
}

// client presents cert (none when nil) and trusts the authority.
func (f *mtlsFixture) client(t *testing.T, cert *tls.Certificate) *http.Client {
	tr := &http.Transport{TLSClientConfig: f.ca.ClientTLSConfig(cert)}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// call sends GET url with the Authorization value (none when "") and the
// extra headers, and returns the status and the refusal's code.
func call(t *testing.T, c *http.Client, target, auth string, extra http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, vs := range extra {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	code, _ := refusalBody(t, b)
	return resp.StatusCode, code
}

// Over a real TLS connection: the token bound to alice's certificate is
// accepted with MTLS_POP from alice only, and never as a bearer token.
func TestMTLSBindingOverTLS(t *testing.T) {
	f := newMTLSFixture(t)
	api := f.startTLS(t, entra.Middleware(f.v, entra.WithMTLSBinding(entra.MTLSBinding{}))(http.HandlerFunc(okHandler)))
	alice, mallory, anonymous := f.client(t, &f.alice), f.client(t, &f.mallory), f.client(t, nil)
	unbound := f.srv.UserToken("Orders.Read")
	expired := f.srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: f.alice.Leaf,
		IssuedAt: time.Now().Add(-3 * time.Hour), ExpiresAt: time.Now().Add(-2 * time.Hour)})
	tests := []struct {
		name   string
		client *http.Client
		auth   string
		status int
		code   entra.Code
	}{
		{"right certificate", alice, "MTLS_POP " + f.aliceToken, 200, ""},
		{"right certificate again (cached token)", alice, "MTLS_POP " + f.aliceToken, 200, ""},
		{"scheme in lower case", alice, "mtls_pop " + f.aliceToken, 200, ""},
		{"other certificate", mallory, "MTLS_POP " + f.aliceToken, 401, entra.CodeTokenBindingInvalid},
		{"no certificate", anonymous, "MTLS_POP " + f.aliceToken, 401, entra.CodeTokenBindingInvalid},
		{"Bearer with the right certificate", alice, "Bearer " + f.aliceToken, 401, entra.CodeTokenBound},
		{"Bearer without certificate", anonymous, "Bearer " + f.aliceToken, 401, entra.CodeTokenBound},
		{"unbound token as MTLS_POP", alice, "MTLS_POP " + unbound, 401, entra.CodeTokenBindingInvalid},
		{"unbound token as Bearer still passes", anonymous, "Bearer " + unbound, 200, ""},
		{"MTLS_POP without a token", alice, "MTLS_POP ", 401, entra.CodeTokenMissing},
		{"expired bound token", alice, "MTLS_POP " + expired, 401, entra.CodeTokenExpired},
		{"tampered bound token", alice, "MTLS_POP " + f.aliceToken[:len(f.aliceToken)-4] + "AAAA", 401, entra.CodeSignatureInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, code := call(t, tc.client, api.URL, tc.auth, nil)
			if status != tc.status || code != string(tc.code) {
				t.Fatalf("got %d %q, want %d %q", status, code, tc.status, tc.code)
			}
		})
	}

	// Plain HTTP: no certificate can be presented.
	plain := httptest.NewServer(entra.Middleware(f.v, entra.WithMTLSBinding(entra.MTLSBinding{}))(http.HandlerFunc(okHandler)))
	defer plain.Close()
	if status, code := call(t, plain.Client(), plain.URL, "MTLS_POP "+f.aliceToken, nil); status != 401 || code != string(entra.CodeTokenBindingInvalid) {
		t.Fatalf("plain HTTP: %d %q", status, code)
	}
}

// escapedPEM is the certificate as nginx's $ssl_client_escaped_cert
// writes it: PEM, URL-escaped.
func escapedPEM(c tls.Certificate) string {
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf.Raw})
	return url.PathEscape(string(p))
}

func hexHash(c tls.Certificate) string {
	d := sha256.Sum256(c.Leaf.Raw)
	return hex.EncodeToString(d[:])
}

// A TLS-terminating proxy in front of the API, as nginx with
// proxy_set_header ssl-client-cert $ssl_client_escaped_cert: the API trusts
// the header only from the proxy's address.
func TestMTLSBindingThroughTrustedProxy(t *testing.T) {
	f := newMTLSFixture(t)
	newAPI := func(trusted ...string) *httptest.Server {
		b := entra.MTLSBinding{TrustedProxies: trusted, CertHeaderFormat: entra.CertHeaderEscapedPEM}
		api := httptest.NewServer(entra.Middleware(f.v, entra.WithMTLSBinding(b))(http.HandlerFunc(okHandler)))
		t.Cleanup(api.Close)
		return api
	}
	trustedAPI := newAPI("127.0.0.1", "::1")
	proxyTo := func(api *httptest.Server) *httptest.Server {
		target, _ := url.Parse(api.URL)
		rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// The proxy overwrites whatever the client sent.
			pr.Out.Header.Del("Ssl-Client-Cert")
			if pr.In.TLS != nil && len(pr.In.TLS.PeerCertificates) > 0 {
				pr.Out.Header.Set("Ssl-Client-Cert", escapedPEM(tls.Certificate{Leaf: pr.In.TLS.PeerCertificates[0]}))
			}
		}}
		return f.startTLS(t, rp)
	}
	proxy := proxyTo(trustedAPI)
	alice, mallory, anonymous := f.client(t, &f.alice), f.client(t, &f.mallory), f.client(t, nil)

	if status, code := call(t, alice, proxy.URL, "MTLS_POP "+f.aliceToken, nil); status != 200 {
		t.Fatalf("alice through the trusted proxy: %d %q", status, code)
	}
	if status, code := call(t, mallory, proxy.URL, "MTLS_POP "+f.aliceToken, nil); status != 401 || code != string(entra.CodeTokenBindingInvalid) {
		t.Fatalf("mallory through the trusted proxy: %d %q", status, code)
	}
	// mallory forges alice's header: the proxy overwrites it.
	forged := http.Header{"Ssl-Client-Cert": {escapedPEM(f.alice)}}
	if status, code := call(t, mallory, proxy.URL, "MTLS_POP "+f.aliceToken, forged); status != 401 || code != string(entra.CodeTokenBindingInvalid) {
		t.Fatalf("mallory with a forged header through the proxy: %d %q", status, code)
	}
	if status, code := call(t, anonymous, proxy.URL, "MTLS_POP "+f.aliceToken, nil); status != 401 || code != string(entra.CodeTokenBindingInvalid) {
		t.Fatalf("no certificate through the trusted proxy: %d %q", status, code)
	}
	if status, code := call(t, alice, proxy.URL, "Bearer "+f.aliceToken, nil); status != 401 || code != string(entra.CodeTokenBound) {
		t.Fatalf("Bearer through the trusted proxy: %d %q", status, code)
	}

	// The same header straight from a peer that is not a trusted proxy
	// (the API trusts only 10.0.0.0/8): ignored, and there is no TLS.
	untrustedAPI := newAPI("10.0.0.0/8")
	if status, code := call(t, http.DefaultClient, untrustedAPI.URL, "MTLS_POP "+f.aliceToken, forged); status != 401 || code != string(entra.CodeTokenBindingInvalid) {
		t.Fatalf("header from an untrusted peer: %d %q", status, code)
	}
	// ... even through a proxy the API does not trust.
	if status, code := call(t, alice, proxyTo(untrustedAPI).URL, "MTLS_POP "+f.aliceToken, nil); status != 401 || code != string(entra.CodeTokenBindingInvalid) {
		t.Fatalf("through an untrusted proxy: %d %q", status, code)
	}
}

// The certificate headers of trusted proxies, read strictly: anything
// doubtful is refused. The direct peer of httptest.NewRequest is
// 192.0.2.1.
func TestMTLSBindingProxyHeaders(t *testing.T) {
	f := newMTLSFixture(t)
	pemAPI := entra.Middleware(f.v, entra.WithMTLSBinding(entra.MTLSBinding{TrustedProxies: []string{"192.0.2.0/24"}, CertHeaderFormat: entra.CertHeaderEscapedPEM}))(http.HandlerFunc(okHandler))
	customAPI := entra.Middleware(f.v, entra.WithMTLSBinding(entra.MTLSBinding{TrustedProxies: []string{"192.0.2.1"}, CertHeaderFormat: entra.CertHeaderEscapedPEM, CertHeader: "x-client-cert"}))(http.HandlerFunc(okHandler))
	derAPI := entra.Middleware(f.v, entra.WithMTLSBinding(entra.MTLSBinding{TrustedProxies: []string{"192.0.2.1"}, CertHeaderFormat: entra.CertHeaderBase64DER}))(http.HandlerFunc(okHandler))
	aliceDER := base64.StdEncoding.EncodeToString(f.alice.Leaf.Raw)
	xfccAPI := entra.Middleware(f.v, entra.WithMTLSBinding(entra.MTLSBinding{TrustedProxies: []string{"192.0.2.1"}, CertHeaderFormat: entra.CertHeaderXFCC}))(http.HandlerFunc(okHandler))
	alicePEM := escapedPEM(f.alice)
	nginxPEM := strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(alicePEM)
	rawPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.alice.Leaf.Raw}))
	aliceHash, malloryHash := hexHash(f.alice), hexHash(f.mallory)
	by := "By=spiffe://cluster.local/ns/default/sa/api"
	tests := []struct {
		name   string
		api    http.Handler
		header http.Header
		want   int
	}{
		{"PEM: alice", pemAPI, http.Header{"Ssl-Client-Cert": {alicePEM}}, 200},
		{"PEM: alice, escaped as nginx does", pemAPI, http.Header{"Ssl-Client-Cert": {nginxPEM}}, 200},
		{"PEM: mallory", pemAPI, http.Header{"Ssl-Client-Cert": {escapedPEM(f.mallory)}}, 401},
		{"PEM: no header", pemAPI, nil, 401},
		{"PEM: empty header", pemAPI, http.Header{"Ssl-Client-Cert": {""}}, 401},
		{"PEM: two headers", pemAPI, http.Header{"Ssl-Client-Cert": {alicePEM, alicePEM}}, 401},
		{"PEM: alice then mallory in one value", pemAPI, http.Header{"Ssl-Client-Cert": {alicePEM + escapedPEM(f.mallory)}}, 401},
		{"PEM: not escaped (newlines cut)", pemAPI, http.Header{"Ssl-Client-Cert": {strings.ReplaceAll(rawPEM, "\n", " ")}}, 401},
		{"PEM: text before the block", pemAPI, http.Header{"Ssl-Client-Cert": {"x%0A" + alicePEM}}, 401},
		{"PEM: bad escape", pemAPI, http.Header{"Ssl-Client-Cert": {"%zz" + alicePEM}}, 401},
		{"PEM: a key, not a certificate", pemAPI, http.Header{"Ssl-Client-Cert": {strings.ReplaceAll(alicePEM, "CERTIFICATE", "PUBLIC%20KEY")}}, 401},
		{"PEM: certificate bytes that do not parse", pemAPI, http.Header{"Ssl-Client-Cert": {url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})))}}, 401},
		{"PEM: oversized", pemAPI, http.Header{"Ssl-Client-Cert": {alicePEM + strings.Repeat("%0A", 12<<10)}}, 401},
		{"PEM: hex hash in a PEM header", pemAPI, http.Header{"Ssl-Client-Cert": {aliceHash}}, 401},
		{"PEM: the default header name is not read under a custom name", customAPI, http.Header{"Ssl-Client-Cert": {alicePEM}}, 401},
		{"PEM: custom header name", customAPI, http.Header{"X-Client-Cert": {alicePEM}}, 200},
		{"DER: alice", derAPI, http.Header{"Ssl-Client-Cert": {aliceDER}}, 200},
		{"DER: alice, URL-escaped as Traefik does", derAPI, http.Header{"Ssl-Client-Cert": {url.QueryEscape(aliceDER)}}, 200},
		{"DER: mallory", derAPI, http.Header{"Ssl-Client-Cert": {base64.StdEncoding.EncodeToString(f.mallory.Leaf.Raw)}}, 401},
		{"DER: base64url", derAPI, http.Header{"Ssl-Client-Cert": {base64.RawURLEncoding.EncodeToString(f.alice.Leaf.Raw)}}, 401},
		{"DER: PEM given", derAPI, http.Header{"Ssl-Client-Cert": {alicePEM}}, 401},
		{"DER: bytes that do not parse", derAPI, http.Header{"Ssl-Client-Cert": {base64.StdEncoding.EncodeToString([]byte("not a certificate"))}}, 401},
		{"DER: certificate with trailing bytes", derAPI, http.Header{"Ssl-Client-Cert": {base64.StdEncoding.EncodeToString(append(append([]byte{}, f.alice.Leaf.Raw...), 0))}}, 401},
		{"XFCC: Hash", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {by + ";Hash=" + aliceHash + `;Subject="CN=alice,O=x";URI=`}}, 200},
		{"XFCC: Hash in upper case", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {"Hash=" + strings.ToUpper(aliceHash)}}, 200},
		{"XFCC: Cert", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {by + ";Cert=\"" + alicePEM + "\""}}, 200},
		{"XFCC: Hash and Cert agree", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {by + ";Hash=" + aliceHash + ";Cert=" + alicePEM}}, 200},
		{"XFCC: key in other case", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {"hash=" + aliceHash}}, 200},
		{"XFCC: mallory's Hash", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {by + ";Hash=" + malloryHash}}, 401},
		{"XFCC: Hash and Cert disagree", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {"Hash=" + aliceHash + ";Cert=" + escapedPEM(f.mallory)}}, 401},
		{"XFCC: two Hashes", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {"Hash=" + aliceHash + ";Hash=" + aliceHash}}, 401},
		{"XFCC: two elements", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {"Hash=" + aliceHash + ",Hash=" + malloryHash}}, 401},
		{"XFCC: two elements, the second alice's", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {"Hash=" + malloryHash + ",Hash=" + aliceHash}}, 401},
		{"XFCC: two headers", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {"Hash=" + aliceHash, "Hash=" + aliceHash}}, 401},
		{"XFCC: neither Hash nor Cert", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {by + `;Subject="CN=alice"`}}, 401},
		{"XFCC: Hash base64, not hex", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {"Hash=" + entra.CertificateThumbprint(f.alice.Leaf)}}, 401},
		{"XFCC: Hash cut short", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {"Hash=" + aliceHash[:62]}}, 401},
		{"XFCC: unclosed quote", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {`Hash=` + aliceHash + `;Subject="CN=alice`}}, 401},
		{"XFCC: stray quote", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {`Hash=` + aliceHash + `;Subject=CN"=alice`}}, 401},
		{"XFCC: field without value", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {`Hash=` + aliceHash + `;Subject`}}, 401},
		{"XFCC: comma inside quotes is not a new element", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {`Subject="CN=a, O=b";Hash=` + aliceHash}}, 200},
		{"XFCC: escaped quote inside quotes", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {`Subject="CN=\"a\"";Hash=` + aliceHash}}, 200},
		{"XFCC: too many fields", xfccAPI, http.Header{"X-Forwarded-Client-Cert": {strings.Repeat("URI=x;", 40) + "Hash=" + aliceHash}}, 401},
		{"XFCC: PEM header not read", xfccAPI, http.Header{"Ssl-Client-Cert": {alicePEM}}, 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Authorization": {"MTLS_POP " + f.aliceToken}}
			for k, v := range tc.header {
				h[k] = v
			}
			rec := get(t, tc.api, "/", h)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body.Bytes())
			}
			if tc.want == 401 {
				if code, _ := refusalBody(t, rec.Body.Bytes()); code != string(entra.CodeTokenBindingInvalid) {
					t.Fatalf("code %q", code)
				}
			}
		})
	}
}

// A proxy's direct TLS certificate is never taken for the client's, and
// a peer address that is not an IP is never trusted.
func TestMTLSBindingPeerAddresses(t *testing.T) {
	f := newMTLSFixture(t)
	h := entra.Middleware(f.v, entra.WithMTLSBinding(entra.MTLSBinding{TrustedProxies: []string{"192.0.2.1", "2001:db8::/32", "::ffff:198.51.100.0/120"}, CertHeaderFormat: entra.CertHeaderEscapedPEM}))(http.HandlerFunc(okHandler))
	aliceTLS := &tls.ConnectionState{PeerCertificates: nil}
	aliceTLS.PeerCertificates = append(aliceTLS.PeerCertificates, f.alice.Leaf)
	tests := []struct {
		name   string
		remote string
		tls    *tls.ConnectionState
		header string
		want   int
	}{
		{"trusted IPv4 proxy with the header", "192.0.2.1:443", nil, escapedPEM(f.alice), 200},
		{"trusted IPv6 proxy with the header", "[2001:db8::7]:443", nil, escapedPEM(f.alice), 200},
		{"IPv4-mapped IPv6 form of the trusted proxy", "[::ffff:192.0.2.1]:443", nil, escapedPEM(f.alice), 200},
		{"IPv4 peer in a trusted IPv4-mapped prefix", "198.51.100.9:443", nil, escapedPEM(f.alice), 200},
		{"IPv4 peer outside the IPv4-mapped prefix", "198.51.101.9:443", nil, escapedPEM(f.alice), 401},
		{"trusted proxy with alice's TLS certificate but no header", "192.0.2.1:443", aliceTLS, "", 401},
		{"untrusted peer with alice's TLS certificate", "192.0.2.2:443", aliceTLS, "", 200},
		{"untrusted peer with mallory's header and alice's TLS certificate", "192.0.2.2:443", aliceTLS, escapedPEM(f.mallory), 200},
		{"untrusted neighbour with the header", "192.0.2.2:443", nil, escapedPEM(f.alice), 401},
		{"peer address that is not an IP", "proxy.internal:443", nil, escapedPEM(f.alice), 401},
		{"no peer address", "", nil, escapedPEM(f.alice), 401},
		{"zoned link-local address", "[fe80::1%eth0]:443", nil, escapedPEM(f.alice), 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tc.remote
			req.TLS = tc.tls
			req.Header.Set("Authorization", "MTLS_POP "+f.aliceToken)
			if tc.header != "" {
				req.Header.Set("Ssl-Client-Cert", tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body.Bytes())
			}
		})
	}
}

// RPC requests carry no connection: the adapter puts the peer in the
// context (ContextWithPeer; PeerMiddleware for Connect), or MTLS_POP is
// refused.
func TestMTLSBindingPeerFromContext(t *testing.T) {
	f := newMTLSFixture(t)
	a := entra.NewAuthenticator(f.v, entra.WithMTLSBinding(entra.MTLSBinding{}))
	if !a.VerifiesCertificateBinding() || entra.NewAuthenticator(f.v).VerifiesCertificateBinding() {
		t.Fatal("VerifiesCertificateBinding does not tell the option")
	}
	rules := entra.NewMethodRules().Service("orders.v1.Orders")
	md := entra.HeaderMetadata(http.Header{"Authorization": {"MTLS_POP " + f.aliceToken}})
	const method = "/orders.v1.Orders/List"
	if _, st := a.AuthenticateRPC(t.Context(), method, md, rules); st == nil || st.Reason != entra.CodeTokenBindingInvalid || !strings.Contains(st.Message, "PeerMiddleware") {
		t.Fatalf("without a peer: %+v", st)
	}
	withPeer := func(c tls.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c.Leaf}}
	}
	ctx := entra.ContextWithPeer(t.Context(), entra.Peer{Addr: "127.0.0.1:5000", TLS: withPeer(f.alice)})
	out, st := a.AuthenticateRPC(ctx, method, md, rules)
	if st != nil {
		t.Fatalf("alice's peer: %+v", st)
	}
	if c, ok := entra.ClaimsFromContext(out); !ok || c.CertificateThumbprint() != entra.CertificateThumbprint(f.alice.Leaf) || !c.Bound() {
		t.Fatalf("claims %v %v", c, ok)
	}
	ctx = entra.ContextWithPeer(t.Context(), entra.Peer{Addr: "127.0.0.1:5000", TLS: withPeer(f.mallory)})
	if _, st := a.AuthenticateRPC(ctx, method, md, rules); st == nil || st.Reason != entra.CodeTokenBindingInvalid || st.Code != entra.RPCUnauthenticated {
		t.Fatalf("mallory's peer: %+v", st)
	}

	// PeerMiddleware over a real TLS connection, for handlers that see
	// only the context.
	h := entra.PeerMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, st := a.AuthenticateRPC(r.Context(), method, entra.HeaderMetadata(r.Header), rules)
		if st != nil {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":"`+string(st.Reason)+`"}`)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	api := f.startTLS(t, h)
	if status, code := call(t, f.client(t, &f.alice), api.URL, "MTLS_POP "+f.aliceToken, nil); status != 200 {
		t.Fatalf("PeerMiddleware, alice: %d %q", status, code)
	}
	if status, code := call(t, f.client(t, &f.mallory), api.URL, "MTLS_POP "+f.aliceToken, nil); status != 401 || code != string(entra.CodeTokenBindingInvalid) {
		t.Fatalf("PeerMiddleware, mallory: %d %q", status, code)
	}
}

// Mistakes in the option are set-up errors.
func TestWithMTLSBindingPanics(t *testing.T) {
	for name, b := range map[string]entra.MTLSBinding{
		"not an address":            {TrustedProxies: []string{"proxy.internal"}, CertHeaderFormat: entra.CertHeaderEscapedPEM},
		"bad prefix":                {TrustedProxies: []string{"10.0.0.0/33"}, CertHeaderFormat: entra.CertHeaderEscapedPEM},
		"zoned address":             {TrustedProxies: []string{"fe80::1%eth0"}, CertHeaderFormat: entra.CertHeaderEscapedPEM},
		"proxies without format":    {TrustedProxies: []string{"10.0.0.1"}},
		"format without proxies":    {CertHeaderFormat: entra.CertHeaderXFCC},
		"header without proxies":    {CertHeader: "Ssl-Client-Cert"},
		"unknown format":            {TrustedProxies: []string{"10.0.0.1"}, CertHeaderFormat: 7},
		"header name without proxy": {CertHeader: "X-Cert", CertHeaderFormat: entra.CertHeaderEscapedPEM},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			entra.WithMTLSBinding(b)
		})
	}
}

// The net/http middleware passes the adapters' shared mTLS suite.
func TestMTLSBindingConformance(t *testing.T) {
	adaptertest.RunMTLSBindingTests(t, func(t *testing.T, v *entra.Validator, cfg *tls.Config, opts ...entra.Option) string {
		ts := httptest.NewUnstartedServer(adaptertest.ReferenceAPI(t, v, opts...))
		ts.TLS = cfg
		ts.StartTLS()
		t.Cleanup(ts.Close)
		return ts.URL
	})
}
