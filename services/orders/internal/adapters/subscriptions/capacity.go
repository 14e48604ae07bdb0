package subscriptions

import (
	"context"
	"fmt"

	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
)

var _ app.TenantCapacity = (*Provisioning)(nil)

// TenantCapacity implements app.TenantCapacity with CheckTenantCapacity (SU-13), on behalf of
// the caller: the order review asks before an order is stored.
func (p *Provisioning) TenantCapacity(ctx context.Context, customerID string, requested int) (app.Capacity, error) {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := p.client.CheckTenantCapacity(ctx, &subscriptionsv1.CheckTenantCapacityRequest{
		CustomerId: customerID, Requested: int32(requested)})
	if err != nil {
		return app.Capacity{}, fmt.Errorf("subscriptions CheckTenantCapacity %s: %w", customerID, errs.FromError(err))
	}
	return app.Capacity{Allowed: resp.GetAllowed(), Limit: int(resp.GetLimit()), Active: int(resp.GetActive()),
		Requested: int(resp.GetRequested())}, nil
}
