package keys

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// ProductKeys implements redeem.Keys over keys' ProductKeyService: the review's validation and the
// redemption saga's reserve, confirm and release steps (KD-1, KD-2). Validation acts on behalf of
// the caller (svc.OnBehalfOfCaller); reserve, confirm and release are service-only RPCs, called
// with a service token on behalf of the redemption's actor as well (keys requires SERVICE and
// the token is one). Keys go to keys only; they are never put in an error or a log line (KD-8).
type ProductKeys struct {
	client keysv1.ProductKeyServiceClient
}

// NewProductKeys returns the port over a connection to keys (svc.Runtime.DialPeer).
func NewProductKeys(conn grpc.ClientConnInterface) *ProductKeys {
	return &ProductKeys{client: keysv1.NewProductKeyServiceClient(conn)}
}

var _ redeem.Keys = (*ProductKeys)(nil)

// Validate implements redeem.Keys with ValidateProductKeys: one verdict per key in request order,
// with the card's SKU, seats and term when the key is known.
func (p *ProductKeys) Validate(ctx context.Context, keys []string) ([]domain.KeyVerdict, error) {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := p.client.ValidateProductKeys(ctx, &keysv1.ValidateProductKeysRequest{ProductKeys: keys})
	if err != nil {
		return nil, fmt.Errorf("keys ValidateProductKeys (%d keys): %w", len(keys), errs.FromError(err))
	}
	out := make([]domain.KeyVerdict, len(keys))
	for i := range out {
		out[i] = domain.KeyVerdict{Index: i, Status: domain.KeyMalformed}
	}
	for _, r := range resp.GetResults() {
		i := int(r.GetIndex())
		if i < 0 || i >= len(out) {
			return nil, errs.Unexpected(fmt.Errorf("keys ValidateProductKeys: verdict for index %d of %d keys", i, len(keys)))
		}
		v := domain.KeyVerdict{Index: i, Masked: r.GetMaskedKey(), Status: keyStatus(r.GetStatus())}
		if c := r.GetKeyCard(); c != nil {
			v.SkuID, v.Seats, v.Term = c.GetSkuId(), c.GetSeats(), domain.Term(strings.ToUpper(c.GetTermDuration()))
			if v.Masked == "" {
				v.Masked = c.GetMaskedKey()
			}
		}
		out[i] = v
	}
	return out, nil
}

// keyStatus maps keys' verdict; an unset or unknown verdict counts as malformed (never valid).
func keyStatus(s keysv1.KeyValidationStatus) domain.KeyStatus {
	switch s {
	case keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_VALID:
		return domain.KeyValid
	case keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_UNKNOWN:
		return domain.KeyUnknown
	case keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_REDEEMED:
		return domain.KeyRedeemed
	case keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_RESERVED:
		return domain.KeyReserved
	case keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_DUPLICATE:
		return domain.KeyDuplicate
	}
	return domain.KeyMalformed
}

// Reserve implements redeem.Keys with ReserveProductKeys (all or nothing, held for ttl).
func (p *ProductKeys) Reserve(ctx context.Context, requestID, redemptionID string, keys []string, ttl time.Duration) (redeem.Reservation, error) {
	req := &keysv1.ReserveProductKeysRequest{RequestId: requestID, RedemptionId: redemptionID, ProductKeys: keys}
	if ttl > 0 {
		req.Ttl = durationpb.New(ttl)
	}
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := p.client.ReserveProductKeys(ctx, req)
	if err != nil {
		return redeem.Reservation{}, fmt.Errorf("keys ReserveProductKeys %s: %w", requestID, errs.FromError(err))
	}
	r := resp.GetReservation()
	return redeem.Reservation{ID: r.GetReservationId(), ExpireTime: r.GetExpireTime().AsTime()}, nil
}

// Confirm implements redeem.Keys with ConfirmRedemption (KD-1: the cards become REDEEMED).
func (p *ProductKeys) Confirm(ctx context.Context, requestID, reservationID, customerID, subscriptionID string) error {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	_, err := p.client.ConfirmRedemption(ctx, &keysv1.ConfirmRedemptionRequest{RequestId: requestID,
		ReservationId: reservationID, CustomerId: customerID, SubscriptionId: subscriptionID})
	if err != nil {
		return fmt.Errorf("keys ConfirmRedemption %s: %w", reservationID, errs.FromError(err))
	}
	return nil
}

// Release implements redeem.Keys with ReleaseReservation (a no-op for a released or lapsed one).
func (p *ProductKeys) Release(ctx context.Context, requestID, reservationID string) error {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	_, err := p.client.ReleaseReservation(ctx, &keysv1.ReleaseReservationRequest{RequestId: requestID,
		ReservationId: reservationID})
	if err != nil {
		return fmt.Errorf("keys ReleaseReservation %s: %w", reservationID, errs.FromError(err))
	}
	return nil
}
