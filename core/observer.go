package entra

import (
	"context"
	"time"
)

// Observer receives what a [Validator] and its authenticators do, for
// metrics and tracing (the entraotel module implements it on
// OpenTelemetry). Set it in [Config.Observer]. Without one, nothing is
// computed or allocated for it: the request path pays one nil check.
//
// Events never carry a token, key material or a caller's identity (name,
// oid, email); ValidationEvent carries the token's tenant ID only after
// the token was verified, for observers that opt in to recording it.
//
// Methods are called synchronously on the request path (ObserveRefresh on
// the refresh goroutine); they must be safe for concurrent use and must not
// block.
type Observer interface {
	// ObserveValidation is called once for every [Validator.Validate] call
	// and for every request an authenticator found in the verified-token
	// cache without calling Validate.
	ObserveValidation(ctx context.Context, ev ValidationEvent)
	// ObserveRefusal is called once for every request an [Authenticator]
	// refuses (authentication or authorization, HTTP or RPC), after the
	// refusal's answer is built.
	ObserveRefusal(ctx context.Context, ev RefusalEvent)
	// ObserveRefresh is called after every attempt to load the authority's
	// metadata and keys.
	ObserveRefresh(ev RefreshEvent)
}

// NopObserver does nothing. Embed it in an observer of your own to
// implement only the methods you need: methods added to [Observer] later
// then keep your type compiling.
type NopObserver struct{}

// ObserveValidation implements [Observer].
func (NopObserver) ObserveValidation(context.Context, ValidationEvent) {}

// ObserveRefusal implements [Observer].
func (NopObserver) ObserveRefusal(context.Context, RefusalEvent) {}

// ObserveRefresh implements [Observer].
func (NopObserver) ObserveRefresh(RefreshEvent) {}

// CacheResult says how the verified-token cache took part in a validation.
type CacheResult uint8

// The cache results of a [ValidationEvent].
const (
	// CacheOff: the cache is disabled (Config.CacheSize < 0), or the token
	// was refused before the cache was consulted (empty or oversized).
	CacheOff CacheResult = iota
	// CacheHit: the token was found in the cache; no signature was checked.
	CacheHit
	// CacheMiss: the token was not in the cache and was validated in full.
	CacheMiss
)

// String returns "off", "hit" or "miss".
func (r CacheResult) String() string {
	switch r {
	case CacheHit:
		return "hit"
	case CacheMiss:
		return "miss"
	}
	return "off"
}

// ValidationEvent describes one validation.
type ValidationEvent struct {
	// Code is "" when the token was accepted, else the failure's Code.
	Code Code
	// Cache says whether the cache answered.
	Cache CacheResult
	// TenantID is the verified token's tid ("" on failure: a tenant read
	// from an unverified token is never reported).
	TenantID string
}

// RefusalEvent describes one refused request.
type RefusalEvent struct {
	// Code is the refusal's Code ("internal" for errors that are not *Error).
	Code Code
	// Status is the HTTP status of the refusal's answer (an RPC refusal
	// carries the status it maps from: 401, 403, 400, 503 or 500).
	Status int
}

// RefreshCause says why metadata and keys were fetched.
type RefreshCause string

// The causes of a [RefreshEvent].
const (
	// RefreshScheduled: the first load, the periodic refresh, or a retry
	// after a failure.
	RefreshScheduled RefreshCause = "scheduled"
	// RefreshUnknownKey: a token was signed with a kid the keys lack.
	RefreshUnknownKey RefreshCause = "unknown_kid"
)

// RefreshEvent describes one attempt to load metadata and keys.
type RefreshEvent struct {
	// Cause is why the fetch ran.
	Cause RefreshCause
	// Err is nil on success; else the cause of the failure (for logs,
	// never for callers: it may name the authority's URLs).
	Err error
	// Duration is how long the fetch took.
	Duration time.Duration
	// Keys is the number of signing keys loaded after the attempt (the
	// last good keys when it failed; 0 before any load succeeded).
	Keys int
	// Changed is true when the key material changed (the verified-token
	// cache was flushed, unless this was the first load).
	Changed bool
	// At is when the attempt ended.
	At time.Time
}

// observeValidation reports a validation, when an observer is set.
func (v *Validator) observeValidation(ctx context.Context, c *Claims, err error, cache CacheResult) {
	ev := ValidationEvent{Cache: cache}
	if err != nil {
		ev.Code = CodeOf(err)
		if ev.Code == "" {
			ev.Code = CodeInternal
		}
	} else if c != nil {
		ev.TenantID = c.tenantID
	}
	v.s.observer.ObserveValidation(ctx, ev)
}

// observe reports a finished load; before is the snapshot it started from.
func (src *source) observe(obs Observer, cause RefreshCause, before *snapshot, began time.Time, err error) {
	now := time.Now()
	ev := RefreshEvent{Cause: cause, Err: err, Duration: now.Sub(began), At: now}
	if cur := src.cur.Load(); cur != nil {
		ev.Keys = len(cur.keys)
		ev.Changed = err == nil && (before == nil || cur.gen != before.gen)
	}
	obs.ObserveRefresh(ev)
}
