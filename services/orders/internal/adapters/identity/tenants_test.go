package identity_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/identity"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

type fakeCustomers struct {
	identityv1.UnimplementedCustomerServiceServer
	create *identityv1.CreateCustomerRequest
	auth   string
	err    error
}

func (f *fakeCustomers) ListMarkets(_ context.Context, req *identityv1.ListMarketsRequest) (*identityv1.ListMarketsResponse, error) {
	if req.GetPageToken() == "" {
		return &identityv1.ListMarketsResponse{Markets: []*identityv1.Market{{CountryCode: "AT"}}, NextPageToken: "p2"}, nil
	}
	return &identityv1.ListMarketsResponse{Markets: []*identityv1.Market{{CountryCode: "DE"}}}, nil
}

func (f *fakeCustomers) CheckDomainAvailability(_ context.Context, req *identityv1.CheckDomainAvailabilityRequest) (*identityv1.CheckDomainAvailabilityResponse, error) {
	return &identityv1.CheckDomainAvailabilityResponse{Available: req.GetDomainPrefix() != "fabrikam"}, nil
}

func (f *fakeCustomers) GetCustomer(_ context.Context, req *identityv1.GetCustomerRequest) (*identityv1.GetCustomerResponse, error) {
	if req.GetCustomerId() != "cust-1" {
		st, _ := errs.ToStatus(errs.NotFoundf("customer", req.GetCustomerId()))
		return nil, st.Err()
	}
	return &identityv1.GetCustomerResponse{Customer: &identityv1.Customer{CustomerId: "cust-1", CountryCode: "DE"}}, nil
}

func (f *fakeCustomers) CreateCustomer(ctx context.Context, req *identityv1.CreateCustomerRequest) (*identityv1.CreateCustomerResponse, error) {
	f.create, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &identityv1.CreateCustomerResponse{Customer: &identityv1.Customer{CustomerId: "cust-new"},
		AdminUser: &identityv1.User{UserId: "user-admin"}, AdminClientSecret: "secret"}, nil
}

type fakePartners struct {
	identityv1.UnimplementedPartnerServiceServer
}

func (fakePartners) GetPartner(_ context.Context, req *identityv1.GetPartnerRequest) (*identityv1.GetPartnerResponse, error) {
	p := &identityv1.Partner{PartnerId: req.GetPartnerId(), Enrolments: []*identityv1.ProgramEnrolment{
		{Program: identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT}}}
	if req.GetPartnerId() == "partner-open" {
		p.Enrolments = append(p.Enrolments, &identityv1.ProgramEnrolment{Program: identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN})
	}
	return &identityv1.GetPartnerResponse{Partner: p}, nil
}

func dialTenants(t *testing.T, f *fakeCustomers) *identity.Tenants {
	t.Helper()
	conn := peertest.Dial(t, func(gs *grpc.Server) {
		identityv1.RegisterCustomerServiceServer(gs, f)
		identityv1.RegisterPartnerServiceServer(gs, fakePartners{})
	}, peertest.WithTokens())
	return identity.NewTenants(conn)
}

// ID-1, ID-2, ID-3: the review's checks.
func TestTenants_Checks_ID1_ID2_ID3(t *testing.T) {
	tn := dialTenants(t, &fakeCustomers{})
	ctx := peertest.AgentCtx()
	for c, want := range map[string]bool{"AT": true, "DE": true, "XX": false} {
		if got, err := tn.CountrySupported(ctx, c); err != nil || got != want {
			t.Errorf("CountrySupported(%s) = %v, %v", c, got, err)
		}
	}
	if ok, _ := tn.DomainAvailable(ctx, "fabrikam"); ok {
		t.Error("fabrikam available")
	}
	if ok, _ := tn.DomainAvailable(ctx, "contoso"); !ok {
		t.Error("contoso taken")
	}
	if ok, _ := tn.InOpenProgram(ctx, "partner-open"); !ok {
		t.Error("Open partner not enrolled")
	}
	if ok, _ := tn.InOpenProgram(ctx, "partner-csp"); ok {
		t.Error("CSP-only partner enrolled in Open")
	}
	if c, err := tn.CustomerCountry(ctx, "cust-1"); c != "DE" || err != nil {
		t.Errorf("CustomerCountry = %q, %v", c, err)
	}
	if _, err := tn.CustomerCountry(ctx, "cust-9"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("unknown customer: %v", err)
	}
}

// KD-2, ID-2: the tenant is created with its admin on behalf of the caller; the secret is dropped.
func TestTenants_CreateTenant_KD2_ID2(t *testing.T) {
	f := &fakeCustomers{}
	tn := dialTenants(t, f)
	nt := domain.NewTenant{OrganisationName: "Contoso GmbH", CountryCode: "DE", DefaultDomain: "contoso.onmicrosoft.com",
		Admin: domain.TenantAdmin{GivenName: "Anna", FamilyName: "Admin", UserName: "anna@contoso.onmicrosoft.com",
			ContactEmail: "anna@contoso.example"}}
	got, err := tn.CreateTenant(peertest.AgentCtx(), "req-t", nt)
	if err != nil || got.CustomerID != "cust-new" || got.AdminUserID != "user-admin" {
		t.Fatalf("CreateTenant = %+v, %v", got, err)
	}
	want := &identityv1.CreateCustomerRequest{RequestId: "req-t", OrganisationName: "Contoso GmbH", CountryCode: "DE",
		DomainPrefix: "contoso", Admin: &identityv1.InitialAdmin{UserName: "anna@contoso.onmicrosoft.com",
			DisplayName: "Anna Admin", Email: "anna@contoso.example"}}
	if !proto.Equal(f.create, want) {
		t.Errorf("request %v; want %v", f.create, want)
	}
	if f.auth != "Bearer obo:user-1" {
		t.Errorf("auth %q", f.auth)
	}
	st, _ := errs.ToStatus(errs.New(errs.AlreadyExists, domain.ReasonDomainTaken, "taken"))
	f.err = st.Err()
	if _, err := tn.CreateTenant(peertest.AgentCtx(), "req-t", nt); !errs.HasReason(err, domain.ReasonDomainTaken) || app.Retryable(err) {
		t.Errorf("taken: %v", err)
	}
	f.err = status.Error(codes.Unavailable, "down")
	if _, err := tn.CreateTenant(peertest.AgentCtx(), "req-t", nt); !app.Retryable(err) {
		t.Errorf("unavailable: %v", err)
	}
}
