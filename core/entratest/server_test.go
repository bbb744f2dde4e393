package entratest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/entratest"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

const otherTenant = "6babcaad-604b-40ac-a9d7-9fd97c0b779f"

func TestNewServerDefaults(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(srv.URL) {
		t.Errorf("URL = %q, want http://127.0.0.1:port", srv.URL)
	}
	for name, id := range map[string]string{"TenantID": srv.TenantID, "ClientID": srv.ClientID, "CallerID": srv.CallerID, "CallerObjectID": srv.CallerObjectID, "UserObjectID": srv.UserObjectID} {
		if !guidRE.MatchString(id) {
			t.Errorf("%s = %q, want a lower-case GUID", name, id)
		}
	}
	other := entratest.NewServer()
	defer other.Close()
	if other.TenantID == srv.TenantID || other.ClientID == srv.ClientID {
		t.Error("two servers share their tenant or client ID")
	}

	cfg := srv.Config()
	if cfg.TenantID != srv.TenantID || cfg.ClientID != srv.ClientID || cfg.AuthorityHost != srv.URL+"/" || cfg.HTTPClient != srv.Client() {
		t.Errorf("Config() = %+v", cfg)
	}
	for _, tenant := range []string{entra.TenantOrganizations, entra.TenantCommon} {
		mc := srv.MultiTenantConfig(tenant)
		if mc.TenantID != tenant || mc.ClientID != srv.ClientID || mc.AuthorityHost != cfg.AuthorityHost {
			t.Errorf("MultiTenantConfig(%q) = %+v", tenant, mc)
		}
	}
}

func TestOptions(t *testing.T) {
	tenant := "72F988BF-86F1-41AF-91AB-2D7CD011DB47"
	srv := entratest.NewServer(entratest.WithTenantID(tenant), entratest.WithClientID("api-client"))
	defer srv.Close()
	if srv.TenantID != strings.ToLower(tenant) || srv.ClientID != "api-client" {
		t.Errorf("TenantID %q, ClientID %q", srv.TenantID, srv.ClientID)
	}

	for name, opt := range map[string]entratest.Option{
		"tenant not a GUID": entratest.WithTenantID("contoso.onmicrosoft.com"),
		"empty tenant":      entratest.WithTenantID(""),
		"empty client":      entratest.WithClientID(""),
		"client with space": entratest.WithClientID("a b"),
		"key too small":     entratest.WithKeyBits(512),
	} {
		t.Run(name, func(t *testing.T) {
			wantPanic(t, func() { entratest.NewServer(opt).Close() })
		})
	}
	t.Run("MultiTenantConfig of a GUID", func(t *testing.T) {
		wantPanic(t, func() { srv.MultiTenantConfig(otherTenant) })
	})
}

func wantPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatal("no panic")
		}
		if msg, _ := r.(string); !strings.HasPrefix(msg, "entratest: ") {
			t.Fatalf("panic %v, want a message starting with \"entratest: \"", r)
		}
	}()
	f()
}

func TestMetadata(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	upper := strings.ToUpper(otherTenant)
	tests := []struct {
		name       string
		path       string // tenant segment
		wantTenant string // tenant in endpoints
		issV2      string
		issV1      string
	}{
		{"home tenant", srv.TenantID, srv.TenantID, srv.URL + "/" + srv.TenantID + "/v2.0", "https://sts.windows.net/" + srv.TenantID + "/"},
		{"any other GUID", otherTenant, otherTenant, srv.URL + "/" + otherTenant + "/v2.0", "https://sts.windows.net/" + otherTenant + "/"},
		{"upper-case GUID", upper, otherTenant, srv.URL + "/" + otherTenant + "/v2.0", "https://sts.windows.net/" + otherTenant + "/"},
		{"organizations", "organizations", "organizations", srv.URL + "/{tenantid}/v2.0", "https://sts.windows.net/{tenantid}/"},
		{"common", "common", "common", srv.URL + "/{tenantid}/v2.0", "https://sts.windows.net/{tenantid}/"},
		{"consumers", "consumers", "consumers", srv.URL + "/" + entratest.ConsumersTenantID + "/v2.0", "https://sts.windows.net/" + entratest.ConsumersTenantID + "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := srv.URL + "/" + tc.wantTenant
			v2 := getJSON(t, srv, srv.URL+"/"+tc.path+"/v2.0/.well-known/openid-configuration")
			for field, want := range map[string]string{
				"issuer":                 tc.issV2,
				"jwks_uri":               root + "/discovery/v2.0/keys",
				"authorization_endpoint": root + "/oauth2/v2.0/authorize",
				"token_endpoint":         root + "/oauth2/v2.0/token",
				"cloud_instance_name":    "microsoftonline.com",
				"msgraph_host":           "graph.microsoft.com",
			} {
				if got := v2[field]; got != want {
					t.Errorf("v2.0 %s = %v, want %q", field, got, want)
				}
			}
			if algs, _ := v2["id_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != "RS256" {
				t.Errorf("v2.0 id_token_signing_alg_values_supported = %v", v2["id_token_signing_alg_values_supported"])
			}
			for _, field := range []string{"response_types_supported", "subject_types_supported", "scopes_supported", "claims_supported", "tenant_region_scope", "end_session_endpoint"} {
				if _, ok := v2[field]; !ok {
					t.Errorf("v2.0 lacks %s", field)
				}
			}
			if (v2["tenant_region_scope"] == nil) != (tc.issV2 == srv.URL+"/{tenantid}/v2.0") {
				t.Errorf("tenant_region_scope = %v: want null exactly for multi-tenant documents", v2["tenant_region_scope"])
			}

			v1 := getJSON(t, srv, srv.URL+"/"+tc.path+"/.well-known/openid-configuration")
			for field, want := range map[string]string{
				"issuer":                 tc.issV1,
				"jwks_uri":               root + "/discovery/keys",
				"authorization_endpoint": root + "/oauth2/authorize",
				"token_endpoint":         root + "/oauth2/token",
			} {
				if got := v1[field]; got != want {
					t.Errorf("v1.0 %s = %v, want %q", field, got, want)
				}
			}
		})
	}
}

func TestMetadataAppID(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	m := getJSON(t, srv, srv.URL+"/"+srv.TenantID+"/v2.0/.well-known/openid-configuration?appid="+srv.ClientID)
	if want := srv.URL + "/" + srv.TenantID + "/discovery/v2.0/keys?appid=" + srv.ClientID; m["jwks_uri"] != want {
		t.Errorf("jwks_uri = %v, want %s", m["jwks_uri"], want)
	}
}

func TestRoutes(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	tests := []struct {
		name   string
		method string
		path   string
		status int
		error  string
	}{
		{"unknown path", "GET", "/nothing/here", 404, "not_found"},
		{"root", "GET", "/", 404, "not_found"},
		{"tenant only", "GET", "/" + srv.TenantID, 404, "not_found"},
		{"trailing slash", "GET", "/" + srv.TenantID + "/discovery/v2.0/keys/", 404, "not_found"},
		{"token endpoint without a grant", "POST", "/" + srv.TenantID + "/oauth2/v2.0/token", 400, "invalid_request"},
		{"v1 token endpoint", "POST", "/" + srv.TenantID + "/oauth2/token", 404, "not_found"},
		{"unknown tenant", "GET", "/contoso.example/v2.0/.well-known/openid-configuration", 400, "invalid_tenant"},
		{"POST to keys", "POST", "/" + srv.TenantID + "/discovery/v2.0/keys", 405, "method_not_allowed"},
		{"HEAD of keys", "HEAD", "/" + srv.TenantID + "/discovery/v2.0/keys", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			if tc.error == "" {
				return
			}
			var body struct {
				Error string `json:"error"`
			}
			if err := decodeJSON(resp, &body); err != nil || body.Error != tc.error {
				t.Errorf("body error %q (%v), want %q", body.Error, err, tc.error)
			}
		})
	}
}

func TestServerIsAHandler(t *testing.T) {
	var _ http.Handler = (*entratest.Server)(nil)
	srv := entratest.NewUnstartedServer()
	defer srv.Close()
	// Not started: documents are written for the request's host.
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "http://authority.test/organizations/v2.0/.well-known/openid-configuration", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"issuer":"http://authority.test/{tenantid}/v2.0"`) {
		t.Fatalf("ServeHTTP: %d %s", rec.Code, rec.Body)
	}
	// Mounted in another server at a URL of its own.
	outer := httptest.NewServer(srv)
	defer outer.Close()
	srv.URL = outer.URL
	keys := fetchKeys(t, srv, outer.URL+"/"+srv.TenantID+"/discovery/v2.0/keys")
	tok := srv.UserToken("a")
	if err := verify(t, tok, keys); err != nil {
		t.Fatal(err)
	}
	if _, c := parse(t, tok); c["iss"] != outer.URL+"/"+srv.TenantID+"/v2.0" {
		t.Errorf("iss = %v", c["iss"])
	}
}

func TestUnstartedServer(t *testing.T) {
	srv := entratest.NewUnstartedServer()
	defer srv.Close()
	if srv.URL != "" {
		t.Fatalf("URL before Start = %q", srv.URL)
	}
	srv.TenantID = otherTenant
	srv.Start()
	if got := srv.Config().TenantID; got != otherTenant {
		t.Fatalf("TenantID = %q", got)
	}
	getJSON(t, srv, srv.URL+"/"+otherTenant+"/v2.0/.well-known/openid-configuration")
	wantPanic(t, srv.Start)

	closed := entratest.NewUnstartedServer()
	closed.Close()
	closed.Close()
	wantPanic(t, closed.Start)
}

func TestCloseIsIdempotentAndEndsRequests(t *testing.T) {
	for name, f := range map[string]entratest.Fault{"Hang": entratest.Hang(), "Delay": entratest.Delay(time.Hour)} {
		t.Run(name, func(t *testing.T) {
			srv := entratest.NewServer()
			arrived := make(chan struct{}, 3)
			srv.SetFault(entratest.EndpointJWKS, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				arrived <- struct{}{}
				f(w, r, next)
			})
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					resp, err := srv.Client().Get(srv.URL + "/common/discovery/v2.0/keys")
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == 200 {
							t.Errorf("a request held by %s got 200", name)
						}
					}
				})
			}
			for range 3 {
				<-arrived
			}
			done := make(chan struct{})
			go func() {
				srv.Close()
				srv.Close()
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute): // fail rather than hang
				t.Fatal("Close blocked on a held request")
			}
			wg.Wait()
			// After Close: no server, but minting still works.
			if _, err := srv.Client().Get(srv.URL + "/common/discovery/v2.0/keys"); err == nil {
				t.Error("request after Close succeeded")
			}
			if srv.UserToken("a") == "" {
				t.Error("no token after Close")
			}
		})
	}
}

// A request whose client gives up ends too, without Close: the hanging
// handler returns once the client has gone.
func TestHangEndsWithTheRequest(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	arrived, ended := make(chan struct{}), make(chan struct{})
	hang := entratest.Hang()
	srv.SetFault(entratest.EndpointMetadataV2, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		close(arrived)
		hang(w, r, next)
		close(ended)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/common/v2.0/.well-known/openid-configuration", nil)
	answered := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	<-arrived
	cancel()
	if err := <-answered; err == nil {
		t.Fatal("a hanging request answered")
	}
	select {
	case <-ended:
	case <-time.After(time.Minute): // fail rather than hang
		t.Fatal("the hanging handler outlived its client")
	}
}
