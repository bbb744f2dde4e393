package entra

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/internal/guid"
)

// DefaultAuthorityHost is the authority of Microsoft Entra ID's global cloud.
// It is used when neither [Config.AuthorityHost] nor AZURE_AUTHORITY_HOST is set.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// Defaults applied to zero fields of [Config].
const (
	DefaultClockSkew          = 5 * time.Minute
	DefaultRefreshInterval    = 24 * time.Hour
	DefaultMinRefreshInterval = 30 * time.Second
	DefaultFetchTimeout       = 10 * time.Second
	DefaultMaxTokenSize       = 16 << 10
	DefaultCacheSize          = 10000
)

// Limits on configurable values; NewValidator refuses values outside them.
const (
	maxClockSkew       = time.Hour
	minRefreshInterval = time.Minute
	maxCacheSize       = 10_000_000
	minMaxTokenSize    = 1 << 10
	maxMaxTokenSize    = 1 << 20
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
	// TenantID is the directory whose tokens are accepted: a tenant GUID or a
	// verified domain for a single-tenant API, or "organizations" or "common"
	// for a multi-tenant API, whose issuer is then matched against each
	// token's own tid (restrict tenants with AllowedTenants). Required.
	TenantID string

	// ClientID is the API's application (client) ID. Tokens whose audience is
	// ClientID or "api://"+ClientID are accepted. Required.
	ClientID string

	// Audiences are further accepted audiences, typically a custom App ID URI
	// such as "api://contoso-orders" or "https://api.contoso.com". Matching is
	// exact and case-sensitive. Optional. Default: none.
	Audiences []string

	// AllowedTenants restricts a multi-tenant API to these tenant GUIDs (the
	// token's tid). Optional. Default: every tenant whose issuer matches. For a
	// single-tenant API the tenant is already fixed by TenantID.
	AllowedTenants []string

	// AuthorityHost is the Entra authority, e.g. "https://login.microsoftonline.us/"
	// for Azure Government or "https://contoso.ciamlogin.com/" for External ID.
	// It must be https, unless its host is loopback (a local emulator).
	// Optional. Default: AZURE_AUTHORITY_HOST, else [DefaultAuthorityHost].
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
	// background. It must be at least a minute. Optional. Default: 24 hours.
	RefreshInterval time.Duration

	// MinRefreshInterval is the shortest time between two refreshes
	// triggered by tokens signed with an unknown key (kid). A flood of random
	// kids costs at most one fetch per interval; a request never waits for
	// this limit. Optional. Default: 30 seconds.
	MinRefreshInterval time.Duration

	// AppSpecificKeys fetches keys with "?appid=ClientID", for applications
	// with custom signing keys (claims mapping). Optional. Default: false.
	AppSpecificKeys bool

	// MaxTokenSize is the largest token accepted, in bytes, checked before any
	// decoding. Optional. Default: 16 KiB. Range: 1 KiB to 1 MiB.
	MaxTokenSize int

	// CacheSize bounds the cache of verified tokens (keyed by the whole
	// token, expiring at the token's exp, flushed when keys change). Negative
	// disables the cache. Optional. Default: 10,000 tokens.
	CacheSize int

	// Logger receives key refresh events and skipped keys. Tokens and key
	// material are never logged. Optional. Default: no logging.
	Logger *slog.Logger

	// Revocations is asked about every token accepted, after the signature
	// and claims checks and on cache hits too; a token it refuses fails with
	// [CodeRevoked]. Use a [RevocationList] in one process, or the
	// entraredis module's mirror to share one between replicas.
	// Optional. Default: none (revocation is not seen).
	Revocations Revocations
}

// ConfigFromEnv returns a Config read from the Azure SDK's environment
// variables AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_AUTHORITY_HOST, plus
// ENTRA_AUDIENCES and ENTRA_ALLOWED_TENANTS (comma-separated lists).
// Missing variables leave fields empty; [NewValidator] reports what is missing.
func ConfigFromEnv() Config {
	return Config{
		TenantID:       strings.TrimSpace(os.Getenv("AZURE_TENANT_ID")),
		ClientID:       strings.TrimSpace(os.Getenv("AZURE_CLIENT_ID")),
		AuthorityHost:  strings.TrimSpace(os.Getenv("AZURE_AUTHORITY_HOST")),
		Audiences:      splitList(os.Getenv("ENTRA_AUDIENCES")),
		AllowedTenants: splitList(os.Getenv("ENTRA_ALLOWED_TENANTS")),
	}
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
	algs           algSet
	skew           time.Duration
	now            func() time.Time
	client         *http.Client
	fetchTimeout   time.Duration
	refresh        time.Duration
	minRefresh     time.Duration
	appKeys        bool
	maxTokenSize   int
	cacheSize      int
	logger         *slog.Logger
	revocations    Revocations
}

func configError(format string, args ...any) error {
	return &Error{Code: CodeConfig, Description: fmt.Sprintf(format, args...)}
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
		maxTokenSize: c.MaxTokenSize,
		cacheSize:    c.CacheSize,
		logger:       c.Logger,
		revocations:  c.Revocations,
	}
	if s.tenant == "" {
		return nil, configError("Config.TenantID is empty: set it to your tenant ID (a GUID), or to %q for a multi-tenant API (AZURE_TENANT_ID)", TenantOrganizations)
	}
	if strings.ContainsAny(s.tenant, "/?#% ") {
		return nil, configError("Config.TenantID %q is not a tenant ID or domain", s.tenant)
	}
	if s.clientID == "" {
		return nil, configError("Config.ClientID is empty: set it to the API's application (client) ID (AZURE_CLIENT_ID)")
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
		if !slices.Contains(s.audiences, a) {
			s.audiences = append(s.audiences, a)
		}
	}

	if len(c.AllowedTenants) > 0 {
		s.allowedTenants = make(map[string]struct{}, len(c.AllowedTenants))
		for _, t := range c.AllowedTenants {
			t = strings.ToLower(strings.TrimSpace(t))
			if !guid.Is(t) {
				return nil, configError("Config.AllowedTenants entry %q is not a tenant GUID", t)
			}
			s.allowedTenants[t] = struct{}{}
		}
	}

	host := strings.TrimSpace(c.AuthorityHost)
	if host == "" {
		host = strings.TrimSpace(os.Getenv("AZURE_AUTHORITY_HOST"))
	}
	if host == "" {
		host = DefaultAuthorityHost
	}
	u, err := checkURL("Config.AuthorityHost", host)
	if err != nil {
		return nil, err
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
		id := algByName(a)
		if id == algUnknown {
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
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s, nil
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
