package entra

import (
	"net/url"
	"strings"
)

// Azure AD B2C publishes one metadata document per user flow (policy), and
// every flow of a tenant signs with the same keys and, in the default
// issuer format, names the same issuer. A validator built from one flow's
// MetadataURL would then accept tokens of every other flow (a sign-up flow
// with weaker checks, a test flow): it checks the token's flow (tfp or acr)
// too.

// b2cSettings reads the B2C and oid fields of c into s.
func (c Config) b2cSettings(s *settings) error {
	s.allowNoOID = c.AllowMissingObjectID
	if c.AnyB2CUserFlow && len(c.B2CUserFlows) > 0 {
		return configError("Config.AnyB2CUserFlow and Config.B2CUserFlows are both set: list the user flows to accept, or accept any")
	}
	b2c := c.AnyB2CUserFlow
	for _, f := range c.B2CUserFlows {
		f = strings.TrimSpace(f)
		if !isPolicyName(f) || strings.ContainsAny(f, " /?#") {
			return configError("Config.B2CUserFlows entry %q is not a user flow name: B2C names user flows B2C_1_… and custom policies B2C_1A_…, such as %q", f, "B2C_1_signin")
		}
		s.b2cFlows = append(s.b2cFlows, f)
		b2c = true
	}
	if s.custom {
		u, err := url.Parse(s.metadataURLs[0])
		if err == nil {
			if flow := userFlowOf(u); flow != "" {
				b2c = true
				if s.b2cFlows == nil && !c.AnyB2CUserFlow {
					s.b2cFlows = []string{flow}
				}
			}
			if strings.HasSuffix(strings.ToLower(u.Hostname()), ".b2clogin.com") {
				b2c = true
			}
		}
	}
	if b2c {
		// B2C emits oid only when the user flow is asked to.
		s.allowNoOID = true
	}
	return nil
}

// userFlowOf returns the B2C policy a metadata URL names: its p query
// parameter, or the first path segment with a policy's prefix
// (".../contoso.onmicrosoft.com/B2C_1_signin/v2.0/...", ".../tfp/{tenant}/B2C_1A_x/...").
func userFlowOf(u *url.URL) string {
	if p := u.Query().Get("p"); isPolicyName(p) {
		return p
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if isPolicyName(seg) {
			return seg
		}
	}
	return ""
}

// checkUserFlow refuses a token that is not of an accepted user flow. Each
// of tfp and acr that the token carries must name one (B2C sends one of
// them, as its "claim representing user flow" setting says).
func (v *Validator) checkUserFlow(c *Claims) error {
	flows := v.s.b2cFlows
	want := describe("user flow", false, flows)
	tfp, acr := c.ext.tfp, c.ext.acr
	if tfp == "" && acr == "" {
		return newError(CodeUserFlowNotAllowed, "token names no Azure AD B2C user flow (tfp or acr); this API accepts tokens of "+want)
	}
	for _, got := range [...]string{tfp, acr} {
		if got != "" && !containsFold(flows, got) {
			return newError(CodeUserFlowNotAllowed, "token is of the user flow "+quote(got)+"; this API accepts tokens of "+want+" (see Config.B2CUserFlows)")
		}
	}
	return nil
}
