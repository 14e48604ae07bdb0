package grpcapi

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// CreatePartner implements identityv1.PartnerServiceServer.
func (s *Server) CreatePartner(ctx context.Context, req *identityv1.CreatePartnerRequest) (*identityv1.CreatePartnerResponse, error) {
	in := app.NewPartner{
		LegalName: req.GetLegalName(), CountryCode: req.GetCountryCode(), Programs: programsOf(req.GetPrograms()),
	}
	if ad := req.GetAdmin(); ad != nil {
		in.Admin = &app.PartnerFirstAdmin{UserName: ad.GetUserName(), DisplayName: ad.GetDisplayName(), Email: ad.GetEmail()}
	}
	out, err := s.app.CreatePartner(ctx, in)
	if err != nil {
		return nil, err
	}
	return &identityv1.CreatePartnerResponse{
		Partner: partnerPB(out.Partner), AdminUser: userPB(out.Admin),
		AdminCredential: credentialPB(out.Credential, s.app.Now()), AdminClientSecret: out.Secret,
	}, nil
}

// GetPartner implements identityv1.PartnerServiceServer.
func (s *Server) GetPartner(ctx context.Context, req *identityv1.GetPartnerRequest) (*identityv1.GetPartnerResponse, error) {
	p, err := s.app.GetPartner(ctx, req.GetPartnerId())
	if err != nil {
		return nil, err
	}
	return &identityv1.GetPartnerResponse{Partner: partnerPB(p)}, nil
}

// ListPartners implements identityv1.PartnerServiceServer.
func (s *Server) ListPartners(ctx context.Context, req *identityv1.ListPartnersRequest) (*identityv1.ListPartnersResponse, error) {
	var program domain.Program
	if req.GetProgram() != identityv1.PartnerProgram_PARTNER_PROGRAM_UNSPECIFIED {
		program = programOf(req.GetProgram())
	}
	page, next, err := s.app.ListPartners(ctx, req.GetCountryCode(), program, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &identityv1.ListPartnersResponse{NextPageToken: next}
	for _, p := range page {
		resp.Partners = append(resp.Partners, partnerPB(p))
	}
	return resp, nil
}

// UpdatePartnerPrograms implements identityv1.PartnerServiceServer.
func (s *Server) UpdatePartnerPrograms(ctx context.Context, req *identityv1.UpdatePartnerProgramsRequest) (*identityv1.UpdatePartnerProgramsResponse, error) {
	p, err := s.app.UpdatePartnerPrograms(ctx, req.GetPartnerId(), programsOf(req.GetPrograms()), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &identityv1.UpdatePartnerProgramsResponse{Partner: partnerPB(p)}, nil
}

// programOf maps a program; UNSPECIFIED and unknown values keep a name no program has
// ("UNSPECIFIED", "99"), which the app refuses as a field violation.
func programOf(p identityv1.PartnerProgram) domain.Program {
	return domain.Program(strings.TrimPrefix(p.String(), "PARTNER_PROGRAM_"))
}

func programsOf(ps []identityv1.PartnerProgram) []domain.Program {
	out := make([]domain.Program, len(ps))
	for i, p := range ps {
		out[i] = programOf(p)
	}
	return out
}

func partnerPB(p domain.Partner) *identityv1.Partner {
	out := &identityv1.Partner{
		PartnerId: p.ID, LegalName: p.LegalName, CountryCode: p.CountryCode, Etag: p.Etag,
		CreateTime: timestamppb.New(p.CreateTime), UpdateTime: timestamppb.New(p.UpdateTime),
	}
	for _, e := range p.Enrolments {
		v := pbenum.Value[identityv1.PartnerProgram](identityv1.PartnerProgram_value, "PARTNER_PROGRAM_", e.Program)
		out.Enrolments = append(out.Enrolments, &identityv1.ProgramEnrolment{Program: v, EnrollTime: timestamppb.New(e.Time)})
	}
	slices.SortFunc(out.Enrolments, func(a, b *identityv1.ProgramEnrolment) int { return int(a.Program - b.Program) })
	return out
}
