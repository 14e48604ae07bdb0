package grpcapi

import (
	"strings"

	delegatedadminv1 "github.com/partnerhub/partnerhub/gen/partnerhub/delegatedadmin/v1"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/delegatedadmin/internal/domain"
)

// The domain names its enums as the contract does, without the value prefix
// ("ADMIN_ROLE_USER_ADMINISTRATOR" ⇄ "USER_ADMINISTRATOR"), so the mapping is by name. A number
// the contract does not know maps to its digits, which the use cases refuse as unknown.

const (
	rolePrefix   = "ADMIN_ROLE_"
	statePrefix  = "RELATIONSHIP_STATE_"
	partyPrefix  = "PARTY_"
	denialPrefix = "ACCESS_DENIAL_REASON_"
)

func roleOf(r delegatedadminv1.AdminRole) domain.Role {
	return domain.Role(strings.TrimPrefix(r.String(), rolePrefix))
}

func rolePB(r domain.Role) delegatedadminv1.AdminRole {
	return delegatedadminv1.AdminRole(delegatedadminv1.AdminRole_value[rolePrefix+string(r)])
}

func stateOf(s delegatedadminv1.RelationshipState) domain.State {
	return domain.State(strings.TrimPrefix(s.String(), statePrefix))
}

func statePB(s domain.State) delegatedadminv1.RelationshipState {
	return delegatedadminv1.RelationshipState(delegatedadminv1.RelationshipState_value[statePrefix+string(s)])
}

func partyPB(p domain.Party) delegatedadminv1.Party {
	if p == domain.PartyNone {
		return delegatedadminv1.Party_PARTY_UNSPECIFIED
	}
	return delegatedadminv1.Party(delegatedadminv1.Party_value[partyPrefix+string(p)])
}

func denialPB(d domain.Denial) delegatedadminv1.AccessDenialReason {
	if d == domain.DenialNone {
		return delegatedadminv1.AccessDenialReason_ACCESS_DENIAL_REASON_UNSPECIFIED
	}
	return delegatedadminv1.AccessDenialReason(delegatedadminv1.AccessDenialReason_value[denialPrefix+string(d)])
}

func relationshipPB(r domain.Relationship) *delegatedadminv1.DelegatedAdminRelationship {
	out := &delegatedadminv1.DelegatedAdminRelationship{
		RelationshipId:  r.ID,
		PartnerId:       r.PartnerID,
		CustomerId:      r.CustomerID,
		DisplayName:     r.DisplayName,
		LegacyFullAdmin: r.LegacyFullAdmin,
		DurationDays:    int32(r.DurationDays),
		AutoExtendDays:  int32(r.AutoExtendDays),
		Message:         r.Message,
		State:           statePB(r.State),
		ApprovalLink:    r.ApprovalLink,
		OfferExpireTime: pbtime.From(r.OfferExpireTime),
		ActivateTime:    pbtime.From(r.ActivateTime),
		EndTime:         pbtime.From(r.EndTime),
		ExtendCount:     int32(r.ExtendCount),
		LastExtendTime:  pbtime.From(r.LastExtendTime),
		CloseTime:       pbtime.From(r.CloseTime),
		TerminatedBy:    partyPB(r.TerminatedBy),
		CreatedByUserId: r.CreatedByUserID,
		DecidedByUserId: r.DecidedByUserID,
		CloseReason:     r.CloseReason,
		Etag:            r.Etag,
		CreateTime:      pbtime.From(r.CreateTime),
		UpdateTime:      pbtime.From(r.UpdateTime),
	}
	for _, role := range r.Roles {
		out.Roles = append(out.Roles, rolePB(role))
	}
	return out
}
