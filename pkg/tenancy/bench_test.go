package tenancy

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/cache"
)

// The budget: a cached CheckAccess under 20 µs per call. These measure the hit path
// (the fake server answers once, with a cache_ttl far beyond the benchmark).

func benchChecker(b *testing.B) *Checker {
	b.Helper()
	f := &fakePeers{}
	f.set(activeRel(time.Hour), allowed(time.Hour, time.Time{}), nil)
	conn := startFake(b, f)
	return New(newRelClient(conn), newDAClient(conn), Options{MaxTTL: time.Hour})
}

func BenchmarkAccessCached(b *testing.B) {
	c := benchChecker(b)
	ctx := context.Background()
	if _, err := c.Access(ctx, partner, customer, userAdm); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if a, err := c.Access(ctx, partner, customer, userAdm); err != nil || !a.Allowed {
			b.Fatal(a, err)
		}
	}
}

func BenchmarkAccessCachedParallel(b *testing.B) {
	c := benchChecker(b)
	ctx := context.Background()
	if _, err := c.Access(ctx, partner, customer, userAdm); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if a, err := c.Access(ctx, partner, customer, userAdm); err != nil || !a.Allowed {
				b.Error(a, err)
				return
			}
		}
	})
}

func BenchmarkRelationshipCached(b *testing.B) {
	c := benchChecker(b)
	ctx := context.Background()
	if _, err := c.Relationship(ctx, partner, customer); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r, err := c.Relationship(ctx, partner, customer); err != nil || !r.Active {
			b.Fatal(r, err)
		}
	}
}

func BenchmarkRelationshipCachedParallel(b *testing.B) {
	c := benchChecker(b)
	ctx := context.Background()
	if _, err := c.Relationship(ctx, partner, customer); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r, err := c.Relationship(ctx, partner, customer); err != nil || !r.Active {
				b.Error(r, err)
				return
			}
		}
	})
}

// BenchmarkAccessUncached is the price of a miss (one CheckAccess over bufconn), for scale.
func BenchmarkAccessUncached(b *testing.B) {
	c := benchChecker(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c.Invalidate(partner, customer)
		if _, err := c.Access(ctx, partner, customer, userAdm); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCacheChoice compares the two candidate caches for a hit, in parallel (the hot path is
// many concurrent requests): the RWMutex map the Checker uses, and pkg/cache.Memory, which needs
// the answer encoded (JSON here; any encoding costs at least a copy) and locks exclusively.
func BenchmarkCacheChoice(b *testing.B) {
	key := accessKey{pair{partner, customer}, userAdm}
	val := Access{Allowed: true, RelationshipID: "dar-1", GrantEnd: time.Now().Add(time.Hour)}
	b.Run("ttlMap", func(b *testing.B) {
		m := newTTLMap[accessKey, Access](10_000)
		m.put(key, val, time.Now().Add(time.Hour), m.generation(), time.Now())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if a, ok := m.get(key, time.Now()); !ok || !a.Allowed {
					b.Error("miss")
					return
				}
			}
		})
	})
	b.Run("cache.Memory", func(b *testing.B) {
		m := cache.NewMemory(10_000)
		ctx := context.Background()
		raw, _ := json.Marshal(val)
		skey := "a\x00" + partner + "\x00" + customer + "\x00" + userAdm.String()
		_ = m.Set(ctx, skey, raw, time.Hour)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				v, ok, _ := m.Get(ctx, skey)
				var a Access
				if !ok || json.Unmarshal(v, &a) != nil || !a.Allowed {
					b.Error("miss")
					return
				}
			}
		})
	})
}
