// Package grpcapi maps partnerhub.delegatedadmin.v1 to delegatedadmin's use cases: proto in, app
// call, proto out. No business rules here.
package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/app"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
)

// Server implements DelegatedAdminService. Authentication, each RPC's role gate (from the
// contract's access option) and idempotency by request_id run before it, in the server stack.
type Server struct {
	delegatedadminv1.UnimplementedDelegatedAdminServiceServer
	app *app.App
}

// Register adds the delegatedadmin service to gs.
func Register(gs *grpc.Server, a *app.App) {
	delegatedadminv1.RegisterDelegatedAdminServiceServer(gs, &Server{app: a})
}

// CreateRelationship implements delegatedadminv1.DelegatedAdminServiceServer.
func (s *Server) CreateRelationship(ctx context.Context, req *delegatedadminv1.CreateRelationshipRequest) (*delegatedadminv1.CreateRelationshipResponse, error) {
	roles := make([]domain.Role, len(req.GetRoles()))
	for i, r := range req.GetRoles() {
		roles[i] = roleOf(r)
	}
	r, err := s.app.CreateRelationship(ctx, domain.Offer{
		CustomerID: req.GetCustomerId(), DisplayName: req.GetDisplayName(), Roles: roles,
		DurationDays: int(req.GetDurationDays()), AutoExtendDays: int(req.GetAutoExtendDays()),
		LegacyFullAdmin: req.GetLegacyFullAdmin(), Message: req.GetMessage(),
	})
	if err != nil {
		return nil, err
	}
	return &delegatedadminv1.CreateRelationshipResponse{Relationship: relationshipPB(r)}, nil
}

// ApproveRelationship implements delegatedadminv1.DelegatedAdminServiceServer.
func (s *Server) ApproveRelationship(ctx context.Context, req *delegatedadminv1.ApproveRelationshipRequest) (*delegatedadminv1.ApproveRelationshipResponse, error) {
	r, err := s.app.ApproveRelationship(ctx, req.GetRelationshipId(), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &delegatedadminv1.ApproveRelationshipResponse{Relationship: relationshipPB(r)}, nil
}

// RejectRelationship implements delegatedadminv1.DelegatedAdminServiceServer.
func (s *Server) RejectRelationship(ctx context.Context, req *delegatedadminv1.RejectRelationshipRequest) (*delegatedadminv1.RejectRelationshipResponse, error) {
	r, err := s.app.RejectRelationship(ctx, req.GetRelationshipId(), req.GetEtag(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &delegatedadminv1.RejectRelationshipResponse{Relationship: relationshipPB(r)}, nil
}

// TerminateRelationship implements delegatedadminv1.DelegatedAdminServiceServer.
func (s *Server) TerminateRelationship(ctx context.Context, req *delegatedadminv1.TerminateRelationshipRequest) (*delegatedadminv1.TerminateRelationshipResponse, error) {
	r, err := s.app.TerminateRelationship(ctx, req.GetRelationshipId(), req.GetEtag(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &delegatedadminv1.TerminateRelationshipResponse{Relationship: relationshipPB(r)}, nil
}

// GetRelationship implements delegatedadminv1.DelegatedAdminServiceServer.
func (s *Server) GetRelationship(ctx context.Context, req *delegatedadminv1.GetRelationshipRequest) (*delegatedadminv1.GetRelationshipResponse, error) {
	r, err := s.app.GetRelationship(ctx, req.GetRelationshipId())
	if err != nil {
		return nil, err
	}
	return &delegatedadminv1.GetRelationshipResponse{Relationship: relationshipPB(r)}, nil
}

// ListRelationships implements delegatedadminv1.DelegatedAdminServiceServer.
func (s *Server) ListRelationships(ctx context.Context, req *delegatedadminv1.ListRelationshipsRequest) (*delegatedadminv1.ListRelationshipsResponse, error) {
	q := app.ListQuery{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		PartnerID: req.GetPartnerId(), CustomerID: req.GetCustomerId(),
	}
	for _, st := range req.GetStates() {
		q.States = append(q.States, stateOf(st))
	}
	if req.GetRole() != delegatedadminv1.AdminRole_ADMIN_ROLE_UNSPECIFIED {
		q.Role = roleOf(req.GetRole())
	}
	page, err := s.app.ListRelationships(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &delegatedadminv1.ListRelationshipsResponse{NextPageToken: page.NextPageToken}
	for _, r := range page.Relationships {
		resp.Relationships = append(resp.Relationships, relationshipPB(r))
	}
	return resp, nil
}

// CheckAccess implements delegatedadminv1.DelegatedAdminServiceServer.
func (s *Server) CheckAccess(ctx context.Context, req *delegatedadminv1.CheckAccessRequest) (*delegatedadminv1.CheckAccessResponse, error) {
	a, err := s.app.CheckAccess(ctx, req.GetPartnerId(), req.GetCustomerId(), roleOf(req.GetRole()))
	if err != nil {
		return nil, err
	}
	return &delegatedadminv1.CheckAccessResponse{
		Allowed:        a.Allowed,
		DenialReason:   denialPB(a.Denial),
		RelationshipId: a.RelationshipID,
		GrantEndTime:   pbtime.From(a.GrantEnd),
		CacheTtl:       durationpb.New(a.CacheTTL),
	}, nil
}
