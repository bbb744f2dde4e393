package entra

import "time"

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
	for el := v.tk.lru.Front(); el != nil; el = el.Next() {
		ts := el.Value.(*tenantSet)
		ts.fetchedAt = ts.fetchedAt.Add(-d)
		ts.tried = ts.tried.Add(-d)
	}
}
