package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
)

// The delegated-admin check every administrative call pays (DA-6), measured the way a service
// runs it: the caller's token is verified (as the auth interceptor does), then tenancy.Checker
// asks delegatedadmin's CheckAccess — a real gRPC server over an in-process listener that verifies
// the service token the call carries — and caches the answer. The budget for a cached
// check is 20 µs per call.

const (
	benchPartner  = "11111111-1111-1111-1111-111111111111"
	benchCustomer = "22222222-2222-2222-2222-222222222222"
)

// allowAll is delegatedadmin answering "allowed" with a long cache_ttl and grant end.
type allowAll struct {
	delegatedadminv1.UnimplementedDelegatedAdminServiceServer
}

func (allowAll) CheckAccess(context.Context, *delegatedadminv1.CheckAccessRequest) (*delegatedadminv1.CheckAccessResponse, error) {
	return &delegatedadminv1.CheckAccessResponse{Allowed: true, RelationshipId: "dar-1",
		GrantEndTime: timestamppb.New(time.Now().Add(24 * time.Hour)), CacheTtl: durationpb.New(time.Hour)}, nil
}

// staticTokens is a TokenSource with one pre-signed service token (identity's part is not what
// is measured here).
type staticTokens string

func (s staticTokens) Token(context.Context, *auth.Principal) (string, error) { return string(s), nil }

type adminCheck struct {
	checker   *tenancy.Checker
	verifier  *auth.Verifier
	userToken string
}

func newAdminCheck(b *testing.B) adminCheck {
	b.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	key := auth.SigningKey{ID: "k1", Private: priv}
	verifier := auth.NewVerifier(auth.StaticKeys{"k1": pub}, time.Now)
	user := auth.Principal{Subject: "u1", OrgID: benchPartner, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	userToken, err := auth.Sign(key, user, time.Now(), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	serviceToken, err := auth.Sign(key, auth.Principal{Subject: "service:identity", OrgID: "partnerhub",
		OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}}, time.Now(), time.Hour)
	if err != nil {
		b.Fatal(err)
	}

	lis := bufconn.Listen(1 << 20)
	// The server verifies every call's token against the contracts' access rules, as pkg/server
	// does (its own verifier: the peer is another process).
	authn := auth.NewAuthenticator(auth.NewVerifier(auth.StaticKeys{"k1": pub}, time.Now), nil)
	gs := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := authn.Authenticate(ctx)
		if err == nil {
			var resp any
			if resp, err = h(ctx, req); err == nil {
				return resp, nil
			}
		}
		st, _ := errs.ToStatus(err)
		return nil, st.Err()
	}))
	delegatedadminv1.RegisterDelegatedAdminServiceServer(gs, allowAll{})
	policy, err := auth.PolicyFromContracts(gs.GetServiceInfo())
	if err != nil {
		b.Fatal(err)
	}
	authn.SetPolicy(policy)
	go func() { _ = gs.Serve(lis) }()
	b.Cleanup(gs.Stop)

	conn, err := grpc.NewClient("passthrough:///delegatedadmin",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(svc.TokenCredentials(staticTokens(serviceToken))),
		grpc.WithUnaryInterceptor(errs.UnaryClientInterceptor()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	checker := tenancy.New(nil, delegatedadminv1.NewDelegatedAdminServiceClient(conn), tenancy.Options{MaxTTL: time.Hour})
	return adminCheck{checker: checker, verifier: verifier, userToken: userToken}
}

// check is the authorization of one administrative call: who calls, and may their partner act
// as user administrator in the customer's tenant.
func (a adminCheck) check(ctx context.Context) error {
	p, err := a.verifier.Verify(ctx, a.userToken)
	if err != nil {
		return err
	}
	_, err = a.checker.RequireAccess(ctx, p.Effective().OrgID, benchCustomer,
		delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR)
	return err
}

// BenchmarkCheckAccessCached: token verification (cached) plus a cached CheckAccess answer.
func BenchmarkCheckAccessCached(b *testing.B) {
	a := newAdminCheck(b)
	ctx := context.Background()
	if err := a.check(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.check(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckAccessCachedParallel is the same from every CPU at once (many concurrent calls).
func BenchmarkCheckAccessCachedParallel(b *testing.B) {
	a := newAdminCheck(b)
	ctx := context.Background()
	if err := a.check(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := a.check(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCheckAccessUncached is the price of a miss for scale: a CheckAccess RPC carrying a
// service token, verified by the server, over the in-process listener (no network).
func BenchmarkCheckAccessUncached(b *testing.B) {
	a := newAdminCheck(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		a.checker.Invalidate(benchPartner, benchCustomer)
		if err := a.check(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
