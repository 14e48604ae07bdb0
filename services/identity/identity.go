// Package identity is the composition root of the identity service: partners, users, customers,
// reseller relationships, and the tokens every other service verifies. Run is public so that
// deploy/devstack can run all six services in one process.
package identity

import (
	"context"
	"fmt"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/identity/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/identity/migrations"
)

// Name is the service name (config prefix PARTNERHUB_IDENTITY_).
const Name = "identity"

// Demo credential of the devstack: client ID and where it is documented.
const (
	DemoClientID  = app.DemoClientID
	DemoPartnerID = app.DemoPartnerID
)

// Config is identity's configuration.
type Config struct {
	svc.Base
	// Demo seeds, on first start, a demo partner with an Admin agent user and the API
	// credential DemoClientID / DemoClientSecret (devstack, compose, e2e).
	Demo             bool
	DemoClientSecret string
}

// Bind binds identity's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotIdentity)
	l.Bool(&c.Demo, "demo", false, "seed a demo partner, Admin agent user and API credential on first start")
	l.String(&c.DemoClientSecret, "demo-client-secret", "", "secret of the demo credential (client ID "+DemoClientID+"); required with --demo")
	return c
}

// Run serves identity until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Demo && len(cfg.DemoClientSecret) < 16 {
		return fmt.Errorf("demo-client-secret: at least 16 characters are required with --demo")
	}
	rt, err := svc.Open(ctx, cfg.Base, migrations.FS)
	if err != nil {
		return err
	}
	defer rt.Close()
	a := app.New(sql.New(rt.DB), rt.Clock)
	if err := a.EnsureSigningKey(ctx); err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if cfg.Demo {
		created, err := a.SeedDemo(ctx, cfg.DemoClientSecret)
		if err != nil {
			return fmt.Errorf("seed demo partner: %w", err)
		}
		rt.Log.Info("demo partner", zap.Bool("created", created), zap.String("partner_id", DemoPartnerID), zap.String("client_id", DemoClientID))
	}
	return rt.Serve(ctx, svc.ServeConfig{
		Keys:     a, // identity verifies with its own keys, no RPC to itself
		Register: func(gs *grpc.Server) { grpcapi.Register(gs, a) },
	})
}
