package cache

// SetMaxPending lowers the bound on owed invalidations, so a test reaches the flush-everything
// path without 100,000 keys.
func SetMaxPending(a *Aside, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.maxPending = n
}
