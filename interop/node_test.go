package interop_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/emulator"
)

// IDs of the Node tests' apps, beside those of newLocalEntra.
const (
	nodeStrict = "4c5d6e7f-8a9b-4c0d-9e1f-2a3b4c5d6e7f" // certificate, refuse_assertion_replay
	nodeMid    = "8d9e0f1a-2b3c-4d4e-8f5a-6b7c8d9e0f1a" // middle tier: certificate, on-behalf-of
	nodeBen    = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
)

var (
	npmOnce sync.Once
	npmErr  error
)

// nodeProject returns the directory of the Node project with its
// dependencies installed (npm ci, from the committed package-lock.json,
// when node_modules is missing or older than the lock file). Without node
// or npm the test is skipped, except in CI (CI set), where it fails.
func nodeProject(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not on PATH: CI installs Debian's nodejs and npm (.ci/run)", tool)
			}
			t.Skipf("%s is not on PATH (install Debian's nodejs and npm)", tool)
		}
	}
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	npmOnce.Do(func() {
		lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
		if err != nil {
			npmErr = err
			return
		}
		if inst, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !inst.ModTime().Before(lock.ModTime()) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
		}
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
	return dir
}

// nodeEnv is this process's environment without the variables that steer
// Azure clients, plus env.
func nodeEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AZURE_") && !strings.HasPrefix(kv, "IDENTITY_") && !strings.HasPrefix(kv, "MSI_") &&
			!strings.HasPrefix(kv, "IMDS_") && !strings.HasPrefix(kv, "NODE_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// writePEM writes a certificate, or a private key (PKCS #8), to a file in dir.
func writePEM(t *testing.T, dir, name string, v any) string {
	t.Helper()
	var block *pem.Block
	switch v := v.(type) {
	case *x509.Certificate:
		block = &pem.Block{Type: "CERTIFICATE", Bytes: v.Raw}
	default:
		der, err := x509.MarshalPKCS8PrivateKey(v)
		if err != nil {
			t.Fatal(err)
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestNodeClients runs MSAL Node and @azure/identity (interop/node,
// pinned by its package-lock.json) against the emulator on TLS: auth code
// with PKCE through form_post and two refreshes, device code, client
// credentials twice with one certificate assertion (and its refusal by an
// app that refuses replays), on-behalf-of for two users, managed identity
// and workload identity. Every token must pass entraguard's validator and
// golang-jwt.
func TestNodeClients(t *testing.T) {
	if testing.Short() {
		t.Skip("installs and runs Node clients; skipped with -short")
	}
	project := nodeProject(t)
	dir := t.TempDir()
	api, userMI := newID(), newID()
	daemonCrt, daemonKey := entratest.NewClientCertificate(emuDaemon)
	strictCrt, strictKey := entratest.NewClientCertificate(nodeStrict)
	midCrt, midKey := entratest.NewClientCertificate(nodeMid)
	env := map[string]string{
		"TENANT_ID": emuTenant, "API_ID": api,
		"WEB_ID": emuWeb, "WEB_SECRET": emuWebSec, "WEB_REDIRECT": emuWebCB, "CLI_ID": emuCLI,
		"DAEMON_ID": emuDaemon, "DAEMON_CERT": writePEM(t, dir, "daemon.pem", daemonCrt), "DAEMON_KEY": writePEM(t, dir, "daemon.key", daemonKey),
		"STRICT_ID": nodeStrict, "STRICT_CERT": writePEM(t, dir, "strict.pem", strictCrt), "STRICT_KEY": writePEM(t, dir, "strict.key", strictKey),
		"MID_ID": nodeMid, "MID_CERT": writePEM(t, dir, "mid.pem", midCrt), "MID_KEY": writePEM(t, dir, "mid.key", midKey),
		"USERS":        "adele@contoso.example,ben@contoso.example",
		"MI_CLIENT_ID": userMI, "WORKER_ID": emuWorker,
		"AZURE_FEDERATED_TOKEN_FILE": filepath.Join(dir, "azure-identity-token"),
		"OUT_FILE":                   filepath.Join(dir, "tokens.json"),
	}
	e, ts := serveEmulator(t, emulator.Config{
		TenantID:       emuTenant,
		ClientID:       api,
		APIScopes:      []string{"Orders.Read", "Orders.Write"},
		NonInteractive: true,
		Users: []emulator.User{
			{ObjectID: emuAdele, Name: "Adele Vance", UPN: "adele@contoso.example"},
			{ObjectID: nodeBen, Name: "Ben Walters", UPN: "ben@contoso.example"},
		},
		Apps: []emulator.App{
			{ClientID: emuWeb, Secret: emuWebSec, RedirectURIs: []string{emuWebCB}},
			{ClientID: emuCLI, Type: emulator.AppPublic, RedirectURIs: []string{"http://localhost"}},
			{ClientID: emuDaemon, CertificateFile: env["DAEMON_CERT"], Roles: []string{"Orders.Read.All"}},
			{ClientID: nodeStrict, CertificateFile: env["STRICT_CERT"], Roles: []string{"Orders.Read.All"}, RefuseAssertionReplay: true},
			{ClientID: nodeMid, CertificateFile: env["MID_CERT"], Scopes: []string{"Orders.Read"}},
			{ClientID: emuWorker, Roles: []string{"Orders.Read.All"}, FederatedCredentials: []emulator.FederatedCredential{{Subject: emuSubject}}},
		},
		ManagedIdentities:  []emulator.ManagedIdentity{{ClientID: userMI, Roles: []string{"Admin"}}},
		DeviceCodeInterval: 1,
	})
	v := apiValidator(t, ts, api)
	l := &localEntra{Emulator: e, ts: ts, v: v, api: api}
	if err := e.WriteWorkloadToken(env["AZURE_FEDERATED_TOKEN_FILE"], emuSubject); err != nil {
		t.Fatal(err)
	}
	env["EMU_URL"] = ts.URL
	env["NODE_EXTRA_CA_CERTS"] = writePEM(t, dir, "emulator.pem", ts.Certificate())
	env["IDENTITY_ENDPOINT"] = e.IdentityEndpoint()
	env["IDENTITY_HEADER"] = e.Config().IdentityHeader

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "flows.mjs")
	cmd.Dir, cmd.Env = project, nodeEnv(env)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node flows.mjs: %v\n%s", err, out)
	}
	b, err := os.ReadFile(env["OUT_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// flow decodes one flow's answer, failing the subtest on its error.
	flow := func(t *testing.T, name string, v any) {
		t.Helper()
		var failed struct{ Error string }
		if err := json.Unmarshal(got[name], &failed); err == nil && failed.Error != "" {
			t.Fatalf("%s: %s", name, failed.Error)
		}
		if err := json.Unmarshal(got[name], v); err != nil {
			t.Fatalf("%s: %v in %s", name, err, got[name])
		}
	}

	t.Run("msal-node auth code with PKCE, form_post, refresh", func(t *testing.T) {
		var r struct{ Access, ID, Refreshed, Rotated string }
		flow(t, "authcode", &r)
		if c := l.accepts(t, r.Access); c.ObjectID() != emuAdele || !c.HasScope("Orders.Read") || c.HasScope("Orders.Write") {
			t.Errorf("access token: user %q scopes %v", c.ObjectID(), c.Scopes())
		}
		if c := verifyJWT(t, l, r.ID, emuWeb); c["nonce"] != "node-nonce" || c["oid"] != emuAdele {
			t.Errorf("ID token: nonce %v oid %v", c["nonce"], c["oid"])
		}
		if c := l.accepts(t, r.Refreshed); c.ObjectID() != emuAdele || !c.HasScope("Orders.Write") {
			t.Errorf("refreshed token: user %q scopes %v", c.ObjectID(), c.Scopes())
		}
		if c := l.accepts(t, r.Rotated); c.ObjectID() != emuAdele || !c.HasScope("Orders.Read") {
			t.Errorf("token of the rotated refresh token: user %q scopes %v", c.ObjectID(), c.Scopes())
		}
	})
	t.Run("msal-node device code", func(t *testing.T) {
		var r struct{ Access, Message string }
		flow(t, "devicecode", &r)
		if c := l.accepts(t, r.Access); c.ObjectID() != emuAdele || !c.HasScope("Orders.Read") || !strings.Contains(r.Message, ts.URL+"/devicelogin") {
			t.Errorf("user %q scopes %v message %q", c.ObjectID(), c.Scopes(), r.Message)
		}
	})
	t.Run("msal-node client credentials twice with a certificate", func(t *testing.T) {
		var r struct{ First, Second string }
		flow(t, "clientcredentials", &r)
		for _, tok := range []string{r.First, r.Second} {
			if c := l.accepts(t, tok); !c.IsApp() || c.AppID() != emuDaemon || !c.HasRole("Orders.Read.All") {
				t.Errorf("app %v %q roles %v", c.IsApp(), c.AppID(), c.Roles())
			}
		}
		if r.First == r.Second {
			t.Error("the second request was answered from MSAL's cache, not by the emulator")
		}
		var strict struct{ First, SecondError string }
		flow(t, "replay", &strict)
		if c := l.accepts(t, strict.First); c.AppID() != nodeStrict {
			t.Errorf("strict app: %q", c.AppID())
		}
		if !strings.Contains(strict.SecondError, "AADSTS50027") {
			t.Errorf("the second request of an app refusing replays: %q, want AADSTS50027 (MSAL Node reuses its assertion)", strict.SecondError)
		}
	})
	t.Run("msal-node on-behalf-of for two users", func(t *testing.T) {
		var r map[string]struct{ User, OBO string }
		flow(t, "obo", &r)
		for upn, oid := range map[string]string{"adele@contoso.example": emuAdele, "ben@contoso.example": nodeBen} {
			if c := verifyJWT(t, l, r[upn].User, nodeMid); c["oid"] != oid {
				t.Errorf("%s's token for the middle tier: oid %v", upn, c["oid"])
			}
			if c := l.accepts(t, r[upn].OBO); c.ObjectID() != oid || c.AppID() != nodeMid || !c.HasScope("Orders.Read") {
				t.Errorf("%s's on-behalf-of token: user %q app %q scopes %v", upn, c.ObjectID(), c.AppID(), c.Scopes())
			}
		}
	})
	t.Run("azure-identity ManagedIdentityCredential", func(t *testing.T) {
		var r struct{ Access string }
		flow(t, "managedidentity", &r)
		if c := l.accepts(t, r.Access); !c.IsApp() || c.AppID() != userMI || !c.HasRole("Admin") {
			t.Errorf("app %v %q roles %v", c.IsApp(), c.AppID(), c.Roles())
		}
	})
	t.Run("azure-identity WorkloadIdentityCredential", func(t *testing.T) {
		var r struct{ Access string }
		flow(t, "workloadidentity", &r)
		if c := l.accepts(t, r.Access); !c.IsApp() || c.AppID() != emuWorker || !c.HasRole("Orders.Read.All") {
			t.Errorf("app %v %q roles %v", c.IsApp(), c.AppID(), c.Roles())
		}
	})
}

// verifyJWT checks a token for another audience than the API (an ID token,
// a middle tier's token) with golang-jwt against the emulator's keys, and
// returns its claims.
func verifyJWT(t *testing.T, l *localEntra, tok, aud string) jwt.MapClaims {
	t.Helper()
	keys := l.jwks(t)
	claims := jwt.MapClaims{}
	parsed, err := jwt.ParseWithClaims(tok, claims, func(tk *jwt.Token) (any, error) {
		kid, _ := tk.Header["kid"].(string)
		if k := keys[kid]; k != nil {
			return k, nil
		}
		return nil, fmt.Errorf("no key %q", kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(l.authority()+"/v2.0"), jwt.WithAudience(aud), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		t.Fatalf("golang-jwt refuses the token for %s: %v", aud, err)
	}
	return claims
}
