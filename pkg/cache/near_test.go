package cache_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/partnerhub/partnerhub/pkg/cache"
	"github.com/partnerhub/partnerhub/pkg/testkit"
)

// Short durations keep the tests fast; nothing below asserts a duration, only the order of
// events the protocol guarantees.
func fastNearOptions() cache.NearOptions {
	return cache.NearOptions{LeaseTTL: 400 * time.Millisecond, ServeFor: 200 * time.Millisecond,
		Heartbeat: 40 * time.Millisecond, AckTimeout: 150 * time.Millisecond}
}

// mgetCounter counts the MGETs of a client: Aside's read of a value with its generation, the
// one command a Get through the shared cache always sends.
type mgetCounter struct{ n atomic.Int64 }

func (c *mgetCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *mgetCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "mget" {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *mgetCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// nearInstance is one instance of a service: its own client, Aside and Near over a shared Redis.
type nearInstance struct {
	*cache.Near
	aside testAside
	mgets *mgetCounter
}

func newNearInstance(t testing.TB, addr, prefix string, opts cache.NearOptions) nearInstance {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		MaxRetries: 1, DialerRetries: 1, ContextTimeoutEnabled: true})
	counter := &mgetCounter{}
	client.AddHook(counter)
	reg := prometheus.NewRegistry()
	a := cache.NewAside(cache.NewRedis(client, prefix), cache.AsideOptions{Name: "test", TTL: time.Minute,
		NegativeTTL: time.Minute, Registry: reg, RetryInterval: 50 * time.Millisecond})
	opts.Registry = reg
	n := cache.NewNear(a, client, opts)
	// Cleanups run last-in first-out: the Near, then the Aside, then the client.
	t.Cleanup(func() { _ = client.Close() })
	t.Cleanup(a.Close)
	t.Cleanup(n.Close)
	return nearInstance{Near: n, aside: testAside{Aside: a, reg: reg}, mgets: counter}
}

func (x nearInstance) near(t *testing.T, result string) float64 {
	t.Helper()
	return x.aside.metric(t, "partnerhub_cache_near_requests_total", "result", result)
}

// waitUsable waits until every instance has its near cache on.
func waitUsable(t *testing.T, xs ...nearInstance) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, x := range xs {
		for !x.Usable() {
			if time.Now().After(deadline) {
				t.Fatal("the near cache never came on")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func nearGet(t *testing.T, x nearInstance, k string, load func(context.Context) ([]byte, bool, error), want string, wantFound bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	v, found, err := x.Get(ctx, k, load)
	if err != nil || found != wantFound || string(v) != want {
		t.Fatalf("Get(%s) = %q, %v, %v; want %q, %v", k, v, found, err, want, wantFound)
	}
}

func nearPrefix(t *testing.T) string { return fmt.Sprintf("%s:%d:", t.Name(), time.Now().UnixNano()) }

func TestNearHitAfterMissSkipsRedis(t *testing.T) {
	addr := testkit.StartRedis(t)
	a := newNearInstance(t, addr, nearPrefix(t), fastNearOptions())
	waitUsable(t, a)
	db := newFakeDB()
	db.set("sku:1", "v1")

	nearGet(t, a, "sku:1", db.loader("sku:1"), "v1", true) // miss: Redis, then the database
	nearGet(t, a, "sku:404", db.loader("sku:404"), "", false)
	mgets := a.mgets.n.Load()
	for range 10 {
		nearGet(t, a, "sku:1", db.loader("sku:1"), "v1", true)
		nearGet(t, a, "sku:404", db.loader("sku:404"), "", false)
	}
	if n := a.mgets.n.Load() - mgets; n != 0 {
		t.Errorf("%d Redis reads for 20 near hits", n)
	}
	if n := db.reads.Load(); n != 2 {
		t.Errorf("%d database reads, want 2", n)
	}
	if hits := a.near(t, "hit"); hits != 20 {
		t.Errorf("near hits = %v, want 20", hits)
	}
}

// TestNearInvalidateAcrossInstances: a write on one instance is seen at once by the other,
// whose near cache held the old value (its second read of each round is a near hit).
func TestNearInvalidateAcrossInstances(t *testing.T) {
	addr := testkit.StartRedis(t)
	prefix := nearPrefix(t)
	// Generous acknowledgement timeout: a revocation is correct but would empty a near cache
	// and cost this test its hits.
	opts := cache.NearOptions{AckTimeout: time.Second, LeaseTTL: 2 * time.Second, Heartbeat: 100 * time.Millisecond}
	a, b := newNearInstance(t, addr, prefix, opts), newNearInstance(t, addr, prefix, opts)
	waitUsable(t, a, b)
	db := newFakeDB()
	const rounds = 200
	for i := range rounds {
		want := "price " + strconv.Itoa(i)
		db.set("price:1", want)
		writer := []nearInstance{a, b}[i%2]
		if i > 0 {
			if err := writer.Invalidate(t.Context(), "price:1"); err != nil {
				t.Fatal(err)
			}
		}
		waitUsable(t, a, b)
		for _, x := range []nearInstance{b, a} {
			nearGet(t, x, "price:1", db.loader("price:1"), want, true)
			nearGet(t, x, "price:1", db.loader("price:1"), want, true) // from the near cache
		}
	}
	for name, x := range map[string]nearInstance{"a": a, "b": b} {
		// A lease revoked for a slow acknowledgement (a loaded machine) empties the near cache:
		// correct, and it costs the hits of the rounds until the lease is back, so only a run
		// without revocations must have a near hit in every round it read near.
		// Likewise a lease that lapsed between waitUsable and a read makes that read a bypass.
		r := x.aside.metric(t, "partnerhub_cache_near_revocations_total")
		want := float64(rounds) - x.near(t, "bypass")
		if r != 0 {
			t.Logf("%s revoked %v leases (slow acknowledgements; correct, but unexpected here)", name, r)
			want = rounds / 2
		}
		if hits := x.near(t, "hit"); hits < want {
			t.Errorf("%s: %v near hits with %v revocations, want at least %v", name, hits, r, want)
		}
	}
}

// TestNearStaleFillRace: B reads the old row, A writes and invalidates, then B's read ends. B
// answers that read with the old value (it was concurrent with the write) but must not keep it
// in its near cache.
func TestNearStaleFillRace(t *testing.T) {
	addr := testkit.StartRedis(t)
	prefix := nearPrefix(t)
	a, b := newNearInstance(t, addr, prefix, fastNearOptions()), newNearInstance(t, addr, prefix, fastNearOptions())
	waitUsable(t, a, b)
	db := newFakeDB()
	db.set("price:1", "old")
	slowFirst, loaded, release := db.heldLoader("price:1")
	done := make(chan string, 1)
	go func() {
		v, _, err := b.Get(t.Context(), "price:1", slowFirst)
		if err != nil {
			t.Error(err)
		}
		done <- string(v)
	}()
	<-loaded
	db.set("price:1", "new")
	if err := a.Invalidate(t.Context(), "price:1"); err != nil {
		t.Fatal(err)
	}
	close(release)
	if v := <-done; v != "old" {
		t.Fatalf("held reader got %q", v)
	}
	waitUsable(t, b)
	nearGet(t, b, "price:1", db.loader("price:1"), "new", true)
	nearGet(t, b, "price:1", db.loader("price:1"), "new", true)
	if hits := b.near(t, "hit"); hits < 1 {
		t.Errorf("near hits = %v: the near cache was not exercised", hits)
	}
}

// proxy is a TCP proxy in front of Redis that can cut the network silently: while cut, bytes
// are swallowed (no reset, no close: a partition, not a crash) and new connections hang.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			_ = c.Close()
		}
	})
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		go func() {
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			go p.pipe(up, c)
			p.pipe(c, up)
		}()
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			cut := p.cut
			p.mu.Unlock()
			if !cut {
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
		}
		if err != nil {
			_ = dst.Close()
			return
		}
	}
}

func (p *proxy) partition() {
	p.mu.Lock()
	p.cut = true
	p.mu.Unlock()
}

// heal ends the partition; the connections that lived through it have lost bytes, so they are
// closed and the clients reconnect.
func (p *proxy) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// TestNearPartitionedInstance: B is cut off from Redis (silently). A's write must not return
// while B could still serve its near copy: A's Invalidate succeeds (A reaches Redis) only once
// B's near cache is off, and B then reads the new value from the database, without an error.
// When the partition heals, B's near cache comes back.
func TestNearPartitionedInstance(t *testing.T) {
	addr := testkit.StartRedis(t)
	prefix := nearPrefix(t)
	px := startProxy(t, addr)
	// An acknowledgement timeout much shorter than ServeFor: A gives up on B's acknowledgement
	// while B may still use its near cache, so only the wait for B's lease keeps A's write from
	// returning too early.
	opts := cache.NearOptions{LeaseTTL: 600 * time.Millisecond, ServeFor: 300 * time.Millisecond,
		Heartbeat: 40 * time.Millisecond, AckTimeout: 20 * time.Millisecond}
	a := newNearInstance(t, addr, prefix, opts)
	b := newNearInstance(t, px.addr(), prefix, opts)
	waitUsable(t, a, b)
	db := newFakeDB()
	db.set("price:1", "old")
	nearGet(t, b, "price:1", db.loader("price:1"), "old", true)
	nearGet(t, b, "price:1", db.loader("price:1"), "old", true)
	if b.near(t, "hit") != 1 {
		t.Fatal("B does not hold the value in its near cache")
	}

	px.partition()
	db.set("price:1", "new")
	if err := a.Invalidate(t.Context(), "price:1"); err != nil {
		t.Fatalf("Invalidate on the instance that reaches Redis: %v", err)
	}
	// The guarantee: once Invalidate has returned, B's near cache is off.
	if b.Usable() {
		t.Fatal("B's near cache is still on after A's Invalidate returned")
	}
	for range 5 {
		nearGet(t, b, "price:1", db.loader("price:1"), "new", true) // from the database
	}
	t.Logf("A revoked %v leases", a.aside.metric(t, "partnerhub_cache_near_revocations_total"))

	px.heal()
	waitUsable(t, b)
	nearGet(t, b, "price:1", db.loader("price:1"), "new", true)
	hits := b.near(t, "hit")
	nearGet(t, b, "price:1", db.loader("price:1"), "new", true)
	if b.near(t, "hit") != hits+1 {
		t.Error("no near hit after the partition healed")
	}
}

// TestNearWriterPartitionedDeliversLater: the writer A cannot reach Redis; its invalidation is
// owed. B, which reaches Redis, may serve its near copy meanwhile (the documented partition
// case); when A's retry delivers the invalidation, it broadcasts it too, and B drops the key.
func TestNearWriterPartitionedDeliversLater(t *testing.T) {
	addr := testkit.StartRedis(t)
	prefix := nearPrefix(t)
	px := startProxy(t, addr)
	a := newNearInstance(t, px.addr(), prefix, fastNearOptions())
	b := newNearInstance(t, addr, prefix, fastNearOptions())
	waitUsable(t, a, b)
	db := newFakeDB()
	db.set("price:1", "old")
	nearGet(t, b, "price:1", db.loader("price:1"), "old", true)

	px.partition()
	db.set("price:1", "new")
	if err := a.Invalidate(t.Context(), "price:1"); !errors.Is(err, cache.ErrInvalidationDeferred) {
		t.Fatalf("Invalidate while cut off: err = %v, want ErrInvalidationDeferred", err)
	}
	nearGet(t, a, "price:1", db.loader("price:1"), "new", true) // the writer: never stale
	px.heal()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, _, err := b.Get(t.Context(), "price:1", db.loader("price:1"))
		if err != nil {
			t.Fatal(err)
		}
		if string(v) == "new" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B still serves the old value: the owed invalidation was not broadcast")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNearRedisOutage: Redis stops; both instances answer from the database, never an error,
// and a write made meanwhile is seen by both. Redis back: near hits resume, with the new value.
func TestNearRedisOutage(t *testing.T) {
	addr, stop, start := testkit.StartRedisControlled(t)
	a := newNearInstance(t, addr, "catalog:", fastNearOptions())
	b := newNearInstance(t, addr, "catalog:", fastNearOptions())
	waitUsable(t, a, b)
	db := newFakeDB()
	db.set("price:1", "old")
	db.set("price:2", "p2")
	for _, x := range []nearInstance{a, b} {
		nearGet(t, x, "price:1", db.loader("price:1"), "old", true)
		nearGet(t, x, "price:1", db.loader("price:1"), "old", true)
	}

	stop()
	for range 10 {
		for _, x := range []nearInstance{a, b} {
			nearGet(t, x, "price:1", db.loader("price:1"), "old", true)
			nearGet(t, x, "price:2", db.loader("price:2"), "p2", true)
		}
	}
	db.set("price:1", "new")
	if err := a.Invalidate(t.Context(), "price:1"); !errors.Is(err, cache.ErrInvalidationDeferred) {
		t.Fatalf("Invalidate during the outage: err = %v, want ErrInvalidationDeferred", err)
	}
	for _, x := range []nearInstance{a, b} {
		nearGet(t, x, "price:1", db.loader("price:1"), "new", true)
	}

	start()
	waitUsable(t, a, b)
	for _, x := range []nearInstance{a, b} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			nearGet(t, x, "price:1", db.loader("price:1"), "new", true)
			hits := x.near(t, "hit")
			nearGet(t, x, "price:1", db.loader("price:1"), "new", true)
			if x.near(t, "hit") > hits {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no near hits after Redis came back")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestNearCloseGivesLeaseBack: a closed instance is not waited for.
func TestNearCloseGivesLeaseBack(t *testing.T) {
	addr := testkit.StartRedis(t)
	prefix := nearPrefix(t)
	a, b := newNearInstance(t, addr, prefix, fastNearOptions()), newNearInstance(t, addr, prefix, fastNearOptions())
	waitUsable(t, a, b)
	b.Close()
	if b.Usable() {
		t.Error("near cache on after Close")
	}
	if err := a.Invalidate(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	if r := a.aside.metric(t, "partnerhub_cache_near_revocations_total"); r != 0 {
		t.Errorf("%v leases revoked: the closed instance's lease was not given back", r)
	}
	// Still usable through the Aside after Close.
	nearGet(t, b, "k", func(context.Context) ([]byte, bool, error) { return []byte("v"), true, nil }, "v", true)
}

func TestNewNearOptions(t *testing.T) {
	a := cache.NewAside(cache.NewMemory(10), cache.AsideOptions{})
	defer a.Close()
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer func() { _ = client.Close() }()
	defer func() {
		if recover() == nil {
			t.Error("NewNear accepted ServeFor ≥ LeaseTTL")
		}
	}()
	cache.NewNear(a, client, cache.NearOptions{LeaseTTL: time.Second, ServeFor: time.Second})
}

// BenchmarkNearHit: a warm near hit, to compare with BenchmarkAsideHit/memory.
func BenchmarkNearHit(b *testing.B) {
	addr := testkit.StartRedis(b)
	client := redis.NewClient(&redis.Options{Addr: addr})
	b.Cleanup(func() { _ = client.Close() })
	a := cache.NewAside(cache.NewRedis(client, fmt.Sprintf("bench%d:", time.Now().UnixNano())),
		cache.AsideOptions{Name: "bench", TTL: time.Hour, Registry: prometheus.NewRegistry()})
	b.Cleanup(a.Close)
	n := cache.NewNear(a, client, cache.NearOptions{})
	b.Cleanup(n.Close)
	for !n.Usable() {
		time.Sleep(time.Millisecond)
	}
	benchWarmHits(b, n.Get)
}
