// Package grpcapi maps partnerhub.subscriptions.v1 to the subscriptions use cases: proto in, app
// call, proto out. No business rules here.
package grpcapi

import (
	"context"
	"time"

	"google.golang.org/grpc"

	subscriptionsv1 "github.com/partnerhub/partnerhub/gen/partnerhub/subscriptions/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/pbconv"
)

// Server implements the subscriptions services (TransferService in transfers.go).
// Authentication, each RPC's access rule and idempotency by request_id run before it, in the
// server stack.
type Server struct {
	subscriptionsv1.UnimplementedSubscriptionServiceServer
	subscriptionsv1.UnimplementedProvisioningServiceServer
	// TransferService opts out of the Unimplemented fallback: an RPC added to the contract
	// without an implementation here fails the build instead of answering UNIMPLEMENTED.
	subscriptionsv1.UnsafeTransferServiceServer
	subscriptionsv1.UnimplementedEventServiceServer
	app *app.App
	// poll is how often WatchEvents looks for events appended by other instances.
	poll time.Duration
}

// Register adds every subscriptions service to gs. poll is WatchEvents' polling interval for
// events of other instances.
func Register(gs *grpc.Server, a *app.App, poll time.Duration) {
	s := &Server{app: a, poll: poll}
	subscriptionsv1.RegisterSubscriptionServiceServer(gs, s)
	subscriptionsv1.RegisterProvisioningServiceServer(gs, s)
	subscriptionsv1.RegisterTransferServiceServer(gs, s)
	subscriptionsv1.RegisterEventServiceServer(gs, s)
}

func subPB(v app.View) *subscriptionsv1.Subscription {
	return pbconv.SubscriptionPB(v.Sub, v.Now, v.ReadOnly)
}

func change(requestID, id, etag string) app.Change {
	return app.Change{RequestID: requestID, SubscriptionID: id, Etag: etag}
}

// GetSubscription implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) GetSubscription(ctx context.Context, req *subscriptionsv1.GetSubscriptionRequest) (*subscriptionsv1.GetSubscriptionResponse, error) {
	v, err := s.app.GetSubscription(ctx, req.GetSubscriptionId())
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.GetSubscriptionResponse{Subscription: subPB(v)}, nil
}

// ListSubscriptions implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) ListSubscriptions(ctx context.Context, req *subscriptionsv1.ListSubscriptionsRequest) (*subscriptionsv1.ListSubscriptionsResponse, error) {
	in := app.ListInput{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), CustomerID: req.GetCustomerId(),
		Channel: pbconv.Channel(req.GetChannel()), ExcludeReadOnly: req.GetExcludeReadOnly(), SkuID: req.GetSkuId()}
	for _, st := range req.GetStates() {
		in.States = append(in.States, pbconv.State(st))
	}
	views, next, err := s.app.ListSubscriptions(ctx, in)
	if err != nil {
		return nil, err
	}
	resp := &subscriptionsv1.ListSubscriptionsResponse{NextPageToken: next}
	for _, v := range views {
		resp.Subscriptions = append(resp.Subscriptions, subPB(v))
	}
	return resp, nil
}

// ChangeQuantity implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) ChangeQuantity(ctx context.Context, req *subscriptionsv1.ChangeQuantityRequest) (*subscriptionsv1.ChangeQuantityResponse, error) {
	v, c, err := s.app.ChangeQuantity(ctx, change(req.GetRequestId(), req.GetSubscriptionId(), req.GetEtag()), req.GetQuantity())
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.ChangeQuantityResponse{Subscription: subPB(v), Change: pbconv.QuantityChangePB(c)}, nil
}

// PreviewQuantityChange implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) PreviewQuantityChange(ctx context.Context, req *subscriptionsv1.PreviewQuantityChangeRequest) (*subscriptionsv1.PreviewQuantityChangeResponse, error) {
	c, err := s.app.PreviewQuantityChange(ctx, req.GetSubscriptionId(), req.GetQuantity())
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.PreviewQuantityChangeResponse{Change: pbconv.QuantityChangePB(c)}, nil
}

// SetAutoRenew implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) SetAutoRenew(ctx context.Context, req *subscriptionsv1.SetAutoRenewRequest) (*subscriptionsv1.SetAutoRenewResponse, error) {
	v, err := s.app.SetAutoRenew(ctx, change(req.GetRequestId(), req.GetSubscriptionId(), req.GetEtag()), req.GetAutoRenew())
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.SetAutoRenewResponse{Subscription: subPB(v)}, nil
}

// SuspendSubscription implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) SuspendSubscription(ctx context.Context, req *subscriptionsv1.SuspendSubscriptionRequest) (*subscriptionsv1.SuspendSubscriptionResponse, error) {
	v, err := s.app.Suspend(ctx, change(req.GetRequestId(), req.GetSubscriptionId(), req.GetEtag()), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.SuspendSubscriptionResponse{Subscription: subPB(v)}, nil
}

// ReactivateSubscription implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) ReactivateSubscription(ctx context.Context, req *subscriptionsv1.ReactivateSubscriptionRequest) (*subscriptionsv1.ReactivateSubscriptionResponse, error) {
	v, due, err := s.app.Reactivate(ctx, change(req.GetRequestId(), req.GetSubscriptionId(), req.GetEtag()))
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.ReactivateSubscriptionResponse{Subscription: subPB(v), AmountDue: pbconv.MoneyPB(due)}, nil
}

// PreviewCancellation implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) PreviewCancellation(ctx context.Context, req *subscriptionsv1.PreviewCancellationRequest) (*subscriptionsv1.PreviewCancellationResponse, error) {
	p, err := s.app.PreviewCancellation(ctx, req.GetSubscriptionId())
	if err != nil {
		return nil, err
	}
	resp := &subscriptionsv1.PreviewCancellationResponse{Cancellable: p.Cancellable, Window: pbconv.WindowPB(p.Window),
		Quantity: p.Quantity}
	if p.Refusal != nil {
		resp.RefusalReason = pbconv.ReasonPB(errs.ReasonOf(p.Refusal))
	}
	return resp, nil
}

// CancelSubscription implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) CancelSubscription(ctx context.Context, req *subscriptionsv1.CancelSubscriptionRequest) (*subscriptionsv1.CancelSubscriptionResponse, error) {
	v, refund, err := s.app.Cancel(ctx, change(req.GetRequestId(), req.GetSubscriptionId(), req.GetEtag()), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.CancelSubscriptionResponse{Subscription: subPB(v), Refund: pbconv.MoneyPB(refund)}, nil
}

// PreviewChannelConversion implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) PreviewChannelConversion(ctx context.Context, req *subscriptionsv1.PreviewChannelConversionRequest) (*subscriptionsv1.PreviewChannelConversionResponse, error) {
	c, err := s.app.PreviewChannelConversion(ctx, req.GetSubscriptionId(), pbconv.Channel(req.GetTargetChannel()))
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.PreviewChannelConversionResponse{Path: pbconv.PathPB(c.Path), Penalty: pbconv.MoneyPB(c.Penalty),
		FirstMonthCharge: pbconv.MoneyPB(c.FirstMonthCharge), NewTermStartTime: pbtime.From(c.NewStart),
		RenewalWindowOpenTime: pbtime.From(c.RenewalWindowOpen)}, nil
}

// ConvertChannel implements subscriptionsv1.SubscriptionServiceServer.
func (s *Server) ConvertChannel(ctx context.Context, req *subscriptionsv1.ConvertChannelRequest) (*subscriptionsv1.ConvertChannelResponse, error) {
	v, c, err := s.app.ConvertChannel(ctx, app.ConvertInput{Change: change(req.GetRequestId(), req.GetSubscriptionId(), req.GetEtag()),
		Target: pbconv.Channel(req.GetTargetChannel()), KeyReservationID: req.GetKeyReservationId(),
		AcknowledgePenalty: req.GetAcknowledgePenalty()})
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.ConvertChannelResponse{Subscription: subPB(v), Path: pbconv.PathPB(c.Path),
		Penalty: pbconv.MoneyPB(c.Penalty), FirstMonthCharge: pbconv.MoneyPB(c.FirstMonthCharge)}, nil
}

// ProvisionSubscription implements subscriptionsv1.ProvisioningServiceServer.
func (s *Server) ProvisionSubscription(ctx context.Context, req *subscriptionsv1.ProvisionSubscriptionRequest) (*subscriptionsv1.ProvisionSubscriptionResponse, error) {
	v, created, err := s.app.Provision(ctx, app.ProvisionInput{
		RequestID: req.GetRequestId(), OrderID: req.GetOrderId(), OrderLineID: req.GetOrderLineId(),
		CustomerID: req.GetCustomerId(), PartnerID: req.GetPartnerId(), SkuID: req.GetSkuId(),
		ProductID: req.GetProductId(), DisplayName: req.GetDisplayName(), Kind: pbconv.Kind(req.GetProductKind()),
		Channel: pbconv.Channel(req.GetChannel()), Quantity: req.GetQuantity(), MaxQuantity: req.GetMaxQuantity(),
		Plan: pbconv.Plan(req.GetBillingPlan()), Term: domain.Term(req.GetTermDuration()),
		UnitPrice: pbconv.Money(req.GetUnitPrice()), Policy: pbconv.Policy(req.GetCancellationPolicy()),
		WindowDays: req.GetCancellationWindowDays(), AutoRenew: req.GetAutoRenew(),
		AddToSubscriptionID: req.GetAddToSubscriptionId(), TransferID: req.GetTransferId(),
		LicensedUserIDs: req.GetLicensedUserIds(),
	})
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.ProvisionSubscriptionResponse{Subscription: subPB(v), Created: created,
		TermStartTime: pbtime.From(v.Sub.TermStart), TermEndTime: pbtime.From(v.Sub.TermEnd)}, nil
}

// RenewSubscription implements subscriptionsv1.ProvisioningServiceServer.
func (s *Server) RenewSubscription(ctx context.Context, req *subscriptionsv1.RenewSubscriptionRequest) (*subscriptionsv1.RenewSubscriptionResponse, error) {
	v, r, err := s.app.Renew(ctx, app.RenewInput{RequestID: req.GetRequestId(), SubscriptionID: req.GetSubscriptionId(),
		OrderID: req.GetOrderId(), Term: domain.Term(req.GetTermDuration()), Quantity: req.GetQuantity(),
		UnitPrice: pbconv.Money(req.GetUnitPrice())})
	if err != nil {
		return nil, err
	}
	timing := subscriptionsv1.RenewalTiming_RENEWAL_TIMING_BEFORE_END_DATE
	if r.Timing == domain.TimingInGrace {
		timing = subscriptionsv1.RenewalTiming_RENEWAL_TIMING_IN_GRACE
	}
	return &subscriptionsv1.RenewSubscriptionResponse{Subscription: subPB(v), Timing: timing,
		NewTermStartTime: pbtime.From(r.Start), NewTermEndTime: pbtime.From(r.End), DaysForfeited: r.DaysForfeited}, nil
}

// CompensateProvisioning implements subscriptionsv1.ProvisioningServiceServer.
func (s *Server) CompensateProvisioning(ctx context.Context, req *subscriptionsv1.CompensateProvisioningRequest) (*subscriptionsv1.CompensateProvisioningResponse, error) {
	v, found, err := s.app.Compensate(ctx, req.GetRequestId(), req.GetStepRequestId(), req.GetReason())
	if err != nil {
		return nil, err
	}
	if !found {
		return &subscriptionsv1.CompensateProvisioningResponse{NothingToCompensate: true}, nil
	}
	return &subscriptionsv1.CompensateProvisioningResponse{Subscription: subPB(v)}, nil
}

// CheckTenantCapacity implements subscriptionsv1.ProvisioningServiceServer.
func (s *Server) CheckTenantCapacity(ctx context.Context, req *subscriptionsv1.CheckTenantCapacityRequest) (*subscriptionsv1.CheckTenantCapacityResponse, error) {
	c, err := s.app.CheckTenantCapacity(ctx, req.GetCustomerId(), req.GetRequested())
	if err != nil {
		return nil, err
	}
	return &subscriptionsv1.CheckTenantCapacityResponse{Allowed: c.Allowed, Limit: int32(c.Limit),
		Active: int32(c.Active), Requested: int32(c.Requested)}, nil
}

func eventTypes(ts []subscriptionsv1.SubscriptionEventType) []domain.EventType {
	var out []domain.EventType
	for _, t := range ts {
		out = append(out, pbconv.EventType(t))
	}
	return out
}

// ListEvents implements subscriptionsv1.EventServiceServer.
func (s *Server) ListEvents(ctx context.Context, req *subscriptionsv1.ListEventsRequest) (*subscriptionsv1.ListEventsResponse, error) {
	evs, next, last, err := s.app.ListEvents(ctx, app.EventsInput{After: req.GetAfterSequence(), PageSize: req.GetPageSize(),
		PageToken: req.GetPageToken(), CustomerID: req.GetCustomerId(), SubscriptionID: req.GetSubscriptionId(),
		Types: eventTypes(req.GetEventTypes())})
	if err != nil {
		return nil, err
	}
	resp := &subscriptionsv1.ListEventsResponse{NextPageToken: next, LastSequence: last}
	for _, e := range evs {
		resp.Events = append(resp.Events, pbconv.EventPB(e))
	}
	return resp, nil
}

// WatchEvents implements subscriptionsv1.EventServiceServer.
func (s *Server) WatchEvents(req *subscriptionsv1.WatchEventsRequest, stream grpc.ServerStreamingServer[subscriptionsv1.WatchEventsResponse]) error {
	err := s.app.WatchEvents(stream.Context(), app.EventsInput{After: req.GetAfterSequence(), CustomerID: req.GetCustomerId(),
		SubscriptionID: req.GetSubscriptionId(), Types: eventTypes(req.GetEventTypes())}, s.poll,
		func(e domain.Event) error {
			return stream.Send(&subscriptionsv1.WatchEventsResponse{Event: pbconv.EventPB(e)})
		})
	if stream.Context().Err() != nil {
		return nil //nolint:nilerr // the client went away: nothing to report
	}
	return err
}
