package app

import (
	"context"
	"slices"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// softwareListingCutoff is the purchase date before which software subscriptions are not listed
// (SU-11: bought before 2021-10-14; they stay in the store and orders list them, OR-2).
func softwareListingCutoff() time.Time { return time.Date(2021, 10, 14, 0, 0, 0, 0, time.UTC) }

// GetSubscription returns one subscription as the caller sees it (ID-8, SU-8).
func (a *App) GetSubscription(ctx context.Context, id string) (View, error) {
	v, _, err := a.view(ctx, id)
	return v, err
}

// ListInput filters ListSubscriptions.
type ListInput struct {
	PageSize        int32
	PageToken       string
	CustomerID      string
	States          []domain.State
	Channel         domain.Channel
	ExcludeReadOnly bool
	SkuID           string
}

// ListSubscriptions pages through the subscriptions the caller sees, in (create time, ID) order.
// With a customer, a partner sees all of that customer's subscriptions, those it does not manage
// flagged read-only (SU-8); without one, the subscriptions it is partner of record of. A customer
// sees its own tenant's. Software subscriptions bought before 2021-10-14 are never listed (SU-11).
func (a *App) ListSubscriptions(ctx context.Context, in ListInput) ([]View, string, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, "", err
	}
	size, err := paging.Size(in.PageSize)
	if err != nil {
		return nil, "", err
	}
	if in.CustomerID != "" {
		if err := checkID("customer_id", in.CustomerID); err != nil {
			return nil, "", err
		}
	}
	for _, s := range in.States {
		if !slices.Contains(domain.States(), s) {
			return nil, "", errs.Invalid("states", "unknown state %q", s)
		}
	}
	q := ListQuery{CustomerID: in.CustomerID, States: in.States, Channel: in.Channel, SkuID: in.SkuID,
		HideSoftwareBoughtBefore: softwareListingCutoff()}
	switch v.OrgKind {
	case auth.OrgPartner:
		if in.CustomerID == "" {
			q.PartnerID = v.OrgID
		} else if ok, err := a.related(ctx, v.OrgID, in.CustomerID); err != nil {
			return nil, "", err
		} else if !ok {
			return nil, "", errs.NotFoundf("customer", in.CustomerID)
		}
		if in.ExcludeReadOnly {
			q.PartnerID = v.OrgID
		}
	case auth.OrgCustomer:
		if in.CustomerID != "" && in.CustomerID != v.OrgID {
			return nil, "", errs.NotFoundf("customer", in.CustomerID)
		}
		q.CustomerID = v.OrgID
	}
	query := paging.Fingerprint("subscriptions", string(v.OrgKind), v.OrgID, in.CustomerID, in.States, in.Channel,
		in.ExcludeReadOnly, in.SkuID)
	if q.AfterCreateTime, q.AfterID, err = paging.DecodeTimeKey(in.PageToken, query); err != nil {
		return nil, "", err
	}
	q.Limit = size + 1
	rows, err := a.store.Subscriptions(ctx, q)
	if err != nil {
		return nil, "", err
	}
	page, next := paging.Trim(rows, size, query, func(s domain.Subscription) []string { return paging.TimeKey(s.CreateTime, s.ID) })
	now := a.now()
	out := make([]View, 0, len(page))
	for _, s := range page {
		// The query is already scoped to what the caller sees (its own subscriptions, or a customer
		// it is related to, or its own tenant): no relationship to ask per row.
		var ro domain.ReadOnlyReason
		switch v.OrgKind {
		case auth.OrgPartner:
			ro = domain.ReadOnlyForPartner(s, v.OrgID)
		case auth.OrgCustomer:
			ro = domain.ReadOnlyForCustomer(s)
		default:
			if ro, err = a.readOnly(ctx, v, s); err != nil {
				return nil, "", err
			}
		}
		if in.ExcludeReadOnly && ro != "" {
			continue
		}
		out = append(out, View{Sub: s, ReadOnly: ro, Now: now})
	}
	return out, next, nil
}
