package subscriptions_test

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/subscriptions"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// fake records the requests and answers with err when set.
type fake struct {
	subscriptionsv1.UnimplementedProvisioningServiceServer
	mu    sync.Mutex
	prov  *subscriptionsv1.ProvisionSubscriptionRequest
	comp  *subscriptionsv1.CompensateProvisioningRequest
	auth  string
	err   error
	calls int
}

func (f *fake) ProvisionSubscription(ctx context.Context, req *subscriptionsv1.ProvisionSubscriptionRequest) (*subscriptionsv1.ProvisionSubscriptionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.prov, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &subscriptionsv1.ProvisionSubscriptionResponse{Created: true,
		Subscription: &subscriptionsv1.Subscription{SubscriptionId: "sub-1"}}, nil
}

func (f *fake) CompensateProvisioning(ctx context.Context, req *subscriptionsv1.CompensateProvisioningRequest) (*subscriptionsv1.CompensateProvisioningResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.comp, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &subscriptionsv1.CompensateProvisioningResponse{NothingToCompensate: true}, nil
}

func dial(t *testing.T, f *fake) *subscriptions.Provisioning {
	t.Helper()
	conn := peertest.Dial(t, func(gs *grpc.Server) { subscriptionsv1.RegisterProvisioningServiceServer(gs, f) }, peertest.WithTokens())
	return subscriptions.New(conn)
}

func order() (domain.Order, domain.OrderLine, app.Offer) {
	l := domain.OrderLine{ID: "line-1", SkuID: "CFQ7TTC0LH18:0001", DisplayName: "Windows Server 2022 Standard",
		Kind: domain.KindSoftwareSubscription, Quantity: 5, Term: domain.TermP3Y, Plan: domain.PlanAnnual,
		AutoRenew: true, KeyType: domain.KeyMAK,
		UnitPeriodPrice: domain.Money{Minor: 4000, Currency: "EUR"}, UnitTermPrice: domain.Money{Minor: 12000, Currency: "EUR"},
		Policy: domain.PolicyProratedRefundWindow, WindowDays: 7}
	o := domain.Order{ID: "order-1", PartnerID: "partner-1", CustomerID: "customer-1", Lines: []domain.OrderLine{l}}
	return o, l, app.Offer{ProductID: "CFQ7TTC0LH18", MaxQuantity: 300}
}

// OR-1: the create-subscription step sends the line's snapshot, on behalf of the caller.
func TestProvision_Request(t *testing.T) {
	f := &fake{}
	p := dial(t, f)
	o, l, offer := order()
	id, err := p.Provision(peertest.AgentCtx(), "req-1", o, l, offer)
	if err != nil || id != "sub-1" {
		t.Fatalf("Provision = %q, %v; want sub-1", id, err)
	}
	want := &subscriptionsv1.ProvisionSubscriptionRequest{
		RequestId: "req-1", OrderId: "order-1", OrderLineId: "line-1", CustomerId: "customer-1", PartnerId: "partner-1",
		SkuId: "CFQ7TTC0LH18:0001", ProductId: "CFQ7TTC0LH18", DisplayName: "Windows Server 2022 Standard",
		ProductKind: subscriptionsv1.ProductKind_PRODUCT_KIND_SOFTWARE_SUBSCRIPTION, Channel: subscriptionsv1.Channel_CHANNEL_CSP,
		Quantity: 5, MaxQuantity: 300, BillingPlan: subscriptionsv1.BillingPlan_BILLING_PLAN_ANNUAL, TermDuration: "P3Y",
		UnitPrice:              &commonv1.Money{AmountMinor: 12000, CurrencyCode: "EUR"},
		CancellationPolicy:     subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_PRORATED_REFUND_WINDOW,
		CancellationWindowDays: 7, AutoRenew: true,
	}
	if !proto.Equal(f.prov, want) {
		t.Errorf("request\n got %v\nwant %v", f.prov, want)
	}
	if f.auth != "Bearer obo:user-1" {
		t.Errorf("authorization %q; want a token on behalf of user-1", f.auth)
	}
}

// Without an offer product ID the SKU ID's prefix is the product; a NEVER policy maps too.
func TestProvision_Defaults(t *testing.T) {
	f := &fake{}
	p := dial(t, f)
	o, l, _ := order()
	l.Kind, l.Policy, l.WindowDays, l.Term, l.Plan = domain.KindSoftwarePlan, domain.PolicyNever, 0, domain.TermP1Y, domain.PlanMonthly
	if _, err := p.Provision(peertest.AgentCtx(), "req-2", o, l, app.Offer{MaxQuantity: 10}); err != nil {
		t.Fatal(err)
	}
	if f.prov.GetProductId() != "CFQ7TTC0LH18" || f.prov.GetCancellationPolicy() != subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_NEVER ||
		f.prov.GetProductKind() != subscriptionsv1.ProductKind_PRODUCT_KIND_SOFTWARE_PLAN || f.prov.GetTermDuration() != "P1Y" ||
		f.prov.GetBillingPlan() != subscriptionsv1.BillingPlan_BILLING_PLAN_MONTHLY {
		t.Errorf("request %v", f.prov)
	}
}

// A perpetual line has no subscription: refused without a call.
func TestProvision_PerpetualRefused(t *testing.T) {
	f := &fake{}
	p := dial(t, f)
	o, l, offer := order()
	l.Term, l.Plan = domain.TermPerpetual, domain.PlanOneTime
	if _, err := p.Provision(peertest.AgentCtx(), "req-3", o, l, offer); errs.KindOf(err) != errs.InvalidArgument || f.calls != 0 {
		t.Errorf("perpetual: %v after %d calls; want INVALID_ARGUMENT without a call", err, f.calls)
	}
}

// SU-13: a refusal keeps its kind, reason and metadata, and is not retryable; UNAVAILABLE is.
func TestProvision_Errors(t *testing.T) {
	f := &fake{}
	p := dial(t, f)
	o, l, offer := order()
	st, _ := errs.ToStatus(errs.New(errs.FailedPrecondition, "TENANT_SUBSCRIPTION_LIMIT", "too many").With("limit", "25"))
	f.err = st.Err()
	_, err := p.Provision(peertest.AgentCtx(), "req-1", o, l, offer)
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.FailedPrecondition || e.Reason != "TENANT_SUBSCRIPTION_LIMIT" || e.Metadata["limit"] != "25" || app.Retryable(err) {
		t.Errorf("refusal: %v (%+v); want FAILED_PRECONDITION/TENANT_SUBSCRIPTION_LIMIT limit=25, not retryable", err, e)
	}
	f.err = status.Error(codes.Unavailable, "down")
	if _, err := p.Provision(peertest.AgentCtx(), "req-1", o, l, offer); errs.KindOf(err) != errs.Unavailable || !app.Retryable(err) {
		t.Errorf("unavailable: %v; want UNAVAILABLE, retryable", err)
	}
	f.err = status.Error(codes.DeadlineExceeded, "slow")
	if err := p.Compensate(peertest.AgentCtx(), "c-1", "req-1", "x"); !app.Retryable(err) {
		t.Errorf("deadline: %v; want retryable", err)
	}
}

// OR-1: the compensation names the step to undo.
func TestCompensate_Request(t *testing.T) {
	f := &fake{}
	p := dial(t, f)
	if err := p.Compensate(peertest.AgentCtx(), "comp-1", "req-1", "MARKET_NOT_AVAILABLE"); err != nil {
		t.Fatal(err)
	}
	want := &subscriptionsv1.CompensateProvisioningRequest{RequestId: "comp-1", StepRequestId: "req-1", Reason: "MARKET_NOT_AVAILABLE"}
	if !proto.Equal(f.comp, want) || f.auth != "Bearer obo:user-1" {
		t.Errorf("request %v (auth %q); want %v", f.comp, f.auth, want)
	}
}
