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
	"github.com/partnerhub/partnerhub/services/keys/internal/adapters/identity"
)

// fakePartners knows an Open partner and a CSP-only one, and fails for "boom".
type fakePartners struct {
	identityv1.UnimplementedPartnerServiceServer
}

func (fakePartners) GetPartner(_ context.Context, req *identityv1.GetPartnerRequest) (*identityv1.GetPartnerResponse, error) {
	enrol := func(ps ...identityv1.PartnerProgram) *identityv1.GetPartnerResponse {
		p := &identityv1.Partner{PartnerId: req.GetPartnerId()}
		for _, pr := range ps {
			p.Enrolments = append(p.Enrolments, &identityv1.ProgramEnrolment{Program: pr})
		}
		return &identityv1.GetPartnerResponse{Partner: p}
	}
	switch req.GetPartnerId() {
	case "open":
		return enrol(identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT, identityv1.PartnerProgram_PARTNER_PROGRAM_OPEN), nil
	case "csp":
		return enrol(identityv1.PartnerProgram_PARTNER_PROGRAM_CSP_DIRECT, identityv1.PartnerProgram_PARTNER_PROGRAM_DELEGATED_ADMIN), nil
	case "boom":
		return nil, status.Error(codes.Internal, "boom")
	}
	return nil, status.Error(codes.NotFound, "no such partner")
}

func dial(t *testing.T) *grpc.ClientConn {
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	identityv1.RegisterPartnerServiceServer(gs, fakePartners{})
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// ID-1: only a partner enrolled in Open counts; an unknown partner is not enrolled; a failing
// identity is DEPENDENCY_UNAVAILABLE.
func TestOpenEnrolled_ID1(t *testing.T) {
	p := identity.NewPrograms(dial(t))
	ctx := context.Background()
	for partner, want := range map[string]bool{"open": true, "csp": false, "nobody": false} {
		if got, err := p.OpenEnrolled(ctx, partner); err != nil || got != want {
			t.Errorf("OpenEnrolled(%s) = %v, %v; want %v", partner, got, err, want)
		}
	}
	if _, err := p.OpenEnrolled(ctx, "boom"); errs.ReasonOf(err) != errs.ReasonDependencyUnavailable {
		t.Errorf("failing identity: %v", err)
	}
}
