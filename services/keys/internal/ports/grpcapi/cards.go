package grpcapi

import (
	"context"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/pbconv"
)

// MintKeyCards implements keysv1.ProductKeyServiceServer.
func (s *Server) MintKeyCards(ctx context.Context, req *keysv1.MintKeyCardsRequest) (*keysv1.MintKeyCardsResponse, error) {
	b, err := s.app.MintKeyCards(ctx, app.MintInput{RequestID: req.GetRequestId(), PartnerID: req.GetPartnerId(),
		SkuID: req.GetSkuId(), Seats: req.GetSeats(), Term: req.GetTermDuration(), Count: req.GetCount()})
	if err != nil {
		return nil, err
	}
	return &keysv1.MintKeyCardsResponse{BatchId: b.ID, KeyCards: pbconv.KeyCardsPB(b.Cards)}, nil
}

// ListKeyCards implements keysv1.ProductKeyServiceServer.
func (s *Server) ListKeyCards(ctx context.Context, req *keysv1.ListKeyCardsRequest) (*keysv1.ListKeyCardsResponse, error) {
	cards, next, err := s.app.ListKeyCards(ctx, app.KeyCardsInput{PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
		State: pbconv.CardState(req.GetState()), BatchID: req.GetBatchId(), SkuID: req.GetSkuId()})
	if err != nil {
		return nil, err
	}
	return &keysv1.ListKeyCardsResponse{KeyCards: pbconv.KeyCardsPB(cards), NextPageToken: next}, nil
}

// ValidateProductKeys implements keysv1.ProductKeyServiceServer.
func (s *Server) ValidateProductKeys(ctx context.Context, req *keysv1.ValidateProductKeysRequest) (*keysv1.ValidateProductKeysResponse, error) {
	vs, err := s.app.ValidateProductKeys(ctx, req.GetProductKeys())
	if err != nil {
		return nil, err
	}
	results, all := pbconv.ValidationsPB(vs)
	return &keysv1.ValidateProductKeysResponse{Results: results, AllValid: all}, nil
}

// ReserveProductKeys implements keysv1.ProductKeyServiceServer.
func (s *Server) ReserveProductKeys(ctx context.Context, req *keysv1.ReserveProductKeysRequest) (*keysv1.ReserveProductKeysResponse, error) {
	ttl, err := pbconv.Duration("ttl", req.GetTtl())
	if err != nil {
		return nil, err
	}
	r, err := s.app.ReserveProductKeys(ctx, app.ReserveInput{RequestID: req.GetRequestId(), RedemptionID: req.GetRedemptionId(),
		Keys: req.GetProductKeys(), TTL: ttl})
	if err != nil {
		return nil, err
	}
	return &keysv1.ReserveProductKeysResponse{Reservation: pbconv.ReservationPB(r)}, nil
}

// ConfirmRedemption implements keysv1.ProductKeyServiceServer.
func (s *Server) ConfirmRedemption(ctx context.Context, req *keysv1.ConfirmRedemptionRequest) (*keysv1.ConfirmRedemptionResponse, error) {
	r, err := s.app.ConfirmRedemption(ctx, app.ConfirmInput{RequestID: req.GetRequestId(), ReservationID: req.GetReservationId(),
		CustomerID: req.GetCustomerId(), SubscriptionID: req.GetSubscriptionId()})
	if err != nil {
		return nil, err
	}
	return &keysv1.ConfirmRedemptionResponse{Reservation: pbconv.ReservationPB(r)}, nil
}

// ReleaseReservation implements keysv1.ProductKeyServiceServer.
func (s *Server) ReleaseReservation(ctx context.Context, req *keysv1.ReleaseReservationRequest) (*keysv1.ReleaseReservationResponse, error) {
	r, err := s.app.ReleaseReservation(ctx, app.ReleaseInput{RequestID: req.GetRequestId(), ReservationID: req.GetReservationId()})
	if err != nil {
		return nil, err
	}
	return &keysv1.ReleaseReservationResponse{Reservation: pbconv.ReservationPB(r)}, nil
}
