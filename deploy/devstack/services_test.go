package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// noEnv keeps the machine's PARTNERHUB_* variables out of the test.
func noEnv(string) (string, bool) { return "", false }

// Every service starts from its defaults on SQLite and on PostgreSQL: it runs its migrations
// (twice: a restart reuses the data), turns healthy, and stops cleanly when its context ends.
func TestServices_MigrateServeStop(t *testing.T) {
	for _, m := range members(options{demoSecret: "services-test-secret-123", keysSealing: testKeysSetting, keysLinks: testKeysSetting,
		keysLookup: strings.TrimPrefix(testKeysSetting, "t1:")}) {
		t.Run(m.name, func(t *testing.T) {
			testkit.ForEachDB(t, func(t *testing.T, dsn string) {
				for range 2 {
					base, run := m.bind(config.New(m.name).WithEnv(noEnv))
					base.DatabaseURL, base.AdminAddr, base.GRPCAddr = dsn, "", freeAddr(t)
					// orders refuses to start without its peer credential (it cannot place an order
					// without it); the peers are not called here.
					base.ServiceSecret = "services-test-service-secret"
					serveUntilHealthy(t, base.GRPCAddr, run)
				}
			})
		})
	}
}

func serveUntilHealthy(t *testing.T, addr string, run func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for svc.Probe(context.Background(), addr, time.Second) != nil {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("service stopped before it was healthy: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not healthy on %s after 30 s", addr)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after stop; want nil", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testKeysSetting is a keys service key setting for tests: one 32-byte key.
const testKeysSetting = "t1:dGVzdC1rZXktMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY"
