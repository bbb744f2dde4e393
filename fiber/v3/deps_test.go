package entrafiber_test

import (
	"os"
	"strings"
	"testing"
)

// TestDependencies keeps other frameworks out of a Fiber user's build: a
// Fiber v3 user's go.sum must never contain Fiber v2, Gin or Echo.
func TestDependencies(t *testing.T) {
	for _, file := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, banned := range []string{"gofiber/fiber/v2", "gin-gonic", "labstack/echo"} {
			if strings.Contains(string(b), banned) {
				t.Errorf("%s mentions %s", file, banned)
			}
		}
	}
}
