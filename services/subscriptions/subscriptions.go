// Package subscriptions is the composition root of the subscriptions service: the subscription lifecycle, renewals, transfers and the events feed. Run is public so that
// deploy/devstack can run all six services in one process.
package subscriptions

import (
	"context"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/subscriptions/migrations"
)

// Name is the service name (config prefix PARTNERHUB_SUBSCRIPTIONS_).
const Name = "subscriptions"

// Config is subscriptions's configuration.
type Config struct {
	svc.Base
}

// Bind binds subscriptions's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotSubscriptions)
	return c
}

// Run serves subscriptions until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	return svc.Run(ctx, cfg.Base, migrations.FS, grpcapi.Register)
}
