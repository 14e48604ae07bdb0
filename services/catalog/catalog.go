// Package catalog is the composition root of the catalog service: products, SKUs, markets,
// prices and policies (CA-1..CA-11), read through a cache-aside cache (Redis with a coherent
// in-process near cache in front, or in-process only in the devstack). Run is public so that
// deploy/devstack can run all six services in one process.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/cache"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	"github.com/partnerhub/partnerhub/services/catalog/internal/adapters/cached"
	"github.com/partnerhub/partnerhub/services/catalog/internal/adapters/identity"
	catalogsql "github.com/partnerhub/partnerhub/services/catalog/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/catalog/migrations"
	"github.com/partnerhub/partnerhub/services/catalog/seed"
)

// Name is the service name (config prefix PARTNERHUB_CATALOG_).
const Name = "catalog"

// StoreReadsMetric is the counter of repository reads that reached the database, labelled op
// (product, sku, price, products, skus, offers, tx_*, empty): on a warm cache it stays flat.
const StoreReadsMetric = catalogsql.ReadsMetric

// NegativeTTL is how long an unknown SKU, product or price is remembered as unknown: long enough
// to absorb a burst of lookups of a bad ID, short enough not to matter (a write invalidates it
// anyway).
const NegativeTTL = 5 * time.Second

// Config is catalog's configuration.
type Config struct {
	svc.Base
	// RedisAddr is the Redis behind the catalog's read-through cache; empty uses an in-process
	// cache (the devstack default).
	RedisAddr string
	// Seed imports the embedded seed catalog (services/catalog/seed) on start when the catalog
	// has no product yet. It retries in the background until identity (the markets) answers.
	Seed bool
	// CacheTTL is how long a cached catalog value is served at most (±10 % jitter); writes
	// invalidate at once, so it only bounds staleness in the cases pkg/cache documents. Zero
	// means the default, one minute.
	CacheTTL time.Duration
}

// Bind binds catalog's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotCatalog)
	l.String(&c.RedisAddr, "redis-addr", "", "Redis address (host:port) for the catalog cache; empty: in-process cache")
	l.Bool(&c.Seed, "seed", false, "import the embedded seed catalog on start when the catalog is empty")
	l.Duration(&c.CacheTTL, "cache-ttl", time.Minute, "how long a cached catalog value is served at most (writes invalidate at once)")
	return c
}

// Run serves catalog until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	switch {
	case cfg.CacheTTL == 0: // a Config built without Bind
		cfg.CacheTTL = time.Minute
	case cfg.CacheTTL < time.Second:
		return fmt.Errorf("cache-ttl %s: at least 1s is required", cfg.CacheTTL)
	}
	rt, err := svc.Open(ctx, cfg.Base, migrations.FS)
	if err != nil {
		return err
	}
	defer rt.Close()
	if cfg.ServiceSecret == "" {
		rt.Log.Warn("service-secret is not set: markets, partners and customers cannot be asked of identity; " +
			"CheckAvailability, GetPrice, ListPurchasableOffers and imports answer UNAVAILABLE")
	}
	// The runtime owns the connection. Its calls carry catalog's own service token: markets,
	// programs and relationships are catalog's own questions about the caller's partner.
	conn, err := rt.DialPeer(cfg.IdentityAddr)
	if err != nil {
		return fmt.Errorf("identity-addr %q: %w", cfg.IdentityAddr, err)
	}
	c, client, closeCache := newCache(ctx, cfg.RedisAddr, rt.Log)
	defer closeCache()
	parts, err := build(deps{db: rt.DB, cache: c, redis: client, cacheTTL: cfg.CacheTTL, clock: rt.Clock, log: rt.Log,
		metrics: rt.Metrics, identity: conn})
	if err != nil {
		return err
	}
	defer parts.close() // before closeCache: the near cache gives its lease back through the client

	// Background work stops with the server, and Run waits for it before the database closes.
	jobs := []func(context.Context){parts.markets.Run}
	if cfg.Seed {
		jobs = append(jobs, func(ctx context.Context) { seedLoop(ctx, parts.app, rt.Log) })
	}
	return rt.Serve(ctx, svc.ServeConfig{Register: func(gs *grpc.Server) { grpcapi.Register(gs, parts.app) }, Background: jobs})
}

// deps are what build wires together.
type deps struct {
	db    *store.DB
	cache cache.Cache // must implement cache.Versioned (Memory and Redis do)
	// redis is the client behind cache when it is Redis (nil for the in-process cache): the near
	// cache in front of the Aside talks to the other instances through it.
	redis    redis.UniversalClient
	cacheTTL time.Duration
	clock    clock.Clock
	log      *zap.Logger
	metrics  *prometheus.Registry
	identity grpc.ClientConnInterface // identity, with catalog's service token
}

// parts are the built service.
type parts struct {
	app     *app.App
	aside   *cache.Aside
	near    *cache.Near // nil with the in-process cache
	markets *identity.Markets
}

// close stops the caches' goroutines, the near cache first: it gives its lease back, so that
// other instances' writes stop waiting for it at once.
func (p parts) close() {
	if p.near != nil {
		p.near.Close()
	}
	p.aside.Close()
}

// build wires the use cases: SQL repository (counting its reads), the cache decorator over it,
// identity's markets, partners and relationships.
func build(d deps) (parts, error) {
	reads := catalogsql.NewReadCounter()
	if d.metrics != nil {
		if err := d.metrics.Register(reads); err != nil {
			return parts{}, fmt.Errorf("register %s: %w", catalogsql.ReadsMetric, err)
		}
	}
	aside := cache.NewAside(d.cache, cache.AsideOptions{Name: Name, TTL: d.cacheTTL, NegativeTTL: NegativeTTL,
		Registry: d.metrics, Log: d.log})
	p := parts{aside: aside, markets: identity.NewMarkets(d.identity, identity.MarketsOptions{Log: d.log})}
	// With Redis, a near cache in each instance answers warm reads without a round trip (issue
	// 4: GetSku at close to an empty RPC's throughput), kept exactly as fresh as Redis by
	// pkg/cache's lease protocol: a write's invalidation returns only once no instance can serve
	// the old value from its near cache. In process, the Aside's cache is already near.
	var reader cached.Aside = aside
	if d.redis != nil {
		p.near = cache.NewNear(aside, d.redis, cache.NearOptions{Prefix: redisPrefix, InstanceID: Name,
			MaxEntries: 100_000, Registry: d.metrics, Log: d.log})
		reader = p.near
	}
	repo := cached.New(catalogsql.New(d.db, reads), reader, func(err error) {
		d.log.Warn("catalog cache: invalidation deferred until the cache answers", zap.Error(err))
	})
	checker := tenancy.New(identityv1.NewRelationshipServiceClient(d.identity), nil, tenancy.Options{})
	p.app = app.New(repo, p.markets, identity.NewPartners(d.identity, 0, nil), identity.NewCustomers(checker), d.clock)
	return p, nil
}

// seedLoop imports the seed catalog if the catalog is empty, retrying while identity (which the
// import's market checks need) does not answer. A seed file the rules refuse is a bug: logged,
// not retried.
func seedLoop(ctx context.Context, a *app.App, log *zap.Logger) {
	wait := time.Second
	for {
		seeded, sum, err := a.SeedIfEmpty(ctx, seed.File)
		switch {
		case err == nil && seeded:
			log.Info("seed catalog imported", zap.Int("products", sum.ProductsCreated),
				zap.Int("skus", sum.SkusCreated), zap.Int("prices", sum.PricesSet))
			// Parsing and checking the file leaves some 30 MB of garbage, which the runtime would
			// keep resident for minutes (until GC cycles and its scavenger get to it): an idle
			// catalog measured 43 MB against its 40 MB budget. Give it back now, once.
			debug.FreeOSMemory()
			return
		case err == nil:
			log.Info("seed catalog: the catalog is not empty; nothing imported")
			return
		case errs.HasReason(err, domain.ReasonCatalogInvalid):
			log.Error("seed catalog refused", zap.Error(err))
			return
		case ctx.Err() != nil:
			return
		}
		log.Warn("seed catalog: retrying", zap.Duration("in", wait), zap.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// redisPrefix is the catalog's key prefix in a Redis shared with other services.
const redisPrefix = "catalog:"

// newCache returns the catalog's cache, its Redis client (nil in process) and how to close them:
// Redis when configured, else in-process. A Redis that does not answer at start is logged, not
// fatal: the catalog degrades to its database and the client reconnects by itself. The client's timeouts are short (pkg/cache
// NewRedis): a hung Redis must not hold requests up for long before the Aside bypasses it.
func newCache(ctx context.Context, addr string, log *zap.Logger) (cache.Cache, redis.UniversalClient, func()) {
	if addr == "" {
		log.Info("catalog cache: in-process")
		return cache.NewMemory(100_000), nil, func() {}
	}
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, MaxRetries: 1, DialerRetries: 1, ContextTimeoutEnabled: true})
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		log.Warn("catalog cache: Redis does not answer yet; reads go to the database until it does",
			zap.String("redis_addr", addr), zap.Error(err))
	} else {
		log.Info("catalog cache: Redis", zap.String("redis_addr", addr))
	}
	return cache.NewRedis(client, redisPrefix), client, func() {
		if err := client.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			log.Warn("catalog cache: close Redis client", zap.Error(err))
		}
	}
}
