package entra

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/entraguard/entraguard/core/internal/jose"
)

// IdentityType tells an application calling on its own behalf (client
// credentials, app-only) from a signed-in user (delegated).
type IdentityType string

// Identity types.
const (
	IdentityUser IdentityType = "user"
	IdentityApp  IdentityType = "app"
)

// Claims are the validated claims of an Entra token.
//
// Claims are immutable: every accessor returns a copy or a value, so one
// Claims may be shared by concurrent requests (the verified-token cache does
// that). Claims of a value not exposed by a method are available through
// [Claims.Raw] and [Claims.Get].
//
// Every method is safe on a nil *Claims, which reads as zero values (no
// scopes, no roles, IdentityType ""), so that a handler that ignores the ok
// of ClaimsFromContext cannot panic; check ok all the same.
type Claims struct {
	raw string // the payload JSON, as signed

	issuer, subject, objectID, tenantID string
	name, preferredUsername, upn, email string
	uniqueName, givenName, familyName   string
	azp, appid, idtyp, version          string
	idp, nonce, uti, scp                string
	jti                                 string
	acct                                int // -1 when absent

	audience, scopes, roles []string
	groups                  jose.StrList // read on first use
	wids, xmsCC, amr        []string
	acrs                    []string
	groupsOverage           bool

	ext      claimsExt // Agent ID, B2C and legacy claims: claims_agent.go
	hasNonce bool

	expires, notBefore, issuedAt time.Time

	rev revKeys // hashes for the revocation check (revoke.go)

	cnf *confirmation // cnf of a bound token, or nil: pop.go
}

// numericDate limits: a NumericDate outside [0, year 10000) is refused as
// malformed rather than read as "never expires".
const maxNumericDate = 253402300800

func numericDate(r *jose.Reader) (time.Time, error) {
	f, err := r.Number()
	if err != nil {
		return time.Time{}, err
	}
	if math.IsNaN(f) || f < 0 || f >= maxNumericDate {
		return time.Time{}, jose.ErrType
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// claimError names the claim whose value has the wrong type.
type claimError struct {
	name string
	err  error
}

func (e *claimError) Error() string { return "claim " + e.name + ": " + e.err.Error() }
func (e *claimError) Unwrap() error { return e.err }

// parseClaims reads a payload. It refuses duplicate claims, invalid UTF-8
// and claims of the wrong type.
func parseClaims(payload string) (*Claims, error) {
	c := &Claims{raw: payload, acct: -1}
	r := jose.NewReader(payload)
	err := r.Object(func(name string) error {
		var err error
		switch name {
		case "iss":
			c.issuer, err = r.Str()
		case "sub":
			c.subject, err = r.Str()
		case "oid":
			c.objectID, err = r.Str()
		case "tid":
			c.tenantID, err = r.Str()
			c.ext.hasTid = true
		case "name":
			c.name, err = r.Str()
		case "preferred_username":
			c.preferredUsername, err = r.Str()
		case "upn":
			c.upn, err = r.Str()
		case "email":
			c.email, err = r.Str()
		case "unique_name":
			c.uniqueName, err = r.Str()
		case "given_name":
			c.givenName, err = r.Str()
		case "family_name":
			c.familyName, err = r.Str()
		case "azp":
			c.azp, err = r.Str()
		case "appid":
			c.appid, err = r.Str()
		case "idtyp":
			c.idtyp, err = r.Str()
		case "ver":
			c.version, err = r.Str()
		case "idp":
			c.idp, err = r.Str()
		case "nonce":
			c.nonce, err = r.Str()
			c.hasNonce = true
		case "cnf":
			c.cnf, err = readConfirmation(&r)
		case "uti":
			c.uti, err = r.Str()
		case "jti":
			c.jti, err = r.Str()
		case "scp":
			if c.scp, err = r.Str(); err == nil {
				c.scopes = scopeFields(c.scp)
			}
		case "acct":
			var f float64
			if f, err = r.Number(); err == nil {
				if f != 0 && f != 1 {
					err = jose.ErrType
				}
				c.acct = int(f)
			}
		case "aud":
			c.audience, err = r.Strings(true)
		case "roles":
			c.roles, err = r.Strings(false)
		case "groups":
			c.groups, err = r.StringList()
		case "wids":
			c.wids, err = r.Strings(false)
		case "xms_cc":
			c.xmsCC, err = r.Strings(false)
		case "amr":
			c.amr, err = r.Strings(false)
		case "acrs":
			// An array of authentication context IDs; a lone string is
			// read as a list of one rather than refusing the token.
			c.acrs, err = r.Strings(true)
		case "hasgroups":
			var b bool
			if b, err = r.Bool(); err == nil && b {
				c.groupsOverage = true
			}
		case "_claim_names":
			// {"groups": "src1"} marks a groups overage.
			var raw string
			if raw, err = r.RawValue(1); err == nil && strings.Contains(raw, `"groups"`) {
				c.groupsOverage = true
			}
		case "exp":
			c.expires, err = numericDate(&r)
		case "nbf":
			c.notBefore, err = numericDate(&r)
		case "iat":
			c.issuedAt, err = numericDate(&r)
		default:
			if ok, e := c.ext.parse(&r, name); ok {
				err = e
			} else if foldsToDecided(name) {
				err = errClaimCase
			} else {
				err = r.Skip(1)
			}
		}
		if err != nil && err != jose.ErrDuplicate && err != jose.ErrDepth {
			return &claimError{name: name, err: err}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := c.resolveTenant(); err != nil {
		return nil, err
	}
	c.rev = revocationKeys(c)
	return c, nil
}

// fields splits s at spaces into one allocated slice of substrings of s.
func fields(s string) []string {
	n := 0
	inField := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			inField = false
		} else if !inField {
			inField = true
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}

// zeroClaims is what a nil *Claims reads as.
var zeroClaims Claims

// z returns c, or the zero Claims when c is nil, so that every accessor is
// safe on a nil *Claims (claims, _ := entragin.Claims(c) outside the
// protected group) and reads zero values.
func (c *Claims) z() *Claims {
	if c == nil {
		return &zeroClaims
	}
	return c
}

// Issuer returns the iss claim.
func (c *Claims) Issuer() string { return c.z().issuer }

// Subject returns the sub claim: pairwise per application, stable for a user
// or app and this API. Use ObjectID to identify a principal across apps.
func (c *Claims) Subject() string { return c.z().subject }

// ObjectID returns the oid claim: the immutable object ID of the user or of
// the calling app's service principal in the tenant.
func (c *Claims) ObjectID() string { return c.z().objectID }

// TenantID returns the tid claim: the tenant the caller signed in to.
func (c *Claims) TenantID() string { return c.z().tenantID }

// Name returns the name claim (display name; delegated tokens only).
func (c *Claims) Name() string { return c.z().name }

// PreferredUsername returns the preferred_username claim (v2 tokens). It is
// mutable and not unique: never authorize on it.
func (c *Claims) PreferredUsername() string { return c.z().preferredUsername }

// UPN returns the upn claim (v1 tokens), or "" when absent.
func (c *Claims) UPN() string { return c.z().upn }

// Email returns the email claim, or "" when absent.
func (c *Claims) Email() string { return c.z().email }

// Username returns the best human-readable sign-in name: preferred_username,
// else upn, else unique_name, else email.
func (c *Claims) Username() string {
	c = c.z()
	for _, s := range [...]string{c.preferredUsername, c.upn, c.uniqueName, c.email} {
		if s != "" {
			return s
		}
	}
	return ""
}

// AppID returns the client ID of the calling application: azp in v2 tokens,
// appid in v1 tokens.
func (c *Claims) AppID() string {
	c = c.z()
	if c.azp != "" {
		return c.azp
	}
	return c.appid
}

// IdentityType reports whether the caller is an application on its own
// behalf or a user. The idtyp claim decides when present ("app" or "user").
// Without it, a token is an app's when it carries no delegated scope (no
// scp, or the empty or "/" scp of app-only agent tokens: Entra issues real
// scopes only to delegated tokens) and its sub is its oid (an app-only token's
// subject is the app's service principal; a user's sub is pairwise and
// differs from the oid, so an ID token counts as a user's) or Entra says its
// subject is an agent identity (xms_sub_fct 11) or a service principal
// (xms_idrel 7).
func (c *Claims) IdentityType() IdentityType {
	if c == nil {
		return ""
	}
	switch c.idtyp {
	case "app":
		return IdentityApp
	case "user":
		return IdentityUser
	}
	if len(c.scopes) == 0 && (c.subject != "" && c.subject == c.objectID || c.ext.appSubject()) {
		return IdentityApp
	}
	return IdentityUser
}

// IsApp reports whether the token is app-only (client credentials).
func (c *Claims) IsApp() bool { return c.IdentityType() == IdentityApp }

// IsUser reports whether the token was issued to a signed-in user (delegated).
func (c *Claims) IsUser() bool { return c.IdentityType() == IdentityUser }

// Version returns the ver claim: "1.0" or "2.0".
func (c *Claims) Version() string { return c.z().version }

// Audience returns the aud claim's values.
func (c *Claims) Audience() []string { return slices.Clone(c.z().audience) }

// Scopes returns the delegated scopes (the scp claim split at spaces). The
// "/" that app-only agent tokens may carry means "no scope" and is left out.
func (c *Claims) Scopes() []string { return slices.Clone(c.z().scopes) }

// Roles returns the roles claim: app roles assigned to the user or the app.
func (c *Claims) Roles() []string { return slices.Clone(c.z().roles) }

// Groups returns the groups claim: group object IDs. It is empty when the
// token carries a groups overage instead; see [Claims.HasGroupsOverage].
func (c *Claims) Groups() []string { return slices.Clone(c.z().groups.All()) }

// WIDs returns the wids claim: directory role template IDs of the user.
func (c *Claims) WIDs() []string { return slices.Clone(c.z().wids) }

// ClientCapabilities returns the xms_cc claim; "cp1" means the client can
// handle claims challenges (Continuous Access Evaluation, authentication
// context step-up). Entra includes xms_cc only when the API's app
// registration requests it as an optional claim and the client declared
// its capabilities.
func (c *Claims) ClientCapabilities() []string { return slices.Clone(c.z().xmsCC) }

// AuthContexts returns the acrs claim: the Conditional Access
// authentication context IDs ("c1" … "c99") whose policies the sign-in
// satisfied. Nil when absent, and on a nil *Claims.
func (c *Claims) AuthContexts() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.acrs)
}

// HasAuthContext reports whether acrs contains the authentication context
// id (e.g. "c1"), ignoring letter case. See [RequireAuthContext].
func (c *Claims) HasAuthContext(id string) bool { return containsFold(c.z().acrs, id) }

// AMR returns the amr claim (authentication methods), v1 tokens only.
func (c *Claims) AMR() []string { return slices.Clone(c.z().amr) }

// IdentityProvider returns the idp claim: the issuer that authenticated the
// user when it is not the token's tenant (guests, personal accounts).
func (c *Claims) IdentityProvider() string { return c.z().idp }

// ExpiresAt returns the exp claim.
func (c *Claims) ExpiresAt() time.Time { return c.z().expires }

// NotBefore returns the nbf claim, or the zero time when absent.
func (c *Claims) NotBefore() time.Time { return c.z().notBefore }

// IssuedAt returns the iat claim, or the zero time when absent.
func (c *Claims) IssuedAt() time.Time { return c.z().issuedAt }

// HasScope reports whether scp contains s (exact, case-sensitive).
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.z().scopes, s) }

// HasRole reports whether roles contains r (exact, case-sensitive).
func (c *Claims) HasRole(r string) bool { return slices.Contains(c.z().roles, r) }

// InGroup reports whether groups contains the group object ID id.
// It is false when the token has a groups overage.
func (c *Claims) InGroup(id string) bool { return slices.Contains(c.z().groups.All(), id) }

// HasWID reports whether wids contains the directory role template ID id.
func (c *Claims) HasWID(id string) bool { return slices.Contains(c.z().wids, id) }

// HasGroupsOverage reports whether Entra left the groups out because the
// user is in too many (hasgroups, or _claim_names.groups); the groups must
// then be read from Microsoft Graph.
func (c *Claims) HasGroupsOverage() bool { return c.z().groupsOverage }

// HasClientCapability reports whether xms_cc contains cp (e.g. "cp1"),
// ignoring letter case: Microsoft's capability values are not
// case-sensitive (MSAL.js sends "CP1").
func (c *Claims) HasClientCapability(cp string) bool { return containsFold(c.z().xmsCC, cp) }

// IsGuest reports whether the user is a guest in the token's tenant: acct is
// 1, xms_idrel says guest user (5), or idp names another issuer than the
// token's own tenant. App-only
// tokens are never guests.
func (c *Claims) IsGuest() bool {
	c = c.z()
	if c.IsApp() {
		return false
	}
	if c.acct == 1 || slices.Contains(c.ext.idrel, RelationGuestUser) {
		return true
	}
	if c.idp == "" || c.idp == c.issuer {
		return false
	}
	// A v1 token's idp for a member equals its issuer; any other idp
	// (another tenant, live.com, a social provider) is a guest.
	return !strings.Contains(c.idp, c.tenantID) || c.tenantID == ""
}

// Get returns the raw value of a claim as encoding/json decodes it (numbers
// as json.Number), and whether the claim is present.
func (c *Claims) Get(name string) (any, bool) {
	m := c.Raw()
	v, ok := m[name]
	return v, ok
}

// Raw returns a fresh map of all claims (numbers as json.Number). Changing
// it does not change c.
func (c *Claims) Raw() map[string]any {
	if c == nil {
		return map[string]any{}
	}
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(c.raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return map[string]any{}
	}
	return m
}

// RawJSON returns the payload exactly as signed.
func (c *Claims) RawJSON() []byte { return []byte(c.z().raw) }

// claimsJSON is the shape of MarshalJSON.
type claimsJSON struct {
	ObjectID          string       `json:"oid"`
	TenantID          string       `json:"tid"`
	Subject           string       `json:"sub"`
	Name              string       `json:"name"`
	PreferredUsername string       `json:"preferred_username"`
	AppID             string       `json:"app_id"`
	IdentityType      IdentityType `json:"identity_type"`
	Scopes            []string     `json:"scopes"`
	Roles             []string     `json:"roles"`
	Groups            []string     `json:"groups"`
	TokenVersion      string       `json:"token_version"`
}

// MarshalJSON writes a summary of the caller (oid, tid, sub, name,
// preferred_username, app_id, identity_type, scopes, roles, groups,
// token_version), never the raw token. Use Raw for every claim.
func (c *Claims) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte("null"), nil
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	var b bytes.Buffer
	err := json.NewEncoder(&b).Encode(claimsJSON{
		ObjectID:          c.objectID,
		TenantID:          c.tenantID,
		Subject:           c.subject,
		Name:              c.name,
		PreferredUsername: c.Username(),
		AppID:             c.AppID(),
		IdentityType:      c.IdentityType(),
		Scopes:            nonNil(c.scopes),
		Roles:             nonNil(c.roles),
		Groups:            nonNil(c.groups.All()),
		TokenVersion:      c.version,
	})
	return bytes.TrimRight(b.Bytes(), "\n"), err
}
