package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// ErrInvalidationDeferred is wrapped by the error of an Invalidate that could not reach the
// cache. The invalidation is not lost: the Aside owes it and delivers it before it uses the cache
// again (see the package documentation). The caller's write has committed and must not fail for
// this; log it and go on.
var ErrInvalidationDeferred = errors.New("cache: invalidation deferred until the cache is reachable")

// AsideOptions configure an Aside. Zero values mean the documented defaults.
type AsideOptions struct {
	// Name is the value of the "cache" label of the metrics and of the "cache" log field, e.g.
	// "catalog".
	Name string
	// TTL bounds how long a found value is served from the cache; default 1 minute. It is also
	// the bound on staleness in the few cases the package documentation lists, so keep it short.
	TTL time.Duration
	// Jitter spreads every TTL by ±Jitter·TTL (see the Jitter function); 0 means the default 0.1,
	// a negative value none.
	Jitter float64
	// NegativeTTL is how long "not found" is cached; 0 means not at all. Keep it short (seconds):
	// it is there to absorb bursts of lookups of unknown IDs, not to remember absences.
	NegativeTTL time.Duration
	// Registry receives the counters (nil: they are kept but not exported). Several Asides may
	// share a registry: they share the metric families and differ by the "cache" label.
	Registry *prometheus.Registry
	// Log receives the warnings on cache errors, at most one per 10 s (nil: no logging).
	Log *zap.Logger
	// Now is the clock of the degraded-mode timers and of the log rate limit; default time.Now.
	// (Entry TTLs run on the cache's own clock: Redis's, or the Memory's.)
	Now func() time.Time
	// RetryInterval is how often a degraded Aside tries the cache again and delivers the
	// invalidations it owes; default 1 s. After a success it waits 2×RetryInterval more before
	// reading from the cache again (see the package documentation for why).
	RetryInterval time.Duration
	// LoadTimeout bounds a load. Loads run detached from the callers' cancellation, so that one
	// impatient caller cannot fail the others waiting for the same load; default 10 s.
	LoadTimeout time.Duration
}

const (
	defaultTTL           = time.Minute
	defaultJitter        = 0.1
	defaultRetryInterval = time.Second
	defaultLoadTimeout   = 10 * time.Second
	// logInterval is the least time between two warnings of one Aside: an outage hits every
	// request, and one line per request would drown the log.
	logInterval = 10 * time.Second
	// defaultMaxPending bounds the invalidations an Aside remembers during an outage; beyond it
	// it owes a flush of all guarded keys instead, which costs a cold cache but no memory.
	defaultMaxPending = 100_000
)

// Encoding of a cached entry: one tag byte, then the value for a found one.
const (
	tagNotFound byte = 0
	tagFound    byte = 1
)

// health is the state of an Aside's relation to its cache.
type health int

const (
	healthy    health = iota // the cache is used
	broken                   // the cache failed, or invalidations are owed: bypassed, retried
	recovering               // the cache works again and nothing is owed: bypassed until resumeAt
)

// Aside is a cache-aside reader over a Versioned cache: see the package documentation for its
// guarantees. It is safe for concurrent use. Close stops its background retries.
type Aside struct {
	c           Versioned
	name        string
	ttl, negTTL time.Duration
	genTTL      time.Duration
	jitter      float64
	retry       time.Duration
	grace       time.Duration
	loadTimeout time.Duration
	maxPending  int
	log         *zap.Logger
	now         func() time.Time
	m           asideMetrics
	flights     flightGroup

	// usable is the hot path's view of state == healthy, read without the lock.
	usable atomic.Bool

	mu       sync.Mutex
	state    health
	resumeAt time.Time         // when recovering ends
	pending  map[string]uint64 // key → sequence number of its latest failed invalidation
	flushAll uint64            // sequence number of the latest owed flush; 0: none
	seq      uint64
	retrying bool // the retry goroutine runs
	closed   bool
	stop     chan struct{}
	wg       sync.WaitGroup

	logMu      sync.Mutex
	lastLog    time.Time
	suppressed int

	// broadcast, set by NewNear (at most one Near per Aside), tells the near caches of every
	// instance about invalidations the retry loop has just delivered to the cache: an owed
	// invalidation is not delivered until they have dropped the keys too, else an instance could
	// keep serving its near copy of a value the cache no longer holds. all means every key (an
	// owed flush). It is called without a.mu held; an error leaves the keys owed.
	broadcast func(keys []string, all bool) error
}

// NewAside returns a cache-aside reader over c, which must implement Versioned (Memory and Redis
// do): without per-key generations, a slow fill could store a stale value after an invalidation,
// and this type exists to rule that out. It panics otherwise, as that is a programming error.
func NewAside(c Cache, opts AsideOptions) *Aside {
	v, ok := c.(Versioned)
	if !ok {
		panic(fmt.Sprintf("cache: NewAside needs a cache implementing cache.Versioned, got %T", c))
	}
	a := &Aside{
		c:           v,
		name:        opts.Name,
		ttl:         opts.TTL,
		negTTL:      max(opts.NegativeTTL, 0),
		jitter:      opts.Jitter,
		retry:       opts.RetryInterval,
		loadTimeout: opts.LoadTimeout,
		maxPending:  defaultMaxPending,
		log:         opts.Log,
		now:         opts.Now,
		pending:     map[string]uint64{},
		stop:        make(chan struct{}),
	}
	if a.ttl <= 0 {
		a.ttl = defaultTTL
	}
	switch {
	case a.jitter == 0:
		a.jitter = defaultJitter
	case a.jitter < 0:
		a.jitter = 0
	}
	if a.retry <= 0 {
		a.retry = defaultRetryInterval
	}
	// Twice the retry interval: every other instance that owes invalidations retries once per
	// interval, so by then it has delivered them (see the package documentation).
	a.grace = 2 * a.retry
	if a.loadTimeout <= 0 {
		a.loadTimeout = defaultLoadTimeout
	}
	// A generation must outlive the value it guards (else the next miss pays a round trip to
	// create one) and any load in flight (else the fill is refused); twice the longest entry
	// TTL plus a load covers both.
	a.genTTL = 2*max(a.ttl, a.negTTL) + a.loadTimeout
	if a.log == nil {
		a.log = zap.NewNop()
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.m = newAsideMetrics(opts.Registry, a.name)
	a.usable.Store(true)
	return a
}

// Close stops the background retries of a degraded Aside and waits for them to end. Get and
// Invalidate keep working after Close, but an Aside that is degraded stays so. Closing is
// optional for an Aside that lives as long as its process.
func (a *Aside) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.stop)
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// Get returns the value under key; on a miss it calls load once per key at a time in this process
// (concurrent misses share one load), stores the result (found=false for NegativeTTL) and returns
// it. Any cache error (Redis down, timeout) degrades to load: counted, logged at most once per
// interval, never returned. Errors of load are returned as they are and not cached; a panic in
// load is re-raised in every caller waiting for it. The only other error is ctx's, when it ends
// first. The returned slice may be shared with the cache and other callers: never modify it.
func (a *Aside) Get(ctx context.Context, key string, load func(ctx context.Context) (value []byte, found bool, err error)) (value []byte, found bool, err error) {
	if !a.usable.Load() && !a.resume() {
		return a.bypass(ctx, key, load)
	}
	raw, ok, gen, err := a.c.GetGuarded(ctx, key)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up; that says nothing about the cache.
			return nil, false, fmt.Errorf("cache %s: get %q: %w", a.name, key, ctx.Err())
		}
		a.fail("get", err)
		return a.bypass(ctx, key, load)
	}
	if ok {
		if v, found, good := decode(raw); good {
			if found {
				a.m.hit.Inc()
			} else {
				a.m.negativeHit.Inc()
			}
			return v, found, nil
		}
		// Not ours (or damaged): a miss, which the fill overwrites.
	}
	if gen == 0 {
		if gen, err = a.c.Generation(ctx, key, a.genTTL); err != nil {
			if ctx.Err() != nil {
				return nil, false, fmt.Errorf("cache %s: get %q: %w", a.name, key, ctx.Err())
			}
			a.fail("generation", err)
			return a.bypass(ctx, key, load)
		}
	}
	a.m.miss.Inc()
	// The flight is keyed by generation too: a Get that starts after an invalidation sees the new
	// generation and so never joins a load that may have read the database before the write.
	return a.share(ctx, key, "g"+strconv.FormatUint(gen, 16), func(fctx context.Context) ([]byte, bool, error) {
		// Re-read before loading: a caller that missed just before another flight stored the
		// value and left would otherwise load again; this makes N concurrent misses cost one load.
		if raw, ok, _, err := a.c.GetGuarded(fctx, key); err == nil && ok {
			if v, found, good := decode(raw); good {
				return v, found, nil
			}
		}
		v, found, err := a.load(fctx, load)
		if err != nil {
			return nil, false, err
		}
		a.fill(fctx, key, gen, v, found)
		return v, found, nil
	})
}

// bypass serves a Get from load without the cache, sharing loads per key as Get does.
func (a *Aside) bypass(ctx context.Context, key string, load func(context.Context) ([]byte, bool, error)) ([]byte, bool, error) {
	a.m.bypass.Inc()
	return a.share(ctx, key, "b", func(fctx context.Context) ([]byte, bool, error) {
		return a.load(fctx, load)
	})
}

func (a *Aside) load(ctx context.Context, load func(context.Context) ([]byte, bool, error)) ([]byte, bool, error) {
	a.m.loads.Inc()
	v, found, err := load(ctx)
	if !found {
		v = nil
	}
	return v, found, err
}

// fill stores a loaded value if its generation is still gen. A refusal means an invalidation
// came in between: the value may be stale, so it is not stored; the callers still get it, since
// their reads were concurrent with the write.
func (a *Aside) fill(ctx context.Context, key string, gen uint64, v []byte, found bool) {
	ttl := a.ttl
	if !found {
		if a.negTTL <= 0 {
			return
		}
		ttl = a.negTTL
	}
	if !a.usable.Load() {
		// Degraded since the load started: this instance may owe invalidations, so it leaves the
		// cache alone until it has delivered them.
		return
	}
	if _, err := a.c.SetGuarded(ctx, key, encode(v, found), Jitter(ttl, a.jitter), gen, a.genTTL); err != nil && ctx.Err() == nil {
		a.fail("set", err)
	}
}

// Invalidate makes the next Get of each key, on every instance sharing the cache, load fresh data:
// call it after the database write commits and before the write returns.
//
// It runs to the end even if ctx is cancelled (the write has committed; its invalidation must
// not depend on the client still waiting). If the cache cannot be reached, the error wraps
// ErrInvalidationDeferred: this Aside then bypasses the cache until it has delivered the
// invalidation, and delivers it by itself (see the package documentation for what other
// instances may see meanwhile). Log such an error; do not fail the write for it.
func (a *Aside) Invalidate(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	// A Get that arrives after this returns must not join a bypass load that started before the
	// write committed. (Loads through the cache are keyed by generation, which the bump changes.)
	for _, k := range keys {
		a.flights.forget(k, "b")
	}
	err := a.c.Bump(context.WithoutCancel(ctx), a.genTTL, keys...)
	if err == nil {
		return nil
	}
	a.m.errors.WithLabelValues("invalidate").Inc()
	a.warn("invalidate", err)
	a.owe(keys)
	return fmt.Errorf("cache %s: invalidate %d keys: %w: %w", a.name, len(keys), ErrInvalidationDeferred, err)
}

// owe records invalidations of keys that are not (or not completely) delivered and degrades the
// Aside until the retry loop has delivered them. Invalidate uses it when the cache fails; Near
// when the cache took the invalidation but the broadcast to the near caches failed.
func (a *Aside) owe(keys []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.pending)+len(keys) > a.maxPending {
		// Too many to remember: owe a flush of everything instead, which covers these keys.
		a.seq++
		a.flushAll = a.seq
		clear(a.pending)
	} else {
		for _, k := range keys {
			a.seq++
			a.pending[k] = a.seq
		}
	}
	a.degradeLocked()
}

// fail records a cache error and degrades the Aside.
func (a *Aside) fail(op string, err error) {
	a.m.errors.WithLabelValues(op).Inc()
	a.warn(op, err)
	a.mu.Lock()
	a.degradeLocked()
	a.mu.Unlock()
}

// degradeLocked switches to bypassing the cache and starts the retries. a.mu is held.
func (a *Aside) degradeLocked() {
	if a.state != broken {
		a.state = broken
		a.usable.Store(false)
		a.m.degraded.Set(1)
	}
	if !a.retrying && !a.closed {
		a.retrying = true
		a.wg.Add(1)
		go a.retryLoop()
	}
}

// resume ends a recovering state whose grace period is over; it reports whether the cache may be
// used.
func (a *Aside) resume() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.state {
	case healthy:
		return true
	case recovering:
		if !a.now().Before(a.resumeAt) {
			a.state = healthy
			a.usable.Store(true)
			a.m.degraded.Set(0)
			a.log.Info("cache available again", zap.String("cache", a.name))
			return true
		}
	}
	return false
}

// retryLoop runs while the Aside is broken: it tries the cache once per retry interval, and when
// it succeeds it moves to recovering and ends. Tries happen here, not in Get, so that no request
// ever waits on a cache that is down or hung.
func (a *Aside) retryLoop() {
	defer a.wg.Done()
	t := time.NewTimer(a.retry)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			a.mu.Lock()
			a.retrying = false
			a.mu.Unlock()
			return
		case <-t.C:
		}
		if a.tryRecover() {
			return
		}
		t.Reset(a.retry)
	}
}

// tryRecover delivers what the Aside owes (a flush, else the pending invalidations, else just a
// ping) and, once nothing is owed, starts the grace period. It reports whether the loop is done.
func (a *Aside) tryRecover() bool {
	a.mu.Lock()
	flushAll := a.flushAll
	keys := make([]string, 0, len(a.pending))
	seqs := make([]uint64, 0, len(a.pending))
	for k, s := range a.pending {
		keys, seqs = append(keys, k), append(seqs, s)
	}
	broadcast := a.broadcast
	a.mu.Unlock()

	// The client's own timeouts bound each try as well; this keeps a try from outliving the
	// interval by much when they are long.
	ctx, cancel := context.WithTimeout(context.Background(), max(a.retry, time.Second))
	defer cancel()
	op := "probe"
	var err error
	switch {
	case flushAll != 0:
		op, err = "flush", a.c.FlushGuarded(ctx)
		if err == nil && broadcast != nil {
			// After the flush, not before: a near cache that dropped everything first could
			// refill from the old values still in the cache.
			op, err = "broadcast", broadcast(nil, true)
		}
	case len(keys) > 0:
		op, err = "invalidate", a.c.Bump(ctx, a.genTTL, keys...)
		if err == nil && broadcast != nil {
			op, err = "broadcast", broadcast(keys, false)
		}
	default:
		err = a.c.Ping(ctx)
	}
	if err != nil {
		a.m.errors.WithLabelValues(op).Inc()
		a.warn(op, err)
		return false
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	// Only what was delivered is struck off: an invalidation that failed while this try ran has a
	// newer sequence number and stays owed, since the try may have run before its write committed.
	if flushAll != 0 && a.flushAll == flushAll {
		a.flushAll = 0
		if a.seq == flushAll {
			clear(a.pending) // a flush covers every key owed before it
		}
	}
	for i, k := range keys {
		if a.pending[k] == seqs[i] {
			delete(a.pending, k)
		}
	}
	if len(a.pending) > 0 || a.flushAll != 0 {
		return false
	}
	if a.state == broken {
		a.state = recovering
		a.resumeAt = a.now().Add(a.grace)
	}
	a.retrying = false
	return true
}

// warn logs a cache error, at most once per logInterval, saying how many it kept quiet about.
func (a *Aside) warn(op string, err error) {
	a.logMu.Lock()
	now := a.now()
	if !a.lastLog.IsZero() && now.Sub(a.lastLog) < logInterval {
		a.suppressed++
		a.logMu.Unlock()
		return
	}
	n := a.suppressed
	a.lastLog, a.suppressed = now, 0
	a.logMu.Unlock()
	// suppressed: the errors not logged since the previous warning.
	a.log.Warn("cache unavailable, serving from the database",
		zap.String("cache", a.name), zap.String("op", op), zap.Error(err), zap.Int("suppressed", n))
}

// share runs fn once for concurrent callers with the same key and flight kind, detached from
// their cancellation and bounded by the load timeout; each caller waits until it is done or its
// own ctx is.
func (a *Aside) share(ctx context.Context, key, kind string, fn func(context.Context) ([]byte, bool, error)) ([]byte, bool, error) {
	f, leader := a.flights.join(key, kind)
	if leader {
		go func() {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.loadTimeout)
			defer cancel()
			defer a.flights.finish(key, kind, f)
			defer func() {
				if p := recover(); p != nil {
					f.panicked, f.panicValue = true, p
				}
			}()
			f.value, f.found, f.err = fn(fctx)
		}()
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, false, fmt.Errorf("cache %s: waiting for the load of %q: %w", a.name, key, ctx.Err())
	}
	if f.panicked {
		panic(f.panicValue)
	}
	if f.err != nil {
		return nil, false, f.err
	}
	// A copy each: callers may modify what they get, and they share one load.
	return slices.Clone(f.value), f.found, nil
}

func encode(v []byte, found bool) []byte {
	if !found {
		return []byte{tagNotFound}
	}
	b := make([]byte, 1+len(v))
	b[0] = tagFound
	copy(b[1:], v)
	return b
}

func decode(raw []byte) (v []byte, found, ok bool) {
	switch {
	case len(raw) == 1 && raw[0] == tagNotFound:
		return nil, false, true
	case len(raw) >= 1 && raw[0] == tagFound:
		return raw[1:], true, true
	}
	return nil, false, false
}

// flightGroup deduplicates concurrent loads, like x/sync/singleflight, but with waiting that
// honours each caller's ctx and a forget by key that Invalidate needs.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done       chan struct{}
	value      []byte
	found      bool
	err        error
	panicked   bool
	panicValue any
}

func flightKey(key, kind string) string { return kind + "\x00" + key }

// join returns the flight of key and kind, starting one (leader true) if there is none.
func (g *flightGroup) join(key, kind string) (*flight, bool) {
	k := flightKey(key, kind)
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[k]; ok {
		return f, false
	}
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	f := &flight{done: make(chan struct{})}
	g.m[k] = f
	return f, true
}

// finish publishes f's result (its fields are written before done is closed) and removes it,
// unless forget already replaced it.
func (g *flightGroup) finish(key, kind string, f *flight) {
	k := flightKey(key, kind)
	g.mu.Lock()
	if g.m[k] == f {
		delete(g.m, k)
	}
	g.mu.Unlock()
	close(f.done)
}

// forget makes later callers start a new flight instead of joining the current one.
func (g *flightGroup) forget(key, kind string) {
	g.mu.Lock()
	delete(g.m, flightKey(key, kind))
	g.mu.Unlock()
}

// asideMetrics are an Aside's counters, with its label values bound once so the hot path does
// not look them up.
type asideMetrics struct {
	hit, miss, negativeHit, bypass prometheus.Counter
	loads                          prometheus.Counter
	errors                         *prometheus.CounterVec // curried with the cache label; by op
	degraded                       prometheus.Gauge
}

func newAsideMetrics(reg *prometheus.Registry, name string) asideMetrics {
	requests := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "partnerhub_cache_requests_total",
		Help: "Cache-aside reads by result: hit, negative_hit (a cached \"not found\"), miss (loaded and filled), bypass (loaded without the cache, which is degraded).",
	}, []string{"cache", "result"}))
	errs := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "partnerhub_cache_errors_total",
		Help: "Cache operations that failed, by operation (get, generation, set, invalidate, flush, probe); reads are served from the database meanwhile.",
	}, []string{"cache", "op"}))
	loads := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "partnerhub_cache_loads_total",
		Help: "Loads from the source of truth (the database), after concurrent misses were merged.",
	}, []string{"cache"}))
	degraded := register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "partnerhub_cache_degraded",
		Help: "1 while the cache is bypassed because it failed or invalidations are owed to it, else 0.",
	}, []string{"cache"}))
	return asideMetrics{
		hit:         requests.WithLabelValues(name, "hit"),
		miss:        requests.WithLabelValues(name, "miss"),
		negativeHit: requests.WithLabelValues(name, "negative_hit"),
		bypass:      requests.WithLabelValues(name, "bypass"),
		loads:       loads.WithLabelValues(name),
		errors:      errs.MustCurryWith(prometheus.Labels{"cache": name}),
		degraded:    degraded.WithLabelValues(name),
	}
}

// register registers c, or returns the equal collector registered before (by another Aside on
// the same registry); with no registry c just stays unexported.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A different metric under the same name is a programming error, caught at start-up.
		panic(fmt.Sprintf("cache: register metrics: %v", err))
	}
	return c
}
