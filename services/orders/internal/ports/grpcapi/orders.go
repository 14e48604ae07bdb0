package grpcapi

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// OrderServer implements partnerhub.orders.v1.OrderService over app.App. Authentication, each
// RPC's access rule and idempotency by request_id run before it, in the server stack.
type OrderServer struct {
	ordersv1.UnimplementedOrderServiceServer
	app *app.App
}

// NewOrderServer returns the OrderService of a.
func NewOrderServer(a *app.App) *OrderServer { return &OrderServer{app: a} }

// ValidateOrder implements OrderService.
func (s *OrderServer) ValidateOrder(ctx context.Context, req *ordersv1.ValidateOrderRequest) (*ordersv1.ValidateOrderResponse, error) {
	r, err := s.app.ValidateOrder(ctx, req.GetCustomerId(), orderLineInputs(req.GetLines()))
	if err != nil {
		return nil, err
	}
	return reviewPB(r), nil
}

// PlaceOrder implements OrderService.
func (s *OrderServer) PlaceOrder(ctx context.Context, req *ordersv1.PlaceOrderRequest) (*ordersv1.PlaceOrderResponse, error) {
	o, err := s.app.PlaceOrder(ctx, app.PlaceInput{PlaceOrderInput: domain.PlaceOrderInput{
		RequestID: req.GetRequestId(), CustomerID: req.GetCustomerId(),
		PartnerReference: req.GetPartnerReference(), Lines: orderLineInputs(req.GetLines())},
		ReviewEtag: req.GetReviewEtag()})
	if err != nil {
		return nil, err
	}
	return &ordersv1.PlaceOrderResponse{Order: orderPB(o, s.app.Now())}, nil
}

// GetOrder implements OrderService.
func (s *OrderServer) GetOrder(ctx context.Context, req *ordersv1.GetOrderRequest) (*ordersv1.GetOrderResponse, error) {
	o, err := s.app.GetOrder(ctx, req.GetOrderId())
	if err != nil {
		return nil, err
	}
	return &ordersv1.GetOrderResponse{Order: orderPB(o, s.app.Now())}, nil
}

// WatchOrder implements OrderService.
func (s *OrderServer) WatchOrder(req *ordersv1.WatchOrderRequest, stream ordersv1.OrderService_WatchOrderServer) error {
	return s.app.WatchOrder(stream.Context(), req.GetOrderId(), func(o domain.Order) error {
		return stream.Send(&ordersv1.WatchOrderResponse{Order: orderPB(o, s.app.Now())})
	})
}

// ListOrders implements OrderService.
func (s *OrderServer) ListOrders(ctx context.Context, req *ordersv1.ListOrdersRequest) (*ordersv1.ListOrdersResponse, error) {
	in := app.ListInput{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		CustomerID: req.GetCustomerId(), SkuID: req.GetSkuId()}
	for _, st := range req.GetStates() {
		in.States = append(in.States, pbenum.Name[domain.OrderState](st, "ORDER_STATE_"))
	}
	if t := req.GetStartTime(); t != nil {
		in.StartTime = t.AsTime()
	}
	if t := req.GetEndTime(); t != nil {
		in.EndTime = t.AsTime()
	}
	orders, next, err := s.app.ListOrders(ctx, in)
	if err != nil {
		return nil, err
	}
	now := s.app.Now()
	resp := &ordersv1.ListOrdersResponse{NextPageToken: next}
	for _, o := range orders {
		resp.Orders = append(resp.Orders, orderPB(o, now))
	}
	return resp, nil
}

// CancelOrder implements OrderService.
func (s *OrderServer) CancelOrder(ctx context.Context, req *ordersv1.CancelOrderRequest) (*ordersv1.CancelOrderResponse, error) {
	o, plan, err := s.app.CancelOrder(ctx, app.CancelInput{RequestID: req.GetRequestId(), OrderID: req.GetOrderId(),
		LineIDs: req.GetLineIds(), Reason: req.GetReason(), Etag: req.GetEtag()})
	if err != nil {
		return nil, err
	}
	resp := &ordersv1.CancelOrderResponse{Order: orderPB(o, s.app.Now()), CancellationPending: o.CancellationPending}
	if !plan.ExpectedCompleteAt.IsZero() {
		resp.ExpectedCompleteTime = timestamppb.New(plan.ExpectedCompleteAt)
	}
	resp.CreditTotal = moneyOf(plan.CreditTotal(o.Currency()))
	return resp, nil
}

// orderLineInputs maps the requested lines; enum values become their names without prefix ("" for
// UNSPECIFIED, which the domain refuses).
func orderLineInputs(in []*ordersv1.OrderLineInput) []domain.LineInput {
	out := make([]domain.LineInput, len(in))
	for i, l := range in {
		out[i] = domain.LineInput{SkuID: l.GetSkuId(), Quantity: l.GetQuantity(),
			Term:      pbenum.Name[domain.Term](l.GetTerm(), "TERM_"),
			Plan:      pbenum.Name[domain.BillingPlan](l.GetBillingPlan(), "BILLING_PLAN_"),
			AutoRenew: l.Autorenew}
	}
	return out
}

// reviewPB maps a review.
func reviewPB(r app.Review) *ordersv1.ValidateOrderResponse {
	resp := &ordersv1.ValidateOrderResponse{Valid: r.Valid(), CountryCode: r.CountryCode,
		ReviewEtag: app.ReviewEtag(r), ReviewTime: timestamppb.New(r.Time)}
	for _, p := range r.Problems {
		resp.Problems = append(resp.Problems, problemPB(p))
	}
	for _, lr := range r.Lines {
		lp := &ordersv1.LineReview{Index: int32(lr.Index), SkuId: lr.Input.SkuID}
		for _, p := range lr.Problems {
			lp.Problems = append(lp.Problems, problemPB(p))
			if eq := p.Metadata["equivalent_sku_id"]; eq != "" {
				lp.EquivalentSkuId = eq
			}
		}
		if lr.Priced {
			of := lr.Offer
			lp.DisplayName, lp.ProductKind = of.DisplayName, productKindPB(of.Kind)
			lp.Available = true
			lp.UnitBillingPeriodPrice = moneyOf(of.Price.PerPeriod)
			lp.BillingPeriodAmount, lp.TermAmount = moneyOf(lr.PeriodAmount()), moneyOf(lr.TermAmount())
			lp.TaxInclusive = of.Price.TaxInclusive
			lp.CancellationPolicy = &catalogv1.CancellationPolicy{Kind: policyPB(of.Policy), WindowDays: of.WindowDays}
			if end, ok := lr.WindowEnd(r.Time); ok {
				lp.CancellationWindowEndTime = timestamppb.New(end)
			}
			lp.Autorenew = lr.AutoRenew
			lp.KeyType = keyTypePB(of.KeyType)
			lp.HasDownloads = of.HasDownloads()
			lp.InstallationInstructionsUrl = of.InstallationInstructions
			lp.MaximumQuantity = of.MaxQuantity
		}
		resp.Lines = append(resp.Lines, lp)
	}
	first, term, taxInclusive, priced := r.Totals()
	resp.TaxInclusive = taxInclusive
	if priced && first.Currency != "" {
		resp.FirstChargeTotal, resp.TermTotal = moneyOf(first), moneyOf(term)
	}
	return resp
}

func problemPB(p app.Problem) *ordersv1.Problem {
	return &ordersv1.Problem{Reason: reasonPB(string(p.Reason)), Field: p.Field, Message: p.Message, Metadata: p.Metadata}
}

// orderPB maps an order as read at now (the business clock: whether cancellation windows passed).
func orderPB(o domain.Order, now time.Time) *ordersv1.Order {
	out := &ordersv1.Order{OrderId: o.ID, PartnerId: o.PartnerID, CustomerId: o.CustomerID,
		CountryCode: o.CountryCode, PlacedBy: o.PlacedBy, State: orderStatePB(o.State),
		TaxInclusive: o.TaxInclusive, Failure: failurePB(o.Failure), CancellationPending: o.CancellationPending,
		PartnerReference: o.PartnerReference, Etag: app.Etag(o), CreateTime: timestamppb.New(o.CreateTime),
		UpdateTime: timestamppb.New(o.UpdateTime), CompleteTime: optTime(o.CompleteTime)}
	for _, l := range o.Lines {
		out.Lines = append(out.Lines, linePB(o, l, now))
	}
	out.FirstChargeTotal, out.TermTotal = moneyOf(o.FirstChargeTotal()), moneyOf(o.TermTotal())
	return out
}

func linePB(o domain.Order, l domain.OrderLine, now time.Time) *ordersv1.OrderLine {
	out := &ordersv1.OrderLine{LineId: l.ID, SkuId: l.SkuID, DisplayName: l.DisplayName,
		ProductKind: productKindPB(l.Kind), Quantity: l.Quantity,
		Term:                   pbenum.Value[catalogv1.Term](catalogv1.Term_value, "TERM_", l.Term),
		BillingPlan:            pbenum.Value[catalogv1.BillingPlan](catalogv1.BillingPlan_value, "BILLING_PLAN_", l.Plan),
		Autorenew:              l.AutoRenew,
		UnitBillingPeriodPrice: moneyOf(l.UnitPeriodPrice), BillingPeriodAmount: moneyOf(l.BillingPeriodAmount()),
		TermAmount: moneyOf(l.TermAmount()), TaxInclusive: l.TaxInclusive,
		CancellationPolicy: &catalogv1.CancellationPolicy{Kind: policyPB(l.Policy), WindowDays: l.WindowDays},
		State:              pbenum.Value[ordersv1.OrderLineState](ordersv1.OrderLineState_value, "ORDER_LINE_STATE_", l.State),
		Provisioning: &ordersv1.LineProvisioning{SubscriptionId: l.SubscriptionID, EntitlementId: l.EntitlementID,
			ChargeLedgerEntryId: l.ChargeID, CompleteTime: optTime(l.CompleteTime)},
	}
	if end, ok := o.CancellationWindowEnd(l); ok {
		out.CancellationWindowEndTime = timestamppb.New(end)
		out.CancellationWindowPassed = !now.Before(end)
	}
	if l.State == domain.LineFailed {
		out.Failure = failurePB(l.Failure)
	}
	if c := l.Cancellation; c != nil {
		out.Cancellation = &ordersv1.LineCancellation{RequestTime: timestamppb.New(c.RequestTime),
			CompleteTime: optTime(c.CompleteTime), SubscriptionCancelled: c.SubscriptionCancelled,
			EntitlementsRevoked: c.EntitlementsRevoked, CreditRecorded: c.CreditRecorded, Credit: moneyOf(c.Credit)}
	}
	return out
}

func failurePB(f *domain.Failure) *ordersv1.Failure {
	if f == nil {
		return nil
	}
	return &ordersv1.Failure{Reason: reasonPB(string(f.Reason)), Message: f.Message, Metadata: f.Metadata, Step: string(f.Step)}
}

func optTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func moneyOf(m domain.Money) *commonv1.Money {
	return &commonv1.Money{AmountMinor: m.Minor, CurrencyCode: m.Currency}
}

func reasonPB(r string) commonv1.ErrorReason {
	return pbenum.Value[commonv1.ErrorReason](commonv1.ErrorReason_value, "ERROR_REASON_", r)
}

func orderStatePB(s domain.OrderState) ordersv1.OrderState {
	return pbenum.Value[ordersv1.OrderState](ordersv1.OrderState_value, "ORDER_STATE_", s)
}

func productKindPB(k domain.ProductKind) catalogv1.ProductKind {
	return pbenum.Value[catalogv1.ProductKind](catalogv1.ProductKind_value, "PRODUCT_KIND_", k)
}

func policyPB(p domain.CancellationPolicy) catalogv1.CancellationPolicyKind {
	return pbenum.Value[catalogv1.CancellationPolicyKind](catalogv1.CancellationPolicyKind_value, "CANCELLATION_POLICY_KIND_", p)
}

func keyTypePB(k domain.KeyType) catalogv1.KeyType {
	return pbenum.Value[catalogv1.KeyType](catalogv1.KeyType_value, "KEY_TYPE_", k)
}
