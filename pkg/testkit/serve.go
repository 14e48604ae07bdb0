package testkit

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/server"
)

// Served is a partnerhub gRPC server started for one test by Serve, and a client connection to it.
type Served struct {
	Conn *grpc.ClientConn
	key  auth.SigningKey
}

// Serve starts the real server stack of pkg/server (interceptors, access rules from the
// contracts, error mapping) on a free local port with the services register adds, verifying
// tokens signed by a key of its own (Token), and stops it when the test ends. Tests of a
// service's gRPC mapping use it to go through exactly what a client goes through.
func Serve(tb testing.TB, name string, register func(*grpc.Server)) *Served {
	tb.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Name: name, GRPCAddr: "127.0.0.1:0",
		Verifier: auth.NewVerifier(auth.StaticKeys{"testkit": pub}, time.Now),
		Register: register,
	})
	if err != nil {
		tb.Fatalf("testkit: server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(errs.UnaryClientInterceptor()))
	if err != nil {
		cancel()
		tb.Fatalf("testkit: dial: %v", err)
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("testkit: server %s: %v", name, err)
		}
	})
	return &Served{Conn: conn, key: auth.SigningKey{ID: "testkit", Private: priv}}
}

// Token returns a bearer token for p, valid for an hour, that the server accepts.
func (s *Served) Token(tb testing.TB, p auth.Principal) string {
	tb.Helper()
	tok, err := auth.Sign(s.key, p, time.Now(), time.Hour)
	if err != nil {
		tb.Fatalf("testkit: sign: %v", err)
	}
	return tok
}
