package entra

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Response is the HTTP answer to a refused request (RFC 6750): a status, the
// headers to set, and a JSON body {"error", "error_description", "code"}.
// The net/http middleware and every adapter write exactly this, headers
// first, so that all frameworks answer alike.
type Response struct {
	// Status is 400, 401, 403, 500 or 503.
	Status int
	// Header holds WWW-Authenticate, Retry-After, Content-Type and
	// Cache-Control as they apply.
	Header http.Header
	// Body is the JSON body.
	Body []byte
	// Err is the failure answered.
	Err *Error
}

// Write writes r to w.
func (r *Response) Write(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range r.Header {
		h[k] = v
	}
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}

// responseBody is the JSON shape of a refusal.
type responseBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Code        Code   `json:"code"`
}

// response maps err to its HTTP answer with a's options:
//   - no token: 401, WWW-Authenticate with the realm and no error code;
//   - a bad request (two Authorization headers): 400, invalid_request;
//   - an invalid token: 401, error="invalid_token";
//   - a claims challenge: 401, error="insufficient_claims" and claims
//     (also a missing authentication context or a revocation whose Error
//     carries Claims, for clients that handle challenges);
//   - a requirement not met: 403, error="insufficient_scope" (and scope);
//   - keys unavailable: 503 with Retry-After;
//   - anything else: 500, "server_error", nothing of the cause.
func (a *Authenticator) response(err error) *Response {
	var e *Error
	if !errors.As(err, &e) || e == nil {
		e = &Error{Code: CodeInternal, Description: "the request could not be authenticated", Err: err}
	} else {
		// A deep copy: renderers and hooks get an Error they may change
		// without changing a value shared between requests (a sentinel, a
		// Requirement's scopes, an error the caller keeps).
		ec := *e
		ec.Scopes = slices.Clone(e.Scopes)
		e = &ec
	}
	status, oauth := statusOf(e.Code)
	if e.Claims != "" && challengeable(e.Code) {
		status, oauth = http.StatusUnauthorized, "insufficient_claims"
	}
	r := &Response{Status: status, Err: e, Header: http.Header{
		"Content-Type":  {"application/json"},
		"Cache-Control": {"no-store"},
	}}
	desc := e.Description
	if desc == "" {
		desc = string(e.Code)
	}
	var ch strings.Builder
	ch.WriteString(`Bearer realm="`)
	ch.WriteString(headerSafe(a.o.realm))
	ch.WriteString(`"`)
	if a.o.authURI && a.v != nil {
		if u := a.v.AuthorizationURL(); u != "" {
			ch.WriteString(`, authorization_uri="`)
			ch.WriteString(headerSafe(u))
			ch.WriteString(`"`)
		}
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
		if e.Code != CodeTokenMissing {
			ch.WriteString(`, error="` + oauth + `", error_description="`)
			ch.WriteString(headerSafe(desc))
			ch.WriteString(`"`)
		}
		if status == http.StatusForbidden && len(e.Scopes) > 0 {
			ch.WriteString(`, scope="`)
			ch.WriteString(headerSafe(strings.Join(e.Scopes, " ")))
			ch.WriteString(`"`)
		}
		if oauth == "insufficient_claims" && e.Claims != "" {
			ch.WriteString(`, claims="`)
			ch.WriteString(base64.StdEncoding.EncodeToString([]byte(e.Claims)))
			ch.WriteString(`"`)
		}
		r.Header["Www-Authenticate"] = []string{ch.String()}
	case http.StatusServiceUnavailable:
		secs := int(e.RetryAfter / time.Second)
		if secs < 1 {
			secs = 1
		}
		r.Header["Retry-After"] = []string{strconv.Itoa(secs)}
	case http.StatusInternalServerError:
		desc = "the request could not be authenticated"
	}
	code := e.Code
	if status == http.StatusInternalServerError {
		code = CodeInternal
	}
	r.Body = marshalBody(responseBody{Error: oauth, Description: desc, Code: code})
	if a.o.render != nil {
		a.o.render(e, r)
		if r.Status < 400 {
			// A renderer may reshape the answer, never turn it into a success.
			r.Status = status
		}
	}
	return r
}

// statusOf maps a code to an HTTP status and an OAuth error code.
func statusOf(c Code) (int, string) {
	switch c {
	case CodeTokenMissing:
		return http.StatusUnauthorized, "unauthorized"
	case CodeInvalidRequest:
		return http.StatusBadRequest, "invalid_request"
	case CodeTokenMalformed, CodeTokenUnsupported, CodeAlgorithmNotAllowed, CodeFirstPartyToken,
		CodeUnknownKey, CodeSignatureInvalid, CodeTokenExpired, CodeTokenNotYetValid, CodeClaimMissing,
		CodeIssuerInvalid, CodeAudienceInvalid, CodeTenantNotAllowed, CodeTokenVersionNotAllowed, CodeNoScopeOrRole,
		CodeOIDMissing, CodeIDTokenNotAccepted, CodeUserFlowNotAllowed, CodeTokenRevoked:
		return http.StatusUnauthorized, "invalid_token"
	case CodeTokenBound, CodeTokenBindingInvalid:
		return http.StatusUnauthorized, "invalid_token"
	case CodeInsufficientClaims:
		return http.StatusUnauthorized, "insufficient_claims"
	case CodeForbidden, CodeGroupsOverage, CodeAgentNotAllowed, CodeAuthContextRequired:
		return http.StatusForbidden, "insufficient_scope"
	case CodeKeysUnavailable, CodeRevocationsUnavailable:
		return http.StatusServiceUnavailable, "temporarily_unavailable"
	}
	return http.StatusInternalServerError, "server_error"
}

// challengeable reports whether an *Error of code c that carries Claims is
// answered as a claims challenge (401 insufficient_claims) instead of its
// code's own status: a missing authentication context and a revocation,
// for clients that declared they handle challenges.
func challengeable(c Code) bool {
	return c == CodeInsufficientClaims || c == CodeAuthContextRequired || c == CodeTokenRevoked
}

// headerSafe makes s fit a quoted-string: printable ASCII only, with
// backslash and double quote escaped.
func headerSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// ClaimsChallenge returns the error that asks a client to come back with a
// token meeting claims, a JSON claims request such as Continuous Access
// Evaluation's {"access_token":{"nbf":{"essential":true,"value":"1636488000"}}}.
// It answers 401 with error="insufficient_claims" and the base64 claims.
// Send it only to clients that can handle it: those whose token's xms_cc
// holds "cp1" ([Claims.HasClientCapability]).
func ClaimsChallenge(claims string) *Error {
	return &Error{Code: CodeInsufficientClaims, Description: "the token does not meet the claims the API requires; request a new token with the claims in this challenge", Claims: claims}
}

// WriteError writes the HTTP answer to err, shaped by the options of the
// middleware that authenticated r (realm, authorization_uri, rendering), and
// reports it to that middleware's logger and OnRejected hook. Use it in
// handlers, e.g. for a [ClaimsChallenge].
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	ResponseFor(r.Context(), err).Write(w)
}

// For adapter authors: ResponseFor is [WriteError] for any framework: it
// returns the answer to err shaped by the options of the middleware that
// authenticated the request whose context is ctx (realm,
// authorization_uri, rendering), and reports it to that middleware's logger
// and OnRejected hook, for the caller to write (Gin: set the headers, then
// c.Data; Echo: c.Blob; Fiber: c.Set, c.Status, c.Send). With no
// middleware in ctx (context.Background(), a test) it uses the default
// options and reports nothing.
//
// The answer, by err:
//   - no token: 401, WWW-Authenticate with the realm and no error code;
//   - a bad request (two Authorization headers): 400, invalid_request;
//   - an invalid token: 401, error="invalid_token";
//   - a claims challenge: 401, error="insufficient_claims" and claims;
//   - a requirement not met: 403, error="insufficient_scope" (and scope);
//   - keys or revocations unavailable: 503 with Retry-After;
//   - an error that is not, and does not wrap, an *Error: 500
//     ([CodeInternal]), "server_error", nothing of the cause. A framework's
//     error handler that must leave the app's own errors to the app tests
//     errors.As(err, new(*entra.Error)) first.
//
// An error returned by [Authenticator.AuthenticateToken] was reported
// already: ResponseFor(ctx, err), with the ctx it returned, renders it with
// that Authenticator's options and does not report it twice.
func ResponseFor(ctx context.Context, err error) *Response {
	return authFromContext(ctx).reject(ctx, err)
}

// marshalBody encodes without HTML escaping, so that descriptions read as
// written ("Bearer <token>", not "Bearer \u003ctoken\u003e"); the body is
// served as application/json, never as HTML.
func marshalBody(v responseBody) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return []byte(strings.TrimSuffix(b.String(), "\n"))
}
