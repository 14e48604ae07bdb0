package pbconv

import (
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// ActivityPB maps an activity record (KD-6); it holds a key only masked (KD-8).
func ActivityPB(a domain.Activity) *keysv1.ActivityRecord {
	return &keysv1.ActivityRecord{
		ActivityId:    a.ID,
		Action:        ActivityActionPB(a.Action),
		Actor:         ActorPB(a.Actor),
		CustomerId:    a.CustomerID,
		EntitlementId: a.EntitlementID,
		KeyId:         a.KeyID,
		MaskedKey:     a.MaskedKey,
		ProductName:   a.ProductName,
		VariantId:     a.VariantID,
		LinkId:        a.LinkID,
		OccurTime:     pbtime.From(a.Time),
		PeerAddress:   a.PeerAddress,
		UserAgent:     a.UserAgent,
		RefusalReason: ReasonPB(errs.Reason(a.RefusalReason)),
	}
}

// ActivitiesPB maps activity records.
func ActivitiesPB(as []domain.Activity) []*keysv1.ActivityRecord { return mapPB(as, ActivityPB) }

// ActorPB maps who acted: organisation kind and roles as the contract's enums (pkg/auth's token
// names, which are the enum names without prefix; an unknown one is UNSPECIFIED).
func ActorPB(a domain.Actor) *keysv1.Actor {
	var roles []commonv1.Role
	for _, r := range a.Roles {
		roles = append(roles, auth.ProtoRole(auth.Role(r)))
	}
	return &keysv1.Actor{UserId: a.UserID, UserDisplayName: a.DisplayName, OrgId: a.OrgID,
		OrgKind: auth.ProtoOrgKind(auth.OrgKind(a.OrgKind)), Roles: roles}
}
