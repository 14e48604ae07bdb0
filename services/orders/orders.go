// Package orders is the composition root of the orders service: orders, the order and key-redemption sagas, and the ledger. Run is public so that
// deploy/devstack can run all six services in one process.
package orders

import (
	"context"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/orders/migrations"
)

// Name is the service name (config prefix PARTNERHUB_ORDERS_).
const Name = "orders"

// Config is orders's configuration.
type Config struct {
	svc.Base
}

// Bind binds orders's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotOrders)
	return c
}

// Run serves orders until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	return svc.Run(ctx, cfg.Base, migrations.FS, grpcapi.Register)
}
