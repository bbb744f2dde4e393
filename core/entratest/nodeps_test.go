package entratest_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDoesNotLinkTesting keeps the testing package out of entratest's
// dependencies: the CLI's emulator and the examples embed the fake
// authority, and a program that links testing registers its flags
// (-test.v, ...) and carries its code. Whatever imports testing belongs in
// package adaptertest.
func TestDoesNotLinkTesting(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list entratest's dependencies: %v", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/entraguard/entraguard/core/entratest") {
		t.Fatalf("go list -deps did not list entratest itself:\n%s", out)
	}
	if slices.Contains(deps, "testing") {
		t.Errorf("entratest links the testing package; move the code that imports it to package adaptertest")
	}
}
