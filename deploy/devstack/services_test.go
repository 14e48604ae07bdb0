package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog"
	"github.com/partnerhub/partnerhub/services/delegatedadmin"
	"github.com/partnerhub/partnerhub/services/identity"
	"github.com/partnerhub/partnerhub/services/keys"
	"github.com/partnerhub/partnerhub/services/orders"
	"github.com/partnerhub/partnerhub/services/subscriptions"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// noEnv keeps the machine's PARTNERHUB_* variables out of the test.
func noEnv(string) (string, bool) { return "", false }

// runner binds a service's defaults and returns its Base and a Run closure.
type runner func() (*svc.Base, func(context.Context) error)

var runners = map[string]runner{
	identity.Name: func() (*svc.Base, func(context.Context) error) {
		c := identity.Bind(config.New(identity.Name).WithEnv(noEnv))
		c.Demo, c.DemoClientSecret = true, "services-test-secret-123"
		return &c.Base, func(ctx context.Context) error { return identity.Run(ctx, *c) }
	},
	catalog.Name: func() (*svc.Base, func(context.Context) error) {
		c := catalog.Bind(config.New(catalog.Name).WithEnv(noEnv))
		return &c.Base, func(ctx context.Context) error { return catalog.Run(ctx, *c) }
	},
	orders.Name: func() (*svc.Base, func(context.Context) error) {
		c := orders.Bind(config.New(orders.Name).WithEnv(noEnv))
		return &c.Base, func(ctx context.Context) error { return orders.Run(ctx, *c) }
	},
	subscriptions.Name: func() (*svc.Base, func(context.Context) error) {
		c := subscriptions.Bind(config.New(subscriptions.Name).WithEnv(noEnv))
		return &c.Base, func(ctx context.Context) error { return subscriptions.Run(ctx, *c) }
	},
	keys.Name: func() (*svc.Base, func(context.Context) error) {
		c := keys.Bind(config.New(keys.Name).WithEnv(noEnv))
		return &c.Base, func(ctx context.Context) error { return keys.Run(ctx, *c) }
	},
	delegatedadmin.Name: func() (*svc.Base, func(context.Context) error) {
		c := delegatedadmin.Bind(config.New(delegatedadmin.Name).WithEnv(noEnv))
		return &c.Base, func(ctx context.Context) error { return delegatedadmin.Run(ctx, *c) }
	},
}

// Every service starts from its defaults on SQLite and on PostgreSQL: it runs its migrations
// (twice: a restart reuses the data), turns healthy, and stops cleanly when its context ends.
func TestServices_MigrateServeStop(t *testing.T) {
	for name, r := range runners {
		t.Run(name, func(t *testing.T) {
			testkit.ForEachDB(t, func(t *testing.T, dsn string) {
				for range 2 {
					base, run := r()
					base.DatabaseURL, base.AdminAddr, base.GRPCAddr = dsn, "", freeAddr(t)
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
