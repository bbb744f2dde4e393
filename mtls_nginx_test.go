package entraguard_test

import (
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
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// TestMTLSBindingBehindNginx puts a real nginx in front of the API: nginx
// terminates TLS, asks the client for its certificate and forwards it as
// $ssl_client_escaped_cert in ssl-client-cert, as docs/bound-tokens.md
// configures it. The API trusts the header only from nginx's address.
// Without nginx the test is skipped, and fails in CI (CI set), where
// .ci/run installs it.
func TestMTLSBindingBehindNginx(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nginx is not installed (Debian package nginx); .ci/run installs it")
		}
		t.Skip("nginx is not installed")
	}
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

	api := func(trusted string) string {
		h := entra.Middleware(v, entra.WithMTLSBinding(entra.MTLSBinding{
			TrustedProxies: []string{trusted}, CertHeaderFormat: entra.CertHeaderEscapedPEM,
		}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := entra.ClaimsFromContext(r.Context())
			_, _ = io.WriteString(w, c.CertificateThumbprint())
		}))
		ts := httptest.NewServer(h)
		t.Cleanup(ts.Close)
		return ts.Listener.Addr().String()
	}
	trustingAPI, distrustingAPI := api("127.0.0.1"), api("10.0.0.0/8")

	dir := t.TempDir()
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	server := ca.ServerCertificate()
	keyDER, err := x509.MarshalPKCS8PrivateKey(server.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile := write("server.pem", &pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate[0]})
	keyFile := write("server.key", &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	caFile := write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate().Raw})
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
`, dir, certFile, keyFile, caFile, port1, trustingAPI, port2, distrustingAPI)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confFile, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
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
	})

	client := func(c *tls.Certificate) *http.Client {
		cfg := ca.ClientTLSConfig(c)
		tr := &http.Transport{TLSClientConfig: cfg}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: time.Minute}
	}
	asAlice, asMallory, anonymous := client(&alice), client(&mallory), client(nil)
	call := func(c *http.Client, port int, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", "https://127.0.0.1:"+strconv.Itoa(port)+"/", nil)
		req.Header.Set("Authorization", auth)
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

	// Wait for nginx to listen (the deadline bounds a failure only).
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port2))
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-exited:
			t.Fatal("nginx exited")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	if status, got := call(asAlice, port1, "MTLS_POP "+token); status != 200 || got != entra.CertificateThumbprint(alice.Leaf) {
		t.Fatalf("alice through nginx: %d %q", status, got)
	}
	for name, tc := range map[string]struct {
		c    *http.Client
		port int
		auth string
		code entra.Code
	}{
		"mallory through nginx":            {asMallory, port1, "MTLS_POP " + token, entra.CodeTokenBindingInvalid},
		"no certificate through nginx":     {anonymous, port1, "MTLS_POP " + token, entra.CodeTokenBindingInvalid},
		"Bearer through nginx":             {asAlice, port1, "Bearer " + token, entra.CodeTokenBound},
		"alice through an untrusted nginx": {asAlice, port2, "MTLS_POP " + token, entra.CodeTokenBindingInvalid},
	} {
		if status, code := call(tc.c, tc.port, tc.auth); status != 401 || code != string(tc.code) {
			t.Errorf("%s: %d %q, want 401 %q", name, status, code, tc.code)
		}
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
