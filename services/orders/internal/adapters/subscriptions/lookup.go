package subscriptions

import (
	"context"
	"fmt"

	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
)

var _ support.Subscriptions = (*Provisioning)(nil)

// Subscription implements support.Subscriptions with GetSubscription under the service's own
// token: the support use case applies ID-8 itself, and a partner's Helpdesk agent, who may open
// support requests, holds none of GetSubscription's reading roles.
func (p *Provisioning) Subscription(ctx context.Context, subscriptionID string) (support.Subscription, error) {
	own := svc.OnBehalfOf(ctx, auth.Principal{OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}})
	ctx, cancel := context.WithTimeout(own, callTimeout)
	defer cancel()
	resp, err := p.subs.GetSubscription(ctx, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: subscriptionID})
	if err != nil {
		return support.Subscription{}, fmt.Errorf("subscriptions GetSubscription %s: %w", subscriptionID, errs.FromError(err))
	}
	s := resp.GetSubscription()
	return support.Subscription{ID: s.GetSubscriptionId(), CustomerID: s.GetCustomerId(), PartnerID: s.GetPartnerId()}, nil
}
