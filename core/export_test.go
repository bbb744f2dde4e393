package entra

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
