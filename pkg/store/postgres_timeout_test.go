package store_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/store"
)

// silentListener accepts connections and never answers: a PostgreSQL that is going away (or a
// host that drops packets) as a connecting client sees it.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read or written
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestPostgresConnectFailsFast: a connection attempt to a server that does not answer gives up
// after the connect timeout (2 s by default, the DSN's connect_timeout when set) with an
// UNAVAILABLE error, long before the caller's own deadline: requests that need the database
// fail fast instead of hanging (issue 8).
func TestPostgresConnectFailsFast(t *testing.T) {
	addr := silentListener(t)
	for _, tc := range []struct {
		name     string
		dsn      string
		min, max time.Duration
	}{
		{"default", "postgres://u:p@" + addr + "/db?sslmode=disable", 1500 * time.Millisecond, 4 * time.Second},
		{"default with sslmode prefer", "postgres://u:p@" + addr + "/db", 1500 * time.Millisecond, 4 * time.Second},
		{"host name", "postgres://u:p@" + strings.Replace(addr, "127.0.0.1", "localhost", 1) + "/db?sslmode=disable", 1500 * time.Millisecond, 4 * time.Second},
		{"connect_timeout=1", "postgres://u:p@" + addr + "/db?sslmode=disable&connect_timeout=1", 500 * time.Millisecond, 2500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			start := time.Now()
			db, err := store.Open(ctx, tc.dsn)
			took := time.Since(start)
			if err == nil {
				db.Close()
				t.Fatal("Open of a server that never answers succeeded")
			}
			if errs.KindOf(err) != errs.Unavailable {
				t.Errorf("kind %v (%v); want UNAVAILABLE", errs.KindOf(err), err)
			}
			if took < tc.min || took > tc.max {
				t.Errorf("Open gave up after %v; want between %v and %v (the connect timeout), not the caller's 20 s", took, tc.min, tc.max)
			}
		})
	}
}
