package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Config is the emulator's configuration: the tenant, the API, the users
// who sign in, the registered apps, managed identities and agents. It is
// read from one JSON file by [LoadConfig] (a field the emulator does not
// know, or a value of the wrong type, is an error that names it); every
// field is optional.
type Config struct {
	// TenantID is the home tenant, a GUID. Default: random.
	TenantID string `json:"tenant_id"`
	// ClientID is the application (client) ID of the API: the audience of
	// the tokens clients get for "api://{client_id}/…". Default: random.
	ClientID string `json:"client_id"`
	// TokenVersion is the API's accessTokenAcceptedVersion, "2.0" (default)
	// or "1.0".
	TokenVersion string `json:"token_version"`
	// APIScopes are the delegated permissions the API exposes, such as
	// "Orders.Read". A sign-in or refresh that asks for another scope of the
	// API is refused (AADSTS65005). Empty: any scope name is accepted.
	APIScopes []string `json:"api_scopes"`

	// User is one user, as in earlier config files; it is added to Users.
	User *User `json:"user"`
	// Users are the users who can sign in. Default: one user, Adele Vance.
	Users []User `json:"users"`
	// DefaultUser is the user (by upn or object ID) signed in by the
	// non-interactive mode without a login_hint. Default: the first user.
	DefaultUser string `json:"default_user"`
	// NonInteractive makes the authorization and device code endpoints
	// answer at once, without a sign-in page, for the login_hint's user or
	// the default user, with consent given: for headless tests.
	NonInteractive bool `json:"non_interactive"`

	// Apps are the registered client applications.
	Apps []App `json:"apps"`
	// ManagedIdentities are the managed identities of the managed identity
	// endpoints.
	ManagedIdentities []ManagedIdentity `json:"managed_identities"`
	// Agents are Microsoft Entra Agent ID agent identities.
	Agents []Agent `json:"agents"`

	// IdentityHeader is the secret clients of the App Service managed
	// identity endpoint send in X-IDENTITY-HEADER (IDENTITY_HEADER).
	// Default: random, printed at start.
	IdentityHeader string `json:"identity_header"`
	// DeviceCodeInterval is the polling interval of the device code flow,
	// in seconds. Default: 5, as Entra ID's.
	DeviceCodeInterval int `json:"device_code_interval_seconds"`
}

// A User is a user who can sign in.
type User struct {
	// ObjectID is the user's oid. Default: random.
	ObjectID string `json:"object_id"`
	// Name is the display name. Default: derived from UPN.
	Name string `json:"name"`
	// UPN is the sign-in name: preferred_username, upn. Required.
	UPN string `json:"upn"`
	// Email is the email claim (with the email scope). Default: none.
	Email string `json:"email"`
	// GivenName and FamilyName are the given_name and family_name claims
	// of the user's v1.0 ID tokens. Default: none.
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
	// Groups are group object IDs: the groups claim.
	Groups []string `json:"groups"`
	// Roles are the app roles assigned to the user, per app: the key is the
	// app's client ID (or the API's); the value the roles claim of the
	// user's tokens for that app.
	Roles map[string][]string `json:"roles"`
}

// App types.
const (
	// AppConfidential is a web app or a daemon with a secret, certificate
	// or federated credential: the "Web" platform.
	AppConfidential = "confidential"
	// AppPublic is a public client (desktop, mobile, CLI): no credential,
	// PKCE required, any port of http://localhost as redirect URI, device
	// code flow.
	AppPublic = "public"
	// AppSPA is a single-page application: no credential, PKCE required,
	// its token requests are cross-origin (CORS), refresh tokens live 24
	// hours.
	AppSPA = "spa"
)

// An App is a registered client application.
type App struct {
	// ClientID is the application (client) ID. Default: random.
	ClientID string `json:"client_id"`
	// Name is the display name shown on the sign-in page.
	Name string `json:"name"`
	// Type is "confidential" (default), "public" or "spa".
	Type string `json:"type"`
	// RedirectURIs are the reply URLs of the authorization code flow, also
	// accepted as post_logout_redirect_uri.
	RedirectURIs []string `json:"redirect_uris"`
	// Secret is the client secret of a confidential app.
	Secret string `json:"secret"`
	// CertificateFile is a PEM certificate of a confidential app, relative
	// to the config file: its client assertions are checked against it.
	CertificateFile string `json:"certificate_file"`
	// FederatedCredentials are workload identity federation trusts: a
	// client assertion issued by Issuer for Subject is accepted.
	FederatedCredentials []FederatedCredential `json:"federated_credentials"`
	// Roles are the app roles granted to the app: the roles of its
	// client-credentials tokens.
	Roles []string `json:"roles"`
	// Scopes are the API's delegated scopes consented for the app, used by
	// on-behalf-of and by ".default" sign-ins.
	Scopes []string `json:"scopes"`
	// TokenVersion is the app's own accessTokenAcceptedVersion, when the app
	// is itself an API (a middle tier), and the version of its ID tokens.
	TokenVersion string `json:"token_version"`
	// RefuseAssertionReplay refuses a client assertion whose jti was
	// already used (AADSTS50027). Entra ID accepts one until its exp.
	RefuseAssertionReplay bool `json:"refuse_assertion_replay"`
}

// A FederatedCredential trusts tokens of an external issuer as an app's
// client assertion (workload identity federation, as AKS uses).
type FederatedCredential struct {
	// Issuer is the external issuer's URL (its discovery document is at
	// Issuer + "/.well-known/openid-configuration"). Empty: the emulator's
	// own workload issuer ({authority}/workload).
	Issuer string `json:"issuer"`
	// Subject is the sub the token must carry, such as
	// "system:serviceaccount:default:orders". Required.
	Subject string `json:"subject"`
	// Audience is the aud the token must carry. Default:
	// "api://AzureADTokenExchange".
	Audience string `json:"audience"`
}

// A ManagedIdentity is a system- or user-assigned managed identity.
type ManagedIdentity struct {
	// ClientID is the identity's client (application) ID. Default: random.
	ClientID string `json:"client_id"`
	// ObjectID is its service principal's object ID. Default: random.
	ObjectID string `json:"object_id"`
	// ResourceID is its Azure resource ID (xms_mirid, mi_res_id). Default:
	// a user-assigned identity's path under a made-up subscription.
	ResourceID string `json:"resource_id"`
	// SystemAssigned makes it the identity a request without client_id,
	// object_id or mi_res_id gets. At most one identity is.
	SystemAssigned bool `json:"system_assigned"`
	// Roles are the app roles granted to it.
	Roles []string `json:"roles"`
}

// An Agent is a Microsoft Entra Agent ID agent identity and its blueprint.
type Agent struct {
	// BlueprintClientID is the agent identity blueprint's client ID.
	// Required.
	BlueprintClientID string `json:"blueprint_client_id"`
	// BlueprintSecret is the blueprint's client secret. Required.
	BlueprintSecret string `json:"blueprint_secret"`
	// AgentID is the agent identity's client ID. Default: random.
	AgentID string `json:"agent_id"`
	// ObjectID is the agent identity's service principal. Default: random.
	ObjectID string `json:"object_id"`
	// UserObjectID is the agent's user account's object ID. Default:
	// random.
	UserObjectID string `json:"user_object_id"`
	// UserUPN is the agent user's sign-in name. Default:
	// "agent-{agent_id prefix}@{tenant}".
	UserUPN string `json:"user_upn"`
	// Roles are the app roles of the agent acting on its own.
	Roles []string `json:"roles"`
}

// maxConfigFile bounds what LoadConfig reads: a config of thousands of
// users and apps is well under it.
const maxConfigFile = 4 << 20

// readFileMax reads a file of at most max bytes; a larger one (or a
// device that never ends) is an error, not unbounded memory.
func readFileMax(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d KiB", path, max>>10)
	}
	return b, nil
}

// LoadConfig reads a config file. A field the emulator does not know, a
// value of the wrong type, a second JSON value or an invalid setting is an
// error that names the field; so is a file over 4 MiB. Relative
// certificate paths are resolved against the file's directory.
func LoadConfig(path string) (Config, error) {
	var c Config
	b, err := readFileMax(path, maxConfigFile)
	if err != nil {
		return c, fmt.Errorf("emulator: reading the config file: %w", err)
	}
	if c, err = ParseConfig(b); err != nil {
		return c, fmt.Errorf("config file %s: %w", path, err)
	}
	for i := range c.Apps {
		if f := c.Apps[i].CertificateFile; f != "" && !filepath.IsAbs(f) {
			c.Apps[i].CertificateFile = filepath.Join(filepath.Dir(path), f)
		}
	}
	return c, nil
}

// ParseConfig reads a config from JSON, as [LoadConfig] does, without
// resolving file paths.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, explainJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return c, errors.New("more than one JSON value: the file holds one object")
	}
	return c, c.check()
}

// explainJSON turns a decoding error into one that names the field.
func explainJSON(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %q: a JSON %s where %s is expected", te.Field, te.Value, jsonKind(te.Type.String()))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not JSON at byte %d: %v", se.Offset, err)
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return fmt.Errorf("unknown field %s (see the emulator's config reference in docs/cli.md)", strings.TrimPrefix(msg, "json: unknown field "))
	}
	return err
}

func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case goType == "int":
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	}
	return "an object"
}

// check validates the settings a JSON type cannot.
func (c *Config) check() error {
	switch c.TokenVersion {
	case "", "1.0", "2.0":
	default:
		return fmt.Errorf("token_version %q: use \"2.0\" or \"1.0\"", c.TokenVersion)
	}
	if c.DeviceCodeInterval < 0 || c.DeviceCodeInterval > 60 {
		return fmt.Errorf("device_code_interval_seconds %d: 0 (default 5) to 60", c.DeviceCodeInterval)
	}
	seen := map[string]string{}
	claim := func(id, what string) error {
		if id == "" {
			return nil
		}
		if prev, ok := seen[strings.ToLower(id)]; ok {
			return fmt.Errorf("%s: client ID %q is already %s", what, id, prev)
		}
		seen[strings.ToLower(id)] = what
		return nil
	}
	if err := claim(c.ClientID, "client_id"); err != nil {
		return err
	}
	users := c.Users
	if c.User != nil {
		users = append([]User{*c.User}, users...)
	}
	names := map[string]bool{}
	for i, u := range c.Users {
		if strings.TrimSpace(u.UPN) == "" {
			return fmt.Errorf("users[%d].upn: every user needs a sign-in name", i)
		}
		for _, k := range []string{"upn:" + strings.ToLower(u.UPN), "oid:" + strings.ToLower(u.ObjectID)} {
			if k != "oid:" && names[k] {
				return fmt.Errorf("users[%d]: upn %q or object_id %q is another user's too", i, u.UPN, u.ObjectID)
			}
			names[k] = true
		}
	}
	for i, a := range c.Apps {
		at := fmt.Sprintf("apps[%d]", i)
		if err := claim(a.ClientID, at); err != nil {
			return err
		}
		switch a.Type {
		case "", AppConfidential:
		case AppPublic, AppSPA:
			if a.Secret != "" || a.CertificateFile != "" || len(a.FederatedCredentials) > 0 {
				return fmt.Errorf("%s: a %s app has no secret, certificate_file or federated_credentials (it cannot keep them)", at, a.Type)
			}
		default:
			return fmt.Errorf("%s.type %q: use \"confidential\", \"public\" or \"spa\"", at, a.Type)
		}
		switch a.TokenVersion {
		case "", "1.0", "2.0":
		default:
			return fmt.Errorf("%s.token_version %q: use \"2.0\" or \"1.0\"", at, a.TokenVersion)
		}
		for j, u := range a.RedirectURIs {
			p, err := url.Parse(u)
			if err != nil || p.Scheme == "" || p.Fragment != "" || (p.Host == "" && p.Scheme != "msal"+a.ClientID) {
				return fmt.Errorf("%s.redirect_uris[%d] %q: an absolute URL without fragment", at, j, u)
			}
			if a.Type == AppSPA && p.Scheme != "https" && !isLoopbackHost(p.Hostname()) {
				return fmt.Errorf("%s.redirect_uris[%d] %q: a SPA's redirect URI is https, or http on localhost", at, j, u)
			}
		}
		for j, f := range a.FederatedCredentials {
			if f.Subject == "" {
				return fmt.Errorf("%s.federated_credentials[%d].subject: required", at, j)
			}
			if u, err := url.Parse(f.Issuer); f.Issuer != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
				return fmt.Errorf("%s.federated_credentials[%d].issuer %q: the issuer's URL (https://…), or empty for the emulator's own", at, j, f.Issuer)
			}
		}
	}
	system := 0
	for i, m := range c.ManagedIdentities {
		if err := claim(m.ClientID, fmt.Sprintf("managed_identities[%d]", i)); err != nil {
			return err
		}
		if m.SystemAssigned {
			system++
		}
	}
	if system > 1 {
		return errors.New("managed_identities: at most one is system_assigned")
	}
	for i, a := range c.Agents {
		at := fmt.Sprintf("agents[%d]", i)
		if a.BlueprintClientID == "" || a.BlueprintSecret == "" {
			return fmt.Errorf("%s: blueprint_client_id and blueprint_secret are required", at)
		}
		if err := claim(a.BlueprintClientID, at+".blueprint_client_id"); err != nil {
			return err
		}
		if err := claim(a.AgentID, at+".agent_id"); err != nil {
			return err
		}
	}
	if c.DefaultUser != "" && !slices.ContainsFunc(users, func(u User) bool {
		return strings.EqualFold(u.UPN, c.DefaultUser) || strings.EqualFold(u.ObjectID, c.DefaultUser)
	}) {
		return fmt.Errorf("default_user %q: no user has that upn or object_id", c.DefaultUser)
	}
	return nil
}
