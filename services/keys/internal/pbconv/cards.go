package pbconv

import (
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/pbtime"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

// CardState maps a key card state filter; UNSPECIFIED is "" (any state), an unknown number its
// digits (which the use case refuses).
func CardState(s keysv1.KeyCardState) domain.CardState {
	return pbenum.Name[domain.CardState](s, "KEY_CARD_STATE_")
}

// CardStatePB maps a key card state.
func CardStatePB(s domain.CardState) keysv1.KeyCardState {
	return pbenum.Value[keysv1.KeyCardState](keysv1.KeyCardState_value, "KEY_CARD_STATE_", s)
}

// ReservationStatePB maps a reservation state.
func ReservationStatePB(s domain.ReservationState) keysv1.ReservationState {
	return pbenum.Value[keysv1.ReservationState](keysv1.ReservationState_value, "RESERVATION_STATE_", s)
}

// KeyStatusPB maps a key verdict.
func KeyStatusPB(s domain.KeyStatus) keysv1.KeyValidationStatus {
	return pbenum.Value[keysv1.KeyValidationStatus](keysv1.KeyValidationStatus_value, "KEY_VALIDATION_STATUS_", s)
}

// KeyCardPB maps a key card as a use case returned it (KeyCard.At: a lapsed hold already gone),
// its key masked (KD-8): never the sealed value, never the lookup value, never a whole key. The
// reservation shows while the card is RESERVED, the redemption once it is REDEEMED.
func KeyCardPB(c domain.KeyCard) *keysv1.KeyCard {
	pb := &keysv1.KeyCard{
		KeyCardId:      c.ID,
		MaskedKey:      c.Masked,
		PartnerId:      c.PartnerID,
		SkuId:          c.SkuID,
		Seats:          c.Seats,
		TermDuration:   string(c.Term),
		State:          CardStatePB(c.State),
		BatchId:        c.BatchID,
		RedemptionId:   c.RedemptionID,
		SubscriptionId: c.SubscriptionID,
		CustomerId:     c.CustomerID,
		RedeemTime:     pbtime.From(c.RedeemTime),
		Etag:           version(c.Version),
		CreateTime:     pbtime.From(c.CreateTime),
		UpdateTime:     pbtime.From(c.UpdateTime),
	}
	if c.State == domain.CardReserved {
		pb.ReservationId = c.ReservationID
	}
	return pb
}

// KeyCardsPB maps key cards.
func KeyCardsPB(cs []domain.KeyCard) []*keysv1.KeyCard { return mapPB(cs, KeyCardPB) }

// ReservationPB maps a reservation as a use case returned it (Reservation.At), with its cards.
func ReservationPB(r domain.Reservation) *keysv1.KeyReservation {
	return &keysv1.KeyReservation{
		ReservationId: r.ID,
		RedemptionId:  r.RedemptionID,
		KeyCards:      KeyCardsPB(r.Cards),
		State:         ReservationStatePB(r.State),
		ExpireTime:    pbtime.From(r.ExpireTime),
		Etag:          version(r.Version),
		CreateTime:    pbtime.From(r.CreateTime),
		UpdateTime:    pbtime.From(r.UpdateTime),
	}
}

// ValidationsPB maps the verdicts of ValidateProductKeys, in request order, and whether every one
// is VALID.
func ValidationsPB(vs []app.KeyValidation) ([]*keysv1.KeyValidation, bool) {
	out := make([]*keysv1.KeyValidation, 0, len(vs))
	all := len(vs) > 0
	for _, v := range vs {
		pb := &keysv1.KeyValidation{Index: int32(v.Index), MaskedKey: v.Masked, Status: KeyStatusPB(v.Status)}
		if v.Known {
			pb.KeyCard = KeyCardPB(v.Card)
		}
		all = all && v.Status == domain.KeyValid
		out = append(out, pb)
	}
	return out, all
}
