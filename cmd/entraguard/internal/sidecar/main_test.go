package sidecar

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
)

// TestMainFromEnv runs `entraguard sidecar` as the command line does:
// configured by ENTRA_* and ADDR, serving until its context ends (SIGTERM
// in the command), then shutting down cleanly with exit code 0.
func TestMainFromEnv(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	t.Setenv("ENTRA_TENANT_ID", srv.TenantID)
	t.Setenv("ENTRA_CLIENT_ID", srv.ClientID)
	t.Setenv("ENTRA_AUTHORITY_HOST", srv.URL+"/")
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"-config", writeFile(t, "rules.yaml", contractRules)}, &bytes.Buffer{}, &stderr, func(k string) string {
			if k == "ADDR" {
				return addr
			}
			return ""
		})
	}()
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "the sidecar to be ready on ADDR")
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("X-Forwarded-Uri", "/api/admin")
	req.Header.Set("Authorization", "Bearer "+srv.AppToken("Admin"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("an admin app: %d", resp.StatusCode)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d after shutdown; log:\n%s", code, stderr.String())
	}
	logs := stderr.String()
	for _, want := range []string{`"msg":"entraguard sidecar: serving"`, `"msg":"entraguard sidecar: shutting down"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	tok := srv.AppToken("Admin")
	if strings.Contains(logs, tok[len(tok)-20:]) {
		t.Errorf("the log holds a token")
	}
}

func TestMainUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-log-level", "loud"}, {"-tls-cert", "c.pem"}, {"extra"}, {"-nope"}} {
		var stderr bytes.Buffer
		if code := Main(t.Context(), args, &bytes.Buffer{}, &stderr, func(string) string { return "" }); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
	// Without ENTRA_* the validator's configuration error is reported.
	t.Setenv("ENTRA_TENANT_ID", "")
	t.Setenv("AZURE_TENANT_ID", "")
	var stderr bytes.Buffer
	if code := Main(t.Context(), []string{"-addr", "127.0.0.1:0"}, &bytes.Buffer{}, &stderr, func(string) string { return "" }); code != 1 || !strings.Contains(stderr.String(), "TenantID") {
		t.Errorf("without configuration: exit %d, %s", code, stderr.String())
	}
	var stderr2 bytes.Buffer
	if code := Main(t.Context(), []string{"-config", writeFile(t, "bad.yaml", "rules: []\n")}, &bytes.Buffer{}, &stderr2, func(string) string { return "" }); code != 1 || !strings.Contains(stderr2.String(), "bad.yaml:1: rules is empty") {
		t.Errorf("a bad rules file: exit %d, %s", code, stderr2.String())
	}
}
