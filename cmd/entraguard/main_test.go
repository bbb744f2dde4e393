package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// runCmd runs the command line and returns its exit code and output.
func runCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	if code, _, stderr := runCmd(t, ""); code != exitUsage || !strings.Contains(stderr, "entraguard emulator") {
		t.Errorf("no command: %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "", "frobnicate"); code != exitUsage || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %d %q", code, stderr)
	}
	if code, stdout, _ := runCmd(t, "", "help"); code != exitOK || !strings.Contains(stdout, "explain") {
		t.Errorf("help: %d %q", code, stdout)
	}
	for _, cmd := range []string{"emulator", "token", "explain"} {
		if code, _, stderr := runCmd(t, "", cmd, "-h"); code != exitOK || !strings.Contains(stderr, "Usage") {
			t.Errorf("%s -h: %d %q", cmd, code, stderr)
		}
		if code, _, _ := runCmd(t, "", cmd, "-no-such-flag"); code != exitUsage {
			t.Errorf("%s with a bad flag: %d", cmd, code)
		}
	}
}

// syncWriter is a writer the emulator's goroutine and the test share.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startEmulator runs "entraguard emulator -json args..." until the test
// ends, and returns the settings it printed.
func startEmulator(t *testing.T, args ...string) settings {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr syncWriter
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"emulator", "-json"}, args...), strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("the emulator printed no settings: %v; stderr: %s", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var st settings
	if err := json.Unmarshal([]byte(line), &st); err != nil {
		t.Fatalf("settings are not JSON: %v: %s", err, line)
	}
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("the emulator exited %d: %s", code, stderr.String())
		}
	})
	return st
}

// trusting returns a client that trusts the PEM certificate in file.
func trusting(t *testing.T, file string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("no certificate in the CA file")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func TestEmulatorTLS(t *testing.T) {
	const app, secret = "6731de76-14a6-49ae-97bc-6eba6914391e", "emulator-test-secret"
	st := startEmulator(t, "-tls", "-app-id", app, "-app-secret", secret, "-app-roles", "Orders.Read.All", "-app-scopes", "Orders.Read", "-token-version", "1.0")
	if !strings.HasPrefix(st.Authority, "https://127.0.0.1:") || st.CAFile == "" || st.TokenEndpoint != st.Authority+"/"+st.TenantID+"/oauth2/v2.0/token" {
		t.Fatalf("settings %+v", st)
	}
	if len(st.Apps) != 1 || st.Apps[0].ClientID != app || st.Apps[0].Secret != secret {
		t.Fatalf("apps %+v", st.Apps)
	}
	client := trusting(t, st.CAFile)
	v, err := entra.NewValidator(entra.Config{TenantID: st.TenantID, ClientID: st.ClientID, AuthorityHost: st.Authority + "/", HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()

	// token: client credentials against the emulator.
	code, tok, stderr := runCmd(t, "", "token", "-authority", st.Authority, "-tenant", st.TenantID, "-client-id", app, "-secret", secret, "-scope", st.Scope, "-ca-file", st.CAFile)
	if code != exitOK {
		t.Fatalf("token: %d %s", code, stderr)
	}
	c, err := v.Validate(context.Background(), strings.TrimSpace(tok))
	if err != nil {
		t.Fatalf("the fetched token is refused: %v", err)
	}
	if c.AppID() != app || !c.HasRole("Orders.Read.All") || c.Version() != "1.0" {
		t.Errorf("app %q roles %v version %q", c.AppID(), c.Roles(), c.Version())
	}

	// explain validates it against the emulator.
	code, out, stderr := runCmd(t, tok, "explain", "-tenant", st.TenantID, "-client-id", st.ClientID, "-authority-host", st.Authority+"/", "-ca-file", st.CAFile)
	if code != exitOK || !strings.Contains(out, "Result: ACCEPTED") {
		t.Fatalf("explain: %d\n%s%s", code, out, stderr)
	}

	// token: a user's token minted by the emulator.
	code, tok, stderr = runCmd(t, "", "token", "-emulator", st.Authority, "-ca-file", st.CAFile, "-scopes", "Orders.Read,Orders.Write")
	if code != exitOK {
		t.Fatalf("token -emulator: %d %s", code, stderr)
	}
	c, err = v.Validate(context.Background(), strings.TrimSpace(tok))
	if err != nil {
		t.Fatalf("the minted token is refused: %v", err)
	}
	if !c.HasScope("Orders.Write") || c.ObjectID() == "" {
		t.Errorf("scopes %v oid %q", c.Scopes(), c.ObjectID())
	}

	// token -on-behalf-of: the app as a middle tier.
	code, mid, _ := runCmd(t, "", "token", "-emulator", st.Authority, "-ca-file", st.CAFile, "-scopes", "access_as_user", "-audience", app)
	if code != exitOK {
		t.Fatal("minting the middle tier's token")
	}
	code, tok, stderr = runCmd(t, "", "token", "-authority", st.Authority, "-tenant", st.TenantID, "-client-id", app, "-secret", secret, "-scope", "api://"+st.ClientID+"/Orders.Read", "-on-behalf-of", mid, "-ca-file", st.CAFile)
	if code != exitOK {
		t.Fatalf("token -on-behalf-of: %d %s", code, stderr)
	}
	if c, err = v.Validate(context.Background(), strings.TrimSpace(tok)); err != nil || c.AppID() != app || !c.HasScope("Orders.Read") {
		t.Fatalf("OBO token: %v", err)
	}

	// A refusal: exit 1, Entra's error, and never the secret sent.
	code, _, stderr = runCmd(t, "", "token", "-authority", st.Authority, "-tenant", st.TenantID, "-client-id", app, "-secret", "wrong-secret-value", "-scope", st.Scope, "-ca-file", st.CAFile)
	if code != exitFailure || !strings.Contains(stderr, "AADSTS7000215") || strings.Contains(stderr, "wrong-secret-value") {
		t.Fatalf("wrong secret: %d %q", code, stderr)
	}
	// The secret may come from the environment.
	t.Setenv("ENTRAGUARD_CLIENT_SECRET", secret)
	if code, _, stderr := runCmd(t, "", "token", "-authority", st.Authority, "-tenant", st.TenantID, "-client-id", app, "-scope", st.Scope, "-ca-file", st.CAFile); code != exitOK {
		t.Fatalf("secret from ENTRAGUARD_CLIENT_SECRET: %d %s", code, stderr)
	}
	// Without the CA the TLS handshake fails.
	if code, _, _ := runCmd(t, "", "token", "-emulator", st.Authority); code != exitFailure {
		t.Errorf("without -ca-file: %d", code)
	}
}

func TestEmulatorRemovesItsCAFile(t *testing.T) {
	var file string
	t.Run("run", func(t *testing.T) {
		st := startEmulator(t, "-tls")
		file = st.CAFile
		if _, err := os.Stat(file); err != nil {
			t.Fatalf("CA file: %v", err)
		}
	})
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("the emulator left %s behind: %v", file, err)
	}
}

func TestEmulatorConfigFile(t *testing.T) {
	dir := t.TempDir()
	cert, _ := entratest.NewClientCertificate("daemon")
	certFile := filepath.Join(dir, "daemon.pem")
	writePEM(t, certFile, "CERTIFICATE", cert.Raw)
	cfg := `{"tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47", "client_id": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
		"user": {"name": "Test User", "upn": "test@contoso.example"},
		"apps": [{"client_id": "daemon", "certificate_file": "daemon.pem", "roles": ["Orders.Read.All"]},
		         {"client_id": "web", "secret": "web-secret", "token_version": "1.0"}]}`
	file := filepath.Join(dir, "emulator.json")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	st := startEmulator(t, "-config", file, "-addr", "127.0.0.1:0")
	if st.TenantID != "72f988bf-86f1-41af-91ab-2d7cd011db47" || st.ClientID != "6e74172b-be56-4843-9ff4-e66a39bb12e3" || !strings.HasPrefix(st.Authority, "http://") {
		t.Fatalf("settings %+v", st)
	}
	if len(st.Apps) != 2 || st.Apps[0].ClientID != "daemon" || st.Apps[0].Secret != "" || st.Apps[1].Secret != "web-secret" {
		t.Fatalf("apps %+v", st.Apps)
	}

	// The web tier accepts v1.0 tokens: minted for it, they are v1.0.
	code, tok, stderr := runCmd(t, "", "token", "-emulator", st.Authority, "-audience", "web", "-scopes", "access_as_user")
	if code != exitOK {
		t.Fatalf("token -audience web: %d %s", code, stderr)
	}
	if code, out := explain(t, tok, "-show-personal"); code != exitOK || !strings.Contains(out, "ver                  1.0") || !strings.Contains(out, "upn                  test@contoso.example") {
		t.Errorf("the web tier's token is not v1.0 of the configured user:\n%s", out)
	}

	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"tenant": "x"}`), 0o600)
	if code, _, stderr := runCmd(t, "", "emulator", "-config", bad); code != exitUsage || !strings.Contains(stderr, "unknown field") {
		t.Errorf("unknown field: %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "", "emulator", "-tenant", "not-a-guid"); code != exitUsage || !strings.Contains(stderr, "GUID") {
		t.Errorf("bad tenant: %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "", "emulator", "-addr", "256.0.0.1:1"); code != exitFailure || !strings.Contains(stderr, "listening") {
		t.Errorf("bad address: %d %q", code, stderr)
	}
}

func TestEmulatorPrintsSettings(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"emulator", "-app-id", "my-daemon", "-app-secret", "s3cret"}, strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	var out strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "Serving until interrupted") {
			break
		}
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"NOT Microsoft Entra ID", "AZURE_TENANT_ID=", "AZURE_CLIENT_ID=", "AZURE_AUTHORITY_HOST=http://127.0.0.1:", "app my-daemon  secret s3cret", "grant_type=client_credentials", "WithInstanceDiscovery(false)", "entraguard token -emulator"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the banner lacks %q:\n%s", want, out.String())
		}
	}
}

func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("-----BEGIN " + typ + "-----\n")
	enc := base64Lines(der)
	b.WriteString(enc)
	b.WriteString("-----END " + typ + "-----\n")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTokenFlags(t *testing.T) {
	if code, _, stderr := runCmd(t, "", "token", "-tenant", "t"); code != exitUsage || !strings.Contains(stderr, "-client-id") {
		t.Errorf("missing flags: %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "", "token", "-tenant", "t", "-client-id", "c", "-scope", "s"); code != exitUsage || !strings.Contains(stderr, "credential") {
		t.Errorf("no credential: %d %q", code, stderr)
	}
	if code, _, _ := runCmd(t, "", "token", "extra"); code != exitUsage {
		t.Errorf("an argument: %d", code)
	}
}

// The test's certificate assertion flow, with a PEM file holding the
// certificate and its key.
func TestTokenCertificate(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	cert, key := entratest.NewClientCertificate("daemon")
	srv.RegisterApp(entratest.App{ClientID: "daemon", Certificate: cert, Roles: []string{"Orders.Read.All"}})
	dir := t.TempDir()
	file := filepath.Join(dir, "daemon.pem")
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, file, "CERTIFICATE", cert.Raw)
	f, _ := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("-----BEGIN PRIVATE KEY-----\n" + base64Lines(der) + "-----END PRIVATE KEY-----\n")
	f.Close()
	code, tok, stderr := runCmd(t, "", "token", "-authority", srv.URL, "-tenant", srv.TenantID, "-client-id", "daemon", "-certificate", file, "-scope", srv.ClientID+"/.default")
	if code != exitOK {
		t.Fatalf("%d %s", code, stderr)
	}
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c, err := v.Validate(ctx, strings.TrimSpace(tok)); err != nil || c.AppID() != "daemon" {
		t.Fatalf("refused: %v", err)
	}
}

func TestMintEndpoint(t *testing.T) {
	st := startEmulator(t, "-token-version", "1.0")
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	post := func(body string) (int, map[string]any) {
		t.Helper()
		resp, err := client.Post(st.MintEndpoint, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	for _, bad := range []string{`{"scopes": "not-a-list"}`, `{"colour": "blue"}`, `{"version": "3.0"}`, `{"lifetime_seconds": 999999}`, `not json`} {
		if code, m := post(bad); code != http.StatusBadRequest || m["error"] != "invalid_request" {
			t.Errorf("%s: %d %v", bad, code, m)
		}
	}
	resp, err := client.Get(st.MintEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}

	// An app's token, in the API's version (1.0).
	code, tok, stderr := runCmd(t, "", "token", "-emulator", st.Authority, "-app", "-roles", "Orders.Read.All", "-lifetime", "10m")
	if code != exitOK {
		t.Fatalf("token -app: %d %s", code, stderr)
	}
	v, err := entra.NewValidator(entra.Config{TenantID: st.TenantID, ClientID: st.ClientID, AuthorityHost: st.Authority + "/", HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := v.Validate(context.Background(), strings.TrimSpace(tok))
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if !c.IsApp() || !c.HasRole("Orders.Read.All") || c.Version() != "1.0" || time.Until(c.ExpiresAt()) > 11*time.Minute {
		t.Errorf("app %v roles %v version %q exp %v", c.IsApp(), c.Roles(), c.Version(), c.ExpiresAt())
	}
}
