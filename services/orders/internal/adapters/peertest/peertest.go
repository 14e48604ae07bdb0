// Package peertest is test support for the orders service's gRPC peer adapters
// (catalog, identity, keys, subscriptions). It is imported only by their _test.go
// files and must not be used by production code.
//
// It starts an in-process fake gRPC server over bufconn, dials it, and provides a
// token source that names the principal a call acts for, so a fake can record
// which token a call carried.
package peertest

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/svc"
)

// Tokens names the principal a call acts for instead of signing a token: "own" for the
// service's own calls, "obo:<subject>" for calls on behalf of a principal.
type Tokens struct{}

// Token implements the token source of svc.TokenCredentials.
func (Tokens) Token(_ context.Context, obo *auth.Principal) (string, error) {
	if obo == nil {
		return "own", nil
	}
	return "obo:" + obo.Subject, nil
}

// WithTokens makes every call carry a token from Tokens.
func WithTokens() grpc.DialOption {
	return grpc.WithPerRPCCredentials(svc.TokenCredentials(Tokens{}))
}

// AuthOf is the authorization metadata an incoming call carried, as a fake server sees it.
func AuthOf(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	return strings.Join(md.Get("authorization"), ",")
}

// Dial starts an in-process gRPC server over bufconn, lets register add the fake services,
// and returns a client connection to it with opts added. Server and connection are stopped
// at the end of the test.
func Dial(t testing.TB, register func(*grpc.Server), opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	register(gs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })}, opts...)
	conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// AgentCtx is a context acting for user-1, an admin agent of partner-1.
func AgentCtx() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{Subject: "user-1", OrgID: "partner-1",
		OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}})
}
