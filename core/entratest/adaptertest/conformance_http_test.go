package adaptertest_test

import (
	"net/http/httptest"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// TestRunHTTPTests runs the HTTP conformance suite against the reference
// API served on a loopback port with a validator of its own, as a separate
// process would serve it.
func TestRunHTTPTests(t *testing.T) {
	adaptertest.RunHTTPTests(t, func(t *testing.T, srv *entratest.Server) string {
		v, err := entra.NewValidator(srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		api := httptest.NewServer(adaptertest.ReferenceAPI(t, v))
		t.Cleanup(func() {
			api.Close()
			v.Close()
		})
		return api.URL
	})
}
