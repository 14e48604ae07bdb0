package pbconv_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/services/keys/internal/app"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
	"github.com/partnerhub/partnerhub/services/keys/internal/pbconv"
)

// Every key card state, reservation state and verdict of the domain has its contract value, and
// the contract has no more.
func TestCardEnums(t *testing.T) {
	for _, s := range domain.CardStates() {
		if pb := pbconv.CardStatePB(s); pb == 0 || pbconv.CardState(pb) != s {
			t.Errorf("card state %s ⇄ %v", s, pb)
		}
	}
	if pbconv.CardState(keysv1.KeyCardState_KEY_CARD_STATE_UNSPECIFIED) != "" || len(keysv1.KeyCardState_value)-1 != len(domain.CardStates()) {
		t.Error("card states")
	}
	rs := []domain.ReservationState{domain.ReservationHeld, domain.ReservationConfirmed, domain.ReservationReleased, domain.ReservationExpired}
	for _, s := range rs {
		if pbconv.ReservationStatePB(s) == 0 {
			t.Errorf("reservation state %s has no contract value", s)
		}
	}
	ks := []domain.KeyStatus{domain.KeyValid, domain.KeyMalformed, domain.KeyUnknown, domain.KeyRedeemed, domain.KeyReserved,
		domain.KeyDuplicate}
	for _, s := range ks {
		if pbconv.KeyStatusPB(s) == 0 {
			t.Errorf("verdict %s has no contract value", s)
		}
	}
	if len(keysv1.ReservationState_value)-1 != len(rs) || len(keysv1.KeyValidationStatus_value)-1 != len(ks) {
		t.Error("the contract has other reservation states or verdicts than the domain")
	}
}

// A key card maps with its key masked only: no sealed value, no lookup value; the reservation
// shows while the card is RESERVED.
func TestKeyCardPB(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := domain.KeyCard{Card: domain.Card{ID: "c1", State: domain.CardRedeemed, ReservationID: "r1", RedeemTime: now},
		PartnerID: "p1", SkuID: "sku", Seats: 5, Term: domain.TermP1Y, BatchID: "b1", Masked: "*****-*****-*****-*****-7QX4M",
		Sealed: "k1:secret", Lookup: "abcdef", RedemptionID: "red1", SubscriptionID: "s1", CustomerID: "cu1", Version: 3,
		CreateTime: now, UpdateTime: now}
	want := &keysv1.KeyCard{KeyCardId: "c1", MaskedKey: "*****-*****-*****-*****-7QX4M", PartnerId: "p1", SkuId: "sku", Seats: 5,
		TermDuration: "P1Y", State: keysv1.KeyCardState_KEY_CARD_STATE_REDEEMED, BatchId: "b1", RedemptionId: "red1",
		SubscriptionId: "s1", CustomerId: "cu1", RedeemTime: timestamppb.New(now), Etag: "v3", CreateTime: timestamppb.New(now),
		UpdateTime: timestamppb.New(now)}
	if got := pbconv.KeyCardPB(c); !proto.Equal(got, want) {
		t.Errorf("KeyCardPB =\n%v\nwant\n%v", got, want)
	}
	c.Card = domain.Card{ID: "c1", State: domain.CardReserved, ReservationID: "r2", ReserveExpiry: now}
	if got := pbconv.KeyCardPB(c); got.GetReservationId() != "r2" || got.GetRedeemTime() != nil {
		t.Errorf("reserved card %v", got)
	}
	vs, all := pbconv.ValidationsPB([]app.KeyValidation{{Index: 0, Masked: c.Masked, Status: domain.KeyValid, Card: c, Known: true},
		{Index: 1, Status: domain.KeyMalformed}})
	if all || len(vs) != 2 || vs[0].GetKeyCard().GetKeyCardId() != "c1" || vs[1].GetKeyCard() != nil || vs[1].GetIndex() != 1 {
		t.Errorf("ValidationsPB = %v, %v", vs, all)
	}
	if _, all := pbconv.ValidationsPB([]app.KeyValidation{{Status: domain.KeyValid}}); !all {
		t.Error("one VALID verdict is not all valid")
	}
}
