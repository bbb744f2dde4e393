package entratest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	entra "github.com/entraguard/entraguard/core"
)

// A Server is a fake Microsoft Entra ID authority listening on a loopback
// address, for tests: it serves the v2.0 and v1.0 OpenID metadata and key
// sets (JWKS) at Entra ID's own paths, mints signed tokens shaped like
// Entra ID's, rotates keys, and injects faults.
//
// A Server is also an [http.Handler], to mount it in a server of your own.
// All its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the authority, "http://127.0.0.1:port", with
	// no trailing slash. It is set by Start. Tokens carry issuers under it,
	// so a Server used only as an [http.Handler] should get the URL it is
	// mounted at before it mints tokens.
	URL string

	// TenantID is the home tenant: the default tid of minted tokens and the
	// TenantID of [Server.Config]. Default: a random GUID, or [WithTenantID].
	TenantID string

	// ClientID is the application (client) ID of the API under test: the
	// default audience of minted tokens and the ClientID of [Server.Config].
	// Default: a random GUID, or [WithClientID].
	ClientID string

	// CallerID is the application (client) ID of the app that calls the
	// API: the azp (v2.0) or appid (v1.0) of minted tokens. Default: a random
	// GUID.
	CallerID string

	// CallerObjectID is the object ID of the calling app's service
	// principal: the oid and sub of app-only tokens. Default: a random GUID.
	CallerObjectID string

	// UserObjectID is the object ID of the signed-in user of delegated
	// tokens: their oid. Default: a random GUID.
	UserObjectID string

	// UserName is the display name of the signed-in user of delegated
	// tokens. Default: "Adele Vance".
	UserName string

	// UserPrincipalName is the sign-in name of the user of delegated tokens:
	// preferred_username (v2.0), upn and unique_name (v1.0).
	// Default: "AdeleV@contoso.onmicrosoft.com".
	UserPrincipalName string

	opts   options
	apps   appRegistry // registered client apps (token endpoint)
	ts     *httptest.Server
	client *http.Client

	ctx       context.Context // done when Close starts
	cancel    context.CancelFunc
	started   atomic.Bool
	closeOnce sync.Once

	mu        sync.RWMutex
	keys      []*signingKey
	current   *signingKey
	faults    [numEndpoints]Fault
	lastQuery [numEndpoints]url.Values
	counts    [numEndpoints]atomic.Int64
}

// NewServer starts and returns a new fake authority on 127.0.0.1. The
// caller should call Close when finished, to shut it down.
//
// NewServer panics if it cannot listen on a loopback port or if an option
// is invalid; it needs no *testing.T, so a demo program can embed it too.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a new fake authority that listens on a
// loopback port but does not serve yet. Its fields may be changed before
// [Server.Start] is called. The caller should call Close when finished.
//
// NewUnstartedServer panics as [NewServer] does.
func NewUnstartedServer(opts ...Option) *Server {
	o := buildOptions(opts)
	l := o.listener
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			panic(fmt.Sprintf("entratest: failed to listen on a loopback port: %v", err))
		}
	}
	s := &Server{
		TenantID:          o.tenantID,
		ClientID:          o.clientID,
		CallerID:          NewGUID(),
		CallerObjectID:    NewGUID(),
		UserObjectID:      NewGUID(),
		UserName:          "Adele Vance",
		UserPrincipalName: "AdeleV@contoso.onmicrosoft.com",
		opts:              o,
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 16,
		}},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ts = &httptest.Server{Listener: l, Config: &http.Server{Handler: s}}
	s.addKey(keyPublished, "", true)
	return s
}

// Start starts a server from [NewUnstartedServer]. It panics if the server
// is already started or closed.
func (s *Server) Start() {
	s.checkStart()
	s.URL = "http://" + loopbackAddr(s.ts.Listener.Addr())
	s.ts.Start()
}

// checkStart panics unless the server can start now, and marks it started.
func (s *Server) checkStart() {
	if s.ctx.Err() != nil {
		panic("entratest: Start on a closed Server")
	}
	if !s.started.CompareAndSwap(false, true) {
		panic("entratest: Server already started")
	}
}

// Close shuts the server down and blocks until all its requests have
// ended. Requests held by [Delay] or [Hang] end at once. Close may be
// called more than once, and on a server that was never started. Tokens can
// still be minted after Close, but its keys may then be reused by servers
// started later.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.ts.Close()
		s.client.CloseIdleConnections()
		s.releaseAllKeys()
	})
}

// Client returns an HTTP client for the server; for a server on HTTPS
// ([NewTLSServer]) it trusts the server's certificate. It is closed with
// the server.
func (s *Server) Client() *http.Client {
	return s.client
}

// Config returns the configuration of an API of the server's home tenant:
// TenantID, ClientID, AuthorityHost (URL + "/") and HTTPClient are set;
// change or add the other fields as the test needs.
func (s *Server) Config() entra.Config {
	return entra.Config{
		TenantID:      s.TenantID,
		ClientID:      s.ClientID,
		AuthorityHost: s.URL + "/",
		HTTPClient:    s.Client(),
	}
}

// MultiTenantConfig returns [Server.Config] for a multi-tenant API: its
// TenantID is tenant, "organizations" or "common". Tokens of any tenant
// GUID ([Token.TenantID]) are then issued by the authority. Set
// AllowedTenants or AnyTenant on it: [entra.NewValidator] refuses a
// multi-tenant configuration with neither.
// MultiTenantConfig panics for any other tenant.
func (s *Server) MultiTenantConfig(tenant string) entra.Config {
	switch strings.ToLower(tenant) {
	case entra.TenantOrganizations, entra.TenantCommon:
	default:
		panic(fmt.Sprintf("entratest: MultiTenantConfig(%q): use %q or %q", tenant, entra.TenantOrganizations, entra.TenantCommon))
	}
	cfg := s.Config()
	cfg.TenantID = tenant
	return cfg
}

// ServeHTTP answers a request to the authority. Paths are Entra ID's, under
// a tenant segment that is a tenant GUID, "organizations", "common" or
// "consumers":
//
//	GET /{tenant}/v2.0/.well-known/openid-configuration  v2.0 metadata  (EndpointMetadataV2)
//	GET /{tenant}/.well-known/openid-configuration       v1.0 metadata  (EndpointMetadataV1)
//	GET /{tenant}/discovery/v2.0/keys                    v2.0 key set   (EndpointJWKS)
//	GET /{tenant}/discovery/keys                         v1.0 key set   (EndpointJWKS)
//	    /{tenant}/oauth2/v2.0/token                      token endpoint (EndpointToken)
//
// Any other path is answered 404 with {"error":"not_found"}.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Requests end when the server closes, whoever serves them.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	r = r.WithContext(ctx)

	rt, ok := parseRoute(r.URL.Path)
	if !ok {
		answerJSON(w, http.StatusNotFound, noStore, map[string]string{"error": "not_found"})
		return
	}
	s.counts[rt.ep].Add(1)
	s.mu.Lock()
	s.lastQuery[rt.ep] = r.URL.Query()
	f := s.faults[rt.ep]
	s.mu.Unlock()

	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.answer(rt, w, r) })
	if f != nil {
		f(w, r, next)
		return
	}
	next.ServeHTTP(w, r)
}

// route is a request path resolved to an endpoint.
type route struct {
	ep     Endpoint
	v1     bool   // the v1.0 form of the endpoint
	tenant string // the tenant path segment, as sent
}

func parseRoute(path string) (route, bool) {
	tenant, rest, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok || tenant == "" {
		return route{}, false
	}
	rt := route{tenant: tenant}
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		rt.ep = EndpointMetadataV2
	case ".well-known/openid-configuration":
		rt.ep, rt.v1 = EndpointMetadataV1, true
	case "discovery/v2.0/keys":
		rt.ep = EndpointJWKS
	case "discovery/keys":
		rt.ep, rt.v1 = EndpointJWKS, true
	case "oauth2/v2.0/token":
		rt.ep = EndpointToken
	case "oauth2/token":
		rt.ep, rt.v1 = EndpointToken, true
	default:
		return route{}, false
	}
	return rt, true
}

// answer answers a routed request without faults.
func (s *Server) answer(rt route, w http.ResponseWriter, r *http.Request) {
	if rt.ep == EndpointToken {
		s.serveToken(w, r, rt.tenant)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		answerJSON(w, http.StatusMethodNotAllowed, noStore, map[string]string{"error": "method_not_allowed"})
		return
	}
	t, ok := resolveTenant(rt.tenant)
	if !ok {
		answerJSON(w, http.StatusBadRequest, noStore, map[string]string{
			"error":             "invalid_tenant",
			"error_description": fmt.Sprintf("AADSTS90002: Tenant '%s' not found. The fake authority serves tenant GUIDs, %q, %q and %q.", rt.tenant, entra.TenantOrganizations, entra.TenantCommon, entra.TenantConsumers),
		})
		return
	}
	base := s.baseURL(r)
	switch {
	case rt.ep == EndpointMetadataV2:
		answerJSON(w, http.StatusOK, cacheable, s.metadataV2(base, t, r.URL.Query().Get("appid")))
	case rt.ep == EndpointMetadataV1:
		answerJSON(w, http.StatusOK, cacheable, s.metadataV1(base, t, r.URL.Query().Get("appid")))
	case rt.v1:
		answerJSON(w, http.StatusOK, cacheable, s.keySet(t, r.URL.Query().Get("appid"), ""))
	default:
		answerJSON(w, http.StatusOK, cacheable, s.keySet(t, r.URL.Query().Get("appid"), issuerV2(base, t.issuerTenant())))
	}
}

// baseURL is the authority URL documents are written for: URL once set,
// else the request's own scheme and host.
func (s *Server) baseURL(r *http.Request) string {
	if s.URL != "" {
		return s.URL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// Cache-Control values of Entra ID's answers.
const (
	cacheable = "max-age=86400, private"
	noStore   = "no-store, no-cache"
)

// answerJSON answers v as JSON, with Entra ID's headers.
func answerJSON(w http.ResponseWriter, status int, cacheControl string, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("entratest: encoding a response: " + err.Error())
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", cacheControl)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
