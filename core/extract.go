package entra

import (
	"net/http"
	"strings"
)

// For adapter authors: Request is what the authenticator reads from an HTTP request. The
// net/http middleware and each adapter implement it over their framework's
// request; extraction rules live here once, so every adapter behaves alike.
type Request interface {
	// HeaderValues returns every value of the named header, in order.
	HeaderValues(name string) []string
	// Cookie returns the named cookie's value, or "".
	Cookie(name string) string
	// Query returns the named query parameter, or "".
	Query(name string) string
	// Path returns the request's URL path as the request line carries it,
	// still percent-encoded (for net/http, r.URL.EscapedPath()), never the
	// decoded path: [WithSkipPaths] compares it byte for byte, so that
	// "/health%2Flive" is not taken for "/health/live".
	Path() string
}

// For adapter authors: HeaderBytesRequest is an optional interface of a [Request] whose framework
// keeps headers in reused buffers (fasthttp, under Fiber). HeaderBytes lends
// every value of the named header as bytes that need stay valid only until
// [Authenticator.Authenticate] returns: a token already in the
// verified-token cache is then found without copying it. The core copies
// whatever it keeps, and reads HeaderValues for everything else.
type HeaderBytesRequest interface {
	Request
	HeaderBytes(name string) [][]byte
}

// For adapter authors: HTTPRequest adapts an *http.Request to [Request]. It is a pointer-shaped
// value, so passing it as a Request does not allocate.
type HTTPRequest struct {
	R *http.Request // the request read; never nil
}

// HeaderValues implements [Request].
func (h HTTPRequest) HeaderValues(name string) []string {
	if name == "Authorization" {
		// Already canonical: the map lookup Header.Values would make,
		// without canonicalizing the name on every request.
		return h.R.Header["Authorization"]
	}
	return h.R.Header.Values(name)
}

// Cookie implements [Request].
func (h HTTPRequest) Cookie(name string) string {
	c, err := h.R.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// Query implements [Request].
func (h HTTPRequest) Query(name string) string { return h.R.URL.Query().Get(name) }

// Path implements [Request]: r.URL.EscapedPath(), the path as sent.
func (h HTTPRequest) Path() string { return h.R.URL.EscapedPath() }

// tokenSource is one place a token may come from.
type tokenSource struct {
	kind int // sourceAuthorization, sourceHeader, sourceCookie, sourceQuery
	name string
}

const (
	sourceAuthorization = iota
	sourceHeader
	sourceCookie
	sourceQuery
)

var errMultipleAuthorization = &Error{Code: CodeInvalidRequest, Description: "the request has more than one Authorization header"}
var errMultipleTokens = &Error{Code: CodeInvalidRequest, Description: "the request carries a token in more than one place"}

// extract finds the bearer token. It returns "" and nil when there is none
// (an Authorization header with another scheme, such as Basic, counts as
// none), and an *Error for a request it must refuse.
func extract(req Request, sources []tokenSource) (string, *Error) {
	token := ""
	for _, src := range sources {
		var t string
		switch src.kind {
		case sourceAuthorization:
			vals := req.HeaderValues("Authorization")
			if len(vals) > 1 {
				return "", errMultipleAuthorization
			}
			if len(vals) == 1 {
				t = bearer(vals[0])
			}
		case sourceHeader:
			vals := req.HeaderValues(src.name)
			if len(vals) > 1 {
				return "", &Error{Code: CodeInvalidRequest, Description: "the request has more than one " + src.name + " header"}
			}
			if len(vals) == 1 {
				t = strings.TrimSpace(vals[0])
				if b := bearer(t); b != "" {
					t = b
				}
			}
		case sourceCookie:
			t = strings.TrimSpace(req.Cookie(src.name))
		case sourceQuery:
			t = strings.TrimSpace(req.Query("access_token"))
		}
		if t == "" {
			continue
		}
		if token != "" {
			// RFC 6750 §2: clients MUST NOT use more than one method.
			return "", errMultipleTokens
		}
		token = t
	}
	return token, nil
}

// bearer returns the credentials of a "Bearer" Authorization value: the
// scheme is case-insensitive, surrounding spaces are tolerated, and any
// other scheme yields an empty result. It reads strings and lent bytes alike.
func bearer[T ~string | ~[]byte](v T) T {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' }
	for len(v) > 0 && isSpace(v[0]) {
		v = v[1:]
	}
	if len(v) < 7 || !isSpace(v[6]) {
		return v[:0]
	}
	for i := range 6 {
		if v[i]|0x20 != "bearer"[i] {
			return v[:0]
		}
	}
	v = v[7:]
	for len(v) > 0 && isSpace(v[0]) {
		v = v[1:]
	}
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}
