package entraecho_test

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
)

// Tokens bound to a client certificate (entra.WithMTLSBinding) over real
// TLS: the adapter gives the middleware the *http.Request's connection.
func TestMTLSBinding(t *testing.T) {
	adaptertest.RunMTLSBindingTests(t, func(t *testing.T, v *entra.Validator, cfg *tls.Config, opts ...entra.Option) string {
		ts := httptest.NewUnstartedServer(newAPI(t, v, opts...))
		ts.TLS = cfg
		ts.StartTLS()
		t.Cleanup(ts.Close)
		return ts.URL
	})
}
