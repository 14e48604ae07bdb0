package grpcapi

import (
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	identityv1 "github.com/partnerhub/partnerhub/gen/partnerhub/identity/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/services/identity/internal/domain"
)

// Conversions shared by several services of identity.

// ts maps the zero time to an unset timestamp.
func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func userPB(u domain.User) *identityv1.User {
	out := &identityv1.User{
		UserId: u.ID, OrgId: u.OrgID, OrgKind: auth.ProtoOrgKind(u.OrgKind), UserName: u.UserName,
		DisplayName: u.DisplayName, Email: u.Email, State: identityv1.UserState_USER_STATE_ACTIVE,
		DisableTime: ts(u.DisableTime), Etag: u.Etag, CreateTime: ts(u.CreateTime), UpdateTime: ts(u.UpdateTime),
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
		State: state, ExpireTime: ts(c.ExpireTime), RevokeTime: ts(c.RevokeTime), LastUseTime: ts(c.LastUseTime),
		Etag: c.Etag, CreateTime: ts(c.CreateTime), UpdateTime: ts(c.UpdateTime),
	}
}
