package entra

import (
	"context"
	"time"

	"github.com/entraguard/entraguard/core/internal/jose"
)

// Test seams for the package entra_test, compiled into tests only.

// FetchesStarted returns how many fetches v's key source has started: by
// its background loop, and for requests (unknown kids). Cold requests only
// ever join fetches.
func FetchesStarted(v *Validator) (scheduled, forRequests uint64) {
	v.src.mu.Lock()
	defer v.src.mu.Unlock()
	return v.src.started[refreshScheduled], v.src.started[refreshUnknownKid] + v.src.started[refreshCold]
}

// WaitForFetch waits, bounded by ctx, until the fetch in flight (if any)
// has ended and published: counts read after it see every request that
// fetch made. It never starts a fetch.
func WaitForFetch(ctx context.Context, v *Validator) {
	if ch, ok := v.src.start(refreshCold); ok {
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
}

// ForceMetadataRefresh refreshes v's metadata and keys now, as the next
// scheduled refresh would, and waits for it: tests of last known good
// metadata cannot wait for RefreshInterval.
func ForceMetadataRefresh(v *Validator) error {
	v.src.metaTime.Store(0)
	ch, ok := v.src.start(refreshScheduled)
	if !ok {
		return nil
	}
	return (<-ch).Err
}

// AgeV1Missing makes the v1.0 metadata of v look as if it had been
// answering 404 for d already, if it answers 404 at all.
func AgeV1Missing(v *Validator, d time.Duration) {
	if since := v.src.meta.v1MissingSince.Load(); since != 0 {
		v.src.meta.v1MissingSince.CompareAndSwap(since, since-int64(d))
	}
}

// AgeTenantKeySets makes v's tenants' key sets look fetched d earlier.
func AgeTenantKeySets(v *Validator, d time.Duration) {
	if v.tk == nil {
		return
	}
	v.tk.mu.Lock()
	defer v.tk.mu.Unlock()
	for _, el := range v.tk.byTenant {
		ts := el.Value.(*tenantSet)
		ts.fetchedAt = ts.fetchedAt.Add(-d)
		ts.tried = ts.tried.Add(-d)
	}
}

// DecodeB64URL is the request path's base64url decoder, for the floor
// measured by BenchmarkLargeTokenPaired.
func DecodeB64URL(dst []byte, src string) (int, bool) { return jose.DecodeSegment(dst, src) }
