package adaptertest

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// StartTLSAPI starts the API under test for [RunMTLSBindingTests]: the
// contract of [NewAPI] with v and these middleware options, served over
// HTTPS with cfg on a loopback port, through the framework's own server
// (so that the framework's view of the TLS connection is what the
// middleware reads). It returns the base URL ("https://127.0.0.1:port")
// and stops the server when t ends.
type StartTLSAPI func(t *testing.T, v *entra.Validator, cfg *tls.Config, opts ...entra.Option) (baseURL string)

// RunMTLSBindingTests checks an adapter's support of tokens bound to a
// client certificate (entra.WithMTLSBinding) over real TLS connections
// with client certificates made for the test: a token bound to alice's
// certificate is accepted as "MTLS_POP <token>" from alice, and reaches
// the route guards; it is refused from another certificate, without one,
// and as a bearer token; a trusted proxy's certificate header is believed
// only from a trusted address.
func RunMTLSBindingTests(t *testing.T, start StartTLSAPI) {
	srv := entratest.NewServer()
	defer srv.Close()
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	ca := entratest.NewCertAuthority()
	alice, mallory := ca.ClientCertificate("alice"), ca.ClientCertificate("mallory")
	token := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: alice.Leaf})
	client := func(c *tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: ca.ClientTLSConfig(c)}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: time.Minute}
	}
	asAlice, asMallory, anonymous := client(&alice), client(&mallory), client(nil)
	alicePEM := url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: alice.Leaf.Raw})))

	type request struct {
		name   string
		client *http.Client
		method string
		path   string
		auth   string
		header string // Ssl-Client-Cert
		status int
		code   entra.Code
	}
	run := func(t *testing.T, base string, reqs []request) {
		for _, r := range reqs {
			t.Run(r.name, func(t *testing.T) {
				req, err := http.NewRequestWithContext(t.Context(), r.method, base+r.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", r.auth)
				if r.header != "" {
					req.Header.Set("Ssl-Client-Cert", r.header)
				}
				resp, err := r.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
				if resp.StatusCode != r.status {
					t.Fatalf("status %d, want %d (body %s)", resp.StatusCode, r.status, b)
				}
				if r.code == "" {
					return
				}
				var body struct {
					Code string `json:"code"`
				}
				if err := json.Unmarshal(b, &body); err != nil || body.Code != string(r.code) {
					t.Fatalf("body %s, want code %q", b, r.code)
				}
			})
		}
	}

	t.Run("TLS connection", func(t *testing.T) {
		base := start(t, v, ca.ServerTLSConfig(), entra.WithMTLSBinding(entra.MTLSBinding{}))
		run(t, base, []request{
			{"right certificate", asAlice, "GET", "/api/me", "MTLS_POP " + token, "", 200, ""},
			{"right certificate, guarded route", asAlice, "GET", "/api/orders", "MTLS_POP " + token, "", 200, ""},
			{"right certificate, scope not granted", asAlice, "POST", "/api/orders", "MTLS_POP " + token, "", 403, entra.CodeForbidden},
			{"other certificate", asMallory, "GET", "/api/me", "MTLS_POP " + token, "", 401, entra.CodeTokenBindingInvalid},
			{"no certificate", anonymous, "GET", "/api/me", "MTLS_POP " + token, "", 401, entra.CodeTokenBindingInvalid},
			{"no certificate, proxy header from an untrusted peer", anonymous, "GET", "/api/me", "MTLS_POP " + token, alicePEM, 401, entra.CodeTokenBindingInvalid},
			{"Bearer with the right certificate", asAlice, "GET", "/api/me", "Bearer " + token, "", 401, entra.CodeTokenBound},
			{"unbound token as Bearer", anonymous, "GET", "/api/me", "Bearer " + srv.UserToken("Orders.Read"), "", 200, ""},
		})
	})
	t.Run("trusted proxy header", func(t *testing.T) {
		// The test's client is on loopback, which this API trusts as
		// its proxy: the header is believed, the connection's own
		// certificate (mallory's) is not.
		base := start(t, v, ca.ServerTLSConfig(), entra.WithMTLSBinding(entra.MTLSBinding{
			TrustedProxies: []string{"127.0.0.0/8", "::1"}, CertHeaderFormat: entra.CertHeaderEscapedPEM,
		}))
		run(t, base, []request{
			{"header with the right certificate", anonymous, "GET", "/api/me", "MTLS_POP " + token, alicePEM, 200, ""},
			{"connection certificate is not the header", asAlice, "GET", "/api/me", "MTLS_POP " + token, "", 401, entra.CodeTokenBindingInvalid},
			{"header of another certificate", asAlice, "GET", "/api/me", "MTLS_POP " + token, url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: mallory.Leaf.Raw}))), 401, entra.CodeTokenBindingInvalid},
			{"Bearer with the header", anonymous, "GET", "/api/me", "Bearer " + token, alicePEM, 401, entra.CodeTokenBound},
		})
	})
}
