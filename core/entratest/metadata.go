package entratest

import (
	"net/url"
	"strings"

	entra "github.com/entraguard/entraguard/core"
	"github.com/entraguard/entraguard/core/internal/guid"
)

// ConsumersTenantID is the tenant of personal Microsoft accounts: the tid
// and issuer tenant of tokens issued under "consumers".
const ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// v1IssuerHost is the host of Entra ID's v1.0 issuers: v1.0 tokens and
// metadata name "https://sts.windows.net/{tid}/" as their issuer, whatever
// the authority host, and so does the fake authority.
const v1IssuerHost = "sts.windows.net"

// tenantTemplate stands for the token's tid in multi-tenant issuers.
const tenantTemplate = "{tenantid}"

// Values of Entra ID's global cloud, repeated in the fake documents.
const (
	cloudInstanceName  = "microsoftonline.com"
	cloudGraphHostName = "graph.windows.net"
	msgraphHost        = "graph.microsoft.com"
	rbacURL            = "https://pas.windows.net"
)

// tenant is a resolved tenant path segment.
type tenant struct {
	path string // the segment as the documents' endpoints repeat it
	tid  string // the tenant GUID, or "" for organizations and common
}

// issuerTenant is what an issuer carries for the tenant: its GUID, or the
// {tenantid} template.
func (t tenant) issuerTenant() string {
	if t.tid == "" {
		return tenantTemplate
	}
	return t.tid
}

// resolveTenant accepts a tenant GUID, "organizations", "common" and
// "consumers", in any case.
func resolveTenant(seg string) (tenant, bool) {
	lower := strings.ToLower(seg)
	switch {
	case lower == entra.TenantOrganizations || lower == entra.TenantCommon:
		return tenant{path: lower}, true
	case lower == entra.TenantConsumers:
		return tenant{path: lower, tid: ConsumersTenantID}, true
	case guid.Is(lower):
		return tenant{path: lower, tid: lower}, true
	}
	return tenant{}, false
}

func issuerV2(base, tid string) string { return base + "/" + tid + "/v2.0" }

func issuerV1(tid string) string { return "https://" + v1IssuerHost + "/" + tid + "/" }

// metadataV2 is the v2.0 OpenID metadata, field for field and in the order
// of Entra ID's.
type metadataV2 struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	KerberosEndpoint                  string   `json:"kerberos_endpoint"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MsgraphHost                       string   `json:"msgraph_host"`
	RbacURL                           string   `json:"rbac_url"`
}

// metadataV1 is the v1.0 OpenID metadata, field for field and in the order
// of Entra ID's.
type metadataV1 struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	MicrosoftMultiRefreshToken        bool     `json:"microsoft_multi_refresh_token"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	CheckSessionIframe                string   `json:"check_session_iframe"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	KerberosEndpoint                  string   `json:"kerberos_endpoint"`
	TenantRegionScope                 *string  `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MsgraphHost                       string   `json:"msgraph_host"`
	RbacURL                           string   `json:"rbac_url"`
}

var authMethods = []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}

// regionScope is tenant_region_scope: a region for a tenant, null for the
// multi-tenant authorities.
func regionScope(t tenant) *string {
	if t.tid == "" {
		return nil
	}
	na := "NA"
	return &na
}

// appQuery repeats the metadata URL's appid on the key URL, as Entra ID does.
func appQuery(appID string) string {
	if appID == "" {
		return ""
	}
	return "?appid=" + url.QueryEscape(appID)
}

func (s *Server) metadataV2(base string, t tenant, appID string) metadataV2 {
	root := base + "/" + t.path
	return metadataV2{
		TokenEndpoint:                     root + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: authMethods,
		JWKSURI:                           root + "/discovery/v2.0/keys" + appQuery(appID),
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "id_token token"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		Issuer:                            issuerV2(base, t.issuerTenant()),
		RequestURIParameterSupported:      false,
		UserinfoEndpoint:                  "https://" + msgraphHost + "/oidc/userinfo",
		AuthorizationEndpoint:             root + "/oauth2/v2.0/authorize",
		DeviceAuthorizationEndpoint:       root + "/oauth2/v2.0/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                root + "/oauth2/v2.0/logout",
		ClaimsSupported: []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
			"at_hash", "c_hash", "email"},
		KerberosEndpoint:   root + "/kerberos",
		TenantRegionScope:  regionScope(t),
		CloudInstanceName:  cloudInstanceName,
		CloudGraphHostName: cloudGraphHostName,
		MsgraphHost:        msgraphHost,
		RbacURL:            rbacURL,
	}
}

func (s *Server) metadataV1(base string, t tenant, appID string) metadataV1 {
	root := base + "/" + t.path
	return metadataV1{
		TokenEndpoint:                     root + "/oauth2/token",
		TokenEndpointAuthMethodsSupported: authMethods,
		JWKSURI:                           root + "/discovery/keys" + appQuery(appID),
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ResponseTypesSupported:            []string{"code", "id_token", "code id_token", "token id_token", "token"},
		ScopesSupported:                   []string{"openid"},
		Issuer:                            issuerV1(t.issuerTenant()),
		MicrosoftMultiRefreshToken:        true,
		AuthorizationEndpoint:             root + "/oauth2/authorize",
		DeviceAuthorizationEndpoint:       root + "/oauth2/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                root + "/oauth2/logout",
		ClaimsSupported: []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name",
			"nickname"},
		CheckSessionIframe: root + "/oauth2/checksession",
		UserinfoEndpoint:   root + "/openid/userinfo",
		KerberosEndpoint:   root + "/kerberos",
		TenantRegionScope:  regionScope(t),
		CloudInstanceName:  cloudInstanceName,
		CloudGraphHostName: cloudGraphHostName,
		MsgraphHost:        msgraphHost,
		RbacURL:            rbacURL,
	}
}
