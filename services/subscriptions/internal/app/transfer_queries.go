package app

import (
	"context"
	"slices"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// viewTransfer reads one transfer the caller is a side of; NOT_FOUND for any other (ID-8). A
// service acting for nobody sees all.
func (a *App) viewTransfer(ctx context.Context, id string) (domain.Transfer, auth.Principal, error) {
	if err := checkID("transfer_id", id); err != nil {
		return domain.Transfer{}, auth.Principal{}, err
	}
	v, err := viewer(ctx)
	if err != nil {
		return domain.Transfer{}, auth.Principal{}, err
	}
	t, err := a.store.Transfer(ctx, id)
	if err != nil {
		return domain.Transfer{}, v, err
	}
	if err := canSee(v, t); err != nil {
		return domain.Transfer{}, v, err
	}
	return t, v, nil
}

// canSee refuses a transfer v is no side of with NOT_FOUND (ID-8); a service acting for nobody
// sees all.
func canSee(v auth.Principal, t domain.Transfer) error {
	if target, source := sides(v, t); !target && !source && v.OrgKind != auth.OrgService {
		return errs.NotFoundf("transfer", t.ID)
	}
	return nil
}

// GetTransfer returns one transfer the caller is a side of.
func (a *App) GetTransfer(ctx context.Context, id string) (domain.Transfer, error) {
	t, _, err := a.viewTransfer(ctx, id)
	return t, err
}

// ListTransfersInput filters ListTransfers.
type ListTransfersInput struct {
	PageSize   int32
	PageToken  string
	CustomerID string
	States     []domain.TransferState
	Direction  domain.TransferDirection
}

// ListTransfers pages through the transfers the caller's organisation is a side of, newest first:
// a partner's as target (INCOMING) or source (OUTGOING), a customer's of its directly bought
// subscriptions (it is never a target).
func (a *App) ListTransfers(ctx context.Context, in ListTransfersInput) ([]domain.Transfer, string, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, "", err
	}
	size, err := paging.Size(in.PageSize)
	if err != nil {
		return nil, "", err
	}
	var bad errs.Violations
	if in.CustomerID != "" && checkID("customer_id", in.CustomerID) != nil {
		bad.Add("customer_id", "must be a UUID")
	}
	for _, s := range in.States {
		if !slices.Contains(domain.TransferStates(), s) {
			bad.Add("states", "unknown transfer state %q", s)
		}
	}
	switch in.Direction {
	case domain.DirectionBoth, domain.DirectionIncoming, domain.DirectionOutgoing:
	default:
		bad.Add("direction", "unknown direction %q", in.Direction)
	}
	if err := bad.Err(); err != nil {
		return nil, "", err
	}
	q := TransferQuery{CustomerID: in.CustomerID, States: in.States, Direction: in.Direction}
	switch v.OrgKind {
	case auth.OrgPartner:
		q.PartnerID = v.OrgID
	case auth.OrgCustomer:
		if in.CustomerID != "" && in.CustomerID != v.OrgID {
			return nil, "", errs.NotFoundf("customer", in.CustomerID)
		}
		if in.Direction == domain.DirectionIncoming {
			return nil, "", nil
		}
		q.CustomerID, q.DirectOnly, q.Direction = v.OrgID, true, domain.DirectionBoth
	case auth.OrgService:
	default:
		return nil, "", errs.New(errs.PermissionDenied, errs.ReasonRoleRequired, "transfers are not for this caller")
	}
	query := paging.Fingerprint("transfers", string(v.OrgKind), v.OrgID, in.CustomerID, in.States, in.Direction)
	if q.BeforeCreateTime, q.BeforeID, err = paging.DecodeTimeKey(in.PageToken, query); err != nil {
		return nil, "", err
	}
	q.Limit = size + 1
	rows, err := a.store.Transfers(ctx, q)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(t domain.Transfer) []string { return paging.TimeKey(t.CreateTime, t.ID) })
	return page, next, nil
}
