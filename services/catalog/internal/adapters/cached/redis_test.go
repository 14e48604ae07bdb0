package cached_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/partnerhub/partnerhub/pkg/cache"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog/internal/adapters/cached"
	catsql "github.com/partnerhub/partnerhub/services/catalog/internal/adapters/sql"
)

// The cache tests against a real Redis (testcontainers). Each test has its own key prefix
// on the shared server, or its own server when it stops and starts it.

// redisCache is a Redis cache as the composition root builds it (short timeouts), one client per
// catalog instance.
type redisCache struct {
	cache.Cache
	client *redis.Client
}

func newRedisCache(t *testing.T, addr, prefix string) redisCache {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, MaxRetries: 1, DialerRetries: 1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	return redisCache{Cache: cache.NewRedis(client, prefix), client: client}
}

// redisInstance is newInstance over Redis as the composition root builds it, a near cache in
// front of the Aside, with short leases (tests wait for them when Redis is away) and a failed
// cache retried every 100 ms.
func redisInstance(t *testing.T, db *store.DB, c redisCache) *instance {
	t.Helper()
	reads := catsql.NewReadCounter()
	aside := cache.NewAside(c.Cache, cache.AsideOptions{Name: "catalog", TTL: time.Minute, NegativeTTL: 5 * time.Second,
		RetryInterval: 100 * time.Millisecond})
	t.Cleanup(aside.Close)
	near := cache.NewNear(aside, c.client, cache.NearOptions{LeaseTTL: 400 * time.Millisecond})
	t.Cleanup(near.Close) // before the Aside's: cleanups run last first
	spy := &spyAside{Aside: near}
	return &instance{repo: cached.New(catsql.New(db, reads), spy, nil), reads: reads, spy: spy}
}

// A hit after a miss, in Redis.
func TestRedis_HitAfterMiss(t *testing.T) {
	ctx := context.Background()
	addr := testkit.StartRedis(t)
	db := openDB(t)
	in := redisInstance(t, db, newRedisCache(t, addr, t.Name()+":"))
	seedCatalog(t, in.repo)
	for range 3 {
		if _, err := in.repo.Sku(ctx, skuID); err != nil {
			t.Fatal(err)
		}
	}
	if n := in.count("sku"); n != 1 {
		t.Errorf("%v database reads for 3 lookups", n)
	}
}

// SetPrice then GetPrice returns the new price at once, also from a second catalog instance
// sharing the Redis.
func TestRedis_SetPriceThenGetPriceOnBothInstances(t *testing.T) {
	ctx := context.Background()
	addr := testkit.StartRedis(t)
	db := openDB(t)
	a := redisInstance(t, db, newRedisCache(t, addr, t.Name()+":"))
	b := redisInstance(t, db, newRedisCache(t, addr, t.Name()+":"))
	seedCatalog(t, a.repo)
	for _, i := range []*instance{a, b} {
		if p, err := i.repo.Price(ctx, priceKey); err != nil || p.BillingPeriodPrice.AmountMinor != 6732 {
			t.Fatal(p, err)
		}
	}
	for _, amount := range []int64{6999, 7100, 6500} {
		setPrice(t, a.repo, amount)
		for name, i := range map[string]*instance{"writer": a, "other": b} {
			if p, err := i.repo.Price(ctx, priceKey); err != nil || p.BillingPeriodPrice.AmountMinor != amount {
				t.Errorf("%s reads %v %v after setting %d", name, p.BillingPeriodPrice.AmountMinor, err, amount)
			}
		}
	}
	// The instances share the entries: one load per invalidation between them (the writer's
	// read comes first and fills; the other instance hits).
	if n := a.count("price") + b.count("price"); n != 4 {
		t.Errorf("%v database reads for 1 miss and 3 invalidations", n)
	}
}

// Redis stopped mid-test: reads still succeed, from the database, and so do writes. Redis back:
// hits resume.
func TestRedis_OutageDegradesToDatabase(t *testing.T) {
	ctx := context.Background()
	addr, stop, start := testkit.StartRedisControlled(t)
	db := openDB(t)
	in := redisInstance(t, db, newRedisCache(t, addr, "catalog:"))
	seedCatalog(t, in.repo)
	if _, err := in.repo.Sku(ctx, skuID); err != nil {
		t.Fatal(err)
	}
	stop()
	before := in.count("sku")
	for range 5 {
		if _, err := in.repo.Sku(ctx, skuID); err != nil {
			t.Fatalf("read during the outage: %v", err)
		}
	}
	if n := in.count("sku") - before; n < 1 {
		t.Errorf("reads during the outage did not reach the database: %v", n)
	}
	setPrice(t, in.repo, 7777) // the invalidation is owed, not an error
	if p, err := in.repo.Price(ctx, priceKey); err != nil || p.BillingPeriodPrice.AmountMinor != 7777 {
		t.Errorf("price during the outage: %+v %v", p, err)
	}
	start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if p, err := in.repo.Price(ctx, priceKey); err != nil || p.BillingPeriodPrice.AmountMinor != 7777 {
			t.Fatalf("price after the outage: %+v %v", p, err)
		}
		before := in.count("price")
		_, _ = in.repo.Price(ctx, priceKey)
		_, _ = in.repo.Price(ctx, priceKey)
		if in.count("price") == before {
			break // hits again
		}
		if time.Now().After(deadline) {
			t.Fatal("no cache hits 15 s after Redis came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// 200 concurrent misses on one key cost one database read, with Redis too.
func TestRedis_ConcurrentMissesOneRead(t *testing.T) {
	ctx := context.Background()
	addr := testkit.StartRedis(t)
	in := redisInstance(t, openDB(t), newRedisCache(t, addr, t.Name()+":"))
	seedCatalog(t, in.repo)
	concurrentMisses(t, in, "price", func() error { _, err := in.repo.Price(ctx, priceKey); return err })
}
