package auth

import (
	"context"
	"crypto/ed25519"
	"sync"
	"time"
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

	mu      sync.RWMutex
	keys    map[string]ed25519.PublicKey
	fetched time.Time
}

// NewCachedKeys returns a CachedKeys over fetch; now is wall time (not the fake clock: refresh
// intervals are about the network, not the business).
func NewCachedKeys(fetch FetchKeys, now func() time.Time) *CachedKeys {
	return &CachedKeys{fetch: fetch, now: now, refresh: 5 * time.Minute, minInterval: 5 * time.Second}
}

// PublicKey implements KeySource.
func (c *CachedKeys) PublicKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	c.mu.RLock()
	k, ok := c.keys[kid]
	stale := c.now().Sub(c.fetched) > c.refresh
	recent := c.now().Sub(c.fetched) < c.minInterval
	c.mu.RUnlock()
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
	c.mu.RLock()
	defer c.mu.RUnlock()
	if k, ok := c.keys[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKey
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
