package emulator

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/entraguard/entraguard/core/entratest"
)

// An Emulator is a local Entra ID authority: an [http.Handler] serving
// Entra ID's endpoints for the tenant, users, apps and identities of its
// [Config]. Set its URL ([Emulator.SetURL]) to the address it is served at
// before it answers. Its methods are safe for concurrent use.
type Emulator struct {
	srv   *entratest.Server
	now   func() time.Time
	cfg   Config
	fetch *http.Client // for external issuers' discovery and keys

	users       []*User
	defaultUser *User
	apps        map[string]*App // by lower-case client ID
	mis         []*ManagedIdentity
	agents      []*Agent
	apiScopes   map[string]bool // lower-case; nil: any

	mu       sync.Mutex
	codes    map[string]*authCode
	refresh  map[string]*refreshGrant
	sessions map[string]*session
	devices  map[string]*deviceFlow // by device_code
	tickets  map[string]time.Time   // one-use form tickets
	issuers  map[string]*remoteKeys // external issuers' keys
}

// Option changes how [New] builds an Emulator.
type Option func(*options)

type options struct {
	now   func() time.Time
	fetch *http.Client
}

// WithClock sets the clock of the emulator and its tokens, for tests.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithHTTPClient sets the client that fetches external issuers' discovery
// documents and keys (workload identity federation). Default: a client
// with a 10-second timeout.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.fetch = c }
}

// New builds an Emulator of cfg. It returns an error that names the
// setting to fix; a certificate file that cannot be read is one.
func New(cfg Config, opts ...Option) (e *Emulator, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	o := options{now: time.Now, fetch: &http.Client{Timeout: 10 * time.Second}}
	for _, f := range opts {
		f(&o)
	}
	// entratest panics on settings a test got wrong; here they are a user's.
	defer func() {
		if r := recover(); r != nil {
			if e != nil {
				e.srv.Close()
			}
			e, err = nil, fmt.Errorf("emulator: %v", r)
		}
	}()
	topts := []entratest.Option{entratest.WithClock(o.now)}
	if cfg.TenantID != "" {
		topts = append(topts, entratest.WithTenantID(cfg.TenantID))
	}
	if cfg.ClientID != "" {
		topts = append(topts, entratest.WithClientID(cfg.ClientID))
	}
	if cfg.TokenVersion != "" {
		topts = append(topts, entratest.WithAccessTokenVersion(cfg.TokenVersion))
	}
	ln, lerr := newNullListener()
	if lerr != nil {
		return nil, lerr
	}
	topts = append(topts, entratest.WithListener(ln))
	e = &Emulator{
		srv:      entratest.NewUnstartedServer(topts...),
		now:      o.now,
		fetch:    o.fetch,
		apps:     map[string]*App{},
		codes:    map[string]*authCode{},
		refresh:  map[string]*refreshGrant{},
		sessions: map[string]*session{},
		devices:  map[string]*deviceFlow{},
		tickets:  map[string]time.Time{},
		issuers:  map[string]*remoteKeys{},
	}
	cfg.TenantID, cfg.ClientID = e.srv.TenantID, e.srv.ClientID
	if cfg.TokenVersion == "" {
		cfg.TokenVersion = "2.0"
	}
	if cfg.IdentityHeader == "" {
		cfg.IdentityHeader = randomString(24)
	}
	if cfg.DeviceCodeInterval == 0 {
		cfg.DeviceCodeInterval = 5
	}
	if len(cfg.APIScopes) > 0 {
		e.apiScopes = map[string]bool{}
		for _, s := range cfg.APIScopes {
			e.apiScopes[strings.ToLower(s)] = true
		}
	}
	e.initUsers(&cfg)
	for i := range cfg.Apps {
		if err := e.initApp(&cfg.Apps[i], i); err != nil {
			e.srv.Close()
			return nil, err
		}
	}
	for i := range cfg.ManagedIdentities {
		m := &cfg.ManagedIdentities[i]
		m.ClientID = orNew(m.ClientID)
		m.ObjectID = orNew(m.ObjectID)
		if m.ResourceID == "" {
			// A system-assigned identity's xms_mirid is its host's resource
			// ID (here an App Service app); a user-assigned one's its own.
			sub := derived(cfg.TenantID, "subscription")
			if m.SystemAssigned {
				m.ResourceID = fmt.Sprintf("/subscriptions/%s/resourcegroups/local/providers/Microsoft.Web/sites/app-%s", sub, m.ClientID[:8])
			} else {
				m.ResourceID = fmt.Sprintf("/subscriptions/%s/resourcegroups/local/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi-%s", sub, m.ClientID[:8])
			}
		}
		e.mis = append(e.mis, m)
	}
	for i := range cfg.Agents {
		a := &cfg.Agents[i]
		a.AgentID = orNew(a.AgentID)
		a.ObjectID = orNew(a.ObjectID)
		a.UserObjectID = orNew(a.UserObjectID)
		if a.UserUPN == "" {
			a.UserUPN = "agent-" + a.AgentID[:8] + "@contoso.onmicrosoft.com"
		}
		e.srv.RegisterApp(entratest.App{ClientID: a.BlueprintClientID, Secret: a.BlueprintSecret})
		e.agents = append(e.agents, a)
	}
	e.cfg = cfg
	return e, nil
}

func (e *Emulator) initUsers(cfg *Config) {
	if cfg.User != nil {
		u := *cfg.User
		u.ObjectID = cmp.Or(u.ObjectID, e.srv.UserObjectID)
		u.Name = cmp.Or(u.Name, e.srv.UserName)
		u.UPN = cmp.Or(u.UPN, e.srv.UserPrincipalName)
		cfg.Users = append([]User{u}, cfg.Users...)
		cfg.User = nil
	}
	if len(cfg.Users) == 0 {
		cfg.Users = []User{{ObjectID: e.srv.UserObjectID, Name: e.srv.UserName, UPN: e.srv.UserPrincipalName, Email: "AdeleV@contoso.com"}}
	}
	for i := range cfg.Users {
		u := &cfg.Users[i]
		u.ObjectID = strings.ToLower(orNew(u.ObjectID))
		if u.Name == "" {
			u.Name, _, _ = strings.Cut(u.UPN, "@")
		}
		e.users = append(e.users, u)
		if cfg.DefaultUser != "" && (strings.EqualFold(u.UPN, cfg.DefaultUser) || strings.EqualFold(u.ObjectID, cfg.DefaultUser)) {
			e.defaultUser = u
		}
	}
	if e.defaultUser == nil {
		e.defaultUser = e.users[0]
	}
	// Tokens minted without a user (the mint endpoint) are the default user's.
	e.srv.UserObjectID, e.srv.UserName, e.srv.UserPrincipalName = e.defaultUser.ObjectID, e.defaultUser.Name, e.defaultUser.UPN
}

func (e *Emulator) initApp(a *App, i int) error {
	a.ClientID = orNew(a.ClientID)
	if a.Type == "" {
		a.Type = AppConfidential
	}
	a.Name = cmp.Or(a.Name, a.ClientID)
	var cert *x509.Certificate
	if a.CertificateFile != "" {
		c, err := readCertificate(a.CertificateFile)
		if err != nil {
			return fmt.Errorf("apps[%d].certificate_file: %v", i, err)
		}
		cert = c
	}
	if a.Type == AppConfidential {
		if a.Secret == "" && cert == nil && len(a.FederatedCredentials) == 0 {
			a.Secret = "emu." + randomString(24)
		}
		if a.Secret != "" || cert != nil {
			e.srv.RegisterApp(entratest.App{ClientID: a.ClientID, Secret: a.Secret, Certificate: cert, Roles: a.Roles, ObjectID: appObjectID(a.ClientID),
				Scopes: a.Scopes, AccessTokenVersion: a.TokenVersion, RefuseAssertionReplay: a.RefuseAssertionReplay})
		}
	}
	e.apps[strings.ToLower(a.ClientID)] = a
	return nil
}

// Close releases the emulator's keys. Requests after Close are not
// answered correctly.
func (e *Emulator) Close() { e.srv.Close() }

// SetURL sets the base URL the emulator is served at, such as
// "https://127.0.0.1:8400" (no trailing slash): the issuer of its tokens
// and the base of the endpoints its documents name.
func (e *Emulator) SetURL(u string) { e.srv.URL = strings.TrimSuffix(u, "/") }

// URL returns the base URL set by [Emulator.SetURL].
func (e *Emulator) URL() string { return e.srv.URL }

// Authority returns the underlying fake authority, to mint tokens
// ([entratest.Server.Mint]) with the emulator's keys.
func (e *Emulator) Authority() *entratest.Server { return e.srv }

// Config returns the configuration as the emulator resolved it: every
// default filled in (random IDs, secrets, the identity header).
func (e *Emulator) Config() Config {
	c := e.cfg
	c.Users = append([]User(nil), c.Users...)
	c.Apps = append([]App(nil), c.Apps...)
	c.ManagedIdentities = append([]ManagedIdentity(nil), c.ManagedIdentities...)
	c.Agents = append([]Agent(nil), c.Agents...)
	return c
}

// TokenURL returns the v2.0 token endpoint of the home tenant.
func (e *Emulator) TokenURL() string { return e.srv.TokenURL() }

// IdentityEndpoint returns the App Service managed identity endpoint:
// the IDENTITY_ENDPOINT of its clients, with IDENTITY_HEADER
// [Config.IdentityHeader].
func (e *Emulator) IdentityEndpoint() string { return e.srv.URL + appServiceMIPath }

// IMDSEndpoint returns the IMDS-shaped managed identity endpoint.
func (e *Emulator) IMDSEndpoint() string { return e.srv.URL + imdsPath }

// Paths the emulator serves beside entratest's.
const (
	appServiceMIPath = "/msi/token"
	imdsPath         = "/metadata/identity/oauth2/token"
	userinfoPath     = "/oidc/userinfo"
	deviceLoginPath  = "/devicelogin"
	workloadPath     = "/workload"
)

// ServeHTTP answers a request to the emulator.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case appServiceMIPath:
		e.serveAppServiceMI(w, r)
		return
	case imdsPath:
		e.serveIMDS(w, r)
		return
	case userinfoPath:
		e.serveUserinfo(w, r)
		return
	case deviceLoginPath:
		e.serveDeviceLogin(w, r)
		return
	case workloadPath + "/.well-known/openid-configuration":
		e.serveWorkloadMetadata(w, r)
		return
	case workloadPath + "/keys":
		e.serveWorkloadKeys(w, r)
		return
	}
	tenantSeg, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch rest {
	case "v2.0/.well-known/openid-configuration":
		e.serveMetadata(w, r, true)
	case ".well-known/openid-configuration":
		e.serveMetadata(w, r, false)
	case "oauth2/v2.0/authorize":
		e.serveAuthorize(w, r, tenantSeg, false)
	case "oauth2/authorize":
		e.serveAuthorize(w, r, tenantSeg, true)
	case "oauth2/token":
		e.serveTokenV1(w, r, tenantSeg)
	case "oauth2/v2.0/token":
		e.serveToken(w, r, tenantSeg)
	case "oauth2/v2.0/devicecode":
		e.serveDeviceCode(w, r, tenantSeg)
	case "oauth2/v2.0/logout":
		e.serveLogout(w, r)
	default:
		e.srv.ServeHTTP(w, r)
	}
}

// serveMetadata answers entratest's metadata with the endpoints the
// emulator serves, and without those it does not.
func (e *Emulator) serveMetadata(w http.ResponseWriter, r *http.Request, v2 bool) {
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		copyRecorded(w, rec)
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		copyRecorded(w, rec)
		return
	}
	delete(doc, "kerberos_endpoint")
	// Only the authorization code flow is served, and no front-channel
	// logout of other apps.
	doc["response_types_supported"] = []string{"code"}
	doc["frontchannel_logout_supported"] = false
	if v2 {
		doc["userinfo_endpoint"] = e.srv.URL + userinfoPath
	} else {
		// The v1.0 authorize and token endpoints are served; its device
		// code, logout, check session and userinfo endpoints are not (MSAL
		// uses v2.0's).
		for _, k := range []string{"device_authorization_endpoint", "end_session_endpoint", "check_session_iframe", "userinfo_endpoint"} {
			delete(doc, k)
		}
		doc["http_logout_supported"], doc["frontchannel_logout_supported"] = false, false
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	writeJSON(w, http.StatusOK, doc)
}

func copyRecorded(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// writeJSON answers v as JSON, not cached, readable cross-origin (as Entra
// ID's token endpoint is, for SPAs).
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store, no-cache")
	}
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// tokenError makes a refusal in Entra ID's shape.
func tokenError(status int, oauthErr string, code int, format string, args ...any) *entratest.TokenError {
	return &entratest.TokenError{Status: status, OAuthError: oauthErr, AADSTS: code, Description: fmt.Sprintf(format, args...)}
}

func badRequest(oauthErr string, code int, format string, args ...any) *entratest.TokenError {
	return tokenError(http.StatusBadRequest, oauthErr, code, format, args...)
}

// homeTenant reports whether a tenant path segment names the home tenant
// (its GUID, organizations or common).
func (e *Emulator) homeTenant(seg string) bool {
	switch strings.ToLower(seg) {
	case "organizations", "common", strings.ToLower(e.cfg.TenantID):
		return true
	}
	return false
}

func (e *Emulator) tenantNotFound(seg string) *entratest.TokenError {
	return badRequest("invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. (The emulator's tenant is %s.)", seg, e.cfg.TenantID)
}

func (e *Emulator) lookupApp(clientID string) *App { return e.apps[strings.ToLower(clientID)] }

func (e *Emulator) lookupUser(id string) *User {
	for _, u := range e.users {
		if strings.EqualFold(u.ObjectID, id) || strings.EqualFold(u.UPN, id) {
			return u
		}
	}
	return nil
}

// randomString returns n random bytes in base64url.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func orNew(id string) string {
	if id == "" {
		return entratest.NewGUID()
	}
	return id
}

// derived returns a GUID derived from seed and label.
func derived(seed, label string) string {
	var b [16]byte
	copy(b[:], sha256Sum(seed+"\x00"+label))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// maxCertificateFile bounds what readCertificate reads: a PEM chain of a
// few certificates is a few KiB.
const maxCertificateFile = 1 << 20

// readCertificate reads the first PEM certificate of a file.
func readCertificate(path string) (*x509.Certificate, error) {
	b, err := readFileMax(path, maxCertificateFile)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// isLoopbackHost reports whether a host name (no port) is this machine's
// loopback: localhost or a loopback IP.
func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// nullListener is the listener of the unstarted entratest server inside an
// emulator: it is never served, and holds no port.
type nullListener struct{ done chan struct{} }

func newNullListener() (net.Listener, error) { return &nullListener{done: make(chan struct{})}, nil }

func (l *nullListener) Accept() (net.Conn, error) {
	<-l.done
	return nil, net.ErrClosed
}

func (l *nullListener) Close() error {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	return nil
}

func (l *nullListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
