package entra

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entraguard/entraguard/core/internal/guid"
)

// Revocations is a revocation list: the [Validator] asks it about every
// token it accepts, after the signature and claims checks, on cache hits
// too (set it in [Config.Revocations]).
//
// Revoked returns nil when the token may pass. Otherwise it returns the
// refusal: an *Error with Code [CodeTokenRevoked] (401) for a revoked token, or
// [CodeRevocationsUnavailable] (503) when the list cannot vouch for itself
// (a mirror that is too stale, when its owner chose to refuse then). now is
// the Validator's clock ([Config.Now]). Revoked runs on every request: it
// must be fast, must not block and must be safe for concurrent use.
//
// [RevocationList] is the in-memory implementation; the entraredis module
// shares one through Redis between replicas.
type Revocations interface {
	Revoked(c *Claims, now time.Time) error
}

// RevocationKind is what a [Revocation] matches.
type RevocationKind string

// The kinds of revocation.
const (
	// RevocationToken refuses one token, by its uti claim (Entra's unique
	// token identifier) or, for issuers that set one, its jti claim.
	RevocationToken RevocationKind = "token"
	// RevocationUser refuses every token of one principal (oid) in one
	// tenant (tid) issued before a cut-off: "sign out everywhere",
	// "account compromised". oid is also an app's service principal, so
	// this kind refuses an app-only caller in one tenant as well.
	RevocationUser RevocationKind = "user"
	// RevocationApp refuses every token issued to one calling application
	// (azp, or appid in v1 tokens) before a cut-off, in every tenant: the
	// kill switch for a leaked client secret or certificate. It also
	// refuses the Microsoft Entra Agent ID tokens whose agent identity
	// blueprint (xms_par_app_azp) is that application, of every kind
	// (autonomous, agent user, on behalf of a user): a blueprint's
	// credential mints the tokens of all its agents.
	RevocationApp RevocationKind = "app"
	// RevocationTenant refuses every token of one tenant (tid) issued before
	// a cut-off, for multi-tenant APIs.
	RevocationTenant RevocationKind = "tenant"
)

// DefaultMaxTokenLifetime is how long after its cut-off a revocation is
// kept by default: 28 hours, the longest an Entra access token lives (CAE's
// long-lived tokens), plus an hour, the largest [Config.ClockSkew]. No token
// a revocation matches can still be accepted after that.
const DefaultMaxTokenLifetime = 29 * time.Hour

// Limits of a Revocation.
const (
	// MaxRevocationAhead is how far ahead a cut-off (or a token
	// revocation's Expires) may be: a year.
	MaxRevocationAhead = 366 * 24 * time.Hour
	maxRevocationField = 256
	maxRevocationNote  = 1024
)

// Revocation is one entry of a revocation list.
type Revocation struct {
	// Kind is what the entry matches. Required.
	Kind RevocationKind
	// TokenID is the revoked token's uti (or jti) claim. RevocationToken only.
	TokenID string
	// TenantID is the tenant (tid): of the principal for RevocationUser, the
	// tenant itself for RevocationTenant. A GUID; matched ignoring case.
	TenantID string
	// ObjectID is the principal's object ID (oid). RevocationUser only. A
	// GUID; matched ignoring case.
	ObjectID string
	// AppID is the calling application's client ID (azp or appid), not an
	// application ID URI. RevocationApp only. A GUID; matched ignoring case.
	AppID string
	// IssuedBefore is the cut-off of the user, app and tenant kinds: tokens
	// whose iat is before it are refused (and tokens without iat). It is
	// rounded up to a whole second, as iat is. Zero means the time the entry
	// is added. A cut-off in the future (at most [MaxRevocationAhead])
	// blocks the principal until then, new sign-ins included. A token whose
	// iat is before it still passes if its nbf is at or after it and at most
	// five minutes after its iat: what Entra issues at or after the cut-off
	// to a client that followed the refusal's claims challenge (see
	// [RevocationList.Revoked]).
	IssuedBefore time.Time
	// Expires is when the entry is dropped. Zero means the default: the
	// cut-off plus the list's maximum token lifetime, after which no token
	// the entry matches can still be valid; for RevocationToken, the time
	// the entry is added plus that lifetime. An earlier Expires ends the
	// revocation early: tokens it matched pass again after it.
	Expires time.Time
	// Reason says why, for operators (logs, listings). It is never sent to
	// callers. Optional.
	Reason string
}

// Key is the entry's identity in a list, e.g. "user:<tid>:<oid>". Adding an
// entry whose key is already listed merges the two (see [RevocationList.Revoke]).
func (r Revocation) Key() string {
	switch r.Kind {
	case RevocationToken:
		return "token:" + r.TokenID
	case RevocationUser:
		return "user:" + strings.ToLower(r.TenantID) + ":" + strings.ToLower(r.ObjectID)
	case RevocationApp:
		return "app:" + strings.ToLower(r.AppID)
	case RevocationTenant:
		return "tenant:" + strings.ToLower(r.TenantID)
	}
	return string(r.Kind) + ":"
}

func revocationError(format string, args ...any) error {
	return configError("revocation: "+format, args...)
}

// Complete checks r and fills its defaults as [RevocationList.Revoke] does:
// identifiers lowercased (token IDs excepted), IssuedBefore (now when zero)
// and Expires rounded up to whole seconds, Expires defaulted from
// maxTokenLifetime ([DefaultMaxTokenLifetime] when zero). An entry no token
// can match is refused: TenantID, ObjectID and AppID must be GUIDs, as the
// tid, oid and azp/appid claims are (not in braces, not a domain name or
// "common", not an application ID URI), and a TokenID must not be a whole
// token. Errors are *Error with Code [CodeConfigInvalid] and say which field to fix
// and how. Stores that share a list
// (entraredis) call it before writing, so that every replica holds the same
// entry.
func (r Revocation) Complete(now time.Time, maxTokenLifetime time.Duration) (Revocation, error) {
	if maxTokenLifetime <= 0 {
		maxTokenLifetime = DefaultMaxTokenLifetime
	}
	check := func(field, v string, isGUID bool) error {
		switch {
		case v == "":
			return revocationError("%s is empty: a %s revocation needs it", field, r.Kind)
		case strings.Count(v, ".") == 2 && len(v) > 64:
			// Never echoed: it may be a live token.
			return revocationError("%s looks like a whole token (three dot-separated parts): revoke its uti claim instead (Claims.TokenID()), and never paste a token anywhere", field)
		case len(v) > maxRevocationField:
			return revocationError("%s is longer than %d bytes", field, maxRevocationField)
		}
		for i := 0; i < len(v); i++ {
			if v[i] <= ' ' || v[i] >= 0x7f {
				return revocationError("%s has a space or a byte outside printable ASCII", field)
			}
		}
		if isGUID {
			return guidProblem(field, v)
		}
		return nil
	}
	unused := func(fields ...string) error {
		for i := 0; i < len(fields); i += 2 {
			if fields[i+1] != "" {
				return revocationError("%s is set, but a %s revocation does not use it", fields[i], r.Kind)
			}
		}
		return nil
	}
	var err error
	switch r.Kind {
	case RevocationToken:
		err = errors.Join(check("TokenID", r.TokenID, false), unused("TenantID", r.TenantID, "ObjectID", r.ObjectID, "AppID", r.AppID))
		if err == nil && !r.IssuedBefore.IsZero() {
			err = revocationError("IssuedBefore is set, but a token revocation does not use it")
		}
	case RevocationUser:
		err = errors.Join(check("TenantID", r.TenantID, true), check("ObjectID", r.ObjectID, true), unused("TokenID", r.TokenID, "AppID", r.AppID))
	case RevocationApp:
		err = errors.Join(check("AppID", r.AppID, true), unused("TokenID", r.TokenID, "TenantID", r.TenantID, "ObjectID", r.ObjectID))
	case RevocationTenant:
		err = errors.Join(check("TenantID", r.TenantID, true), unused("TokenID", r.TokenID, "ObjectID", r.ObjectID, "AppID", r.AppID))
	default:
		err = revocationError("Kind %q is not one of token, user, app, tenant", r.Kind)
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return Revocation{}, e
		}
		return Revocation{}, err
	}
	if len(r.Reason) > maxRevocationNote {
		return Revocation{}, revocationError("Reason is longer than %d bytes", maxRevocationNote)
	}
	r.TenantID, r.ObjectID, r.AppID = strings.ToLower(r.TenantID), strings.ToLower(r.ObjectID), strings.ToLower(r.AppID)
	limit := now.Add(MaxRevocationAhead)
	from := now
	if r.Kind != RevocationToken {
		if r.IssuedBefore.IsZero() {
			r.IssuedBefore = now
		}
		if r.IssuedBefore.After(limit) {
			return Revocation{}, revocationError("IssuedBefore %s is more than %v ahead", r.IssuedBefore.UTC().Format(time.RFC3339), MaxRevocationAhead)
		}
		r.IssuedBefore = ceilSecond(r.IssuedBefore)
		from = r.IssuedBefore
	}
	if r.Expires.IsZero() {
		r.Expires = from.Add(maxTokenLifetime)
	}
	if r.Expires.After(limit.Add(maxTokenLifetime)) {
		return Revocation{}, revocationError("Expires %s is too far ahead", r.Expires.UTC().Format(time.RFC3339))
	}
	r.Expires = ceilSecond(r.Expires)
	return r, nil
}

// guidProblem explains why an identifier that Entra always writes as a GUID
// (tid, oid, azp, appid) cannot match any token, or returns nil.
func guidProblem(field, v string) error {
	if guid.Is(v) {
		return nil
	}
	claim := map[string]string{"TenantID": "tid", "ObjectID": "oid", "AppID": "azp (appid in v1.0 tokens)"}[field]
	lv := strings.ToLower(v)
	switch {
	case strings.HasPrefix(v, "{") || strings.HasSuffix(v, "}"):
		return revocationError("%s %q is in braces: write the GUID alone, as the %s claim has it (e.g. 72f988bf-86f1-41af-91ab-2d7cd011db47)", field, v, claim)
	case strings.Contains(lv, "://"):
		if field == "AppID" {
			return revocationError("AppID %q is a URI (an API's application ID URI): an app revocation names the calling application's client ID, a GUID, the token's azp claim (appid in v1.0 tokens; Claims.AppID())", v)
		}
		return revocationError("%s %q is a URI: it must be the GUID of the %s claim", field, v, claim)
	case field == "TenantID" && (lv == "common" || lv == "organizations" || lv == "consumers"):
		return revocationError("TenantID %q is not a tenant: a revocation names one tenant's ID, the GUID of the tid claim (Claims.TenantID())", v)
	case field == "TenantID" && strings.Contains(v, "."):
		return revocationError("TenantID %q is a domain name: tokens carry the tenant's ID, a GUID, in the tid claim (Claims.TenantID(), or the Directory (tenant) ID in the Entra admin center)", v)
	case len(v) == 32 && !strings.Contains(v, "-"):
		return revocationError("%s %q has no dashes: write the GUID 8-4-4-4-12, as the %s claim has it", field, v, claim)
	}
	return revocationError("%s %q is not a GUID (8-4-4-4-12 hexadecimal digits): the %s claim it is matched against always is one", field, v, claim)
}

func ceilSecond(t time.Time) time.Time {
	if t2 := t.Truncate(time.Second); !t2.Equal(t) {
		return t2.Add(time.Second).UTC()
	}
	return t.UTC()
}

// merge returns the union of two entries of the same key: the later cut-off
// and the later expiry (a second revocation never weakens the first), the
// newer reason.
func (r Revocation) merge(old Revocation) Revocation {
	if old.IssuedBefore.After(r.IssuedBefore) {
		r.IssuedBefore = old.IssuedBefore
	}
	if old.Expires.After(r.Expires) {
		r.Expires = old.Expires
	}
	if r.Reason == "" {
		r.Reason = old.Reason
	}
	return r
}

// RevocationListOptions configure a [RevocationList]. The zero value is valid.
type RevocationListOptions struct {
	// MaxTokenLifetime is how long after its cut-off an entry is kept when
	// its Expires is not set. Optional. Default: [DefaultMaxTokenLifetime].
	// Set it no lower than the longest lifetime of the tokens the API accepts
	// plus Config.ClockSkew.
	MaxTokenLifetime time.Duration
	// Now is the list's clock for defaults and expiry. Optional. Default: time.Now.
	Now func() time.Time
}

// RevocationList is an in-memory [Revocations] for one process: safe for
// concurrent use, with lock-free reads. The check costs a few map lookups
// with fixed-size keys and no allocation, nothing when the list is empty;
// writers copy only 1/256 of the list. Expired entries are never matched,
// and they are dropped as the list is written and by [RevocationList.Purge].
// The zero value is not usable; call [NewRevocationList].
type RevocationList struct {
	mu          sync.Mutex // serializes writers
	cur         atomic.Pointer[revState]
	maxLifetime time.Duration
	now         func() time.Time
	lastPurge   time.Time // guarded by mu
}

// NewRevocationList returns an empty list.
func NewRevocationList(o RevocationListOptions) *RevocationList {
	l := &RevocationList{maxLifetime: o.MaxTokenLifetime, now: o.Now}
	if l.maxLifetime <= 0 {
		l.maxLifetime = DefaultMaxTokenLifetime
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.cur.Store(&revState{})
	l.lastPurge = l.now()
	return l
}

const (
	revShardBits = 8
	revShards    = 1 << revShardBits
)

const (
	kToken = iota
	kUser
	kApp
	kTenant
	kinds
)

func kindIndex(k RevocationKind) int {
	switch k {
	case RevocationToken:
		return kToken
	case RevocationUser:
		return kUser
	case RevocationApp:
		return kApp
	}
	return kTenant
}

// revState is an immutable snapshot of the list.
type revState struct {
	total  int
	n      [kinds]int
	shards [revShards]*revShard // nil when the shard is empty
}

// revShard is an immutable 1/256 of the list: its entries by hash, and a
// bit per hash (about 16 bits per entry) so that most lookups of a token
// that is not listed, the common case, end without touching the map.
type revShard struct {
	bits []uint64
	m    map[uint64]*revEntry
}

func (sh *revShard) entries() map[uint64]*revEntry {
	if sh == nil {
		return nil
	}
	return sh.m
}

// newRevShard seals m into a shard, or nil when m is empty.
func newRevShard(m map[uint64]*revEntry) *revShard {
	if len(m) == 0 {
		return nil
	}
	words := 8
	for words*64 < len(m)*16 {
		words *= 2
	}
	sh := &revShard{bits: make([]uint64, words), m: m}
	mask := uint64(words*64 - 1)
	for h := range m {
		b := h & mask
		sh.bits[b>>6] |= 1 << (b & 63)
	}
	return sh
}

// revEntry is a listed revocation; entries whose hashes collide are chained.
type revEntry struct {
	r       Revocation
	key     string
	kind    uint8
	before  int64 // cut-off, Unix seconds
	expires int64 // Unix seconds
	next    *revEntry
}

var kindSeeds = [kinds]uint64{0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9, 0x27d4eb2f165667c5}

// foldHash hashes s with ASCII letters folded to lower case (every byte
// OR 0x20), so that identifiers matched ignoring case hash alike; a match
// is confirmed by comparing the strings. It is wyhash's construction: one
// 64×64→128-bit multiply per 16 bytes.
func foldHash(s string, seed uint64) uint64 {
	const fold = 0x2020202020202020
	n := uint64(len(s))
	h := seed ^ hp0
	for len(s) > 16 {
		h = mum(le64(s)|fold^hp1, le64(s[8:])|fold^h)
		s = s[16:]
	}
	var a, b uint64
	switch {
	case len(s) >= 8:
		a, b = le64(s)|fold, le64(s[len(s)-8:])|fold
	case len(s) >= 4:
		a, b = le32(s)|fold, le32(s[len(s)-4:])|fold
	case len(s) > 0:
		a = uint64(s[0]|0x20)<<16 | uint64(s[len(s)>>1]|0x20)<<8 | uint64(s[len(s)-1]|0x20)
	}
	return mum(hp1^n, mum(a^hp1, b^h))
}

const (
	hp0 = 0xa0761d6478bd642f
	hp1 = 0xe7037ed1a0b428db
	hp2 = 0x8ebc6af09c88c6e3
)

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// le64 is in cache.go.

func le32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

// revSeed seeds every list's hashes: random per process, so that hash
// values (and shard spread) cannot be predicted from outside.
var revSeed = func() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}()

func (l *RevocationList) hash(kind int, s string) uint64 { return revHash(kind, s) }

func revHash(kind int, s string) uint64 {
	return foldHash(s, revSeed^kindSeeds[kind])
}

// userHash combines the hashes of an oid and of its tenant (the tenant's
// hash is the one the tenant kind is filed under).
func userHash(oid string, tenantHash uint64) uint64 {
	return mum(revHash(kUser, oid)^hp2, tenantHash^hp1)
}

func (l *RevocationList) userHash(oid string, tenantHash uint64) uint64 {
	return userHash(oid, tenantHash)
}

// revKeys are a token's hashes under every kind, computed once when its
// claims are parsed, so that the per-request check (cache hits included)
// hashes nothing. A zero (has false) means absent identifiers.
type revKeys struct {
	ok                                                    bool
	uti, jti, user, app, tenant, blueprint                uint64
	hasUti, hasJti, hasUser, hasApp, hasTenant, hasParApp bool
}

func revocationKeys(c *Claims) revKeys {
	k := revKeys{ok: true}
	if c.uti != "" {
		k.uti, k.hasUti = revHash(kToken, c.uti), true
	}
	if c.jti != "" && c.jti != c.uti {
		k.jti, k.hasJti = revHash(kToken, c.jti), true
	}
	if c.tenantID != "" {
		k.tenant, k.hasTenant = revHash(kTenant, c.tenantID), true
		if c.objectID != "" {
			k.user, k.hasUser = userHash(c.objectID, k.tenant), true
		}
	}
	if app := c.AppID(); app != "" {
		k.app, k.hasApp = revHash(kApp, app), true
	}
	// An Agent ID token's blueprint: an app entry matches it too.
	if bp := c.ext.parApp; bp != "" && !strings.EqualFold(bp, c.AppID()) {
		k.blueprint, k.hasParApp = revHash(kApp, bp), true
	}
	return k
}

// entryHash is the hash an entry is filed under: the same as the hash of
// the claims it matches.
func (l *RevocationList) entryHash(r *Revocation) uint64 {
	switch r.Kind {
	case RevocationToken:
		return l.hash(kToken, r.TokenID)
	case RevocationUser:
		return l.userHash(r.ObjectID, l.hash(kTenant, r.TenantID))
	case RevocationApp:
		return l.hash(kApp, r.AppID)
	}
	return l.hash(kTenant, r.TenantID)
}

func (s *revState) lookup(h uint64) *revEntry {
	sh := s.shards[h>>(64-revShardBits)]
	if sh == nil {
		return nil
	}
	b := h & uint64(len(sh.bits)*64-1)
	if sh.bits[b>>6]&(1<<(b&63)) == 0 {
		return nil
	}
	return sh.m[h]
}

// revoked is [RevocationList.Revoked] before freshSignIn
// (revoke_fresh.go) words the refusal.
func (l *RevocationList) revoked(c *Claims, now time.Time) error {
	s := l.cur.Load()
	if s.total == 0 || c == nil {
		return nil
	}
	t := now.Unix()
	k := &c.rev
	if !k.ok {
		kk := revocationKeys(c)
		k = &kk
	}
	if s.n[kToken] > 0 {
		if k.hasUti {
			if e := s.match(s.lookup(k.uti), kToken, c, t); e != nil {
				return e.refusal()
			}
		}
		if k.hasJti {
			if e := s.match(s.lookup(k.jti), kToken, c, t); e != nil {
				return e.refusal()
			}
		}
	}
	if s.n[kTenant] > 0 && k.hasTenant {
		if e := s.match(s.lookup(k.tenant), kTenant, c, t); e != nil {
			return e.refusal()
		}
	}
	if s.n[kUser] > 0 && k.hasUser {
		if e := s.match(s.lookup(k.user), kUser, c, t); e != nil {
			return e.refusal()
		}
	}
	if s.n[kApp] > 0 {
		if k.hasApp {
			if e := s.match(s.lookup(k.app), kApp, c, t); e != nil {
				return e.refusal()
			}
		}
		if k.hasParApp {
			if e := s.match(s.lookup(k.blueprint), kApp, c, t); e != nil {
				return e.refusal()
			}
		}
	}
	return nil
}

// match walks a hash chain for an unexpired entry of kind that matches c.
func (s *revState) match(e *revEntry, kind uint8, c *Claims, now int64) *revEntry {
	for ; e != nil; e = e.next {
		if e.kind != kind || e.expires <= now {
			continue
		}
		var ok bool
		switch kind {
		case kToken:
			ok = e.r.TokenID == c.uti || e.r.TokenID == c.jti
		case kUser:
			ok = strings.EqualFold(e.r.ObjectID, c.objectID) && strings.EqualFold(e.r.TenantID, c.tenantID)
		case kApp:
			ok = strings.EqualFold(e.r.AppID, c.AppID()) ||
				c.ext.parApp != "" && strings.EqualFold(e.r.AppID, c.ext.parApp)
		case kTenant:
			ok = strings.EqualFold(e.r.TenantID, c.tenantID)
		}
		if !ok {
			continue
		}
		// Cut-off kinds: a token without iat cannot prove it is newer;
		// issuedAfter (revoke_fresh.go) reads iat, and nbf after a challenge.
		if kind == kToken || !issuedAfter(c, e.before) {
			return e
		}
	}
	return nil
}

var revokedDescriptions = [kinds]string{
	kToken:  "the token has been revoked: get a new token",
	kUser:   "the tokens of this user or app issued before a revocation are refused: sign in again to get a new token",
	kApp:    "the tokens of the calling application (or of its agent identity blueprint) issued before a revocation are refused: get a new token once its credentials are replaced",
	kTenant: "the tokens of this tenant issued before a revocation are refused",
}

// revokedError is the cause (Err) of a [CodeTokenRevoked] refusal: which
// entry matched, for logs ([RevocationOf]). It is never sent to callers.
type revokedError struct {
	r   Revocation
	key string
}

// Error says which entry matched, for logs: its key (which names a tenant,
// a user's or app's object ID, or a token ID) and reason. It is never part
// of an answer to a caller.
func (e *revokedError) Error() string {
	if e.r.Reason == "" {
		return "revoked by " + e.key
	}
	return "revoked by " + e.key + ": " + e.r.Reason
}

// RevocationOf returns the revocation entry that refused a token, for logs
// and audits, when err is, or wraps, a [CodeTokenRevoked] *Error of a
// [RevocationList] (its Kind, identifiers, IssuedBefore cut-off, Expires and
// Reason; Key() names it), and false for any other error. The entry is
// never part of an answer to a caller.
func RevocationOf(err error) (Revocation, bool) {
	var re *revokedError
	if !errors.As(err, &re) {
		return Revocation{}, false
	}
	return re.r, true
}

func (e *revEntry) refusal() error {
	return &Error{Code: CodeTokenRevoked, Description: revokedDescriptions[e.kind],
		Err: &revokedError{r: e.r, key: e.key}}
}

// Revoke lists r (see [Revocation.Complete] for its checks and defaults) and
// returns the entry as listed. If an entry with the same key is listed, the
// two merge: the later cut-off and the later expiry win, so that a second
// revocation never weakens the first; to shorten one, [RevocationList.Lift]
// it first. Errors are *Error with Code [CodeConfigInvalid].
func (l *RevocationList) Revoke(r Revocation) (Revocation, error) {
	return l.list(r, false)
}

// Put lists r (see [Revocation.Complete] for its checks and defaults) as
// given: an entry with the same key is replaced, not merged, so that r may
// be weaker than it. It is for a list that copies another, authoritative
// one (a mirror applying what its store holds); to revoke, use
// [RevocationList.Revoke], which never weakens an entry.
func (l *RevocationList) Put(r Revocation) (Revocation, error) {
	return l.list(r, true)
}

// list completes r and lists it, replacing an entry with the same key
// (Put) or merging with it (Revoke).
func (l *RevocationList) list(r Revocation, exact bool) (Revocation, error) {
	now := l.now()
	r, err := r.Complete(now, l.maxLifetime)
	if err != nil {
		return Revocation{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := *l.cur.Load()
	r = l.put(&s, r, now.Unix(), exact)
	l.store(&s, now)
	return r, nil
}

// RevokeToken refuses the token whose uti (or jti) is tokenID until
// expires (zero: the default, see [Revocation.Expires]).
func (l *RevocationList) RevokeToken(tokenID, reason string, expires time.Time) (Revocation, error) {
	return l.Revoke(Revocation{Kind: RevocationToken, TokenID: tokenID, Reason: reason, Expires: expires})
}

// RevokeUser refuses the tokens of principal objectID in tenant tenantID
// issued before issuedBefore (zero: now).
func (l *RevocationList) RevokeUser(tenantID, objectID string, issuedBefore time.Time, reason string) (Revocation, error) {
	return l.Revoke(Revocation{Kind: RevocationUser, TenantID: tenantID, ObjectID: objectID, IssuedBefore: issuedBefore, Reason: reason})
}

// RevokeApp refuses the tokens issued to the calling application appID
// (azp or appid) before issuedBefore (zero: now), in every tenant, and the
// Agent ID tokens whose blueprint (xms_par_app_azp) is appID.
func (l *RevocationList) RevokeApp(appID string, issuedBefore time.Time, reason string) (Revocation, error) {
	return l.Revoke(Revocation{Kind: RevocationApp, AppID: appID, IssuedBefore: issuedBefore, Reason: reason})
}

// RevokeTenant refuses the tokens of tenant tenantID issued before
// issuedBefore (zero: now).
func (l *RevocationList) RevokeTenant(tenantID string, issuedBefore time.Time, reason string) (Revocation, error) {
	return l.Revoke(Revocation{Kind: RevocationTenant, TenantID: tenantID, IssuedBefore: issuedBefore, Reason: reason})
}

// Lift removes the entry with r's key (only Kind and the identifiers of r
// are read) and reports whether one was listed.
func (l *RevocationList) Lift(r Revocation) bool {
	r.TenantID, r.ObjectID, r.AppID = strings.ToLower(r.TenantID), strings.ToLower(r.ObjectID), strings.ToLower(r.AppID)
	l.mu.Lock()
	defer l.mu.Unlock()
	s := *l.cur.Load()
	if !l.remove(&s, l.entryHash(&r), r.Key()) {
		return false
	}
	l.store(&s, l.now())
	return true
}

// LiftKey removes the entry with this key (see [Revocation.Key]) and reports
// whether one was listed.
func (l *RevocationList) LiftKey(key string) bool {
	r, ok := parseRevocationKey(key)
	return ok && l.Lift(r)
}

// parseRevocationKey is the inverse of Revocation.Key.
func parseRevocationKey(key string) (Revocation, bool) {
	kind, rest, ok := strings.Cut(key, ":")
	if !ok || rest == "" {
		return Revocation{}, false
	}
	r := Revocation{Kind: RevocationKind(kind)}
	switch r.Kind {
	case RevocationToken:
		r.TokenID = rest
	case RevocationUser:
		if r.TenantID, r.ObjectID, ok = strings.Cut(rest, ":"); !ok {
			return Revocation{}, false
		}
	case RevocationApp:
		r.AppID = rest
	case RevocationTenant:
		r.TenantID = rest
	default:
		return Revocation{}, false
	}
	return r, true
}

func newRevEntry(r Revocation, key string, next *revEntry) *revEntry {
	e := &revEntry{r: r, key: key, kind: uint8(kindIndex(r.Kind)), expires: r.Expires.Unix(), next: next}
	if r.Kind != RevocationToken {
		e.before = r.IssuedBefore.Unix()
	}
	return e
}

func (x *revEntry) copyWith(next *revEntry) *revEntry {
	c := *x
	c.next = next
	return &c
}

// put files r into s (a copy of the current state), merging with an
// unexpired entry of the same key (replacing it when exact); it copies the
// one shard it changes and drops that shard's expired entries. It returns
// the entry as filed.
func (l *RevocationList) put(s *revState, r Revocation, now int64, exact bool) Revocation {
	key := r.Key()
	h := l.entryHash(&r)
	i := h >> (64 - revShardBits)
	old := s.shards[i].entries()
	m := make(map[uint64]*revEntry, len(old)+1)
	for k, e := range old {
		ne := dropExpired(e, now)
		if ne != e {
			s.count(e, -1)
			s.count(ne, +1)
		}
		if ne != nil {
			m[k] = ne
		}
	}
	var chain *revEntry
	for x := m[h]; x != nil; x = x.next {
		if x.key == key {
			if !exact {
				r = r.merge(x.r)
			}
			s.total--
			s.n[x.kind]--
			continue
		}
		chain = x.copyWith(chain)
	}
	if e := newRevEntry(r, key, chain); e.expires > now {
		m[h] = e
		s.total++
		s.n[e.kind]++
	} else if chain != nil {
		m[h] = chain
	} else {
		delete(m, h)
	}
	s.shards[i] = newRevShard(m)
	return r
}

// count adds sign (+1 or -1) per entry of chain e to the figures of s.
func (s *revState) count(e *revEntry, sign int) {
	for ; e != nil; e = e.next {
		s.total += sign
		s.n[e.kind] += sign
	}
}

// dropExpired returns chain e without its expired entries (e itself when
// none is), or nil.
func dropExpired(e *revEntry, now int64) *revEntry {
	keep := true
	for x := e; x != nil; x = x.next {
		if x.expires <= now {
			keep = false
			break
		}
	}
	if keep {
		return e
	}
	var out *revEntry
	for x := e; x != nil; x = x.next {
		if x.expires > now {
			out = x.copyWith(out)
		}
	}
	return out
}

// remove drops the entry of key, filed under h, from s; it reports whether
// there was one.
func (l *RevocationList) remove(s *revState, h uint64, key string) bool {
	i := h >> (64 - revShardBits)
	found := false
	var chain *revEntry
	for x := s.shards[i].entries()[h]; x != nil; x = x.next {
		if x.key == key {
			found = true
			s.total--
			s.n[x.kind]--
			continue
		}
		chain = x.copyWith(chain)
	}
	if !found {
		return false
	}
	old := s.shards[i].entries()
	m := make(map[uint64]*revEntry, len(old))
	for k, e := range old {
		m[k] = e
	}
	if chain == nil {
		delete(m, h)
	} else {
		m[h] = chain
	}
	s.shards[i] = newRevShard(m)
	return true
}

// store publishes s, first purging the whole list when the last purge is
// more than a minute old. Callers hold l.mu.
func (l *RevocationList) store(s *revState, now time.Time) {
	if now.Sub(l.lastPurge) > time.Minute {
		l.purge(s, now.Unix())
		l.lastPurge = now
	}
	l.cur.Store(s)
}

func (l *RevocationList) purge(s *revState, now int64) int {
	dropped := 0
	for i, sh := range s.shards {
		m := sh.entries()
		var nm map[uint64]*revEntry
		for h, e := range m {
			if ne := dropExpired(e, now); ne != e {
				if nm == nil {
					nm = make(map[uint64]*revEntry, len(m))
					for k, v := range m {
						nm[k] = v
					}
				}
				before := s.total
				s.count(e, -1)
				s.count(ne, +1)
				dropped += before - s.total
				if ne == nil {
					delete(nm, h)
				} else {
					nm[h] = ne
				}
			}
		}
		if nm != nil {
			s.shards[i] = newRevShard(nm)
		}
	}
	return dropped
}

// Purge drops the expired entries and returns how many it dropped. Expired
// entries never match; Purge only frees their memory. Add and Replace purge
// too, at most once a minute.
func (l *RevocationList) Purge() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	s := *l.cur.Load()
	n := l.purge(&s, now.Unix())
	l.lastPurge = now
	l.cur.Store(&s)
	return n
}

// Replace makes rs the whole list, as one change that readers see at once
// (a mirror's resync). Entries are completed as by Add (see
// [Revocation.Complete]) and merged when keys repeat; expired ones are
// left out. Invalid entries are left out too, and reported in the error,
// which is nil when every entry was valid.
func (l *RevocationList) Replace(rs []Revocation) error {
	now := l.now()
	t := now.Unix()
	var s revState
	shards := make([]map[uint64]*revEntry, revShards)
	var bad []error
	for _, r := range rs {
		r, err := r.Complete(now, l.maxLifetime)
		if err != nil {
			if len(bad) < 3 {
				bad = append(bad, err)
			}
			continue
		}
		if r.Expires.Unix() <= t {
			continue
		}
		key := r.Key()
		h := l.entryHash(&r)
		i := h >> (64 - revShardBits)
		if shards[i] == nil {
			shards[i] = make(map[uint64]*revEntry, len(rs)/revShards+1)
		}
		found := false
		for x := shards[i][h]; x != nil; x = x.next {
			if x.key == key {
				// Entries of this build are not shared yet: merge in place.
				m := newRevEntry(r.merge(x.r), key, x.next)
				*x = *m
				found = true
				break
			}
		}
		if found {
			continue
		}
		e := newRevEntry(r, key, shards[i][h])
		shards[i][h] = e
		s.total++
		s.n[e.kind]++
	}
	for i, m := range shards {
		s.shards[i] = newRevShard(m)
	}
	l.mu.Lock()
	l.lastPurge = now
	l.cur.Store(&s)
	l.mu.Unlock()
	if len(bad) > 0 {
		return &Error{Code: CodeConfigInvalid, Description: "revocation list: some entries were invalid and left out", Err: errors.Join(bad...)}
	}
	return nil
}

// List returns the unexpired entries, ordered by key.
func (l *RevocationList) List() []Revocation {
	s := l.cur.Load()
	t := l.now().Unix()
	es := make([]*revEntry, 0, s.total)
	for _, sh := range s.shards {
		for _, e := range sh.entries() {
			for x := e; x != nil; x = x.next {
				if x.expires > t {
					es = append(es, x)
				}
			}
		}
	}
	slices.SortFunc(es, func(a, b *revEntry) int { return cmp.Compare(a.key, b.key) })
	out := make([]Revocation, len(es))
	for i, e := range es {
		out[i] = e.r
	}
	return out
}

// Len returns the number of entries held, expired ones not yet purged included.
func (l *RevocationList) Len() int { return l.cur.Load().total }

// TokenID returns the token's unique identifier: the uti claim (Entra),
// else the jti claim, else "". It is what a [RevocationToken] entry names.
func (c *Claims) TokenID() string {
	c = c.z()
	if c.uti != "" {
		return c.uti
	}
	return c.jti
}
