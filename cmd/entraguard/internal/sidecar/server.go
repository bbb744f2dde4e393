// Package sidecar is `entraguard sidecar`: the library's decisions, served
// over HTTP to proxies (nginx auth_request, Traefik forwardAuth, Caddy
// forward_auth), to services in any language (RFC 7662 and NAIS-style
// introspection, a route compatible with Microsoft's auth sidecar), and to
// Envoy (ext_authz). docs/sidecar.md describes what it serves.
package sidecar

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	entra "github.com/entraguard/entraguard/core"
)

// Reserved paths: everything else is forward-auth.
const (
	PathHealth       = "/healthz"
	PathReady        = "/readyz"
	PathIntrospect   = "/introspect"        // RFC 7662
	PathNAIS         = "/api/v1/introspect" // NAIS / Texas
	PathValidate     = "/Validate"          // Microsoft's auth sidecar
	headerNginxPhase = "X-Entraguard-Nginx" // "auth" or "refusal"; see docs/sidecar.md
)

// Server answers the sidecar's HTTP routes. Create it with [New]; swap its
// rules with [Server.SetPolicy] at any time.
type Server struct {
	v   *entra.Validator
	cur atomic.Pointer[compiled]
	log *slog.Logger
	// revocationsReady, when revocations come through Redis, reports
	// whether the mirror is in sync; /readyz answers 503 while it is not.
	revocationsReady func() error
}

// compiled is a Policy with the Authenticator that applies its options.
type compiled struct {
	p    *Policy
	auth *entra.Authenticator
}

// New returns a Server deciding with v and p (nil: the default policy).
// log receives one line per refusal (code and status, never the token) and,
// at debug level, one per decision; nil discards them.
func New(v *entra.Validator, p *Policy, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{v: v, log: log}
	s.SetPolicy(p)
	return s
}

// SetPolicy makes p (nil: the default policy) decide every request from now on.
func (s *Server) SetPolicy(p *Policy) {
	if p == nil {
		p = DefaultPolicy()
	}
	s.cur.Store(&compiled{p: p, auth: entra.NewAuthenticator(s.v, entra.WithRealm(p.realm), entra.WithLogger(s.log))})
}

// Policy returns the policy in force.
func (s *Server) Policy() *Policy { return s.cur.Load().p }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathHealth:
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
	case PathReady:
		if s.v.Stats().Keys == 0 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, []byte(`{"status":"signing keys not loaded yet"}`))
			return
		}
		if s.revocationsReady != nil && s.revocationsReady() != nil {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, []byte(`{"status":"revocation list not in sync with Redis"}`))
			return
		}
		writeJSON(w, http.StatusOK, []byte(`{"status":"ready"}`))
	case PathIntrospect:
		s.introspectRFC7662(w, r)
	case PathNAIS:
		s.introspectNAIS(w, r)
	case PathValidate:
		s.validate(w, r)
	default:
		s.forwardAuth(w, r, s.cur.Load())
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Cache-Control"] = []string{"no-store"}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errMalformed answers a request nginx refused as malformed (400).
var errMalformed = &entra.Error{Code: entra.CodeInvalidRequest, Description: "the request is malformed"}

// Header values shared by every response; net/http only reads them.
var (
	noStore    = []string{"no-store"}
	emptyValue = []string{""}
)

// Original is the request a proxy asks about.
type Original struct {
	Method string
	Host   string // lower case, without port
	Path   string // decoded and cleaned, see cleanPath
}

// original reads the proxied request from the proxy's headers:
// X-Forwarded-Method/-Uri/-Host (Traefik, Caddy), X-Original-Method/-URI
// (nginx auth_request) or X-Original-URL (ingress-nginx), falling back to
// the sidecar's own request line. A header sent twice, or two sources that
// disagree, is a request to refuse: a client may have sent one of them.
func original(r *http.Request) (Original, string) {
	h := r.Header
	method, p1 := one(h, "X-Forwarded-Method")
	m2, p2 := one(h, "X-Original-Method")
	uri, p3 := one(h, "X-Forwarded-Uri")
	u2, p4 := one(h, "X-Original-Uri")
	full, p5 := one(h, "X-Original-Url")
	host, p6 := one(h, "X-Forwarded-Host")
	if p := p1 + p2 + p3 + p4 + p5 + p6; p != "" {
		return Original{}, p
	}
	if full != "" {
		fu, fh, ok := splitURL(full)
		if !ok {
			return Original{}, "X-Original-URL is not an absolute http(s) URL"
		}
		if u2 != "" && u2 != fu {
			return Original{}, "X-Original-URI and X-Original-URL name different requests"
		}
		u2 = fu
		if host != "" && !strings.EqualFold(hostOnly(host), hostOnly(fh)) {
			return Original{}, "X-Forwarded-Host and X-Original-URL name different hosts"
		}
		host = fh
	}
	switch {
	case method == "":
		method = m2
	case m2 != "" && m2 != method:
		return Original{}, "X-Forwarded-Method and X-Original-Method disagree"
	}
	switch {
	case uri == "":
		uri = u2
	case u2 != "" && u2 != uri:
		return Original{}, "X-Forwarded-Uri and X-Original-URI disagree"
	}
	if method == "" {
		method = r.Method
	}
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	if host == "" {
		host = r.Host
	}
	if !isMethod(method) {
		return Original{}, "the original method is not an HTTP method"
	}
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	p, ok := cleanPath(uri)
	if !ok {
		return Original{}, "the original URI's path is not a valid absolute path"
	}
	return Original{Method: method, Host: hostOnly(host), Path: p}, ""
}

// one returns the single value of the canonical header name, or a problem
// when it is repeated.
func one(h http.Header, name string) (string, string) {
	v := h[name]
	switch len(v) {
	case 0:
		return "", ""
	case 1:
		return v[0], ""
	}
	return "", "the request has more than one " + name + " header"
}

func isMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// splitURL returns the request URI and host of an absolute URL.
func splitURL(s string) (uri, host string, ok bool) {
	var rest string
	switch {
	case strings.HasPrefix(s, "https://"):
		rest = s[len("https://"):]
	case strings.HasPrefix(s, "http://"):
		rest = s[len("http://"):]
	default:
		return "", "", false
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return "/", rest, rest != ""
	}
	return rest[i:], rest[:i], i > 0
}

// noRule refuses a request no rule matches.
var noRule = entra.RequireFunc("a rule of the sidecar allowing this request", func(*entra.Claims) error {
	return errors.New("no rule of the sidecar allows this request")
})

// forwardAuth answers a proxy's question: may this request through? It
// decides with c, the policy in force when the request arrived, from start
// to end: a reload meanwhile does not mix two policies in one answer.
func (s *Server) forwardAuth(w http.ResponseWriter, r *http.Request, c *compiled) {
	phase := r.Header[headerNginxPhase]
	o, problem := original(r)
	if problem != "" {
		s.refuse(w, r, c, phase, refusalFor(r.Context(), c.auth, &entra.Error{Code: entra.CodeInvalidRequest, Description: problem}), "")
		return
	}
	var ru *rule
	if c.p.rules != nil {
		if ru = c.p.match(o.Host, o.Method, o.Path); ru == nil {
			// Unmatched: refused; a request without a valid token learns
			// only that (401), one with a valid token gets 403.
			ctx, resp := c.auth.Authenticate(r.Context(), entra.HTTPRequest{R: r})
			if resp == nil {
				resp = entra.AuthorizeRoute(ctx, "unmatched", noRule)
			}
			s.refuse(w, r, c, phase, resp, "no rule")
			return
		}
		if ru.public {
			s.allow(w, r, phase, c, nil, ru)
			return
		}
	}
	ctx, resp := c.auth.Authenticate(r.Context(), entra.HTTPRequest{R: r})
	if resp == nil && ru != nil && len(ru.reqs) > 0 {
		resp = entra.AuthorizeRoute(ctx, ru.describe, ru.reqs...)
	}
	if resp != nil {
		desc := "default policy"
		if ru != nil {
			desc = ru.describe
		}
		s.refuse(w, r, c, phase, resp, desc)
		return
	}
	claims, _ := entra.ClaimsFromContext(ctx)
	s.allow(w, r, phase, c, claims, ru)
}

// allow answers 200 with the caller's identity (claims nil: public).
func (s *Server) allow(w http.ResponseWriter, r *http.Request, phase []string, c *compiled, claims *entra.Claims, ru *rule) {
	if len(phase) == 1 {
		switch phase[0] {
		case "refusal":
			// nginx asked for the answer to a refusal, and the decision
			// has changed since (keys loaded meanwhile): never answer
			// the client 200 without the upstream; ask it to retry.
			refusalFor(r.Context(), c.auth, &entra.Error{Code: entra.CodeKeysUnavailable, Description: "the decision changed while the request was answered: retry", RetryAfter: time.Second}).Write(w)
			return
		case "bad-request":
			// nginx refused the request as malformed on its own.
			refusalFor(r.Context(), c.auth, errMalformed).Write(w)
			return
		}
	}
	h := w.Header()
	if claims != nil {
		c.p.headers.write(h, claims)
	} else {
		for _, o := range c.p.headers {
			h[o.header] = emptyValue
		}
	}
	h["Cache-Control"] = noStore
	w.WriteHeader(http.StatusOK)
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "entraguard sidecar: allowed", slog.String("rule", ruleName(ru)), slog.Bool("public", claims == nil))
	}
}

func ruleName(ru *rule) string {
	if ru == nil {
		return "default policy"
	}
	return ru.describe
}

// refuse writes the library's answer, or for nginx's auth subrequest a
// bare 401 (nginx passes on 401 and 403 only; its error_page then fetches
// the full answer with X-Entraguard-Nginx: refusal).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, c *compiled, phase []string, resp *entra.Response, rule string) {
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "entraguard sidecar: refused", slog.String("rule", rule), slog.Int("status", resp.Status), slog.String("code", string(resp.Err.Code)))
	}
	if len(phase) == 1 {
		switch phase[0] {
		case "auth":
			w.Header()["Cache-Control"] = noStore
			w.WriteHeader(http.StatusUnauthorized)
			return
		case "bad-request":
			// nginx refused the request as malformed: the answer stays a
			// 400, the library's own when it is one (two Authorization headers).
			if resp.Status != http.StatusBadRequest {
				resp = refusalFor(r.Context(), c.auth, errMalformed)
			}
		}
	}
	resp.Write(w)
}

// refusalFor is the answer to err shaped by a's options (realm,
// authorization_uri), reported to a's logger and hooks as the middleware's
// refusals are: ResponseFor finds a in the context.
func refusalFor(ctx context.Context, a *entra.Authenticator, err error) *entra.Response {
	return entra.ResponseFor(a.Skipped(ctx), err)
}
