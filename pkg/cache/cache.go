// Package cache is a small byte-oriented key/value cache with a TTL per entry, behind one
// interface with two implementations: Redis (shared by every replica of a service) and an
// in-process LRU (the devstack default, no infrastructure).
//
// It deliberately knows nothing about what is cached or how misses are filled: cache-aside,
// singleflight, negative caching and invalidation are the caller's (catalog's) business. Errors
// are returned, never hidden; a caller that treats the cache as an optimization logs them and
// goes to the database, so a cache outage degrades to slower answers rather than failed ones.
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
	return time.Duration(float64(ttl) - spread + 2*spread*rand.Float64())
}

// Both implementations satisfy Cache.
var (
	_ Cache = (*Memory)(nil)
	_ Cache = (*Redis)(nil)
)
