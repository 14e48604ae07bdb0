package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/server"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog"
	"github.com/partnerhub/partnerhub/services/delegatedadmin"
	"github.com/partnerhub/partnerhub/services/identity"
	"github.com/partnerhub/partnerhub/services/keys"
	"github.com/partnerhub/partnerhub/services/orders"
	"github.com/partnerhub/partnerhub/services/subscriptions"
)

// The whole suite in this process, wired as deploy/devstack wires it (`make run`): the six
// services' own Run functions with their full interceptor chains and background loops, each on
// its own port, identity with the demo partner, catalog with the seed catalog, service
// credentials for the calls between them, one logger. Only the storage differs by engine:
//
//   - suiteSQLite: one SQLite file per service in a temporary directory and catalog's in-process
//     cache, as the devstack runs;
//   - suitePostgres: one PostgreSQL database per service and catalog's cache in Redis, as compose
//     and k8s run them. The PostgreSQL and Redis are testkit's containers (make bench prepares
//     Docker as make test does); testkit runs PostgreSQL with fsync and synchronous_commit off,
//     so commits are cheaper there than on a durable production server.

const benchDemoSecret = "bench-demo-secret-0123456789abcdef"

type suiteEngine int

const (
	suiteSQLite suiteEngine = iota
	suitePostgres
)

func (e suiteEngine) String() string {
	if e == suitePostgres {
		return "PostgreSQL + Redis"
	}
	return "devstack (SQLite)"
}

// suite is the six services running in this process.
type suite struct {
	errc      chan error        // a service that stopped early
	addr      map[string]string // gRPC address by service name
	demoToken string            // the demo partner's Admin agent (identity.DemoClientID)
	conns     map[string]*grpc.ClientConn
}

// stopped returns why a service stopped early, or nil: the first thing to check when a call
// fails.
func (s *suite) stopped() error {
	select {
	case err := <-s.errc:
		return err
	default:
		return nil
	}
}

// conn returns the benchmark's connection to a service (one per service).
func (s *suite) conn(name string) *grpc.ClientConn { return s.conns[name] }

// partnerCtx carries the demo partner's token.
func (s *suite) partnerCtx(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.demoToken)
}

func startSuite(b *testing.B, engine suiteEngine) *suite {
	b.Helper()
	names := []string{identity.Name, catalog.Name, orders.Name, subscriptions.Name, keys.Name, delegatedadmin.Name}
	free := freeAddrs(b, len(names))
	addr := map[string]string{}
	for i, n := range names {
		addr[n] = free[i]
	}

	dir := b.TempDir()
	dbURL := func(name string) string {
		if engine == suitePostgres {
			return testkit.StartPostgres(b)
		}
		return "sqlite:" + filepath.Join(dir, name+".db")
	}
	redisAddr := ""
	if engine == suitePostgres {
		redisAddr = testkit.StartRedisEmpty(b)
	}
	secrets := map[string]string{"operator": benchOperatorSecret}
	creds := "operator=" + benchOperatorSecret
	for _, n := range names[1:] {
		secrets[n] = "bench-" + n + "-service-secret-0123456789"
		creds += "," + n + "=" + secrets[n]
	}
	level := "error" // PARTNERHUB_BENCH_LOG_LEVEL: the services' log level (stderr)
	if l := os.Getenv("PARTNERHUB_BENCH_LOG_LEVEL"); l != "" {
		level = l
	}
	log, err := server.NewLogger(level, "")
	if err != nil {
		b.Fatal(err)
	}
	noEnv := func(string) (string, bool) { return "", false }
	base := func(bs *svc.Base) {
		bs.GRPCAddr, bs.AdminAddr = addr[bs.Name], ""
		bs.DatabaseURL = dbURL(bs.Name)
		bs.LogLevel, bs.Logger = level, log
		bs.IdentityAddr = addr[identity.Name]
		bs.ServiceSecret = secrets[bs.Name]
	}

	idCfg := identity.Bind(config.New(identity.Name).WithEnv(noEnv))
	base(&idCfg.Base)
	idCfg.IdentityAddr, idCfg.ServiceSecret = "", ""
	idCfg.Demo, idCfg.DemoClientSecret = true, benchDemoSecret
	idCfg.ServiceCredentials = creds
	idCfg.DelegatedAdminAddr = addr[delegatedadmin.Name]

	catCfg := catalog.Bind(config.New(catalog.Name).WithEnv(noEnv))
	base(&catCfg.Base)
	catCfg.Seed = true
	catCfg.RedisAddr = redisAddr

	ordCfg := orders.Bind(config.New(orders.Name).WithEnv(noEnv))
	base(&ordCfg.Base)
	ordCfg.CatalogAddr, ordCfg.SubscriptionsAddr = addr[catalog.Name], addr[subscriptions.Name]
	ordCfg.KeysAddr, ordCfg.DelegatedAdminAddr = addr[keys.Name], addr[delegatedadmin.Name]

	subCfg := subscriptions.Bind(config.New(subscriptions.Name).WithEnv(noEnv))
	base(&subCfg.Base)
	subCfg.CatalogAddr = addr[catalog.Name]

	keyCfg := keys.Bind(config.New(keys.Name).WithEnv(noEnv))
	base(&keyCfg.Base)
	keyCfg.SealingKeys, keyCfg.LinkKeys = "dev1:"+randKey(), "dev1:"+randKey()
	keyCfg.LookupKey = randKey()

	daCfg := delegatedadmin.Bind(config.New(delegatedadmin.Name).WithEnv(noEnv))
	base(&daCfg.Base)

	runs := []struct {
		name string
		run  func(context.Context) error
	}{
		{identity.Name, func(ctx context.Context) error { return identity.Run(ctx, *idCfg) }},
		{catalog.Name, func(ctx context.Context) error { return catalog.Run(ctx, *catCfg) }},
		{orders.Name, func(ctx context.Context) error { return orders.Run(ctx, *ordCfg) }},
		{subscriptions.Name, func(ctx context.Context) error { return subscriptions.Run(ctx, *subCfg) }},
		{keys.Name, func(ctx context.Context) error { return keys.Run(ctx, *keyCfg) }},
		{delegatedadmin.Name, func(ctx context.Context) error { return delegatedadmin.Run(ctx, *daCfg) }},
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errc := make(chan error, len(runs))
	b.Cleanup(func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			b.Log("the suite did not stop within 30 s")
		}
	})
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s stopped: %w", r.name, err)
			}
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, r := range runs {
		for svc.Probe(ctx, addr[r.name], time.Second) != nil {
			select {
			case err := <-errc:
				b.Fatal(err)
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s not serving after 60 s", r.name)
			}
		}
	}

	s := &suite{errc: errc, addr: addr, conns: map[string]*grpc.ClientConn{}}
	for _, n := range names {
		c, err := grpc.NewClient(addr[n], grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		s.conns[n] = c
	}
	tok, err := identityv1.NewTokenServiceClient(s.conn(identity.Name)).IssueToken(ctx, &identityv1.IssueTokenRequest{
		ClientId: identity.DemoClientID, ClientSecret: benchDemoSecret})
	if err != nil {
		b.Fatalf("demo token: %v", err)
	}
	s.demoToken = tok.GetAccessToken().GetToken()

	// catalog imports the seed catalog in the background once identity answers: wait for it.
	cat := catalogv1.NewCatalogServiceClient(s.conn(catalog.Name))
	for {
		_, err := cat.GetSku(s.partnerCtx(ctx), &catalogv1.GetSkuRequest{SkuId: benchOrderSku})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the seed catalog has no %s after 60 s: %v", benchOrderSku, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.warmUp(b)
	return s
}

// warmUp places one order through the whole saga, retrying while orders answers UNAVAILABLE:
// each service answers once started, but one that dialled a peer before the peer listened backs
// off for up to a second before it tries again, and meanwhile fails the calls that need it.
func (s *suite) warmUp(b *testing.B) {
	b.Helper()
	ctx := s.partnerCtx(context.Background())
	oc := &orderClient{st: s, orders: ordersv1.NewOrderServiceClient(s.conn(orders.Name)),
		customers: identityv1.NewCustomerServiceClient(s.conn(identity.Name))}
	customer := oc.newPool(b, ctx, 1).ids[0]
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := oc.placeAndWait(ctx, customer, time.Now())
		if err == nil && r.failure == "" {
			return
		}
		if status.Code(errors.Unwrap(err)) != codes.Unavailable || time.Now().After(deadline) {
			b.Fatalf("warm-up order: %v%s%s", err, r.failure, s.why())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// randKey is base64url of 32 random bytes, the form of the keys service's keys.
func randKey() string {
	buf := make([]byte, 32)
	_, _ = rand.Read(buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}
