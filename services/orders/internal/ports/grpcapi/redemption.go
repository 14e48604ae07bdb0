package grpcapi

import (
	"context"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// RedemptionApp is what RedemptionServer needs of the key redemption use case (app/redeem's
// *Service).
type RedemptionApp interface {
	Validate(ctx context.Context, keys []string, target domain.RedemptionTarget) (domain.Review, error)
	Redeem(ctx context.Context, requestID string, keys []string, target domain.RedemptionTarget, reviewEtag string) (domain.Redemption, error)
	Get(ctx context.Context, id string) (domain.Redemption, error)
}

// RedemptionServer implements partnerhub.orders.v1.RedemptionService (KD-1, KD-2, SU-4): it maps
// the contract onto the redemption use case and back; every rule is in app/redeem and the
// domain. Keys are passed through, never echoed: responses carry them masked (KD-8).
type RedemptionServer struct {
	ordersv1.UnimplementedRedemptionServiceServer
	app RedemptionApp
}

// NewRedemptionServer returns the service over the redemption use case. Register it with
// ordersv1.RegisterRedemptionServiceServer (or Servers.Redemption).
func NewRedemptionServer(app RedemptionApp) *RedemptionServer { return &RedemptionServer{app: app} }

// The enum prefixes of the contract; the domain names values without them.
const (
	redemptionKindPrefix   = "REDEMPTION_KIND_"
	redemptionStatePrefix  = "REDEMPTION_STATE_"
	redemptionReasonPrefix = "ERROR_REASON_"
	redemptionTermPrefix   = "TERM_"
)

// redemptionTargetRequest is the oneof target of both requests.
type redemptionTargetRequest interface {
	GetNewTenant() *ordersv1.NewTenant
	GetCustomerId() string
	GetAddSeatsSubscriptionId() string
	GetRenewSubscriptionId() string
}

// redemptionTargetOf maps the request's target; an unset oneof is the zero target, which the use case
// refuses (INVALID_REQUEST on "target").
func redemptionTargetOf(req redemptionTargetRequest) domain.RedemptionTarget {
	switch {
	case req.GetNewTenant() != nil:
		nt := req.GetNewTenant()
		a := nt.GetAdmin()
		return domain.RedemptionTarget{Kind: domain.RedeemNewTenant, NewTenant: &domain.NewTenant{
			OrganisationName: nt.GetOrganisationName(), CountryCode: nt.GetCountryCode(), DefaultDomain: nt.GetDefaultDomain(),
			Admin: domain.TenantAdmin{GivenName: a.GetGivenName(), FamilyName: a.GetFamilyName(), UserName: a.GetUserName(),
				ContactEmail: a.GetContactEmail()}}}
	case req.GetCustomerId() != "":
		return domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: req.GetCustomerId()}
	case req.GetAddSeatsSubscriptionId() != "":
		return domain.RedemptionTarget{Kind: domain.RedeemAddSeats, SubscriptionID: req.GetAddSeatsSubscriptionId()}
	case req.GetRenewSubscriptionId() != "":
		return domain.RedemptionTarget{Kind: domain.RedeemRenewal, SubscriptionID: req.GetRenewSubscriptionId()}
	}
	return domain.RedemptionTarget{}
}

// ValidateProductKeys implements ordersv1.RedemptionServiceServer: the review step (KD-2).
func (s *RedemptionServer) ValidateProductKeys(ctx context.Context, req *ordersv1.ValidateProductKeysRequest) (*ordersv1.ValidateProductKeysResponse, error) {
	rv, err := s.app.Validate(ctx, req.GetProductKeys(), redemptionTargetOf(req))
	if err != nil {
		return nil, err
	}
	out := &ordersv1.ValidateProductKeysResponse{Valid: rv.Valid(),
		Kind: pbenum.Value[ordersv1.RedemptionKind](ordersv1.RedemptionKind_value, redemptionKindPrefix, rv.Kind),
		Keys: redemptionKeysPB(rv.Keys), Problems: redemptionProblemsPB(rv.Problems),
		ReviewEtag: rv.Etag, ReviewTime: pbtime.From(rv.Time)}
	for _, o := range rv.Outcomes {
		out.Outcomes = append(out.Outcomes, redemptionOutcomePB(o))
	}
	return out, nil
}

// RedeemProductKeys implements ordersv1.RedemptionServiceServer: the redemption COMPLETED, FAILED
// or, when the saga outlasts the wait, PROCESSING (KD-1, KD-2, SU-4).
func (s *RedemptionServer) RedeemProductKeys(ctx context.Context, req *ordersv1.RedeemProductKeysRequest) (*ordersv1.RedeemProductKeysResponse, error) {
	r, err := s.app.Redeem(ctx, req.GetRequestId(), req.GetProductKeys(), redemptionTargetOf(req), req.GetReviewEtag())
	if err != nil {
		return nil, err
	}
	return &ordersv1.RedeemProductKeysResponse{Redemption: redemptionPB(r)}, nil
}

// GetRedemption implements ordersv1.RedemptionServiceServer.
func (s *RedemptionServer) GetRedemption(ctx context.Context, req *ordersv1.GetRedemptionRequest) (*ordersv1.GetRedemptionResponse, error) {
	r, err := s.app.Get(ctx, req.GetRedemptionId())
	if err != nil {
		return nil, err
	}
	return &ordersv1.GetRedemptionResponse{Redemption: redemptionPB(r)}, nil
}

func redemptionPB(r domain.Redemption) *ordersv1.Redemption {
	out := &ordersv1.Redemption{RedemptionId: r.ID, PartnerId: r.PartnerID, CustomerId: r.CustomerID,
		Kind:          pbenum.Value[ordersv1.RedemptionKind](ordersv1.RedemptionKind_value, redemptionKindPrefix, r.Kind),
		State:         pbenum.Value[ordersv1.RedemptionState](ordersv1.RedemptionState_value, redemptionStatePrefix, r.State),
		TenantCreated: r.TenantCreated, Keys: redemptionKeysPB(r.Keys), Etag: r.Etag(),
		CreateTime: pbtime.From(r.CreateTime), UpdateTime: pbtime.From(r.UpdateTime), CompleteTime: pbtime.From(r.CompleteTime)}
	for _, o := range r.Outcomes {
		out.Outcomes = append(out.Outcomes, redemptionOutcomePB(o))
	}
	if f := r.Failure; f != nil {
		out.Failure = &ordersv1.Failure{Reason: redemptionReasonPB(string(f.Reason)), Message: f.Message, Metadata: f.Metadata,
			Step: string(f.Step)}
	}
	return out
}

func redemptionKeysPB(ks []domain.KeyReview) []*ordersv1.KeyReview {
	out := make([]*ordersv1.KeyReview, 0, len(ks))
	for _, k := range ks {
		out = append(out, &ordersv1.KeyReview{Index: int32(k.Index), MaskedKey: k.Masked, Valid: k.Valid(), SkuId: k.SkuID,
			DisplayName: k.DisplayName, Seats: k.Seats,
			Term:     pbenum.Value[catalogv1.Term](catalogv1.Term_value, redemptionTermPrefix, k.Term),
			Problems: redemptionProblemsPB(k.Problems)})
	}
	return out
}

func redemptionProblemsPB(ps []domain.Problem) []*ordersv1.Problem {
	var out []*ordersv1.Problem
	for _, p := range ps {
		out = append(out, &ordersv1.Problem{Reason: redemptionReasonPB(string(p.Reason)), Field: p.Field, Message: p.Message,
			Metadata: p.Metadata})
	}
	return out
}

func redemptionReasonPB(r string) commonv1.ErrorReason {
	return pbenum.Value[commonv1.ErrorReason](commonv1.ErrorReason_value, redemptionReasonPrefix, r)
}

func redemptionOutcomePB(o domain.Outcome) *ordersv1.SubscriptionOutcome {
	return &ordersv1.SubscriptionOutcome{SubscriptionId: o.SubscriptionID, SkuId: o.SkuID,
		Kind:  pbenum.Value[ordersv1.RedemptionKind](ordersv1.RedemptionKind_value, redemptionKindPrefix, o.Kind),
		Seats: o.Seats, TotalQuantity: o.TotalQuantity, TermStartTime: pbtime.From(o.TermStart), TermEndTime: pbtime.From(o.TermEnd),
		DaysForfeited: o.DaysForfeited}
}
