package entra

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/entraguard/entraguard/core/internal/guid"
	"github.com/entraguard/entraguard/core/internal/jose"
)

// Validator validates Entra tokens for one API. Create it once with
// [NewValidator] and share it: it is safe for concurrent use. It keeps the
// authority's metadata and signing keys fresh in the background until Close.
type Validator struct {
	s     *settings
	src   *source
	cache *tokenCache
	// monoClock: the cache judges expiry on the monotonic clock (see
	// cacheNow); false when Config.Now is set.
	monoClock bool
	tk        *tenantKeySets // tenants' own key sets (multi-tenant), or nil
}

// NewValidator checks cfg and returns a Validator. It starts loading the
// authority's metadata and keys in the background and returns without
// waiting; use [Validator.Ready] to wait for them (e.g. in a readiness
// probe). Errors are *Error with Code [CodeConfigInvalid] and say what to fix.
func NewValidator(cfg Config) (*Validator, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	v := &Validator{s: s, monoClock: cfg.Now == nil}
	if s.cacheSize > 0 {
		v.cache = newTokenCache(s.cacheSize, s.cacheMaxBytes, s.cacheFirst)
	}
	if s.maxTenantSets > 0 {
		v.tk = newTenantKeySets(s, v.flushCache)
	}
	v.src = newSource(s, v.flushCache)
	return v, nil
}

func (v *Validator) flushCache() {
	if v.cache != nil {
		v.cache.clear()
	}
}

// Close stops the background refresh and waits for fetches in flight to
// end. Validate keeps working on the keys already loaded. Close is idempotent.
func (v *Validator) Close() {
	if v.tk != nil {
		v.tk.close()
	}
	v.src.close()
}

// Ready waits until the signing keys are loaded, or ctx ends. It returns nil
// at once when they already are; otherwise an *Error with Code
// [CodeKeysUnavailable] whose cause tells why the keys could not be loaded.
func (v *Validator) Ready(ctx context.Context) error {
	return v.src.ready(ctx)
}

// Keys returns the signing keys currently loaded from the authority's key
// set; the key sets of individual tenants (see Config.MaxTenantKeySets) are
// not listed. They are deep copies (public keys and certificates): changing
// them changes nothing the Validator verifies with.
func (v *Validator) Keys() []Key {
	if snap := v.src.cur.Load(); snap != nil {
		keys := make([]Key, len(snap.list))
		for i, k := range snap.list {
			keys[i] = k.clone()
		}
		return keys
	}
	return nil
}

// Stats describe a Validator's key source and cache, for metrics and
// readiness checks.
type Stats struct {
	// Keys is the number of signing keys loaded (0 before the first load).
	Keys int
	// KeysLoadedAt is when keys were last loaded successfully.
	KeysLoadedAt time.Time
	// Refreshes and RefreshFailures count attempts to load metadata and keys.
	Refreshes, RefreshFailures uint64
	// LastRefreshError is the error of the last attempt, or nil if it succeeded.
	// An attempt that kept a metadata document's last known good issuer
	// (the document failed) succeeded for keys, and still reports why.
	LastRefreshError error
	// CachedTokens is the number of verified tokens in the cache.
	CachedTokens int
	// CachedBytes is the memory they count for (see Config.CacheMaxBytes).
	CachedBytes int
	// TenantKeySets is the number of tenants whose own key sets a
	// multi-tenant validator keeps (see Config.MaxTenantKeySets).
	TenantKeySets int
}

// Stats returns current figures. It takes locks briefly; do not call it per request.
func (v *Validator) Stats() Stats {
	st := Stats{
		Refreshes:       v.src.refreshes.Load(),
		RefreshFailures: v.src.failures.Load(),
	}
	if snap := v.src.cur.Load(); snap != nil {
		st.Keys = len(snap.keys)
		st.KeysLoadedAt = time.Unix(0, v.src.okTime.Load())
	}
	v.src.mu.Lock()
	st.LastRefreshError = v.src.lastErr
	v.src.mu.Unlock()
	if v.cache != nil {
		st.CachedTokens = v.cache.len()
		st.CachedBytes = v.cache.usedBytes()
	}
	if v.tk != nil {
		st.TenantKeySets = v.tk.len()
	}
	return st
}

// AuthorizationURL returns the tenant's authorization endpoint from its
// metadata, or "" before metadata is loaded. HTTP challenges carry it as
// authorization_uri so that clients can find where to get a token.
func (v *Validator) AuthorizationURL() string {
	if snap := v.src.cur.Load(); snap != nil {
		return snap.authorizeURL
	}
	return ""
}

// Validate checks a token's signature and claims only, applying no policy:
// an ID token of this app, or a token that carries neither scp nor roles,
// passes it; to decide whether a request may pass, use [Middleware] (or a
// framework adapter) or [Authenticator.AuthenticateToken].
//
// token is the compact JWS, without "Bearer "; Validate returns its claims.
// Checks run cheapest first: size, structure, header and algorithm, key,
// signature, then exp, nbf, issuer, tenant, signing-key issuer, audience
// and version. Every failure is an *Error; see the Code constants.
//
// Validate waits for keys only while a fetch is in flight and ctx allows;
// it never waits for the refresh rate limit.
//
// Validate does not apply the middleware's default policy (a token must
// carry scp or roles; see [WithoutScopeOrRoleCheck]) nor its hooks.
//
// A token bound to a certificate or key (a cnf claim: Entra's mTLS
// proof-of-possession tokens) is refused with [CodeTokenBound]: Validate
// has no proof that its caller holds the key. See [WithMTLSBinding].
func (v *Validator) Validate(ctx context.Context, token string) (*Claims, error) {
	return v.validateToken(ctx, token, false)
}

// validateToken is Validate; with bound, a token bound to a key (cnf) is
// not refused, for a caller that verifies the binding itself.
func (v *Validator) validateToken(ctx context.Context, token string, bound bool) (*Claims, error) {
	if token == "" {
		err := newError(CodeTokenMissing, "no token was presented")
		if v.s.observer != nil {
			v.observeValidation(ctx, nil, err, CacheOff)
		}
		return nil, err
	}
	if len(token) > v.s.maxTokenSize {
		err := newError(CodeTokenMalformed, fmt.Sprintf("token is larger than %d bytes", v.s.maxTokenSize))
		if v.s.observer != nil {
			v.observeValidation(ctx, nil, err, CacheOff)
		}
		return nil, err
	}
	var h uint64 // the token's hash in the cache
	if v.cache != nil {
		h = v.cache.hashString(token)
		if snap := v.src.cur.Load(); snap != nil {
			if c, now := v.cacheGet(h, token, snap.gen); c != nil {
				err := v.revokedAt(c, now)
				if err == nil && c.cnf != nil && !bound {
					err = boundAsBearer()
				}
				if v.s.observer != nil {
					v.observeValidation(ctx, c, err, CacheHit)
				}
				if err != nil {
					return nil, err
				}
				return c, nil
			}
		}
	}
	now := v.s.now()
	var kept string  // the cache's copy of token (see ownedPayload)
	var keep *string // nil: the token is not to be cached (first sight)
	if v.cache != nil && v.cache.admits(h) {
		keep = &kept
	}
	c, snap, err := v.validate(ctx, token, now, keep)
	if err == nil && v.cache != nil {
		if keep != nil {
			at, dead := v.cacheDeadline(now, c.expires)
			v.cache.put(kept, c, snap.gen, at, dead)
		} else {
			v.cache.sighted(h)
		}
	}
	// After the cache put: a revoked token presented again is refused from
	// the cache, without a signature check.
	if err == nil {
		err = v.revoked(c, now)
	}
	if err == nil && c.cnf != nil && !bound {
		err = boundAsBearer()
	}
	if v.s.observer != nil {
		cr := CacheOff
		if v.cache != nil {
			cr = CacheMiss
		}
		v.observeValidation(ctx, c, err, cr)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// revoked asks Config.Revocations about c (see revoke.go).
func (v *Validator) revoked(c *Claims, now time.Time) error {
	if v.s.revocations == nil {
		return nil
	}
	return v.s.revocations.Revoked(c, now)
}

// revokedAt is revoked for a cache hit, at the cache clock's reading now
// (see cacheNow), so a hit reads the clock once for both its expiry and
// the revocation check, and never the wall clock: with the default clock,
// now is turned back into a time carrying its monotonic reading.
func (v *Validator) revokedAt(c *Claims, now int64) error {
	if v.s.revocations == nil {
		return nil
	}
	if v.monoClock {
		return v.s.revocations.Revoked(c, monoBase.Add(time.Duration(now)))
	}
	return v.s.revocations.Revoked(c, time.Unix(0, now))
}

// cachedBytes returns the claims of a token lent as bytes if the cache
// holds them, without copying the token; nil otherwise.
func (v *Validator) cachedBytes(token []byte) *Claims {
	if v.cache == nil || len(token) < 2 || len(token) > v.s.maxTokenSize {
		return nil
	}
	snap := v.src.cur.Load()
	if snap == nil {
		return nil
	}
	e := v.cache.lookupBytes(token)
	if e == nil || e.gen != snap.gen {
		return nil
	}
	now := v.cacheNow()
	if now >= e.exp || e.claims.cnf != nil || v.revokedAt(e.claims, now) != nil {
		return nil // Validate gives the refusal
	}
	return e.claims
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// header is what the JOSE header may say.
type header struct {
	alg, kid, typ, cty    string
	nonce, crit, embedded bool
	embeddedName          string
	jwe                   bool
}

func parseHeader(s string) (header, error) {
	var h header
	r := jose.NewReader(s)
	err := r.Object(func(name string) error {
		var err error
		switch name {
		case "alg":
			h.alg, err = r.Str()
		case "kid":
			h.kid, err = r.Str()
		case "typ":
			h.typ, err = r.Str()
		case "cty":
			h.cty, err = r.Str()
		case "nonce":
			h.nonce = true
			err = r.Skip(1)
		case "crit":
			h.crit = true
			err = r.Skip(1)
		case "jku", "jwk", "x5u", "x5c":
			h.embedded = true
			h.embeddedName = name
			err = r.Skip(1)
		case "enc", "zip", "epk":
			h.jwe = true
			err = r.Skip(1)
		default:
			err = r.Skip(1)
		}
		return err
	})
	return h, err
}

// validate validates token at now. With kept non-nil (a token the cache
// is to store), it sets *kept to a copy of token made with the claims'
// payload, for the cache to keep.
func (v *Validator) validate(ctx context.Context, token string, now time.Time, kept *string) (*Claims, *snapshot, error) {
	// Structure: three segments of base64url, which the decoder below
	// checks byte by byte. A token with a line break is refused as having
	// characters outside base64url before any other structural verdict;
	// it is looked for only when the token is refused here, since a token
	// whose three segments decode has none.
	malformed := func(err *Error) (*Claims, *snapshot, error) {
		if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
			err = newError(CodeTokenMalformed, "token is not a compact JWT: it has characters outside base64url")
		}
		return nil, nil, err
	}
	dots := strings.Count(token, ".")
	dot1, dot2 := strings.IndexByte(token, '.'), -1
	if dots >= 2 {
		dot2 = dot1 + 1 + strings.IndexByte(token[dot1+1:], '.')
	}
	switch {
	case dots == 4:
		return malformed(newError(CodeTokenUnsupported, "token is encrypted (JWE): encrypted tokens are not supported; turn off token encryption for this API"))
	case dots != 2:
		return malformed(newError(CodeTokenMalformed, "token is not a JWT: it needs three dot-separated segments"))
	case dot1 == 0 || dot2 == dot1+1:
		return malformed(newError(CodeTokenMalformed, "token has an empty header or payload"))
	}

	// The three segments are decoded into one pooled buffer, so that a
	// token refused before its signature is checked allocates no buffer
	// of its size; the claims get their own copy of the payload once the
	// signature holds (strings in Claims share it; the buffer is reused).
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	hLen := jose.DecodedLen(dot1)
	pLen := jose.DecodedLen(dot2 - dot1 - 1)
	sLen := jose.DecodedLen(len(token) - dot2 - 1)
	// The digest has its place at the end, so that it is not allocated
	// for the verifier.
	if cap(*bp) < hLen+pLen+sLen+sha512.Size {
		*bp = make([]byte, 0, hLen+pLen+sLen+sha512.Size)
	}
	buf := (*bp)[:hLen+pLen+sLen+sha512.Size]
	hdrB, payB, sigB, digB := buf[:hLen], buf[hLen:hLen+pLen], buf[hLen+pLen:hLen+pLen+sLen], buf[hLen+pLen+sLen:]

	// All three segments are decoded first (the decoder refuses any byte
	// outside the alphabet, padding included), so that a token with a
	// broken segment is malformed whatever else it claims.
	hn, ok := jose.DecodeSegment(hdrB, token[:dot1])
	if !ok {
		return malformed(newError(CodeTokenMalformed, "token header is not valid base64url"))
	}
	pn, ok := jose.DecodeSegment(payB, token[dot1+1:dot2])
	if !ok {
		return malformed(newError(CodeTokenMalformed, "token payload is not valid base64url"))
	}
	sn, ok := jose.DecodeSegment(sigB, token[dot2+1:])
	if !ok {
		return malformed(newError(CodeTokenMalformed, "token signature is not valid base64url"))
	}
	h, err := parseHeader(string(hdrB[:hn]))
	if err != nil {
		return nil, nil, &Error{Code: CodeTokenMalformed, Description: "token header is not a valid JSON object (" + err.Error() + ")"}
	}
	if h.jwe {
		return nil, nil, newError(CodeTokenUnsupported, "token is encrypted (JWE): encrypted tokens are not supported")
	}
	if h.alg == "" {
		return nil, nil, newError(CodeAlgorithmNotAllowed, "token header has no alg")
	}
	a := jose.AlgByName(h.alg)
	if !v.s.algs.Has(a) {
		return nil, nil, newError(CodeAlgorithmNotAllowed, "token algorithm "+quote(h.alg)+" is not accepted; this API accepts "+v.s.algs.String())
	}
	if h.embedded {
		return nil, nil, newError(CodeTokenUnsupported, "token header carries "+h.embeddedName+": keys named or embedded in a token are never trusted")
	}
	if h.crit {
		return nil, nil, newError(CodeTokenUnsupported, "token header has crit extensions, which this API does not understand")
	}
	if h.cty != "" {
		return nil, nil, newError(CodeTokenUnsupported, "token header has cty "+quote(h.cty)+": nested tokens are not supported")
	}
	if h.typ != "" && !strings.EqualFold(h.typ, "JWT") && !strings.EqualFold(h.typ, "at+jwt") && !strings.EqualFold(h.typ, "application/at+jwt") {
		return nil, nil, newError(CodeTokenUnsupported, "token type "+quote(h.typ)+" is not a JWT")
	}
	if h.nonce {
		return nil, nil, newError(CodeFirstPartyToken, "token is for a Microsoft API such as Microsoft Graph (its header has a nonce) and no other API can validate it: request a token for this API's scope instead (e.g. api://"+v.s.clientID+"/.default)")
	}
	if h.kid == "" {
		return nil, nil, newError(CodeUnknownKey, "token header has no kid")
	}

	snap, err := v.src.snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	key := snap.keys[h.kid]
	tenantKey := false // key is of the token's tenant's own set
	if key == nil && v.tk != nil {
		key = v.tenantKey(ctx, snap, h.kid, string(payB[:pn]), false)
		tenantKey = key != nil
	}
	if key == nil {
		snap = v.src.refreshForKid(ctx, snap)
		if key = snap.keys[h.kid]; key == nil && v.tk != nil {
			key = v.tenantKey(ctx, snap, h.kid, string(payB[:pn]), true)
			tenantKey = key != nil
		}
		if key == nil {
			return nil, nil, newError(CodeUnknownKey, "token was signed with key "+quote(h.kid)+", which the issuer does not publish: get a new token (it may be from another cloud or an app with custom signing keys; see Config.AppSpecificKeys)")
		}
	}
	if !key.allows(a) {
		return nil, nil, newError(CodeAlgorithmNotAllowed, "token algorithm "+a.String()+" does not fit its signing key "+quote(h.kid))
	}

	if dot2 == len(token)-1 {
		return nil, nil, newError(CodeSignatureInvalid, "token has no signature")
	}
	sig := sigB[:sn]
	// The signing input is read in place: the hash functions only read it.
	signed := unsafe.Slice(unsafe.StringData(token), dot2)
	var dn int
	switch a.Hash() {
	case crypto.SHA256:
		d := sha256.Sum256(signed)
		dn = copy(digB, d[:])
	case crypto.SHA384:
		d := sha512.Sum384(signed)
		dn = copy(digB, d[:])
	default:
		d := sha512.Sum512(signed)
		dn = copy(digB, d[:])
	}
	ok = key.verify(a, digB[:dn], sig)
	if !ok {
		return nil, nil, newError(CodeSignatureInvalid, "token signature is not valid")
	}

	c, err := parseClaims(v.ownedPayload(token, payB[:pn], kept))
	if err != nil {
		return nil, nil, &Error{Code: CodeTokenMalformed, Description: "token claims are not a valid JSON object (" + err.Error() + ")"}
	}
	if err := v.checkClaims(c, key, snap, now); err != nil {
		return nil, nil, err
	}
	if tenantKey {
		// Entra signed it: the tenant is real and keeps its key set.
		v.tk.accepted(c.tenantID)
	} else if v.tk != nil && c.tenantID != "" {
		v.tk.seen(c.tenantID)
	}
	return c, snap, nil
}

func (v *Validator) checkClaims(c *Claims, key *verifyKey, snap *snapshot, now time.Time) error {
	if c.expires.IsZero() {
		return newError(CodeClaimMissing, "token has no exp claim")
	}
	// Valid while now is before exp + skew: RFC 7519 §4.1.4 says a token
	// is expired "on or after" exp, so at exp + skew exactly it is refused.
	if !now.Before(c.expires.Add(v.s.skew)) {
		return newError(CodeTokenExpired, "token expired at "+c.expires.Format(time.RFC3339)+": get a new token")
	}
	if !c.notBefore.IsZero() && c.notBefore.After(c.expires) {
		// Never valid at any instant, whatever the clock skew allows.
		return newError(CodeTokenExpired, "token expires (exp "+c.expires.Format(time.RFC3339)+") before it becomes valid (nbf "+c.notBefore.Format(time.RFC3339)+"): it is never valid")
	}
	if !c.notBefore.IsZero() && now.Add(v.s.skew).Before(c.notBefore) {
		return newError(CodeTokenNotYetValid, "token is not valid before "+c.notBefore.Format(time.RFC3339)+": check the clocks")
	}
	if c.issuer == "" {
		return newError(CodeClaimMissing, "token has no iss claim")
	}
	tid := c.tenantID
	if tid != "" && !guid.Is(tid) {
		return newError(CodeTenantNotAllowed, "token tid is not a tenant GUID")
	}
	var m *issuer
	for i := range snap.issuers {
		if snap.issuers[i].match(c.issuer, tid) {
			m = &snap.issuers[i]
			break
		}
	}
	if m == nil {
		return v.issuerError(c, snap)
	}
	if !m.templated {
		switch {
		case tid == "" && !v.s.custom:
			return newError(CodeClaimMissing, "token has no tid claim")
		case tid != "" && m.tenant != "" && !strings.EqualFold(tid, m.tenant):
			return newError(CodeTenantNotAllowed, "token tid "+tid+" is not the tenant of its issuer")
		}
	}
	if v.s.allowedTenants != nil {
		if _, ok := v.s.allowedTenants[strings.ToLower(tid)]; !ok {
			return newError(CodeTenantNotAllowed, "tenant "+quote(tid)+" is not allowed to call this API")
		}
	}
	if v.s.b2cFlows != nil {
		if err := v.checkUserFlow(c); err != nil {
			return err
		}
	}
	if !keyIssuerOK(key, c.issuer, tid, snap) {
		return newError(CodeIssuerInvalid, "token issuer "+quote(c.issuer)+" is not the issuer of its signing key")
	}
	if !v.audienceOK(c.audience) {
		return v.audienceError(c)
	}
	if c.objectID == "" && !v.s.allowNoOID {
		return newError(CodeOIDMissing, "token has no oid claim: it comes from service-principal-less authentication, which Entra no longer allows; create a service principal for the calling app in the tenant (or set Config.AllowMissingObjectID)")
	}
	if len(v.s.versions) > 0 && !slices.Contains(v.s.versions, c.version) {
		return newError(CodeTokenVersionNotAllowed, "token version "+quote(c.version)+" is not accepted; this API accepts "+strings.Join(v.s.versions, ", ")+" (set accessTokenAcceptedVersion in the app manifest)")
	}
	return nil
}

func (v *Validator) audienceOK(aud []string) bool {
	for _, a := range aud {
		for _, ok := range v.s.audiences {
			if a == ok {
				return true
			}
		}
	}
	return false
}

const graphAppID = "00000003-0000-0000-c000-000000000000"

func (v *Validator) audienceError(c *Claims) error {
	if len(c.audience) == 0 {
		return newError(CodeAudienceInvalid, "token has no aud claim")
	}
	for _, a := range c.audience {
		if a == graphAppID || strings.HasPrefix(a, "https://graph.microsoft.") {
			return newError(CodeAudienceInvalid, "token is for Microsoft Graph, not for this API: request a token for this API's scope instead (e.g. api://"+v.s.clientID+"/.default)")
		}
	}
	for _, a := range c.audience {
		for _, ok := range v.s.audiences {
			if asciiEqualFold(a, ok) && guidAudience(ok) {
				return newError(CodeAudienceInvalid, "token audience "+quote(a)+" differs from the accepted "+quote(ok)+" only in letter case: Config.ClientID and the GUIDs of Config.Audiences may be written in any case, but Entra issues them in lower case and a token is compared exactly, so this token was not issued as Entra issues them")
			}
			if asciiEqualFold(a, ok) {
				return newError(CodeAudienceInvalid, "token audience "+quote(a)+" differs from the accepted "+quote(ok)+" only in letter case: App ID URIs are compared exactly; write the audience in Config.Audiences as the token carries it (the App ID URI as registered)")
			}
		}
	}
	return newError(CodeAudienceInvalid, "token audience "+quote(strings.Join(c.audience, " "))+" is not accepted by this API; accepted: "+strings.Join(v.s.audiences, ", "))
}

func (v *Validator) issuerError(c *Claims, snap *snapshot) error {
	if err := otherCloudError(v.s, snap, c.issuer); err != nil {
		return err
	}
	want := make([]string, 0, len(snap.issuers))
	for _, is := range snap.issuers {
		want = append(want, is.display)
	}
	if !v.s.multiTenant && c.tenantID != "" {
		for _, is := range snap.issuers {
			if is.tenant != "" && !strings.EqualFold(is.tenant, c.tenantID) {
				return newError(CodeIssuerInvalid, "token was issued by tenant "+c.tenantID+", but this API accepts tokens of tenant "+is.tenant+" only")
			}
		}
	}
	return newError(CodeIssuerInvalid, "token issuer "+quote(c.issuer)+" is not accepted; accepted: "+strings.Join(want, ", "))
}

// quote makes a value taken from a token safe to show: quoted, ASCII,
// at most 64 characters of it.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		r := []rune(s)
		s = string(r[:64]) + "…"
	}
	return strconv.QuoteToASCII(s)
}
