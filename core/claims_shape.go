package entra

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Claims that can be read two ways.
//
// The validator reads claim names exactly, as JSON and JWT define them.
// Code after it may not: .NET's claims principal, Raw() consumers that
// fold case, claims forwarded to other services. A payload that carries
// "TID" beside (or instead of) "tid" would then show them another tenant
// than the one the validator checked. Such payloads are refused as
// malformed: no name may differ only in letter case (including Unicode's
// "ſ" for "s", "K" for "k" and "ı" for "i", as .NET's OrdinalIgnoreCase
// and Go's EqualFold fold them) from a claim the validator decides on.

// errClaimCase is the error of a claim name that folds to a decided one.
var errClaimCase = errors.New("name differs only in letter case from a claim this API decides on; such a token can be read two ways")

// decidedClaims are the claims whose value a decision of the validator,
// the default policy or a Requirement depends on, in lower case.
var decidedClaims = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, n := range []string{
		"iss", "aud", "exp", "nbf", "iat", "sub", "oid", "tid", "azp", "appid",
		"idtyp", "ver", "idp", "nonce", "uti", "scp", "roles", "groups", "wids",
		"acct", "xms_cc", "hasgroups", "_claim_names", "tfp", "acr", "acrs",
		"xms_act_fct", "xms_sub_fct", "xms_tnt_fct", "xms_idrel", "xms_par_app_azp",
		legacyTenantClaim, "cnf",
	} {
		m[n] = struct{}{}
	}
	return m
}()

// maxDecidedLen is the length of the longest decided claim name.
const maxDecidedLen = len(legacyTenantClaim)

// foldsToDecided reports whether name is not a decided claim but folds to
// one. It is called only for names that are not read exactly, so a decided
// name itself never reaches it.
func foldsToDecided(name string) bool {
	// ASCII names, nearly all of them, are lowered on the stack.
	var buf [maxDecidedLen]byte
	if len(name) <= maxDecidedLen {
		ascii, upper := true, false
		for i := 0; i < len(name); i++ {
			c := name[i]
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
				upper = true
			}
			buf[i] = c
		}
		if ascii && !upper {
			// Lowering changes nothing: name folds only to itself, which
			// is not decided (decided names are read exactly).
			return false
		}
		if ascii {
			low := buf[:len(name)]
			if _, ok := decidedClaims[string(low)]; ok {
				return string(low) != name
			}
			return false
		}
	}
	// A non-ASCII name may fold to an ASCII one ("ſcp", "tıd"); each of
	// its runes takes at most three bytes then.
	if len(name) > 3*maxDecidedLen {
		return false
	}
	upper := strings.ToUpper(name)
	for d := range decidedClaims {
		if d != name && (strings.EqualFold(name, d) || strings.EqualFold(upper, d)) {
			return true
		}
	}
	return false
}

// resolveTenant applies the legacy tenant claim: without tid, it is the
// tenant, as Microsoft.IdentityModel reads it (and then every tenant check
// applies to it); beside a tid, it must name the same tenant, or the token
// could be read as another tenant's by code that maps one to the other
// (.NET maps tid to this very claim type).
func (c *Claims) resolveTenant() error {
	x := &c.ext
	if !x.hasLegacyTenant {
		return nil
	}
	if !x.hasTid {
		c.tenantID = x.legacyTenant
		return nil
	}
	if !strings.EqualFold(c.tenantID, x.legacyTenant) {
		return &claimError{name: legacyTenantClaim, err: errors.New("names another tenant than tid")}
	}
	return nil
}

// shapePolicy applies the Authenticator's rules on token shapes after its
// scp-or-roles policy: no ID token unless the API opted in to them (no
// Entra access token carries a payload nonce; ID tokens do), and no agent
// under WithoutAgents.
func (a *Authenticator) shapePolicy(c *Claims) *Error {
	if c.hasNonce && !a.o.allowNoPermissions {
		return &Error{Code: CodeIDTokenNotAccepted, Description: "the token has a nonce claim, so it is an ID token (proof of a sign-in to a client app), not an access token for this API: request an access token for this API's scopes (e.g. api://" + a.v.s.clientID + "/.default)"}
	}
	if a.o.refuseAgents && c.IsAgent() {
		return agentDenied()
	}
	return nil
}
