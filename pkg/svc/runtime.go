package svc

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	testingv1 "github.com/partnerhub/partnerhub/gen/partnerhub/testing/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/idempotency"
	"github.com/partnerhub/partnerhub/pkg/server"
	"github.com/partnerhub/partnerhub/pkg/store"
)

// Runtime is what a service's Run starts with: logger, clock, database (migrated).
type Runtime struct {
	Base  Base
	Log   *zap.Logger
	Clock clock.Clock
	Fake  *clock.Fake // nil unless the service runs on a fake clock
	DB    *store.DB
	// Idem stores request_id → response for every mutating RPC (OR-7), in the service's database.
	Idem *idempotency.Store
	// Metrics is the service's Prometheus registry, served on the admin port's /metrics (with the
	// gRPC server metrics, Go and process collectors); services register their own counters here.
	// Never the global registry: the devstack runs six services in one process.
	Metrics *prometheus.Registry
	// Tokens supply the bearer tokens of DialPeer's connections. Nil means IdentityTokens over
	// Base.IdentityAddr with client ID "svc_"+Base.Name and Base.ServiceSecret, built on the first
	// DialPeer; set it before that to use another source (tests, or an embedding process).
	Tokens TokenSource

	peerMu  sync.Mutex // guards Tokens and, in DialPeer, closers
	closers []func() error
}

// Open builds the runtime of a service: logger, clock, database with the service's migrations
// (goose SQL files in migrations, version table "<name>_schema").
func Open(ctx context.Context, b Base, migrations fs.FS) (*Runtime, error) {
	log := b.Logger
	if log == nil {
		l, err := server.NewLogger(b.LogLevel, b.Name)
		if err != nil {
			return nil, err
		}
		log = l
	} else {
		log = log.With(zap.String("service", b.Name))
	}
	clk, fake, err := b.clock()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, b.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rt := &Runtime{Base: b, Log: log, Clock: clk, Fake: fake, DB: db, Metrics: reg}
	rt.closers = append(rt.closers, db.Close)
	if migrations != nil {
		if err := db.Migrate(ctx, migrations, b.Name+"_schema"); err != nil {
			rt.Close()
			return nil, fmt.Errorf("migrate %s database: %w", b.Name, err)
		}
	}
	rt.Idem, err = idempotency.New(ctx, db, idempotency.Options{
		OnError: func(ctx context.Context, err error) {
			log.Error("idempotency", zap.String("request_id", server.RequestID(ctx)), zap.Error(err))
		},
	})
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("idempotency store: %w", err)
	}
	if fake != nil {
		log.Warn("running on a fake clock: ClockService is served", zap.Time("now", fake.Now()))
	}
	return rt, nil
}

// Close releases what Open and IdentityKeys opened.
func (rt *Runtime) Close() error {
	var errList []error
	for i := len(rt.closers) - 1; i >= 0; i-- {
		errList = append(errList, rt.closers[i]())
	}
	rt.closers = nil
	return errors.Join(errList...)
}

// IdentityKeys returns a KeySource that fetches identity's public signing keys over gRPC
// (TokenService.GetSigningKeys) and caches them, so each call is verified locally.
func (rt *Runtime) IdentityKeys() (auth.KeySource, error) {
	conn, err := Dial(rt.Base.IdentityAddr)
	if err != nil {
		return nil, fmt.Errorf("identity-addr %q: %w", rt.Base.IdentityAddr, err)
	}
	rt.closers = append(rt.closers, conn.Close)
	client := identityv1.NewTokenServiceClient(conn)
	fetch := func(ctx context.Context) (map[string]ed25519.PublicKey, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resp, err := client.GetSigningKeys(ctx, &identityv1.GetSigningKeysRequest{})
		if err != nil {
			return nil, errs.Unavailablef("identity signing keys").Wrap(err)
		}
		keys := make(map[string]ed25519.PublicKey, len(resp.GetKeys()))
		for _, k := range resp.GetKeys() {
			if len(k.GetPublicKey()) == ed25519.PublicKeySize {
				keys[k.GetKeyId()] = ed25519.PublicKey(k.GetPublicKey())
			}
		}
		return keys, nil
	}
	return auth.NewCachedKeys(fetch, time.Now), nil
}

// Dial returns a client connection to a peer service (connecting lazily). Errors from the peer
// come back as *errs.Error values with the peer's kind, reason and metadata. Its calls carry no
// token: for a peer that checks roles use Runtime.DialPeer.
func Dial(addr string) (*grpc.ClientConn, error) { return dial(addr) }

func dial(addr string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(errs.UnaryClientInterceptor()),
	}, extra...)
	conn, err := grpc.NewClient(DialAddr(addr), opts...)
	if err != nil {
		return nil, fmt.Errorf("dial %q: %w", addr, err)
	}
	return conn, nil
}

// ServeConfig is what a service adds to its runtime to serve.
type ServeConfig struct {
	// Keys verify tokens; nil means identity's published keys (IdentityKeys). Only identity,
	// which verifies with its own keys, sets it.
	Keys     auth.KeySource
	Register func(*grpc.Server)
	Unary    []grpc.UnaryServerInterceptor
	Stream   []grpc.StreamServerInterceptor
	// NotReplayed lists full method names whose responses must never be stored for replay, though
	// they take a request_id (RevealKey: a whole key is never written anywhere, KD-8); their
	// handlers deduplicate by request_id themselves.
	NotReplayed []string
	// Background jobs (sweepers, engines, seeders) run while the service serves: each gets a
	// context that ends when serving stops, and Serve returns only after every job has returned,
	// so none outlives the database it uses.
	Background []func(ctx context.Context)
}

// Serve runs the gRPC and admin servers until ctx is done. A fake-clock runtime also serves
// partnerhub.testing.v1.ClockService.
func (rt *Runtime) Serve(ctx context.Context, sc ServeConfig) error {
	if sc.Keys == nil {
		keys, err := rt.IdentityKeys()
		if err != nil {
			return err
		}
		sc.Keys = keys
	}
	register := func(gs *grpc.Server) {
		if rt.Fake != nil {
			testingv1.RegisterClockServiceServer(gs, clock.NewService(rt.Fake))
		}
		sc.Register(gs)
	}
	replayed := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return !slices.Contains(sc.NotReplayed, c.FullMethod())
	})
	unary := append([]grpc.UnaryServerInterceptor{
		selector.UnaryServerInterceptor(idempotency.UnaryServerInterceptor(rt.Idem, idempotency.Scope), replayed),
	}, sc.Unary...)
	srv, err := server.New(server.Config{
		Name:      rt.Base.Name,
		GRPCAddr:  rt.Base.GRPCAddr,
		AdminAddr: rt.Base.AdminAddr,
		Logger:    rt.Log,
		Registry:  rt.Metrics,
		// Tokens live on wall time, not the business clock: moving a fake clock 120 days ahead
		// must not expire every token of a test run.
		Verifier: auth.NewVerifier(sc.Keys, time.Now),
		Register: register,
		Unary:    unary,
		Stream:   sc.Stream,
		Ready:    func(ctx context.Context) error { return rt.DB.PingContext(ctx) },
	})
	if err != nil {
		return err
	}
	bgCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	for _, job := range sc.Background {
		wg.Go(func() { job(bgCtx) })
	}
	return srv.Run(ctx)
}

// Run is the whole Run of a service that needs nothing beyond the shared runtime: open it and
// serve what register adds until ctx is done.
func Run(ctx context.Context, b Base, migrations fs.FS, register func(*grpc.Server)) error {
	rt, err := Open(ctx, b, migrations)
	if err != nil {
		return err
	}
	defer rt.Close()
	return rt.Serve(ctx, ServeConfig{Register: register})
}

// DialPeer returns a client connection to a peer service (as Dial) whose calls carry a service
// token from identity: the service's own-account token, or one acting on behalf of a principal
// when the call's context says so (OnBehalfOf, OnBehalfOfCaller). The connection is closed by
// Close.
//
// Tokens come from rt.Tokens, by default from identity's IssueServiceToken with client ID
// "svc_"+Base.Name and Base.ServiceSecret. Without a service secret DialPeer still succeeds, so
// the service serves what needs no peer, but every call on the connection fails with UNAVAILABLE
// naming the missing setting; a Run that cannot work without its peers checks
// Base.RequireServiceSecret at start instead.
func (rt *Runtime) DialPeer(addr string) (*grpc.ClientConn, error) {
	return rt.dialPeer(addr)
}
