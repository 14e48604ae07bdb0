// Package server is the bootstrap every partnerhub service shares: a gRPC server with the
// interceptor chain (request ID, Prometheus metrics, zap logging, error mapping, panic recovery,
// authentication and role policy, then the service's own), gRPC health v1, server reflection,
// graceful stop, and an admin HTTP port with /healthz, /metrics and /debug/pprof.
//
// The chain, outermost first:
//
//	request ID → metrics → logging → error mapping → recovery → auth → service interceptors → handler
//
// so metrics and logs see the final status code, a panic anywhere below becomes INTERNAL, and a
// handler always runs with a verified Principal in its context.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	grpcauth "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Config configures a Server.
type Config struct {
	Name      string // service name, for logs and metrics
	GRPCAddr  string // e.g. ":50052"; ":0" picks a free port (tests)
	AdminAddr string // e.g. ":9052"; empty disables the admin port
	Logger    *zap.Logger

	// Verifier checks bearer tokens. The access rules come from the contracts
	// (auth.PolicyFromContracts): every registered RPC must declare one, or New fails.
	Verifier *auth.Verifier

	// Register adds the service's gRPC services.
	Register func(*grpc.Server)
	// Unary and Stream are the service's own interceptors, run after authentication.
	Unary  []grpc.UnaryServerInterceptor
	Stream []grpc.StreamServerInterceptor
	// Ready reports whether dependencies (database, …) answer; /healthz and gRPC health use it.
	Ready func(context.Context) error
	// Registry receives the service's own metrics; nil creates a fresh one. Never the global
	// registry: the devstack runs six servers in one process.
	Registry *prometheus.Registry
	// StopTimeout bounds graceful stop before in-flight calls are cut (default 10 s).
	StopTimeout time.Duration
}

// Server is a started gRPC server plus its admin HTTP server.
type Server struct {
	cfg    Config
	grpc   *grpc.Server
	health *health.Server
	lis    net.Listener
	admin  *http.Server
	adminL net.Listener
}

// New builds the server and binds its ports, so a port in use fails here, before Run.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if cfg.Verifier == nil {
		return nil, errors.New("server: Verifier is required")
	}
	// The authenticator is created before the services are registered (the interceptor chain is
	// fixed at grpc.NewServer) and receives the policy once registration shows which RPCs exist.
	authn := auth.NewAuthenticator(cfg.Verifier, nil)
	log := cfg.Logger
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	if err := cfg.Registry.Register(metrics); err != nil {
		return nil, fmt.Errorf("register grpc metrics: %w", err)
	}
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithFieldsFromContext(func(ctx context.Context) logging.Fields {
			if id := RequestID(ctx); id != "" {
				return logging.Fields{"request_id", id}
			}
			return nil
		}),
		logging.WithLevels(codeToLevel),
	}
	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.Error("panic in handler", zap.Any("panic", p), zap.String("request_id", RequestID(ctx)), zap.Stack("stack"))
		return errs.Unexpected(fmt.Errorf("panic in handler: %v", p))
	})
	// Health probes (every few seconds from compose or Kubernetes) stay out of the call log.
	notHealth := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool {
		return c.Service != healthpb.Health_ServiceDesc.ServiceName
	})
	unary := []grpc.UnaryServerInterceptor{
		requestIDUnary,
		metrics.UnaryServerInterceptor(),
		selector.UnaryServerInterceptor(logging.UnaryServerInterceptor(zapLogger(log), logOpts...), notHealth),
		errorsUnary(log),
		recovery.UnaryServerInterceptor(recoverOpt),
		grpcauth.UnaryServerInterceptor(authn.Authenticate),
	}
	stream := []grpc.StreamServerInterceptor{
		requestIDStream,
		metrics.StreamServerInterceptor(),
		selector.StreamServerInterceptor(logging.StreamServerInterceptor(zapLogger(log), logOpts...), notHealth),
		errorsStream(log),
		recovery.StreamServerInterceptor(recoverOpt),
		grpcauth.StreamServerInterceptor(authn.Authenticate),
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(append(unary, cfg.Unary...)...),
		grpc.ChainStreamInterceptor(append(stream, cfg.Stream...)...),
		// A fixed pool of stream workers keeps its grown goroutine stacks: without it every RPC
		// starts on a fresh goroutine whose stack is copied as it grows through the interceptor
		// chain (a tenth of the CPU of a warm catalog read, measured in bench/). When every
		// worker is busy grpc-go starts a goroutine as before, so a slow handler blocks nothing.
		grpc.NumStreamWorkers(uint32(16*runtime.GOMAXPROCS(0))),
	)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	registerReflection(gs)
	if cfg.Register != nil {
		cfg.Register(gs)
	}
	policy, err := auth.PolicyFromContracts(gs.GetServiceInfo())
	if err != nil {
		return nil, fmt.Errorf("server %s: %w", cfg.Name, err)
	}
	authn.SetPolicy(policy)
	metrics.InitializeMetrics(gs)

	lis, err := net.Listen("tcp", cfg.GRPCAddr) //nolint:noctx // New has no context, and a listen does not block
	if err != nil {
		return nil, fmt.Errorf("%s: listen on gRPC address %q: %w", cfg.Name, cfg.GRPCAddr, err)
	}
	s := &Server{cfg: cfg, grpc: gs, health: hs, lis: lis}
	if cfg.AdminAddr != "" {
		al, err := net.Listen("tcp", cfg.AdminAddr) //nolint:noctx // as the gRPC listener above
		if err != nil {
			lis.Close()
			return nil, fmt.Errorf("%s: listen on admin address %q: %w", cfg.Name, cfg.AdminAddr, err)
		}
		s.adminL = al
		s.admin = &http.Server{Handler: s.adminMux(), ReadHeaderTimeout: 5 * time.Second}
	}
	return s, nil
}

// GRPCAddr is the bound gRPC address (useful with ":0").
func (s *Server) GRPCAddr() string { return s.lis.Addr().String() }

// AdminAddr is the bound admin address, or "".
func (s *Server) AdminAddr() string {
	if s.adminL == nil {
		return ""
	}
	return s.adminL.Addr().String()
}

// Run serves until ctx is done, then stops gracefully: health turns NOT_SERVING, new calls are
// refused, in-flight calls get StopTimeout to finish.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.grpc.Serve(s.lis); err != nil {
			errc <- fmt.Errorf("%s: gRPC: %w", s.cfg.Name, err)
		}
	}()
	if s.admin != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.admin.Serve(s.adminL); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: admin HTTP: %w", s.cfg.Name, err)
			}
		}()
	}
	s.setServing(s.ready(ctx) == nil)
	if s.cfg.Ready != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.watchReady(ctx) }()
	}
	s.cfg.Logger.Info("serving", zap.String("grpc", s.GRPCAddr()), zap.String("admin", s.AdminAddr()))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.setServing(false)
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(s.cfg.StopTimeout):
		s.grpc.Stop()
	}
	if s.admin != nil {
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.StopTimeout)
		defer cancel()
		_ = s.admin.Shutdown(sctx)
	}
	wg.Wait()
	s.cfg.Logger.Info("stopped")
	return runErr
}

// ready runs the Ready check with a short timeout.
func (s *Server) ready(ctx context.Context) error {
	if s.cfg.Ready == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.cfg.Ready(ctx)
}

// watchReady keeps gRPC health in step with the Ready check, so the `healthcheck` probe, compose
// and Kubernetes see NOT_SERVING while the database is gone, and SERVING again once it is back.
func (s *Server) watchReady(ctx context.Context) {
	t := time.NewTicker(readyInterval)
	defer t.Stop()
	serving := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.ready(ctx)
		if ctx.Err() != nil {
			return
		}
		if ok := err == nil; ok != serving {
			serving = ok
			s.setServing(ok)
			if ok {
				s.cfg.Logger.Info("ready again: serving")
			} else {
				s.cfg.Logger.Warn("not ready: health is NOT_SERVING", zap.Error(err))
			}
		}
	}
}

// readyInterval is how often the Ready check runs.
const readyInterval = 5 * time.Second

func (s *Server) setServing(on bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if on {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, st)
	}
}

func (s *Server) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		resp, err := s.health.Check(r.Context(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			err = errors.New("not serving")
		}
		if err == nil {
			err = s.ready(r.Context())
		}
		if err != nil {
			http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
