// Package delegatedadmin is the composition root of the delegatedadmin service: delegated-admin
// relationships and access checks (DA-1..DA-6). Run is public so that deploy/devstack can run all
// six services in one process.
package delegatedadmin

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/adapters/identity"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/migrations"
)

// Name is the service name (config prefix PARTNERHUB_DELEGATEDADMIN_).
const Name = "delegatedadmin"

// SweepInterval is how often, in wall time, the sweeper persists due clock-driven transitions.
// Reads never wait for it (they compute the state at now), so it only bounds how stale the
// stored state may be.
const SweepInterval = 30 * time.Second

// Config is delegatedadmin's configuration.
type Config struct {
	svc.Base
	// ApprovalBaseURL is the base of the approval link sent to a customer's Global admin; the
	// relationship ID is appended (DA-1).
	ApprovalBaseURL string
}

// Bind binds delegatedadmin's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotDelegatedAdmin)
	l.String(&c.ApprovalBaseURL, "approval-base-url", "https://partnerhub.example/delegated-admin/",
		"base of delegated-admin approval links; the relationship ID is appended")
	return c
}

// Run serves delegatedadmin until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	if u, err := url.Parse(cfg.ApprovalBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("approval-base-url %q: an absolute http(s) URL is required", cfg.ApprovalBaseURL)
	}
	rt, err := svc.Open(ctx, cfg.Base, migrations.FS)
	if err != nil {
		return err
	}
	defer rt.Close()
	// The runtime owns the connection (rt.Close closes it). Its calls carry this service's own
	// token, no on_behalf_of: the checks an offer needs (DA-2, ID-4) are this service's own
	// decisions about the caller's partner, asked with a service's view of identity.
	conn, err := rt.DialPeer(cfg.IdentityAddr)
	if err != nil {
		return fmt.Errorf("identity-addr %q: %w", cfg.IdentityAddr, err)
	}
	a := app.New(sql.New(rt.DB), identity.New(conn), rt.Clock, app.Options{ApprovalBaseURL: cfg.ApprovalBaseURL})

	return rt.Serve(ctx, svc.ServeConfig{
		Register:   func(gs *grpc.Server) { grpcapi.Register(gs, a) },
		Background: []func(context.Context){func(ctx context.Context) { sweepLoop(ctx, a, rt.Log) }},
	})
}

// sweepLoop runs the sweeper at start and then every SweepInterval until ctx is done. A failed
// sweep is logged and retried at the next tick: nothing reads the stored state without
// computing it at now first, except state-filtered lists, which sweep themselves.
func sweepLoop(ctx context.Context, a *app.App, log *zap.Logger) {
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		n, err := a.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("sweep relationships", zap.Error(err))
		case n > 0:
			log.Info("swept relationships", zap.Int("changed", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
