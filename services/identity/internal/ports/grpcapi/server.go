// Package grpcapi maps partnerhub.identity.v1 to identity's use cases: proto in, app call,
// proto out. No business rules here.
package grpcapi

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Server implements the identity services. The RPCs not implemented here yet answer
// UNIMPLEMENTED through the embedded types until the identity issue fills them.
type Server struct {
	identityv1.UnimplementedPartnerServiceServer
	identityv1.UnimplementedUserServiceServer
	identityv1.UnimplementedTokenServiceServer
	identityv1.UnimplementedCustomerServiceServer
	identityv1.UnimplementedRelationshipServiceServer
	app *app.App
}

// Register adds every identity service to gs.
func Register(gs *grpc.Server, a *app.App) {
	s := &Server{app: a}
	identityv1.RegisterPartnerServiceServer(gs, s)
	identityv1.RegisterUserServiceServer(gs, s)
	identityv1.RegisterTokenServiceServer(gs, s)
	identityv1.RegisterCustomerServiceServer(gs, s)
	identityv1.RegisterRelationshipServiceServer(gs, s)
}

// IssueToken implements identityv1.TokenServiceServer.
func (s *Server) IssueToken(ctx context.Context, req *identityv1.IssueTokenRequest) (*identityv1.IssueTokenResponse, error) {
	if req.GetLifetime() != nil && req.GetLifetime().CheckValid() != nil {
		return nil, errs.Invalid("lifetime", "not a valid duration")
	}
	t, err := s.app.IssueToken(ctx, req.GetClientId(), req.GetClientSecret(), req.GetLifetime().AsDuration())
	if err != nil {
		return nil, err
	}
	return &identityv1.IssueTokenResponse{AccessToken: &identityv1.AccessToken{
		Token:      t.Token,
		TokenType:  "Bearer",
		ExpireTime: timestamppb.New(t.Expire),
		IssueTime:  timestamppb.New(t.IssueTime),
		KeyId:      t.KeyID,
		Principal:  principalPB(t.Principal),
	}}, nil
}

// GetSigningKeys implements identityv1.TokenServiceServer.
func (s *Server) GetSigningKeys(ctx context.Context, _ *identityv1.GetSigningKeysRequest) (*identityv1.GetSigningKeysResponse, error) {
	keys, err := s.app.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	resp := &identityv1.GetSigningKeysResponse{CacheTtl: durationpb.New(domain.PublishAhead)}
	for _, k := range keys {
		resp.Keys = append(resp.Keys, &identityv1.SigningKey{
			KeyId: k.ID, Algorithm: "EdDSA", PublicKey: k.Public,
			NotBefore: timestamppb.New(k.NotBefore), NotAfter: timestamppb.New(k.NotAfter),
		})
	}
	return resp, nil
}

// GetPartner implements identityv1.PartnerServiceServer.
func (s *Server) GetPartner(ctx context.Context, req *identityv1.GetPartnerRequest) (*identityv1.GetPartnerResponse, error) {
	if req.GetPartnerId() == "" {
		return nil, errs.Invalid("partner_id", "required")
	}
	p, err := s.app.GetPartner(ctx, req.GetPartnerId())
	if err != nil {
		return nil, err
	}
	return &identityv1.GetPartnerResponse{Partner: partnerPB(p)}, nil
}

func partnerPB(p domain.Partner) *identityv1.Partner {
	out := &identityv1.Partner{
		PartnerId: p.ID, LegalName: p.LegalName, CountryCode: p.CountryCode, Etag: p.Etag,
		CreateTime: timestamppb.New(p.CreateTime), UpdateTime: timestamppb.New(p.UpdateTime),
	}
	for _, e := range p.Enrolments {
		v := identityv1.PartnerProgram(identityv1.PartnerProgram_value["PARTNER_PROGRAM_"+string(e.Program)])
		out.Enrolments = append(out.Enrolments, &identityv1.ProgramEnrolment{Program: v, EnrollTime: timestamppb.New(e.Time)})
	}
	slices.SortFunc(out.Enrolments, func(a, b *identityv1.ProgramEnrolment) int { return int(a.Program - b.Program) })
	return out
}

func principalPB(p auth.Principal) *identityv1.Principal {
	out := &identityv1.Principal{Subject: p.Subject, OrgId: p.OrgID, OrgKind: auth.ProtoOrgKind(p.OrgKind)}
	for _, r := range p.Roles {
		out.Roles = append(out.Roles, auth.ProtoRole(r))
	}
	return out
}
