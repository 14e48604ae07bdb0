package subscriptions

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// noCurrency is ISO 4217's code for "no currency": the unit price of an Open key's subscription
// is zero, the partner invoices the customer itself (BI-1), and a market without a catalog price
// has no currency to name.
const noCurrency = "XXX"

// Renewals implements redeem.Subscriptions over subscriptions' SubscriptionService (reading the
// subscription a key extends or renews) and ProvisioningService (the redemption saga's create,
// add-seats and renew steps and their compensation; KD-1, SU-4, SU-6). The calls carry a service
// token on behalf of the redemption's actor (svc.OnBehalfOfCaller), whose partner becomes the
// partner of record, and are bounded by callTimeout. Errors are the service's own.
type Renewals struct {
	subs  subscriptionsv1.SubscriptionServiceClient
	provs subscriptionsv1.ProvisioningServiceClient
}

// NewRenewals returns the port over a connection to subscriptions (svc.Runtime.DialPeer).
func NewRenewals(conn grpc.ClientConnInterface) *Renewals {
	return &Renewals{subs: subscriptionsv1.NewSubscriptionServiceClient(conn),
		provs: subscriptionsv1.NewProvisioningServiceClient(conn)}
}

var _ redeem.Subscriptions = (*Renewals)(nil)

// Subscription implements redeem.Subscriptions with GetSubscription (NOT_FOUND when the caller
// may not see it, ID-8).
func (r *Renewals) Subscription(ctx context.Context, id string) (domain.SubscriptionFacts, error) {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := r.subs.GetSubscription(ctx, &subscriptionsv1.GetSubscriptionRequest{SubscriptionId: id})
	if err != nil {
		return domain.SubscriptionFacts{}, fmt.Errorf("subscriptions GetSubscription %s: %w", id, errs.FromError(err))
	}
	s := resp.GetSubscription()
	return domain.SubscriptionFacts{ID: s.GetSubscriptionId(), CustomerID: s.GetCustomerId(), PartnerID: s.GetPartnerId(),
		SkuID: s.GetSkuId(), State: domain.SubscriptionState(strings.TrimPrefix(s.GetState().String(), "SUBSCRIPTION_STATE_")),
		Quantity: s.GetQuantity(), MaxQuantity: s.GetMaxQuantity(), Term: domain.Term(s.GetTermDuration()),
		TermStart: s.GetTermStartTime().AsTime(), TermEnd: s.GetTermEndTime().AsTime(), ReadOnly: s.GetReadOnly()}, nil
}

// planOf is the billing plan of an Open subscription: the whole term at once (CA-5). The price
// is zero (BI-1), so the plan only has to be one the term allows.
func planOf(t domain.Term) subscriptionsv1.BillingPlan {
	switch t {
	case domain.TermP1M:
		return subscriptionsv1.BillingPlan_BILLING_PLAN_MONTHLY
	case domain.TermP3Y:
		return subscriptionsv1.BillingPlan_BILLING_PLAN_TRIENNIAL
	}
	return subscriptionsv1.BillingPlan_BILLING_PLAN_ANNUAL
}

// Provision implements redeem.Subscriptions with ProvisionSubscription: channel OPEN, the key
// group's seats and term, unit price zero (BI-1), the SKU's snapshot from the catalog (product,
// name, kind, maximum, policy); with AddToSubscriptionID the seats are added and co-terminated
// (SU-6). in.LicensedUserIDs (the new tenant's admin, ID-2) get one license each of a created
// subscription. Missing catalog data falls back to the SKU ID, an online service, the seats as
// maximum and no cancellation window.
func (r *Renewals) Provision(ctx context.Context, requestID string, in redeem.ProvisionInput) (redeem.Provisioned, error) {
	sku := in.SKU
	productID := sku.ProductID
	if productID == "" {
		productID, _, _ = strings.Cut(sku.SkuID, ":")
	}
	name := sku.DisplayName
	if name == "" {
		name = sku.SkuID
	}
	kind := sku.Kind
	if kind == "" {
		kind = domain.KindOnlineService
	}
	maxQ := sku.MaxQuantity
	if maxQ < 1 { // unknown: the keys' seats are within it
		maxQ = in.Seats
	}
	policy, window := sku.Policy, sku.WindowDays
	if policy != domain.PolicyProratedRefundWindow || window < 1 {
		policy, window = domain.PolicyNever, 0
	}
	currency := sku.Currency
	if currency == "" {
		currency = noCurrency
	}
	term := in.Term
	if term == "" {
		term = domain.TermP1Y
	}
	req := &subscriptionsv1.ProvisionSubscriptionRequest{
		RequestId: requestID, OrderId: in.RedemptionID, CustomerId: in.CustomerID, PartnerId: in.PartnerID,
		SkuId: sku.SkuID, ProductId: productID, DisplayName: name,
		ProductKind: pbenum.Value[subscriptionsv1.ProductKind](subscriptionsv1.ProductKind_value, "PRODUCT_KIND_", kind),
		Channel:     subscriptionsv1.Channel_CHANNEL_OPEN,
		Quantity:    in.Seats, MaxQuantity: maxQ,
		BillingPlan:  planOf(term),
		TermDuration: string(term),
		UnitPrice:    &commonv1.Money{AmountMinor: 0, CurrencyCode: currency},
		CancellationPolicy: pbenum.Value[subscriptionsv1.CancellationPolicy](subscriptionsv1.CancellationPolicy_value,
			"CANCELLATION_POLICY_", policy),
		CancellationWindowDays: window,
		AutoRenew:              false, // an Open subscription is renewed by a key (SU-4), never automatically
		AddToSubscriptionId:    in.AddToSubscriptionID,
		LicensedUserIds:        in.LicensedUserIDs, // ID-2: the new tenant's admin
	}
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := r.provs.ProvisionSubscription(ctx, req)
	if err != nil {
		return redeem.Provisioned{}, fmt.Errorf("subscriptions ProvisionSubscription %s: %w", requestID, errs.FromError(err))
	}
	s := resp.GetSubscription()
	return redeem.Provisioned{SubscriptionID: s.GetSubscriptionId(), Quantity: s.GetQuantity(),
		TermStart: resp.GetTermStartTime().AsTime(), TermEnd: resp.GetTermEndTime().AsTime(),
		LicensedUserIDs: s.GetLicensedUserIds()}, nil
}

// Renew implements redeem.Subscriptions with RenewSubscription (SU-4): the new term's length and
// quantity, no price (BI-1). The answer carries the SU-4 dates and the days forfeited.
func (r *Renewals) Renew(ctx context.Context, requestID string, in redeem.RenewInput) (redeem.Provisioned, error) {
	term := in.Term
	if term == "" {
		term = domain.TermP1Y
	}
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := r.provs.RenewSubscription(ctx, &subscriptionsv1.RenewSubscriptionRequest{RequestId: requestID,
		SubscriptionId: in.SubscriptionID, OrderId: in.RedemptionID, TermDuration: string(term), Quantity: in.Seats})
	if err != nil {
		return redeem.Provisioned{}, fmt.Errorf("subscriptions RenewSubscription %s: %w", requestID, errs.FromError(err))
	}
	s := resp.GetSubscription()
	return redeem.Provisioned{SubscriptionID: s.GetSubscriptionId(), Quantity: s.GetQuantity(),
		TermStart: resp.GetNewTermStartTime().AsTime(), TermEnd: resp.GetNewTermEndTime().AsTime(),
		DaysForfeited: resp.GetDaysForfeited()}, nil
}

// Compensate implements redeem.Subscriptions with CompensateProvisioning.
func (r *Renewals) Compensate(ctx context.Context, requestID, stepRequestID, reason string) error {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	_, err := r.provs.CompensateProvisioning(ctx, &subscriptionsv1.CompensateProvisioningRequest{
		RequestId: requestID, StepRequestId: stepRequestID, Reason: reason})
	if err != nil {
		return fmt.Errorf("subscriptions CompensateProvisioning %s: %w", stepRequestID, errs.FromError(err))
	}
	return nil
}
