// Package catalog is the composition root of the catalog service: products, SKUs, markets, prices and policies, read through a cache. Run is public so that
// deploy/devstack can run all six services in one process.
package catalog

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/partnerhub/partnerhub/pkg/cache"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/catalog/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/catalog/migrations"
	"google.golang.org/grpc"
)

// Name is the service name (config prefix PARTNERHUB_CATALOG_).
const Name = "catalog"

// Config is catalog's configuration.
type Config struct {
	svc.Base
	// RedisAddr is the Redis behind the catalog's read-through cache; empty uses an in-process
	// cache (the devstack default).
	RedisAddr string
}

// Bind binds catalog's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotCatalog)
	l.String(&c.RedisAddr, "redis-addr", "", "Redis address (host:port) for the catalog cache; empty: in-process cache")
	return c
}

// Run serves catalog until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	rt, err := svc.Open(ctx, cfg.Base, migrations.FS)
	if err != nil {
		return err
	}
	defer rt.Close()
	c := newCache(ctx, cfg.RedisAddr, rt.Log)
	return rt.Serve(ctx, svc.ServeConfig{Register: func(gs *grpc.Server) { grpcapi.Register(gs, c) }})
}

// newCache returns the catalog's cache: Redis when configured, else in-process. A Redis that
// does not answer at start is logged, not fatal: the catalog degrades to its database and the
// client reconnects by itself.
func newCache(ctx context.Context, addr string, log *zap.Logger) cache.Cache {
	if addr == "" {
		log.Info("catalog cache: in-process")
		return cache.NewMemory(100_000)
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		log.Warn("catalog cache: Redis does not answer yet; reads go to the database until it does",
			zap.String("redis_addr", addr), zap.Error(err))
	} else {
		log.Info("catalog cache: Redis", zap.String("redis_addr", addr))
	}
	return cache.NewRedis(client, "catalog:")
}
