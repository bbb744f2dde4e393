// Package entraotel reports what an entraguard Validator does to
// OpenTelemetry: metrics of validations, refusals, the verified-token
// cache and key refreshes, and span events for refusals.
//
// Create an [Observer] and set it as the Validator's entra.Config.Observer
// (one Observer per Validator: the key gauges describe one key source):
//
//	obs, err := entraotel.New()              // global MeterProvider
//	cfg := entra.ConfigFromEnv()
//	cfg.Observer = obs
//	v, err := entra.NewValidator(cfg)
//
// # Metrics
//
// All names are under "entra.", in OpenTelemetry semantic-convention
// style; error.type holds an entraguard Code (e.g. "token_expired"):
//
//	entra.token.validations        counter {validation}  entra.validation.outcome (accepted|refused), error.type (refused only)
//	entra.token.cache.lookups      counter {lookup}      entra.cache.result (hit|miss); not counted with the cache off
//	entra.request.refusals         counter {request}     error.type, entra.refusal.status (401, 403, 400, 503, 500)
//	entra.keys.refreshes           counter {refresh}     entra.refresh.cause (scheduled|unknown_kid), entra.refresh.outcome (success|failure)
//	entra.keys.refresh.duration    histogram s           entra.refresh.cause, entra.refresh.outcome
//	entra.keys.loaded              gauge {key}           (none); reported once a refresh ended
//	entra.keys.since_last_success  gauge s               (none); reported once keys were loaded
//
// With [WithTenantID], validations that succeed carry entra.tenant.id (the
// verified token's tid). Off by default: tenant IDs identify customers, and
// a multi-tenant API has as many series as callers' tenants.
//
// # Traces
//
// Each refusal adds an event "entra.refusal" with error.type and
// entra.refusal.status to the span of the request's context, if it is
// recording (so put the tracing middleware or interceptor outside
// entraguard's). Nothing recorded ever carries a token, a user's name,
// object ID or email; the tenant ID only with [WithTenantID].
package entraotel

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	entra "github.com/entraguard/entraguard/core"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the metrics.
const ScopeName = "github.com/entraguard/entraguard/otel"

// Attribute keys recorded.
const (
	KeyErrorType         = attribute.Key("error.type")
	KeyValidationOutcome = attribute.Key("entra.validation.outcome")
	KeyCacheResult       = attribute.Key("entra.cache.result")
	KeyRefusalStatus     = attribute.Key("entra.refusal.status")
	KeyRefreshCause      = attribute.Key("entra.refresh.cause")
	KeyRefreshOutcome    = attribute.Key("entra.refresh.outcome")
	KeyTenantID          = attribute.Key("entra.tenant.id")
)

// RefusalEventName is the name of the span event added for a refusal.
const RefusalEventName = "entra.refusal"

// Option configures an [Observer].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	mp     metric.MeterProvider
	tenant bool
}

// WithMeterProvider sets the MeterProvider. Default: otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.mp = mp })
}

// WithTenantID records the tenant ID (tid) of accepted tokens as
// entra.tenant.id on validations and on the request's span. Default: off.
func WithTenantID() Option {
	return optionFunc(func(c *config) { c.tenant = true })
}

// Observer implements entra.Observer on OpenTelemetry. It is safe for
// concurrent use. Create it with [New].
type Observer struct {
	tenant bool

	validations metric.Int64Counter
	lookups     metric.Int64Counter
	refusals    metric.Int64Counter
	refreshes   metric.Int64Counter
	refreshDur  metric.Float64Histogram
	reg         metric.Registration

	accepted, hit, miss metric.MeasurementOption
	codes               sync.Map // entra.Code → metric.MeasurementOption (validations)
	refusalAttrs        sync.Map // refusalKey → metric.MeasurementOption

	keys     atomic.Int64 // -1 until a refresh ended
	lastGood atomic.Int64 // UnixNano of the last successful refresh, 0 before
}

var _ entra.Observer = (*Observer)(nil)

type refusalKey struct {
	code   entra.Code
	status int
}

// New returns an Observer whose instruments are created on the
// MeterProvider. Errors come from the MeterProvider.
func New(opts ...Option) (*Observer, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	m := c.mp.Meter(ScopeName)
	o := &Observer{tenant: c.tenant}
	o.keys.Store(-1)
	var errs [8]error
	o.validations, errs[0] = m.Int64Counter("entra.token.validations", metric.WithUnit("{validation}"),
		metric.WithDescription("Token validations, by outcome and, for refusals, error.type (the entraguard Code)."))
	o.lookups, errs[1] = m.Int64Counter("entra.token.cache.lookups", metric.WithUnit("{lookup}"),
		metric.WithDescription("Lookups in the verified-token cache, by result (hit or miss)."))
	o.refusals, errs[2] = m.Int64Counter("entra.request.refusals", metric.WithUnit("{request}"),
		metric.WithDescription("Requests refused by authentication or authorization, by error.type and status."))
	o.refreshes, errs[3] = m.Int64Counter("entra.keys.refreshes", metric.WithUnit("{refresh}"),
		metric.WithDescription("Attempts to load the authority's metadata and signing keys, by cause and outcome."))
	o.refreshDur, errs[4] = m.Float64Histogram("entra.keys.refresh.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of metadata and key refreshes."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	keys, err5 := m.Int64ObservableGauge("entra.keys.loaded", metric.WithUnit("{key}"),
		metric.WithDescription("Signing keys currently loaded."))
	age, err6 := m.Float64ObservableGauge("entra.keys.since_last_success", metric.WithUnit("s"),
		metric.WithDescription("Time since signing keys were last loaded successfully."))
	errs[5], errs[6] = err5, err6
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	o.reg, errs[7] = m.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		if n := o.keys.Load(); n >= 0 {
			ob.ObserveInt64(keys, n)
		}
		if t := o.lastGood.Load(); t != 0 {
			ob.ObserveFloat64(age, time.Since(time.Unix(0, t)).Seconds())
		}
		return nil
	}, keys, age)
	if errs[7] != nil {
		return nil, errs[7]
	}
	o.accepted = metric.WithAttributeSet(attribute.NewSet(KeyValidationOutcome.String("accepted")))
	o.hit = metric.WithAttributeSet(attribute.NewSet(KeyCacheResult.String("hit")))
	o.miss = metric.WithAttributeSet(attribute.NewSet(KeyCacheResult.String("miss")))
	return o, nil
}

// Close unregisters the gauges' callback. Counters stay usable.
func (o *Observer) Close() error { return o.reg.Unregister() }

// ObserveValidation implements entra.Observer.
func (o *Observer) ObserveValidation(ctx context.Context, ev entra.ValidationEvent) {
	switch ev.Cache {
	case entra.CacheHit:
		o.lookups.Add(ctx, 1, o.hit)
	case entra.CacheMiss:
		o.lookups.Add(ctx, 1, o.miss)
	}
	if ev.Code == "" {
		if o.tenant && ev.TenantID != "" {
			o.validations.Add(ctx, 1, metric.WithAttributes(KeyValidationOutcome.String("accepted"), KeyTenantID.String(ev.TenantID)))
			if span := trace.SpanFromContext(ctx); span.IsRecording() {
				span.SetAttributes(KeyTenantID.String(ev.TenantID))
			}
			return
		}
		o.validations.Add(ctx, 1, o.accepted)
		return
	}
	opt, ok := o.codes.Load(ev.Code)
	if !ok {
		opt, _ = o.codes.LoadOrStore(ev.Code, metric.WithAttributeSet(attribute.NewSet(
			KeyValidationOutcome.String("refused"), KeyErrorType.String(string(ev.Code)))))
	}
	o.validations.Add(ctx, 1, opt.(metric.MeasurementOption))
}

// ObserveRefusal implements entra.Observer.
func (o *Observer) ObserveRefusal(ctx context.Context, ev entra.RefusalEvent) {
	k := refusalKey{ev.Code, ev.Status}
	opt, ok := o.refusalAttrs.Load(k)
	if !ok {
		opt, _ = o.refusalAttrs.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(
			KeyErrorType.String(string(ev.Code)), KeyRefusalStatus.Int(ev.Status))))
	}
	o.refusals.Add(ctx, 1, opt.(metric.MeasurementOption))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(RefusalEventName, trace.WithAttributes(
			KeyErrorType.String(string(ev.Code)), KeyRefusalStatus.Int(ev.Status)))
	}
}

// ObserveRefresh implements entra.Observer.
func (o *Observer) ObserveRefresh(ev entra.RefreshEvent) {
	outcome := "success"
	if ev.Err != nil {
		outcome = "failure"
	} else {
		o.lastGood.Store(ev.At.UnixNano())
	}
	o.keys.Store(int64(ev.Keys))
	attrs := metric.WithAttributeSet(attribute.NewSet(KeyRefreshCause.String(string(ev.Cause)), KeyRefreshOutcome.String(outcome)))
	ctx := context.Background()
	o.refreshes.Add(ctx, 1, attrs)
	o.refreshDur.Record(ctx, ev.Duration.Seconds(), attrs)
}
