package entraredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix names the Redis keys of a list: {entraguard:revocations}:entries
// and friends. The braces are a Redis Cluster hash tag: all keys of one list
// live in one slot, so that the scripts that change them are atomic.
const DefaultPrefix = "entraguard:revocations"

// Store is a revocation list kept in Redis: what operators and the
// [Mirror]s of every replica share. It holds no state of its own and never
// closes the client it is given.
//
// Layout: a hash {prefix}:entries (entry key → JSON), a sorted set
// {prefix}:expiry (entry key by expiry, for purging), a counter
// {prefix}:version bumped by every change, a random {prefix}:epoch that
// tells a restarted, empty Redis from an emptied list, a change log
// ({prefix}:changes: each key by the version that last changed it, the
// last 10,000; {prefix}:logv and {prefix}:floor say which versions it
// covers), a random stamp per version ({prefix}:stamps) that tells one
// history from another with the same version numbers, and the pub/sub
// channel {prefix}:events on which each change is announced. Every change
// is one Lua script, so the hash, the version, the log and the
// announcement never disagree. The announcement is only a hint: mirrors
// read what changed from the keys, never from the message.
type Store struct {
	c           redis.UniversalClient
	keys        []string // entries, expiry, version, epoch, changes, logv, floor, stamps
	channel     string
	maxLifetime time.Duration
	now         func() time.Time
}

// StoreOptions configure a [Store]. The zero value is valid.
type StoreOptions struct {
	// Prefix names the keys (in a hash tag). Optional. Default: [DefaultPrefix].
	Prefix string
	// MaxTokenLifetime is how long after its cut-off an entry is kept when
	// it sets no Expires. Optional. Default: [entra.DefaultMaxTokenLifetime].
	MaxTokenLifetime time.Duration
	// Now is the clock for defaults and expiry. Optional. Default: time.Now.
	Now func() time.Time
}

// NewStore returns a Store on client, which may be a single node, a
// Sentinel failover client or a Cluster client (any redis.UniversalClient).
func NewStore(client redis.UniversalClient, o StoreOptions) (*Store, error) {
	if client == nil {
		return nil, errors.New("entraredis: NewStore needs a Redis client")
	}
	p := o.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	if strings.ContainsAny(p, "{}") {
		return nil, fmt.Errorf("entraredis: Prefix %q has braces: the prefix is put in a hash tag, leave them out", p)
	}
	s := &Store{c: client, maxLifetime: o.MaxTokenLifetime, now: o.Now}
	if s.maxLifetime <= 0 {
		s.maxLifetime = entra.DefaultMaxTokenLifetime
	}
	if s.now == nil {
		s.now = time.Now
	}
	tag := "{" + p + "}"
	s.keys = []string{tag + ":entries", tag + ":expiry", tag + ":version", tag + ":epoch",
		tag + ":changes", tag + ":logv", tag + ":floor", tag + ":stamps"}
	s.channel = tag + ":events"
	return s, nil
}

// Channel is the pub/sub channel on which changes are announced.
func (s *Store) Channel() string { return s.channel }

// wire is an entry as stored: JSON, times in Unix seconds (as iat is).
type wire struct {
	Kind    entra.RevocationKind `json:"kind"`
	Token   string               `json:"token,omitempty"`
	TID     string               `json:"tid,omitempty"`
	OID     string               `json:"oid,omitempty"`
	App     string               `json:"app,omitempty"`
	Before  int64                `json:"before,omitempty"`
	Expires int64                `json:"expires"`
	Reason  string               `json:"reason,omitempty"`
}

func toWire(r entra.Revocation) wire {
	w := wire{Kind: r.Kind, Token: r.TokenID, TID: r.TenantID, OID: r.ObjectID, App: r.AppID, Expires: r.Expires.Unix(), Reason: r.Reason}
	if !r.IssuedBefore.IsZero() {
		w.Before = r.IssuedBefore.Unix()
	}
	return w
}

func (w wire) revocation() entra.Revocation {
	r := entra.Revocation{Kind: w.Kind, TokenID: w.Token, TenantID: w.TID, ObjectID: w.OID, AppID: w.App, Reason: w.Reason}
	if w.Before != 0 {
		r.IssuedBefore = time.Unix(w.Before, 0).UTC()
	}
	if w.Expires != 0 {
		r.Expires = time.Unix(w.Expires, 0).UTC()
	}
	return r
}

func decodeEntry(v string) (entra.Revocation, error) {
	w, ok := fastWire(v)
	if !ok {
		w = wire{}
		if err := json.Unmarshal([]byte(v), &w); err != nil {
			return entra.Revocation{}, err
		}
	}
	if w.Expires == 0 {
		return entra.Revocation{}, errors.New("entry has no expiry")
	}
	return w.revocation(), nil
}

// luaMerge stores one entry, merged with the one it replaces so that a
// revocation never weakens another (the later cut-off and expiry win),
// and returns the JSON stored.
const luaMerge = `
local function put(key, val, exp, now)
  if redis.call('HSETNX', KEYS[1], key, val) == 1 then
    redis.call('ZADD', KEYS[2], exp, key)
    return val
  end
  local n = cjson.decode(val)
  local old = redis.call('HGET', KEYS[1], key)
  local ok, o = pcall(cjson.decode, old)
  if ok and type(o) == 'table' and tonumber(o.expires or 0) > now then
    local changed = false
    if tonumber(o.before or 0) > tonumber(n.before or 0) then n.before = o.before; changed = true end
    if tonumber(o.expires or 0) > tonumber(n.expires) then n.expires = o.expires; changed = true end
    if (n.reason == nil or n.reason == '') and o.reason then n.reason = o.reason; changed = true end
    if changed then val = cjson.encode(n) end
  end
  redis.call('HSET', KEYS[1], key, val)
  redis.call('ZADD', KEYS[2], tonumber(n.expires), key)
  return val
end
`

// luaBump ends every change: it bumps the version, files the changed keys
// in the change log ({prefix}:changes, key by the version that last
// changed it), stamps the new version with a random value ({prefix}:stamps,
// so that a mirror can tell the version it holds from another history's
// same number), and trims the log. {prefix}:logv is the version the log is
// complete up to; {prefix}:floor the version below which it is not (a
// writer that kept no log, or trimmed entries): a mirror behind the floor,
// or finding logv behind the version, reads the whole list.
const luaBump = `
local function bump(changed, stamp)
  local cur = tonumber(redis.call('GET', KEYS[3]) or '0')
  if tonumber(redis.call('GET', KEYS[6]) or '-1') ~= cur then redis.call('SET', KEYS[7], cur) end
  local v = redis.call('INCR', KEYS[3])
  for _, k in ipairs(changed) do redis.call('ZADD', KEYS[5], v, k) end
  redis.call('ZADD', KEYS[8], v, stamp)
  redis.call('SET', KEYS[6], v)
  local n = redis.call('ZCARD', KEYS[5])
  if n > 10000 then
    local last = redis.call('ZRANGE', KEYS[5], n - 10000 - 1, n - 10000 - 1, 'WITHSCORES')
    redis.call('ZREMRANGEBYRANK', KEYS[5], 0, n - 10000 - 1)
    local f = tonumber(last[2])
    if f > tonumber(redis.call('GET', KEYS[7]) or '0') then redis.call('SET', KEYS[7], f) end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', '(' .. (redis.call('GET', KEYS[7]) or '0'))
  return v
end
`

// revokeScript stores an entry (luaMerge), bumps the version (luaBump),
// purges a few expired entries and announces the change. KEYS: see
// Store.keys. ARGV: key, JSON, channel, now, epoch to set if there is
// none, expiry, stamp. Returns {version, JSON as stored}.
var revokeScript = redis.NewScript(luaMerge + luaBump + `
local now = tonumber(ARGV[4])
redis.call('SETNX', KEYS[4], ARGV[5])
local val = put(ARGV[1], ARGV[2], tonumber(ARGV[6]), now)
local v = bump({ARGV[1]}, ARGV[7])
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, k in ipairs(dead) do
  redis.call('HDEL', KEYS[1], k)
  redis.call('ZREM', KEYS[2], k)
end
local ep = redis.call('GET', KEYS[4])
redis.call('PUBLISH', ARGV[3], cjson.encode({v = v, op = 'set', key = ARGV[1], value = val, epoch = ep}))
return {v, val}
`)

// reseedScript writes many entries back (luaMerge each), bumps the version
// once and announces "sync". ARGV: channel, now, epoch to set if there is
// none, stamp, then key, JSON, expiry triples.
var reseedScript = redis.NewScript(luaMerge + luaBump + `
local now = tonumber(ARGV[2])
redis.call('SETNX', KEYS[4], ARGV[3])
local changed = {}
for i = 5, #ARGV, 3 do
  put(ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), now)
  changed[#changed + 1] = ARGV[i]
end
local v = bump(changed, ARGV[4])
redis.call('PUBLISH', ARGV[1], cjson.encode({v = v, op = 'sync', epoch = redis.call('GET', KEYS[4])}))
return v
`)

// liftScript removes an entry and announces it. KEYS as revokeScript.
// ARGV: key, channel, epoch to set if there is none, stamp. Returns
// {removed, version}.
var liftScript = redis.NewScript(luaBump + `
redis.call('SETNX', KEYS[4], ARGV[3])
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if n == 0 then
  return {0, tonumber(redis.call('GET', KEYS[3]) or '0')}
end
local v = bump({ARGV[1]}, ARGV[4])
redis.call('PUBLISH', ARGV[2], cjson.encode({v = v, op = 'del', key = ARGV[1], epoch = redis.call('GET', KEYS[4])}))
return {1, v}
`)

// changesScript is what a mirror reads: the version, the epoch, the stamps
// of the version and of the mirror's, and, when the change log covers the
// mirror's version, every key changed since with its entry ("" when it is
// gone). ARGV: the mirror's version, the most keys to return. Returns
// {version, epoch, stamp, stamp of the mirror's version, status, key,
// JSON, …}; status is "" (nothing newer), "log" (the keys follow) or
// "full" (read the whole list).
var changesScript = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[3]) or '0')
local function stampAt(x)
  return redis.call('ZRANGEBYSCORE', KEYS[8], x, x, 'LIMIT', 0, 1)[1] or ''
end
local since = tonumber(ARGV[1])
local out = {tostring(v), redis.call('GET', KEYS[4]) or '', stampAt(v), stampAt(since), ''}
if since >= v then return out end
local logv = tonumber(redis.call('GET', KEYS[6]) or '-1')
local floor = tonumber(redis.call('GET', KEYS[7]) or '0')
local limit = tonumber(ARGV[2])
if logv ~= v or since < floor or (limit > 0 and redis.call('ZCOUNT', KEYS[5], '(' .. since, '+inf') > limit) then
  out[5] = 'full'
  return out
end
out[5] = 'log'
if limit == 0 then return out end
for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '(' .. since, '+inf')) do
  out[#out + 1] = k
  out[#out + 1] = redis.call('HGET', KEYS[1], k) or ''
end
return out
`)

func newEpoch() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Revoke stores r (see [entra.Revocation.Complete] for its checks and
// defaults) and announces it; it returns the entry as stored, merged with
// an entry of the same key (as [entra.RevocationList.Revoke] does).
func (s *Store) Revoke(ctx context.Context, r entra.Revocation) (entra.Revocation, error) {
	out, _, err := s.revoke(ctx, r)
	return out, err
}

// revoke is Revoke, which also returns the list's new version.
func (s *Store) revoke(ctx context.Context, r entra.Revocation) (entra.Revocation, int64, error) {
	r, err := r.Complete(s.now(), s.maxLifetime)
	if err != nil {
		return entra.Revocation{}, 0, err
	}
	return s.write(ctx, r)
}

func (s *Store) write(ctx context.Context, r entra.Revocation) (entra.Revocation, int64, error) {
	b, err := json.Marshal(toWire(r))
	if err != nil {
		return entra.Revocation{}, 0, err
	}
	res, err := revokeScript.Run(ctx, s.c, s.keys, r.Key(), string(b), s.channel, s.now().Unix(), newEpoch(), r.Expires.Unix(), newEpoch()).Slice()
	if err != nil {
		return entra.Revocation{}, 0, fmt.Errorf("entraredis: revoke: %w", err)
	}
	v, _ := res[0].(int64)
	stored, _ := res[1].(string)
	out, err := decodeEntry(stored)
	if err != nil {
		return entra.Revocation{}, 0, fmt.Errorf("entraredis: revoke: stored entry unreadable: %w", err)
	}
	return out, v, nil
}

// Lift removes the entry with r's key (Kind and identifiers; see
// [entra.Revocation.Key], which lowercases them) and reports whether there
// was one.
func (s *Store) Lift(ctx context.Context, r entra.Revocation) (bool, error) {
	return s.LiftKey(ctx, r.Key())
}

// LiftKey removes the entry with this key (see [entra.Revocation.Key]) and
// reports whether there was one. As [entra.RevocationList.LiftKey] does,
// it matches the identifiers of a user, app or tenant key ignoring case.
func (s *Store) LiftKey(ctx context.Context, key string) (bool, error) {
	if kind, rest, ok := strings.Cut(key, ":"); ok && kind != string(entra.RevocationToken) {
		key = kind + ":" + strings.ToLower(rest)
	}
	res, err := liftScript.Run(ctx, s.c, s.keys, key, s.channel, newEpoch(), newEpoch()).Int64Slice()
	if err != nil {
		return false, fmt.Errorf("entraredis: lift: %w", err)
	}
	return res[0] == 1, nil
}

// head identifies one state of the list: its version, its epoch, and the
// version's stamp.
type head struct {
	version      int64
	epoch, stamp string
}

// scan calls fn with every stored entry, in batches (HSCAN): it never asks
// Redis for the whole list in one reply. Unreadable entries are counted and
// skipped.
func (s *Store) scan(ctx context.Context, fn func(entra.Revocation)) (bad int, err error) {
	var cursor uint64
	for {
		kv, next, err := s.c.HScan(ctx, s.keys[0], cursor, "*", 2000).Result()
		if err != nil {
			return bad, err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			r, err := decodeEntry(kv[i+1])
			if err != nil {
				bad++
				continue
			}
			fn(r)
		}
		if cursor = next; cursor == 0 {
			return bad, nil
		}
	}
}

// List returns the stored entries that have not expired, as Redis holds
// them (not a mirror's copy), in no particular order.
func (s *Store) List(ctx context.Context) ([]entra.Revocation, error) {
	now := s.now()
	var out []entra.Revocation
	if _, err := s.scan(ctx, func(r entra.Revocation) {
		if r.Expires.After(now) {
			out = append(out, r)
		}
	}); err != nil {
		return nil, fmt.Errorf("entraredis: list: %w", err)
	}
	return out, nil
}

// Purge removes every expired entry from Redis and returns how many.
// Writes purge a few each; mirrors ignore expired entries whatever Redis
// holds. Purge needs no announcement: an expired entry matches nothing.
func (s *Store) Purge(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := purgeScript.Run(ctx, s.c, s.keys, s.now().Unix()).Int()
		if err != nil {
			return total, fmt.Errorf("entraredis: purge: %w", err)
		}
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}

var purgeScript = redis.NewScript(`
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, k in ipairs(dead) do
  redis.call('HDEL', KEYS[1], k)
  redis.call('ZREM', KEYS[2], k)
end
return #dead
`)

// RevokeToken revokes one token by its uti (or jti) until expires (zero:
// now plus the maximum token lifetime).
func (s *Store) RevokeToken(ctx context.Context, tokenID, reason string, expires time.Time) (entra.Revocation, error) {
	r, err := s.Revoke(ctx, entra.Revocation{Kind: entra.RevocationToken, TokenID: tokenID, Reason: reason, Expires: expires})
	return r, err
}

// RevokeUser revokes the tokens of principal objectID in tenant tenantID
// issued before issuedBefore (zero: now).
func (s *Store) RevokeUser(ctx context.Context, tenantID, objectID string, issuedBefore time.Time, reason string) (entra.Revocation, error) {
	r, err := s.Revoke(ctx, entra.Revocation{Kind: entra.RevocationUser, TenantID: tenantID, ObjectID: objectID, IssuedBefore: issuedBefore, Reason: reason})
	return r, err
}

// RevokeApp revokes the tokens issued to the calling application appID
// before issuedBefore (zero: now), in every tenant, and the Agent ID tokens
// whose blueprint (xms_par_app_azp) is appID.
func (s *Store) RevokeApp(ctx context.Context, appID string, issuedBefore time.Time, reason string) (entra.Revocation, error) {
	r, err := s.Revoke(ctx, entra.Revocation{Kind: entra.RevocationApp, AppID: appID, IssuedBefore: issuedBefore, Reason: reason})
	return r, err
}

// RevokeTenant revokes the tokens of tenant tenantID issued before
// issuedBefore (zero: now).
func (s *Store) RevokeTenant(ctx context.Context, tenantID string, issuedBefore time.Time, reason string) (entra.Revocation, error) {
	r, err := s.Revoke(ctx, entra.Revocation{Kind: entra.RevocationTenant, TenantID: tenantID, IssuedBefore: issuedBefore, Reason: reason})
	return r, err
}

// fastWire reads the common shape of a stored entry — a flat object of
// strings without escapes and of integers, as json.Marshal and cjson write
// it — without reflection (a resync reads every entry). Anything else is
// left to encoding/json (ok false).
func fastWire(v string) (w wire, ok bool) {
	i := 0
	skip := func() {
		for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(v) || v[i] != '"' {
			return "", false
		}
		j := strings.IndexByte(v[i+1:], '"')
		if j < 0 {
			return "", false
		}
		out := v[i+1 : i+1+j]
		if strings.IndexByte(out, '\\') >= 0 {
			return "", false
		}
		i += j + 2
		return out, true
	}
	num := func() (int64, bool) {
		start := i
		var n int64
		for i < len(v) && v[i] >= '0' && v[i] <= '9' && i-start < 18 {
			n = n*10 + int64(v[i]-'0')
			i++
		}
		return n, i > start && (i == len(v) || v[i] == ',' || v[i] == '}' || v[i] == ' ')
	}
	skip()
	if i >= len(v) || v[i] != '{' {
		return wire{}, false
	}
	i++
	seen := 0
	for {
		skip()
		if i < len(v) && v[i] == '}' && seen == 0 {
			i++
			break
		}
		name, ok := str()
		if !ok {
			return wire{}, false
		}
		skip()
		if i >= len(v) || v[i] != ':' {
			return wire{}, false
		}
		i++
		skip()
		var sv string
		var nv int64
		switch name {
		case "kind", "token", "tid", "oid", "app", "reason":
			if sv, ok = str(); !ok {
				return wire{}, false
			}
		case "before", "expires":
			if nv, ok = num(); !ok {
				return wire{}, false
			}
		default:
			return wire{}, false
		}
		bit := 0
		// Cloned: a substring would keep the whole reply buffer alive.
		sv = strings.Clone(sv)
		switch name {
		case "kind":
			w.Kind, bit = kindOf(sv), 1
		case "token":
			w.Token, bit = sv, 2
		case "tid":
			w.TID, bit = sv, 4
		case "oid":
			w.OID, bit = sv, 8
		case "app":
			w.App, bit = sv, 16
		case "reason":
			w.Reason, bit = sv, 32
		case "before":
			w.Before, bit = nv, 64
		case "expires":
			w.Expires, bit = nv, 128
		}
		if seen&bit != 0 {
			return wire{}, false // a duplicate: let encoding/json decide
		}
		seen |= bit
		skip()
		if i < len(v) && v[i] == ',' {
			i++
			continue
		}
		if i < len(v) && v[i] == '}' {
			i++
			break
		}
		return wire{}, false
	}
	skip()
	return w, i == len(v)
}

// kindOf returns the constant for a kind, so entries share its bytes.
func kindOf(s string) entra.RevocationKind {
	for _, k := range [...]entra.RevocationKind{entra.RevocationToken, entra.RevocationUser, entra.RevocationApp, entra.RevocationTenant} {
		if string(k) == s {
			return k
		}
	}
	return entra.RevocationKind(s)
}
