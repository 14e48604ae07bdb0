package cache

import (
	"context"
	"math/rand/v2"
	"time"
)

// Cache stores values under string keys.
type Cache interface {
	// Get returns the value under key; ok is false when there is none (or it expired).
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Set stores value under key for ttl; ttl <= 0 means until evicted or deleted.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes the keys; missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
}

// Jitter returns ttl spread uniformly over [ttl·(1-fraction), ttl·(1+fraction)], so entries
// filled together (say after a deploy or an invalidation) do not all expire together and send
// one burst of misses to the database. fraction is clamped to [0, 1].
func Jitter(ttl time.Duration, fraction float64) time.Duration {
	fraction = min(max(fraction, 0), 1)
	if ttl <= 0 || fraction == 0 {
		return ttl
	}
	spread := float64(ttl) * fraction
	return time.Duration(float64(ttl) - spread + 2*spread*rand.Float64()) //nolint:gosec // G404: TTL jitter, not a secret
}

// Versioned is what Aside needs of a cache on top of Cache: guarded values, each with a
// per-key generation that changes on every invalidation, so that a fill which read the
// generation before loading can store its value only if no invalidation came in between. Both
// implementations provide it.
//
// Guarded keys are a key space of their own, apart from Cache's Get/Set/Delete ones. A generation
// is an opaque non-zero number; 0 means the key has none. A generation may vanish (TTL, eviction,
// a Redis restart without persistence): a fill then finds none and stores nothing, which is safe.
type Versioned interface {
	Cache
	// GetGuarded returns the guarded value under key (ok false when there is none) and key's
	// generation (0: none), read together: on Redis, one round trip. The value may be shared
	// (the in-process cache returns its stored slice): callers must not modify it.
	GetGuarded(ctx context.Context, key string) (value []byte, ok bool, gen uint64, err error)
	// Generation returns key's generation, first giving it a new one that lives for ttl (<= 0:
	// until evicted) if it has none. Concurrent callers all get the same one.
	Generation(ctx context.Context, key string, ttl time.Duration) (gen uint64, err error)
	// SetGuarded stores value under key for ttl (<= 0: until evicted) if, atomically with the
	// store, key's generation is still gen; it then keeps the generation for genTTL more, so it
	// outlives the value. stored is false when the generation changed or vanished.
	SetGuarded(ctx context.Context, key string, value []byte, ttl time.Duration, gen uint64, genTTL time.Duration) (stored bool, err error)
	// Bump gives each key a new generation that lives for genTTL and deletes its guarded value,
	// atomically per key (not across keys).
	Bump(ctx context.Context, genTTL time.Duration, keys ...string) error
	// FlushGuarded deletes every guarded value and generation: the big hammer for when too many
	// invalidations are owed to remember them one by one.
	FlushGuarded(ctx context.Context) error
	// Ping reports whether the cache can be reached.
	Ping(ctx context.Context) error
}

// Both implementations satisfy Cache and Versioned.
var (
	_ Versioned = (*Memory)(nil)
	_ Versioned = (*Redis)(nil)
)
