package auth

import (
	"context"
	"crypto/ed25519"
	"sync"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FetchKeys returns the currently valid public keys by key ID (identity's GetSigningKeys).
type FetchKeys func(ctx context.Context) (map[string]ed25519.PublicKey, error)

// CachedKeys is a KeySource that keeps identity's public keys in memory. It fetches on first use,
// refreshes every refresh interval, and on an unknown key ID at most once per minInterval, so a
// rotated key is picked up at once while a stream of forged key IDs cannot turn into a stream of
// RPCs to identity.
type CachedKeys struct {
	fetch       FetchKeys
	now         func() time.Time
	refresh     time.Duration
	minInterval time.Duration

	// fetching is a context-aware mutex held while a lookup fetches: concurrent lookups wait for
	// that fetch and use its result instead of fetching too.
	fetching chan struct{}

	mu      sync.RWMutex
	keys    map[string]ed25519.PublicKey
	fetched time.Time
}

// NewCachedKeys returns a CachedKeys over fetch; now is wall time (not the fake clock: refresh
// intervals are about the network, not the business).
func NewCachedKeys(fetch FetchKeys, now func() time.Time) *CachedKeys {
	return &CachedKeys{fetch: fetch, now: now, refresh: 5 * time.Minute, minInterval: 5 * time.Second,
		fetching: make(chan struct{}, 1)}
}

// PublicKey implements KeySource.
func (c *CachedKeys) PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	k, ok, stale, recent := c.lookup(kid)
	if ok && !stale {
		return k, nil
	}
	if !ok && recent {
		return nil, errUnknownKey
	}
	// One fetch at a time. Without this, a burst of forged key IDs arriving while identity is
	// slow would send one RPC each (every caller sees the old fetch time until a fetch returns).
	select {
	case c.fetching <- struct{}{}:
	case <-ctx.Done():
		if ok {
			return k, nil
		}
		return nil, errs.Unavailablef("waiting for identity's signing keys: %v", ctx.Err()).Wrap(ctx.Err())
	}
	defer func() { <-c.fetching }()
	// The fetch this call waited for may have answered it.
	k, ok, stale, recent = c.lookup(kid)
	if ok && !stale {
		return k, nil
	}
	if !ok && recent {
		return nil, errUnknownKey
	}
	if err := c.Refresh(ctx); err != nil {
		if ok { // identity unreachable: keep using a key we know rather than fail every call
			return k, nil
		}
		return nil, err
	}
	if k, ok, _, _ := c.lookup(kid); ok {
		return k, nil
	}
	return nil, errUnknownKey
}

// lookup returns the cached key kid, whether the cache is older than the refresh interval, and
// whether it was fetched (or a fetch failed) within the min interval.
func (c *CachedKeys) lookup(kid string) (k ed25519.PublicKey, ok, stale, recent bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok = c.keys[kid]
	age := c.now().Sub(c.fetched)
	return k, ok, age > c.refresh, age < c.minInterval
}

// Refresh fetches the keys now.
func (c *CachedKeys) Refresh(ctx context.Context) error {
	keys, err := c.fetch(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetched = c.now() // also on failure: the min interval bounds retries
	if err != nil {
		return err
	}
	c.keys = keys
	return nil
}
