package tenancy

import (
	"sync"
	"time"
)

// ttlMap is the answer cache: a map under a RWMutex with an expiry per entry and a size bound.
//
// Not pkg/cache.Memory: that cache stores bytes (an answer would be encoded and decoded on every
// hit), copies the value and takes an exclusive lock to move the entry in its LRU list, so every
// hit contends with every other. A hit here is one read-locked map lookup with a struct key, no
// allocation (BenchmarkCacheChoice measures both).
type ttlMap[K comparable, V any] struct {
	max int

	mu      sync.RWMutex
	entries map[K]ttlEntry[V]
	// gen counts invalidations: an answer fetched before an Invalidate is not stored after it,
	// so a caller that just changed something never reads the answer from before its change.
	gen uint64
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

func newTTLMap[K comparable, V any](maxEntries int) *ttlMap[K, V] {
	return &ttlMap[K, V]{max: maxEntries, entries: make(map[K]ttlEntry[V])}
}

// get returns the live entry under k.
func (m *ttlMap[K, V]) get(k K, now time.Time) (V, bool) {
	m.mu.RLock()
	e, ok := m.entries[k]
	m.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// generation returns the invalidation count, read before a fetch and passed to put after it.
func (m *ttlMap[K, V]) generation() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.gen
}

// put stores v under k until expires, unless an invalidation happened since gen was read.
func (m *ttlMap[K, V]) put(k K, v V, expires time.Time, gen uint64, now time.Time) {
	if !now.Before(expires) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen != gen {
		return
	}
	if _, ok := m.entries[k]; !ok && len(m.entries) >= m.max {
		m.shrink(now)
	}
	m.entries[k] = ttlEntry[V]{v: v, expires: expires}
}

// shrink drops expired entries and, if that frees too little, arbitrary ones (map order is
// random) down to 90% of the bound: a full cache costs some misses, never unbounded memory.
// Entries live at most MaxTTL, so a cache this full means many distinct pairs within that time.
func (m *ttlMap[K, V]) shrink(now time.Time) {
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, k)
		}
	}
	target := m.max * 9 / 10
	for k := range m.entries {
		if len(m.entries) <= target {
			break
		}
		delete(m.entries, k)
	}
}

// delete removes keys and makes answers fetched before now unstorable.
func (m *ttlMap[K, V]) delete(keys ...K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gen++
	for _, k := range keys {
		delete(m.entries, k)
	}
}

func (m *ttlMap[K, V]) len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.entries)
}
