package svc

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/config"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// fakeIdentity issues service tokens "tok-<n>[-<obo subject>]" valid for ttl after its now, and
// refuses any secret but "s3cret-s3cret-s3cret" with CREDENTIAL_INVALID.
type fakeIdentity struct {
	identityv1.UnimplementedTokenServiceServer
	now   func() time.Time
	ttl   time.Duration
	delay time.Duration

	calls atomic.Int32
	mu    sync.Mutex
	reqs  []*identityv1.IssueServiceTokenRequest
}

const testSecret = "s3cret-s3cret-s3cret"

func (f *fakeIdentity) IssueServiceToken(_ context.Context, req *identityv1.IssueServiceTokenRequest) (*identityv1.IssueServiceTokenResponse, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	time.Sleep(f.delay)
	if req.GetClientSecret() != testSecret {
		return nil, errs.New(errs.Unauthenticated, "CREDENTIAL_INVALID", "the credential is not valid")
	}
	tok := fmt.Sprintf("tok-%d", n)
	if o := req.GetOnBehalfOf(); o != nil {
		tok += "-" + o.GetSubject()
	}
	return &identityv1.IssueServiceTokenResponse{AccessToken: &identityv1.AccessToken{
		Token: tok, TokenType: "Bearer", ExpireTime: timestamppb.New(f.now().Add(f.ttl)),
	}}, nil
}

// serve runs a gRPC server on a localhost port with the partnerhub error mapping, the fake
// identity and an echo method (any unknown method) that answers the authorization header.
func serve(t *testing.T, id *fakeIdentity) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			resp, err := h(ctx, req)
			if err != nil {
				st, _ := errs.ToStatus(err)
				return nil, st.Err()
			}
			return resp, nil
		}),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			var in wrapperspb.StringValue
			if err := stream.RecvMsg(&in); err != nil {
				return err
			}
			md, _ := metadata.FromIncomingContext(stream.Context())
			return stream.SendMsg(wrapperspb.String(strings.Join(md.Get("authorization"), ";")))
		}))
	if id != nil {
		identityv1.RegisterTokenServiceServer(gs, id)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func echo(ctx context.Context, t *testing.T, conn *grpc.ClientConn) (string, error) {
	t.Helper()
	var out wrapperspb.StringValue
	err := conn.Invoke(ctx, "/partnerhub.test.Echo/Echo", wrapperspb.String("hi"), &out)
	return out.GetValue(), err
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// peerSetup is a fake identity and a peer (the same server), and a connection with IdentityTokens.
func peerSetup(t *testing.T, secret string) (*fakeIdentity, *testClock, *grpc.ClientConn) {
	t.Helper()
	clk := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	id := &fakeIdentity{now: clk.Now, ttl: 15 * time.Minute}
	addr := serve(t, id)
	idConn, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idConn.Close() })
	ts := NewIdentityTokens(identityv1.NewTokenServiceClient(idConn),
		IdentityTokensOptions{Name: "orders", Secret: secret, Now: clk.Now})
	conn, err := DialWithTokens(addr, ts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return id, clk, conn
}

func TestDialWithTokens_CachesOwnAccountToken(t *testing.T) {
	id, _, conn := peerSetup(t, testSecret)
	ctx := context.Background()
	for i := range 20 {
		got, err := echo(ctx, t, conn)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if got != "Bearer tok-1" {
			t.Fatalf("call %d: authorization %q, want %q", i, got, "Bearer tok-1")
		}
	}
	if n := id.calls.Load(); n != 1 {
		t.Errorf("IssueServiceToken called %d times for 20 calls, want 1", n)
	}
	req := id.reqs[0]
	if req.GetClientId() != "svc_orders" || req.GetClientSecret() != testSecret || req.GetOnBehalfOf() != nil {
		t.Errorf("request = client %q, obo %v; want svc_orders with the secret and no obo", req.GetClientId(), req.GetOnBehalfOf())
	}
}

func TestDialWithTokens_RefreshesNearExpiry(t *testing.T) {
	id, clk, conn := peerSetup(t, testSecret)
	ctx := context.Background()
	mustEcho := func(want string) {
		t.Helper()
		got, err := echo(ctx, t, conn)
		if err != nil || got != want {
			t.Fatalf("echo = %q, %v; want %q", got, err, want)
		}
	}
	mustEcho("Bearer tok-1")
	clk.Add(12*time.Minute + 59*time.Second) // 2m01s left: still reused
	mustEcho("Bearer tok-1")
	clk.Add(2 * time.Second) // 1m59s left: replaced
	mustEcho("Bearer tok-2")
	mustEcho("Bearer tok-2")
	if n := id.calls.Load(); n != 2 {
		t.Errorf("IssueServiceToken called %d times, want 2", n)
	}
}

func TestDialWithTokens_OnBehalfOf(t *testing.T) {
	id, _, conn := peerSetup(t, testSecret)
	alice := auth.Principal{Subject: "alice", OrgID: "p1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	bob := auth.Principal{Subject: "bob", OrgID: "p1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent}}
	// A service token acting for alice passes alice on.
	svcForAlice := auth.Principal{Subject: "service:catalog", OrgID: "partnerhub", OrgKind: auth.OrgService,
		Roles: []auth.Role{auth.Service}, OnBehalfOf: &alice}
	ownAccount := auth.Principal{Subject: "service:catalog", OrgID: "partnerhub", OrgKind: auth.OrgService,
		Roles: []auth.Role{auth.Service}}
	bg := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"own account", bg, "Bearer tok-1"},
		{"alice", OnBehalfOf(bg, alice), "Bearer tok-2-alice"},
		{"bob", OnBehalfOf(bg, bob), "Bearer tok-3-bob"},
		{"alice again (cached)", OnBehalfOf(bg, alice), "Bearer tok-2-alice"},
		{"caller is alice", OnBehalfOfCaller(auth.WithPrincipal(bg, alice)), "Bearer tok-2-alice"},
		{"caller is a service acting for alice", OnBehalfOfCaller(auth.WithPrincipal(bg, svcForAlice)), "Bearer tok-2-alice"},
		{"caller is a service on its own account", OnBehalfOf(OnBehalfOf(bg, bob), ownAccount), "Bearer tok-1"},
		{"unauthenticated caller", OnBehalfOfCaller(bg), "Bearer tok-1"},
	}
	for _, tt := range tests {
		got, err := echo(tt.ctx, t, conn)
		if err != nil || got != tt.want {
			t.Errorf("%s: echo = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if n := id.calls.Load(); n != 3 {
		t.Errorf("IssueServiceToken called %d times, want 3", n)
	}
	o := id.reqs[1].GetOnBehalfOf()
	if o.GetSubject() != "alice" || o.GetOrgId() != "p1" || o.GetOrgKind() != commonv1.OrgKind_ORG_KIND_PARTNER ||
		len(o.GetRoles()) != 1 || o.GetRoles()[0] != commonv1.Role_ROLE_ADMIN_AGENT {
		t.Errorf("on_behalf_of = %v, want alice of partner p1 with ADMIN_AGENT", o)
	}
}

func TestDialWithTokens_Burst_OneIssue(t *testing.T) {
	id, _, conn := peerSetup(t, testSecret)
	id.delay = 50 * time.Millisecond
	var wg sync.WaitGroup
	errc := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			if got, err := echo(context.Background(), t, conn); err != nil || got != "Bearer tok-1" {
				errc <- fmt.Errorf("echo = %q, %w", got, err)
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n := id.calls.Load(); n != 1 {
		t.Errorf("IssueServiceToken called %d times for a burst of 50, want 1", n)
	}
}

func TestDialWithTokens_Errors(t *testing.T) {
	t.Run("wrong secret", func(t *testing.T) {
		id, _, conn := peerSetup(t, "wrong-wrong-wrong-wrong")
		for range 2 {
			_, err := echo(context.Background(), t, conn)
			if errs.KindOf(err) != errs.Unavailable || !errs.HasReason(err, errs.ReasonDependencyUnavailable) {
				t.Fatalf("echo error = %v, want UNAVAILABLE DEPENDENCY_UNAVAILABLE", err)
			}
			if !strings.Contains(err.Error(), "svc_orders") || !strings.Contains(err.Error(), "CREDENTIAL_INVALID") {
				t.Errorf("error %q should name the client ID and identity's reason", err)
			}
			if strings.Contains(err.Error(), "wrong-wrong") {
				t.Errorf("error %q leaks the secret", err)
			}
		}
		if n := id.calls.Load(); n != 2 {
			t.Errorf("IssueServiceToken called %d times, want 2 (failures are not cached)", n)
		}
	})
	t.Run("no secret", func(t *testing.T) {
		id, _, conn := peerSetup(t, "")
		_, err := echo(context.Background(), t, conn)
		if errs.KindOf(err) != errs.Unavailable || !strings.Contains(err.Error(), "PARTNERHUB_ORDERS_SERVICE_SECRET") {
			t.Errorf("echo error = %v, want UNAVAILABLE naming the setting", err)
		}
		if n := id.calls.Load(); n != 0 {
			t.Errorf("IssueServiceToken called %d times without a secret, want 0", n)
		}
	})
	t.Run("identity down", func(t *testing.T) {
		peer := serve(t, nil) // no TokenService: UNIMPLEMENTED
		idConn, err := Dial(closedAddr(t))
		if err != nil {
			t.Fatal(err)
		}
		defer idConn.Close()
		ts := NewIdentityTokens(identityv1.NewTokenServiceClient(idConn),
			IdentityTokensOptions{Name: "orders", Secret: testSecret, Timeout: 2 * time.Second})
		conn, err := DialWithTokens(peer, ts)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = echo(context.Background(), t, conn)
		if errs.KindOf(err) != errs.Unavailable {
			t.Errorf("echo error = %v, want UNAVAILABLE", err)
		}
	})
	t.Run("caller deadline", func(t *testing.T) {
		id, _, conn := peerSetup(t, testSecret)
		id.delay = time.Second
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := echo(ctx, t, conn)
		if errs.KindOf(err) != errs.DeadlineExceeded {
			t.Errorf("echo error = %v, want DEADLINE_EXCEEDED", err)
		}
	})
}

func TestIdentityTokens_KeepsValidTokenWhenIdentityFails(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	idConn, err := Dial(closedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer idConn.Close()
	ts := NewIdentityTokens(identityv1.NewTokenServiceClient(idConn),
		IdentityTokensOptions{Name: "orders", Secret: testSecret, Now: clk.Now, Timeout: time.Second})
	// A token in its refresh window, not yet expired, while identity is unreachable.
	ts.remember("", cachedToken{token: "still-good", refreshAt: clk.Now().Add(-time.Minute), expires: clk.Now().Add(time.Minute)}, clk.Now())
	got, err := ts.Token(ctx, nil)
	if err != nil || got != "still-good" {
		t.Errorf("Token = %q, %v; want the cached, unexpired token", got, err)
	}
	clk.Add(2 * time.Minute)
	if _, err := ts.Token(ctx, nil); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Token after expiry with identity down = %v, want UNAVAILABLE", err)
	}
}

func TestIdentityTokens_Bounded(t *testing.T) {
	clk := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	id := &fakeIdentity{now: clk.Now, ttl: 15 * time.Minute}
	conn, err := Dial(serve(t, id))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ts := NewIdentityTokens(identityv1.NewTokenServiceClient(conn),
		IdentityTokensOptions{Name: "orders", Secret: testSecret, Now: clk.Now, MaxEntries: 3})
	for i := range 10 {
		p := auth.Principal{Subject: fmt.Sprint("u", i), OrgID: "p1", OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
		if _, err := ts.Token(context.Background(), &p); err != nil {
			t.Fatal(err)
		}
	}
	ts.mu.RLock()
	n := len(ts.tokens)
	ts.mu.RUnlock()
	if n > 3 {
		t.Errorf("cache holds %d tokens, want at most 3", n)
	}
}

// TestRuntime_DialPeer checks the runtime's wiring: Base's name and secret reach identity, and
// the connection is closed with the runtime.
func TestRuntime_DialPeer(t *testing.T) {
	clk := &testClock{t: time.Now()}
	id := &fakeIdentity{now: clk.Now, ttl: 15 * time.Minute}
	addr := serve(t, id)
	rt := &Runtime{Base: Base{Name: "delegatedadmin", IdentityAddr: addr, ServiceSecret: testSecret}}
	defer rt.Close()
	conn, err := rt.DialPeer(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := OnBehalfOf(context.Background(), auth.Principal{Subject: "u1", OrgID: "c1", OrgKind: auth.OrgCustomer,
		Roles: []auth.Role{auth.CustomerGlobalAdmin}})
	if got, err := echo(ctx, t, conn); err != nil || got != "Bearer tok-1-u1" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	if c := id.reqs[0].GetClientId(); c != "svc_delegatedadmin" {
		t.Errorf("client ID %q, want svc_delegatedadmin", c)
	}
	// A second peer connection shares the token source (and its cache).
	conn2, err := rt.DialPeer(addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := echo(ctx, t, conn2); err != nil {
		t.Fatal(err)
	}
	if n := id.calls.Load(); n != 1 {
		t.Errorf("IssueServiceToken called %d times over two peer connections, want 1", n)
	}
}

func TestBase_ServiceSecret(t *testing.T) {
	env := map[string]string{"PARTNERHUB_ORDERS_SERVICE_SECRET": testSecret}
	l := config.New("orders").WithEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	var fromEnv Base
	BindBase(l, &fromEnv, "orders", SlotOrders)
	if err := l.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if fromEnv.ServiceSecret != testSecret {
		t.Errorf("ServiceSecret from the environment = %q", fromEnv.ServiceSecret)
	}
	l = config.New("identity").WithEnv(func(string) (string, bool) { return "", false })
	var idBase Base
	BindBase(l, &idBase, "identity", SlotIdentity)
	if err := l.Parse([]string{"--service-secret", "x"}); err == nil {
		t.Error("identity accepts --service-secret; it mints its own tokens")
	}

	b := Base{Name: "orders"}
	err := b.RequireServiceSecret()
	if err == nil || !strings.Contains(err.Error(), "PARTNERHUB_ORDERS_SERVICE_SECRET") {
		t.Errorf("RequireServiceSecret without a secret = %v", err)
	}
	b.ServiceSecret = testSecret
	if err := b.RequireServiceSecret(); err != nil {
		t.Errorf("RequireServiceSecret = %v", err)
	}
}
