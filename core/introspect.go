package entra

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxIntrospectionBody bounds an introspection request.
const maxIntrospectionBody = 64 << 10

// IntrospectionHandler returns an http.Handler that validates tokens for
// other processes (the contract of the NAIS platform's token introspection
// sidecar): it answers a POST whose JSON or form body is
// {"identity_provider": "entra_id", "token": "..."} with HTTP 200 and either
// {"active": true, ...every claim} or {"active": false, "error": "..."}.
// "azuread" is accepted as another name of the provider. Bodies are limited
// to 64 KiB; tokens are never logged.
//
// It runs [Validator.Validate] only: the middleware's policy that a token
// carry scp or roles does not apply, so a valid ID token is active. It does
// not authenticate its own callers: serve it only where they are trusted
// (a sidecar on localhost, a private network).
func IntrospectionHandler(v *Validator) http.Handler {
	if v == nil {
		panic("entra: IntrospectionHandler needs a Validator")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "invalid_request", "error_description": "use POST"})
			return
		}
		provider, token, err := readIntrospection(w, r)
		if err != nil {
			status := http.StatusBadRequest
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				status = http.StatusRequestEntityTooLarge
			}
			writeJSON(w, status, map[string]any{"error": "invalid_request", "error_description": "the body must be JSON or a form with identity_provider and token"})
			return
		}
		switch {
		case provider != "entra_id" && provider != "azuread":
			writeJSON(w, http.StatusOK, map[string]any{"active": false, "error": "unsupported identity_provider: use entra_id"})
			return
		case token == "":
			writeJSON(w, http.StatusOK, map[string]any{"active": false, "error": "token is missing"})
			return
		}
		c, err := v.Validate(r.Context(), token)
		if err != nil {
			desc := "token is not valid"
			var e *Error
			if errors.As(err, &e) && e.Description != "" {
				desc = e.Description
			}
			writeJSON(w, http.StatusOK, map[string]any{"active": false, "error": desc})
			return
		}
		out := c.Raw()
		out["active"] = true
		writeJSON(w, http.StatusOK, out)
	})
}

func readIntrospection(w http.ResponseWriter, r *http.Request) (provider, token string, err error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIntrospectionBody))
	if err != nil {
		return "", "", err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return "", "", err
		}
		return q.Get("identity_provider"), strings.TrimSpace(q.Get("token")), nil
	}
	var req struct {
		IdentityProvider string `json:"identity_provider"`
		Token            string `json:"token"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "", "", err
	}
	return req.IdentityProvider, strings.TrimSpace(req.Token), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
