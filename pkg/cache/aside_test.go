package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/partnerhub/partnerhub/pkg/cache"
	"github.com/partnerhub/partnerhub/pkg/testkit"
)

// fakeDB is the source of truth behind the cache: rows by key, and a count of reads.
type fakeDB struct {
	mu    sync.Mutex
	rows  map[string]string
	reads atomic.Int64
}

func newFakeDB() *fakeDB { return &fakeDB{rows: map[string]string{}} }

func (d *fakeDB) set(k, v string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rows[k] = v
}

func (d *fakeDB) read(k string) ([]byte, bool) {
	d.reads.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.rows[k]
	if !ok {
		return nil, false
	}
	return []byte(v), true
}

// loader returns the load func of key k.
func (d *fakeDB) loader(k string) func(context.Context) ([]byte, bool, error) {
	return func(context.Context) ([]byte, bool, error) {
		v, ok := d.read(k)
		return v, ok, nil
	}
}

// heldLoader returns a load func of key k whose first call reads the row, closes loaded and then
// waits for release before it returns: the test can write and invalidate between a reader's
// database read and its cache fill. Later calls return at once.
func (d *fakeDB) heldLoader(k string) (load func(context.Context) ([]byte, bool, error), loaded, release chan struct{}) {
	loaded, release = make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	load = func(context.Context) ([]byte, bool, error) {
		v, ok := d.read(k)
		if calls.Add(1) == 1 {
			close(loaded)
			<-release
		}
		return v, ok, nil
	}
	return load, loaded, release
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// forEachBackend runs fn against the in-process cache and real Redis. newCache returns, on each
// call, a cache as another instance of a service would have it: the same Memory, or a new client
// to the same Redis server and prefix.
func forEachBackend(t *testing.T, fn func(t *testing.T, newCache func() cache.Cache)) {
	t.Run("memory", func(t *testing.T) {
		m := cache.NewMemory(10_000)
		fn(t, func() cache.Cache { return m })
	})
	t.Run("redis", func(t *testing.T) {
		addr := testkit.StartRedis(t)
		// The server outlives the test (and its repetitions under -count): a prefix of its own.
		prefix := fmt.Sprintf("%s:%d:", t.Name(), time.Now().UnixNano())
		fn(t, func() cache.Cache {
			client := redis.NewClient(&redis.Options{Addr: addr})
			t.Cleanup(func() { _ = client.Close() })
			return cache.NewRedis(client, prefix)
		})
	})
}

// testAside is an Aside with its own registry, closed when the test ends.
type testAside struct {
	*cache.Aside
	reg *prometheus.Registry
}

func newTestAside(t *testing.T, c cache.Cache, opts cache.AsideOptions) testAside {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "test"
	}
	if opts.TTL == 0 {
		opts.TTL = time.Minute
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	a := cache.NewAside(c, opts)
	t.Cleanup(a.Close)
	return testAside{Aside: a, reg: opts.Registry}
}

// metric returns the value of the counter or gauge name with the given label values (pairs of
// name, value), 0 if it has none.
func (a testAside) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := a.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

func (a testAside) requests(t *testing.T, result string) float64 {
	t.Helper()
	return a.metric(t, "partnerhub_cache_requests_total", "result", result)
}

// mustGet reads k through a and checks the answer. The deadline only turns a Get stuck behind a
// held load (the bug of joining a load that began before a write) into a failure, not a hang.
func mustGet(t *testing.T, a testAside, k string, load func(context.Context) ([]byte, bool, error), want string, wantFound bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	v, found, err := a.Get(ctx, k, load)
	if err != nil || found != wantFound || string(v) != want {
		t.Fatalf("Get(%s) = %q, %v, %v; want %q, %v", k, v, found, err, want, wantFound)
	}
}

func TestVersioned(t *testing.T) {
	forEachCache(t, func(t *testing.T, c cache.Cache) {
		ctx := t.Context()
		v := c.(cache.Versioned)
		if _, ok, gen, err := v.GetGuarded(ctx, "k"); ok || gen != 0 || err != nil {
			t.Fatalf("GetGuarded(k) on an empty cache = ok %v, gen %d, err %v", ok, gen, err)
		}
		g1, err := v.Generation(ctx, "k", time.Minute)
		if err != nil || g1 == 0 {
			t.Fatalf("Generation = %d, %v", g1, err)
		}
		if again, _ := v.Generation(ctx, "k", time.Minute); again != g1 {
			t.Fatalf("second Generation = %d, want the existing %d", again, g1)
		}
		if ok, err := v.SetGuarded(ctx, "k", []byte("v1"), time.Minute, g1, time.Minute); !ok || err != nil {
			t.Fatalf("SetGuarded with the current generation = %v, %v", ok, err)
		}
		if val, ok, gen, _ := v.GetGuarded(ctx, "k"); !ok || string(val) != "v1" || gen != g1 {
			t.Fatalf("GetGuarded(k) = %q, %v, gen %d; want v1, gen %d", val, ok, gen, g1)
		}
		if ok, _ := v.SetGuarded(ctx, "k", []byte("x"), time.Minute, g1+1, time.Minute); ok {
			t.Error("SetGuarded with another generation stored")
		}

		// The guarded key space is not the plain one.
		if _, ok, _ := c.Get(ctx, "k"); ok {
			t.Error("a guarded value is visible through Get")
		}
		_ = c.Set(ctx, "plain", []byte("p"), time.Minute)
		if _, ok, _, _ := v.GetGuarded(ctx, "plain"); ok {
			t.Error("a plain value is visible through GetGuarded")
		}

		if err := v.Bump(ctx, time.Minute, "k", "never-seen"); err != nil {
			t.Fatal(err)
		}
		_, ok, g2, _ := v.GetGuarded(ctx, "k")
		if ok || g2 == 0 || g2 == g1 {
			t.Fatalf("after Bump GetGuarded(k) = ok %v, gen %d (was %d); want no value and a new generation", ok, g2, g1)
		}
		if ok, _ := v.SetGuarded(ctx, "k", []byte("stale"), time.Minute, g1, time.Minute); ok {
			t.Error("a fill with the generation from before Bump stored")
		}
		if err := v.Bump(ctx, time.Minute); err != nil {
			t.Errorf("Bump with no keys: %v", err)
		}

		// A generation that vanished refuses fills that read it.
		g3, _ := v.Generation(ctx, "short", 100*time.Millisecond)
		time.Sleep(250 * time.Millisecond)
		if ok, _ := v.SetGuarded(ctx, "short", []byte("x"), time.Minute, g3, time.Minute); ok {
			t.Error("SetGuarded stored under an expired generation")
		}

		if ok, _ := v.SetGuarded(ctx, "k", []byte("v2"), time.Minute, g2, time.Minute); !ok {
			t.Fatal("SetGuarded with the bumped generation refused")
		}
		if err := v.FlushGuarded(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok, gen, _ := v.GetGuarded(ctx, "k"); ok || gen != 0 {
			t.Errorf("after FlushGuarded GetGuarded(k) = ok %v, gen %d", ok, gen)
		}
		if _, ok, _ := c.Get(ctx, "plain"); !ok {
			t.Error("FlushGuarded removed a plain key")
		}
		if err := v.Ping(ctx); err != nil {
			t.Error(err)
		}
	})
}

func TestAsideHitAfterMiss(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCache func() cache.Cache) {
		db := newFakeDB()
		db.set("sku:1", "price 10")
		a := newTestAside(t, newCache(), cache.AsideOptions{NegativeTTL: time.Minute})

		mustGet(t, a, "sku:1", db.loader("sku:1"), "price 10", true)
		v, _, _ := a.Get(t.Context(), "sku:1", db.loader("sku:1"))
		if string(v) != "price 10" || db.reads.Load() != 1 {
			t.Fatalf("second Get = %q after %d database reads; want a hit", v, db.reads.Load())
		}
		// The value is shared with the cache (no copy on the hot path): callers treat it as
		// read-only, as Get's documentation says.

		// Unknown keys are cached as such.
		mustGet(t, a, "sku:404", db.loader("sku:404"), "", false)
		mustGet(t, a, "sku:404", db.loader("sku:404"), "", false)
		if n := db.reads.Load(); n != 2 {
			t.Errorf("%d database reads, want 2 (one per key)", n)
		}
		for result, want := range map[string]float64{"hit": 1, "miss": 2, "negative_hit": 1, "bypass": 0} {
			if got := a.requests(t, result); got != want {
				t.Errorf("requests{result=%s} = %v, want %v", result, got, want)
			}
		}
		if got := a.metric(t, "partnerhub_cache_loads_total", "cache", "test"); got != 2 {
			t.Errorf("loads = %v, want 2", got)
		}
	})
}

func TestAsideNegativeCachingExpires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCache func() cache.Cache) {
		db := newFakeDB()
		db.set("other", "o")
		a := newTestAside(t, newCache(), cache.AsideOptions{TTL: time.Minute, NegativeTTL: 100 * time.Millisecond})

		mustGet(t, a, "new", db.loader("new"), "", false)
		mustGet(t, a, "other", db.loader("other"), "o", true)
		db.set("new", "n") // appears without an invalidation: only the negative TTL ends the miss
		mustGet(t, a, "new", db.loader("new"), "", false)
		if got := a.requests(t, "negative_hit"); got != 1 {
			t.Fatalf("negative hits = %v, want 1", got)
		}
		time.Sleep(250 * time.Millisecond) // > NegativeTTL·(1+Jitter)
		mustGet(t, a, "new", db.loader("new"), "n", true)
		before := db.reads.Load()
		mustGet(t, a, "other", db.loader("other"), "o", true)
		if db.reads.Load() != before {
			t.Error("the positive entry expired with the negative one")
		}
	})
}

func TestAsideInvalidate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCache func() cache.Cache) {
		ctx := t.Context()
		db := newFakeDB()
		db.set("price:1", "10 EUR")
		// Two instances of a service, each with its own client to the shared cache.
		a := newTestAside(t, newCache(), cache.AsideOptions{NegativeTTL: time.Minute})
		b := newTestAside(t, newCache(), cache.AsideOptions{NegativeTTL: time.Minute})

		mustGet(t, a, "price:1", db.loader("price:1"), "10 EUR", true)
		mustGet(t, b, "price:1", db.loader("price:1"), "10 EUR", true)
		if b.requests(t, "hit") != 1 {
			t.Fatal("the second instance did not hit what the first one filled")
		}

		db.set("price:1", "12 EUR")
		if err := a.Invalidate(ctx, "price:1"); err != nil {
			t.Fatal(err)
		}
		mustGet(t, b, "price:1", db.loader("price:1"), "12 EUR", true) // the other instance first
		mustGet(t, a, "price:1", db.loader("price:1"), "12 EUR", true)

		// And the other way round, for a key cached as unknown.
		mustGet(t, a, "price:2", db.loader("price:2"), "", false)
		db.set("price:2", "5 EUR")
		if err := b.Invalidate(ctx, "price:1", "price:2"); err != nil {
			t.Fatal(err)
		}
		mustGet(t, a, "price:2", db.loader("price:2"), "5 EUR", true)
		mustGet(t, a, "price:1", db.loader("price:1"), "12 EUR", true)
		if err := a.Invalidate(ctx); err != nil {
			t.Errorf("Invalidate() with no keys: %v", err)
		}
	})
}

func TestAsideConcurrentMissesLoadOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCache func() cache.Cache) {
		const n = 200
		a := newTestAside(t, newCache(), cache.AsideOptions{})
		var started sync.WaitGroup
		started.Add(n)
		var loads atomic.Int64
		load := func(context.Context) ([]byte, bool, error) {
			loads.Add(1)
			// Hold the load until every reader is under way, so they miss together. (A reader
			// that reaches the cache only after the fill simply hits: still one load.)
			started.Wait()
			return []byte("v"), true, nil
		}
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				started.Done()
				v, found, err := a.Get(t.Context(), "hot", load)
				if err != nil || !found || string(v) != "v" {
					t.Errorf("Get = %q, %v, %v", v, found, err)
				}
			})
		}
		wg.Wait()
		if got := loads.Load(); got != 1 {
			t.Errorf("%d concurrent misses made %d loads, want 1", n, got)
		}
		if got := a.metric(t, "partnerhub_cache_loads_total"); got != 1 {
			t.Errorf("loads_total = %v, want 1", got)
		}
	})
}

// TestAsideStaleFillRace is the race that cache-aside gets wrong: a reader loads the old row,
// the writer commits and invalidates, then the reader stores what it loaded, and the old value
// stays cached until its TTL. Here the reader is held between its load and its store while the
// write happens.
func TestAsideStaleFillRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCache func() cache.Cache) {
		ctx := t.Context()
		db := newFakeDB()
		db.set("price:1", "old")
		a := newTestAside(t, newCache(), cache.AsideOptions{})
		b := newTestAside(t, newCache(), cache.AsideOptions{})

		slowFirst, loaded, release := db.heldLoader("price:1")
		type result struct {
			v   string
			err error
		}
		done := make(chan result, 1)
		go func() {
			v, _, err := a.Get(ctx, "price:1", slowFirst)
			done <- result{string(v), err}
		}()

		<-loaded // the reader has read "old" from the database
		db.set("price:1", "new")
		if err := a.Invalidate(ctx, "price:1"); err != nil {
			t.Fatal(err)
		}
		// Reads that start now must not join the reader's load, on either instance.
		mustGet(t, a, "price:1", slowFirst, "new", true)
		mustGet(t, b, "price:1", slowFirst, "new", true)

		close(release)
		r := <-done
		// The held reader was concurrent with the write, so "old" is a correct answer for it...
		if r.err != nil || r.v != "old" {
			t.Fatalf("held reader got %q, %v", r.v, r.err)
		}
		// ...but it must not have been stored.
		for _, x := range []testAside{a, b} {
			mustGet(t, x, "price:1", db.loader("price:1"), "new", true)
		}
	})
}

func TestAsideLoadErrorsAreReturnedNotCached(t *testing.T) {
	forEachBackend(t, func(t *testing.T, newCache func() cache.Cache) {
		a := newTestAside(t, newCache(), cache.AsideOptions{NegativeTTL: time.Minute})
		boom := errors.New("database unavailable")
		_, _, err := a.Get(t.Context(), "k", func(context.Context) ([]byte, bool, error) { return nil, false, boom })
		if !errors.Is(err, boom) {
			t.Fatalf("Get with a failing load: err = %v, want %v", err, boom)
		}
		mustGet(t, a, "k", func(context.Context) ([]byte, bool, error) { return []byte("v"), true, nil }, "v", true)
	})
}

// TestAsideCallerCancellation: a caller that gives up gets its ctx error; the load it started
// goes on for the others and fills the cache.
func TestAsideCallerCancellation(t *testing.T) {
	a := newTestAside(t, cache.NewMemory(100), cache.AsideOptions{})
	release := make(chan struct{})
	var loads atomic.Int32
	load := func(ctx context.Context) ([]byte, bool, error) {
		loads.Add(1)
		<-release
		return []byte("v"), true, ctx.Err()
	}
	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		_, _, err := a.Get(ctx, "k", load)
		first <- err
	}()
	for loads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan string, 1)
	go func() {
		v, _, _ := a.Get(t.Context(), "k", load)
		second <- string(v)
	}()
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v", err)
	}
	close(release)
	if v := <-second; v != "v" {
		t.Fatalf("the other caller got %q, want the load's value", v)
	}
	mustGet(t, a, "k", load, "v", true)
	if n := loads.Load(); n > 2 {
		t.Errorf("%d loads", n)
	}
}

func TestAsideLoadPanicReachesCaller(t *testing.T) {
	a := newTestAside(t, cache.NewMemory(100), cache.AsideOptions{})
	defer func() {
		if p := recover(); p != "bug" {
			t.Errorf("recovered %v, want the load's panic", p)
		}
	}()
	_, _, _ = a.Get(t.Context(), "k", func(context.Context) ([]byte, bool, error) { panic("bug") })
	t.Error("Get returned after its load panicked")
}

func TestNewAsideNeedsVersioned(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewAside accepted a cache without generations")
		}
	}()
	cache.NewAside(plainCache{}, cache.AsideOptions{})
}

type plainCache struct{ cache.Cache }

// flaky is the network between instances and a shared cache: while down, every call fails.
type flaky struct {
	cache.Versioned
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (f *flaky) GetGuarded(ctx context.Context, key string) ([]byte, bool, uint64, error) {
	if f.down.Load() {
		return nil, false, 0, errDown
	}
	return f.Versioned.GetGuarded(ctx, key)
}

func (f *flaky) Generation(ctx context.Context, key string, ttl time.Duration) (uint64, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.Versioned.Generation(ctx, key, ttl)
}

func (f *flaky) SetGuarded(ctx context.Context, key string, value []byte, ttl time.Duration, gen uint64, genTTL time.Duration) (bool, error) {
	if f.down.Load() {
		return false, errDown
	}
	return f.Versioned.SetGuarded(ctx, key, value, ttl, gen, genTTL)
}

func (f *flaky) Bump(ctx context.Context, genTTL time.Duration, keys ...string) error {
	if f.down.Load() {
		return errDown
	}
	return f.Versioned.Bump(ctx, genTTL, keys...)
}

func (f *flaky) FlushGuarded(ctx context.Context) error {
	if f.down.Load() {
		return errDown
	}
	return f.Versioned.FlushGuarded(ctx)
}

func (f *flaky) Ping(ctx context.Context) error {
	if f.down.Load() {
		return errDown
	}
	return f.Versioned.Ping(ctx)
}

// outageScenario is the outage test on any backend: two instances A and B share a cache; the
// cache goes away (down), A writes and cannot invalidate, the cache comes back (up) with the old
// value still in it. Neither instance may ever serve the old value, and hits must resume.
// holdsStale reports whether the shared cache still holds the given value under the key.
func outageScenario(t *testing.T, a, b testAside, clock *fakeClock, logs *observer.ObservedLogs,
	down, up func(), holdsStale func(key, value string) bool) {
	ctx := t.Context()
	db := newFakeDB()
	db.set("price:1", "old")
	db.set("price:2", "p2")
	mustGet(t, a, "price:1", db.loader("price:1"), "old", true)
	mustGet(t, b, "price:1", db.loader("price:1"), "old", true) // a hit

	down()
	// Reads still succeed, from the database, on both instances; the errors are counted.
	for range 20 {
		mustGet(t, a, "price:1", db.loader("price:1"), "old", true)
		mustGet(t, b, "price:2", db.loader("price:2"), "p2", true)
	}
	for _, x := range []testAside{a, b} {
		if x.metric(t, "partnerhub_cache_errors_total") < 1 {
			t.Error("no cache error counted")
		}
		if x.metric(t, "partnerhub_cache_degraded") != 1 {
			t.Error("degraded gauge not set")
		}
		if x.requests(t, "bypass") < 19 {
			t.Errorf("bypass = %v, want the reads made during the outage", x.requests(t, "bypass"))
		}
	}
	// The write: commits, then cannot reach the cache.
	db.set("price:1", "new")
	err := a.Invalidate(ctx, "price:1")
	if !errors.Is(err, cache.ErrInvalidationDeferred) {
		t.Fatalf("Invalidate during the outage: err = %v, want ErrInvalidationDeferred", err)
	}
	mustGet(t, a, "price:1", db.loader("price:1"), "new", true)
	mustGet(t, b, "price:1", db.loader("price:1"), "new", true)

	up()
	// The clock is frozen, so both instances stay in their grace period and read the database
	// until A has delivered its invalidation, which it does by itself.
	deadline := time.Now().Add(30 * time.Second)
	for holdsStale("price:1", "old") {
		if time.Now().After(deadline) {
			t.Fatal("the owed invalidation was never delivered")
		}
		mustGet(t, a, "price:1", db.loader("price:1"), "new", true)
		mustGet(t, b, "price:1", db.loader("price:1"), "new", true)
		time.Sleep(5 * time.Millisecond)
	}
	// Many errors, one log line per instance: the clock has not moved 10 s during the outage.
	if n := logs.FilterMessage("cache unavailable, serving from the database").Len(); n != 2 {
		t.Errorf("%d warnings logged during the outage, want 1 per instance", n)
	}

	// Past the grace period, hits resume, with the new value. Each instance's grace starts when
	// its own retry sees the cache back, so the clock moves on until both have.
	hitsA, hitsB := a.requests(t, "hit"), b.requests(t, "hit")
	for a.requests(t, "hit") == hitsA || b.requests(t, "hit") == hitsB {
		if time.Now().After(deadline) {
			t.Fatal("hits did not resume")
		}
		clock.Advance(time.Minute)
		mustGet(t, a, "price:1", db.loader("price:1"), "new", true)
		mustGet(t, b, "price:1", db.loader("price:1"), "new", true)
		time.Sleep(5 * time.Millisecond)
	}
	for _, x := range []testAside{a, b} {
		mustGet(t, x, "price:2", db.loader("price:2"), "p2", true)
		if x.metric(t, "partnerhub_cache_degraded") != 0 {
			t.Error("degraded gauge still set after recovery")
		}
	}
	reads := db.reads.Load()
	for _, x := range []testAside{a, b} {
		hits := x.requests(t, "hit")
		mustGet(t, x, "price:1", db.loader("price:1"), "new", true)
		mustGet(t, x, "price:2", db.loader("price:2"), "p2", true)
		if x.requests(t, "hit") != hits+2 {
			t.Error("no hits after recovery")
		}
	}
	if db.reads.Load() != reads {
		t.Error("reads after recovery went to the database")
	}
}

func TestAsideOutage(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		m := cache.NewMemory(1000)
		net := &flaky{Versioned: m}
		clock := newFakeClock()
		core, logs := observer.New(zapcore.WarnLevel)
		opts := cache.AsideOptions{Now: clock.Now, Log: zap.New(core), RetryInterval: 5 * time.Millisecond}
		a, b := newTestAside(t, net, opts), newTestAside(t, net, opts)
		outageScenario(t, a, b, clock, logs,
			func() { net.down.Store(true) }, func() { net.down.Store(false) },
			memoryHolds(m))
	})
	t.Run("redis", func(t *testing.T) {
		addr, stop, start := testkit.StartRedisControlled(t)
		newClient := func() *redis.Client {
			// Short timeouts and one retry, as in production (see NewRedis).
			c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second,
				ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond,
				MaxRetries: 1, DialerRetries: 1})
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		raw := newClient()
		clock := newFakeClock()
		core, logs := observer.New(zapcore.WarnLevel)
		opts := cache.AsideOptions{Now: clock.Now, Log: zap.New(core), RetryInterval: 20 * time.Millisecond}
		a := newTestAside(t, cache.NewRedis(newClient(), "catalog:"), opts)
		b := newTestAside(t, cache.NewRedis(newClient(), "catalog:"), opts)
		inspect := cache.NewRedis(raw, "catalog:")
		if err := raw.Set(t.Context(), "survivor", "yes", 0).Err(); err != nil {
			t.Fatal(err)
		}
		outageScenario(t, a, b, clock, logs, stop, func() {
			start()
			// Redis kept its data, so the old price was there to be served: the test is not
			// passing merely because the restart emptied the cache.
			if v, err := raw.Get(t.Context(), "survivor").Result(); err != nil || v != "yes" {
				t.Fatalf("data did not survive the restart: %q, %v", v, err)
			}
		}, func(key, value string) bool {
			v, ok, _, err := inspect.GetGuarded(t.Context(), key)
			if err != nil {
				return true // not reachable yet: still to be shown clean
			}
			return ok && string(v) == "\x01"+value
		})
	})
}

// memoryHolds reports whether m holds value as the found entry under key.
func memoryHolds(m *cache.Memory) func(key, value string) bool {
	return func(key, value string) bool {
		v, ok, _, _ := m.GetGuarded(context.Background(), key)
		return ok && string(v) == "\x01"+value
	}
}

// TestAsideOutageBypassLoadsAreNotJoinedAfterInvalidate: while degraded, concurrent reads share a
// load without any generation; one that starts after the instance's own write must still not
// join a load that read the database before it.
func TestAsideOutageBypassLoadsAreNotJoinedAfterInvalidate(t *testing.T) {
	net := &flaky{Versioned: cache.NewMemory(100)}
	a := newTestAside(t, net, cache.AsideOptions{RetryInterval: time.Hour})
	net.down.Store(true)
	db := newFakeDB()
	db.set("k", "old")
	slowFirst, loaded, release := db.heldLoader("k")
	done := make(chan string, 1)
	go func() {
		v, _, _ := a.Get(t.Context(), "k", slowFirst)
		done <- string(v)
	}()
	<-loaded
	db.set("k", "new")
	if err := a.Invalidate(t.Context(), "k"); !errors.Is(err, cache.ErrInvalidationDeferred) {
		t.Fatalf("Invalidate: %v", err)
	}
	mustGet(t, a, "k", slowFirst, "new", true)
	close(release)
	if v := <-done; v != "old" {
		t.Errorf("held reader got %q", v)
	}
}

// TestAsideOutageTooManyOwedFlushesAll: past the bound on owed invalidations the Aside owes a
// flush of everything instead, and delivers that.
func TestAsideOutageTooManyOwedFlushesAll(t *testing.T) {
	m := cache.NewMemory(1000)
	net := &flaky{Versioned: m}
	clock := newFakeClock()
	a := newTestAside(t, net, cache.AsideOptions{Now: clock.Now, RetryInterval: 5 * time.Millisecond})
	cache.SetMaxPending(a.Aside, 2)
	db := newFakeDB()
	keys := []string{"k1", "k2", "k3", "unrelated"}
	for _, k := range keys {
		db.set(k, "old")
		mustGet(t, a, k, db.loader(k), "old", true)
	}
	net.down.Store(true)
	for _, k := range keys[:3] {
		db.set(k, "new")
	}
	if err := a.Invalidate(t.Context(), keys[:3]...); !errors.Is(err, cache.ErrInvalidationDeferred) {
		t.Fatalf("Invalidate: %v", err)
	}
	net.down.Store(false)
	holds := memoryHolds(m)
	deadline := time.Now().Add(30 * time.Second)
	for holds("unrelated", "old") { // the flush takes everything
		if time.Now().After(deadline) {
			t.Fatal("the owed flush was never delivered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, k := range keys[:3] {
		if holds(k, "old") {
			t.Errorf("%s still holds the old value after the flush", k)
		}
	}
	clock.Advance(time.Minute)
	for _, k := range keys[:3] {
		mustGet(t, a, k, db.loader(k), "new", true)
	}
	if got := a.metric(t, "partnerhub_cache_errors_total", "op", "invalidate"); got != 1 {
		t.Errorf("errors{op=invalidate} = %v, want 1", got)
	}
}

// TestAsideSharedRegistry: two Asides may register on one registry (the devstack runs several
// services in one process, a service may have several caches); they differ by label.
func TestAsideSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := cache.NewMemory(100)
	a := newTestAside(t, m, cache.AsideOptions{Name: "a", Registry: reg})
	b := newTestAside(t, m, cache.AsideOptions{Name: "b", Registry: reg})
	load := func(context.Context) ([]byte, bool, error) { return []byte("v"), true, nil }
	mustGet(t, a, "ka", load, "v", true)
	mustGet(t, b, "kb", load, "v", true)
	mustGet(t, b, "kb", load, "v", true)
	if got := a.metric(t, "partnerhub_cache_requests_total", "cache", "b", "result", "hit"); got != 1 {
		t.Errorf("requests{cache=b,result=hit} = %v, want 1", got)
	}
	if got := a.metric(t, "partnerhub_cache_requests_total", "cache", "a", "result", "hit"); got != 0 {
		t.Errorf("requests{cache=a,result=hit} = %v, want 0", got)
	}
}

func BenchmarkAsideHit(b *testing.B) {
	run := func(b *testing.B, c cache.Cache) {
		a := cache.NewAside(c, cache.AsideOptions{Name: "bench", TTL: time.Hour, Registry: prometheus.NewRegistry()})
		b.Cleanup(a.Close)
		benchWarmHits(b, a.Get)
	}
	b.Run("memory", func(b *testing.B) { run(b, cache.NewMemory(10_000)) })
	b.Run("redis", func(b *testing.B) {
		client := redis.NewClient(&redis.Options{Addr: testkit.StartRedis(b)})
		b.Cleanup(func() { _ = client.Close() })
		c := cache.NewRedis(client, fmt.Sprintf("bench%d:", time.Now().UnixNano()))
		run(b, c)
		// The floor: one plain GET of the same size on the same connection pool.
		b.Run("baseline-plain-get", func(b *testing.B) {
			ctx := context.Background()
			if err := c.Set(ctx, "plain", make([]byte, 513), time.Hour); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := c.Get(ctx, "plain"); err != nil || !ok {
					b.Fatal(err)
				}
			}
		})
	})
}

// getter is the read of Aside and Near.
type getter func(ctx context.Context, key string, load func(context.Context) ([]byte, bool, error)) ([]byte, bool, error)

// benchWarmHits measures warm hits of get on one 512-byte value (about a SKU with its prices),
// serially and from parallel goroutines.
func benchWarmHits(b *testing.B, get getter) {
	ctx := context.Background()
	value := make([]byte, 512)
	load := func(context.Context) ([]byte, bool, error) { return value, true, nil }
	if _, _, err := get(ctx, "sku:1", load); err != nil {
		b.Fatal(err)
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, found, err := get(ctx, "sku:1", load); err != nil || !found {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, found, err := get(ctx, "sku:1", load); err != nil || !found {
					b.Error(err)
					return
				}
			}
		})
	})
}
