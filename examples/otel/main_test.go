package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// TestExample runs the program's API and telemetry against a fake
// authority: the exported JSON holds the metrics and the refusal's span
// event, and no token.
func TestExample(t *testing.T) {
	authority := entratest.NewServer()
	defer authority.Close()
	var out syncBuffer
	tel, err := setupTelemetry(&out, time.Hour) // exported at shutdown
	if err != nil {
		t.Fatal(err)
	}
	cfg := authority.Config()
	cfg.Observer = tel.observer
	v, err := entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler(v, tel.tracer))
	token := authority.UserToken("Orders.Read")
	for _, c := range []struct {
		path, token string
		status      int
	}{{"/healthz", "", 200}, {"/api/orders", token, 200}, {"/api/orders", token, 200}, {"/api/admin", token, 403}, {"/api/me", "", 401}} {
		req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.path, resp.StatusCode, c.status)
		}
	}
	srv.Close()
	v.Close()
	tel.shutdown()

	got := out.b.String()
	for _, want := range []string{
		`"Name":"entra.token.validations"`, `"Name":"entra.token.cache.lookups"`, `"Name":"entra.request.refusals"`,
		`"Name":"entra.keys.refreshes"`, `"Name":"entra.keys.loaded"`,
		`"Name":"entra.refusal"`, `"Value":"forbidden"`, `"Value":"token_missing"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the export lacks %s", want)
		}
	}
	if strings.Contains(got, token) || strings.Contains(got, authority.UserObjectID) || strings.Contains(got, authority.UserPrincipalName) {
		t.Error("the export holds a token or the caller's identity")
	}
}
