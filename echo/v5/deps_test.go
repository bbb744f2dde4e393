package entraecho_test

import (
	"os"
	"strings"
	"testing"
)

// TestDependencies checks that an Echo v5 user never downloads Echo v4 or
// another framework: this module's go.mod and go.sum must not name one.
func TestDependencies(t *testing.T) {
	for _, file := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range []string{"labstack/echo/v4", "gin-gonic", "gofiber", "valyala/fasthttp"} {
			if strings.Contains(string(b), other) {
				t.Errorf("%s mentions %s", file, other)
			}
		}
	}
}
