package sidecar

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/entraguard/entraguard/core/entratest"
	"github.com/entraguard/entraguard/core/entratest/adaptertest"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// startExtAuthz starts the sidecar with ext_authz for srv and returns a
// gRPC client of it.
func startExtAuthz(t *testing.T, srv *entratest.Server, rules string) authv3.AuthorizationClient {
	t.Helper()
	o := Options{Entra: srv.Config(), GRPCAddr: "127.0.0.1:0"}
	if rules != "" {
		o.ConfigFile = writeFile(t, "rules.yaml", rules)
	}
	addrs := strings.Fields(startSidecarOptions(t, o))
	conn, err := grpc.NewClient(addrs[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

// envoyLike is an HTTP proxy that asks ext_authz over gRPC as Envoy's
// ext_authz filter does (with encode_raw_headers), answers the denied
// response as it is, and on OK applies the headers to set and remove
// before proxying upstream.
func envoyLike(t *testing.T, client authv3.AuthorizationClient, upstreamURL string) string {
	t.Helper()
	target, _ := url.Parse(upstreamURL)
	rp := httputil.NewSingleHostReverseProxy(target)
	return newLoopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hm := &corev3.HeaderMap{}
		for k, vs := range r.Header {
			for _, v := range vs {
				hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: strings.ToLower(k), RawValue: []byte(v)})
			}
		}
		resp, err := client.Check(r.Context(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Scheme: "http", HeaderMap: hm,
		}}}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
			d := resp.GetDeniedResponse()
			for _, h := range d.GetHeaders() {
				w.Header().Add(h.GetHeader().GetKey(), h.GetHeader().GetValue())
			}
			w.WriteHeader(int(d.GetStatus().GetCode()))
			_, _ = w.Write([]byte(d.GetBody()))
			return
		}
		ok := resp.GetOkResponse()
		for _, name := range ok.GetHeadersToRemove() {
			r.Header.Del(name)
		}
		for _, h := range ok.GetHeaders() {
			r.Header.Set(h.GetHeader().GetKey(), h.GetHeader().GetValue())
		}
		rp.ServeHTTP(w, r)
	}))
}

// TestConformanceThroughExtAuthz runs the whole conformance table through
// the ext_authz gRPC API.
func TestConformanceThroughExtAuthz(t *testing.T) {
	adaptertest.RunHTTPTests(t, func(t *testing.T, srv *entratest.Server) string {
		return envoyLike(t, startExtAuthz(t, srv, contractRules), startUpstream(t).URL)
	})
}

func TestExtAuthzCheck(t *testing.T) {
	srv := entratest.NewServer()
	t.Cleanup(srv.Close)
	client := startExtAuthz(t, srv, contractRules)
	check := func(method, path string, headers map[string]string) *authv3.CheckResponse {
		t.Helper()
		resp, err := client.Check(t.Context(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: method, Path: path, Host: "api.example.com", Headers: headers,
		}}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	user := srv.Mint(entratest.Token{Scopes: []string{"Orders.Read"}, ObjectID: "11111111-2222-3333-4444-555555555555"})

	// OK: identity headers to set; those without a value removed.
	resp := check("GET", "/api/orders?page=2", map[string]string{"authorization": "Bearer " + user, "x-entra-roles": "Admin", ":path": "/ignored"})
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
		t.Fatalf("a valid token: %v", resp)
	}
	set := map[string]string{}
	for _, h := range resp.GetOkResponse().GetHeaders() {
		set[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		if h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Errorf("%s is appended, not overwritten: a client's value would stay", h.GetHeader().GetKey())
		}
	}
	if set["X-Entra-Object-Id"] != "11111111-2222-3333-4444-555555555555" || set["X-Entra-Scopes"] != "Orders.Read" || set["X-Entra-Identity-Type"] != "user" {
		t.Errorf("headers to set %v", set)
	}
	if rm := resp.GetOkResponse().GetHeadersToRemove(); !contains(rm, "X-Entra-Roles") {
		t.Errorf("headers to remove %v, want X-Entra-Roles (the token has no roles; the client sent one)", rm)
	}

	// Denied: the middleware's status, headers and body.
	resp = check("POST", "/api/orders", map[string]string{"authorization": "Bearer " + user})
	d := resp.GetDeniedResponse()
	if codes.Code(resp.GetStatus().GetCode()) != codes.PermissionDenied || d.GetStatus().GetCode() != 403 || !strings.Contains(d.GetBody(), `"code":"forbidden"`) {
		t.Errorf("create order with read only: %v", resp)
	}
	var challenge string
	for _, h := range d.GetHeaders() {
		if h.GetHeader().GetKey() == "Www-Authenticate" {
			challenge = h.GetHeader().GetValue()
		}
	}
	if !strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="Orders.Write"`) {
		t.Errorf("WWW-Authenticate %q", challenge)
	}
	// The client's own proxy headers cannot move the decision elsewhere.
	resp = check("GET", "/api/admin", map[string]string{"x-forwarded-uri": "/healthz", "x-original-uri": "/healthz", "x-entraguard-nginx": "auth"})
	if d := resp.GetDeniedResponse(); d.GetStatus().GetCode() != 401 || !strings.Contains(d.GetBody(), "token_missing") {
		t.Errorf("spoofed X-Forwarded-Uri: %v", resp)
	}
	if resp := check("GET", "/healthz", nil); codes.Code(resp.GetStatus().GetCode()) != codes.OK {
		t.Errorf("public /healthz: %v", resp)
	}
}
