// Package orders is the composition root of the orders service: orders and their saga across
// identity, catalog, subscriptions and keys, cancellations, the key-redemption saga, the ledger
// and support requests. Run is public so that deploy/devstack can run all six services in one
// process.
package orders

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	ordcatalog "github.com/partnerhub/partnerhub/services/orders/internal/adapters/catalog"
	ordda "github.com/partnerhub/partnerhub/services/orders/internal/adapters/delegatedadmin"
	ordidentity "github.com/partnerhub/partnerhub/services/orders/internal/adapters/identity"
	ordkeys "github.com/partnerhub/partnerhub/services/orders/internal/adapters/keys"
	ordsql "github.com/partnerhub/partnerhub/services/orders/internal/adapters/sql"
	ordsubs "github.com/partnerhub/partnerhub/services/orders/internal/adapters/subscriptions"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/saga"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
	"github.com/partnerhub/partnerhub/services/orders/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/orders/migrations"
)

// Name is the service name (config prefix PARTNERHUB_ORDERS_).
const Name = "orders"

// Config is orders's configuration.
type Config struct {
	svc.Base
	CatalogAddr        string
	SubscriptionsAddr  string
	KeysAddr           string
	DelegatedAdminAddr string
	// SagaLease is how long a saga stays one replica's after each write; another replica resumes
	// it once the lease has run out (a crashed replica's sagas resume after at most this).
	SagaLease time.Duration
	// RecoveryInterval is how often the recovery loop looks for sagas and cancellations to resume.
	RecoveryInterval time.Duration
	// WatchPoll is how often WatchOrder re-reads an order changed by another replica.
	WatchPoll time.Duration
}

// Bind binds orders's settings to l.
func Bind(l *config.Loader) *Config {
	c := &Config{}
	svc.BindBase(l, &c.Base, Name, svc.SlotOrders)
	l.String(&c.CatalogAddr, "catalog-addr", "localhost:50052", "catalog's gRPC address (offers, prices, policies)")
	l.String(&c.SubscriptionsAddr, "subscriptions-addr", "localhost:50054", "subscriptions' gRPC address (provisioning, cancellation, events feed)")
	l.String(&c.KeysAddr, "keys-addr", "localhost:50055", "keys' gRPC address (entitlements, product keys)")
	l.String(&c.DelegatedAdminAddr, "delegatedadmin-addr", "localhost:50056", "delegatedadmin's gRPC address (support requests, DA-4)")
	l.Duration(&c.SagaLease, "saga-lease", 30*time.Second,
		"how long a running saga stays this replica's after each step; a crashed replica's sagas resume after it (wall time)")
	l.Duration(&c.RecoveryInterval, "recovery-interval", time.Second,
		"how often the recovery loop resumes due sagas and pending cancellations (wall time)")
	l.Duration(&c.WatchPoll, "watch-poll", time.Second, "how often WatchOrder re-reads an order changed by another replica")
	return c
}

// Run serves orders until ctx is done, with the saga recovery loop.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.RequireServiceSecret(); err != nil {
		return err
	}
	if cfg.SagaLease <= 0 || cfg.RecoveryInterval <= 0 || cfg.WatchPoll <= 0 {
		return fmt.Errorf("saga-lease, recovery-interval and watch-poll must be positive")
	}
	rt, err := svc.Open(ctx, cfg.Base, migrations.FS)
	if err != nil {
		return err
	}
	defer rt.Close()
	dial := func(name, addr string) (*grpc.ClientConn, error) {
		conn, err := rt.DialPeer(addr)
		if err != nil {
			return nil, fmt.Errorf("%s-addr %q: %w", name, addr, err)
		}
		return conn, nil
	}
	idConn, err := dial("identity", cfg.IdentityAddr)
	if err != nil {
		return err
	}
	catConn, err := dial("catalog", cfg.CatalogAddr)
	if err != nil {
		return err
	}
	subConn, err := dial("subscriptions", cfg.SubscriptionsAddr)
	if err != nil {
		return err
	}
	keyConn, err := dial("keys", cfg.KeysAddr)
	if err != nil {
		return err
	}
	daConn, err := dial("delegatedadmin", cfg.DelegatedAdminAddr)
	if err != nil {
		return err
	}
	store := ordsql.New(rt.DB)
	subs := ordsubs.New(subConn)
	peers := saga.Peers{Identity: ordidentity.New(idConn, tenancy.Options{}), Catalog: ordcatalog.New(catConn),
		Subscriptions: subs, Keys: ordkeys.New(keyConn)}
	changes := app.NewChanges()
	// One name per replica in the leases of both sagas: a restarted process is a new replica.
	owner := "orders-" + uuid.NewString()
	runner := saga.New(store, peers, rt.Clock, changes, saga.Options{Owner: owner, Lease: cfg.SagaLease,
		Poll: cfg.RecoveryInterval, Log: rt.Log})
	// The key redemption saga (KD-1, KD-2, SU-4).
	redemptions := redeem.New(store, redeem.Peers{Keys: ordkeys.NewProductKeys(keyConn),
		Tenants: ordidentity.NewTenants(idConn), Identity: peers.Identity, Catalog: peers.Catalog,
		Subscriptions: ordsubs.NewRenewals(subConn)},
		redeem.Options{Clock: rt.Clock, Owner: owner, Lease: cfg.SagaLease, Poll: cfg.RecoveryInterval,
			OnError: func(_ context.Context, err error) { rt.Log.Warn("key redemption", zap.Error(err)) }})
	a := app.New(store, peers.Identity, peers.Catalog, peers.Subscriptions, runner, rt.Clock, changes,
		app.Options{WatchPoll: cfg.WatchPoll, Capacity: subs})
	// The ledger books renewals, refunds and penalties from the subscriptions events feed (BI-1..
	// BI-3), read with the service's own token from a stored cursor.
	feed := billing.NewFeed(store, ordsubs.NewEvents(subConn), rt.Clock, billing.FeedOptions{Logger: rt.Log})
	ledger := billing.NewLedger(store, rt.Clock, ordidentity.NewDirectory(idConn), app.CustomerGuard{Identity: peers.Identity})
	// Support requests on a customer's behalf need delegated admin (OR-6, DA-4).
	supportApp := support.New(store, ordidentity.NewDirectory(idConn), subs, ordda.New(daConn, tenancy.Options{}), rt.Clock, nil)
	return rt.Serve(ctx, svc.ServeConfig{
		Register: func(gs *grpc.Server) {
			grpcapi.Register(gs, grpcapi.Servers{Orders: grpcapi.NewOrderServer(a),
				Redemption: grpcapi.NewRedemptionServer(redemptions),
				Ledger:     grpcapi.NewLedgerServer(ledger), Support: grpcapi.NewSupportServer(supportApp)})
		},
		// RedeemProductKeys deduplicates by request_id itself: a replayed answer would repeat a
		// PROCESSING redemption forever instead of showing how it ended.
		// PlaceOrder too (app.PlaceOrder): a retry shows the order as it is now, and placing one
		// costs no writes to the idempotency store.
		NotReplayed: []string{ordersv1.RedemptionService_RedeemProductKeys_FullMethodName,
			ordersv1.OrderService_PlaceOrder_FullMethodName},
		Background: []func(context.Context){runner.Run, feed.Run, redemptions.Run},
	})
}
