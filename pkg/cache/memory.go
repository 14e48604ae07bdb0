package cache

import (
	"container/list"
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is an in-process cache holding at most a fixed number of entries; when full it evicts
// the least recently used one. It is safe for concurrent use.
type Memory struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // of *memEntry
	lru     list.List                // front = most recently used
}

type memEntry struct {
	key     string
	value   []byte
	expires time.Time // zero: never
}

// NewMemory returns an in-process cache bounded to maxEntries entries (at least 1).
func NewMemory(maxEntries int) *Memory {
	return &Memory{max: max(maxEntries, 1), now: time.Now, entries: map[string]*list.Element{}}
}

// Get implements Cache. Expired entries are dropped when met; a full cache evicts by recency
// anyway, so no background sweeper is needed.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.entries[key]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*memEntry)
	if !e.expires.IsZero() && !m.now().Before(e.expires) {
		m.remove(el)
		return nil, false, nil
	}
	m.lru.MoveToFront(el)
	// A copy, so a caller that modifies the slice cannot change the cached value; Redis has the
	// same semantics by construction.
	return slices.Clone(e.value), true, nil
}

// Set implements Cache.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	var expires time.Time
	if ttl > 0 {
		expires = m.now().Add(ttl)
	}
	value = slices.Clone(value)
	if value == nil {
		value = []byte{} // stored and found, like an empty string in Redis
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.entries[key]; ok {
		e := el.Value.(*memEntry)
		e.value, e.expires = value, expires
		m.lru.MoveToFront(el)
		return nil
	}
	m.entries[key] = m.lru.PushFront(&memEntry{key: key, value: value, expires: expires})
	for m.lru.Len() > m.max {
		m.remove(m.lru.Back())
	}
	return nil
}

// Delete implements Cache.
func (m *Memory) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if el, ok := m.entries[k]; ok {
			m.remove(el)
		}
	}
	return nil
}

// Len returns the number of entries held, expired ones not yet dropped included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

func (m *Memory) remove(el *list.Element) {
	m.lru.Remove(el)
	delete(m.entries, el.Value.(*memEntry).key)
}
