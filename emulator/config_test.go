package emulator_test

import (
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
