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
//
// It implements Versioned too: guarded entries (value and generation of one key in one entry)
// live in their own key space but share the LRU bound with plain ones, so the bound stays a
// bound on memory. Evicting a guarded entry drops its generation with its value, which is safe:
// a fill whose generation is gone is refused, exactly as on Redis.
type Memory struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*list.Element // plain entries, of *memEntry
	guarded map[string]*list.Element // guarded entries, of *memEntry
	lru     list.List                // both kinds; front = most recently used
	lastGen uint64                   // generations are never reused in this process, even after eviction
}

type memEntry struct {
	key     string
	guarded bool // lives in guarded, not entries
	// hasValue is false for a guarded entry that holds only a generation (after a Bump, or while
	// a fill is loading); plain entries always have a value.
	hasValue bool
	value    []byte
	expires  time.Time // of the value; zero: never
	gen      uint64    // guarded entries only; 0: none
	genExp   time.Time // of the generation; zero: never
}

// NewMemory returns an in-process cache bounded to maxEntries entries (at least 1).
func NewMemory(maxEntries int) *Memory {
	return &Memory{
		max:     max(maxEntries, 1),
		now:     time.Now,
		entries: map[string]*list.Element{},
		guarded: map[string]*list.Element{},
	}
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
	m.entries[key] = m.lru.PushFront(&memEntry{key: key, hasValue: true, value: value, expires: expires})
	m.evict()
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

// Len returns the number of entries held, plain and guarded, expired ones not yet dropped
// included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

func (m *Memory) remove(el *list.Element) {
	m.lru.Remove(el)
	e := el.Value.(*memEntry)
	if e.guarded {
		delete(m.guarded, e.key)
	} else {
		delete(m.entries, e.key)
	}
}

func (m *Memory) evict() {
	for m.lru.Len() > m.max {
		m.remove(m.lru.Back())
	}
}

// GetGuarded implements Versioned.
func (m *Memory) GetGuarded(_ context.Context, key string) ([]byte, bool, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.guardedEntry(key, m.now())
	if e == nil {
		return nil, false, 0, nil
	}
	if !e.hasValue {
		return nil, false, e.gen, nil
	}
	// Not a copy: the hot path of Aside (a warm hit) pays no allocation. Versioned says the value
	// is read-only; SetGuarded stores its own copy, so no caller's buffer is shared.
	return e.value, true, e.gen, nil
}

// Generation implements Versioned.
func (m *Memory) Generation(_ context.Context, key string, ttl time.Duration) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e := m.guardedEntry(key, now)
	if e == nil {
		e = m.pushGuarded(key)
	}
	if e.gen == 0 {
		m.lastGen++
		e.gen, e.genExp = m.lastGen, expiry(now, ttl)
	}
	return e.gen, nil
}

// SetGuarded implements Versioned.
func (m *Memory) SetGuarded(_ context.Context, key string, value []byte, ttl time.Duration, gen uint64, genTTL time.Duration) (bool, error) {
	value = slices.Clone(value)
	if value == nil {
		value = []byte{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e := m.guardedEntry(key, now)
	if e == nil || e.gen == 0 || e.gen != gen {
		return false, nil
	}
	e.hasValue, e.value, e.expires = true, value, expiry(now, ttl)
	e.genExp = expiry(now, genTTL)
	return true, nil
}

// Bump implements Versioned.
func (m *Memory) Bump(_ context.Context, genTTL time.Duration, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for _, k := range keys {
		e := m.guardedEntry(k, now)
		if e == nil {
			e = m.pushGuarded(k)
		}
		m.lastGen++
		e.gen, e.genExp = m.lastGen, expiry(now, genTTL)
		e.hasValue, e.value, e.expires = false, nil, time.Time{}
	}
	m.evict()
	return nil
}

// FlushGuarded implements Versioned.
func (m *Memory) FlushGuarded(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, el := range m.guarded {
		m.remove(el)
	}
	return nil
}

// Ping implements Versioned: an in-process cache is always reachable.
func (m *Memory) Ping(context.Context) error { return nil }

// guardedEntry returns key's guarded entry with whatever expired in it dropped, or nil when
// nothing is left; a found entry becomes the most recently used. m.mu is held.
func (m *Memory) guardedEntry(key string, now time.Time) *memEntry {
	el, ok := m.guarded[key]
	if !ok {
		return nil
	}
	e := el.Value.(*memEntry)
	if e.hasValue && !e.expires.IsZero() && !now.Before(e.expires) {
		e.hasValue, e.value = false, nil
	}
	if e.gen != 0 && !e.genExp.IsZero() && !now.Before(e.genExp) {
		e.gen = 0
	}
	if !e.hasValue && e.gen == 0 {
		m.remove(el)
		return nil
	}
	m.lru.MoveToFront(el)
	return e
}

// pushGuarded adds an empty guarded entry for key (which has none) and evicts to make room; the
// new entry is the most recent, so it is not the one evicted. m.mu is held.
func (m *Memory) pushGuarded(key string) *memEntry {
	e := &memEntry{key: key, guarded: true}
	m.guarded[key] = m.lru.PushFront(e)
	m.evict()
	return e
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}
