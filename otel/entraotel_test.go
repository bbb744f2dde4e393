package entraotel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
	entraotel "github.com/entraguard/entraguard/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// signalled wraps the Observer to tell the test when a refresh was
// observed, so that counts are read after the event, never on a timer.
type signalled struct {
	*entraotel.Observer
	refreshed chan struct{}
}

func (s signalled) ObserveRefresh(ev entra.RefreshEvent) {
	s.Observer.ObserveRefresh(ev)
	s.refreshed <- struct{}{}
}

func (s signalled) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.refreshed:
	case <-time.After(30 * time.Second):
		t.Fatal("no refresh observed")
	}
}

type fixture struct {
	srv    *entratest.Server
	v      *entra.Validator
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	obs    signalled
	start  time.Time
}

func setup(t *testing.T, srv *entratest.Server, opts ...entraotel.Option) *fixture {
	t.Helper()
	f := &fixture{srv: srv, reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder(), start: time.Now()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	f.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	t.Cleanup(func() { _ = f.tp.Shutdown(context.Background()) })
	obs, err := entraotel.New(append(opts, entraotel.WithMeterProvider(mp))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Close() })
	f.obs = signalled{Observer: obs, refreshed: make(chan struct{}, 8)}
	cfg := srv.Config()
	cfg.Observer = f.obs
	cfg.CacheFirstSight = true // a hit from a token's second request
	f.v, err = entra.NewValidator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.v.Close)
	f.obs.wait(t)
	return f
}

// serve sends one request through a traced span, the middleware and a guard.
func (f *fixture) serve(t *testing.T, auth string) int {
	t.Helper()
	h := entra.Middleware(f.v)(entra.RequireScope("Orders.Read").Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	r := httptest.NewRequest("GET", "/api/orders", nil)
	if auth != "" {
		r.Header.Set("Authorization", "Bearer "+auth)
	}
	ctx, span := f.tp.Tracer("test").Start(r.Context(), "GET /api/orders")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r.WithContext(ctx))
	span.End()
	return w.Code
}

func (f *fixture) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := f.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != entraotel.ScopeName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func sum(points ...metricdata.DataPoint[int64]) metricdata.Sum[int64] {
	return metricdata.Sum[int64]{Temporality: metricdata.CumulativeTemporality, IsMonotonic: true, DataPoints: points}
}

func point(n int64, kv ...attribute.KeyValue) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Attributes: attribute.NewSet(kv...), Value: n}
}

func assertSum(t *testing.T, got map[string]metricdata.Metrics, name string, want metricdata.Sum[int64]) {
	t.Helper()
	m, ok := got[name]
	if !ok {
		t.Errorf("no metric %s", name)
		return
	}
	metricdatatest.AssertAggregationsEqual(t, want, m.Data, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

var (
	accepted = entraotel.KeyValidationOutcome.String("accepted")
	refused  = entraotel.KeyValidationOutcome.String("refused")
)

func TestMetricsAndSpans(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	f := setup(t, srv)

	reader := srv.UserToken("Orders.Read")
	writer := srv.UserToken("Orders.Write")
	expired := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, IssuedAt: time.Now().Add(-3 * time.Hour), NotBefore: time.Now().Add(-3 * time.Hour), ExpiresAt: time.Now().Add(-2 * time.Hour)})
	for _, c := range []struct {
		tok    string
		status int
	}{{reader, 200}, {reader, 200}, {"", 401}, {expired, 401}, {writer, 403}} {
		if got := f.serve(t, c.tok); got != c.status {
			t.Fatalf("status %d, want %d", got, c.status)
		}
	}
	elapsed := time.Since(f.start).Seconds()

	got := f.collect(t)
	if len(got) != 7 {
		t.Errorf("%d metrics, want 7: %v", len(got), got)
	}
	assertSum(t, got, "entra.token.validations", sum(
		point(3, accepted),
		point(1, refused, entraotel.KeyErrorType.String("token_expired")),
	))
	assertSum(t, got, "entra.token.cache.lookups", sum(
		point(1, entraotel.KeyCacheResult.String("hit")),
		point(3, entraotel.KeyCacheResult.String("miss")),
	))
	assertSum(t, got, "entra.request.refusals", sum(
		point(1, entraotel.KeyErrorType.String("token_missing"), entraotel.KeyRefusalStatus.Int(401)),
		point(1, entraotel.KeyErrorType.String("token_expired"), entraotel.KeyRefusalStatus.Int(401)),
		point(1, entraotel.KeyErrorType.String("forbidden"), entraotel.KeyRefusalStatus.Int(403)),
	))
	refreshAttrs := []attribute.KeyValue{entraotel.KeyRefreshCause.String("scheduled"), entraotel.KeyRefreshOutcome.String("success")}
	assertSum(t, got, "entra.keys.refreshes", sum(point(1, refreshAttrs...)))
	h, ok := got["entra.keys.refresh.duration"].Data.(metricdata.Histogram[float64])
	if !ok || len(h.DataPoints) != 1 || h.DataPoints[0].Count != 1 || !h.DataPoints[0].Attributes.Equals(ptr(attribute.NewSet(refreshAttrs...))) || h.DataPoints[0].Sum <= 0 || h.DataPoints[0].Sum > elapsed {
		t.Errorf("refresh duration: %+v", got["entra.keys.refresh.duration"].Data)
	}
	if got["entra.keys.refresh.duration"].Unit != "s" {
		t.Errorf("refresh duration unit %q", got["entra.keys.refresh.duration"].Unit)
	}
	metricdatatest.AssertAggregationsEqual(t, metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{point(1)}}, got["entra.keys.loaded"].Data, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	age, ok := got["entra.keys.since_last_success"].Data.(metricdata.Gauge[float64])
	if !ok || len(age.DataPoints) != 1 || age.DataPoints[0].Value < 0 || age.DataPoints[0].Value > time.Since(f.start).Seconds() {
		t.Errorf("since last success: %+v", got["entra.keys.since_last_success"].Data)
	}

	// Spans: one refusal event on each refused request's span, with the
	// Code and status only; nothing on the accepted ones.
	spans := f.spans.Ended()
	if len(spans) != 5 {
		t.Fatalf("%d spans", len(spans))
	}
	wantEvents := []string{"", "", "token_missing/401", "token_expired/401", "forbidden/403"}
	for i, s := range spans {
		var evs []string
		for _, e := range s.Events() {
			if e.Name != entraotel.RefusalEventName || len(e.Attributes) != 2 {
				t.Errorf("span %d: event %s %v", i, e.Name, e.Attributes)
				continue
			}
			set := attribute.NewSet(e.Attributes...)
			code, _ := set.Value(entraotel.KeyErrorType)
			st, _ := set.Value(entraotel.KeyRefusalStatus)
			evs = append(evs, code.AsString()+"/"+st.String())
		}
		if strings.Join(evs, ",") != wantEvents[i] {
			t.Errorf("span %d events %v, want %q", i, evs, wantEvents[i])
		}
		if len(s.Attributes()) != 0 {
			t.Errorf("span %d attributes %v: the tenant needs WithTenantID", i, s.Attributes())
		}
	}
	assertNothingPersonal(t, f, reader, writer, expired)
}

func ptr[T any](v T) *T { return &v }

// assertNothingPersonal checks that no metric or span holds a token or a
// caller's identity.
func assertNothingPersonal(t *testing.T, f *fixture, tokens ...string) {
	t.Helper()
	var all []string
	var rm metricdata.ResourceMetrics
	_ = f.reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			all = append(all, attrsOf(m.Data)...)
		}
	}
	for _, s := range f.spans.Ended() {
		for _, a := range s.Attributes() {
			all = append(all, a.Value.String())
		}
		for _, e := range s.Events() {
			for _, a := range e.Attributes {
				all = append(all, a.Value.String())
			}
		}
	}
	joined := strings.Join(all, "|")
	for _, tok := range tokens {
		if strings.Contains(joined, tok) {
			t.Error("a token is recorded")
		}
	}
	for _, id := range []string{f.srv.UserObjectID, f.srv.UserName, f.srv.UserPrincipalName} {
		if id != "" && strings.Contains(joined, id) {
			t.Errorf("identity %q is recorded", id)
		}
	}
}

func attrsOf(d metricdata.Aggregation) []string {
	var out []string
	add := func(s attribute.Set) {
		for _, kv := range s.ToSlice() {
			out = append(out, kv.Value.String())
		}
	}
	switch d := d.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			add(p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			add(p.Attributes)
		}
	}
	return out
}

func TestTenantIDOptIn(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	f := setup(t, srv, entraotel.WithTenantID())
	if got := f.serve(t, srv.UserToken("Orders.Read")); got != 200 {
		t.Fatal(got)
	}
	if got := f.serve(t, "not-a-jwt"); got != 401 {
		t.Fatal(got)
	}
	got := f.collect(t)
	assertSum(t, got, "entra.token.validations", sum(
		point(1, accepted, entraotel.KeyTenantID.String(srv.TenantID)),
		point(1, refused, entraotel.KeyErrorType.String("token_malformed")),
	))
	spans := f.spans.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	if a := spans[0].Attributes(); len(a) != 1 || a[0] != entraotel.KeyTenantID.String(srv.TenantID) {
		t.Errorf("accepted span attributes %v", a)
	}
	if a := spans[1].Attributes(); len(a) != 0 {
		t.Errorf("refused span attributes %v: an unverified tenant is never recorded", a)
	}
}

func TestRefreshMetrics(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	f := setup(t, srv)

	// A key published after the first load: the validator refreshes for
	// its unknown kid.
	tok := srv.Mint(entratest.Token{KeyID: srv.AddKey(), Scopes: []string{"Orders.Read"}})
	if got := f.serve(t, tok); got != 200 {
		t.Fatal(got)
	}
	f.obs.wait(t)
	got := f.collect(t)
	assertSum(t, got, "entra.keys.refreshes", sum(
		point(1, entraotel.KeyRefreshCause.String("scheduled"), entraotel.KeyRefreshOutcome.String("success")),
		point(1, entraotel.KeyRefreshCause.String("unknown_kid"), entraotel.KeyRefreshOutcome.String("success")),
	))
	metricdatatest.AssertAggregationsEqual(t, metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{point(2)}}, got["entra.keys.loaded"].Data, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestFailedRefreshMetrics(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Status(http.StatusServiceUnavailable))
	f := setup(t, srv)
	if got := f.serve(t, srv.UserToken("Orders.Read")); got != 503 {
		t.Fatal(got)
	}
	got := f.collect(t)
	assertSum(t, got, "entra.keys.refreshes", sum(
		point(1, entraotel.KeyRefreshCause.String("scheduled"), entraotel.KeyRefreshOutcome.String("failure")),
	))
	assertSum(t, got, "entra.request.refusals", sum(
		point(1, entraotel.KeyErrorType.String("keys_unavailable"), entraotel.KeyRefusalStatus.Int(503)),
	))
	metricdatatest.AssertAggregationsEqual(t, metricdata.Gauge[int64]{DataPoints: []metricdata.DataPoint[int64]{point(0)}}, got["entra.keys.loaded"].Data, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	if _, ok := got["entra.keys.since_last_success"]; ok {
		t.Error("since_last_success reported before any success")
	}
}

// The module must stay free of any HTTP framework.
func TestDependencies(t *testing.T) {
	for _, file := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range []string{"gin-gonic", "labstack/echo", "gofiber", "valyala/fasthttp", "google.golang.org/grpc", "connectrpc.com", "redis"} {
			if strings.Contains(string(b), other) {
				t.Errorf("%s mentions %s", file, other)
			}
		}
	}
}
