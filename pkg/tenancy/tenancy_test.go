package tenancy

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
)

// fakePeers is identity's RelationshipService and delegatedadmin's DelegatedAdminService in one
// server, answering from settable responses and counting calls.
type fakePeers struct {
	relCalls, accessCalls atomic.Int32
	delay                 time.Duration

	mu     sync.Mutex
	rel    *identityv1.CheckRelationshipResponse
	access *delegatedadminv1.CheckAccessResponse
	err    error
	last   *delegatedadminv1.CheckAccessRequest
}

func (f *fakePeers) set(rel *identityv1.CheckRelationshipResponse, access *delegatedadminv1.CheckAccessResponse, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rel, f.access, f.err = rel, access, err
}

type fakeIdentity struct {
	identityv1.UnimplementedRelationshipServiceServer
	*fakePeers
}

type fakeDelegatedAdmin struct {
	delegatedadminv1.UnimplementedDelegatedAdminServiceServer
	*fakePeers
}

func (f fakeIdentity) CheckRelationship(context.Context, *identityv1.CheckRelationshipRequest) (*identityv1.CheckRelationshipResponse, error) {
	f.relCalls.Add(1)
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return f.rel, nil
}

func (f fakeDelegatedAdmin) CheckAccess(_ context.Context, req *delegatedadminv1.CheckAccessRequest) (*delegatedadminv1.CheckAccessResponse, error) {
	f.accessCalls.Add(1)
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = req
	if f.err != nil {
		return nil, f.err
	}
	return f.access, nil
}

// errorMapping sends *errs.Error values as partnerhub statuses, as pkg/server does.
func errorMapping(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	if err != nil {
		st, _ := errs.ToStatus(err)
		return nil, st.Err()
	}
	return resp, nil
}

// startFake serves f over bufconn and returns a client connection to it.
func startFake(tb testing.TB, f *fakePeers) *grpc.ClientConn {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer(grpc.UnaryInterceptor(errorMapping))
	identityv1.RegisterRelationshipServiceServer(gs, fakeIdentity{fakePeers: f})
	delegatedadminv1.RegisterDelegatedAdminServiceServer(gs, fakeDelegatedAdmin{fakePeers: f})
	go func() { _ = gs.Serve(lis) }()
	tb.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
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

func setup(tb testing.TB, opts Options) (*fakePeers, *testClock, *Checker) {
	tb.Helper()
	f := &fakePeers{}
	clk := &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	conn := startFake(tb, f)
	opts.Now = clk.Now
	return f, clk, New(identityv1.NewRelationshipServiceClient(conn), delegatedadminv1.NewDelegatedAdminServiceClient(conn), opts)
}

func activeRel(ttl time.Duration) *identityv1.CheckRelationshipResponse {
	return &identityv1.CheckRelationshipResponse{Active: true, RelationshipId: "rel-1", CustomerCountryCode: "DE",
		PartnerCountryCode: "DE", CustomerPartnerManaged: true, CacheTtl: durationpb.New(ttl)}
}

func allowed(ttl time.Duration, end time.Time) *delegatedadminv1.CheckAccessResponse {
	r := &delegatedadminv1.CheckAccessResponse{Allowed: true, RelationshipId: "dar-1", CacheTtl: durationpb.New(ttl)}
	if !end.IsZero() {
		r.GrantEndTime = timestamppb.New(end)
	}
	return r
}

const (
	partner  = "11111111-1111-1111-1111-111111111111"
	customer = "22222222-2222-2222-2222-222222222222"
	userAdm  = delegatedadminv1.AdminRole_ADMIN_ROLE_USER_ADMINISTRATOR
)

func TestRelationship_Cached(t *testing.T) {
	f, clk, c := setup(t, Options{})
	f.set(activeRel(20*time.Second), nil, nil)
	ctx := context.Background()
	want := Relationship{Active: true, RelationshipID: "rel-1", CustomerCountry: "DE", PartnerCountry: "DE", CustomerPartnerManaged: true}
	for range 10 {
		r, err := c.Relationship(ctx, partner, customer)
		if err != nil || r != want {
			t.Fatalf("Relationship = %+v, %v; want %+v", r, err, want)
		}
	}
	if n := f.relCalls.Load(); n != 1 {
		t.Errorf("CheckRelationship called %d times for 10 checks, want 1", n)
	}
	// Another pair is another question.
	if _, err := c.Relationship(ctx, partner, "other"); err != nil {
		t.Fatal(err)
	}
	if n := f.relCalls.Load(); n != 2 {
		t.Errorf("CheckRelationship called %d times, want 2", n)
	}
	// cache_ttl (20s) counts, under MaxTTL (30s).
	clk.Add(19 * time.Second)
	_, _ = c.Relationship(ctx, partner, customer)
	if n := f.relCalls.Load(); n != 2 {
		t.Errorf("at 19s: CheckRelationship called %d times, want 2", n)
	}
	clk.Add(time.Second)
	_, _ = c.Relationship(ctx, partner, customer)
	if n := f.relCalls.Load(); n != 3 {
		t.Errorf("at 20s: CheckRelationship called %d times, want 3", n)
	}
}

func TestRelationship_TTLCappedAndUnset(t *testing.T) {
	f, clk, c := setup(t, Options{MaxTTL: 5 * time.Second})
	ctx := context.Background()
	f.set(activeRel(time.Hour), nil, nil)
	_, _ = c.Relationship(ctx, partner, customer)
	clk.Add(4 * time.Second)
	_, _ = c.Relationship(ctx, partner, customer)
	if n := f.relCalls.Load(); n != 1 {
		t.Errorf("within MaxTTL: %d calls, want 1", n)
	}
	clk.Add(time.Second)
	_, _ = c.Relationship(ctx, partner, customer)
	if n := f.relCalls.Load(); n != 2 {
		t.Errorf("at MaxTTL: %d calls, want 2", n)
	}
	// No cache_ttl: the contract allows no caching.
	noTTL := activeRel(0)
	noTTL.CacheTtl = nil
	f.set(noTTL, nil, nil)
	c.Invalidate(partner, customer)
	for range 3 {
		_, _ = c.Relationship(ctx, partner, customer)
	}
	if n := f.relCalls.Load(); n != 5 {
		t.Errorf("without cache_ttl: %d calls, want 5", n)
	}
}

func TestRequireRelationship(t *testing.T) {
	f, _, c := setup(t, Options{})
	ctx := context.Background()
	f.set(&identityv1.CheckRelationshipResponse{DenialReason: identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_MOVED,
		RelationshipId: "rel-old", CacheTtl: durationpb.New(30 * time.Second)}, nil, nil)
	for range 2 { // the negative answer is cached too
		r, err := c.RequireRelationship(ctx, partner, customer)
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.FailedPrecondition || e.Reason != ReasonRelationshipRequired || e.Metadata["denial_reason"] != "MOVED" {
			t.Fatalf("RequireRelationship error = %v, want FAILED_PRECONDITION RELATIONSHIP_REQUIRED denial_reason=MOVED", err)
		}
		if r.RelationshipID != "rel-old" {
			t.Errorf("denied answer = %+v, want the ended relationship", r)
		}
	}
	if n := f.relCalls.Load(); n != 1 {
		t.Errorf("CheckRelationship called %d times, want 1 (negative answers are cached)", n)
	}
	f.set(activeRel(time.Second), nil, nil)
	c.Invalidate(partner, customer)
	if _, err := c.RequireRelationship(ctx, partner, customer); err != nil {
		t.Errorf("RequireRelationship after invalidation = %v, want nil", err)
	}
}

func TestAccess_CachedAndGrantEnd(t *testing.T) {
	f, clk, c := setup(t, Options{})
	ctx := context.Background()
	end := clk.Now().Add(10 * time.Second) // ends before cache_ttl and MaxTTL
	f.set(nil, allowed(30*time.Second, end), nil)
	for range 5 {
		a, err := c.Access(ctx, partner, customer, userAdm)
		if err != nil || !a.Allowed || !a.GrantEnd.Equal(end) || a.RelationshipID != "dar-1" {
			t.Fatalf("Access = %+v, %v", a, err)
		}
	}
	if n := f.accessCalls.Load(); n != 1 {
		t.Errorf("CheckAccess called %d times, want 1", n)
	}
	if r := f.last.GetRole(); r != userAdm || f.last.GetPartnerId() != partner || f.last.GetCustomerId() != customer {
		t.Errorf("request = %v", f.last)
	}
	// Another role is another question.
	_, _ = c.Access(ctx, partner, customer, delegatedadminv1.AdminRole_ADMIN_ROLE_GLOBAL_READER)
	if n := f.accessCalls.Load(); n != 2 {
		t.Errorf("CheckAccess called %d times, want 2", n)
	}
	clk.Add(9 * time.Second)
	_, _ = c.Access(ctx, partner, customer, userAdm)
	if n := f.accessCalls.Load(); n != 2 {
		t.Errorf("before grant end: %d calls, want 2", n)
	}
	clk.Add(time.Second) // the grant ends: the cached "allowed" must not be used
	f.set(nil, &delegatedadminv1.CheckAccessResponse{DenialReason: delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_EXPIRED,
		RelationshipId: "dar-1", CacheTtl: durationpb.New(30 * time.Second)}, nil)
	a, err := c.Access(ctx, partner, customer, userAdm)
	if err != nil || a.Allowed {
		t.Errorf("Access at grant end = %+v, %v; want denied", a, err)
	}
	if n := f.accessCalls.Load(); n != 3 {
		t.Errorf("at grant end: %d calls, want 3", n)
	}
}

func TestRequireAccess(t *testing.T) {
	f, _, c := setup(t, Options{})
	ctx := context.Background()
	f.set(nil, &delegatedadminv1.CheckAccessResponse{DenialReason: delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_ROLE_NOT_GRANTED,
		CacheTtl: durationpb.New(30 * time.Second)}, nil)
	_, err := c.RequireAccess(ctx, partner, customer, userAdm)
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.PermissionDenied || e.Reason != ReasonDelegatedAdminRequired ||
		e.Metadata["required_role"] != "USER_ADMINISTRATOR" || e.Metadata["denial_reason"] != "ROLE_NOT_GRANTED" {
		t.Errorf("RequireAccess error = %v, want PERMISSION_DENIED DELEGATED_ADMIN_REQUIRED with metadata", err)
	}
	f.set(nil, allowed(30*time.Second, time.Time{}), nil) // legacy full admin: no end
	c.Invalidate(partner, customer)
	a, err := c.RequireAccess(ctx, partner, customer, userAdm)
	if err != nil || !a.Allowed || !a.GrantEnd.IsZero() {
		t.Errorf("RequireAccess = %+v, %v; want allowed without end", a, err)
	}
}

func TestErrorsNotCached(t *testing.T) {
	f, _, c := setup(t, Options{})
	ctx := context.Background()
	f.set(nil, nil, errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch, "not yours"))
	for range 3 {
		_, err := c.Relationship(ctx, partner, customer)
		if !errs.HasReason(err, errs.ReasonTenantMismatch) || errs.KindOf(err) != errs.PermissionDenied {
			t.Fatalf("Relationship error = %v, want the peer's PERMISSION_DENIED TENANT_MISMATCH", err)
		}
		if _, err := c.Access(ctx, partner, customer, userAdm); !errs.HasReason(err, errs.ReasonTenantMismatch) {
			t.Fatalf("Access error = %v, want TENANT_MISMATCH", err)
		}
	}
	if r, a := f.relCalls.Load(), f.accessCalls.Load(); r != 3 || a != 3 {
		t.Errorf("calls = %d relationship, %d access; want 3 each (errors are not cached)", r, a)
	}
	f.set(activeRel(time.Minute), allowed(time.Minute, time.Time{}), nil)
	if r, err := c.Relationship(ctx, partner, customer); err != nil || !r.Active {
		t.Errorf("after recovery: %+v, %v", r, err)
	}
}

func TestConcurrentMisses_OneRPC(t *testing.T) {
	f, _, c := setup(t, Options{})
	f.delay = 50 * time.Millisecond
	f.set(activeRel(time.Minute), allowed(time.Minute, time.Time{}), nil)
	var wg sync.WaitGroup
	errc := make(chan error, 200)
	for range 100 {
		wg.Go(func() {
			if r, err := c.Relationship(context.Background(), partner, customer); err != nil || !r.Active {
				errc <- errors.Join(err, errors.New("relationship not active"))
			}
		})
		wg.Go(func() {
			if a, err := c.Access(context.Background(), partner, customer, userAdm); err != nil || !a.Allowed {
				errc <- errors.Join(err, errors.New("access not allowed"))
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if r, a := f.relCalls.Load(), f.accessCalls.Load(); r != 1 || a != 1 {
		t.Errorf("calls = %d relationship, %d access for 100 concurrent misses each; want 1 each", r, a)
	}
}

func TestCallerDeadline(t *testing.T) {
	f, _, c := setup(t, Options{})
	f.delay = 300 * time.Millisecond
	f.set(activeRel(time.Minute), nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Relationship(ctx, partner, customer); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Relationship with a short deadline = %v, want DeadlineExceeded", err)
	}
	// The shared fetch went on and filled the cache for the next caller.
	time.Sleep(400 * time.Millisecond)
	if _, err := c.Relationship(context.Background(), partner, customer); err != nil {
		t.Fatal(err)
	}
	if n := f.relCalls.Load(); n != 1 {
		t.Errorf("CheckRelationship called %d times, want 1", n)
	}
}

func TestInvalidate_DropsInFlightAnswer(t *testing.T) {
	f, _, c := setup(t, Options{})
	f.delay = 100 * time.Millisecond
	f.set(activeRel(time.Minute), nil, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.Relationship(context.Background(), partner, customer)
	}()
	time.Sleep(30 * time.Millisecond) // the check is in flight
	c.Invalidate(partner, customer)
	<-done
	if n := c.rels.len(); n != 0 {
		t.Errorf("an answer fetched before Invalidate was cached (%d entries)", n)
	}
}

func TestAllowed(t *testing.T) {
	f, _, c := setup(t, Options{})
	ctx := context.Background()
	f.set(nil, allowed(time.Minute, time.Time{}), nil)
	ok, err := c.Allowed(ctx, partner, customer, "USER_ADMINISTRATOR")
	if err != nil || !ok {
		t.Errorf("Allowed = %v, %v", ok, err)
	}
	if f.last.GetRole() != userAdm {
		t.Errorf("role sent = %v", f.last.GetRole())
	}
	for _, bad := range []string{"", "UNSPECIFIED", "ADMIN_ROLE_USER_ADMINISTRATOR", "user_administrator", "ROOT"} {
		if _, err := c.Allowed(ctx, partner, customer, bad); err == nil {
			t.Errorf("Allowed(%q) = nil error, want an unknown-role error", bad)
		}
	}
	if n := f.accessCalls.Load(); n != 1 {
		t.Errorf("CheckAccess called %d times, want 1 (unknown roles never reach the peer)", n)
	}
}

func TestCacheBounded(t *testing.T) {
	f, _, c := setup(t, Options{MaxEntries: 20})
	f.set(activeRel(time.Minute), nil, nil)
	for i := range 100 {
		if _, err := c.Relationship(context.Background(), partner, string(rune('a'+i%26))+string(rune('a'+i/26))); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.rels.len(); n > 20 {
		t.Errorf("cache holds %d entries, bound 20", n)
	}
}

func newRelClient(conn *grpc.ClientConn) identityv1.RelationshipServiceClient {
	return identityv1.NewRelationshipServiceClient(conn)
}

func newDAClient(conn *grpc.ClientConn) delegatedadminv1.DelegatedAdminServiceClient {
	return delegatedadminv1.NewDelegatedAdminServiceClient(conn)
}
