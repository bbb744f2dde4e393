package sidecar

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// ExtAuthz is Envoy's external authorization service
// (envoy.service.auth.v3.Authorization) over the sidecar's decisions: a
// Check is decided exactly as a forward-auth request with the same
// method, host, path and headers, and answered OK with the identity
// headers to set upstream, or denied with the library's status, headers
// and body.
type ExtAuthz struct {
	authv3.UnimplementedAuthorizationServer
	s *Server
}

// NewExtAuthz returns the ext_authz service of s.
func NewExtAuthz(s *Server) *ExtAuthz { return &ExtAuthz{s: s} }

// Register registers e on g.
func (e *ExtAuthz) Register(g *grpc.Server) { authv3.RegisterAuthorizationServer(g, e) }

// proxyHeaders are the headers a forward-auth request takes its original
// request from; in a Check they come from Envoy's attributes only.
var proxyHeaders = []string{"X-Forwarded-Method", "X-Forwarded-Uri", "X-Forwarded-Host", "X-Original-Method", "X-Original-Uri", "X-Original-Url", headerNginxPhase}

// Check implements authv3.AuthorizationServer.
func (e *ExtAuthz) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	h := req.GetAttributes().GetRequest().GetHttp()
	hdr := make(http.Header, len(h.GetHeaders())+4)
	if hm := h.GetHeaderMap(); hm != nil {
		// encode_raw_headers: repeated headers stay apart, so that two
		// Authorization headers are refused as the middleware refuses them.
		for _, kv := range hm.GetHeaders() {
			if k := kv.GetKey(); k != "" && k[0] != ':' {
				v := kv.GetValue()
				if raw := kv.GetRawValue(); len(raw) > 0 {
					v = string(raw)
				}
				ck := http.CanonicalHeaderKey(k)
				hdr[ck] = append(hdr[ck], v)
			}
		}
	} else {
		for k, v := range h.GetHeaders() {
			if k != "" && k[0] != ':' {
				hdr[http.CanonicalHeaderKey(k)] = []string{v}
			}
		}
	}
	for _, k := range proxyHeaders {
		delete(hdr, k)
	}
	method, path, host := h.GetMethod(), h.GetPath(), h.GetHost()
	if method == "" {
		method = http.MethodGet
	}
	if path == "" {
		path = "/"
	}
	hdr["X-Forwarded-Method"] = []string{method}
	hdr["X-Forwarded-Uri"] = []string{path}
	hdr["X-Forwarded-Host"] = []string{host}
	r := (&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}, Header: hdr, Host: host}).WithContext(ctx)
	rec := &captured{h: http.Header{}}
	// One policy decides and names the identity headers to set or remove:
	// with two, a reload in between could let a client's own header through.
	c := e.s.cur.Load()
	e.s.forwardAuth(rec, r, c)

	if rec.status == http.StatusOK {
		ok := &authv3.OkHttpResponse{}
		for _, o := range c.p.headers {
			name := o.header
			if v := rec.h[name]; len(v) == 1 && v[0] != "" {
				ok.Headers = append(ok.Headers, &corev3.HeaderValueOption{
					Header:       &corev3.HeaderValue{Key: name, Value: v[0]},
					AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
				})
			} else {
				// Never let a client's own identity header through.
				ok.HeadersToRemove = append(ok.HeadersToRemove, name)
			}
		}
		return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(codes.OK)}, HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok}}, nil
	}
	denied := &authv3.DeniedHttpResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode(rec.status)}, Body: rec.body.String()}
	for k, vs := range rec.h {
		for i, v := range vs {
			action := corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
			if i > 0 {
				action = corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD
			}
			denied.Headers = append(denied.Headers, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v}, AppendAction: action})
		}
	}
	return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(grpcCode(rec.status)), Message: http.StatusText(rec.status)}, HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: denied}}, nil
}

func grpcCode(status int) codes.Code {
	switch status {
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	return codes.Internal
}

// captured is the ResponseWriter a Check's decision is written to.
type captured struct {
	h      http.Header
	status int
	body   strings.Builder
}

func (c *captured) Header() http.Header { return c.h }
func (c *captured) WriteHeader(s int) {
	if c.status == 0 {
		c.status = s
	}
}
func (c *captured) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}
