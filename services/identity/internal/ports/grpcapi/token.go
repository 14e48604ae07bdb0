package grpcapi

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/identity/internal/app"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// IssueToken implements identityv1.TokenServiceServer.
func (s *Server) IssueToken(ctx context.Context, req *identityv1.IssueTokenRequest) (*identityv1.IssueTokenResponse, error) {
	lifetime, err := lifetimeOf(req.GetLifetime())
	if err != nil {
		return nil, err
	}
	t, err := s.app.IssueToken(ctx, req.GetClientId(), req.GetClientSecret(), lifetime)
	if err != nil {
		return nil, err
	}
	return &identityv1.IssueTokenResponse{AccessToken: accessTokenPB(t)}, nil
}

// IssueServiceToken implements identityv1.TokenServiceServer.
func (s *Server) IssueServiceToken(ctx context.Context, req *identityv1.IssueServiceTokenRequest) (*identityv1.IssueServiceTokenResponse, error) {
	lifetime, err := lifetimeOf(req.GetLifetime())
	if err != nil {
		return nil, err
	}
	var obo *auth.Principal
	if o := req.GetOnBehalfOf(); o != nil {
		obo = &auth.Principal{
			Subject: o.GetSubject(), OrgID: o.GetOrgId(), OrgKind: orgKindOf(o.GetOrgKind()), Roles: rolesOf(o.GetRoles()),
		}
	}
	t, err := s.app.IssueServiceToken(ctx, req.GetClientId(), req.GetClientSecret(), obo, lifetime)
	if err != nil {
		return nil, err
	}
	return &identityv1.IssueServiceTokenResponse{AccessToken: accessTokenPB(t)}, nil
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

// lifetimeOf maps an optional Duration; unset is zero (the app's default).
func lifetimeOf(d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if d.CheckValid() != nil {
		return 0, errs.Invalid("lifetime", "not a valid duration")
	}
	return d.AsDuration(), nil
}

func accessTokenPB(t app.Token) *identityv1.AccessToken {
	out := &identityv1.AccessToken{
		Token:      t.Token,
		TokenType:  "Bearer",
		ExpireTime: timestamppb.New(t.Expire),
		IssueTime:  timestamppb.New(t.IssueTime),
		KeyId:      t.KeyID,
		Principal:  auth.ProtoPrincipal(t.Principal),
	}
	if o := t.Principal.OnBehalfOf; o != nil {
		out.OnBehalfOf = auth.ProtoPrincipal(*o)
	}
	return out
}

// rolesOf maps contract roles to token role names. UNSPECIFIED and unknown values keep a name no
// role has ("UNSPECIFIED", "99"), which the app refuses as a field violation.
func rolesOf(rs []commonv1.Role) []auth.Role {
	if rs == nil {
		return nil
	}
	out := make([]auth.Role, len(rs))
	for i, r := range rs {
		out[i] = auth.RoleOf(r)
	}
	return out
}

// roleFilterOf maps a list filter: UNSPECIFIED means no filter.
func roleFilterOf(r commonv1.Role) auth.Role {
	if r == commonv1.Role_ROLE_UNSPECIFIED {
		return ""
	}
	return auth.RoleOf(r)
}

// orgKindOf maps an org kind; UNSPECIFIED and unknown values keep a name the app refuses.
func orgKindOf(k commonv1.OrgKind) auth.OrgKind {
	return auth.OrgKind(strings.TrimPrefix(k.String(), "ORG_KIND_"))
}
