package entraredis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"github.com/redis/go-redis/v9"
)

// WhenStale is what a [Mirror] does once it has not confirmed that it
// holds Redis' list for longer than [Options.StaleAfter].
type WhenStale int

const (
	// ServeStale keeps checking tokens against the last synced list and
	// reports not ready ([Mirror.Ready] fails), so that a load balancer or
	// orchestrator drains this replica while others are healthy. The
	// default: a Redis outage does not become an API outage, and nothing
	// revoked before the outage is forgotten; what is missed is what was
	// revoked during it, on this replica, until it heals.
	ServeStale WhenStale = iota
	// RefuseStale answers every request 503 (Code
	// [entra.CodeRevocationsUnavailable], with Retry-After) while stale:
	// nothing that might be revoked passes, at the cost of availability.
	RefuseStale
)

// String returns "serve" or "refuse", as logs and Stats show the choice.
func (w WhenStale) String() string {
	if w == RefuseStale {
		return "refuse"
	}
	return "serve"
}

// Defaults of [Options].
const (
	DefaultPollInterval   = time.Second
	DefaultStaleAfter     = 30 * time.Second
	DefaultResyncInterval = 5 * time.Minute
)

// Options configure a [Mirror]. The zero value is valid.
type Options struct {
	// Prefix, MaxTokenLifetime: see [StoreOptions].
	Prefix           string
	MaxTokenLifetime time.Duration

	// PollInterval is how often the mirror asks Redis for the list's
	// version (one small script): a change it missed is found, and the
	// mirror is confirmed fresh, within an interval. Changes normally
	// arrive sooner, by pub/sub. Optional. Default: 1s.
	PollInterval time.Duration

	// StaleAfter is the staleness bound: past it without a confirmed sync
	// the mirror is stale and WhenStale applies. It must exceed
	// PollInterval. Optional. Default: 30s.
	StaleAfter time.Duration

	// WhenStale chooses the behaviour when stale. Optional. Default:
	// [ServeStale] (keep serving, report not ready).
	WhenStale WhenStale

	// ResyncInterval is how often the whole list is read again even when
	// nothing seems to have changed. Optional. Default: 5 minutes.
	ResyncInterval time.Duration

	// Logger receives sync failures, staleness and recovery. Identifiers
	// of revoked principals are never logged. Optional. Default: none.
	Logger *slog.Logger

	// Now is the clock for expiry and staleness (tests). Optional. Default: time.Now.
	Now func() time.Time
}

// Mirror is one replica's copy of a [Store]'s list. It implements
// [entra.Revocations] — set it as Config.Revocations — and answers from
// memory ([entra.RevocationList]), never touching the network per request.
//
// It follows Redis by reading what changed since the version it holds (the
// store's change log: one small script) whenever a pub/sub message arrives
// and every PollInterval, and reads the whole list on start, when the log
// cannot say what changed, when Redis' epoch changes, and every
// ResyncInterval. A message is only a hint to read: nothing its sender
// writes is applied, so a client that may publish on the channel cannot
// add, lift or reorder an entry, and a flood of messages costs at most one
// read in flight and a bounded rate of reads that find nothing (a burst of
// 20, then one per 5ms), never a full resync.
//
// Nothing revoked is forgotten while one replica remembers it: when Redis
// comes back empty (restarted without persistence, failed over to an empty
// replica), or behind the version a mirror holds (failed over to a replica
// that lacked the latest writes), or with another history under the same
// version, every mirror writes back the entries it holds before it reads
// the list again; a regression is logged and counted ([Stats.Regressions]).
//
// Before the first sync, and whenever a sync has not been confirmed for
// StaleAfter, the mirror is stale: [Mirror.Ready] fails, [Mirror.Stats]
// says so, the Logger is told, and WhenStale applies.
type Mirror struct {
	*Store
	list  *entra.RevocationList
	o     Options
	log   *slog.Logger
	stale atomic.Bool

	lastSync atomic.Int64 // UnixNano of the last confirmed sync; 0: never
	unavail  *entra.Error

	mu      sync.Mutex // guards the fields below
	version int64
	epoch   string
	stamp   string // the stamp of version ("" if Redis kept none)
	lastErr error
	st      counters
	ps      *redis.PubSub

	kick   chan struct{} // asks the poller for a resync
	hint   chan struct{} // asks the poller to read what changed (a message arrived)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
}

type counters struct {
	resyncs, resyncFailures, polls, pollFailures, events, gaps, reseeded, staleTransitions, regressions uint64
	lastResync                                                                                          time.Duration
}

// New starts a mirror of the list in Redis at client (any
// redis.UniversalClient: single node, Sentinel, Cluster). It returns at
// once; the first sync runs in the background (wait for it with
// [Mirror.Ready]). Close stops it; the client stays open (it is the
// caller's).
func New(client redis.UniversalClient, o Options) (*Mirror, error) {
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.ResyncInterval == 0 {
		o.ResyncInterval = DefaultResyncInterval
	}
	switch {
	case o.PollInterval < 0 || o.StaleAfter < 0 || o.ResyncInterval < 0:
		return nil, errors.New("entraredis: Options durations must not be negative")
	case o.StaleAfter <= o.PollInterval:
		return nil, fmt.Errorf("entraredis: Options.StaleAfter %v must exceed PollInterval %v", o.StaleAfter, o.PollInterval)
	case o.WhenStale != ServeStale && o.WhenStale != RefuseStale:
		return nil, fmt.Errorf("entraredis: Options.WhenStale %d is neither ServeStale nor RefuseStale", o.WhenStale)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s, err := NewStore(client, StoreOptions{Prefix: o.Prefix, MaxTokenLifetime: o.MaxTokenLifetime, Now: o.Now})
	if err != nil {
		return nil, err
	}
	m := &Mirror{
		Store: s,
		list:  entra.NewRevocationList(entra.RevocationListOptions{MaxTokenLifetime: s.maxLifetime, Now: o.Now}),
		o:     o,
		log:   o.Logger,
		kick:  make(chan struct{}, 1),
		hint:  make(chan struct{}, 1),
		unavail: &entra.Error{Code: entra.CodeRevocationsUnavailable,
			Description: "the revocation list is out of date on this server: retry shortly",
			RetryAfter:  max(o.PollInterval, time.Second)},
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.stale.Store(true)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.wg.Add(3)
	go m.subscribeLoop()
	go m.pollLoop()
	go m.watchdog()
	return m, nil
}

// Revoked implements [entra.Revocations]: the local list's verdict, or,
// while stale with [RefuseStale], [entra.CodeRevocationsUnavailable].
func (m *Mirror) Revoked(c *entra.Claims, now time.Time) error {
	if m.stale.Load() && m.o.WhenStale == RefuseStale {
		return m.unavail
	}
	return m.list.Revoked(c, now)
}

// Local is the in-memory list the mirror answers from. Change the list
// through the mirror or its Store, never here: a local change is undone by
// the next resync.
func (m *Mirror) Local() *entra.RevocationList { return m.list }

// Revoke stores r in Redis (see [Store.Revoke]) and applies it to this
// mirror at once, so this replica refuses before the announcement is back.
func (m *Mirror) Revoke(ctx context.Context, r entra.Revocation) (entra.Revocation, error) {
	out, err := m.Store.Revoke(ctx, r)
	if err != nil {
		return entra.Revocation{}, err
	}
	_, _ = m.list.Revoke(out)
	return out, nil
}

// Lift removes r's entry from Redis and from this mirror.
func (m *Mirror) Lift(ctx context.Context, r entra.Revocation) (bool, error) {
	ok, err := m.Store.Lift(ctx, r)
	if err == nil && ok {
		m.list.Lift(r)
	}
	return ok, err
}

// RevokeToken, RevokeUser, RevokeApp and RevokeTenant are [Store]'s,
// applied to this mirror at once as [Mirror.Revoke] does.
func (m *Mirror) RevokeToken(ctx context.Context, tokenID, reason string, expires time.Time) (entra.Revocation, error) {
	return m.Revoke(ctx, entra.Revocation{Kind: entra.RevocationToken, TokenID: tokenID, Reason: reason, Expires: expires})
}

// RevokeUser: see [Mirror.RevokeToken].
func (m *Mirror) RevokeUser(ctx context.Context, tenantID, objectID string, issuedBefore time.Time, reason string) (entra.Revocation, error) {
	return m.Revoke(ctx, entra.Revocation{Kind: entra.RevocationUser, TenantID: tenantID, ObjectID: objectID, IssuedBefore: issuedBefore, Reason: reason})
}

// RevokeApp: see [Mirror.RevokeToken].
func (m *Mirror) RevokeApp(ctx context.Context, appID string, issuedBefore time.Time, reason string) (entra.Revocation, error) {
	return m.Revoke(ctx, entra.Revocation{Kind: entra.RevocationApp, AppID: appID, IssuedBefore: issuedBefore, Reason: reason})
}

// RevokeTenant: see [Mirror.RevokeToken].
func (m *Mirror) RevokeTenant(ctx context.Context, tenantID string, issuedBefore time.Time, reason string) (entra.Revocation, error) {
	return m.Revoke(ctx, entra.Revocation{Kind: entra.RevocationTenant, TenantID: tenantID, IssuedBefore: issuedBefore, Reason: reason})
}

// ErrStale is the cause of [Mirror.Ready]'s error while the mirror is stale.
var ErrStale = errors.New("entraredis: revocation mirror is stale")

// Ready waits until the mirror is fresh (synced with Redis: the first sync
// done, and none missed for StaleAfter since) and returns nil, or, when
// ctx is done first, returns an error wrapping [ErrStale] and ctx's error
// that says since when and why, as [entra.Validator.Ready] does for keys.
// At start-up, pass a context with the time to wait for the first sync. A
// readiness probe, which must not wait, passes a short or already
// expired context, so that a stale replica is drained:
//
//	ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
//	defer cancel()
//	if err := mirror.Ready(ctx); err != nil { ... 503 ... }
func (m *Mirror) Ready(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for m.stale.Load() {
		select {
		case <-ctx.Done():
			if !m.stale.Load() {
				return nil
			}
			return fmt.Errorf("%w (%w)", m.staleError(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// staleError says since when and why the mirror is stale.
func (m *Mirror) staleError() error {
	m.mu.Lock()
	cause := m.lastErr
	m.mu.Unlock()
	last := m.lastSync.Load()
	switch {
	case last == 0 && cause == nil:
		return fmt.Errorf("%w: not synced yet", ErrStale)
	case last == 0:
		return fmt.Errorf("%w: never synced: %w", ErrStale, cause)
	case cause == nil:
		return fmt.Errorf("%w: last synced %s", ErrStale, time.Unix(0, last).UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: last synced %s: %w", ErrStale, time.Unix(0, last).UTC().Format(time.RFC3339), cause)
}

// Stats describe a mirror, for metrics and health checks.
type Stats struct {
	// Entries is the number of entries in the local list.
	Entries int
	// Version and Epoch are the Redis list's as last synced.
	Version int64
	Epoch   string
	// LastSync is when the mirror last confirmed it holds Redis' list.
	LastSync time.Time
	// Stale is true past StaleAfter without a confirmed sync (and before the
	// first); WhenStale says what that does.
	Stale     bool
	WhenStale WhenStale
	// StaleTransitions counts fresh→stale changes.
	StaleTransitions uint64
	// Resyncs and ResyncFailures count full reads of the list;
	// LastResyncDuration is the last one's.
	Resyncs, ResyncFailures uint64
	LastResyncDuration      time.Duration
	// Polls and PollFailures count reads of the version and change log,
	// from the timer or on a message.
	Polls, PollFailures uint64
	// Events counts pub/sub messages received: each is only a hint to read
	// Redis, whatever it says. Gaps counts reads that found changes the
	// change log could not list (too many, or written by a store without
	// one): each led to a full resync.
	Events, Gaps uint64
	// Reseeded counts entries written back to Redis: to a Redis that came
	// back empty or behind.
	Reseeded uint64
	// Regressions counts the times Redis' list was found behind the one
	// this mirror held (same epoch, lower version, or another history
	// under the same version: a failover to a replica that lacked the
	// latest writes). Each time the mirror kept its entries, wrote them
	// back, and read the list again; the Logger is told.
	Regressions uint64
	// LastError is the last sync error, nil once a sync succeeds.
	LastError error
}

// Stats returns current figures. It takes a lock briefly; do not call it per request.
func (m *Mirror) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Stats{
		Entries: m.list.Len(), Version: m.version, Epoch: m.epoch,
		Stale: m.stale.Load(), WhenStale: m.o.WhenStale, StaleTransitions: m.st.staleTransitions,
		Resyncs: m.st.resyncs, ResyncFailures: m.st.resyncFailures, LastResyncDuration: m.st.lastResync,
		Polls: m.st.polls, PollFailures: m.st.pollFailures, Events: m.st.events, Gaps: m.st.gaps,
		Reseeded: m.st.reseeded, Regressions: m.st.regressions, LastError: m.lastErr,
	}
	if ns := m.lastSync.Load(); ns != 0 {
		st.LastSync = time.Unix(0, ns)
	}
	return st
}

// Close stops the mirror: its subscription (its one connection of its
// own) is closed and its goroutines end before Close returns. Revoked keeps
// answering from the last list. The client is not closed. Close is idempotent.
func (m *Mirror) Close() error {
	if m.closed.Swap(true) {
		return nil
	}
	m.cancel()
	m.mu.Lock()
	ps := m.ps
	m.mu.Unlock()
	if ps != nil {
		_ = ps.Close()
	}
	m.wg.Wait()
	return nil
}

func (m *Mirror) requestResync() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// requestRead asks the poller to read what changed. Requests coalesce: one
// read runs at a time and at most one more waits.
func (m *Mirror) requestRead() {
	select {
	case m.hint <- struct{}{}:
	default:
	}
}

func (m *Mirror) confirm() {
	m.lastSync.Store(m.o.Now().UnixNano())
	m.updateStale()
}

// updateStale recomputes the stale flag and reports transitions.
func (m *Mirror) updateStale() {
	last := m.lastSync.Load()
	stale := last == 0 || m.o.Now().Sub(time.Unix(0, last)) > m.o.StaleAfter
	if was := m.stale.Swap(stale); was == stale {
		return
	}
	m.mu.Lock()
	cause := m.lastErr
	if stale {
		m.st.staleTransitions++
	}
	m.mu.Unlock()
	if stale {
		m.log.Error("entraredis: revocation mirror is stale: revocations made elsewhere may not be seen here",
			slog.String("when_stale", m.o.WhenStale.String()), slog.Duration("stale_after", m.o.StaleAfter), slog.Any("cause", cause))
	} else {
		m.log.Info("entraredis: revocation mirror is in sync", slog.Int("entries", m.list.Len()))
	}
}

// watchdog flips the stale flag from the clock alone: it never waits for
// the network, so a hung Redis cannot delay it.
func (m *Mirror) watchdog() {
	defer m.wg.Done()
	t := time.NewTicker(max(m.o.PollInterval/4, 5*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.updateStale()
		}
	}
}

// Bounds of the reads that messages trigger and that find nothing new (as
// forged or junk messages do): a burst of hintBurst, then one per hintEvery
// (a generic cell rate limit). A read that finds a change costs nothing, so
// real revocations are never delayed by it; reads of the timer are bounded
// by PollInterval instead.
const (
	hintBurst = 20
	hintEvery = 5 * time.Millisecond
)

// maxLogRead is the most changed keys one read takes from the change log;
// beyond that the mirror reads the whole list.
const maxLogRead = 5000

// pollLoop runs every read of the mirror, one at a time: a read of what
// changed every PollInterval and when a message asks, and the full
// resyncs asked for.
func (m *Mirror) pollLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.o.PollInterval)
	defer t.Stop()
	var lastFull time.Time
	tat := time.Now() // never zero: time.Until(zero) would saturate
	for {
		full, ping, hinted := false, false, false
		select {
		case <-m.ctx.Done():
			return
		case <-m.kick:
			full = true
		case <-m.hint:
			// Rate bound: tat is when the reads that found nothing, so far,
			// are paid for; a burst of hintBurst may run ahead of it.
			hinted = true
			if wait := time.Until(tat) - hintBurst*hintEvery; wait > 0 {
				select {
				case <-m.ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		case <-t.C:
			full = time.Since(lastFull) >= m.o.ResyncInterval
			ping = true
		}
		writeBack, changed := false, false
		if !full {
			full, writeBack, changed = m.catchUp(ping)
		}
		if hinted && !full && !changed {
			tat = later(tat, time.Now()).Add(hintEvery)
		}
		if full {
			if err := m.resync(writeBack); err != nil {
				m.mu.Lock()
				m.st.resyncFailures++
				m.lastErr = err
				m.mu.Unlock()
				if m.ctx.Err() == nil {
					m.log.Warn("entraredis: resync failed", slog.Any("err", err))
				}
				continue
			}
			lastFull = time.Now()
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// catchUp reads what changed in Redis since the version the mirror holds
// and applies it. It reports whether a full resync is needed, whether that
// resync must first write the local entries back (Redis is behind), and
// whether it applied a change.
func (m *Mirror) catchUp(ping bool) (full, writeBack, changed bool) {
	ctx, cancel := context.WithTimeout(m.ctx, m.o.StaleAfter)
	defer cancel()
	m.mu.Lock()
	ps, since, epoch, stamp := m.ps, m.version, m.epoch, m.stamp
	m.mu.Unlock()
	if epoch == "" {
		return true, false, false // never synced
	}
	if ping && ps != nil {
		_ = ps.Ping(ctx) // the pong keeps the subscription's read alive
	}
	c, err := m.readChanges(ctx, since, maxLogRead)
	m.mu.Lock()
	m.st.polls++
	if err != nil {
		m.st.pollFailures++
		m.lastErr = fmt.Errorf("entraredis: poll: %w", err)
		m.mu.Unlock()
		return false, false, false // nothing to resync from
	}
	m.mu.Unlock()
	switch {
	case c.epoch == "" || c.epoch != epoch:
		return true, false, false // a new or emptied Redis: resync writes back
	case c.lostHistory(since, stamp):
		return true, true, false // behind, or another history: data loss
	case c.status == "full":
		m.mu.Lock()
		m.st.gaps++
		m.mu.Unlock()
		return true, false, false
	}
	bad := 0
	for i := 0; i+1 < len(c.kv); i += 2 {
		key, val := c.kv[i], c.kv[i+1]
		if val == "" {
			m.list.LiftKey(key)
			continue
		}
		r, err := decodeEntry(val)
		if err == nil {
			_, err = m.list.Put(r)
		}
		if err != nil {
			// Redis holds it unreadable: as a full resync would, leave it out.
			m.list.LiftKey(key)
			bad++
		}
	}
	if bad > 0 {
		// Counts only: an invalid entry's message may quote its identifiers.
		m.log.Warn("entraredis: skipped unreadable or invalid entries", slog.Int("entries", bad))
	}
	m.mu.Lock()
	m.version, m.stamp = c.version, c.stamp
	m.lastErr = nil
	m.mu.Unlock()
	m.confirm()
	return false, false, c.version != since
}

// changes is a reply of changesScript.
type changes struct {
	head
	sinceStamp string   // the stamp Redis holds for the mirror's version
	status     string   // "", "log" or "full"
	kv         []string // changed keys and their entries ("" when gone)
}

// readChanges reads what changed since version since: at most limit keys
// (0: none, only the version, epoch, stamps and status).
func (m *Mirror) readChanges(ctx context.Context, since int64, limit int) (changes, error) {
	res, err := changesScript.Run(ctx, m.c, m.keys, since, limit).StringSlice()
	if err != nil {
		return changes{}, err
	}
	if len(res) < 5 || len(res)%2 == 0 {
		return changes{}, fmt.Errorf("unexpected reply of %d values", len(res))
	}
	v, err := strconv.ParseInt(res[0], 10, 64)
	if err != nil {
		return changes{}, fmt.Errorf("version %q is not a number", res[0])
	}
	return changes{head: head{version: v, epoch: res[1], stamp: res[2]}, sinceStamp: res[3], status: res[4], kv: res[5:]}, nil
}

// head reads the list's version, epoch ("" when Redis holds none: a new
// or emptied Redis) and the version's stamp ("" if none was kept).
func (m *Mirror) head(ctx context.Context) (head, error) {
	c, err := m.readChanges(ctx, 0, 0)
	return c.head, err
}

// lostHistory reports whether Redis no longer holds the list at the
// version since (whose stamp was stamp), in the same epoch: its version
// is lower, or its stamp of that version is another (a promoted replica
// that took other writes). A missing stamp is only evidence when the log
// covers the version (status not "full"): older stores kept none.
func (c changes) lostHistory(since int64, stamp string) bool {
	return c.version < since ||
		stamp != "" && c.sinceStamp != stamp && (c.sinceStamp != "" || c.status != "full")
}

// subscribeLoop keeps one subscription to the channel; every message, and
// every (re)subscription (messages sent while it was down are lost), asks
// for a read of what changed.
func (m *Mirror) subscribeLoop() {
	defer m.wg.Done()
	timeout := 3 * m.o.PollInterval
	for m.ctx.Err() == nil {
		ps := m.c.Subscribe(m.ctx, m.channel)
		m.mu.Lock()
		if m.ctx.Err() != nil {
			m.mu.Unlock()
			_ = ps.Close()
			return
		}
		m.ps = ps
		m.mu.Unlock()
		m.receive(ps, timeout)
		m.mu.Lock()
		m.ps = nil
		m.mu.Unlock()
		_ = ps.Close()
		if m.ctx.Err() == nil {
			// A short pause so that a Redis that refuses connections is
			// not hammered; the poller keeps trying meanwhile.
			select {
			case <-m.ctx.Done():
			case <-time.After(min(m.o.PollInterval, 500*time.Millisecond)):
			}
		}
	}
}

func (m *Mirror) receive(ps *redis.PubSub, timeout time.Duration) {
	for {
		msg, err := ps.ReceiveTimeout(m.ctx, timeout)
		if err != nil {
			// A timeout (no pong: a hung connection) or a broken connection:
			// start again on a new one.
			return
		}
		switch x := msg.(type) {
		case *redis.Subscription:
			if x.Kind == "subscribe" {
				m.requestRead() // what changed while unsubscribed
			}
		case *redis.Message:
			// A hint, never a fact: whoever may publish on the channel
			// (an ACL with +publish and no key rights) can send anything.
			// Only what the mirror reads from the keys is applied.
			m.mu.Lock()
			m.st.events++
			m.mu.Unlock()
			m.requestRead()
		}
	}
}

// resync reads the whole list and replaces the local one. If Redis lost
// the list (no epoch, or a new one) or is behind the mirror (same epoch,
// lower version, or another history: writeBack, or found here), the local
// entries are written back first.
func (m *Mirror) resync(writeBack bool) error {
	start := time.Now()
	ctx := m.ctx
	m.mu.Lock()
	known, knownV, knownStamp := m.epoch, m.version, m.stamp
	m.mu.Unlock()

	c, err := m.readChanges(ctx, knownV, 0)
	if err != nil {
		return fmt.Errorf("entraredis: resync: %w", err)
	}
	h := c.head
	lost := h.epoch == "" || (known != "" && h.epoch != known)
	// Whatever asked for this resync, check that Redis still holds the
	// history of the version this mirror has: Replace must never drop what
	// a lagging replica lost.
	behind := writeBack || (!lost && known != "" && c.lostHistory(knownV, knownStamp))
	if lost || behind {
		// A new or emptied Redis, one that replaced ours, or one that lost
		// the latest writes: give it what this replica knows (merged with
		// whatever others write back).
		n, err := m.reseed(ctx)
		if err != nil {
			return fmt.Errorf("entraredis: resync: writing back %d entries: %w", n, err)
		}
		switch {
		case behind:
			m.mu.Lock()
			m.st.regressions++
			m.mu.Unlock()
			m.log.Warn("entraredis: Redis' revocation list went back (a failover to a replica that lacked the latest writes?): wrote back the local entries",
				slog.Int64("held_version", knownV), slog.Int64("redis_version", h.version), slog.Int("entries", n))
		case n > 0:
			m.log.Warn("entraredis: Redis held another list (restarted without persistence?): wrote back the local entries", slog.Int("entries", n))
		}
		if h, err = m.head(ctx); err != nil {
			return fmt.Errorf("entraredis: resync: %w", err)
		}
	}
	var rs []entra.Revocation
	bad, err := m.Store.scan(ctx, func(r entra.Revocation) { rs = append(rs, r) })
	if err != nil {
		return fmt.Errorf("entraredis: resync: %w", err)
	}
	// Redis may have restarted (or failed over) under the scan, which then
	// read part of another list: check the epoch again before trusting it.
	if h2, err := m.head(ctx); err != nil || h2.epoch != h.epoch || h2.version < h.version {
		if err == nil {
			err = errors.New("the list was replaced during the scan")
		}
		m.requestResync()
		return fmt.Errorf("entraredis: resync: %w", err)
	}
	if err := m.list.Replace(rs); err != nil || bad > 0 {
		// Counts only: an invalid entry's message may quote its identifiers.
		m.log.Warn("entraredis: resync skipped unreadable or invalid entries", slog.Int("unreadable", bad), slog.Bool("invalid", err != nil))
	}
	m.mu.Lock()
	m.version, m.epoch, m.stamp = h.version, h.epoch, h.stamp
	m.st.resyncs++
	m.st.lastResync = time.Since(start)
	m.lastErr = nil
	m.mu.Unlock()
	m.confirm()
	// Changes made during the scan are read from the log.
	m.requestRead()
	return nil
}

// reseed writes every local entry back to Redis, in batches of one script
// each, announced once per batch.
func (m *Mirror) reseed(ctx context.Context) (int, error) {
	local := m.list.List()
	epoch := newEpoch()
	if len(local) == 0 {
		return 0, m.c.SetNX(ctx, m.keys[3], epoch, 0).Err()
	}
	n := 0
	for len(local) > 0 {
		batch := local[:min(len(local), 1000)]
		local = local[len(batch):]
		args := make([]any, 0, 4+3*len(batch))
		args = append(args, m.channel, m.o.Now().Unix(), epoch, newEpoch())
		for _, r := range batch {
			b, err := json.Marshal(toWire(r))
			if err != nil {
				return n, err
			}
			args = append(args, r.Key(), string(b), r.Expires.Unix())
		}
		if err := reseedScript.Run(ctx, m.c, m.keys, args...).Err(); err != nil {
			return n, err
		}
		n += len(batch)
	}
	m.mu.Lock()
	m.st.reseeded += uint64(n)
	m.mu.Unlock()
	return n, nil
}
