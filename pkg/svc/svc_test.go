package svc

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/server"
)

func TestDialAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{":50052", "127.0.0.1:50052"},
		{"0.0.0.0:50052", "127.0.0.1:50052"},
		{"[::]:50052", "127.0.0.1:50052"},
		{"127.0.0.1:9", "127.0.0.1:9"},
		{"identity:50051", "identity:50051"},
		{"[::1]:50051", "[::1]:50051"},
		{"localhost", "localhost"}, // no port: left as is
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := DialAddr(tt.in); got != tt.want {
				t.Errorf("DialAddr(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// startPartnerhub runs a real partnerhub server (health and reflection only) and returns its
// address as a listen address (":port"), the form Probe gets from --grpc-addr.
func startPartnerhub(t *testing.T) string {
	t.Helper()
	srv, err := server.New(server.Config{Name: "svctest", GRPCAddr: "127.0.0.1:0",
		Verifier: auth.NewVerifier(auth.StaticKeys{}, time.Now)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return srv.GRPCAddr()
}

// startNotServing runs a bare gRPC server whose health says NOT_SERVING.
func startNotServing(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func portOnly(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return ":" + port
}

func TestProbe(t *testing.T) {
	serving := startPartnerhub(t)
	tests := []struct {
		name    string
		addr    string
		wantErr string // substring; "" for healthy
	}{
		{"serving", serving, ""},
		{"serving, listen form of the address", portOnly(t, serving), ""},
		{"not serving", startNotServing(t), "NOT_SERVING"},
		{"nothing listening", closedAddr(t), "Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Probe(context.Background(), tt.addr, 10*time.Second)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Probe = %v, want healthy", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Probe = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestProbe_ContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Probe(ctx, startPartnerhub(t), 10*time.Second); err == nil {
		t.Error("Probe with a cancelled context = nil")
	}
}

func TestMain_ExitCodes(t *testing.T) {
	serving := startPartnerhub(t)
	down := closedAddr(t)
	runErr := errors.New("database: no such file\nsecond line")
	tests := []struct {
		name string
		args []string
		run  error // what the service's run returns
		want int
		ran  bool
	}{
		{"healthcheck of a serving service", []string{"healthcheck", "--grpc-addr", serving}, nil, 0, false},
		{"healthcheck of a stopped service", []string{"healthcheck", "--grpc-addr=" + down}, nil, 1, false},
		{"healthcheck with a bad flag", []string{"healthcheck", "--no-such-flag"}, nil, 2, false},
		{"bad flag", []string{"--fake-clock=maybe"}, nil, 2, false},
		{"unexpected argument", []string{"serve"}, nil, 2, false},
		{"help", []string{"--help"}, nil, 0, false},
		{"run succeeds", []string{"--grpc-addr", ":0"}, nil, 0, true},
		{"run fails", nil, runErr, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			bind := func(l *config.Loader) (func(context.Context) error, *string) {
				var b Base
				BindBase(l, &b, "svctest", SlotCatalog)
				return func(context.Context) error { ran = true; return tt.run }, &b.GRPCAddr
			}
			if got := Main("svctest", tt.args, bind); got != tt.want {
				t.Errorf("Main(%v) = %d, want %d", tt.args, got, tt.want)
			}
			if ran != tt.ran {
				t.Errorf("run called = %v, want %v", ran, tt.ran)
			}
		})
	}
	if got := oneLine(runErr); got != "database: no such file; second line" {
		t.Errorf("oneLine = %q", got)
	}
}

func TestBindBase_Defaults(t *testing.T) {
	tests := []struct {
		name, svc                string
		slot                     int
		grpc, admin, db, identAd string
		hasIdentityAddr          bool
	}{
		{"identity", "identity", SlotIdentity, ":50051", ":9051", "sqlite:data/identity.db", "", false},
		{"catalog", "catalog", SlotCatalog, ":50052", ":9052", "sqlite:data/catalog.db", "localhost:50051", true},
		{"delegatedadmin", "delegatedadmin", SlotDelegatedAdmin, ":50056", ":9056", "sqlite:data/delegatedadmin.db", "localhost:50051", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := config.New(tt.svc).WithEnv(func(string) (string, bool) { return "", false })
			var b Base
			BindBase(l, &b, tt.svc, tt.slot)
			if err := l.Parse(nil); err != nil {
				t.Fatal(err)
			}
			if b.Name != tt.svc || b.GRPCAddr != tt.grpc || b.AdminAddr != tt.admin || b.DatabaseURL != tt.db ||
				b.IdentityAddr != tt.identAd || b.LogLevel != "info" || b.FakeClock {
				t.Errorf("Base = %+v", b)
			}
			has := false
			for _, s := range l.Settings() {
				has = has || s.Flag == "--identity-addr"
			}
			if has != tt.hasIdentityAddr {
				t.Errorf("--identity-addr bound = %v, want %v", has, tt.hasIdentityAddr)
			}
		})
	}
}

func TestBase_Clock(t *testing.T) {
	shared := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	tests := []struct {
		name     string
		b        Base
		wantFake bool
		wantNow  time.Time // for a fake; zero: don't check
		wantErr  string
	}{
		{"real by default", Base{}, false, time.Time{}, ""},
		{"fake at a given start", Base{FakeClock: true, FakeClockStart: "2025-02-03T04:05:06Z"}, true,
			time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC), ""},
		{"fake at a start with offset, in UTC", Base{FakeClock: true, FakeClockStart: "2025-02-03T05:05:06+01:00"}, true,
			time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC), ""},
		{"fake now", Base{FakeClock: true}, true, time.Time{}, ""},
		{"bad start", Base{FakeClock: true, FakeClockStart: "yesterday"}, false, time.Time{}, "fake-clock-start"},
		{"injected fake wins", Base{Clock: shared, FakeClock: false}, true, shared.Now(), ""},
		{"injected real", Base{Clock: clock.Real{}, FakeClock: true}, false, time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f, err := tt.b.clock()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("clock() err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (f != nil) != tt.wantFake {
				t.Fatalf("fake = %v, want fake %v", f, tt.wantFake)
			}
			if f != nil && c != clock.Clock(f) {
				t.Error("the clock is not the fake")
			}
			if !tt.wantNow.IsZero() && !c.Now().Equal(tt.wantNow) {
				t.Errorf("Now() = %v, want %v", c.Now(), tt.wantNow)
			}
			if c.Now().Location() != time.UTC {
				t.Errorf("Now() not in UTC: %v", c.Now())
			}
		})
	}
}

// Background jobs run while the service serves and have returned when Serve returns, so none
// outlives the database the caller closes next.
func TestServe_BackgroundJobsEndBeforeServeReturns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := Base{Name: "svctest", GRPCAddr: "127.0.0.1:0", DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "svctest.db"),
		LogLevel: "error"}
	rt, err := Open(ctx, b, fstest.MapFS{"001_init.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 1;\n")}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	started := make(chan struct{})
	var ended atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- rt.Serve(ctx, ServeConfig{Keys: auth.StaticKeys{}, Register: func(*grpc.Server) {},
			Background: []func(context.Context){func(ctx context.Context) {
				close(started)
				<-ctx.Done()
				time.Sleep(50 * time.Millisecond) // a job finishing its last batch
				ended.Store(true)
			}}})
	}()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !ended.Load() {
		t.Error("Serve returned before its background job did")
	}
}
