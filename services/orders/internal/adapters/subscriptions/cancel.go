package subscriptions

import (
	"context"
	"fmt"

	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// CancelWindow implements app.Subscriptions with GetSubscription, on behalf of the caller: the
// subscriptions service owns the SU-10 window of the current term, so CancelOrder asks it before
// it confirms a cancellation (OR-5: nothing is cancelled if one line cannot be).
func (p *Provisioning) CancelWindow(ctx context.Context, subscriptionID string) (app.CancelWindow, error) {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := p.subs.GetSubscription(ctx, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: subscriptionID})
	if err != nil {
		return app.CancelWindow{}, fmt.Errorf("subscriptions GetSubscription %s: %w", subscriptionID, errs.FromError(err))
	}
	s := resp.GetSubscription()
	w := s.GetCancellation()
	out := app.CancelWindow{
		Never:  w.GetPolicy() == subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_NEVER,
		Passed: w.GetWindowPassed(),
		Refund: domain.Money{Minor: w.GetRefundIfCancelledNow().GetAmountMinor(),
			Currency: w.GetRefundIfCancelledNow().GetCurrencyCode()},
		Final: s.GetState() == subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_CANCELLED ||
			s.GetState() == subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_DELETED,
	}
	if t := w.GetWindowEndTime(); t != nil {
		out.End = t.AsTime()
	}
	return out, nil
}

// Cancel implements app.Subscriptions with CancelSubscription (SU-10), on behalf of the caller
// (the admin agent who cancelled the order).
func (p *Provisioning) Cancel(ctx context.Context, requestID, subscriptionID, reason string) (domain.Money, error) {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := p.subs.CancelSubscription(ctx, &subscriptionsv1.CancelSubscriptionRequest{
		RequestId: requestID, SubscriptionId: subscriptionID, Reason: reason})
	if err != nil {
		return domain.Money{}, fmt.Errorf("subscriptions CancelSubscription %s: %w", subscriptionID, errs.FromError(err))
	}
	return domain.Money{Minor: resp.GetRefund().GetAmountMinor(), Currency: resp.GetRefund().GetCurrencyCode()}, nil
}
