package grpcapi

import (
	"context"
	"strings"

	"google.golang.org/protobuf/types/known/durationpb"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// RelationshipService: proto ⇄ app (internal/app/relationships.go). Domain states are the enum
// value names without their prefix; an unknown enum number maps to a name the app refuses.

const (
	relStatePrefix     = "RESELLER_RELATIONSHIP_STATE_"
	relOriginPrefix    = "RESELLER_RELATIONSHIP_ORIGIN_"
	invStatePrefix     = "INVITATION_STATE_"
	denialReasonPrefix = "RELATIONSHIP_DENIAL_REASON_"
)

// CreateRelationshipInvitation implements identityv1.RelationshipServiceServer.
func (s *Server) CreateRelationshipInvitation(ctx context.Context, req *identityv1.CreateRelationshipInvitationRequest) (*identityv1.CreateRelationshipInvitationResponse, error) {
	inv, err := s.app.CreateRelationshipInvitation(ctx, req.GetMessage())
	if err != nil {
		return nil, err
	}
	return &identityv1.CreateRelationshipInvitationResponse{Invitation: invitationPB(inv)}, nil
}

// GetRelationshipInvitation implements identityv1.RelationshipServiceServer.
func (s *Server) GetRelationshipInvitation(ctx context.Context, req *identityv1.GetRelationshipInvitationRequest) (*identityv1.GetRelationshipInvitationResponse, error) {
	inv, err := s.app.GetRelationshipInvitation(ctx, req.GetInvitationId(), req.GetCode())
	if err != nil {
		return nil, err
	}
	return &identityv1.GetRelationshipInvitationResponse{Invitation: invitationPB(inv)}, nil
}

// ListRelationshipInvitations implements identityv1.RelationshipServiceServer.
func (s *Server) ListRelationshipInvitations(ctx context.Context, req *identityv1.ListRelationshipInvitationsRequest) (*identityv1.ListRelationshipInvitationsResponse, error) {
	state := pbenum.Name[domain.InvitationState](req.GetState(), invStatePrefix)
	page, next, err := s.app.ListRelationshipInvitations(ctx, app.ListInvitationsInput{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), State: state, PartnerID: req.GetPartnerId(),
	})
	if err != nil {
		return nil, err
	}
	resp := &identityv1.ListRelationshipInvitationsResponse{NextPageToken: next}
	for _, inv := range page {
		resp.Invitations = append(resp.Invitations, invitationPB(inv))
	}
	return resp, nil
}

// WithdrawRelationshipInvitation implements identityv1.RelationshipServiceServer.
func (s *Server) WithdrawRelationshipInvitation(ctx context.Context, req *identityv1.WithdrawRelationshipInvitationRequest) (*identityv1.WithdrawRelationshipInvitationResponse, error) {
	inv, err := s.app.WithdrawRelationshipInvitation(ctx, req.GetInvitationId(), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &identityv1.WithdrawRelationshipInvitationResponse{Invitation: invitationPB(inv)}, nil
}

// AcceptRelationshipInvitation implements identityv1.RelationshipServiceServer.
func (s *Server) AcceptRelationshipInvitation(ctx context.Context, req *identityv1.AcceptRelationshipInvitationRequest) (*identityv1.AcceptRelationshipInvitationResponse, error) {
	rel, inv, err := s.app.AcceptRelationshipInvitation(ctx, req.GetCode())
	if err != nil {
		return nil, err
	}
	return &identityv1.AcceptRelationshipInvitationResponse{Relationship: relationshipPB(rel), Invitation: invitationPB(inv)}, nil
}

// ListRelationships implements identityv1.RelationshipServiceServer.
func (s *Server) ListRelationships(ctx context.Context, req *identityv1.ListRelationshipsRequest) (*identityv1.ListRelationshipsResponse, error) {
	in := app.ListRelationshipsInput{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), PartnerID: req.GetPartnerId(), CustomerID: req.GetCustomerId(),
	}
	for _, st := range req.GetStates() {
		in.States = append(in.States, domain.RelationshipState(strings.TrimPrefix(st.String(), relStatePrefix)))
	}
	page, next, err := s.app.ListRelationships(ctx, in)
	if err != nil {
		return nil, err
	}
	resp := &identityv1.ListRelationshipsResponse{NextPageToken: next}
	for _, r := range page {
		resp.Relationships = append(resp.Relationships, relationshipPB(r))
	}
	return resp, nil
}

// RemoveRelationship implements identityv1.RelationshipServiceServer.
func (s *Server) RemoveRelationship(ctx context.Context, req *identityv1.RemoveRelationshipRequest) (*identityv1.RemoveRelationshipResponse, error) {
	rel, err := s.app.RemoveRelationship(ctx, req.GetRelationshipId(), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &identityv1.RemoveRelationshipResponse{Relationship: relationshipPB(rel)}, nil
}

// CheckRelationship implements identityv1.RelationshipServiceServer.
func (s *Server) CheckRelationship(ctx context.Context, req *identityv1.CheckRelationshipRequest) (*identityv1.CheckRelationshipResponse, error) {
	c, err := s.app.CheckRelationship(ctx, req.GetPartnerId(), req.GetCustomerId())
	if err != nil {
		return nil, err
	}
	resp := &identityv1.CheckRelationshipResponse{
		Active: c.Active, RelationshipId: c.RelationshipID, CustomerCountryCode: c.CustomerCountryCode,
		PartnerCountryCode: c.PartnerCountryCode, CustomerPartnerManaged: c.CustomerPartnerManaged,
		CacheTtl: durationpb.New(c.CacheTTL),
	}
	if c.Denial != "" {
		resp.DenialReason = pbenum.Value[identityv1.RelationshipDenialReason](identityv1.RelationshipDenialReason_value, denialReasonPrefix, c.Denial)
	}
	return resp, nil
}

// MoveCustomer implements identityv1.RelationshipServiceServer.
func (s *Server) MoveCustomer(ctx context.Context, req *identityv1.MoveCustomerRequest) (*identityv1.MoveCustomerResponse, error) {
	m, rel, err := s.app.MoveCustomer(ctx, req.GetCustomerId(), req.GetSourcePartnerId())
	if err != nil {
		return nil, err
	}
	return &identityv1.MoveCustomerResponse{
		Move: &identityv1.CustomerMove{
			MoveId: m.ID, CustomerId: m.CustomerID, SourcePartnerId: m.SourcePartnerID, TargetPartnerId: m.TargetPartnerID,
			SourceRelationshipId: m.SourceRelationshipID, TargetRelationshipId: m.TargetRelationshipID,
			CountryCode: m.CountryCode, MovedByUserId: m.MovedByUserID, MoveTime: pbtime.From(m.MoveTime),
		},
		Relationship: relationshipPB(rel),
	}, nil
}

func relationshipPB(r domain.Relationship) *identityv1.ResellerRelationship {
	return &identityv1.ResellerRelationship{
		RelationshipId: r.ID, PartnerId: r.PartnerID, PartnerLegalName: r.PartnerLegalName, CustomerId: r.CustomerID,
		CustomerOrganisationName: r.CustomerOrganisationName,
		State:                    pbenum.Value[identityv1.ResellerRelationshipState](identityv1.ResellerRelationshipState_value, relStatePrefix, r.State),
		Origin:                   pbenum.Value[identityv1.ResellerRelationshipOrigin](identityv1.ResellerRelationshipOrigin_value, relOriginPrefix, r.Origin),
		InvitationId:             r.InvitationID, StartTime: pbtime.From(r.StartTime), EndTime: pbtime.From(r.EndTime),
		RemovedByUserId: r.RemovedByUserID, Etag: r.Etag, CreateTime: pbtime.From(r.CreateTime), UpdateTime: pbtime.From(r.UpdateTime),
	}
}

func invitationPB(i domain.Invitation) *identityv1.RelationshipInvitation {
	return &identityv1.RelationshipInvitation{
		InvitationId: i.ID, PartnerId: i.PartnerID, PartnerLegalName: i.PartnerLegalName,
		PartnerCountryCode: i.PartnerCountryCode, Code: i.Code, Link: i.Link, Message: i.Message,
		State:                pbenum.Value[identityv1.InvitationState](identityv1.InvitationState_value, invStatePrefix, i.State),
		ExpireTime:           pbtime.From(i.ExpireTime),
		AcceptedByCustomerId: i.AcceptedByCustomerID, AcceptTime: pbtime.From(i.AcceptTime), RelationshipId: i.RelationshipID,
		CreatedByUserId: i.CreatedByUserID, Etag: i.Etag, CreateTime: pbtime.From(i.CreateTime), UpdateTime: pbtime.From(i.UpdateTime),
	}
}
