package sidecar

import (
	"net/url"
	"path"
	"strings"

	entra "github.com/entraguard/entraguard/core"
)

// Policy is a compiled rules file (or the default policy): what the
// sidecar decides with. It is immutable once built, so a reload swaps one
// Policy for another atomically.
type Policy struct {
	realm   string
	headers headerSet
	rules   []rule // nil: the default policy (any valid token)
}

// DefaultPolicy is the policy without a rules file: every request needs a
// valid token carrying scp or roles, and a 200 carries the default
// identity headers.
func DefaultPolicy() *Policy {
	return &Policy{headers: defaultHeaderSet()}
}

// HeaderNames returns the identity headers a 200 carries, canonical.
func (p *Policy) HeaderNames() []string { return p.headers.names() }

// rule is one compiled rule: a request matches when every condition given
// matches (hosts, paths and methods each match any of their values).
type rule struct {
	name     string
	line     int
	hosts    []hostMatch // empty: any host
	paths    []pathMatch // empty: any path
	methods  []string    // empty: any method
	public   bool        // no token needed; else a valid token meeting reqs (none: any valid token)
	reqs     []entra.Requirement
	describe string // for logs: "rule 3 (orders), line 12"
}

type hostMatch struct {
	suffix bool   // "*.example.com": any subdomain
	host   string // lower case; for a suffix, ".example.com"
}

func (h hostMatch) match(host string) bool {
	if h.suffix {
		return len(host) > len(h.host) && strings.HasSuffix(host, h.host)
	}
	return host == h.host
}

type pathKind int

const (
	pathExact pathKind = iota
	pathPrefix
	pathPattern
)

type pathMatch struct {
	kind     pathKind
	value    string   // exact path or prefix
	segments []string // pattern: "*" matches one segment, a final "**" the rest
}

func (m pathMatch) match(p string) bool {
	switch m.kind {
	case pathExact:
		return p == m.value
	case pathPrefix:
		// A prefix matches whole segments: "/api" matches "/api" and
		// "/api/x", never "/apix"; "/api/" matches "/api/x" only.
		if !strings.HasPrefix(p, m.value) {
			return false
		}
		return strings.HasSuffix(m.value, "/") || len(p) == len(m.value) || p[len(m.value)] == '/'
	}
	rest := p[1:]
	for i, seg := range m.segments {
		last := i == len(m.segments)-1
		if seg == "**" && last {
			return rest != ""
		}
		cur := rest
		j := strings.IndexByte(rest, '/')
		switch {
		case j >= 0 && last, j < 0 && !last:
			return false // more segments, or fewer, than the pattern
		case j >= 0:
			cur, rest = rest[:j], rest[j+1:]
		}
		if seg == "*" && cur == "" || seg != "*" && seg != cur {
			return false
		}
	}
	return true
}

// match returns the first rule matching the request, or nil.
func (p *Policy) match(host, method, cleanPath string) *rule {
	for i := range p.rules {
		r := &p.rules[i]
		if len(r.methods) > 0 && !contains(r.methods, method) {
			continue
		}
		if len(r.hosts) > 0 && !anyHost(r.hosts, host) {
			continue
		}
		if len(r.paths) > 0 && !anyPath(r.paths, cleanPath) {
			continue
		}
		return r
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func anyHost(list []hostMatch, host string) bool {
	for _, h := range list {
		if h.match(host) {
			return true
		}
	}
	return false
}

func anyPath(list []pathMatch, p string) bool {
	for _, m := range list {
		if m.match(p) {
			return true
		}
	}
	return false
}

// cleanPath turns the path of a request URI as the client sent it into the
// path rules are matched against: percent-decoded and with dot segments
// and repeated slashes removed (a trailing slash is kept), so that
// "/public/../api/admin" and "/api/%61dmin" meet the rule of "/api/admin",
// as the upstream will read them. A path that cannot be decoded, or holds
// a backslash, a NUL or another control character (read differently by
// different servers), is refused: ok is false.
func cleanPath(escaped string) (string, bool) {
	if escaped == "" || escaped[0] != '/' {
		return "", false
	}
	p := escaped
	if strings.IndexByte(p, '%') >= 0 {
		var err error
		if p, err = url.PathUnescape(p); err != nil {
			return "", false
		}
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "", false
		}
	}
	if !needsClean(p) {
		return p, true
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c, true
}

// needsClean reports whether p has "//", "/./" or "/../" (or ends in "/." or "/..").
func needsClean(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' || i+1 >= len(p) {
			continue
		}
		switch p[i+1] {
		case '/':
			return true
		case '.':
			rest := p[i+2:]
			if rest == "" || rest[0] == '/' || rest == "." || strings.HasPrefix(rest, "./") {
				return true
			}
		}
	}
	return false
}

// hostOnly lower-cases host and drops its port.
func hostOnly(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		if c := host[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(host)
		}
	}
	return host
}
