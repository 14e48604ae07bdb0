// Package delegatedadmin is the composition root of the delegatedadmin service: delegated-admin relationships and access checks. Run is public so that
// deploy/devstack can run all six services in one process.
package delegatedadmin

import (
	"context"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/migrations"
)

// Name is the service name (config prefix PARTNERHUB_DELEGATEDADMIN_).
const Name = "delegatedadmin"

// Config is delegatedadmin's configuration.
type Config struct {
	svc.Base
}

// Bind binds delegatedadmin's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotDelegatedAdmin)
	return c
}

// Run serves delegatedadmin until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	return svc.Run(ctx, cfg.Base, migrations.FS, grpcapi.Register)
}
