package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMintEndpointRefusesForeignRequests: the mint endpoint hands out
// tokens an API accepts for 24 hours, so it answers programs of this
// machine's user only. A page of a DNS-rebinding domain (foreign Host), a
// shared dev tunnel (its own Host), a page of another origin (Origin,
// Sec-Fetch-Site) and a simple cross-origin form post (text/plain) are
// refused, whatever the body.
func TestMintEndpointRefusesForeignRequests(t *testing.T) {
	st := startEmulator(t)
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	u, err := url.Parse(st.MintEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	const body = `{"app": true, "roles": ["Admin"]}`
	post := func(edit func(*http.Request)) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, st.MintEndpoint, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		edit(req)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	tests := []struct {
		name   string
		edit   func(*http.Request)
		status int
	}{
		{"DNS rebinding: a foreign Host", func(r *http.Request) { r.Host = "attacker.example:" + port }, http.StatusForbidden},
		{"a tunnel's Host without port", func(r *http.Request) { r.Host = "dev-tunnel.example" }, http.StatusForbidden},
		{"localhost on another port", func(r *http.Request) { r.Host = "localhost:1" }, http.StatusForbidden},
		{"a foreign Origin", func(r *http.Request) { r.Header.Set("Origin", "http://attacker.example") }, http.StatusForbidden},
		{"Origin null (sandboxed page)", func(r *http.Request) { r.Header.Set("Origin", "null") }, http.StatusForbidden},
		{"another localhost origin", func(r *http.Request) { r.Header.Set("Origin", "http://localhost:3000") }, http.StatusForbidden},
		{"a cross-site fetch", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, http.StatusForbidden},
		{"text/plain body (a simple CORS request)", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, http.StatusUnsupportedMediaType},
		{"a form post", func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }, http.StatusUnsupportedMediaType},
		{"no content type", func(r *http.Request) { r.Header.Del("Content-Type") }, http.StatusUnsupportedMediaType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, m := post(tc.edit)
			if code != tc.status || m["error"] != "invalid_request" || m["access_token"] != nil {
				t.Errorf("got %d %v, want %d invalid_request and no token", code, m, tc.status)
			}
		})
	}
	// What the emulator's own clients send passes: loopback names with
	// the served port, the emulator's own origin, JSON with a charset.
	for _, ok := range []func(*http.Request){
		func(r *http.Request) {},
		func(r *http.Request) { r.Host = "localhost:" + port },
		func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:"+port) },
		func(r *http.Request) { r.Header.Set("Content-Type", "application/json; charset=utf-8") },
	} {
		if code, m := post(ok); code != http.StatusOK || m["access_token"] == nil {
			t.Errorf("a local request: %d %v", code, m)
		}
	}
}

func TestEmulatorPublicURL(t *testing.T) {
	// In a compose network clients reach the emulator by its service name:
	// -url makes that the issuer and the base of every endpoint.
	st := startEmulator(t, "-url", "http://emulator:8400/")
	if st.Authority != "http://emulator:8400" || !strings.HasPrefix(st.TokenEndpoint, "http://emulator:8400/") || st.IdentityEndpoint != "http://emulator:8400/msi/token" {
		t.Errorf("settings %+v", st)
	}
	if code, _, stderr := runCmd(t, "", "emulator", "-url", "emulator:8400"); code != exitUsage || !strings.Contains(stderr, "-url") {
		t.Errorf("a URL without scheme: %d %s", code, stderr)
	}
}

func TestEmulatorTLSCertificateNamesTheURLHost(t *testing.T) {
	// With -tls and -url https://emulator:8400 the certificate names
	// "emulator", so that services of a compose network verify it.
	st := startEmulator(t, "-tls", "-url", "https://emulator:8400")
	b, err := os.ReadFile(st.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("emulator"); err != nil {
		t.Errorf("the certificate does not name the -url host: %v", err)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("the certificate no longer names 127.0.0.1: %v", err)
	}
}

func TestEmulatorWorkloadTokenFile(t *testing.T) {
	// -workload-token-file writes what AZURE_FEDERATED_TOKEN_FILE names: a
	// token of the emulator's own workload issuer for the subject.
	file := filepath.Join(t.TempDir(), "azure-identity-token")
	st := startEmulator(t, "-workload-token-file", file, "-workload-subject", "system:serviceaccount:orders:worker")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	if c["iss"] != st.WorkloadIssuer || c["sub"] != "system:serviceaccount:orders:worker" || st.WorkloadToken != file {
		t.Errorf("claims %v, settings issuer %q file %q", c, st.WorkloadIssuer, st.WorkloadToken)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the token file's mode: %v %v", fi.Mode(), err)
	}
}
