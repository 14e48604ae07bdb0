package grpcapi

import (
	"context"
	"time"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// CreateUser implements identityv1.UserServiceServer.
func (s *Server) CreateUser(ctx context.Context, req *identityv1.CreateUserRequest) (*identityv1.CreateUserResponse, error) {
	u, err := s.app.CreateUser(ctx, app.NewUser{
		OrgID: req.GetOrgId(), UserName: req.GetUserName(), DisplayName: req.GetDisplayName(), Email: req.GetEmail(),
		Roles: rolesOf(req.GetRoles()),
	})
	if err != nil {
		return nil, err
	}
	return &identityv1.CreateUserResponse{User: userPB(u)}, nil
}

// GetUser implements identityv1.UserServiceServer.
func (s *Server) GetUser(ctx context.Context, req *identityv1.GetUserRequest) (*identityv1.GetUserResponse, error) {
	u, err := s.app.GetUser(ctx, req.GetUserId())
	if err != nil {
		return nil, err
	}
	return &identityv1.GetUserResponse{User: userPB(u)}, nil
}

// ListUsers implements identityv1.UserServiceServer.
func (s *Server) ListUsers(ctx context.Context, req *identityv1.ListUsersRequest) (*identityv1.ListUsersResponse, error) {
	state := pbenum.Name[string](req.GetState(), "USER_STATE_")
	page, next, err := s.app.ListUsers(ctx, req.GetOrgId(), roleFilterOf(req.GetRole()), state, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &identityv1.ListUsersResponse{NextPageToken: next}
	for _, u := range page {
		resp.Users = append(resp.Users, userPB(u))
	}
	return resp, nil
}

// UpdateUserRoles implements identityv1.UserServiceServer.
func (s *Server) UpdateUserRoles(ctx context.Context, req *identityv1.UpdateUserRolesRequest) (*identityv1.UpdateUserRolesResponse, error) {
	u, err := s.app.UpdateUserRoles(ctx, req.GetUserId(), rolesOf(req.GetRoles()), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &identityv1.UpdateUserRolesResponse{User: userPB(u)}, nil
}

// DisableUser implements identityv1.UserServiceServer.
func (s *Server) DisableUser(ctx context.Context, req *identityv1.DisableUserRequest) (*identityv1.DisableUserResponse, error) {
	u, err := s.app.DisableUser(ctx, req.GetUserId(), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &identityv1.DisableUserResponse{User: userPB(u)}, nil
}

// CreateApiCredential implements identityv1.UserServiceServer.
func (s *Server) CreateApiCredential(ctx context.Context, req *identityv1.CreateApiCredentialRequest) (*identityv1.CreateApiCredentialResponse, error) {
	var expire time.Time
	if t := req.GetExpireTime(); t != nil {
		if t.CheckValid() != nil {
			return nil, errs.Invalid("expire_time", "not a valid timestamp")
		}
		expire = t.AsTime()
	}
	c, secret, err := s.app.CreateApiCredential(ctx, req.GetUserId(), req.GetDisplayName(), expire)
	if err != nil {
		return nil, err
	}
	return &identityv1.CreateApiCredentialResponse{Credential: credentialPB(c, s.app.Now()), ClientSecret: secret}, nil
}

// ListApiCredentials implements identityv1.UserServiceServer.
func (s *Server) ListApiCredentials(ctx context.Context, req *identityv1.ListApiCredentialsRequest) (*identityv1.ListApiCredentialsResponse, error) {
	state := pbenum.Name[domain.CredentialState](req.GetState(), "API_CREDENTIAL_STATE_")
	page, err := s.app.ListApiCredentials(ctx, req.GetUserId(), state, req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &identityv1.ListApiCredentialsResponse{NextPageToken: page.Next}
	for _, c := range page.Credentials {
		resp.Credentials = append(resp.Credentials, credentialPB(c, page.At)) // the states the filter used
	}
	return resp, nil
}

// RevokeApiCredential implements identityv1.UserServiceServer.
func (s *Server) RevokeApiCredential(ctx context.Context, req *identityv1.RevokeApiCredentialRequest) (*identityv1.RevokeApiCredentialResponse, error) {
	c, err := s.app.RevokeApiCredential(ctx, req.GetCredentialId(), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &identityv1.RevokeApiCredentialResponse{Credential: credentialPB(c, s.app.Now())}, nil
}
