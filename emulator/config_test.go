package emulator_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entraguard/entraguard/emulator"
)

// TestComposeExampleConfig keeps the compose example's config file valid.
func TestComposeExampleConfig(t *testing.T) {
	c, err := emulator.LoadConfig("../examples/compose/emulator.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := emulator.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := e.Config(); len(got.Users) != 2 || len(got.Apps) != 4 || got.IdentityHeader != "local-identity-header" {
		t.Errorf("resolved config: %d users, %d apps, header %q", len(got.Users), len(got.Apps), got.IdentityHeader)
	}
}

// TestLoadConfigIsBounded refuses a config file, or a certificate file it
// names, too large to be one, rather than reading it all into memory.
func TestLoadConfigIsBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	// 4 MiB of JSON whitespace, then a valid config: only its size is wrong.
	if err := os.WriteFile(big, append(bytes.Repeat([]byte(" "), 4<<20), "{}"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := emulator.LoadConfig(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("LoadConfig of a file over 4 MiB: %v, want an error that says it is too large", err)
	}

	pem := filepath.Join(dir, "app.pem")
	if err := os.WriteFile(pem, bytes.Repeat([]byte("A"), 1<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "emulator.json")
	if err := os.WriteFile(cfg, []byte(`{"apps": [{"client_id": "3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b", "certificate_file": "app.pem"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := emulator.LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := emulator.New(c); err == nil {
		e.Close()
		t.Error("New accepted a certificate_file over 1 MiB")
	} else if !strings.Contains(err.Error(), "certificate_file") || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("New with a certificate_file over 1 MiB: %v, want an error that names the field and says it is too large", err)
	}
}
