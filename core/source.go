package entra

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Backoff of background retries after a failed refresh.
const (
	minBackoff    = time.Second
	maxBackoff    = time.Minute
	maxRetryAfter = 10 * time.Minute
)

// snapshot is everything learned from the authority in one refresh. It is
// never modified once published; the request path reads it without locks.
type snapshot struct {
	keys         map[string]*verifyKey
	list         []Key
	issuers      []issuer
	jwksURL      string
	authorizeURL string
	cloud        string // the metadata's cloud_instance_name, or ""
	gen          uint64 // changes whenever the key material or the issuers change
}

// source keeps the current snapshot fresh: a background refresh every
// RefreshInterval, retries with capped exponential backoff after failures,
// and rate-limited refreshes for unknown kids. At most one fetch runs at a
// time, however many requests wait for it.
type source struct {
	s        *settings
	cur      atomic.Pointer[snapshot]
	sf       singleflight.Group
	onChange func() // called after the key material changed

	mu             sync.Mutex
	closed         bool
	fetching       bool
	flight         string // singleflight key of the fetch in flight
	seq            uint64
	lastKidRefresh time.Time     // last refresh triggered by an unknown kid
	nextRetry      time.Time     // next background attempt after a failure
	askedWait      time.Duration // the authority's last Retry-After
	lastErr        error
	loaded         chan struct{} // closed at the first successful load
	meta           metaState     // touched only by load
	kick           chan struct{} // a refresh outside the loop kept last good metadata
	cause          RefreshCause  // of the fetch in flight, for the observer

	metaTime            atomic.Int64 // when metadata was last fetched (UnixNano)
	okTime              atomic.Int64 // when keys were last loaded (UnixNano)
	refreshes, failures atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newSource(s *settings, onChange func()) *source {
	ctx, cancel := context.WithCancel(context.Background())
	src := &source{s: s, onChange: onChange, loaded: make(chan struct{}), kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
	// The first fetch starts before NewValidator returns, so requests that
	// arrive at once join it instead of failing.
	first, _ := src.start(refreshScheduled)
	src.wg.Add(1)
	go src.run(first)
	return src
}

// close stops the background refresh and waits for fetches to end.
func (src *source) close() {
	src.mu.Lock()
	src.closed = true
	src.mu.Unlock()
	src.cancel()
	src.wg.Wait()
}

func (src *source) run(ch <-chan singleflight.Result) {
	defer src.wg.Done()
	backoff := minBackoff
	for {
		var wait time.Duration
		if ch == nil {
			var ok bool
			if ch, ok = src.start(refreshScheduled); !ok {
				return
			}
		}
		var res singleflight.Result
		select {
		case res = <-ch:
		case <-src.ctx.Done():
			return
		}
		ch = nil
		select {
		case <-src.kick: // from this loop's own refresh: its wait is below
		default:
		}
		if res.Err != nil {
			// Jitter spreads the retries of many replicas. An authority
			// that asks for more time (429 or 503 with Retry-After) gets
			// it, up to maxRetryAfter.
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, maxBackoff)
			var fe *fetchError
			if errors.As(res.Err, &fe) && fe.retryAfter > wait {
				wait = min(fe.retryAfter, maxRetryAfter)
			}
		} else if src.degraded() {
			// Last known good metadata is serving: retry soon, with backoff.
			wait = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, maxBackoff)
		} else {
			backoff = minBackoff
			wait = src.s.refresh
		}
		src.mu.Lock()
		if res.Err != nil {
			src.nextRetry = time.Now().Add(wait)
		}
		src.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-src.kick:
			// An on-demand refresh kept last known good metadata: the
			// loop takes over its retries, with backoff.
			t.Stop()
		case <-src.ctx.Done():
			t.Stop()
			return
		}
	}
}

type refreshReason int

const (
	refreshScheduled refreshReason = iota
	refreshUnknownKid
	refreshCold
)

// start joins the fetch in flight, or starts one when reason allows it now.
// It never waits: ok is false when no fetch runs and none may start.
func (src *source) start(reason refreshReason) (<-chan singleflight.Result, bool) {
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.closed {
		return nil, false
	}
	if !src.fetching {
		switch reason {
		case refreshUnknownKid:
			now := time.Now()
			if !src.lastKidRefresh.IsZero() && now.Sub(src.lastKidRefresh) < src.s.minRefresh {
				return nil, false
			}
			src.lastKidRefresh = now
		case refreshCold:
			// Cold requests only join fetches: the background loop retries
			// on its own schedule, so an outage costs no extra fetches.
			return nil, false
		}
		// A fresh key per fetch: singleflight then always runs load for a
		// new fetch, and joiners always find the fetch in flight.
		src.seq++
		src.flight = strconv.FormatUint(src.seq, 10)
		src.fetching = true
		src.cause = RefreshScheduled
		if reason == refreshUnknownKid {
			src.cause = RefreshUnknownKey
		}
		src.wg.Add(1)
	}
	return src.sf.DoChan(src.flight, src.load), true
}

// wait waits for a fetch started or joined by start, bounded by ctx.
func (src *source) wait(ctx context.Context, ch <-chan singleflight.Result) error {
	select {
	case res := <-ch:
		return res.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// load fetches metadata and keys and publishes a new snapshot. It runs on
// singleflight's goroutine, accounted in wg by start.
func (src *source) load() (any, error) {
	defer src.wg.Done()
	began, before := time.Now(), src.cur.Load()
	snap, err := src.fetchSnapshot()
	if obs := src.s.observer; obs != nil {
		src.mu.Lock()
		cause := src.cause // fixed while this fetch is in flight
		src.mu.Unlock()
		defer func() { src.observe(obs, cause, before, began, err) }()
	}
	src.refreshes.Add(1)
	if err != nil {
		src.failures.Add(1)
	} else {
		src.okTime.Store(time.Now().UnixNano())
	}
	src.mu.Lock()
	src.fetching = false
	recovered := err == nil && src.lastErr != nil
	if err != nil {
		src.lastErr = err
		src.askedWait = 0
		var fe *fetchError
		if errors.As(err, &fe) {
			src.askedWait = min(fe.retryAfter, maxRetryAfter)
		}
	} else {
		// A refresh that kept last known good metadata still reports why.
		src.lastErr = src.meta.err
		src.nextRetry = time.Time{}
		if src.lastErr != nil {
			select {
			case src.kick <- struct{}{}:
			default:
			}
		}
	}
	src.mu.Unlock()
	if err != nil {
		if src.cur.Load() == nil {
			src.s.logger.Warn("entra: fetching signing keys failed and none were ever loaded: every request is answered 503 until a fetch succeeds (retrying with backoff)", "error", err.Error())
		} else {
			src.s.logger.Warn("entra: refreshing signing keys failed; keeping the last good keys", "error", err.Error())
		}
		return nil, err
	}
	if recovered {
		src.s.logger.Info("entra: signing keys fetched again after a failure")
	}
	prev := src.cur.Load()
	changed := prev == nil || !sameKeys(prev.keys, snap.keys) || !sameIssuers(prev.issuers, snap.issuers)
	if prev != nil {
		snap.gen = prev.gen
		if changed {
			snap.gen++
		}
	}
	src.cur.Store(snap)
	if prev == nil {
		close(src.loaded)
	}
	if changed {
		src.s.logger.Info("entra: signing keys loaded", "keys", len(snap.keys))
		if prev != nil && src.onChange != nil {
			src.onChange()
		}
	}
	return snap, nil
}

func sameKeys(a, b map[string]*verifyKey) bool {
	if len(a) != len(b) {
		return false
	}
	for kid, ka := range a {
		kb, ok := b[kid]
		if !ok || ka.fp != kb.fp || ka.alg != kb.alg || ka.hasIssuer != kb.hasIssuer ||
			ka.issuerPre != kb.issuerPre || ka.issuerSuf != kb.issuerSuf {
			return false
		}
	}
	return true
}

func (src *source) fetchSnapshot() (*snapshot, error) {
	ctx := src.ctx
	prev := src.cur.Load()
	snap := &snapshot{}
	if prev != nil && time.Since(prevMetadataTime(src)) < src.s.refresh {
		// Between scheduled refreshes only keys change.
		snap.issuers, snap.jwksURL, snap.authorizeURL, snap.cloud = prev.issuers, prev.jwksURL, prev.authorizeURL, prev.cloud
		src.meta.err = nil
	} else {
		meta, fresh, err := src.fetchMetadata(ctx, prev)
		if err != nil {
			return nil, err
		}
		snap.issuers, snap.jwksURL, snap.authorizeURL, snap.cloud = meta.issuers, meta.jwksURL, meta.authorizeURL, meta.cloud
		if fresh {
			src.metaTime.Store(time.Now().UnixNano())
		}
	}
	body, err := fetch(ctx, src.s, snap.jwksURL)
	if err != nil {
		return nil, err
	}
	keys, list, err := parseJWKS(body, src.s.logger)
	if err != nil {
		return nil, &fetchError{url: snap.jwksURL, err: err}
	}
	keys, list = filterCloudKeys(src.s, keys, list, snap.cloud, snap.issuers[0].display)
	if len(keys) == 0 {
		return nil, &fetchError{url: snap.jwksURL, err: errors.New("key set has no signing key of this cloud")}
	}
	snap.keys, snap.list = keys, list
	return snap, nil
}

// keysUnavailable is the error of a validator that has no keys.
func (src *source) keysUnavailable() *Error {
	src.mu.Lock()
	cause, next, asked := src.lastErr, src.nextRetry, src.askedWait
	src.mu.Unlock()
	retry := max(time.Until(next), asked)
	if retry < time.Second {
		retry = time.Second
	}
	desc := "the signing keys of the token issuer could not be loaded yet; retry later"
	return &Error{Code: CodeKeysUnavailable, Description: desc, Err: cause, RetryAfter: retry.Round(time.Second)}
}

// snapshot returns the current snapshot, waiting (bounded by ctx) for a
// fetch in flight when none was loaded yet.
func (src *source) snapshot(ctx context.Context) (*snapshot, error) {
	if snap := src.cur.Load(); snap != nil {
		return snap, nil
	}
	if ch, ok := src.start(refreshCold); ok {
		if err := src.wait(ctx, ch); err != nil && ctx.Err() != nil {
			e := src.keysUnavailable()
			e.Err = ctx.Err()
			return nil, e
		}
	}
	if snap := src.cur.Load(); snap != nil {
		return snap, nil
	}
	return nil, src.keysUnavailable()
}

// refreshForKid refreshes for a token whose kid is not known, if the rate
// limit allows or a fetch is in flight, and returns the snapshot to use.
func (src *source) refreshForKid(ctx context.Context, snap *snapshot) *snapshot {
	ch, ok := src.start(refreshUnknownKid)
	if !ok {
		return snap
	}
	_ = src.wait(ctx, ch)
	if s := src.cur.Load(); s != nil {
		return s
	}
	return snap
}

// ready waits until keys are loaded or ctx ends.
func (src *source) ready(ctx context.Context) error {
	select {
	case <-src.loaded:
		return nil
	default:
	}
	select {
	case <-src.loaded:
		return nil
	case <-ctx.Done():
		e := src.keysUnavailable()
		if e.Err == nil {
			e.Err = ctx.Err()
		}
		return e
	}
}

// degraded reports whether the last refresh kept last known good metadata.
func (src *source) degraded() bool {
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.lastErr != nil
}

func prevMetadataTime(src *source) time.Time {
	return time.Unix(0, src.metaTime.Load())
}
