package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	entra "github.com/entraguard/entraguard/core"
)

// maxInput bounds the token read from stdin.
const maxInput = 1 << 20

// skew is the clock skew the offline time checks allow, entraguard's default.
const skew = entra.DefaultClockSkew

func runExplain(e *env, args []string) int {
	fs := flag.NewFlagSet("entraguard explain", flag.ContinueOnError)
	tenant := fs.String("tenant", "", "the API's tenant `ID` (a GUID, organizations or common): check the issuer, and validate against the authority")
	clientID := fs.String("client-id", "", "the API's application (client) `ID`: check the audience")
	var audiences listFlag
	fs.Var(&audiences, "audience", "more accepted `audiences` (Config.Audiences)")
	var authorityHost string
	fs.StringVar(&authorityHost, "authority-host", "", "the authority `URL`, an emulator's or a national cloud's (default: ENTRA_AUTHORITY_HOST, else AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com/)")
	fs.StringVar(&authorityHost, "authority", "", "the authority `URL`: the same as -authority-host")
	metadataURL := fs.String("metadata-url", "", "validate against this OpenID metadata `URL` (Config.MetadataURL, e.g. Azure AD B2C)")
	caFile := fs.String("ca-file", "", "trust this PEM `certificate` (an emulator started with -tls)")
	offline := fs.Bool("offline", false, "do not fetch the authority's metadata and keys: check structure, times, audience and issuer only")
	timeout := fs.Duration("timeout", 15*time.Second, "how long to wait for the authority's metadata and keys")
	showPersonal := fs.Bool("show-personal", false, "show every claim's value; by default only claims known to say nothing about a person (aud, iss, scp, roles, tid...) are shown")
	verbose := fs.Bool("v", false, "write the validator's log (key fetches, refusals) to stderr")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: entraguard explain [-tenant T -client-id C | -metadata-url URL] [flags] [TOKEN | -]

Shows a token's header and claims (the values of claims not known to be
impersonal masked) and checks it: its structure, times, audience and issuer,
then, with -tenant and -client-id (or -metadata-url), validates it as the API
would, against the authority's signing keys. For every failing check it prints the Code, why, and the fix
(docs/troubleshooting.md). The token is read from the argument or stdin, as
pasted: quotes, a "Bearer " prefix or a whole "Authorization:" header line are
stripped. It is never sent anywhere: only the authority's metadata and keys
are fetched. The report is on stdout; -v adds the validator's log on stderr.
Exit code: 0 if every check passes, 1 if one fails, 2 on bad usage.

`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(e, fs, args); !ok {
		return code
	}
	var raw string
	switch {
	case fs.NArg() > 1:
		return e.fail(exitUsage, "explain takes one token, got %d arguments", fs.NArg())
	case fs.NArg() == 1 && fs.Arg(0) != "-":
		raw = fs.Arg(0)
	default:
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxInput+1))
		if err != nil {
			return e.fail(exitUsage, "reading the token from stdin: %v", err)
		}
		if len(b) > maxInput {
			return e.fail(exitUsage, "stdin holds more than %d bytes: not a token", maxInput)
		}
		raw = string(b)
	}
	token := cleanToken(raw)
	if token == "" {
		return e.fail(exitUsage, "no token: pass it as the argument, or on stdin")
	}

	x := &explainer{w: e.stdout, showPersonal: *showPersonal}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	tok := x.parse(token)
	x.show(tok)

	fmt.Fprintln(x.w, "\nChecks")
	x.checkStructure(tok)
	x.checkTimes(tok, time.Now())
	x.checkAudience(tok, *clientID, audiences)
	x.checkIssuer(tok, *tenant)
	x.checkPermissions(tok)

	online := !*offline && (*metadataURL != "" || (*tenant != "" && *clientID != ""))
	switch {
	case online && *metadataURL == "" && !x.checkAuthority(tok, authorityOf(e, authorityHost)):
		x.skip("validator", "not run: the token names another authority than the one it would be validated against")
	case online:
		x.validate(e.ctx, token, tok, entra.Config{
			TenantID:      *tenant,
			ClientID:      *clientID,
			Audiences:     audiences,
			AuthorityHost: authorityOf(e, authorityHost).url,
			MetadataURL:   *metadataURL,
			Logger:        logger,
		}, *caFile, *timeout)
	default:
		x.skip("signature", "not verified: give -tenant and -client-id (or -metadata-url) to validate against the authority's keys")
	}

	fmt.Fprintln(x.w)
	if x.failed > 0 {
		fmt.Fprintf(x.w, "Result: REFUSED: %d failing check(s).\n", x.failed)
		return exitFailure
	}
	if online {
		fmt.Fprintln(x.w, "Result: ACCEPTED by the validator.")
	} else {
		fmt.Fprintln(x.w, "Result: no failing check offline (the signature was not verified).")
	}
	return exitOK
}

// cleanToken takes a token out of what a user pastes: white space, quotes,
// a "Bearer " prefix (any case), an "Authorization:" header line, in any
// nesting ('"Bearer eyJ…"', "Authorization: Bearer eyJ…").
func cleanToken(s string) string {
	for range 8 { // each round peels one layer; what is pasted has few
		prev := s
		s = strings.Trim(strings.TrimSpace(s), quotes)
		if name, v, ok := strings.Cut(s, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "authorization") {
			s = strings.TrimSpace(v)
		}
		if len(s) > 7 && strings.EqualFold(s[:6], "bearer") && (s[6] == ' ' || s[6] == '\t') {
			s = s[7:]
		} else if strings.EqualFold(s, "bearer") {
			s = "" // the scheme without a token
		}
		if s == prev {
			break
		}
	}
	return s
}

// quotes are what a shell, a JSON document or a word processor puts around
// a pasted token.
const quotes = "\"'`“”‘’"

// parsedToken is a token split and decoded, as far as it goes.
type parsedToken struct {
	segments  int
	header    map[string]any
	claims    map[string]any
	headerErr string
	claimsErr string
	hasSig    bool
}

// explainer writes the explanation and counts failures.
type explainer struct {
	w            io.Writer
	showPersonal bool
	failed       int
}

func (x *explainer) parse(token string) *parsedToken {
	parts := strings.Split(token, ".")
	t := &parsedToken{segments: len(parts)}
	if len(parts) != 3 {
		return t
	}
	t.header, t.headerErr = decodeJSONSegment(parts[0])
	t.claims, t.claimsErr = decodeJSONSegment(parts[1])
	t.hasSig = parts[2] != ""
	return t
}

func decodeJSONSegment(seg string) (map[string]any, string) {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, "not base64url"
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, "not a JSON object"
	}
	return m, ""
}

// pass, fail and skip write one check.
func (x *explainer) pass(name, detail string) {
	fmt.Fprintf(x.w, "  ok    %-12s %s\n", name, detail)
}

func (x *explainer) skip(name, detail string) {
	fmt.Fprintf(x.w, "  -     %-12s %s\n", name, detail)
}

func (x *explainer) fail(name string, code entra.Code, why string) {
	x.failFix(name, code, why, code.Fix())
}

// failFix is fail with a fix more precise than the code's own.
func (x *explainer) failFix(name string, code entra.Code, why, fix string) {
	x.failed++
	fmt.Fprintf(x.w, "  FAIL  %-12s %s\n", name, code)
	fmt.Fprintf(x.w, "        why: %s\n", why)
	if fix != "" {
		fmt.Fprintf(x.w, "        fix: %s\n", fix)
	}
}

// impersonalClaims are the claims known to say nothing about a person:
// the token's own data, the tenant's, the apps', and what the caller may
// do. Every other claim's value is masked unless -show-personal: names,
// sign-in names, e-mail addresses, IP addresses, session and device IDs
// (sid, deviceid, puid, altsecid, onprem_sid...), opaque values (aio, rh)
// and any custom claim (an optional claim such as mobilePhone).
var impersonalClaims = map[string]bool{
	// the token
	"aud": true, "iss": true, "iat": true, "nbf": true, "exp": true, "ver": true, "uti": true,
	"idtyp": true, "cnf": true, "tfp": true,
	// the tenant and the identity provider
	"tid": true, "idp": true, "tenant_region_scope": true, "tenant_ctry": true, "xms_tpl": true, "xms_tdbr": true,
	// the calling app (and an agent's blueprint)
	"appid": true, "azp": true, "appidacr": true, "azpacr": true, "app_displayname": true,
	"xms_par_app_azp": true, "xms_mirid": true, "xms_cc": true,
	// what the caller may do, and how it signed in
	"scp": true, "roles": true, "wids": true, "groups": true, "hasgroups": true,
	"_claim_names": true, "_claim_sources": true,
	"acr": true, "acrs": true, "amr": true, "auth_time": true,
	// Agent ID facets
	"xms_act_fct": true, "xms_sub_fct": true, "xms_idrel": true,
}

// identifierClaims identify a person in a user's token, and an app's
// service principal in an app-only token (idtyp "app": shown then).
var identifierClaims = map[string]bool{"oid": true, "sub": true}

// shapedClaims are masked keeping their shape (initials, an e-mail
// address's domain), so that a reader can tell two users apart.
var shapedClaims = map[string]bool{
	"name": true, "given_name": true, "family_name": true, "preferred_username": true, "upn": true,
	"unique_name": true, "email": true, "emails": true, "verified_primary_email": true,
	"verified_secondary_email": true, "ipaddr": true,
}

// impersonal reports whether a claim's value is shown by default.
func impersonal(claim string, app bool) bool {
	return impersonalClaims[claim] || identifierClaims[claim] && app
}

func (x *explainer) show(t *parsedToken) {
	if t.segments != 3 {
		fmt.Fprintf(x.w, "The token has %d dot-separated segments; a signed JWT has 3.\n", t.segments)
		return
	}
	app := str(t.claims, "idtyp") == "app"
	fmt.Fprintln(x.w, "Header")
	x.showObject(t.header, t.headerErr, func(string) bool { return false })
	fmt.Fprintln(x.w, "Claims")
	masked := 0
	x.showObject(t.claims, t.claimsErr, func(k string) bool {
		if x.showPersonal || impersonal(k, app) {
			return false
		}
		masked++
		return true
	})
	if masked > 0 {
		fmt.Fprintln(x.w, "  (values of claims not known to be impersonal are masked; -show-personal shows them)")
	}
}

func (x *explainer) showObject(m map[string]any, errText string, masked func(string) bool) {
	if errText != "" {
		fmt.Fprintf(x.w, "  (%s)\n", errText)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		var shown string
		switch {
		case masked(k) && shapedClaims[k]:
			shown = mask(v)
		case masked(k):
			shown = "(masked)"
		case k == "exp" || k == "nbf" || k == "iat" || k == "auth_time":
			shown = showTime(v)
		default:
			b, _ := json.Marshal(v)
			shown = string(b)
			if s, ok := v.(string); ok {
				shown = s
			}
		}
		fmt.Fprintf(x.w, "  %-20s %s\n", k, shown)
	}
}

// mask hides a personal value, keeping its shape: the first character of
// each word, and the domain of an e-mail address.
func mask(v any) string {
	if list, ok := v.([]any); ok {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = mask(e)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	s, ok := v.(string)
	if !ok {
		return "(masked)"
	}
	if net := ipLike.FindString(s); net != "" && net == s {
		return "(masked IP address)"
	}
	local, domain, isMail := strings.Cut(s, "@")
	words := strings.Fields(local)
	for i, w := range words {
		r := []rune(w)
		words[i] = string(r[0]) + strings.Repeat("*", min(len(r)-1, 8))
	}
	out := strings.Join(words, " ")
	if isMail {
		out += "@" + domain
	}
	return out + " (masked)"
}

var ipLike = regexp.MustCompile(`^[0-9a-fA-F:.]+$`)

func showTime(v any) string {
	t, ok := numericDate(v)
	if !ok {
		b, _ := json.Marshal(v)
		return string(b) + " (not a NumericDate)"
	}
	d := time.Until(t).Round(time.Second)
	rel := "in " + d.String()
	if d < 0 {
		rel = (-d).String() + " ago"
	}
	return fmt.Sprintf("%s (%s, %s)", v, t.UTC().Format(time.RFC3339), rel)
}

func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > 253402300799 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func (x *explainer) checkStructure(t *parsedToken) {
	switch {
	case t.segments == 5:
		x.fail("structure", entra.CodeTokenUnsupported, "5 segments: an encrypted token (JWE); entraguard validates signed tokens only")
		return
	case t.segments != 3:
		x.fail("structure", entra.CodeTokenMalformed, fmt.Sprintf("%d segments; a signed JWT (JWS) has 3, header.payload.signature", t.segments))
		return
	case t.headerErr != "":
		x.fail("structure", entra.CodeTokenMalformed, "the header is "+t.headerErr)
		return
	case t.claimsErr != "":
		x.fail("structure", entra.CodeTokenMalformed, "the payload is "+t.claimsErr)
		return
	case !t.hasSig:
		x.fail("structure", entra.CodeSignatureInvalid, "the token has no signature")
		return
	}
	for _, k := range []string{"enc", "zip", "epk", "jku", "jwk", "x5u", "x5c", "crit", "cty"} {
		if _, ok := t.header[k]; ok {
			x.fail("structure", entra.CodeTokenUnsupported, fmt.Sprintf("the header has %q, which Entra access tokens do not carry", k))
			return
		}
	}
	if _, ok := t.header["nonce"]; ok {
		x.fail("structure", entra.CodeFirstPartyToken, "the header has a nonce: a token for Microsoft Graph, which only Microsoft can validate")
		return
	}
	alg := str(t.header, "alg")
	if alg != "RS256" {
		x.fail("structure", entra.CodeAlgorithmNotAllowed, fmt.Sprintf("alg is %q; Entra signs access tokens with RS256", alg))
		return
	}
	if str(t.header, "kid") == "" {
		x.fail("structure", entra.CodeUnknownKey, "the header has no kid: the key that signed the token cannot be found")
		return
	}
	x.pass("structure", "a signed JWT, RS256, kid "+str(t.header, "kid"))
}

func (x *explainer) checkTimes(t *parsedToken, now time.Time) {
	if t.claims == nil {
		x.skip("times", "no claims to check")
		return
	}
	if _, ok := t.claims["exp"]; !ok {
		x.fail("times", entra.CodeClaimMissing, "the token has no exp")
		return
	}
	exp, ok := numericDate(t.claims["exp"])
	if !ok {
		x.fail("times", entra.CodeTokenMalformed, "exp is not a NumericDate (seconds since 1970)")
		return
	}
	if now.After(exp.Add(skew)) {
		x.fail("times", entra.CodeTokenExpired, fmt.Sprintf("the token expired at %s, %s ago (%s of clock skew allowed)", exp.UTC().Format(time.RFC3339), now.Sub(exp).Round(time.Second), skew))
		return
	}
	if v, has := t.claims["nbf"]; has {
		nbf, ok := numericDate(v)
		if !ok {
			x.fail("times", entra.CodeTokenMalformed, "nbf is not a NumericDate (seconds since 1970)")
			return
		}
		if now.Add(skew).Before(nbf) {
			x.fail("times", entra.CodeTokenNotYetValid, fmt.Sprintf("the token is valid from %s, in %s (%s of clock skew allowed): this machine's clock or the issuer's is off", nbf.UTC().Format(time.RFC3339), nbf.Sub(now).Round(time.Second), skew))
			return
		}
	}
	x.pass("times", fmt.Sprintf("valid until %s (in %s)", exp.UTC().Format(time.RFC3339), time.Until(exp).Round(time.Second)))
}

func (x *explainer) checkAudience(t *parsedToken, clientID string, audiences []string) {
	if t.claims == nil {
		return
	}
	var auds []string
	switch a := t.claims["aud"].(type) {
	case string:
		auds = []string{a}
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	if len(auds) == 0 {
		x.fail("audience", entra.CodeAudienceInvalid, "the token has no aud")
		return
	}
	for _, a := range auds {
		if strings.HasPrefix(strings.ToLower(a), "https://graph.microsoft.com") || a == "00000003-0000-0000-c000-000000000000" {
			x.fail("audience", entra.CodeAudienceInvalid, fmt.Sprintf("aud is Microsoft Graph (%s): the client asked for a Graph token, not one for your API", a))
			return
		}
	}
	if clientID == "" {
		x.skip("audience", fmt.Sprintf("aud %s; give -client-id to check it", strings.Join(auds, ", ")))
		return
	}
	accepted := append([]string{clientID, "api://" + clientID}, audiences...)
	for _, a := range auds {
		if slices.Contains(accepted, a) {
			x.pass("audience", "aud "+a)
			return
		}
	}
	x.fail("audience", entra.CodeAudienceInvalid, fmt.Sprintf("aud %s is not the API's: accepted are %s", strings.Join(auds, ", "), strings.Join(accepted, ", ")))
}

// issuerTenant matches Entra ID's issuers and captures their tenant.
var issuerTenant = regexp.MustCompile(`^https?://[^/]+/([0-9a-fA-F-]{36})(/v2\.0)?/?$`)

func (x *explainer) checkIssuer(t *parsedToken, tenant string) {
	if t.claims == nil {
		return
	}
	iss, tid := str(t.claims, "iss"), str(t.claims, "tid")
	if iss == "" {
		x.fail("issuer", entra.CodeClaimMissing, "the token has no iss")
		return
	}
	m := issuerTenant.FindStringSubmatch(iss)
	if m == nil {
		x.skip("issuer", "iss "+iss+" is not shaped like an Entra ID issuer (https://<host>/<tenant>/v2.0 or https://sts.windows.net/<tenant>/); B2C and External ID issuers need -metadata-url")
		return
	}
	if tid != "" && !strings.EqualFold(m[1], tid) {
		x.fail("issuer", entra.CodeTenantNotAllowed, fmt.Sprintf("the issuer's tenant %s is not the token's tid %s", m[1], tid))
		return
	}
	switch strings.ToLower(tenant) {
	case "":
		x.skip("issuer", fmt.Sprintf("iss %s (tenant %s); give -tenant to check it", iss, m[1]))
	case entra.TenantOrganizations, entra.TenantCommon:
		x.pass("issuer", fmt.Sprintf("iss %s: tenant %s, accepted by a multi-tenant API (restrict it with AllowedTenants)", iss, m[1]))
	default:
		if !strings.EqualFold(m[1], tenant) {
			x.fail("issuer", entra.CodeIssuerInvalid, fmt.Sprintf("the token was issued by tenant %s, not by the API's tenant %s (a token from another tenant, or -tenant is wrong)", m[1], tenant))
			return
		}
		x.pass("issuer", "iss "+iss)
	}
}

// authority is the authority a token would be validated against, and
// where that comes from.
type authority struct {
	url    string // as Config.AuthorityHost takes it
	source string // the flag or variable that set it, or "the default"
}

// authorityOf is the authority of -authority-host, else of the
// environment (as entra.ConfigFromEnv reads it), else Entra ID's global
// cloud.
func authorityOf(e *env, flagValue string) authority {
	switch {
	case flagValue != "":
		return authority{flagValue, "-authority-host"}
	case e.getenv(entra.EnvAuthorityHost) != "":
		return authority{e.getenv(entra.EnvAuthorityHost), entra.EnvAuthorityHost}
	case e.getenv("AZURE_AUTHORITY_HOST") != "":
		return authority{e.getenv("AZURE_AUTHORITY_HOST"), "AZURE_AUTHORITY_HOST"}
	}
	return authority{entra.DefaultAuthorityHost, "the default"}
}

// entraHosts are the authority hosts of Entra ID's clouds. Tokens of one
// may be validated against another's authority: the validator tells the
// clouds apart from their metadata.
var entraHosts = map[string]bool{
	"login.microsoftonline.com": true, "login.windows.net": true, "login.microsoft.com": true,
	"login.microsoftonline.us": true, "login.usgovcloudapi.net": true,
	"login.chinacloudapi.cn": true, "login.partner.microsoftonline.cn": true,
	"login.sovcloud-identity.fr": true, "login.sovcloud-identity.de": true, "login.sovcloud-identity.sg": true,
}

// v1IssuerHosts issue v1.0 tokens whatever the authority's host (an
// emulator's v1.0 tokens too): their authority cannot be told from iss.
var v1IssuerHosts = map[string]bool{"sts.windows.net": true, "sts.chinacloudapi.cn": true}

// checkAuthority reports, before any request, a token whose issuer names
// another host than the authority's: an emulator's token validated against
// Entra ID (which would only wait and fail), or Entra ID's against an
// emulator. It returns false when the validator cannot accept the token.
func (x *explainer) checkAuthority(t *parsedToken, a authority) bool {
	iss, err := url.Parse(str(t.claims, "iss"))
	if err != nil || iss.Host == "" || iss.Scheme == "" {
		return true // the issuer check said what is wrong; the validator says it too
	}
	au, err := url.Parse(a.url)
	if err != nil || au.Host == "" {
		return true // NewValidator names the field to fix
	}
	issHost, authHost := strings.ToLower(iss.Host), strings.ToLower(au.Host)
	if issHost == authHost || v1IssuerHosts[issHost] || entraHosts[issHost] && entraHosts[authHost] {
		return true
	}
	why := fmt.Sprintf("the token's issuer %s names the host %s, but the authority is %s (%s): its metadata does not name that issuer, so the validator would refuse the token", iss.Redacted(), iss.Host, strings.TrimSuffix(a.url, "/"), a.source)
	fix := fmt.Sprintf("pass -authority-host %s://%s/", iss.Scheme, iss.Host)
	switch {
	case strings.HasSuffix(issHost, ".b2clogin.com") || strings.HasSuffix(issHost, ".ciamlogin.com"):
		fix = "for Azure AD B2C or Entra External ID, pass -metadata-url with the OpenID metadata URL of the tenant (B2C: of the user flow)"
	case !entraHosts[issHost]:
		fix += " (an emulator's or another authority's; with -ca-file FILE for an emulator started with -tls)"
	case a.source != "the default":
		fix += " (Entra ID), or leave out " + a.source
	}
	x.failFix("authority", entra.CodeIssuerInvalid, why, fix)
	return false
}

func (x *explainer) checkPermissions(t *parsedToken) {
	if t.claims == nil {
		return
	}
	scp := str(t.claims, "scp")
	roles, _ := t.claims["roles"].([]any)
	switch {
	case scp == "" && len(roles) == 0:
		x.fail("permissions", entra.CodeNoScopeOrRole, "the token has neither scp (delegated scopes) nor roles (app roles)")
	case scp != "":
		x.pass("permissions", "a user's token, scp "+scp)
	default:
		names := make([]string, 0, len(roles))
		for _, r := range roles {
			names = append(names, fmt.Sprint(r))
		}
		x.pass("permissions", "roles "+strings.Join(names, ", "))
	}
}

// validate runs entraguard's validator, which fetches the authority's
// metadata and keys only.
func (x *explainer) validate(ctx context.Context, token string, t *parsedToken, cfg entra.Config, caFile string, timeout time.Duration) {
	if cfg.TenantID == "" {
		cfg.TenantID = cmp.Or(str(t.claims, "tid"), entra.TenantCommon)
	}
	switch strings.ToLower(cfg.TenantID) {
	case entra.TenantOrganizations, entra.TenantCommon:
		// One token is explained: its tenant is the question, not a limit.
		cfg.AnyTenant = true
	}
	if cfg.ClientID == "" {
		// -metadata-url alone: the audience is not the question then.
		cfg.ClientID = "(none)"
		if a := str(t.claims, "aud"); a != "" {
			cfg.ClientID = strings.TrimPrefix(a, "api://")
		}
	}
	client, err := httpClient(caFile)
	if err != nil {
		x.fail("signature", entra.CodeConfigInvalid, err.Error())
		return
	}
	defer client.CloseIdleConnections()
	cfg.HTTPClient = client
	v, err := entra.NewValidator(cfg)
	if err != nil {
		x.fail("validator", entra.CodeOf(err), err.Error())
		return
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := v.Ready(ctx); err != nil {
		code := entra.CodeOf(err)
		if code == "" {
			code = entra.CodeKeysUnavailable
		}
		x.fail("signature", code, "the authority's metadata or keys could not be fetched: "+err.Error())
		return
	}
	c, err := v.Validate(ctx, token)
	if err != nil {
		var ee *entra.Error
		why := err.Error()
		if errors.As(err, &ee) && ee.Description != "" {
			why = ee.Description
		}
		x.fail("validator", entra.CodeOf(err), why)
		return
	}
	x.pass("validator", fmt.Sprintf("accepted: signature verified with the authority's key, issuer %s", c.Issuer()))
	x.agent(c)
}

// agent says what the token's Agent ID claims make of the caller, and how
// to get them into an API's tokens when there are none: without them an
// agent's token reads as a classic app's or user's.
func (x *explainer) agent(c *entra.Claims) {
	switch {
	case c.IsAgent():
		x.pass("agent", fmt.Sprintf("an Entra Agent ID agent (%s)", c.AgentKind()))
	case c.HasAgentClaims():
		x.pass("agent", "not an agent (the Agent ID claims say so)")
	default:
		x.skip("agent", "not known (no Agent ID claims): "+entra.AgentClaimsHint)
	}
}
