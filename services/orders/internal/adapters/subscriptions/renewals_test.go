package subscriptions_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/subscriptions"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

func ts(y int, m time.Month, d int) *timestamppb.Timestamp {
	return timestamppb.New(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// fakeRenewals records the last request of each RPC and answers with err when set.
type fakeRenewals struct {
	subscriptionsv1.UnimplementedSubscriptionServiceServer
	subscriptionsv1.UnimplementedProvisioningServiceServer
	prov  *subscriptionsv1.ProvisionSubscriptionRequest
	renew *subscriptionsv1.RenewSubscriptionRequest
	comp  *subscriptionsv1.CompensateProvisioningRequest
	auth  string
	err   error
}

func (f *fakeRenewals) GetSubscription(ctx context.Context, req *subscriptionsv1.GetSubscriptionRequest) (*subscriptionsv1.GetSubscriptionResponse, error) {
	f.auth = peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &subscriptionsv1.GetSubscriptionResponse{Subscription: &subscriptionsv1.Subscription{SubscriptionId: req.GetSubscriptionId(),
		CustomerId: "cust-1", PartnerId: "partner-1", SkuId: "CFQ7TTC0LF8R:0001", State: subscriptionsv1.SubscriptionState_SUBSCRIPTION_STATE_EXPIRED,
		Quantity: 10, MaxQuantity: 300, TermDuration: "P1Y", TermStartTime: ts(2025, 3, 1), TermEndTime: ts(2026, 3, 1), ReadOnly: true}}, nil
}

func (f *fakeRenewals) ProvisionSubscription(ctx context.Context, req *subscriptionsv1.ProvisionSubscriptionRequest) (*subscriptionsv1.ProvisionSubscriptionResponse, error) {
	f.prov, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &subscriptionsv1.ProvisionSubscriptionResponse{Created: req.GetAddToSubscriptionId() == "",
		Subscription:  &subscriptionsv1.Subscription{SubscriptionId: "sub-9", Quantity: 20, LicensedUserIds: req.GetLicensedUserIds()},
		TermStartTime: ts(2026, 3, 10), TermEndTime: ts(2026, 10, 29)}, nil
}

func (f *fakeRenewals) RenewSubscription(ctx context.Context, req *subscriptionsv1.RenewSubscriptionRequest) (*subscriptionsv1.RenewSubscriptionResponse, error) {
	f.renew, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &subscriptionsv1.RenewSubscriptionResponse{Subscription: &subscriptionsv1.Subscription{SubscriptionId: req.GetSubscriptionId(), Quantity: 10},
		Timing: subscriptionsv1.RenewalTiming_RENEWAL_TIMING_BEFORE_END_DATE, NewTermStartTime: ts(2026, 3, 10),
		NewTermEndTime: ts(2027, 3, 10), DaysForfeited: 20}, nil
}

func (f *fakeRenewals) CompensateProvisioning(ctx context.Context, req *subscriptionsv1.CompensateProvisioningRequest) (*subscriptionsv1.CompensateProvisioningResponse, error) {
	f.comp, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &subscriptionsv1.CompensateProvisioningResponse{}, nil
}

func dialRenewals(t *testing.T, f *fakeRenewals) *subscriptions.Renewals {
	t.Helper()
	conn := peertest.Dial(t, func(gs *grpc.Server) {
		subscriptionsv1.RegisterSubscriptionServiceServer(gs, f)
		subscriptionsv1.RegisterProvisioningServiceServer(gs, f)
	}, peertest.WithTokens())
	return subscriptions.NewRenewals(conn)
}

// SU-4: the subscription a key renews is read with its state and term dates.
func TestRenewals_Subscription_SU4(t *testing.T) {
	f := &fakeRenewals{}
	r := dialRenewals(t, f)
	got, err := r.Subscription(peertest.AgentCtx(), "sub-1")
	if err != nil {
		t.Fatal(err)
	}
	want := domain.SubscriptionFacts{ID: "sub-1", CustomerID: "cust-1", PartnerID: "partner-1", SkuID: "CFQ7TTC0LF8R:0001",
		State: domain.SubscriptionExpired, Quantity: 10, MaxQuantity: 300, Term: domain.TermP1Y,
		TermStart: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), TermEnd: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), ReadOnly: true}
	if got != want {
		t.Errorf("facts %+v; want %+v", got, want)
	}
	if f.auth != "Bearer obo:user-1" {
		t.Errorf("auth %q", f.auth)
	}
}

// KD-1, SU-6, BI-1, ID-2: a key group's subscription is channel OPEN at zero price, with one
// license for each licensed user (a new tenant's admin); with a target the seats are added.
func TestRenewals_Provision_KD1_SU6(t *testing.T) {
	f := &fakeRenewals{}
	r := dialRenewals(t, f)
	in := redeem.ProvisionInput{RedemptionID: "red-1", CustomerID: "cust-1", PartnerID: "partner-1", Seats: 10, Term: domain.TermP1Y,
		LicensedUserIDs: []string{"admin-1"},
		SKU: domain.SKUFacts{SkuID: "CFQ7TTC0LF8R:0001", ProductID: "CFQ7TTC0LF8R", DisplayName: "Office 365 E3",
			Kind: domain.KindOnlineService, MaxQuantity: 300, Policy: domain.PolicyProratedRefundWindow, WindowDays: 7, Currency: "EUR"}}
	got, err := r.Provision(peertest.AgentCtx(), "req-p", in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, redeem.Provisioned{SubscriptionID: "sub-9", Quantity: 20, TermStart: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC),
		TermEnd: time.Date(2026, 10, 29, 0, 0, 0, 0, time.UTC), LicensedUserIDs: []string{"admin-1"}}) {
		t.Errorf("provisioned %+v", got)
	}
	want := &subscriptionsv1.ProvisionSubscriptionRequest{RequestId: "req-p", OrderId: "red-1", CustomerId: "cust-1",
		PartnerId: "partner-1", SkuId: "CFQ7TTC0LF8R:0001", ProductId: "CFQ7TTC0LF8R", DisplayName: "Office 365 E3",
		ProductKind: subscriptionsv1.ProductKind_PRODUCT_KIND_ONLINE_SERVICE, Channel: subscriptionsv1.Channel_CHANNEL_OPEN,
		Quantity: 10, MaxQuantity: 300, BillingPlan: subscriptionsv1.BillingPlan_BILLING_PLAN_ANNUAL, TermDuration: "P1Y",
		UnitPrice:              &commonv1.Money{CurrencyCode: "EUR"},
		CancellationPolicy:     subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_PRORATED_REFUND_WINDOW,
		CancellationWindowDays: 7, LicensedUserIds: []string{"admin-1"}}
	if !proto.Equal(f.prov, want) {
		t.Errorf("request\n got %v\nwant %v", f.prov, want)
	}
	// Seats added to a subscription; a SKU the catalog gave nothing for falls back to its ID.
	in.AddToSubscriptionID, in.SKU, in.LicensedUserIDs = "sub-1", domain.SKUFacts{SkuID: "CFQ7TTC0LF8R:0001"}, nil
	if _, err := r.Provision(peertest.AgentCtx(), "req-a", in); err != nil {
		t.Fatal(err)
	}
	p := f.prov
	if p.GetAddToSubscriptionId() != "sub-1" || p.GetProductId() != "CFQ7TTC0LF8R" || p.GetDisplayName() != "CFQ7TTC0LF8R:0001" ||
		p.GetMaxQuantity() != 10 || p.GetUnitPrice().GetCurrencyCode() != "XXX" ||
		p.GetCancellationPolicy() != subscriptionsv1.CancellationPolicy_CANCELLATION_POLICY_NEVER || p.GetCancellationWindowDays() != 0 ||
		len(p.GetLicensedUserIds()) != 0 {
		t.Errorf("fallback request %v", p)
	}
}

// SU-4: a renewal names the subscription, term and seats; the answer's dates and days forfeited
// come back.
func TestRenewals_Renew_SU4(t *testing.T) {
	f := &fakeRenewals{}
	r := dialRenewals(t, f)
	got, err := r.Renew(peertest.AgentCtx(), "req-r", redeem.RenewInput{RedemptionID: "red-1", SubscriptionID: "sub-1", Term: domain.TermP1Y, Seats: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, redeem.Provisioned{SubscriptionID: "sub-1", Quantity: 10, TermStart: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC),
		TermEnd: time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC), DaysForfeited: 20}) {
		t.Errorf("renewed %+v", got)
	}
	if want := (&subscriptionsv1.RenewSubscriptionRequest{RequestId: "req-r", SubscriptionId: "sub-1", OrderId: "red-1",
		TermDuration: "P1Y", Quantity: 10}); !proto.Equal(f.renew, want) {
		t.Errorf("request %v", f.renew)
	}
	if err := r.Compensate(peertest.AgentCtx(), "req-c", "req-r", "failed"); err != nil {
		t.Fatal(err)
	}
	if want := (&subscriptionsv1.CompensateProvisioningRequest{RequestId: "req-c", StepRequestId: "req-r", Reason: "failed"}); !proto.Equal(f.comp, want) {
		t.Errorf("compensate %v", f.comp)
	}
}

// SU-4: RENEWAL_WINDOW_NOT_OPEN keeps its reason and opens_at; UNAVAILABLE is retryable.
func TestRenewals_Errors_SU4(t *testing.T) {
	f := &fakeRenewals{}
	r := dialRenewals(t, f)
	st, _ := errs.ToStatus(errs.New(errs.FailedPrecondition, domain.ReasonRenewalWindowNotOpen, "early").With("opens_at", "2026-05-02T00:00:00Z"))
	f.err = st.Err()
	_, err := r.Renew(peertest.AgentCtx(), "r", redeem.RenewInput{SubscriptionID: "s"})
	if e, ok := errs.As(err); !ok || e.Reason != domain.ReasonRenewalWindowNotOpen || e.Metadata["opens_at"] == "" || app.Retryable(err) {
		t.Errorf("refusal %v", err)
	}
	f.err = status.Error(codes.Unavailable, "down")
	if _, err := r.Provision(peertest.AgentCtx(), "r", redeem.ProvisionInput{}); !app.Retryable(err) {
		t.Errorf("unavailable %v", err)
	}
	f.err = status.Error(codes.NotFound, "no")
	if _, err := r.Subscription(peertest.AgentCtx(), "s"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("not found %v", err)
	}
}
