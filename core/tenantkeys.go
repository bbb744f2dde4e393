package entra

import (
	"container/list"
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/entraguard/entraguard/core/internal/guid"
)

// tenantFetchesPerWindow bounds the fetches, per MinRefreshInterval, of
// the key sets of tenants that no token has been accepted from yet and that
// no allow-list names: tokens with made-up tenant IDs cannot make the
// validator fetch more than this from the authority. Tenants named in
// AllowedTenants, and tenants a token was accepted from, are bounded by
// their own limit instead (one fetch per MinRefreshInterval each), so
// forged tokens, which use up this budget, cannot keep them out.
const tenantFetchesPerWindow = 10

// knownTenantsPerSet is how many tenants, per MaxTenantKeySets, a
// validator remembers as having had a token accepted (with Entra's shared
// keys, most tokens): their first fetch of a key set of their own is not
// charged to tenantFetchesPerWindow either.
const knownTenantsPerSet = 10

// tenantKeySets keeps the key sets of individual tenants for a multi-tenant
// validator, as Microsoft's rollover guidance asks ("discover and cache keys
// independently for each tenant"), refreshed on demand.
//
// Tenants are kept in two bounded LRU lists. proven holds the tenants that
// a token signed with their own key was accepted from: only a token Entra
// signed gets a tenant there, so forged tokens cannot displace one. trying
// holds the others (fetched or being fetched, or whose fetch failed, which
// also holds the per-tenant rate limit): made-up tenant IDs only ever
// displace each other there.
type tenantKeySets struct {
	s        *settings
	onChange func() // called when a tenant's keys changed

	mu          sync.Mutex
	closed      bool
	byTenant    map[string]*list.Element // of *tenantSet, in proven or trying
	proven      list.List                // front: most recently used
	trying      list.List                // front: most recently used
	windowStart time.Time
	windowNew   int // fetches charged to tenantFetchesPerWindow in the window

	// known holds the tenants a token was accepted from (tid → struct{}),
	// read without locks on the request path; knownOrder is their order of
	// arrival, the oldest forgotten first beyond the bound. Guarded by mu.
	known      sync.Map
	knownOrder list.List

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// tenantSet is one tenant's key set. Its fields are guarded by
// tenantKeySets.mu; keys is replaced, never modified.
type tenantSet struct {
	tid       string
	keys      map[string]*verifyKey
	fetchedAt time.Time     // last successful fetch
	tried     time.Time     // last fetch started (the rate limit)
	done      chan struct{} // non-nil while a fetch is in flight
	proven    bool          // a token signed with one of keys was accepted: in proven
}

func newTenantKeySets(s *settings, onChange func()) *tenantKeySets {
	ctx, cancel := context.WithCancel(context.Background())
	return &tenantKeySets{s: s, onChange: onChange, byTenant: map[string]*list.Element{}, ctx: ctx, cancel: cancel}
}

// close stops fetches and waits for those in flight.
func (tk *tenantKeySets) close() {
	tk.mu.Lock()
	tk.closed = true
	tk.mu.Unlock()
	tk.cancel()
	tk.wg.Wait()
}

// len returns how many tenants' key sets are kept.
func (tk *tenantKeySets) len() int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	n := tk.proven.Len()
	for el := tk.trying.Front(); el != nil; el = el.Next() {
		if el.Value.(*tenantSet).keys != nil {
			n++
		}
	}
	return n
}

// seen records that a token of tenant tid, signed with a shared key, was
// accepted: the tenant is real, so a key set of its own, should it get one,
// is fetched within the per-tenant limit only. Cheap when tid is already
// known: one lock-free lookup.
func (tk *tenantKeySets) seen(tid string) {
	if _, ok := tk.known.Load(tid); ok {
		return
	}
	tid = strings.ToLower(tid)
	if _, ok := tk.known.Load(tid); ok {
		return
	}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.rememberLocked(tid)
}

// rememberLocked adds tid to the known tenants. tk.mu must be held.
func (tk *tenantKeySets) rememberLocked(tid string) {
	if _, loaded := tk.known.LoadOrStore(tid, struct{}{}); loaded {
		return
	}
	tk.knownOrder.PushBack(tid)
	for tk.knownOrder.Len() > knownTenantsPerSet*tk.s.maxTenantSets {
		tk.known.Delete(tk.knownOrder.Remove(tk.knownOrder.Front()))
	}
}

// isKnown reports whether a token of tenant tid (lower case) was accepted.
func (tk *tenantKeySets) isKnown(tid string) bool {
	_, ok := tk.known.Load(tid)
	return ok
}

// accepted records that a token of tenant tid, signed with a key of the
// tenant's own set, was accepted: the tenant moves to the proven list,
// where only other proven tenants can displace it, and its fetches are no
// longer charged to tenantFetchesPerWindow.
func (tk *tenantKeySets) accepted(tid string) {
	tid = strings.ToLower(tid)
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.rememberLocked(tid)
	el, ok := tk.byTenant[tid]
	if !ok {
		return
	}
	ts := el.Value.(*tenantSet)
	if ts.proven {
		return
	}
	tk.trying.Remove(el)
	ts.proven = true
	tk.byTenant[tid] = tk.proven.PushFront(ts)
	for tk.proven.Len() > tk.s.maxTenantSets {
		old := tk.proven.Back()
		delete(tk.byTenant, old.Value.(*tenantSet).tid)
		tk.proven.Remove(old)
	}
}

// tenantKey finds the key kid of a token whose kid is not in the shared key
// set, in the key set of the token's own tenant, fetching that set if the
// limits allow. The payload is not verified yet: it only decides which
// tenant's set to look in, and only tenants that pass the issuer and
// AllowedTenants checks are looked up. The token is then verified with the
// key and checked in full, the key's issuer property included.
func (v *Validator) tenantKey(ctx context.Context, snap *snapshot, kid, payload string, fetch bool) *verifyKey {
	if v.tk == nil {
		return nil
	}
	c, err := parseClaims(payload)
	if err != nil || !guid.Is(c.tenantID) {
		return nil
	}
	tid := strings.ToLower(c.tenantID)
	listed := v.s.allowedTenants != nil
	if listed {
		if _, ok := v.s.allowedTenants[tid]; !ok {
			return nil
		}
	}
	var template *issuer
	for i := range snap.issuers {
		is := &snap.issuers[i]
		if is.templated && is.match(c.issuer, c.tenantID) {
			template = is
			break
		}
	}
	if template == nil {
		return nil
	}
	// The tenant's own v2.0 metadata names the v2.0 issuer filled in.
	var v2 *issuer
	for i := range snap.issuers {
		if !snap.issuers[i].v1 && snap.issuers[i].templated {
			v2 = &snap.issuers[i]
			break
		}
	}
	if v2 == nil {
		return nil
	}
	return v.tk.key(ctx, tid, kid, v2.pre+tid+v2.suf, fetch, listed)
}

// key returns kid from tenant tid's key set. With fetch, a set that lacks
// it is fetched if the limits allow, waiting (bounded by ctx) for that
// fetch or for one in flight; it never waits for a limit. A set older than
// RefreshInterval is refreshed in the background. listed: tid is named in
// AllowedTenants.
func (tk *tenantKeySets) key(ctx context.Context, tid, kid, wantIssuer string, fetch, listed bool) *verifyKey {
	tk.mu.Lock()
	var ts *tenantSet
	if el, ok := tk.byTenant[tid]; ok {
		ts = el.Value.(*tenantSet)
		if ts.proven {
			tk.proven.MoveToFront(el)
		} else {
			tk.trying.MoveToFront(el)
		}
		if k := ts.keys[kid]; k != nil {
			if time.Since(ts.fetchedAt) >= tk.s.refresh {
				tk.startLocked(ts, wantIssuer, listed)
			}
			tk.mu.Unlock()
			return k
		}
	}
	if !fetch {
		tk.mu.Unlock()
		return nil
	}
	if ts == nil {
		ts = &tenantSet{tid: tid}
	}
	done := ts.done
	if done == nil {
		done = tk.startLocked(ts, wantIssuer, listed)
	}
	tk.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil
	}
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return ts.keys[kid]
}

// startLocked starts a fetch of ts if the limits allow, adding ts to the
// trying list if it is new, and returns the channel closed when it ends;
// nil when no fetch may start. Every tenant is fetched at most once per
// MinRefreshInterval; a tenant neither proven nor listed also needs a
// place in the window's tenantFetchesPerWindow, unless a token of it was
// accepted with a shared key (seen). tk.mu must be held.
func (tk *tenantKeySets) startLocked(ts *tenantSet, wantIssuer string, listed bool) chan struct{} {
	if tk.closed || ts.done != nil {
		return ts.done
	}
	now := time.Now()
	if !ts.tried.IsZero() && now.Sub(ts.tried) < tk.s.minRefresh {
		return nil
	}
	if !ts.proven && !listed && !tk.isKnown(ts.tid) {
		if now.Sub(tk.windowStart) >= tk.s.minRefresh {
			tk.windowStart, tk.windowNew = now, 0
		}
		if tk.windowNew >= tenantFetchesPerWindow {
			return nil
		}
		tk.windowNew++
	}
	ts.tried = now
	if _, ok := tk.byTenant[ts.tid]; !ok {
		tk.byTenant[ts.tid] = tk.trying.PushFront(ts)
		// Out goes the least recently used tenant that is not being
		// fetched; fetches in flight are few (bounded by the limits).
		for el := tk.trying.Back(); el != nil && tk.trying.Len() > tk.s.maxTenantSets; {
			prev := el.Prev()
			if old := el.Value.(*tenantSet); old.done == nil && old != ts {
				delete(tk.byTenant, old.tid)
				tk.trying.Remove(el)
			}
			el = prev
		}
	}
	done := make(chan struct{})
	ts.done = done
	tk.wg.Add(1)
	go func() {
		defer tk.wg.Done()
		keys, err := tk.fetch(ts.tid, wantIssuer)
		tk.mu.Lock()
		changed := false
		if err != nil {
			tk.s.logger.Warn("entra: fetching a tenant's signing keys failed; keeping its last good keys", "tenant", ts.tid, "error", err.Error())
		} else {
			changed = ts.keys != nil && !sameKeys(ts.keys, keys)
			if ts.keys == nil || changed {
				tk.s.logger.Info("entra: a tenant's signing keys loaded", "tenant", ts.tid, "keys", len(keys))
			}
			ts.keys, ts.fetchedAt = keys, time.Now()
		}
		ts.done = nil
		close(done)
		tk.mu.Unlock()
		if changed && tk.onChange != nil {
			tk.onChange()
		}
	}()
	return done
}

// fetch loads tenant tid's v2.0 metadata and key set. The metadata must
// name wantIssuer, the multi-tenant issuer filled with tid: a tenant's own
// keys are only ever those of its own issuer.
func (tk *tenantKeySets) fetch(tid, wantIssuer string) (map[string]*verifyKey, error) {
	metaURL := tk.s.authority.String() + tid + "/v2.0/.well-known/openid-configuration"
	body, err := fetch(tk.ctx, tk.s, metaURL)
	if err != nil {
		return nil, err
	}
	md, err := parseMetadata(body)
	if err != nil {
		return nil, &fetchError{url: metaURL, err: err}
	}
	if md.Issuer != wantIssuer {
		return nil, &fetchError{url: metaURL, err: errors.New("the tenant's metadata names another issuer than " + wantIssuer)}
	}
	jwksURL := md.JWKSURI
	if tk.s.appKeys {
		u, err := url.Parse(jwksURL)
		if err != nil {
			return nil, &fetchError{url: metaURL, err: err}
		}
		q := u.Query()
		q.Set("appid", tk.s.clientID)
		u.RawQuery = q.Encode()
		jwksURL = u.String()
	}
	body, err = fetch(tk.ctx, tk.s, jwksURL)
	if err != nil {
		return nil, err
	}
	keys, list, err := parseJWKS(body, tk.s.logger)
	if err != nil {
		return nil, &fetchError{url: jwksURL, err: err}
	}
	if keys, _ = filterCloudKeys(tk.s, keys, list, md.CloudInstanceName, md.Issuer); len(keys) == 0 {
		return nil, &fetchError{url: jwksURL, err: errors.New("key set has no signing key of this cloud")}
	}
	return keys, nil
}
