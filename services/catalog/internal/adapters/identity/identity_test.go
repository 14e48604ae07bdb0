package identity_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/tenancy"
	"github.com/partnerhub/partnerhub/services/catalog/internal/adapters/identity"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

const (
	direct   = "aaaaaaaa-0000-4000-8000-000000000001"
	unknown  = "bbbbbbbb-0000-4000-8000-000000000002"
	customer = "cccccccc-0000-4000-8000-000000000003"
	moved    = "dddddddd-0000-4000-8000-000000000004"
	stranger = "eeeeeeee-0000-4000-8000-000000000005"
)

// fakeIdentity answers as identity does; down makes every call fail.
type fakeIdentity struct {
	identityv1.UnimplementedCustomerServiceServer
	identityv1.UnimplementedPartnerServiceServer
	identityv1.UnimplementedRelationshipServiceServer
	down          atomic.Bool
	marketCalls   atomic.Int32
	partnerCalls  atomic.Int32
	markets       []*identityv1.Market
	mu            sync.Mutex
	marketsPaging []string // page tokens seen
}

func (f *fakeIdentity) ListMarkets(_ context.Context, req *identityv1.ListMarketsRequest) (*identityv1.ListMarketsResponse, error) {
	f.marketCalls.Add(1)
	if f.down.Load() {
		return nil, status.Error(codes.Unavailable, "down")
	}
	f.mu.Lock()
	f.marketsPaging = append(f.marketsPaging, req.GetPageToken())
	f.mu.Unlock()
	// Two per page, to make the adapter follow the pages.
	start := 0
	if req.GetPageToken() != "" {
		start = int(req.GetPageToken()[0] - '0')
	}
	end := min(start+2, len(f.markets))
	resp := &identityv1.ListMarketsResponse{Markets: f.markets[start:end]}
	if end < len(f.markets) {
		resp.NextPageToken = string(rune('0' + end))
	}
	return resp, nil
}

func (f *fakeIdentity) GetPartner(_ context.Context, req *identityv1.GetPartnerRequest) (*identityv1.GetPartnerResponse, error) {
	f.partnerCalls.Add(1)
	switch {
	case f.down.Load():
		return nil, status.Error(codes.Unavailable, "down")
	case req.GetPartnerId() != direct:
		return nil, status.Error(codes.NotFound, "partner not found")
	}
	return &identityv1.GetPartnerResponse{Partner: &identityv1.Partner{PartnerId: direct, Enrolments: []*identityv1.ProgramEnrolment{
		{Program: identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT},
		{Program: identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN},
		{Program: identityv1.PartnerProgram_PARTNER_PROGRAM_DELEGATED_ADMIN},
	}}}, nil
}

func (f *fakeIdentity) CheckRelationship(_ context.Context, req *identityv1.CheckRelationshipRequest) (*identityv1.CheckRelationshipResponse, error) {
	if f.down.Load() {
		return nil, status.Error(codes.Unavailable, "down")
	}
	resp := &identityv1.CheckRelationshipResponse{CacheTtl: durationpb.New(time.Second)}
	switch req.GetCustomerId() {
	case customer:
		resp.Active, resp.CustomerCountryCode = true, "DE"
	case moved:
		resp.DenialReason, resp.CustomerCountryCode = identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_MOVED, "DE"
	case stranger:
		resp.DenialReason, resp.CustomerCountryCode = identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_NO_RELATIONSHIP, "AT"
	default:
		resp.DenialReason = identityv1.RelationshipDenialReason_RELATIONSHIP_DENIAL_REASON_CUSTOMER_NOT_FOUND
	}
	return resp, nil
}

func serve(t *testing.T) (*fakeIdentity, *grpc.ClientConn) {
	t.Helper()
	f := &fakeIdentity{markets: []*identityv1.Market{
		{CountryCode: "AT", CurrencyCode: "EUR"}, {CountryCode: "DE", CurrencyCode: "EUR"},
		{CountryCode: "JP", CurrencyCode: "JPY"}, {CountryCode: "US", CurrencyCode: "USD"}, {CountryCode: "zz", CurrencyCode: "bad"},
	}}
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	identityv1.RegisterCustomerServiceServer(gs, f)
	identityv1.RegisterPartnerServiceServer(gs, f)
	identityv1.RegisterRelationshipServiceServer(gs, f)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///identity", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(errs.UnaryClientInterceptor()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return f, conn
}

// ID-3, CA-4: the served markets and their currencies, every page of them; malformed entries are
// left out.
func TestMarkets_ID3_AllPages(t *testing.T) {
	f, conn := serve(t)
	m := identity.NewMarkets(conn, identity.MarketsOptions{})
	all, err := m.All(context.Background())
	if err != nil || len(all) != 4 || all[3] != (domain.Market{CountryCode: "US", CurrencyCode: "USD"}) {
		t.Fatalf("All: %v %v", all, err)
	}
	if mk, ok, err := m.Market(context.Background(), "JP"); err != nil || !ok || mk.CurrencyCode != "JPY" {
		t.Errorf("JP: %v %v %v", mk, ok, err)
	}
	if _, ok, err := m.Market(context.Background(), "FR"); err != nil || ok {
		t.Errorf("FR is not served: %v %v", ok, err)
	}
	if !slices.Equal(f.marketsPaging, []string{"", "2", "4"}) {
		t.Errorf("pages asked %q", f.marketsPaging)
	}
	if n := f.marketCalls.Load(); n != 3 {
		t.Errorf("%d calls: the list is fetched once, then kept", n)
	}
}

// Before the first successful fetch a caller gets UNAVAILABLE / DEPENDENCY_UNAVAILABLE (and
// identity is not asked again within RetryAfter); after it, a failed refresh keeps the last good
// list.
func TestMarkets_UnavailableThenLastGood(t *testing.T) {
	f, conn := serve(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	m := identity.NewMarkets(conn, identity.MarketsOptions{RetryAfter: time.Second, Now: clock})
	f.down.Store(true)
	for range 3 {
		_, _, err := m.Market(context.Background(), "DE")
		if errs.KindOf(err) != errs.Unavailable || errs.ReasonOf(err) != errs.ReasonDependencyUnavailable {
			t.Fatalf("identity down: %v", err)
		}
	}
	if n := f.marketCalls.Load(); n != 1 {
		t.Errorf("%d calls within RetryAfter", n)
	}
	f.down.Store(false)
	now = now.Add(2 * time.Second)
	if _, ok, err := m.Market(context.Background(), "DE"); err != nil || !ok {
		t.Fatalf("identity back: %v %v", ok, err)
	}
	f.down.Store(true)
	if err := m.Refresh(context.Background()); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("refresh with identity down: %v", err)
	}
	if _, ok, err := m.Market(context.Background(), "DE"); err != nil || !ok {
		t.Errorf("last good list: %v %v", ok, err)
	}
}

// Run refreshes the list periodically until its context ends.
func TestMarkets_RunRefreshes(t *testing.T) {
	f, conn := serve(t)
	m := identity.NewMarkets(conn, identity.MarketsOptions{Refresh: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for f.marketCalls.Load() < 9 { // three pages a fetch: at least three fetches
		if time.Now().After(deadline) {
			t.Fatal("Run does not refresh")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// ID-1, CA-3: a partner's sales programs among its enrolments (DELEGATED_ADMIN is none); an
// unknown partner has none; answers are reused for the TTL.
func TestPartners_CA3_Programs(t *testing.T) {
	f, conn := serve(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := identity.NewPartners(conn, 5*time.Second, func() time.Time { return now })
	for range 3 {
		got, err := p.Programs(context.Background(), direct)
		if err != nil || !slices.Equal(got, []domain.SalesProgram{domain.ProgramCSPDirect, domain.ProgramOpen}) {
			t.Fatalf("programs %v %v", got, err)
		}
	}
	if got, err := p.Programs(context.Background(), unknown); err != nil || len(got) != 0 {
		t.Errorf("unknown partner: %v %v", got, err)
	}
	if n := f.partnerCalls.Load(); n != 2 {
		t.Errorf("%d calls, want one per partner", n)
	}
	now = now.Add(6 * time.Second)
	f.down.Store(true)
	if _, err := p.Programs(context.Background(), direct); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("expired and identity down: %v", err)
	}
}

// ID-4, ID-8: the customer's market when the relationship is active; a former customer
// (removed, moved) is known to the partner; anyone else is not.
func TestCustomers_ID4(t *testing.T) {
	f, conn := serve(t)
	c := identity.NewCustomers(tenancy.New(identityv1.NewRelationshipServiceClient(conn), nil, tenancy.Options{}))
	for id, want := range map[string]app.CustomerRelationship{
		customer: {Active: true, Country: "DE"},
		moved:    {Former: true},
		stranger: {},
		unknown:  {},
	} {
		got, err := c.Relationship(context.Background(), direct, id)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", id, got, err, want)
		}
	}
	f.down.Store(true)
	if _, err := c.Relationship(context.Background(), unknown, customer); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("identity down: %v", err)
	}
}
