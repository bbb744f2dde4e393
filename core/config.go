package entra

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/internal/guid"
	"github.com/entraguard/entraguard/core/internal/jose"
)

// DefaultAuthorityHost is the authority of Microsoft Entra ID's global cloud.
// It is used when neither [Config.AuthorityHost] nor AZURE_AUTHORITY_HOST is set.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// Defaults applied to zero fields of [Config].
const (
	DefaultClockSkew          = 5 * time.Minute
	DefaultRefreshInterval    = time.Hour
	DefaultMinRefreshInterval = 5 * time.Minute
	DefaultFetchTimeout       = 10 * time.Second
	DefaultMaxTokenSize       = 16 << 10
	DefaultCacheSize          = 10000
	DefaultCacheMaxBytes      = 32 << 20
	DefaultMaxTenantKeySets   = 100
)

// Limits on configurable values; NewValidator refuses values outside them.
const (
	maxClockSkew       = time.Hour
	minRefreshInterval = time.Minute
	maxCacheSize       = 10_000_000
	minMaxTokenSize    = 1 << 10
	maxMaxTokenSize    = 1 << 20
	maxTenantKeySets   = 100_000
)

// Token versions accepted in [Config.TokenVersions]. They are the values of
// the token's "ver" claim.
const (
	Version1 = "1.0"
	Version2 = "2.0"
)

// Tenant names that select a multi-tenant authority in [Config.TenantID].
const (
	TenantOrganizations = "organizations"
	TenantCommon        = "common"
	TenantConsumers     = "consumers"
)

// Config describes the API whose tokens a [Validator] accepts. The zero value
// of every optional field is a safe default; TenantID and ClientID are required.
//
// A Config is read once by [NewValidator]; changing it afterwards has no effect.
type Config struct {
	// TenantID is the directory whose tokens are accepted: a tenant GUID
	// (8-4-4-4-12, without braces) or a verified domain name such as
	// "contoso.onmicrosoft.com" for a single-tenant API, or "organizations"
	// or "common" for a multi-tenant API, whose issuer is then matched
	// against each token's own tid (list the tenants in AllowedTenants, or
	// set AnyTenant).
	// NewValidator refuses any other form. Required.
	TenantID string

	// ClientID is the API's application (client) ID. Tokens whose audience is
	// ClientID or "api://"+ClientID are accepted; a GUID is compared
	// case-insensitively, as GUIDs are. Required.
	ClientID string

	// Audiences are further accepted audiences, typically a custom App ID URI
	// such as "api://contoso-orders" or "https://api.contoso.com". Matching is
	// exact and case-sensitive, except that a URI is accepted with and
	// without a trailing slash (v1 tokens carry the App ID URI as it was
	// registered), and that a GUID, alone or as "api://{GUID}", is compared
	// case-insensitively, as ClientID is. Optional. Default: none.
	Audiences []string

	// AllowedTenants restricts a multi-tenant API to these tenant GUIDs (the
	// token's tid). A multi-tenant API (TenantID "organizations" or
	// "common") must set it or AnyTenant: NewValidator refuses one that sets
	// neither, as it would accept every Entra tenant in the world. For a
	// single-tenant API the tenant is already fixed by TenantID.
	// [ConfigFromEnv] reads ENTRA_ALLOWED_TENANTS (comma-separated; "*" sets
	// AnyTenant instead).
	AllowedTenants []string

	// AnyTenant accepts tokens of every Entra tenant whose issuer matches,
	// for a multi-tenant API (TenantID "organizations" or "common") open to
	// any organization, such as a SaaS product that onboards tenants as they
	// sign up; restrict who may do what with guards ([RequireTenant],
	// app roles) or your own list of customers. It cannot be set with
	// AllowedTenants, nor for a single tenant. Optional. Default: false.
	AnyTenant bool

	// AuthorityHost is the Entra authority, e.g. [AuthorityUSGovernment]
	// ("https://login.microsoftonline.us/"), another national or sovereign
	// cloud's (the Authority* constants), or "https://contoso.ciamlogin.com/"
	// for External ID.
	// It must be https, unless its host is loopback (a local emulator), and
	// holds no tenant: the tenant goes in TenantID (a path that names one,
	// such as ".../contoso.onmicrosoft.com/v2.0", is refused). Optional. Default:
	// [DefaultAuthorityHost] ([ConfigFromEnv] reads ENTRA_AUTHORITY_HOST).
	AuthorityHost string

	// MetadataURL overrides discovery with one OpenID metadata document,
	// e.g. an Azure AD B2C user flow's
	// "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin/v2.0/.well-known/openid-configuration".
	// When set, only that document's issuer and keys are used, and tokens
	// without a tid claim are accepted if their issuer matches exactly.
	// Optional. Default: the v2.0 and v1.0 metadata of TenantID at AuthorityHost.
	MetadataURL string

	// TokenVersions lists the accepted values of the "ver" claim, [Version1]
	// and/or [Version2]. Optional. Default: both.
	TokenVersions []string

	// Algorithms lists the accepted JWS algorithms. Entra signs with RS256.
	// Only RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 and ES512 can
	// be listed; "none" and HMAC algorithms are never accepted.
	// Optional. Default: RS256 only.
	Algorithms []string

	// ClockSkew is the leeway for exp and nbf. It must be within (0, 1h].
	// Optional. Default: 5 minutes ([DefaultClockSkew]).
	ClockSkew time.Duration

	// Now returns the current time for exp, nbf and cache expiry. Meant for
	// tests. Optional. Default: time.Now.
	Now func() time.Time

	// HTTPClient fetches metadata and keys. Its own Timeout, if any, is kept;
	// each fetch is further bounded by FetchTimeout. A redirect from https
	// to http is refused whatever the client's own CheckRedirect says; its
	// other redirect rules apply, or, if it has none, at most 3 redirects.
	// Optional. Default: a client that follows at most 3 redirects and never
	// from https to http.
	HTTPClient *http.Client

	// FetchTimeout bounds one metadata or key fetch. Optional. Default: 10s.
	FetchTimeout time.Duration

	// RefreshInterval is how often keys and metadata are refreshed in the
	// background. It must be at least a minute. Optional. Default: 1 hour
	// ([DefaultRefreshInterval]), as Microsoft's signing-key rollover
	// guidance recommends: a key Entra removes in an emergency stops being
	// trusted within the hour, while a failed refresh keeps the last good
	// keys and metadata.
	RefreshInterval time.Duration

	// MinRefreshInterval is the shortest time between two refreshes
	// triggered by tokens signed with an unknown key (kid). A flood of random
	// kids costs at most one fetch per interval; a request never waits for
	// this limit. Optional. Default: 5 minutes ([DefaultMinRefreshInterval]),
	// the "no more frequently than 5 minutes" of Microsoft's rollover
	// guidance: Entra publishes a key well before it signs with it, so the
	// on-demand refresh is for the rare emergency rollover, and a longer
	// window bounds what a flood of forged kids can cost the authority.
	// Multi-tenant validators apply the same window to each tenant's own
	// key set (see MaxTenantKeySets).
	MinRefreshInterval time.Duration

	// AppSpecificKeys fetches keys with "?appid=ClientID", for applications
	// with custom signing keys (claims mapping). Optional. Default: false.
	AppSpecificKeys bool

	// MaxTenantKeySets bounds how many tenants' own key sets a multi-tenant
	// validator ("organizations" or "common") keeps, least recently used
	// first out. Microsoft's rollover guidance asks to discover keys per
	// tenant, as a key shared by all tenants today may become a tenant's own:
	// a token whose kid is not in the shared key set, from a tenant that
	// passes the issuer and AllowedTenants checks, makes the validator fetch
	// that tenant's metadata and key set ({tenant}/v2.0 metadata, then its
	// jwks_uri), at most once per MinRefreshInterval per tenant; a request
	// never waits for these limits. The sets of tenants a token was
	// accepted from are kept apart, up to MaxTenantKeySets of them, so that
	// forged tokens cannot displace them; up to MaxTenantKeySets other
	// tenants are kept too, and tenants that no token was accepted from
	// and that AllowedTenants does not name are fetched for at most 10 per
	// MinRefreshInterval in all. Negative turns per-tenant key sets off.
	// Ignored by single-tenant validators, whose key set is already their
	// tenant's. Optional. Default: 100 ([DefaultMaxTenantKeySets]).
	MaxTenantKeySets int

	// AnyCloudKeys uses keys whatever their cloud_instance_name says. By
	// default a key whose cloud_instance_name differs from the metadata's
	// (Entra's shared key sets list keys of other clouds) is not used for
	// this authority. Keys whose issuer property names another cloud's
	// authority host are never used, whatever this says. Optional.
	// Default: false.
	AnyCloudKeys bool

	// MaxTokenSize is the largest token accepted, in bytes, checked before any
	// decoding. Optional. Default: 16 KiB. Range: 1 KiB to 1 MiB.
	MaxTokenSize int

	// CacheSize bounds the cache of verified tokens (keyed by the whole
	// token, expiring at the token's exp, flushed when keys change). Negative
	// disables the cache. Optional. Default: 10,000 tokens.
	CacheSize int

	// CacheMaxBytes bounds the memory the token cache holds, in bytes: each
	// entry counts its token, its decoded claims and the cache's own
	// overhead (about twice the token). A token whose entry would take more
	// than 1/512 of it (64 KiB by default) is validated but not cached.
	// Optional. Default: 32 MiB ([DefaultCacheMaxBytes]). Negative is an
	// error; to turn the cache off, set CacheSize to a negative value.
	CacheMaxBytes int

	// CacheFirstSight caches a token from its first successful validation.
	// By default a token is cached from its second: the first only records
	// an 8-byte fingerprint of it in a fixed table (sized from CacheSize),
	// so a token presented once costs what a validation without the cache
	// costs and keeps no memory, and a token presented again is validated
	// in full once more, then cached. Set it when a test or a caller needs
	// a cache hit right after one validation. A cache hit checks the same
	// either way. Optional. Default: false.
	CacheFirstSight bool

	// Logger receives set-up notes, key refresh failures and recoveries, and
	// skipped keys: never a line per request, a token or key material.
	// Optional. Default: [slog.Default]. To turn logging off, set it to
	// slog.New(slog.DiscardHandler).
	Logger *slog.Logger

	// Revocations is asked about every token accepted, after the signature
	// and claims checks and on cache hits too; a token it refuses fails with
	// [CodeTokenRevoked]. Use a [RevocationList] in one process, or the
	// entraredis module's mirror to share one between replicas.
	// Optional. Default: none (revocation is not seen).
	Revocations Revocations

	// Observer receives validations, refusals and key refreshes, for
	// metrics and tracing (see the entraotel module). Optional.
	// Default: none, at no cost.
	Observer Observer

	// AllowMissingObjectID admits tokens without an oid claim: those of
	// service-principal-less authentication (an app with no service
	// principal in the tenant), which Entra blocks since March 2026.
	// Optional. Default: false; they are refused with [CodeOIDMissing].
	// Azure AD B2C validators (see B2CUserFlows) never require oid, which a
	// B2C user flow emits only when asked to (its sub is the object ID).
	AllowMissingObjectID bool

	// B2CUserFlows are the Azure AD B2C user flows (policies, named
	// "B2C_1_..." or, for custom policies, "B2C_1A_...") whose tokens are
	// accepted, matched case-insensitively against the token's tfp or acr
	// claim; a token of another flow is refused with [CodeUserFlowNotAllowed].
	// Optional. Default: when MetadataURL names a user flow
	// (".../B2C_1_signin/v2.0/.well-known/openid-configuration", or
	// "?p=B2C_1_signin"), that flow only; otherwise none is checked.
	B2CUserFlows []string

	// AnyB2CUserFlow accepts tokens of every user flow of the B2C tenant
	// whose keys sign them, as before B2CUserFlows existed. Optional.
	// Default: false. It cannot be set with B2CUserFlows.
	AnyB2CUserFlow bool

	// envErr is what ConfigFromEnv found wrong with the environment;
	// NewValidator reports it.
	envErr error
}

// Environment variables read by [ConfigFromEnv]. The ENTRA_ names are
// entraguard's own; the AZURE_ names are the Azure SDK's, read only as a
// fallback (see ConfigFromEnv).
const (
	EnvTenantID       = "ENTRA_TENANT_ID"
	EnvClientID       = "ENTRA_CLIENT_ID"
	EnvAuthorityHost  = "ENTRA_AUTHORITY_HOST"
	EnvAudiences      = "ENTRA_AUDIENCES"
	EnvAllowedTenants = "ENTRA_ALLOWED_TENANTS"
	// EnvAuthorityCAFile names a PEM file of certificates to trust, besides
	// the system's roots, for the authority's metadata and keys: a local
	// emulator's (entraguard emulator -ca-file). Go reads SSL_CERT_FILE on
	// Linux only; this works on every OS.
	EnvAuthorityCAFile = "ENTRA_AUTHORITY_CA_FILE"
)

// ConfigFromEnv returns a Config read from the environment:
//
//	ENTRA_TENANT_ID        TenantID        (fallback AZURE_TENANT_ID)
//	ENTRA_CLIENT_ID        ClientID        (fallback AZURE_CLIENT_ID)
//	ENTRA_AUTHORITY_HOST   AuthorityHost   (fallback AZURE_AUTHORITY_HOST)
//	ENTRA_AUDIENCES        Audiences       (comma-separated)
//	ENTRA_ALLOWED_TENANTS  AllowedTenants  (comma-separated; "*": AnyTenant)
//	ENTRA_AUTHORITY_CA_FILE  HTTPClient trusting that PEM file's certificates
//	                         besides the system's roots (a local emulator's)
//
// The AZURE_ names are also what azidentity and the AKS workload identity
// webhook use for the pod's own identity: a managed identity's client ID is
// not the API's audience, and an API that took it would refuse every token.
// So when AZURE_FEDERATED_TOKEN_FILE is set (workload identity) and an
// ENTRA_ name is not, [NewValidator] refuses the Config, naming the ENTRA_
// variable to set, instead of falling back. Missing variables leave fields
// empty; NewValidator reports what is missing.
func ConfigFromEnv() Config {
	var c Config
	var bad []string
	get := func(entraName, azureName string) string {
		if v := strings.TrimSpace(os.Getenv(entraName)); v != "" {
			return v
		}
		v := strings.TrimSpace(os.Getenv(azureName))
		if v != "" && strings.TrimSpace(os.Getenv("AZURE_FEDERATED_TOKEN_FILE")) != "" {
			bad = append(bad, fmt.Sprintf("%s (not %s)", entraName, azureName))
		}
		return v
	}
	c.TenantID = get(EnvTenantID, "AZURE_TENANT_ID")
	c.ClientID = get(EnvClientID, "AZURE_CLIENT_ID")
	c.AuthorityHost = get(EnvAuthorityHost, "AZURE_AUTHORITY_HOST")
	c.Audiences = splitList(os.Getenv(EnvAudiences))
	c.AllowedTenants = splitList(os.Getenv(EnvAllowedTenants))
	if slices.Contains(c.AllowedTenants, "*") {
		if len(c.AllowedTenants) > 1 {
			c.envErr = configError("%s mixes \"*\" (any tenant) with tenant IDs: set it to \"*\" alone, or to the tenant GUIDs alone", EnvAllowedTenants)
		}
		c.AllowedTenants, c.AnyTenant = nil, true
	}
	if len(bad) > 0 {
		c.envErr = configError("AZURE_FEDERATED_TOKEN_FILE is set, so the AZURE_ variables describe this workload's own identity (AKS workload identity), not the API whose tokens are checked: set %s to the API's values", strings.Join(bad, ", "))
	}
	if f := strings.TrimSpace(os.Getenv(EnvAuthorityCAFile)); f != "" {
		client, err := clientTrusting(f)
		switch {
		case err == nil:
			c.HTTPClient = client
		case c.envErr == nil:
			c.envErr = err
		}
	}
	return c
}

// maxCAFile bounds what clientTrusting reads: a bundle of every public
// root is about 250 KB.
const maxCAFile = 4 << 20

// clientTrusting returns an HTTP client that trusts the PEM certificates
// in file besides the system's roots (ENTRA_AUTHORITY_CA_FILE).
func clientTrusting(file string) (*http.Client, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, configError("%s: %v: set it to the PEM file of the certificate to trust (a local emulator's: entraguard emulator -ca-file FILE), or unset it", EnvAuthorityCAFile, err)
	}
	defer f.Close()
	pemBytes, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, configError("%s: %v", EnvAuthorityCAFile, err)
	}
	if len(pemBytes) > maxCAFile {
		return nil, configError("%s %s is larger than %d MiB: it must be a PEM file of certificates", EnvAuthorityCAFile, file, maxCAFile>>20)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, configError("%s %s holds no PEM certificate (-----BEGIN CERTIFICATE-----): set it to the certificate's PEM file", EnvAuthorityCAFile, file)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}

func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// settings is a Config after defaults and checks: what a Validator runs on.
type settings struct {
	tenant         string
	clientID       string
	multiTenant    bool
	audiences      []string
	allowedTenants map[string]struct{}
	authority      *url.URL
	metadataURLs   []string // v2 first; v1 second unless MetadataURL is set
	custom         bool     // MetadataURL set
	versions       []string
	algs           jose.AlgSet
	skew           time.Duration
	now            func() time.Time
	client         *http.Client
	fetchTimeout   time.Duration
	refresh        time.Duration
	minRefresh     time.Duration
	appKeys        bool
	maxTenantSets  int  // 0: no per-tenant key sets
	anyCloudKeys   bool // Config.AnyCloudKeys
	maxTokenSize   int
	cacheSize      int
	cacheMaxBytes  int
	cacheFirst     bool // Config.CacheFirstSight
	logger         *slog.Logger
	revocations    Revocations
	ownLogger      bool     // Config.Logger was set: refusals are logged too
	allowNoOID     bool     // AllowMissingObjectID, or a B2C validator
	b2cFlows       []string // accepted B2C user flows; nil: not checked
	observer       Observer
}

func configError(format string, args ...any) error {
	return &Error{Code: CodeConfigInvalid, Description: fmt.Sprintf(format, args...)}
}

func (c Config) settings() (*settings, error) {
	s := &settings{
		tenant:       strings.TrimSpace(c.TenantID),
		clientID:     strings.TrimSpace(c.ClientID),
		skew:         c.ClockSkew,
		now:          c.Now,
		client:       c.HTTPClient,
		fetchTimeout: c.FetchTimeout,
		refresh:      c.RefreshInterval,
		minRefresh:   c.MinRefreshInterval,
		appKeys:      c.AppSpecificKeys,
		anyCloudKeys: c.AnyCloudKeys,
		maxTokenSize: c.MaxTokenSize,
		cacheSize:    c.CacheSize,
		cacheFirst:   c.CacheFirstSight,
		logger:       c.Logger,
		revocations:  c.Revocations,
		observer:     c.Observer,
	}
	if c.envErr != nil {
		return nil, c.envErr
	}
	if s.tenant == "" {
		if c.MetadataURL != "" {
			return nil, configError("Config.TenantID is empty: with a MetadataURL (an Azure AD B2C user flow or another custom authority), set TenantID to that directory's tenant ID (the GUID in the token's tid claim, shown on the B2C tenant's overview page) (%s)", EnvTenantID)
		}
		return nil, configError("Config.TenantID is empty: set it to your tenant ID (a GUID), or to %q for a multi-tenant API, with AllowedTenants or AnyTenant (%s)", TenantOrganizations, EnvTenantID)
	}
	if strings.Contains(s.tenant, "://") {
		return nil, configError("Config.TenantID %q is a URL: set TenantID to the tenant ID alone (the GUID or domain after the host, e.g. %q) and the host in AuthorityHost", s.tenant, tenantInURL(s.tenant))
	}
	if strings.ContainsAny(s.tenant, "/?#% ") {
		return nil, configError("Config.TenantID %q is not a tenant ID or domain: use the directory (tenant) ID GUID, a verified domain, or %q", s.tenant, TenantOrganizations)
	}
	if err := checkTenantID(s.tenant); err != nil {
		return nil, err
	}
	if s.clientID == "" {
		return nil, configError("Config.ClientID is empty: set it to the API's application (client) ID (%s)", EnvClientID)
	}
	if strings.Contains(s.clientID, "://") || strings.ContainsAny(s.clientID, "/ ") {
		return nil, configError("Config.ClientID %q is not an application (client) ID: set ClientID to the API's application ID GUID (Overview page of its app registration); an App ID URI such as \"api://...\" is accepted as an audience already when it is api://<ClientID>, and any other goes in Config.Audiences", s.clientID)
	}
	if guid.Is(s.clientID) {
		// GUIDs are case-insensitive, and Entra writes them in lower case.
		s.clientID = strings.ToLower(s.clientID)
	}
	switch strings.ToLower(s.tenant) {
	case TenantOrganizations, TenantCommon:
		s.tenant = strings.ToLower(s.tenant)
		s.multiTenant = true
	case TenantConsumers:
		s.tenant = TenantConsumers
	}

	s.audiences = []string{s.clientID, "api://" + s.clientID}
	for _, a := range c.Audiences {
		if a = strings.TrimSpace(a); a == "" {
			return nil, configError("Config.Audiences has an empty entry")
		}
		if guid.Is(a) {
			a = strings.ToLower(a)
		} else if rest, ok := cutPrefixFold(a, "api://"); ok && guid.Is(strings.TrimSuffix(rest, "/")) {
			a = "api://" + strings.ToLower(rest)
		}
		// An App ID URI is written with or without a trailing slash, and
		// v1 tokens carry it as registered: accept both spellings.
		for _, form := range audienceForms(a) {
			if !slices.Contains(s.audiences, form) {
				s.audiences = append(s.audiences, form)
			}
		}
	}

	if len(c.AllowedTenants) > 0 {
		s.allowedTenants = make(map[string]struct{}, len(c.AllowedTenants))
		for _, t := range c.AllowedTenants {
			t = strings.ToLower(strings.TrimSpace(t))
			if t == "*" {
				return nil, configError("Config.AllowedTenants entry \"*\" is not a tenant GUID: to accept any tenant, set Config.AnyTenant (ENTRA_ALLOWED_TENANTS=* does that) and leave AllowedTenants empty")
			}
			if !guid.Is(t) {
				return nil, configError("Config.AllowedTenants entry %q is not a tenant GUID", t)
			}
			s.allowedTenants[t] = struct{}{}
		}
	}
	switch {
	case c.AnyTenant && s.allowedTenants != nil:
		return nil, configError("Config.AnyTenant and Config.AllowedTenants are both set: list the tenants that may call this API in AllowedTenants, or accept any tenant with AnyTenant (%s=*)", EnvAllowedTenants)
	case c.AnyTenant && !s.multiTenant:
		return nil, configError("Config.AnyTenant is set, but TenantID %q is a single tenant: AnyTenant is for a multi-tenant API (TenantID %q or %q); remove it", s.tenant, TenantOrganizations, TenantCommon)
	case s.multiTenant && !c.AnyTenant && s.allowedTenants == nil:
		return nil, configError("Config.TenantID %q accepts tokens of every Entra tenant in the world, and neither Config.AllowedTenants nor Config.AnyTenant says that is meant: list the tenant GUIDs that may call this API in AllowedTenants (%s=<tid>,<tid>), or set AnyTenant (%s=*) to accept any tenant and decide per route (RequireTenant, app roles)", s.tenant, EnvAllowedTenants, EnvAllowedTenants)
	}

	host := strings.TrimSpace(c.AuthorityHost)
	if host == "" {
		host = DefaultAuthorityHost
	}
	u, err := checkURL("Config.AuthorityHost", host)
	if err != nil {
		return nil, err
	}
	if p := strings.Trim(u.Path, "/"); p != "" && pathNamesTenant(p) {
		return nil, configError("Config.AuthorityHost %q has a path (%q): set only the scheme and host, e.g. %q, and put the tenant in TenantID (or use MetadataURL for an authority with another layout)", host, p, u.Scheme+"://"+u.Host+"/")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery, u.Fragment = "", ""
	s.authority = u

	if c.MetadataURL != "" {
		m, err := checkURL("Config.MetadataURL", strings.TrimSpace(c.MetadataURL))
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(strings.TrimSuffix(m.Path, "/"), "/.well-known/openid-configuration") {
			return nil, configError("Config.MetadataURL %q is not an OpenID metadata document: it ends in /.well-known/openid-configuration, e.g. %q", m.String(), strings.TrimSuffix(m.String(), "/")+"/.well-known/openid-configuration")
		}
		s.custom = true
		s.metadataURLs = []string{m.String()}
	} else {
		base := u.String() + url.PathEscape(s.tenant)
		s.metadataURLs = []string{
			base + "/v2.0/.well-known/openid-configuration",
			base + "/.well-known/openid-configuration",
		}
	}

	for _, v := range c.TokenVersions {
		if v != Version1 && v != Version2 {
			return nil, configError("Config.TokenVersions entry %q is not %q or %q", v, Version1, Version2)
		}
	}
	s.versions = slices.Clone(c.TokenVersions)

	algs := c.Algorithms
	if len(algs) == 0 {
		algs = []string{"RS256"}
	}
	for _, a := range algs {
		id := jose.AlgByName(a)
		if id == jose.AlgUnknown {
			return nil, configError("Config.Algorithms entry %q is not supported: use RS256 (Entra's algorithm), or one of RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512", a)
		}
		s.algs |= 1 << id
	}

	switch {
	case s.skew == 0:
		s.skew = DefaultClockSkew
	case s.skew < 0 || s.skew > maxClockSkew:
		return nil, configError("Config.ClockSkew %v is out of range: use a duration above 0 and at most %v (default %v)", s.skew, maxClockSkew, DefaultClockSkew)
	}
	if s.now == nil {
		s.now = time.Now
	}
	// A copy whose redirect policy refuses https→http first; the caller's
	// own policy, or else a limit of 3 redirects, runs after that check.
	client := http.Client{}
	if s.client != nil {
		client = *s.client
	}
	own := client.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		return checkRedirect(req, via, own)
	}
	s.client = &client
	switch {
	case s.fetchTimeout == 0:
		s.fetchTimeout = DefaultFetchTimeout
	case s.fetchTimeout < 0:
		return nil, configError("Config.FetchTimeout %v is negative", s.fetchTimeout)
	}
	switch {
	case s.refresh == 0:
		s.refresh = DefaultRefreshInterval
	case s.refresh < minRefreshInterval:
		return nil, configError("Config.RefreshInterval %v is too short: use at least %v (default %v)", s.refresh, minRefreshInterval, DefaultRefreshInterval)
	}
	switch {
	case s.minRefresh == 0:
		s.minRefresh = DefaultMinRefreshInterval
	case s.minRefresh < 0:
		return nil, configError("Config.MinRefreshInterval %v is negative", s.minRefresh)
	}
	switch {
	case s.maxTokenSize == 0:
		s.maxTokenSize = DefaultMaxTokenSize
	case s.maxTokenSize < minMaxTokenSize || s.maxTokenSize > maxMaxTokenSize:
		return nil, configError("Config.MaxTokenSize %d is out of range: use %d to %d bytes (default %d)", s.maxTokenSize, minMaxTokenSize, maxMaxTokenSize, DefaultMaxTokenSize)
	}
	switch {
	case s.cacheSize == 0:
		s.cacheSize = DefaultCacheSize
	case s.cacheSize < 0:
		s.cacheSize = 0
	case s.cacheSize > maxCacheSize:
		return nil, configError("Config.CacheSize %d is too large: use at most %d", s.cacheSize, maxCacheSize)
	}
	switch s.cacheMaxBytes = c.CacheMaxBytes; {
	case s.cacheMaxBytes == 0:
		s.cacheMaxBytes = DefaultCacheMaxBytes
	case s.cacheMaxBytes < 0:
		return nil, configError("Config.CacheMaxBytes %d is negative: use a size in bytes (default %d, 32 MiB), or a negative CacheSize to turn the cache off", s.cacheMaxBytes, DefaultCacheMaxBytes)
	}
	switch {
	case !s.multiTenant || s.custom || c.MaxTenantKeySets < 0:
		s.maxTenantSets = 0
	case c.MaxTenantKeySets == 0:
		s.maxTenantSets = DefaultMaxTenantKeySets
	case c.MaxTenantKeySets > maxTenantKeySets:
		return nil, configError("Config.MaxTenantKeySets %d is too large: use at most %d (default %d)", c.MaxTenantKeySets, maxTenantKeySets, DefaultMaxTenantKeySets)
	default:
		s.maxTenantSets = c.MaxTenantKeySets
	}
	if s.logger == nil {
		s.logger = slog.Default()
	} else {
		s.ownLogger = true
	}
	if err := c.b2cSettings(s); err != nil {
		return nil, err
	}
	return s, nil
}

// checkTenantID refuses a TenantID that cannot name a directory, before any
// fetch: the authority would answer every metadata request 400, and the
// mistake would show only as failed refreshes. A tenant is a GUID in its
// 8-4-4-4-12 form, a verified domain name (contoso.onmicrosoft.com,
// contoso.com), or one of organizations, common and consumers.
func checkTenantID(t string) error {
	switch strings.ToLower(t) {
	case TenantOrganizations, TenantCommon, TenantConsumers:
		return nil
	}
	if guid.Is(t) {
		return nil
	}
	const fix = "use the directory (tenant) ID, a GUID such as \"72f988bf-86f1-41af-91ab-2d7cd011db47\" (Overview page of Microsoft Entra ID in the Azure portal), a verified domain such as \"contoso.onmicrosoft.com\", or \"organizations\" or \"common\" for a multi-tenant API"
	if inner, ok := strings.CutPrefix(t, "{"); ok {
		if inner, ok = strings.CutSuffix(inner, "}"); ok && guid.Is(inner) {
			return configError("Config.TenantID %q is a GUID in braces: write it without them, %q (%s)", t, inner, EnvTenantID)
		}
	}
	if isHex(t) && len(t) == 32 {
		g := t[:8] + "-" + t[8:12] + "-" + t[12:16] + "-" + t[16:20] + "-" + t[20:]
		return configError("Config.TenantID %q is a GUID without its hyphens: write it in the 8-4-4-4-12 form, %q (%s)", t, g, EnvTenantID)
	}
	if isHex(strings.ReplaceAll(t, "-", "")) {
		return configError("Config.TenantID %q is not a GUID: a tenant ID has 32 hexadecimal digits in the 8-4-4-4-12 form (36 characters), this one has %d characters; copy it again, or %s", t, len(t), fix)
	}
	if !strings.Contains(t, ".") {
		return configError("Config.TenantID %q is neither a tenant ID nor a domain: %s (%s)", t, fix, EnvTenantID)
	}
	if !isDomainName(t) {
		return configError("Config.TenantID %q is not a domain name: %s (%s)", t, fix, EnvTenantID)
	}
	return nil
}

// isHex reports whether s is a non-empty string of hexadecimal digits.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// isDomainName reports whether s is a DNS name of at least two labels,
// each of 1 to 63 letters, digits and inner hyphens, whose last label is
// not all digits (an IP address is no tenant).
func isDomainName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
				return false
			}
		}
	}
	return !isDigits(labels[len(labels)-1])
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// tenantInURL returns the first path segment of an authority URL given as
// a tenant ID ("https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
// gives "contoso.onmicrosoft.com"), for the set-up error's hint.
func tenantInURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<tenant GUID>"
	}
	first, _, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if first == "" {
		return "<tenant GUID>"
	}
	return first
}

// pathNamesTenant reports whether an authority path holds a tenant or an
// endpoint of one ("contoso.onmicrosoft.com", a GUID, "organizations",
// "v2.0"...): the mistake of pasting an authority URL as AuthorityHost. A
// plain prefix, such as a proxy's "/entra/", does not.
func pathNamesTenant(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		switch strings.ToLower(seg) {
		case TenantOrganizations, TenantCommon, TenantConsumers, "v2.0", "oauth2", ".well-known", "discovery":
			return true
		}
		if guid.Is(seg) || strings.Contains(seg, ".") {
			return true
		}
	}
	return false
}

// cutPrefixFold is strings.CutPrefix with prefix matched case-insensitively
// (prefix is ASCII lower case).
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !asciiEqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// asciiEqualFold reports whether a and b are equal but for the case of
// ASCII letters. Unlike strings.EqualFold, it maps no other character
// (such as the Kelvin sign) to an ASCII letter.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// guidAudience reports whether a is an audience that names an application
// by its GUID ("{guid}" or "api://{guid}"), compared case-insensitively.
func guidAudience(a string) bool {
	if rest, ok := cutPrefixFold(a, "api://"); ok {
		a = strings.TrimSuffix(rest, "/")
	}
	return guid.Is(a)
}

// audienceForms returns a with its trailing-slash twin when a is a URI
// (an App ID URI such as "https://api.contoso.com" or "api://orders").
func audienceForms(a string) []string {
	if !strings.Contains(a, "://") {
		return []string{a}
	}
	if t := strings.TrimSuffix(a, "/"); t != a {
		return []string{a, t}
	}
	return []string{a, a + "/"}
}

// checkURL parses an authority or metadata URL and refuses anything but
// https, except plain http to a loopback host (a local emulator).
func checkURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, configError("%s %q is not an absolute URL such as %q", field, raw, DefaultAuthorityHost)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, configError("%s %q uses plain http: use https (plain http is allowed only for a loopback emulator)", field, raw)
		}
	default:
		return nil, configError("%s %q must use https", field, raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkRedirect refuses a redirect from https to http, then applies own,
// or, without one, a limit of 3 redirects.
func checkRedirect(req *http.Request, via []*http.Request, own func(*http.Request, []*http.Request) error) error {
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refused redirect from https to %s", req.URL.Scheme)
	}
	if own != nil {
		return own(req, via)
	}
	if len(via) > 3 {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	return nil
}
