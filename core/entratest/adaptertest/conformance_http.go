package adaptertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

// StartAPI starts the API under test for [RunHTTPTests], configured to
// trust srv (its TenantID, ClientID and URL + "/" as the authority host),
// and returns its base URL, such as "http://127.0.0.1:41023", once it
// serves. It stops the API with t.Cleanup.
type StartAPI func(t *testing.T, srv *entratest.Server) (baseURL string)

// readyTimeout bounds the wait for an API under RunHTTPTests to accept a
// valid token.
const readyTimeout = 15 * time.Second

// RunHTTPTests runs the conformance table of [RunMiddlewareTests] against
// an API that runs elsewhere, typically a separate process such as one of
// the example programs: every request is sent over HTTP to the API started
// by start and answered as well by [ReferenceAPI], and the two answers must
// agree on status, WWW-Authenticate, Retry-After and Cache-Control, and,
// for refusals, on the JSON body, byte for byte.
//
// start is called with a fresh fake authority for the table, then with
// another whose key set fails, for the "keys unavailable" case (503 with
// Retry-After; there only the presence of Retry-After is compared, as it
// follows each validator's own back-off). The options cases of
// RunMiddlewareTests are skipped: options cannot be passed to a process.
//
// Before the table runs, RunHTTPTests waits (up to 15 s) until the API
// accepts a valid token, so that its validator has loaded the authority's
// metadata, whose authorization_uri 401 challenges carry.
func RunHTTPTests(t *testing.T, start StartAPI) {
	t.Helper()
	srv := entratest.NewServer()
	t.Cleanup(srv.Close) // registered first, so it runs after the API stops
	v, err := entra.NewValidator(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	if err := v.Ready(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := proxyTo(t, start(t, srv))
	want := ReferenceAPI(t, v)
	waitAccepts(t, got, srv)
	runTable(t, srv, got, want)

	t.Run("keys unavailable", func(t *testing.T) {
		cold := entratest.NewServer()
		t.Cleanup(cold.Close)
		cold.SetFault(entratest.EndpointJWKS, entratest.Status(http.StatusServiceUnavailable))
		cv, err := entra.NewValidator(cold.Config())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cv.Close)
		api := proxyTo(t, start(t, cold))
		tc := conformanceCase{name: "keys unavailable", method: "GET", path: "/api/me", status: 503, errCode: "keys_unavailable"}
		auth := bearer(cold.UserToken("Orders.Read"))
		g := serve(api, tc.method, tc.path, auth)
		w := serve(ReferenceAPI(t, cv), tc.method, tc.path, auth)
		for _, rec := range []*httptest.ResponseRecorder{g, w} {
			if n, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || n < 1 {
				t.Fatalf("503 with Retry-After %q, want a number of seconds", rec.Header().Get("Retry-After"))
			}
		}
		w.Header().Set("Retry-After", g.Header().Get("Retry-After"))
		check(t, tc, g, w, auth)
	})
}

// proxyTo returns a handler that forwards requests to the API at baseURL,
// so that [serve] and [check] work on its answers as on a handler's.
func proxyTo(t *testing.T, baseURL string) http.Handler {
	t.Helper()
	target, err := url.Parse(baseURL)
	if err != nil || target.Scheme == "" || target.Host == "" {
		t.Fatalf("adaptertest: RunHTTPTests: start returned %q, not a base URL such as http://127.0.0.1:8080", baseURL)
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 8, ResponseHeaderTimeout: 30 * time.Second}
	t.Cleanup(transport.CloseIdleConnections)
	return &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "adaptertest: RunHTTPTests: %s %s: %v", r.Method, baseURL+r.URL.RequestURI(), err)
		},
	}
}

// waitAccepts waits until api answers a valid token with 200, or fails t.
func waitAccepts(t *testing.T, api http.Handler, srv *entratest.Server) {
	t.Helper()
	auth := bearer(srv.UserToken("Orders.Read"))
	deadline := time.Now().Add(readyTimeout)
	for {
		rec := serve(api, "GET", "/api/me", auth)
		if rec.Code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("adaptertest: RunHTTPTests: the API does not accept a valid token after %v: %d %s", readyTimeout, rec.Code, rec.Body.Bytes())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
