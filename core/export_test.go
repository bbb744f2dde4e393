package entra

import "context"

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
