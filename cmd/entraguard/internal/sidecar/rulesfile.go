package sidecar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	entra "github.com/entraguard/entraguard/core"
	"go.yaml.in/yaml/v3"
)

// maxRulesFile bounds a rules file: a mistake (a log file named by
// accident) must not be read into memory whole.
const maxRulesFile = 1 << 20

// LoadPolicy reads and compiles the rules file at name. Every mistake is
// an error naming the file, the line and the fix; see [ParsePolicy].
func LoadPolicy(name string) (*Policy, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRulesFile+1))
	if err != nil {
		return nil, fmt.Errorf("rules file %s: %w", name, err)
	}
	if len(b) > maxRulesFile {
		return nil, fmt.Errorf("rules file %s: larger than 1 MiB: is it the right file?", name)
	}
	return ParsePolicy(name, b)
}

// ParsePolicy compiles a rules file's content; name is used in errors
// ("rules.yaml:12: ..."). The format is documented in docs/sidecar.md:
//
//	realm: orders                 # optional: the realm of WWW-Authenticate
//	headers:                      # optional: identity → response header
//	  oid: X-Entra-Object-Id
//	rules:                        # first match wins; no match is refused
//	  - path: /healthz
//	    allow: public
//	  - path_prefix: /api/orders
//	    methods: [GET]
//	    require:
//	      scope_or_role: {scopes: [Orders.Read], roles: [Orders.Read.All]}
//	  - path_prefix: /api/
//	    allow: authenticated
func ParsePolicy(name string, content []byte) (p *Policy, err error) {
	fe := &fileErrors{name: name}
	defer func() {
		// The library's requirement constructors panic on names they
		// refuse; the checks below catch those first, and this turns
		// anything they missed into an error rather than a crash.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%s: %v", name, r)
		}
	}()
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(content))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty: write a rules: list (see docs/sidecar.md)", name)
		}
		return nil, fmt.Errorf("%s: not valid YAML: %v", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		return nil, fmt.Errorf("%s:%d: a second YAML document: keep the whole policy in one document (remove \"---\")", name, extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the file must be a mapping with a rules: list (see docs/sidecar.md)", name, root.Line)
	}
	pol := &Policy{headers: defaultHeaderSet()}
	var rulesNode *yaml.Node
	for k, v := range fe.pairs(root) {
		switch k.Value {
		case "realm":
			if s, ok := fe.str(v, "realm"); ok {
				pol.realm = s
			}
		case "headers":
			pol.headers = fe.headers(v)
		case "rules":
			rulesNode = v
		default:
			fe.add(k, "unknown top-level field %q: the fields are realm, headers and rules%s", k.Value, hint(k.Value, topHints))
		}
	}
	switch {
	case rulesNode == nil:
		fe.add(root, "no rules: list: without rules every request is refused; add rules (or run without -config for the default policy)")
	case rulesNode.Kind != yaml.SequenceNode:
		fe.add(rulesNode, "rules must be a list, each item starting with \"- \"")
	case len(rulesNode.Content) == 0:
		fe.add(rulesNode, "rules is empty: every request would be refused; add at least one rule")
	default:
		for i, n := range rulesNode.Content {
			if r, ok := fe.rule(i+1, n); ok {
				pol.rules = append(pol.rules, r)
			}
		}
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	return pol, nil
}

// fileErrors collects every mistake of a file, each with its line.
type fileErrors struct {
	name string
	msgs []string
}

func (fe *fileErrors) add(n *yaml.Node, format string, args ...any) {
	fe.msgs = append(fe.msgs, fmt.Sprintf("%s:%d: ", fe.name, n.Line)+fmt.Sprintf(format, args...))
}

func (fe *fileErrors) err() error {
	if len(fe.msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(fe.msgs, "\n"))
}

// pairs iterates over a mapping's keys and values, reporting (and
// skipping) a key given twice: YAML would keep one silently.
func (fe *fileErrors) pairs(m *yaml.Node) func(func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		seen := make(map[string]int, len(m.Content)/2)
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := m.Content[i]
			if line, dup := seen[k.Value]; dup {
				fe.add(k, "%q is given twice (first at line %d): keep one; a list takes several values", k.Value, line)
				continue
			}
			seen[k.Value] = k.Line
			if !yield(k, m.Content[i+1]) {
				return
			}
		}
	}
}

func (fe *fileErrors) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		fe.add(n, "%s must be a single value", field)
		return "", false
	}
	return n.Value, true
}

// list reads a value that may be one scalar or a list of scalars.
func (fe *fileErrors) values(n *yaml.Node, field string) ([]string, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" || n.Value == "" {
			fe.add(n, "%s is empty: name at least one value, or remove the field", field)
			return nil, false
		}
		return []string{n.Value}, true
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			fe.add(n, "%s is an empty list: name at least one value, or remove the field", field)
			return nil, false
		}
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.Tag == "!!null" || c.Value == "" {
				fe.add(c, "%s holds an empty or nested item: each item is one value", field)
				return nil, false
			}
			if c.Value != strings.TrimSpace(c.Value) {
				fe.add(c, "%s holds %q with spaces around it: remove them", field, c.Value)
				return nil, false
			}
			out = append(out, c.Value)
		}
		return out, true
	}
	fe.add(n, "%s must be a value or a list of values", field)
	return nil, false
}

func (fe *fileErrors) boolTrue(n *yaml.Node, field string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		fe.add(n, "%s takes true (or remove the field)", field)
		return false
	}
	if b, _ := strconv.ParseBool(n.Value); !b {
		fe.add(n, "%s: false is the same as leaving it out: remove the field", field)
		return false
	}
	return true
}

func (fe *fileErrors) headers(n *yaml.Node) headerSet {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		fe.add(n, "headers must map identity fields to header names, e.g. oid: X-Entra-Object-Id (fields: %s)", identityFieldNames())
		return defaultHeaderSet()
	}
	var hs headerSet
	seen := map[string]bool{}
	for k, v := range fe.pairs(n) {
		f, ok := lookupField(k.Value)
		if !ok {
			fe.add(k, "unknown identity field %q: the fields are %s", k.Value, identityFieldNames())
			continue
		}
		h, ok := fe.str(v, "the header of "+k.Value)
		if !ok {
			continue
		}
		if !validHeaderName(h) {
			fe.add(v, "%q is not a header name: use letters, digits and '-', e.g. X-Entra-Object-Id", h)
			continue
		}
		c := http.CanonicalHeaderKey(h)
		switch c {
		case "Authorization", "Cookie", "Set-Cookie", "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection", "Www-Authenticate", "Location":
			fe.add(v, "%s is an HTTP header with its own meaning: name the identity header differently, e.g. X-Entra-%s", c, k.Value)
			continue
		}
		if seen[c] {
			fe.add(v, "header %s is used twice: give each field its own header", c)
			continue
		}
		seen[c] = true
		hs = append(hs, headerOut{header: c, value: f.value})
	}
	return hs
}

func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}

// rule compiles the i-th rule.
func (fe *fileErrors) rule(i int, n *yaml.Node) (rule, bool) {
	r := rule{line: n.Line}
	if n.Kind != yaml.MappingNode {
		fe.add(n, "rule %d must be a mapping of fields (path_prefix:, methods:, allow: or require:)", i)
		return r, false
	}
	before := len(fe.msgs)
	var allowNode, requireNode *yaml.Node
	for k, v := range fe.pairs(n) {
		switch k.Value {
		case "name":
			r.name, _ = fe.str(v, "name")
		case "host", "hosts":
			if hs, ok := fe.values(v, k.Value); ok {
				for _, h := range hs {
					if m, ok := fe.host(v, h); ok {
						r.hosts = append(r.hosts, m)
					}
				}
			}
		case "path", "paths":
			if ps, ok := fe.values(v, k.Value); ok {
				for _, p := range ps {
					if fe.pathValue(v, k.Value, p) {
						r.paths = append(r.paths, pathMatch{kind: pathExact, value: p})
					}
				}
			}
		case "path_prefix", "path_prefixes":
			if ps, ok := fe.values(v, k.Value); ok {
				for _, p := range ps {
					if fe.pathValue(v, k.Value, p) {
						r.paths = append(r.paths, pathMatch{kind: pathPrefix, value: p})
					}
				}
			}
		case "path_pattern", "path_patterns":
			if ps, ok := fe.values(v, k.Value); ok {
				for _, p := range ps {
					if m, ok := fe.pattern(v, p); ok {
						r.paths = append(r.paths, m)
					}
				}
			}
		case "method", "methods":
			if ms, ok := fe.values(v, k.Value); ok {
				for _, m := range ms {
					switch {
					case contains(methods, m):
						r.methods = append(r.methods, m)
						if m == "GET" && !contains(ms, "HEAD") {
							// net/http and the proxies answer HEAD as GET.
							r.methods = append(r.methods, "HEAD")
						}
					case contains(methods, strings.ToUpper(m)):
						fe.add(v, "method %q: write it in capitals, %s", m, strings.ToUpper(m))
					case m == "*" || strings.EqualFold(m, "any"):
						fe.add(v, "method %q: leave methods out to match every method", m)
					default:
						fe.add(v, "unknown method %q: use %s", m, strings.Join(methods, ", "))
					}
				}
			}
		case "allow":
			allowNode = v
		case "require":
			requireNode = v
		default:
			fe.add(k, "unknown field %q in rule %d: the fields are name, hosts, paths, path_prefix, path_pattern, methods, allow and require%s", k.Value, i, hint(k.Value, ruleHints))
		}
	}
	switch {
	case allowNode != nil && requireNode != nil:
		fe.add(allowNode, "rule %d has both allow: and require: — require: already needs a valid token; remove allow:", i)
	case allowNode != nil:
		if s, ok := fe.str(allowNode, "allow"); ok {
			switch s {
			case "public":
				r.public = true
			case "authenticated":
			default:
				fe.add(allowNode, "allow: %q: write allow: public (no token needed) or allow: authenticated (any valid token), or use require:", s)
			}
		}
	case requireNode != nil:
		if req, ok := fe.require(requireNode); ok {
			r.reqs = []entra.Requirement{req}
		}
	default:
		fe.add(n, "rule %d says nothing about who may pass: add allow: public, allow: authenticated, or require: (roles, scopes, ...)", i)
	}
	r.describe = fmt.Sprintf("rule %d", i)
	if r.name != "" {
		r.describe += " (" + r.name + ")"
	}
	r.describe += fmt.Sprintf(", line %d", r.line)
	return r, len(fe.msgs) == before
}

func (fe *fileErrors) host(n *yaml.Node, h string) (hostMatch, bool) {
	if strings.Contains(h, "://") || strings.ContainsAny(h, "/ ") {
		fe.add(n, "host %q: write the host name only, e.g. api.example.com", h)
		return hostMatch{}, false
	}
	if strings.HasPrefix(h, "*.") && len(h) > 2 && !strings.Contains(h[2:], "*") {
		return hostMatch{suffix: true, host: strings.ToLower(h[1:])}, true
	}
	if strings.Contains(h, "*") {
		fe.add(n, "host %q: a wildcard is only allowed as the first label, e.g. *.example.com", h)
		return hostMatch{}, false
	}
	return hostMatch{host: hostOnly(h)}, true
}

func (fe *fileErrors) pathValue(n *yaml.Node, field, p string) bool {
	if !strings.HasPrefix(p, "/") {
		fe.add(n, "%s %q must start with /", field, p)
		return false
	}
	if strings.ContainsAny(p, "?#") {
		fe.add(n, "%s %q: rules match the path only; remove the query", field, p)
		return false
	}
	if strings.Contains(p, "*") || strings.Contains(p, "{") {
		fe.add(n, "%s %q holds a wildcard: use path_pattern: for patterns (* is one segment, a final ** the rest)", field, p)
		return false
	}
	if c, ok := cleanPath(p); !ok || c != p {
		fe.add(n, "%s %q is not a clean path: requests are matched after decoding %%XX and removing dot segments and repeated slashes; write it as %q", field, p, c)
		return false
	}
	return true
}

func (fe *fileErrors) pattern(n *yaml.Node, p string) (pathMatch, bool) {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#") {
		fe.add(n, "path_pattern %q must start with / and hold no query", p)
		return pathMatch{}, false
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		switch {
		case s == "**" && i != len(segs)-1:
			fe.add(n, "path_pattern %q: ** matches the rest of the path, so it must be the last segment", p)
			return pathMatch{}, false
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			segs[i] = "*" // a named segment, as in ServeMux patterns
			if strings.HasSuffix(s, "...}") {
				if i != len(segs)-1 {
					fe.add(n, "path_pattern %q: %s must be the last segment", p, s)
					return pathMatch{}, false
				}
				segs[i] = "**"
			}
		case s != "*" && s != "**" && strings.ContainsAny(s, "*{}"):
			fe.add(n, "path_pattern %q: a wildcard stands for a whole segment (/api/*/items), not part of one", p)
			return pathMatch{}, false
		}
	}
	return pathMatch{kind: pathPattern, value: p, segments: segs}, true
}

// require compiles a require: mapping; several keys must all be met.
func (fe *fileErrors) require(n *yaml.Node) (entra.Requirement, bool) {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		fe.add(n, "require: must map requirements to values, e.g. require: {roles: [Admin]}")
		return entra.Requirement{}, false
	}
	before := len(fe.msgs)
	var reqs []entra.Requirement
	for k, v := range fe.pairs(n) {
		var r entra.Requirement
		ok := false
		switch k.Value {
		case "scopes", "all_scopes":
			var names []string
			if names, ok = fe.values(v, k.Value); ok && fe.scopes(v, names) {
				if k.Value == "scopes" {
					r = entra.RequireScope(names...)
				} else {
					r = entra.RequireAllScopes(names...)
				}
			} else {
				ok = false
			}
		case "roles", "all_roles":
			var names []string
			if names, ok = fe.values(v, k.Value); ok && fe.roles(v, names) {
				if k.Value == "roles" {
					r = entra.RequireRole(names...)
				} else {
					r = entra.RequireAllRoles(names...)
				}
			} else {
				ok = false
			}
		case "scope_or_role":
			r, ok = fe.scopeOrRole(v)
		case "groups", "apps", "tenants":
			var ids []string
			if ids, ok = fe.values(v, k.Value); ok && fe.guids(v, k.Value, ids) {
				switch k.Value {
				case "groups":
					r = entra.RequireGroup(ids...)
				case "apps":
					r = entra.RequireApp(ids...)
				default:
					r = entra.RequireTenant(ids...)
				}
			} else {
				ok = false
			}
		case "identity":
			s, _ := fe.str(v, "identity")
			switch s {
			case "user":
				r, ok = entra.RequireUser(), true
			case "app":
				r, ok = entra.RequireAppOnly(), true
			case "member":
				r, ok = entra.RequireMember(), true
			default:
				fe.add(v, "identity: %q: write user (a person's delegated token), app (app-only) or member (a user who is not a guest)", s)
			}
		case "auth_context":
			var ids []string
			if ids, ok = fe.values(v, k.Value); ok && fe.authContexts(v, ids) {
				r = entra.RequireAuthContext(ids...)
			} else {
				ok = false
			}
		case "agents":
			r, ok = fe.agents(v)
		case "deny_agents":
			if fe.boolTrue(v, "deny_agents") {
				r, ok = entra.DenyAgents(), true
			}
		case "any_of":
			if v.Kind != yaml.SequenceNode || len(v.Content) < 2 {
				fe.add(v, "any_of: must be a list of at least two requirement mappings, e.g. any_of: [{roles: [Admin]}, {groups: [<group id>]}]")
				break
			}
			var alts []entra.Requirement
			for _, c := range v.Content {
				if a, aok := fe.require(c); aok {
					alts = append(alts, a)
				}
			}
			if len(alts) == len(v.Content) {
				r, ok = entra.AnyOf(alts...), true
			}
		default:
			fe.add(k, "unknown requirement %q: the requirements are scopes, all_scopes, roles, all_roles, scope_or_role, groups, apps, tenants, identity, auth_context, agents, deny_agents and any_of%s", k.Value, hint(k.Value, requireHints))
		}
		if ok {
			reqs = append(reqs, r)
		}
	}
	if len(fe.msgs) != before || len(reqs) == 0 {
		return entra.Requirement{}, false
	}
	if len(reqs) == 1 {
		return reqs[0], true
	}
	return entra.AllOf(reqs...), true
}

func (fe *fileErrors) scopes(n *yaml.Node, names []string) bool {
	for _, s := range names {
		if strings.Contains(s, "/") {
			short := s[strings.LastIndex(s, "/")+1:]
			if short == "" {
				fe.add(n, "scope %q names no scope: write the scope's short name as the token's scp carries it, e.g. Orders.Read", s)
			} else {
				fe.add(n, "scope %q is written as a URI: a token's scp holds the short name, so write %s", s, short)
			}
			return false
		}
		if strings.ContainsAny(s, " \t") {
			fe.add(n, "scope %q holds a space: one scope per item, e.g. [Orders.Read, Orders.Write]", s)
			return false
		}
	}
	return true
}

func (fe *fileErrors) roles(n *yaml.Node, names []string) bool {
	for _, s := range names {
		if strings.Contains(s, "://") {
			fe.add(n, "role %q is written as a URI: a token's roles hold the app role's value, e.g. Orders.Read.All", s)
			return false
		}
		if strings.ContainsAny(s, " \t") {
			fe.add(n, "role %q holds a space: one role per item, e.g. [Admin, Auditor]", s)
			return false
		}
	}
	return true
}

func (fe *fileErrors) guids(n *yaml.Node, field string, ids []string) bool {
	noun := map[string]string{"groups": "group's object ID", "apps": "application (client) ID", "tenants": "tenant ID"}[field]
	for _, id := range ids {
		if !isGUID(id) {
			fe.add(n, "%s: %q is not a GUID: write the %s, e.g. 00000000-0000-0000-0000-000000000000, not a name", field, id, noun)
			return false
		}
	}
	return true
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// authContexts checks Conditional Access authentication context IDs (c1 …
// c99), which RequireAuthContext would otherwise refuse with a panic.
func (fe *fileErrors) authContexts(n *yaml.Node, ids []string) bool {
	ok := true
	for _, id := range ids {
		if !isAuthContextID(id) {
			fe.add(n, "auth_context: %q is not an authentication context ID: write c1 … c99, the ID an administrator gave the context in Conditional Access", id)
			ok = false
		}
	}
	return ok
}

// isAuthContextID reports whether id is c1 … c99 (either case), the form
// Entra gives authentication contexts.
func isAuthContextID(id string) bool {
	if len(id) < 2 || len(id) > 3 || (id[0] != 'c' && id[0] != 'C') || id[1] == '0' {
		return false
	}
	for _, b := range []byte(id[1:]) {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

func (fe *fileErrors) scopeOrRole(n *yaml.Node) (entra.Requirement, bool) {
	if n.Kind != yaml.MappingNode {
		fe.add(n, "scope_or_role: must be {scopes: [...], roles: [...]}: the scopes for users, the app roles for app-only tokens")
		return entra.Requirement{}, false
	}
	var scopes, roles []string
	okS, okR := false, false
	for k, v := range fe.pairs(n) {
		switch k.Value {
		case "scopes":
			if scopes, okS = fe.values(v, "scopes"); okS {
				okS = fe.scopes(v, scopes)
			}
		case "roles":
			if roles, okR = fe.values(v, "roles"); okR {
				okR = fe.roles(v, roles)
			}
		default:
			fe.add(k, "unknown field %q in scope_or_role: it takes scopes and roles%s", k.Value, hint(k.Value, requireHints))
			return entra.Requirement{}, false
		}
	}
	if !okS || !okR {
		if scopes == nil || roles == nil {
			fe.add(n, "scope_or_role: needs both scopes: and roles:; for one of them alone use scopes: or roles:")
		}
		return entra.Requirement{}, false
	}
	return entra.RequireScopeOrAppRole(scopes, roles), true
}

func (fe *fileErrors) agents(n *yaml.Node) (entra.Requirement, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		if fe.boolTrue(n, "agents") {
			return entra.RequireAgent(), true
		}
		return entra.Requirement{}, false
	}
	kinds, ok := fe.values(n, "agents")
	if !ok {
		return entra.Requirement{}, false
	}
	out := make([]entra.AgentKind, 0, len(kinds))
	for _, k := range kinds {
		switch entra.AgentKind(k) {
		case entra.AgentAutonomous, entra.AgentUserAccount, entra.AgentOnBehalfOfUser:
			out = append(out, entra.AgentKind(k))
		default:
			fe.add(n, "agents: unknown kind %q: write true (any agent) or a list of %s, %s, %s", k, entra.AgentAutonomous, entra.AgentUserAccount, entra.AgentOnBehalfOfUser)
			return entra.Requirement{}, false
		}
	}
	return entra.RequireAgent(out...), true
}

var (
	topHints  = map[string]string{"rule": "rules", "header": "headers", "Rules": "rules"}
	ruleHints = map[string]string{
		"prefix": "path_prefix", "pathPrefix": "path_prefix", "path-prefix": "path_prefix", "pattern": "path_pattern",
		"verb": "methods", "verbs": "methods", "public": "allow: public", "authenticated": "allow: authenticated",
		"requires": "require", "requirements": "require", "scopes": "require: {scopes: [...]}", "roles": "require: {roles: [...]}",
		"scope": "require: {scopes: [...]}", "role": "require: {roles: [...]}", "domain": "hosts",
	}
	requireHints = map[string]string{
		"scope": "scopes", "scp": "scopes", "role": "roles", "app_roles": "roles", "group": "groups", "app": "apps",
		"app_ids": "apps", "client_ids": "apps", "tenant": "tenants", "tid": "tenants", "agent": "agents",
		"deny_agent": "deny_agents", "no_agents": "deny_agents", "anyOf": "any_of", "any": "any_of",
		"scopeOrRole": "scope_or_role", "acrs": "auth_context", "authentication_context": "auth_context", "auth_contexts": "auth_context", "scope_or_app_role": "scope_or_role", "user": "identity: user", "app_only": "identity: app",
	}
)

func hint(got string, hints map[string]string) string {
	if h, ok := hints[got]; ok {
		return "; did you mean " + h + "?"
	}
	return ""
}
