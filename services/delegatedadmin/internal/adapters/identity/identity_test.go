package identity_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/adapters/identity"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
)

const (
	eligible   = "aaaaaaaa-0000-4000-8000-000000000001"
	cspOnly    = "bbbbbbbb-0000-4000-8000-000000000002"
	unknown    = "cccccccc-0000-4000-8000-000000000003"
	refused    = "dddddddd-0000-4000-8000-000000000004"
	customer   = "eeeeeeee-0000-4000-8000-000000000005"
	noCustomer = "ffffffff-0000-4000-8000-000000000006"
)

// fakeIdentity answers as identity does: GetPartner with enrolments or NOT_FOUND,
// CheckRelationship with an answer.
type fakeIdentity struct {
	identityv1.UnimplementedPartnerServiceServer
	identityv1.UnimplementedRelationshipServiceServer
}

func (fakeIdentity) GetPartner(_ context.Context, req *identityv1.GetPartnerRequest) (*identityv1.GetPartnerResponse, error) {
	enrol := func(ps ...identityv1.PartnerProgram) *identityv1.GetPartnerResponse {
		p := &identityv1.Partner{PartnerId: req.GetPartnerId()}
		for _, prog := range ps {
			p.Enrolments = append(p.Enrolments, &identityv1.ProgramEnrolment{Program: prog})
		}
		return &identityv1.GetPartnerResponse{Partner: p}
	}
	switch req.GetPartnerId() {
	case eligible:
		return enrol(identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT, identityv1.PartnerProgram_PARTNER_PROGRAM_DELEGATED_ADMIN), nil
	case cspOnly:
		return enrol(identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT), nil
	case refused:
		return nil, status.Error(codes.PermissionDenied, "SERVICE_TOKEN_REQUIRED")
	}
	return nil, status.Error(codes.NotFound, "partner not found")
}

func (fakeIdentity) CheckRelationship(_ context.Context, req *identityv1.CheckRelationshipRequest) (*identityv1.CheckRelationshipResponse, error) {
	switch {
	case req.GetPartnerId() == refused:
		return nil, status.Error(codes.Unavailable, "database unavailable")
	case req.GetCustomerId() == noCustomer:
		return nil, status.Error(codes.NotFound, "customer not found")
	}
	return &identityv1.CheckRelationshipResponse{Active: req.GetPartnerId() == eligible && req.GetCustomerId() == customer}, nil
}

// dial serves the fake in process and returns a client over it, with or without the client
// interceptor that maps statuses back to errs values (the adapter must work either way).
func dial(t *testing.T, opts ...grpc.DialOption) *identity.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	identityv1.RegisterPartnerServiceServer(gs, fakeIdentity{})
	identityv1.RegisterRelationshipServiceServer(gs, fakeIdentity{})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	conn, err := grpc.NewClient("passthrough:///identity", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return identity.New(conn)
}

// DA-2 eligibility and ID-4 relationships as identity reports them; identity failures are
// DEPENDENCY_UNAVAILABLE.
func TestClient_DA2_ID4(t *testing.T) {
	for name, opts := range map[string][]grpc.DialOption{
		"plain connection":             nil,
		"connection mapping errs back": {grpc.WithUnaryInterceptor(errs.UnaryClientInterceptor())},
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, opts...)
			ctx := context.Background()
			for id, want := range map[string]app.PartnerFacts{
				eligible: {Exists: true, DelegatedAdminEligible: true},
				cspOnly:  {Exists: true},
				unknown:  {},
			} {
				if got, err := c.Partner(ctx, id); err != nil || got != want {
					t.Errorf("Partner(%s) = %+v, %v; want %+v", id, got, err, want)
				}
			}
			if _, err := c.Partner(ctx, refused); errs.KindOf(err) != errs.Unavailable || errs.ReasonOf(err) != errs.ReasonDependencyUnavailable {
				t.Errorf("refused: %v, want UNAVAILABLE DEPENDENCY_UNAVAILABLE", err)
			}
			for _, tt := range []struct {
				partner, customer string
				want              bool
			}{{eligible, customer, true}, {cspOnly, customer, false}, {eligible, noCustomer, false}} {
				if got, err := c.ResellerRelationship(ctx, tt.partner, tt.customer); err != nil || got != tt.want {
					t.Errorf("ResellerRelationship(%s, %s) = %v, %v; want %v", tt.partner, tt.customer, got, err, tt.want)
				}
			}
			if _, err := c.ResellerRelationship(ctx, refused, customer); errs.KindOf(err) != errs.Unavailable {
				t.Errorf("identity down: %v, want UNAVAILABLE", err)
			}
		})
	}
}
