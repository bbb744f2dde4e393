package sidecar

import (
	"net/http"
	"strings"

	entra "github.com/entraguard/entraguard/core"
)

// identityField is one fact about the caller the sidecar can send upstream
// in a response header.
type identityField struct {
	name  string // the rules file's key
	value func(c *entra.Claims) string
}

// identityFields are the facts a rules file may map to headers, in the
// order the docs list them.
var identityFields = []identityField{
	{"oid", (*entra.Claims).ObjectID},
	{"tid", (*entra.Claims).TenantID},
	{"sub", (*entra.Claims).Subject},
	{"app_id", (*entra.Claims).AppID},
	{"identity_type", func(c *entra.Claims) string { return string(c.IdentityType()) }},
	{"scopes", func(c *entra.Claims) string { return strings.Join(c.Scopes(), " ") }},
	{"roles", func(c *entra.Claims) string { return strings.Join(c.Roles(), " ") }},
	{"groups", func(c *entra.Claims) string { return strings.Join(c.Groups(), " ") }},
	{"name", (*entra.Claims).Name},
	{"preferred_username", (*entra.Claims).PreferredUsername},
	{"agent_kind", func(c *entra.Claims) string { return string(c.AgentKind()) }},
	{"token_version", (*entra.Claims).Version},
}

func identityFieldNames() string {
	names := make([]string, len(identityFields))
	for i, f := range identityFields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

func lookupField(name string) (identityField, bool) {
	for _, f := range identityFields {
		if f.name == name {
			return f, true
		}
	}
	return identityField{}, false
}

// defaultHeaders is the identity a 200 carries without a headers section.
var defaultHeaders = []struct{ field, header string }{
	{"oid", "X-Entra-Object-Id"},
	{"tid", "X-Entra-Tenant-Id"},
	{"app_id", "X-Entra-App-Id"},
	{"identity_type", "X-Entra-Identity-Type"},
	{"scopes", "X-Entra-Scopes"},
	{"roles", "X-Entra-Roles"},
	{"name", "X-Entra-Name"},
}

// headerSet is the compiled list of identity headers: canonical header
// names and the function reading each value.
type headerSet []headerOut

type headerOut struct {
	header string // canonical
	value  func(c *entra.Claims) string
}

func defaultHeaderSet() headerSet {
	hs := make(headerSet, 0, len(defaultHeaders))
	for _, d := range defaultHeaders {
		f, _ := lookupField(d.field)
		hs = append(hs, headerOut{header: http.CanonicalHeaderKey(d.header), value: f.value})
	}
	return hs
}

// write sets the caller's identity on h. Every header of the set is
// written, empty when the token has no such claim, so that a proxy copying
// them replaces anything the client sent under the same names.
func (hs headerSet) write(h http.Header, c *entra.Claims) {
	vals := make([]string, len(hs)) // one allocation for every header's value slice
	for i, o := range hs {
		vals[i] = headerValue(o.value(c))
		h[o.header] = vals[i : i+1 : i+1]
	}
}

// names returns the header names, for proxies' configuration and tests.
func (hs headerSet) names() []string {
	out := make([]string, len(hs))
	for i, o := range hs {
		out[i] = o.header
	}
	return out
}

// headerValue makes s safe in an HTTP header and readable by any upstream:
// printable ASCII passes as is; '%', control characters and every byte of
// non-ASCII UTF-8 are percent-encoded ("José" → "Jos%C3%A9"), so that a
// value can neither split a header nor be mangled by a proxy.
func headerValue(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
