// Package subscriptions wraps subscriptions' generated ProvisioningService client behind the
// orders app's Subscriptions port: the saga's create-subscription step and its compensation
// (OR-1). The calls carry a service token on behalf of the order's principal
// (svc.OnBehalfOfCaller), whose partner becomes the partner of record, and are bounded by a
// per-call timeout. Errors are the service's own (pkg/errs.FromError).
package subscriptions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// callTimeout bounds one call, so a hung peer fails a saga step with DEADLINE_EXCEEDED
// (retryable) instead of holding it.
const callTimeout = 5 * time.Second

// Provisioning implements app.Subscriptions over ProvisioningService.
type Provisioning struct {
	client subscriptionsv1.ProvisioningServiceClient
	subs   subscriptionsv1.SubscriptionServiceClient // cancellations (cancel.go)
}

// New returns the port over a connection to subscriptions (svc.Runtime.DialPeer).
func New(conn grpc.ClientConnInterface) *Provisioning {
	return &Provisioning{client: subscriptionsv1.NewProvisioningServiceClient(conn),
		subs: subscriptionsv1.NewSubscriptionServiceClient(conn)}
}

var _ app.Subscriptions = (*Provisioning)(nil)

// Provision implements app.Subscriptions with ProvisionSubscription: channel CSP, the line's
// snapshot (kind, quantity, plan, term, unit price per term, policy, window, autorenew) and the
// offer's product ID and maximum quantity.
func (p *Provisioning) Provision(ctx context.Context, requestID string, o domain.Order, l domain.OrderLine, offer app.Offer) (string, error) {
	if l.Term == domain.TermPerpetual || l.Term == "" {
		return "", errs.Invalid("term", "line %s: a %q term has no subscription", l.ID, l.Term)
	}
	productID := offer.ProductID
	if productID == "" {
		productID, _, _ = strings.Cut(l.SkuID, ":") // the SKU ID is "<product ID>:<4 digits>"
	}
	req := &subscriptionsv1.ProvisionSubscriptionRequest{
		RequestId: requestID, OrderId: o.ID, OrderLineId: l.ID,
		CustomerId: o.CustomerID, PartnerId: o.PartnerID,
		SkuId: l.SkuID, ProductId: productID, DisplayName: l.DisplayName,
		ProductKind: pbenum.Value[subscriptionsv1.ProductKind](subscriptionsv1.ProductKind_value, "PRODUCT_KIND_", l.Kind),
		Channel:     subscriptionsv1.Channel_CHANNEL_CSP,
		Quantity:    l.Quantity, MaxQuantity: offer.MaxQuantity,
		BillingPlan:            pbenum.Value[subscriptionsv1.BillingPlan](subscriptionsv1.BillingPlan_value, "BILLING_PLAN_", l.Plan),
		TermDuration:           string(l.Term), // "P1M", "P1Y", "P3Y": ISO 8601 already
		UnitPrice:              &commonv1.Money{AmountMinor: l.UnitTermPrice.Minor, CurrencyCode: l.UnitTermPrice.Currency},
		CancellationPolicy:     pbenum.Value[subscriptionsv1.CancellationPolicy](subscriptionsv1.CancellationPolicy_value, "CANCELLATION_POLICY_", l.Policy),
		CancellationWindowDays: l.WindowDays,
		AutoRenew:              l.AutoRenew,
	}
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := p.client.ProvisionSubscription(ctx, req)
	if err != nil {
		return "", fmt.Errorf("subscriptions ProvisionSubscription %s: %w", requestID, errs.FromError(err))
	}
	return resp.GetSubscription().GetSubscriptionId(), nil
}

// Compensate implements app.Subscriptions with CompensateProvisioning.
func (p *Provisioning) Compensate(ctx context.Context, requestID, stepRequestID, reason string) error {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	_, err := p.client.CompensateProvisioning(ctx, &subscriptionsv1.CompensateProvisioningRequest{
		RequestId: requestID, StepRequestId: stepRequestID, Reason: reason})
	if err != nil {
		return fmt.Errorf("subscriptions CompensateProvisioning %s: %w", stepRequestID, errs.FromError(err))
	}
	return nil
}
