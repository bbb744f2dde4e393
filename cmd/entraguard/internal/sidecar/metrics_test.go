package sidecar

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
)

// TestOpenTelemetryMetrics: with OTEL_EXPORTER_OTLP_ENDPOINT set, the
// library's metrics (entraotel) reach an OTLP/HTTP collector.
func TestOpenTelemetryMetrics(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/v1/metrics" {
			mu.Lock()
			bodies = append(bodies, b)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(collector.Close)
	got := func(name string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range bodies {
			if bytes.Contains(b, []byte(name)) {
				return true
			}
		}
		return false
	}

	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	t.Setenv("ENTRA_TENANT_ID", srv.TenantID)
	t.Setenv("ENTRA_CLIENT_ID", srv.ClientID)
	t.Setenv("ENTRA_AUTHORITY_HOST", srv.URL+"/")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "100")
	addr := freePort(t)
	env := map[string]string{"ADDR": addr, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- Main(ctx, nil, io.Discard, &stderr, func(k string) string { return env[k] }) }()
	waitFor(t, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, "the sidecar to be ready")
	for _, auth := range []string{"Bearer " + srv.UserToken("Orders.Read"), "Bearer garbage"} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	waitFor(t, func() bool { return got("entra.token.validations") && got("entra.request.refusals") }, "the metrics to reach the collector")
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d:\n%s", code, stderr.String())
	}
}

// TestOpenTelemetryVariablesNotLogged: a malformed
// OTEL_EXPORTER_OTLP_HEADERS (which carries API keys) is reported in the
// sidecar's log, naming the problem but not the value.
func TestOpenTelemetryVariablesNotLogged(t *testing.T) {
	const secret = "s3cr3t-api-key"
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=%zz"+secret+",Authorization Bearer "+secret)
	var logs syncBuffer
	obs, shutdown, err := otelObserver(context.Background(), os.Getenv, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if obs == nil {
		t.Fatal("no observer with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nothing to flush to a collector that is not there
	_ = shutdown(ctx)
	got := logs.String()
	for _, want := range []string{"escape header value", "parse headers"} {
		if !strings.Contains(got, want) {
			t.Errorf("the log does not report %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, secret) {
		t.Errorf("the log holds the header's value:\n%s", got)
	}
}
