package grpcapi

import (
	"slices"
	"time"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Conversions shared by several services of identity.

func userPB(u domain.User) *identityv1.User {
	out := &identityv1.User{
		UserId: u.ID, OrgId: u.OrgID, OrgKind: auth.ProtoOrgKind(u.OrgKind), UserName: u.UserName,
		DisplayName: u.DisplayName, Email: u.Email, State: identityv1.UserState_USER_STATE_ACTIVE,
		DisableTime: pbtime.From(u.DisableTime), Etag: u.Etag, CreateTime: pbtime.From(u.CreateTime), UpdateTime: pbtime.From(u.UpdateTime),
	}
	if u.Disabled {
		out.State = identityv1.UserState_USER_STATE_DISABLED
	}
	for _, r := range u.Roles {
		out.Roles = append(out.Roles, auth.ProtoRole(r))
	}
	slices.Sort(out.Roles)
	return out
}

// credentialPB maps a credential (never its secret) with its state at now.
func credentialPB(c domain.Credential, now time.Time) *identityv1.ApiCredential {
	state := identityv1.ApiCredentialState_API_CREDENTIAL_STATE_ACTIVE
	switch c.StateAt(now) {
	case domain.CredentialRevoked:
		state = identityv1.ApiCredentialState_API_CREDENTIAL_STATE_REVOKED
	case domain.CredentialExpired:
		state = identityv1.ApiCredentialState_API_CREDENTIAL_STATE_EXPIRED
	}
	return &identityv1.ApiCredential{
		CredentialId: c.ID, ClientId: c.ClientID, UserId: c.UserID, OrgId: c.OrgID, DisplayName: c.DisplayName,
		State: state, ExpireTime: pbtime.From(c.ExpireTime), RevokeTime: pbtime.From(c.RevokeTime), LastUseTime: pbtime.From(c.LastUseTime),
		Etag: c.Etag, CreateTime: pbtime.From(c.CreateTime), UpdateTime: pbtime.From(c.UpdateTime),
	}
}
