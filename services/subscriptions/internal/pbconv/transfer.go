package pbconv

import (
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Method maps a transfer method; UNSPECIFIED is domain.MethodUnspecified.
func Method(m subscriptionsv1.TransferMethod) domain.TransferMethod {
	return pbenum.Name[domain.TransferMethod](m, "TRANSFER_METHOD_")
}

// MethodPB maps a transfer method.
func MethodPB(m domain.TransferMethod) subscriptionsv1.TransferMethod {
	return pbenum.Value[subscriptionsv1.TransferMethod](subscriptionsv1.TransferMethod_value, "TRANSFER_METHOD_", m)
}

// TransferState maps a transfer state.
func TransferState(s subscriptionsv1.TransferState) domain.TransferState {
	return pbenum.Name[domain.TransferState](s, "TRANSFER_STATE_")
}

// TransferStatePB maps a transfer state.
func TransferStatePB(s domain.TransferState) subscriptionsv1.TransferState {
	return pbenum.Value[subscriptionsv1.TransferState](subscriptionsv1.TransferState_value, "TRANSFER_STATE_", s)
}

// Direction maps a transfer direction; UNSPECIFIED is domain.DirectionBoth.
func Direction(d subscriptionsv1.TransferDirection) domain.TransferDirection {
	return pbenum.Name[domain.TransferDirection](d, "TRANSFER_DIRECTION_")
}

// TransferPB maps a transfer with its items and tenant maximum figures.
func TransferPB(t domain.Transfer) *subscriptionsv1.Transfer {
	items := make([]*subscriptionsv1.TransferItem, 0, len(t.Items))
	for _, it := range t.Items {
		items = append(items, &subscriptionsv1.TransferItem{
			SubscriptionId:              it.SubscriptionID,
			SourceSkuId:                 it.SourceSkuID,
			TargetSkuId:                 it.TargetSkuID,
			Quantity:                    it.Quantity,
			LicenseReassignmentRequired: it.LicenseReassignmentRequired,
			State: pbenum.Value[subscriptionsv1.TransferItemState](subscriptionsv1.TransferItemState_value,
				"TRANSFER_ITEM_STATE_", it.State),
			TargetSubscriptionId: it.TargetSubscriptionID,
			SourceTermEndTime:    pbtime.From(it.SourceTermEnd),
		})
	}
	return &subscriptionsv1.Transfer{
		TransferId:      t.ID,
		CustomerId:      t.CustomerID,
		SourcePartnerId: t.SourcePartnerID,
		TargetPartnerId: t.TargetPartnerID,
		Method:          MethodPB(t.Method),
		State:           TransferStatePB(t.State),
		Items:           items,
		TenantLimit: &subscriptionsv1.TenantSubscriptionLimit{Limit: int32(t.Limit.Limit), Active: int32(t.Limit.Active),
			Peak: int32(t.Limit.Peak)},
		RepurchaseDeadlineTime: pbtime.From(t.RepurchaseDeadline),
		CreatedByUserId:        t.CreatedBy,
		DecidedByUserId:        t.DecidedBy,
		Note:                   t.Note,
		CompleteTime:           pbtime.From(t.CompleteTime),
		Etag:                   domain.TransferEtag(t),
		CreateTime:             pbtime.From(t.CreateTime),
		UpdateTime:             pbtime.From(t.UpdateTime),
	}
}
