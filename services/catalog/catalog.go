// Package catalog is the composition root of the catalog service: products, SKUs, markets, prices and policies, read through a cache. Run is public so that
// deploy/devstack can run all six services in one process.
package catalog

import (
	"context"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/catalog/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/catalog/migrations"
)

// Name is the service name (config prefix PARTNERHUB_CATALOG_).
const Name = "catalog"

// Config is catalog's configuration.
type Config struct {
	svc.Base
}

// Bind binds catalog's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotCatalog)
	return c
}

// Run serves catalog until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	rt, err := svc.Open(ctx, cfg.Base, migrations.FS)
	if err != nil {
		return err
	}
	defer rt.Close()
	keys, err := rt.IdentityKeys()
	if err != nil {
		return err
	}
	return rt.Serve(ctx, svc.ServeConfig{Keys: keys, Register: grpcapi.Register})
}
