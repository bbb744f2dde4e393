package entratest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

func TestFaults(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	keysURL := srv.URL + "/" + srv.TenantID + "/discovery/v2.0/keys"
	tests := []struct {
		name   string
		fault  entratest.Fault
		status int
		header map[string]string
		body   string // exact, if set
	}{
		{"Status 500", entratest.Status(500), 500, map[string]string{"Content-Type": "application/json; charset=utf-8"}, ""},
		{"Status 404", entratest.Status(404), 404, nil, ""},
		{"RetryAfter 429", entratest.RetryAfter(429, 1500*time.Millisecond), 429, map[string]string{"Retry-After": "2"}, ""},
		{"RetryAfter 503", entratest.RetryAfter(503, time.Minute), 503, map[string]string{"Retry-After": "60"}, ""},
		{"Body HTML", entratest.Body("text/html", []byte("<html>down</html>")), 200, map[string]string{"Content-Type": "text/html"}, "<html>down</html>"},
		{"Body empty key set", entratest.Body("application/json", []byte(`{"keys":[]}`)), 200, nil, `{"keys":[]}`},
		{"Body truncated", entratest.Body("application/json", []byte(`{"keys":[{"kty":"RS`)), 200, nil, `{"keys":[{"kty":"RS`},
		{"Redirect", entratest.Redirect("https://elsewhere.example/keys", 302), 302, map[string]string{"Location": "https://elsewhere.example/keys"}, ""},
	}
	noFollow := *srv.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.SetFault(entratest.EndpointJWKS, tc.fault)
			defer srv.SetFault(entratest.EndpointJWKS, nil)
			resp, err := noFollow.Get(keysURL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			for k, v := range tc.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.body != "" && string(body) != tc.body {
				t.Errorf("body %q, want %q", body, tc.body)
			}
			if tc.status >= 400 && !json.Valid(body) {
				t.Errorf("error body is not JSON: %s", body)
			}
		})
	}
	// Cleared: the key set is back.
	if keys := fetchKeys(t, srv, keysURL); len(keys) != 1 {
		t.Fatalf("after the faults: %d keys", len(keys))
	}
}

func TestFaultIsPerEndpoint(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointMetadataV2, entratest.Status(500))
	for _, tenant := range []string{srv.TenantID, "organizations", otherTenant} {
		if code, _, _ := get(t, srv, srv.URL+"/"+tenant+"/v2.0/.well-known/openid-configuration"); code != 500 {
			t.Errorf("%s v2.0 metadata: %d, want the fault", tenant, code)
		}
	}
	getJSON(t, srv, srv.URL+"/"+srv.TenantID+"/.well-known/openid-configuration")
	fetchKeys(t, srv, srv.URL+"/"+srv.TenantID+"/discovery/v2.0/keys")
	srv.ClearFaults()
	getJSON(t, srv, srv.URL+"/"+srv.TenantID+"/v2.0/.well-known/openid-configuration")
}

func TestDelay(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Delay(30*time.Millisecond))
	start := time.Now()
	keys := fetchKeys(t, srv, srv.URL+"/common/discovery/v2.0/keys")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answered after %v", d)
	}
	if len(keys) != 1 {
		t.Errorf("delayed answer has %d keys", len(keys))
	}
}

func TestHuge(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	for _, n := range []int64{0, 10, 100, 5 << 20} {
		srv.SetFault(entratest.EndpointJWKS, entratest.Huge(n))
		resp, err := srv.Client().Get(srv.URL + "/common/discovery/keys")
		if err != nil {
			t.Fatal(err)
		}
		if n > 1000 && resp.ContentLength != -1 {
			t.Errorf("Huge(%d): Content-Length %d, want none", n, resp.ContentLength)
		}
		var got int64
		valid := true
		if n > 1000 {
			// Stream through a JSON decoder: a well-formed key set of n bytes.
			counter := &countingReader{r: resp.Body}
			var doc struct {
				Keys []struct {
					N string `json:"n"`
				} `json:"keys"`
			}
			valid = json.NewDecoder(counter).Decode(&doc) == nil && len(doc.Keys) == 1
			rest, _ := io.Copy(io.Discard, resp.Body)
			got = counter.n + rest
		} else {
			got, _ = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
		if got != n || !valid {
			t.Errorf("Huge(%d): %d bytes, valid JSON %v", n, got, valid)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestRedirectIsFollowed(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	target := srv.URL + "/" + srv.TenantID + "/discovery/keys"
	srv.SetFault(entratest.EndpointMetadataV2, entratest.Redirect(target, http.StatusTemporaryRedirect))
	doc := getJSON(t, srv, srv.URL+"/"+srv.TenantID+"/v2.0/.well-known/openid-configuration")
	if _, ok := doc["keys"]; !ok {
		t.Fatalf("redirect not followed: %v", doc)
	}
	wantPanic(t, func() { entratest.Redirect(target, 200) })
}

func TestDisconnect(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Disconnect())
	resp, err := srv.Client().Get(srv.URL + "/common/discovery/keys")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d, want a dropped connection", resp.StatusCode)
	}
}

func TestTimes(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	srv.SetFault(entratest.EndpointJWKS, entratest.Times(2, entratest.Status(503)))
	var codes []int
	for range 4 {
		code, _, _ := get(t, srv, srv.URL+"/common/discovery/v2.0/keys")
		codes = append(codes, code)
	}
	if want := []int{503, 503, 200, 200}; !equalInts(codes, want) {
		t.Fatalf("answers %v, want %v", codes, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFetches(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	if q := srv.LastQuery(entratest.EndpointJWKS); q != nil {
		t.Errorf("LastQuery before any request = %v", q)
	}
	base := srv.URL + "/" + srv.TenantID
	get(t, srv, base+"/v2.0/.well-known/openid-configuration")
	get(t, srv, base+"/.well-known/openid-configuration")
	get(t, srv, base+"/.well-known/openid-configuration")
	get(t, srv, base+"/discovery/v2.0/keys?appid=x")
	srv.SetFault(entratest.EndpointJWKS, entratest.Status(500))
	get(t, srv, base+"/discovery/keys")              // faulted: counted
	get(t, srv, srv.URL+"/nope/discovery/v2.0/keys") // faulted whatever the tenant
	get(t, srv, base+"/oauth2/v2.0/token")
	get(t, srv, srv.URL+"/unknown")
	want := map[entratest.Endpoint]int{entratest.EndpointMetadataV2: 1, entratest.EndpointMetadataV1: 2, entratest.EndpointJWKS: 3, entratest.EndpointToken: 1}
	for ep, n := range want {
		if got := srv.Fetches(ep); got != n {
			t.Errorf("Fetches(%v) = %d, want %d", ep, got, n)
		}
	}
	if q := srv.LastQuery(entratest.EndpointJWKS); q == nil || q.Get("appid") != "" {
		t.Errorf("LastQuery = %v, want the last request's (empty) query", q)
	}
	srv.ResetCounts()
	for ep := range want {
		if got := srv.Fetches(ep); got != 0 {
			t.Errorf("after ResetCounts, Fetches(%v) = %d", ep, got)
		}
	}
	if q := srv.LastQuery(entratest.EndpointJWKS); q != nil {
		t.Errorf("after ResetCounts, LastQuery = %v", q)
	}
	for _, bad := range []entratest.Endpoint{0, 99} {
		wantPanic(t, func() { srv.Fetches(bad) })
		wantPanic(t, func() { srv.SetFault(bad, nil) })
	}
	if s := entratest.EndpointJWKS.String(); s != "jwks" {
		t.Errorf("EndpointJWKS.String() = %q", s)
	}
}

// Everything at once, for the race detector.
func TestConcurrentUse(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	const workers = 8
	var wg sync.WaitGroup
	var requests, failures sync.Map
	for i := range workers {
		wg.Go(func() {
			for j := range 20 {
				resp, err := srv.Client().Get(srv.URL + "/common/discovery/v2.0/keys")
				if err != nil {
					failures.Store(i*100+j, err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				requests.Store(i*100+j, resp.StatusCode)
			}
		})
		wg.Go(func() {
			for range 20 {
				tok := srv.Mint(entratest.Token{Scopes: []string{"a"}, Claims: map[string]any{"n": i}})
				if err := verifyWith(t, tok, srv.PublicKey(headerKid(t, tok))); err != nil {
					t.Error(err)
				}
				_ = srv.Fetches(entratest.EndpointJWKS)
				_ = srv.LastQuery(entratest.EndpointJWKS)
			}
		})
	}
	wg.Go(func() {
		for j := range 10 {
			switch j % 4 {
			case 0:
				srv.SetFault(entratest.EndpointJWKS, entratest.Status(500))
			case 1:
				srv.ClearFaults()
			case 2:
				srv.ResetCounts()
			case 3:
				old := srv.CurrentKeyID()
				srv.RotateKeys()
				srv.RemoveKey(old)
			}
			_ = srv.KeyIDs()
		}
	})
	wg.Wait()
	failures.Range(func(k, v any) bool {
		t.Errorf("request %v: %v", k, v)
		return true
	})
	requests.Range(func(k, v any) bool {
		if code := v.(int); code != 200 && code != 500 {
			t.Errorf("request %v: status %d", k, code)
		}
		return true
	})
}

func headerKid(t *testing.T, tok string) string {
	h, _ := parse(t, tok)
	kid, _ := h["kid"].(string)
	return kid
}
