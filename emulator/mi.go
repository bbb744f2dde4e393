package emulator

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// miLifetime is the lifetime of managed identity tokens: 24 hours, as
// Entra ID issues them (expires_in 86399).
const miLifetime = 24 * time.Hour

// serveAppServiceMI answers the App Service (and Functions, Container Apps)
// managed identity endpoint: GET IDENTITY_ENDPOINT?resource=…&api-version=2019-08-01
// with the X-IDENTITY-HEADER secret, and client_id, object_id or mi_res_id
// for a user-assigned identity.
func (e *Emulator) serveAppServiceMI(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, msg string) {
		writeJSON(w, status, map[string]any{"statusCode": status, "message": msg, "correlationId": entratest.NewGUID()})
	}
	if r.Method != http.MethodGet {
		refuse(http.StatusMethodNotAllowed, "The managed identity endpoint answers GET.")
		return
	}
	got := r.Header.Get("X-IDENTITY-HEADER")
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(e.cfg.IdentityHeader)) != 1 {
		refuse(http.StatusUnauthorized, "The X-IDENTITY-HEADER header is missing or wrong: send the value of IDENTITY_HEADER the emulator printed.")
		return
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v != "2019-08-01" {
		refuse(http.StatusBadRequest, "api-version '"+v+"' is not supported: use 2019-08-01.")
		return
	}
	mi, msg := e.pickMI(q.Get("client_id"), q.Get("object_id")+q.Get("principal_id"), q.Get("mi_res_id")+q.Get("msi_res_id"))
	if mi == nil {
		refuse(http.StatusBadRequest, msg)
		return
	}
	res := q.Get("resource")
	if res == "" {
		refuse(http.StatusBadRequest, "The resource parameter is required.")
		return
	}
	tok, exp := e.miToken(mi, res)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_on":   strconv.FormatInt(exp.Unix(), 10),
		"resource":     res,
		"token_type":   "Bearer",
		"client_id":    mi.ClientID,
	})
}

// serveIMDS answers the IMDS-shaped endpoint, GET
// /metadata/identity/oauth2/token?api-version=2018-02-01&resource=… with
// Metadata: true, for clients that let its address be overridden.
func (e *Emulator) serveIMDS(w http.ResponseWriter, r *http.Request) {
	refuse := func(status int, code, msg string) {
		writeJSON(w, status, map[string]string{"error": code, "error_description": msg})
	}
	if r.Method != http.MethodGet {
		refuse(http.StatusMethodNotAllowed, "invalid_request", "IMDS answers GET.")
		return
	}
	if r.Header.Get("Metadata") != "true" {
		refuse(http.StatusBadRequest, "invalid_request", "Required metadata header not specified")
		return
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		refuse(http.StatusBadRequest, "invalid_request", "Request was forwarded: IMDS answers direct requests only")
		return
	}
	q := r.URL.Query()
	if v := q.Get("api-version"); v == "" {
		refuse(http.StatusBadRequest, "invalid_request", "Required query variable 'api-version' is missing")
		return
	} else if v < "2018-02-01" {
		refuse(http.StatusBadRequest, "invalid_request", "Invalid version: use api-version=2018-02-01 or later")
		return
	}
	res := q.Get("resource")
	if res == "" {
		refuse(http.StatusBadRequest, "invalid_request", "Required query variable 'resource' is missing")
		return
	}
	mi, msg := e.pickMI(q.Get("client_id"), q.Get("object_id")+q.Get("principal_id"), q.Get("msi_res_id")+q.Get("mi_res_id"))
	if mi == nil {
		refuse(http.StatusBadRequest, "invalid_request", msg)
		return
	}
	tok, exp := e.miToken(mi, res)
	now := e.now()
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token":  tok,
		"refresh_token": "",
		"expires_in":    strconv.Itoa(int(exp.Sub(now) / time.Second)),
		"expires_on":    strconv.FormatInt(exp.Unix(), 10),
		"not_before":    strconv.FormatInt(now.Add(-backdate).Unix(), 10),
		"resource":      res,
		"token_type":    "Bearer",
		"client_id":     mi.ClientID,
	})
}

// pickMI finds the identity a request names, or the system-assigned one.
func (e *Emulator) pickMI(clientID, objectID, resID string) (*ManagedIdentity, string) {
	n := 0
	for _, s := range []string{clientID, objectID, resID} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, "Only one of client_id, object_id and mi_res_id may be given."
	}
	for _, m := range e.mis {
		switch {
		case clientID != "" && strings.EqualFold(m.ClientID, clientID),
			objectID != "" && strings.EqualFold(m.ObjectID, objectID),
			resID != "" && strings.EqualFold(m.ResourceID, resID),
			n == 0 && m.SystemAssigned:
			return m, ""
		}
	}
	if n == 0 {
		return nil, "No system-assigned managed identity: give one \"system_assigned\": true in managed_identities, or ask for a user-assigned one by client_id, object_id or mi_res_id."
	}
	return nil, "No managed identity with that client_id, object_id or mi_res_id is assigned to this resource (managed_identities in the emulator's config file)."
}

// miToken is a token of a managed identity for resource, as Entra ID
// issues them: app-only (idtyp app), xms_mirid its resource ID, 24 hours.
func (e *Emulator) miToken(m *ManagedIdentity, res string) (string, time.Time) {
	now := e.now()
	exp := now.Add(miLifetime)
	id := strings.TrimSuffix(strings.TrimSuffix(res, "/.default"), "/")
	aud, version := id, "1.0"
	if r := e.resourceOf(id); r != nil {
		aud, version = r.aud, r.version
		if r.graph {
			aud = graphResourceURI
		}
	}
	tok := entratest.Token{
		Version:   version,
		App:       true,
		TenantID:  e.cfg.TenantID,
		Audience:  aud,
		ClientID:  m.ClientID,
		ObjectID:  m.ObjectID,
		Roles:     m.Roles,
		IssuedAt:  now.Add(-backdate),
		ExpiresAt: exp,
		Claims: map[string]any{
			"xms_mirid":      m.ResourceID,
			"xms_idrel":      "7 28",
			acrName(version): "2",
		},
	}
	return e.srv.Mint(tok), exp
}
