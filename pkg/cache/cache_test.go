package cache_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/partnerhub/partnerhub/pkg/cache"
	"github.com/partnerhub/partnerhub/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// forEachCache runs fn against every implementation: the in-process cache and real Redis.
func forEachCache(t *testing.T, fn func(t *testing.T, c cache.Cache)) {
	t.Run("memory", func(t *testing.T) { fn(t, cache.NewMemory(1000)) })
	t.Run("redis", func(t *testing.T) {
		client := redis.NewClient(&redis.Options{Addr: testkit.StartRedis(t)})
		t.Cleanup(func() { _ = client.Close() })
		// The server is shared by the binary's tests (and their repetitions under -count): a
		// prefix per test run keeps them apart.
		fn(t, cache.NewRedis(client, fmt.Sprintf("%s:%d:", t.Name(), time.Now().UnixNano())))
	})
}

func TestGetSetDelete(t *testing.T) {
	forEachCache(t, func(t *testing.T, c cache.Cache) {
		ctx := t.Context()
		if _, ok, err := c.Get(ctx, "missing"); ok || err != nil {
			t.Fatalf("Get(missing) = ok %v, err %v", ok, err)
		}
		val := []byte("value\x00\xff")
		if err := c.Set(ctx, "k", val, time.Minute); err != nil {
			t.Fatal(err)
		}
		val[0] = 'X' // the cache must hold its own copy
		got, ok, err := c.Get(ctx, "k")
		if err != nil || !ok || string(got) != "value\x00\xff" {
			t.Fatalf("Get(k) = %q, %v, %v", got, ok, err)
		}
		got[0] = 'Y' // and hand out copies
		if again, _, _ := c.Get(ctx, "k"); string(again) != "value\x00\xff" {
			t.Errorf("cached value changed through a returned slice: %q", again)
		}

		// Overwrite, and an empty value is a hit, not a miss (negative caching relies on it).
		if err := c.Set(ctx, "k", []byte("v2"), 0); err != nil {
			t.Fatal(err)
		}
		if got, ok, _ := c.Get(ctx, "k"); !ok || string(got) != "v2" {
			t.Errorf("after overwrite Get(k) = %q, %v", got, ok)
		}
		if err := c.Set(ctx, "empty", nil, time.Minute); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := c.Get(ctx, "empty"); !ok || len(got) != 0 || err != nil {
			t.Errorf("Get(empty) = %q, %v, %v; want a hit with no bytes", got, ok, err)
		}

		if err := c.Set(ctx, "k2", []byte("x"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, "k", "k2", "never-set"); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx); err != nil {
			t.Errorf("Delete() with no keys: %v", err)
		}
		for _, k := range []string{"k", "k2"} {
			if _, ok, _ := c.Get(ctx, k); ok {
				t.Errorf("%s still present after Delete", k)
			}
		}
		if _, ok, _ := c.Get(ctx, "empty"); !ok {
			t.Error("Delete removed a key it was not given")
		}
	})
}

func TestTTL(t *testing.T) {
	forEachCache(t, func(t *testing.T, c cache.Cache) {
		ctx := t.Context()
		if err := c.Set(ctx, "short", []byte("x"), 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "long", []byte("y"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Get(ctx, "short"); !ok {
			t.Fatal("entry gone before its TTL")
		}
		time.Sleep(250 * time.Millisecond)
		if _, ok, err := c.Get(ctx, "short"); ok || err != nil {
			t.Errorf("after TTL Get(short) = ok %v, err %v; want a miss", ok, err)
		}
		if _, ok, _ := c.Get(ctx, "long"); !ok {
			t.Error("entry with a longer TTL expired too")
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	forEachCache(t, func(t *testing.T, c cache.Cache) {
		ctx := t.Context()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 100 {
					k := fmt.Sprintf("k%d", i%10)
					if err := c.Set(ctx, k, []byte(k), time.Minute); err != nil {
						t.Error(err)
						return
					}
					if v, ok, err := c.Get(ctx, k); err != nil || (ok && string(v) != k) {
						t.Errorf("goroutine %d: Get(%s) = %q, %v", g, k, v, err)
						return
					}
					if i%7 == 0 {
						_ = c.Delete(ctx, k)
					}
				}
			})
		}
		wg.Wait()
	})
}

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	c := cache.NewMemory(3)
	for _, k := range []string{"a", "b", "c"} {
		_ = c.Set(ctx, k, []byte(k), time.Minute)
	}
	_, _, _ = c.Get(ctx, "a") // a is now more recent than b
	_ = c.Set(ctx, "d", []byte("d"), time.Minute)
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok, _ := c.Get(ctx, k); ok != want {
			t.Errorf("after eviction %s present = %v, want %v", k, ok, want)
		}
	}
}

func TestRedisUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer client.Close()
	c := cache.NewRedis(client, "x:")
	if _, _, err := c.Get(t.Context(), "k"); err == nil || !strings.Contains(err.Error(), "cache: redis get") {
		t.Errorf("Get with Redis down: err = %v, want a wrapped error", err)
	}
}

func TestJitter(t *testing.T) {
	ttl := 10 * time.Second
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := cache.Jitter(ttl, 0.2)
		if d < 8*time.Second || d > 12*time.Second {
			t.Fatalf("Jitter(10s, 0.2) = %v, outside [8s, 12s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("Jitter gave only %d distinct values in 1000 calls", len(seen))
	}
	if d := cache.Jitter(ttl, 0); d != ttl {
		t.Errorf("Jitter(ttl, 0) = %v", d)
	}
	if d := cache.Jitter(0, 0.5); d != 0 {
		t.Errorf("Jitter(0, 0.5) = %v", d)
	}
	if d := cache.Jitter(ttl, 5); d < 0 || d > 2*ttl {
		t.Errorf("Jitter(ttl, 5) = %v, want fraction clamped to 1", d)
	}
}
