// Package keys is the composition root of the keys service: entitlements, MAK keys, Open key cards, downloads and the activity log. Run is public so that
// deploy/devstack can run all six services in one process.
package keys

import (
	"context"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/keys/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/keys/migrations"
)

// Name is the service name (config prefix PARTNERHUB_KEYS_).
const Name = "keys"

// Config is keys's configuration.
type Config struct {
	svc.Base
}

// Bind binds keys's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotKeys)
	return c
}

// Run serves keys until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	return svc.Run(ctx, cfg.Base, migrations.FS, grpcapi.Register)
}
