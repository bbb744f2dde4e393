package entratest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// An Endpoint names a group of the authority's URLs, for faults and counts.
type Endpoint int

// The endpoints of the fake authority.
const (
	// EndpointMetadataV2 is /{tenant}/v2.0/.well-known/openid-configuration.
	EndpointMetadataV2 Endpoint = iota + 1
	// EndpointMetadataV1 is /{tenant}/.well-known/openid-configuration.
	EndpointMetadataV1
	// EndpointJWKS is both key sets: /{tenant}/discovery/v2.0/keys and
	// /{tenant}/discovery/keys.
	EndpointJWKS
	// EndpointToken is /{tenant}/oauth2/v2.0/token (and the v1.0
	// /{tenant}/oauth2/token).
	EndpointToken

	numEndpoints = iota + 1
)

// String returns a short name of the endpoint, such as "jwks".
func (e Endpoint) String() string {
	switch e {
	case EndpointMetadataV2:
		return "metadata-v2.0"
	case EndpointMetadataV1:
		return "metadata-v1.0"
	case EndpointJWKS:
		return "jwks"
	case EndpointToken:
		return "token"
	}
	return "Endpoint(" + strconv.Itoa(int(e)) + ")"
}

func (e Endpoint) check(caller string) {
	if e < EndpointMetadataV2 || e >= numEndpoints {
		panic(fmt.Sprintf("entratest: %s: unknown endpoint %d", caller, int(e)))
	}
}

// A Fault answers the requests of an endpoint in place of the authority,
// set with [Server.SetFault]. next is the authority's normal answer, which a
// fault may call (after a delay, say) or not.
//
// The request's context ends when the client goes away or the server
// closes: a fault that waits must watch it, so that Close never waits on it.
type Fault func(w http.ResponseWriter, r *http.Request, next http.Handler)

// SetFault makes f answer the requests of endpoint ep, from now on and for
// every tenant; a nil f restores the normal answers. The requests are still
// counted by [Server.Fetches]. SetFault panics on an unknown endpoint.
func (s *Server) SetFault(ep Endpoint, f Fault) {
	ep.check("SetFault")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[ep] = f
}

// ClearFaults removes the faults of every endpoint.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = [numEndpoints]Fault{}
}

// Fetches returns how many requests endpoint ep has received since the
// server started or [Server.ResetCounts], whatever their answer, faults
// included. It panics on an unknown endpoint.
func (s *Server) Fetches(ep Endpoint) int {
	ep.check("Fetches")
	return int(s.counts[ep].Load())
}

// LastQuery returns the query parameters of the last request endpoint ep
// received, such as the appid of an application-specific key set, or nil if
// it received none. It panics on an unknown endpoint.
func (s *Server) LastQuery(ep Endpoint) url.Values {
	ep.check("LastQuery")
	s.mu.RLock()
	defer s.mu.RUnlock()
	q := s.lastQuery[ep]
	if q == nil {
		return nil
	}
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// ResetCounts sets the counts of [Server.Fetches] back to zero and forgets
// the queries of [Server.LastQuery].
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.counts {
		s.counts[i].Store(0)
	}
	s.lastQuery = [numEndpoints]url.Values{}
}

// Status answers with the HTTP status code and a small JSON error body.
func Status(code int) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		answerStatus(w, code)
	}
}

func answerStatus(w http.ResponseWriter, code int) {
	answerJSON(w, code, noStore, map[string]string{
		"error":             "injected_fault",
		"error_description": fmt.Sprintf("entratest: injected %d %s", code, http.StatusText(code)),
	})
}

// RetryAfter answers with the status code (429 or 503, typically) and a
// Retry-After header of d, in whole seconds rounded up.
func RetryAfter(code int, d time.Duration) Fault {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 0 {
		secs = 0
	}
	value := strconv.FormatInt(secs, 10)
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.Header().Set("Retry-After", value)
		answerStatus(w, code)
	}
}

// Delay waits for d, then answers normally. If the request's context ends
// first (the client went away, or the server is closing), it answers 503
// at once.
func Delay(d time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if !waitOrDone(r.Context(), d) {
			answerStatus(w, http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	}
}

// Hang never answers: it holds the request until its context ends (the
// client went away, or the server is closing), then answers 503.
func Hang() Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		<-r.Context().Done()
		answerStatus(w, http.StatusServiceUnavailable)
	}
}

// Body answers 200 with this Content-Type and body, such as an HTML error
// page, truncated JSON, or an empty key set {"keys":[]}.
func Body(contentType string, body []byte) Fault {
	body = append([]byte(nil), body...)
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

// Huge answers 200 with an application/json body of exactly n bytes, sent
// in chunks without a Content-Length and without holding n bytes in
// memory: a key set whose single key has an n-byte modulus (once n is large
// enough to hold the JSON around it). It stops early if the request's
// context ends.
func Huge(n int64) Fault {
	const (
		head = `{"keys":[{"kty":"RSA","use":"sig","kid":"huge","n":"`
		tail = `","e":"AQAB"}]}`
	)
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if n < int64(len(head)+len(tail)) {
			_, _ = w.Write([]byte((head + tail)[:max(n, 0)]))
			return
		}
		if _, err := w.Write([]byte(head)); err != nil {
			return
		}
		chunk := make([]byte, 32<<10)
		for i := range chunk {
			chunk[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i%64]
		}
		for left := n - int64(len(head)+len(tail)); left > 0; {
			if r.Context().Err() != nil {
				return
			}
			m := min(left, int64(len(chunk)))
			if _, err := w.Write(chunk[:m]); err != nil {
				return
			}
			left -= m
		}
		_, _ = w.Write([]byte(tail))
	}
}

// Redirect answers with a redirect to location, with code 301, 302, 303,
// 307 or 308. It panics on another code.
func Redirect(location string, code int) Fault {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		panic(fmt.Sprintf("entratest: Redirect(%q, %d): use a 3xx redirect code", location, code))
	}
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		http.Redirect(w, r, location, code)
	}
}

// Disconnect closes the connection without answering, as a crashed server
// or a dropped connection would. Where the connection cannot be taken over
// (HTTP/2, or a ResponseWriter that is not a server's), it aborts the
// response with [http.ErrAbortHandler].
func Disconnect() Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		_ = conn.Close()
	}
}

// Times applies f to the next n requests of the endpoint, then answers
// normally: Times(2, Status(503)) fails twice, then recovers.
func Times(n int, f Fault) Fault {
	var left atomic.Int64
	left.Store(int64(n))
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if left.Add(-1) >= 0 {
			f(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	}
}

// waitOrDone waits for d and reports whether it passed before ctx ended.
func waitOrDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
