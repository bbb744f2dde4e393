package entraguard_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// proxyFixture is what the tests of real TLS-terminating proxies share:
// a fake Entra, a CA with alice's and mallory's client certificates, a
// token bound to alice's, and the server certificate's files.
type proxyFixture struct {
	v                         *entra.Validator
	ca                        *entratest.CertAuthority
	alice, mallory            tls.Certificate
	token                     string
	dir                       string
	certFile, keyFile, caFile string
}

func newProxyFixture(t *testing.T) *proxyFixture {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	f := &proxyFixture{v: v, ca: entratest.NewCertAuthority(), dir: t.TempDir()}
	f.alice, f.mallory = f.ca.ClientCertificate("alice"), f.ca.ClientCertificate("mallory")
	f.token = srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, BoundCertificate: f.alice.Leaf})
	server := f.ca.ServerCertificate()
	keyDER, err := x509.MarshalPKCS8PrivateKey(server.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	f.certFile = f.write(t, "server.pem", &pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate[0]})
	f.keyFile = f.write(t, "server.key", &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	f.caFile = f.write(t, "ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: f.ca.Certificate().Raw})
	return f
}

func (f *proxyFixture) write(t *testing.T, name string, b *pem.Block) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// api serves, on a loopback port, an API that trusts the proxy at
// trusted to forward certificates in format; it answers 200 with the
// thumbprint the accepted token is bound to. It returns its address.
func (f *proxyFixture) api(t *testing.T, trusted string, format entra.CertHeaderFormat) string {
	h := entra.Middleware(f.v, entra.WithMTLSBinding(entra.MTLSBinding{
		TrustedProxies: []string{trusted}, CertHeaderFormat: format,
	}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := entra.ClaimsFromContext(r.Context())
		_, _ = io.WriteString(w, c.CertificateThumbprint())
	}))
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String()
}

// startProxy runs the proxy's command until the test ends and waits until
// it listens on port (the deadline bounds a failure only).
func startProxy(t *testing.T, port int, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out proxyOutput
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, out.String())
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited", name)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen: %v", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// check sends alice's bound token through the proxy on trustedPort (whose
// API trusts it) and untrustedPort (whose API does not), with each client.
func (f *proxyFixture) check(t *testing.T, trustedPort, untrustedPort int) {
	t.Helper()
	// The URL names localhost, as a browser would (Caddy's client
	// authentication wants the SNI to match the Host), dialled on
	// 127.0.0.1 whatever localhost resolves to.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp4", "127.0.0.1:"+port)
	}
	client := func(c *tls.Certificate) *http.Client {
		tr := &http.Transport{TLSClientConfig: f.ca.ClientTLSConfig(c), DialContext: dial}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: time.Minute}
	}
	asAlice, asMallory, anonymous := client(&f.alice), client(&f.mallory), client(nil)
	call := func(c *http.Client, port int, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", "https://localhost:"+strconv.Itoa(port)+"/", nil)
		req.Header.Set("Authorization", auth)
		// A forged header, which the proxy must overwrite.
		req.Header.Set("Ssl-Client-Cert", "forged")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			return 200, string(b)
		}
		var body struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(b, &body)
		return resp.StatusCode, body.Code
	}
	if status, got := call(asAlice, trustedPort, "MTLS_POP "+f.token); status != 200 || got != entra.CertificateThumbprint(f.alice.Leaf) {
		t.Fatalf("alice through the proxy: %d %q", status, got)
	}
	for name, tc := range map[string]struct {
		c    *http.Client
		port int
		auth string
		code entra.Code
	}{
		"mallory":                          {asMallory, trustedPort, "MTLS_POP " + f.token, entra.CodeTokenBindingInvalid},
		"no certificate":                   {anonymous, trustedPort, "MTLS_POP " + f.token, entra.CodeTokenBindingInvalid},
		"Bearer":                           {asAlice, trustedPort, "Bearer " + f.token, entra.CodeTokenBound},
		"alice through an untrusted proxy": {asAlice, untrustedPort, "MTLS_POP " + f.token, entra.CodeTokenBindingInvalid},
	} {
		if status, code := call(tc.c, tc.port, tc.auth); status != 401 || code != string(tc.code) {
			t.Errorf("%s: %d %q, want 401 %q", name, status, code, tc.code)
		}
	}
}

// lookProxy finds a proxy's binary; without it the test is skipped, and
// fails in CI (CI set), where .ci/run installs it.
func lookProxy(t *testing.T, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (Debian package %s); .ci/run installs it", name, name)
		}
		t.Skipf("%s is not installed", name)
	}
	return bin
}

// TestMTLSBindingBehindNginx puts a real nginx in front of the API: nginx
// terminates TLS, asks the client for its certificate and forwards it as
// $ssl_client_escaped_cert in ssl-client-cert, as docs/bound-tokens.md
// configures it. The API trusts the header only from nginx's address.
func TestMTLSBindingBehindNginx(t *testing.T) {
	bin := lookProxy(t, "nginx")
	f := newProxyFixture(t)
	trustingAPI := f.api(t, "127.0.0.1", entra.CertHeaderEscapedPEM)
	distrustingAPI := f.api(t, "10.0.0.0/8", entra.CertHeaderEscapedPEM)
	port1, port2 := freePort(t), freePort(t)
	conf := fmt.Sprintf(`
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	ssl_certificate %[2]s;
	ssl_certificate_key %[3]s;
	ssl_client_certificate %[4]s;
	ssl_verify_client optional;
	server {
		listen 127.0.0.1:%[5]d ssl;
		location / {
			proxy_set_header ssl-client-cert $ssl_client_escaped_cert;
			proxy_pass http://%[6]s;
		}
	}
	server {
		listen 127.0.0.1:%[7]d ssl;
		location / {
			proxy_set_header ssl-client-cert $ssl_client_escaped_cert;
			proxy_pass http://%[8]s;
		}
	}
}
`, f.dir, f.certFile, f.keyFile, f.caFile, port1, trustingAPI, port2, distrustingAPI)
	confFile := filepath.Join(f.dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	startProxy(t, port2, bin, "-p", f.dir, "-c", confFile, "-g", "daemon off;")
	startProxyWait(t, port1)
	f.check(t, port1, port2)
}

// TestMTLSBindingBehindCaddy puts a real Caddy in front of the API, which
// forwards {http.request.tls.client.certificate_der_base64}
// (CertHeaderBase64DER), as docs/bound-tokens.md configures it.
func TestMTLSBindingBehindCaddy(t *testing.T) {
	bin := lookProxy(t, "caddy")
	f := newProxyFixture(t)
	trustingAPI := f.api(t, "127.0.0.1", entra.CertHeaderBase64DER)
	distrustingAPI := f.api(t, "10.0.0.0/8", entra.CertHeaderBase64DER)
	port1, port2 := freePort(t), freePort(t)
	site := func(port int, api string) string {
		return fmt.Sprintf(`
https://localhost:%d {
	bind 127.0.0.1
	tls %s %s {
		client_auth {
			mode verify_if_given
			trusted_ca_cert_file %s
		}
	}
	reverse_proxy %s {
		header_up Ssl-Client-Cert {http.request.tls.client.certificate_der_base64}
	}
}
`, port, f.certFile, f.keyFile, f.caFile, api)
	}
	conf := fmt.Sprintf(`{
	admin off
	auto_https off
	storage file_system %s
}
`, filepath.Join(f.dir, "data")) + site(port1, trustingAPI) + site(port2, distrustingAPI)
	confFile := filepath.Join(f.dir, "Caddyfile")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	startProxy(t, port2, bin, "run", "--config", confFile, "--adapter", "caddyfile")
	startProxyWait(t, port1)
	f.check(t, port1, port2)
}

// startProxyWait waits until a proxy already started listens on port too.
func startProxyWait(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy does not listen on %d: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proxyOutput collects a process's output, written from other goroutines.
type proxyOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *proxyOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *proxyOutput) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
