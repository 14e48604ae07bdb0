package grpcapi

import (
	"context"
	"strconv"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/support"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// SupportServer implements partnerhub.orders.v1.SupportRequestService (OR-6, DA-4): it maps the
// contract onto the support use cases and back; every rule is in app/support.
type SupportServer struct {
	ordersv1.UnimplementedSupportRequestServiceServer
	app *support.App
}

// NewSupportServer returns the service over the support use cases. Register it with
// ordersv1.RegisterSupportRequestServiceServer.
func NewSupportServer(app *support.App) *SupportServer { return &SupportServer{app: app} }

// The enum prefixes of the contract; the app names values without them.
const (
	supportReasonPrefix = "REFUND_REASON_"
	supportStatePrefix  = "SUPPORT_REQUEST_STATE_"
)

// CreateSupportRequest implements ordersv1.SupportRequestServiceServer. Unset oneofs, amount and
// contact map to empty values, which the use case refuses field by field.
func (s *SupportServer) CreateSupportRequest(ctx context.Context, req *ordersv1.CreateSupportRequestRequest) (*ordersv1.CreateSupportRequestResponse, error) {
	in := support.CreateInput{
		RequestID:      req.GetRequestId(),
		CustomerID:     req.GetCustomerId(),
		CustomerDomain: req.GetCustomerDomain(),
		OrderID:        req.GetOrderId(),
		SubscriptionID: req.GetSubscriptionId(),
		RefundReason:   pbenum.Name[support.RefundReason](req.GetRefundReason(), supportReasonPrefix),
		ReasonDetails:  req.GetRefundReasonDetails(),
		Amount: domain.Money{Minor: req.GetAmountRequested().GetAmountMinor(),
			Currency: req.GetAmountRequested().GetCurrencyCode()},
		Contact: support.Contact{Name: req.GetContact().GetName(), Email: req.GetContact().GetEmail(),
			Phone: req.GetContact().GetPhone()},
		Title: req.GetTitle(),
	}
	r, err := s.app.CreateSupportRequest(ctx, in)
	if err != nil {
		return nil, err
	}
	return &ordersv1.CreateSupportRequestResponse{SupportRequest: supportRequestPB(r)}, nil
}

// ListSupportRequests implements ordersv1.SupportRequestServiceServer.
func (s *SupportServer) ListSupportRequests(ctx context.Context, req *ordersv1.ListSupportRequestsRequest) (*ordersv1.ListSupportRequestsResponse, error) {
	in := support.ListInput{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		CustomerID: req.GetCustomerId(), OrderID: req.GetOrderId(), SubscriptionID: req.GetSubscriptionId(),
		Start: pbtime.To(req.GetStartTime()), End: pbtime.To(req.GetEndTime()),
	}
	for _, st := range req.GetStates() {
		// UNSPECIFIED maps to "", which the use case refuses like any unknown state.
		in.States = append(in.States, pbenum.Name[support.State](st, supportStatePrefix))
	}
	rs, next, err := s.app.ListSupportRequests(ctx, in)
	if err != nil {
		return nil, err
	}
	out := &ordersv1.ListSupportRequestsResponse{SupportRequests: make([]*ordersv1.SupportRequest, 0, len(rs)),
		NextPageToken: next}
	for _, r := range rs {
		out.SupportRequests = append(out.SupportRequests, supportRequestPB(r))
	}
	return out, nil
}

func supportRequestPB(r support.Request) *ordersv1.SupportRequest {
	return &ordersv1.SupportRequest{
		SupportRequestId:    r.ID,
		CustomerId:          r.CustomerID,
		CustomerDomain:      r.CustomerDomain,
		PartnerId:           r.PartnerID,
		OpenedByOrgKind:     auth.ProtoOrgKind(r.OpenedByKind),
		OpenedBy:            r.OpenedBy,
		OrderId:             r.OrderID,
		SubscriptionId:      r.SubscriptionID,
		RefundReason:        pbenum.Value[ordersv1.RefundReason](ordersv1.RefundReason_value, supportReasonPrefix, r.RefundReason),
		RefundReasonDetails: r.ReasonDetails,
		AmountRequested:     &commonv1.Money{AmountMinor: r.Amount.Minor, CurrencyCode: r.Amount.Currency},
		Contact:             &ordersv1.Contact{Name: r.Contact.Name, Email: r.Contact.Email, Phone: r.Contact.Phone},
		Title:               r.Title,
		State:               pbenum.Value[ordersv1.SupportRequestState](ordersv1.SupportRequestState_value, supportStatePrefix, r.State),
		Resolution:          r.Resolution,
		// The etag spells the version as the other services do ("v3").
		Etag:       "v" + strconv.FormatInt(r.Version, 10),
		CreateTime: pbtime.From(r.CreateTime),
		UpdateTime: pbtime.From(r.UpdateTime),
	}
}
