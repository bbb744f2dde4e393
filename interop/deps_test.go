package interop_test

import (
	"os"
	"strings"
	"testing"
)

// TestDependencies checks that this test-only module pulls in no web
// framework: only MSAL Go, azidentity and what they need.
func TestDependencies(t *testing.T) {
	for _, file := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range []string{"gin-gonic", "labstack/echo", "gofiber", "valyala/fasthttp", "google.golang.org/grpc", "connectrpc"} {
			if strings.Contains(string(b), other) {
				t.Errorf("%s mentions %s", file, other)
			}
		}
	}
}

// TestCoreStaysClean checks that core's go.sum never gets the client
// libraries this module tests with.
func TestCoreStaysClean(t *testing.T) {
	b, err := os.ReadFile("../core/go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for _, lib := range []string{"microsoft-authentication-library-for-go", "azure-sdk-for-go"} {
		if strings.Contains(string(b), lib) {
			t.Errorf("core/go.sum mentions %s", lib)
		}
	}
}
