package sidecar

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	entra "github.com/entraguard/entraguard/core"
)

// maxIntrospectionBody bounds an introspection request's body.
const maxIntrospectionBody = 64 << 10

// introspectionRequest is what both introspection shapes carry.
type introspectionRequest struct {
	Token            string `json:"token"`
	TokenTypeHint    string `json:"token_type_hint"`
	IdentityProvider string `json:"identity_provider"`
}

// readIntrospection reads a POST with a form or JSON body. It writes the
// error answer itself and returns false when the request is not one.
func readIntrospection(w http.ResponseWriter, r *http.Request) (introspectionRequest, bool) {
	var in introspectionRequest
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, []byte(`{"error":"invalid_request","error_description":"use POST"}`))
		return in, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIntrospectionBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, []byte(`{"error":"invalid_request","error_description":"the body is larger than 64 KiB"}`))
			return in, false
		}
		writeJSON(w, http.StatusBadRequest, []byte(`{"error":"invalid_request","error_description":"the body could not be read"}`))
		return in, false
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil || len(q["token"]) > 1 {
			writeJSON(w, http.StatusBadRequest, []byte(`{"error":"invalid_request","error_description":"the form must carry one token= parameter"}`))
			return in, false
		}
		in.Token, in.TokenTypeHint, in.IdentityProvider = q.Get("token"), q.Get("token_type_hint"), q.Get("identity_provider")
	case "application/json", "":
		if err := json.Unmarshal(body, &in); err != nil {
			writeJSON(w, http.StatusBadRequest, []byte(`{"error":"invalid_request","error_description":"the body must be a JSON object such as {\"token\":\"...\"} or a form with token="}`))
			return in, false
		}
	default:
		writeJSON(w, http.StatusUnsupportedMediaType, []byte(`{"error":"invalid_request","error_description":"send application/x-www-form-urlencoded or application/json"}`))
		return in, false
	}
	in.Token = strings.TrimSpace(in.Token)
	return in, true
}

// introspectRFC7662 answers RFC 7662 token introspection: {"active":true,
// plus every claim, plus scope and client_id} or exactly {"active":false}.
func (s *Server) introspectRFC7662(w http.ResponseWriter, r *http.Request) {
	in, ok := readIntrospection(w, r)
	if !ok {
		return
	}
	c := s.authenticate(r, in.Token)
	if c == nil {
		writeJSON(w, http.StatusOK, []byte(`{"active":false}`))
		return
	}
	out := c.Raw()
	out["active"] = true
	out["token_type"] = "Bearer"
	if sc := c.Scopes(); len(sc) > 0 {
		out["scope"] = strings.Join(sc, " ")
	}
	if id := c.AppID(); id != "" {
		out["client_id"] = id
	}
	s.writeClaims(w, out)
}

// introspectNAIS answers the NAIS token introspection shape (Texas):
// {"identity_provider":"entra_id","token":"..."} in, {"active":true, every
// claim} or {"active":false,"error":"..."} out, always with 200.
func (s *Server) introspectNAIS(w http.ResponseWriter, r *http.Request) {
	in, ok := readIntrospection(w, r)
	if !ok {
		return
	}
	var reason string
	switch {
	case in.IdentityProvider != "entra_id" && in.IdentityProvider != "azuread":
		reason = "unsupported identity_provider: use entra_id"
	case in.Token == "":
		reason = "token is missing"
	default:
		_, c, err := s.cur.Load().auth.AuthenticateToken(r.Context(), in.Token)
		if err == nil {
			out := c.Raw()
			out["active"] = true
			s.writeClaims(w, out)
			return
		}
		reason = "token is not valid"
		var e *entra.Error
		if errors.As(err, &e) && e.Description != "" {
			reason = e.Description
		}
	}
	b, _ := json.Marshal(map[string]any{"active": false, "error": reason})
	writeJSON(w, http.StatusOK, b)
}

// validate answers like the /Validate route of Microsoft's auth sidecar
// (Microsoft.Identity.Web.Sidecar): GET with the caller's Authorization
// header; 200 {"protocol":"Bearer","token":"...","claims":{...}}, or the
// library's refusal (401, 400, 503) as the forward-auth route answers it.
func (s *Server) validate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, []byte(`{"error":"invalid_request","error_description":"use GET with the Authorization header to validate"}`))
		return
	}
	a := s.cur.Load().auth
	ctx, resp := a.Authenticate(r.Context(), entra.HTTPRequest{R: r})
	if resp != nil {
		resp.Write(w)
		return
	}
	c, _ := entra.ClaimsFromContext(ctx)
	// Authenticate accepted the header, so it is "Bearer", a space or a
	// tab, and the token, with white space around any of them.
	token := strings.TrimSpace(r.Header.Get("Authorization"))
	token = strings.TrimSpace(token[min(len("Bearer"), len(token)):])
	// The token goes back to the caller who sent it, as Microsoft's
	// sidecar returns it (clients read it to call downstream APIs); it is
	// never logged.
	b, err := json.Marshal(struct {
		Protocol string          `json:"protocol"`
		Token    string          `json:"token"`
		Claims   json.RawMessage `json:"claims"`
	}{"Bearer", token, c.RawJSON()})
	if err != nil {
		refusalFor(r.Context(), a, err).Write(w)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// authenticate applies the default policy (and the options of the rules
// file) to token and returns the claims, or nil.
func (s *Server) authenticate(r *http.Request, token string) *entra.Claims {
	if token == "" {
		return nil
	}
	_, c, err := s.cur.Load().auth.AuthenticateToken(r.Context(), token)
	if err != nil {
		return nil
	}
	return c
}

func (s *Server) writeClaims(w http.ResponseWriter, out map[string]any) {
	b, err := json.Marshal(out)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, []byte(`{"error":"server_error"}`))
		return
	}
	writeJSON(w, http.StatusOK, b)
}
