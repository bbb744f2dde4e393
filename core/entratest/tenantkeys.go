package entratest

import (
	"fmt"
	"strings"

	"github.com/entraguard/entraguard/core/internal/guid"
)

// keyProps overrides what the v2.0 key sets say of a key.
type keyProps struct {
	issuer, cloud       string
	issuerSet, cloudSet bool
}

// apply writes the overrides into a v2.0 key.
func (p keyProps) apply(j *jwk) {
	if p.issuerSet {
		j.Issuer = p.issuer
	}
	if p.cloudSet {
		j.CloudInstanceName = p.cloud
	}
}

// publishedFor reports whether key sets fetched for tenant t (with ?appid=
// app, if not empty) list k.
func (k *signingKey) publishedFor(t tenant, app string) bool {
	switch k.state {
	case keyPublished:
		return true
	case keyApp:
		return app != "" && k.app == app
	case keyTenant:
		return t.tid != "" && t.tid == k.tenant
	}
	return false
}

// AddTenantKey creates a signing key of one tenant, as Entra ID may give a
// tenant keys of its own: it is published only in that tenant's key sets
// (/{tenantID}/discovery/v2.0/keys and /{tenantID}/discovery/keys), never
// in those of "organizations", "common" or other tenants. Sign with it
// through [Token.KeyID] (with [Token.TenantID] set to tenantID) or
// [Server.SignWithKey]. It returns the new key's kid. AddTenantKey panics
// if tenantID is not a GUID.
func (s *Server) AddTenantKey(tenantID string) string {
	if !guid.Is(tenantID) {
		panic(fmt.Sprintf("entratest: AddTenantKey(%q): a tenant ID is a GUID", tenantID))
	}
	kid := s.addKey(keyTenant, "", false)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyLocked("AddTenantKey", kid).tenant = strings.ToLower(tenantID)
	return kid
}

// SetKeyIssuer sets the issuer property of the key with that kid in the
// v2.0 key sets, in place of the issuer of the set's tenant; "" publishes
// an empty issuer, " " a blank one. Use it to test how a validator applies
// key issuers: a personal-account key ("https://login.microsoftonline.com/"
// + ConsumersTenantID + "/v2.0"), another cloud's, another tenant's.
// SetKeyIssuer panics if the server holds no such key.
func (s *Server) SetKeyIssuer(kid, issuer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keyLocked("SetKeyIssuer", kid)
	k.props.issuer, k.props.issuerSet = issuer, true
}

// SetKeyCloudInstance sets the cloud_instance_name of the key with that
// kid in the v2.0 key sets, in place of "microsoftonline.com", as Entra
// ID's shared key sets list keys of other clouds ("microsoftonline.us").
// SetKeyCloudInstance panics if the server holds no such key.
func (s *Server) SetKeyCloudInstance(kid, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keyLocked("SetKeyCloudInstance", kid)
	k.props.cloud, k.props.cloudSet = name, true
}

// keyLocked returns the key with that kid; s.mu must be held. It panics
// naming the caller if there is none.
func (s *Server) keyLocked(caller, kid string) *signingKey {
	for _, k := range s.keys {
		if k.kid == kid {
			return k
		}
	}
	panic(fmt.Sprintf("entratest: %s: the server holds no key %q", caller, kid))
}
