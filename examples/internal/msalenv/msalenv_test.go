package msalenv

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTTPClientTrustsEmulatorCAFile: with EMULATOR_CA_FILE, the client
// reaches a TLS server whose certificate no system root signs; without it,
// the same server is refused; a file without a certificate is an error
// that names the variable.
func TestHTTPClientTrustsEmulatorCAFile(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer ts.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "emulator.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Setenv("EMULATOR_CA_FILE", "")
	c, err := HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := c.Get(ts.URL); err == nil {
		resp.Body.Close()
		t.Fatal("without EMULATOR_CA_FILE the emulator's self-made certificate was trusted")
	}

	t.Setenv("EMULATOR_CA_FILE", caFile)
	c, err = HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(ts.URL)
	if err != nil {
		t.Fatalf("with EMULATOR_CA_FILE: %v", err)
	}
	resp.Body.Close()

	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{empty, filepath.Join(dir, "missing.pem")} {
		t.Setenv("EMULATOR_CA_FILE", bad)
		if _, err := HTTPClient(); err == nil || !strings.Contains(err.Error(), "EMULATOR_CA_FILE") {
			t.Errorf("EMULATOR_CA_FILE=%s: err = %v, want an error naming EMULATOR_CA_FILE", filepath.Base(bad), err)
		}
	}
}
