// Package subscriptions is the composition root of the subscriptions service: the subscription
// lifecycle, renewals, transfers and the events feed. Run is public so that deploy/devstack can
// run all six services in one process.
package subscriptions

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/adapters/catalog"
	subsql "github.com/partnerhub/partnerhub/services/subscriptions/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/subscriptions/migrations"
)

// Name is the service name (config prefix PARTNERHUB_SUBSCRIPTIONS_).
const Name = "subscriptions"

// Config is subscriptions's configuration.
type Config struct {
	svc.Base
	// TenantLimit is the most ACTIVE or SUSPENDED subscriptions one tenant may have (SU-13).
	TenantLimit int
	// LifecycleInterval is how often the lifecycle engine looks for due steps and reminders.
	LifecycleInterval time.Duration
	// WatchPoll is how often WatchEvents looks for events another instance appended.
	WatchPoll time.Duration
	// CatalogAddr is catalog's gRPC address: transfers ask it about discontinued offers and their
	// equivalents (CA-9, SU-14).
	CatalogAddr string
}

// Bind binds subscriptions's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotSubscriptions)
	l.Int(&c.TenantLimit, "tenant-limit", domain.DefaultTenantLimit,
		"most ACTIVE or SUSPENDED subscriptions one customer tenant may have (SU-13)")
	l.Duration(&c.LifecycleInterval, "lifecycle-interval", time.Second,
		"how often the lifecycle engine looks for due expiries, renewals and reminders (wall time)")
	l.Duration(&c.WatchPoll, "watch-poll", time.Second,
		"how often WatchEvents looks for events appended by other instances")
	l.String(&c.CatalogAddr, "catalog-addr", "localhost:50052",
		"catalog's gRPC address (transfers check discontinued offers and their equivalents)")
	return c
}

// relationships adapts pkg/tenancy's cached checker to app.Relationships.
type relationships struct{ c *tenancy.Checker }

func (r relationships) Relationship(ctx context.Context, partnerID, customerID string) (app.Relationship, error) {
	rel, err := r.c.Relationship(ctx, partnerID, customerID)
	return app.Relationship{Active: rel.Active, CustomerCountry: rel.CustomerCountry, PartnerCountry: rel.PartnerCountry}, err
}

// Run serves subscriptions until ctx is done, with its lifecycle engine.
func Run(ctx context.Context, cfg Config) error {
	if cfg.LifecycleInterval <= 0 {
		cfg.LifecycleInterval = time.Second
	}
	if cfg.WatchPoll <= 0 {
		cfg.WatchPoll = time.Second
	}
	if cfg.TenantLimit < 0 {
		return fmt.Errorf("tenant-limit %d: must not be negative", cfg.TenantLimit)
	}
	rt, err := svc.Open(ctx, cfg.Base, migrations.FS)
	if err != nil {
		return err
	}
	defer rt.Close()
	conn, err := rt.DialPeer(cfg.IdentityAddr)
	if err != nil {
		return fmt.Errorf("identity-addr %q: %w", cfg.IdentityAddr, err)
	}
	checker := tenancy.New(identityv1.NewRelationshipServiceClient(conn), nil, tenancy.Options{})
	// Catalog calls act on behalf of the caller of the transfer RPC (the adapter's
	// svc.OnBehalfOfCaller); the runtime owns and closes the connection.
	catConn, err := rt.DialPeer(cfg.CatalogAddr)
	if err != nil {
		return fmt.Errorf("catalog-addr %q: %w", cfg.CatalogAddr, err)
	}
	a := app.New(subsql.New(rt.DB, domain.NextDue), rt.Clock, relationships{checker}, catalog.New(catConn),
		app.Options{TenantLimit: cfg.TenantLimit})

	return rt.Serve(ctx, svc.ServeConfig{
		Register:   func(gs *grpc.Server) { grpcapi.Register(gs, a, cfg.WatchPoll) },
		Background: []func(context.Context){func(ctx context.Context) { a.RunEngine(ctx, cfg.LifecycleInterval, rt.Log) }},
		// ProvisionSubscription keeps every step it ran under its saga-derived request ID
		// (app.Provision, stepTaken) and answers a repeat from it, with the subscription as it is
		// now: the idempotency store would only add two writes to each saga step.
		NotReplayed: []string{subscriptionsv1.ProvisioningService_ProvisionSubscription_FullMethodName},
	})
}
