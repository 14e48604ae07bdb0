package grpcapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/services/keys/internal/domain"
)

var salesAgent = auth.Principal{Subject: "u-sales", OrgID: partnerID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.SalesAgent}}

// service is a partnerhub service acting on its own account (the redemption saga).
func (s *stack) service() context.Context {
	return s.as(auth.Principal{Subject: "svc_orders", OrgID: "partnerhub", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}})
}

func mintRequest(count int32) *keysv1.MintKeyCardsRequest {
	return &keysv1.MintKeyCardsRequest{RequestId: uuid.NewString(), PartnerId: partnerID, SkuId: "CFQ7TTC0LH18:0001", Seats: 5,
		TermDuration: "P1Y", Count: count}
}

func (s *stack) mint(count int32) []*keysv1.KeyCard {
	s.t.Helper()
	resp, err := s.products.MintKeyCards(s.as(adminAgent), mintRequest(count))
	if err != nil {
		s.t.Fatalf("MintKeyCards: %v", err)
	}
	return resp.GetKeyCards()
}

// keysOf reveals the cards' keys as the partner's Admin agent.
func (s *stack) keysOf(cards []*keysv1.KeyCard) []string {
	s.t.Helper()
	var out []string
	for _, c := range cards {
		r, err := s.ents.RevealKey(s.as(adminAgent), &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: c.GetKeyCardId()})
		if err != nil {
			s.t.Fatalf("RevealKey(%s): %v", c.GetKeyCardId(), err)
		}
		out = append(out, r.GetKey())
	}
	return out
}

func (s *stack) reserve(keys ...string) *keysv1.KeyReservation {
	s.t.Helper()
	resp, err := s.products.ReserveProductKeys(s.service(), &keysv1.ReserveProductKeysRequest{RequestId: uuid.NewString(),
		RedemptionId: uuid.NewString(), ProductKeys: keys})
	if err != nil {
		s.t.Fatalf("ReserveProductKeys: %v", err)
	}
	return resp.GetReservation()
}

// errorMetadata is the ErrorInfo metadata of an error.
func errorMetadata(err error) map[string]string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()
		}
	}
	return nil
}

func statusesOf(resp *keysv1.ValidateProductKeysResponse) []keysv1.KeyValidationStatus {
	var out []keysv1.KeyValidationStatus
	for _, r := range resp.GetResults() {
		out = append(out, r.GetStatus())
	}
	return out
}

// An Open partner's Admin agent mints key cards and reveals their keys; a customer validates typed
// keys (the review step); the redemption saga reserves, confirms, releases; a lapsed reservation
// cannot be confirmed; the contract's access rules apply before the handler (KD-1, KD-2, ID-1).
func TestServer_KeyCardRedemptionFlow(t *testing.T) {
	s := newStack(t)
	minted, err := s.products.MintKeyCards(s.as(adminAgent), mintRequest(3))
	if err != nil {
		t.Fatal(err)
	}
	cards := minted.GetKeyCards()
	if minted.GetBatchId() == "" || len(cards) != 3 {
		t.Fatalf("minted %v", minted)
	}
	for _, c := range cards {
		if c.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_AVAILABLE || c.GetBatchId() != minted.GetBatchId() ||
			c.GetPartnerId() != partnerID || c.GetSeats() != 5 || c.GetTermDuration() != "P1Y" || c.GetEtag() != "v1" ||
			!strings.HasPrefix(c.GetMaskedKey(), "*****-*****-*****-*****-") || len(c.GetMaskedKey()) != 29 ||
			c.GetReservationId() != "" || c.GetRedeemTime() != nil || !c.GetCreateTime().AsTime().Equal(t0) {
			t.Errorf("minted card %v", c)
		}
	}
	// The contract's rules and the use case's: roles, tenancy, Open enrolment, bounds.
	_, err = s.products.MintKeyCards(s.as(salesAgent), mintRequest(1))
	wantStatus(t, err, codes.PermissionDenied, "ROLE_REQUIRED")
	other := mintRequest(1)
	other.PartnerId = uuid.NewString()
	_, err = s.products.MintKeyCards(s.as(adminAgent), other)
	wantStatus(t, err, codes.PermissionDenied, "TENANT_MISMATCH")
	_, err = s.products.MintKeyCards(s.service(), other)
	wantStatus(t, err, codes.FailedPrecondition, "PROGRAM_NOT_ENROLLED")
	_, err = s.products.MintKeyCards(s.as(adminAgent), mintRequest(1001))
	wantField(t, err, "count")
	bad := mintRequest(1)
	bad.TermDuration = "P2Y"
	_, err = s.products.MintKeyCards(s.as(adminAgent), bad)
	wantField(t, err, "term_duration")

	// Only the owner's Admin agent reveals a card's key (KD-3), as a PRODUCT_KEY_CARD.
	rev, err := s.ents.RevealKey(s.as(adminAgent), &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: cards[0].GetKeyCardId()})
	if err != nil {
		t.Fatal(err)
	}
	if k, err := domain.ParseKey(rev.GetKey()); err != nil || k.Masked() != cards[0].GetMaskedKey() ||
		rev.GetKeyType() != keysv1.KeyType_KEY_TYPE_PRODUCT_KEY_CARD || rev.GetEntitlementId() != "" || rev.GetActivityId() == "" {
		t.Fatalf("RevealKey of a card: %v (%v)", []string{rev.GetKeyType().String(), rev.GetEntitlementId(), rev.GetActivityId()}, err)
	}
	_, err = s.ents.RevealKey(s.as(customerAdmin), &keysv1.RevealKeyRequest{RequestId: uuid.NewString(), KeyId: cards[0].GetKeyCardId()})
	wantStatus(t, err, codes.PermissionDenied, "ROLE_REQUIRED")
	keys := s.keysOf(cards)

	// The review step: a verdict per key, in order.
	loose := strings.ToLower(strings.ReplaceAll(keys[0], "-", " "))
	mistyped := "Y" + keys[1][1:]
	if keys[1][0] == 'Y' {
		mistyped = "X" + keys[1][1:]
	}
	unknown, _ := domain.GenerateKey(strings.NewReader(strings.Repeat("\x01\x02\x03", 100)))
	v, err := s.products.ValidateProductKeys(s.as(customerAdmin), &keysv1.ValidateProductKeysRequest{
		ProductKeys: []string{loose, mistyped, keys[0], unknown.Reveal(), keys[2]}})
	if err != nil {
		t.Fatal(err)
	}
	want := []keysv1.KeyValidationStatus{keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_VALID,
		keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_MALFORMED, keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_DUPLICATE,
		keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_UNKNOWN, keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_VALID}
	if got := statusesOf(v); len(got) != len(want) || v.GetAllValid() {
		t.Fatalf("verdicts %v (all valid %v), want %v", got, v.GetAllValid(), want)
	} else {
		for i := range want {
			if got[i] != want[i] || v.GetResults()[i].GetIndex() != int32(i) {
				t.Errorf("verdict %d: %v, want %v", i, v.GetResults()[i], want[i])
			}
		}
	}
	if r := v.GetResults()[0]; r.GetMaskedKey() != cards[0].GetMaskedKey() || r.GetKeyCard().GetKeyCardId() != cards[0].GetKeyCardId() {
		t.Errorf("verdict on a known key %v", r)
	}
	if r := v.GetResults()[1]; r.GetMaskedKey() != "" || r.GetKeyCard() != nil {
		t.Errorf("verdict on a malformed key %v", r)
	}
	if strings.Contains(v.String(), keys[0]) || strings.Contains(v.String(), strings.ReplaceAll(keys[0], "-", "")) {
		t.Error("a verdict holds a whole key")
	}
	if ok, err := s.products.ValidateProductKeys(s.as(customerAdmin), &keysv1.ValidateProductKeysRequest{ProductKeys: keys}); err != nil ||
		!ok.GetAllValid() {
		t.Errorf("all valid: %v, %v", ok, err)
	}
	_, err = s.products.ValidateProductKeys(s.as(customerAdmin), &keysv1.ValidateProductKeysRequest{})
	wantField(t, err, "product_keys")

	// Reserve, service only; all or nothing, refusals name the key's index.
	_, err = s.products.ReserveProductKeys(s.as(adminAgent), &keysv1.ReserveProductKeysRequest{RequestId: uuid.NewString(),
		RedemptionId: uuid.NewString(), ProductKeys: keys[:1]})
	wantStatus(t, err, codes.PermissionDenied, "SERVICE_TOKEN_REQUIRED")
	resv, err := s.products.ReserveProductKeys(s.service(), &keysv1.ReserveProductKeysRequest{RequestId: uuid.NewString(),
		RedemptionId: uuid.NewString(), ProductKeys: []string{loose, keys[1]}, Ttl: durationpb.New(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	r := resv.GetReservation()
	if r.GetState() != keysv1.ReservationState_RESERVATION_STATE_HELD || !r.GetExpireTime().AsTime().Equal(t0.Add(10*time.Minute)) ||
		len(r.GetKeyCards()) != 2 || r.GetEtag() != "v1" {
		t.Fatalf("reservation %v", r)
	}
	for _, c := range r.GetKeyCards() {
		if c.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_RESERVED || c.GetReservationId() != r.GetReservationId() {
			t.Errorf("reserved card %v", c)
		}
	}
	_, err = s.products.ReserveProductKeys(s.service(), &keysv1.ReserveProductKeysRequest{RequestId: uuid.NewString(),
		RedemptionId: uuid.NewString(), ProductKeys: []string{keys[2], keys[0]}})
	wantStatus(t, err, codes.FailedPrecondition, "KEY_RESERVED")
	if md := errorMetadata(err); md["index"] != "1" || md["key_card_id"] != cards[0].GetKeyCardId() {
		t.Errorf("KEY_RESERVED metadata %v", md)
	}
	_, err = s.products.ReserveProductKeys(s.service(), &keysv1.ReserveProductKeysRequest{RequestId: uuid.NewString(),
		RedemptionId: uuid.NewString(), ProductKeys: []string{keys[2], mistyped}})
	wantField(t, err, "product_keys[1]")
	wantStatus(t, err, codes.InvalidArgument, "KEY_MALFORMED")
	_, err = s.products.ReserveProductKeys(s.service(), &keysv1.ReserveProductKeysRequest{RequestId: uuid.NewString(),
		RedemptionId: uuid.NewString(), ProductKeys: []string{unknown.Reveal()}})
	wantStatus(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
	_, err = s.products.ReserveProductKeys(s.service(), &keysv1.ReserveProductKeysRequest{RequestId: uuid.NewString(),
		RedemptionId: uuid.NewString(), ProductKeys: keys[2:], Ttl: durationpb.New(2 * time.Hour)})
	wantField(t, err, "ttl")

	// Confirm: the cards REDEEMED for good, with the subscription; a retry is a no-op success.
	s.tick()
	sub := uuid.NewString()
	confirm := &keysv1.ConfirmRedemptionRequest{RequestId: uuid.NewString(), ReservationId: r.GetReservationId(),
		CustomerId: customerID, SubscriptionId: sub}
	conf, err := s.products.ConfirmRedemption(s.service(), confirm)
	if err != nil {
		t.Fatal(err)
	}
	cr := conf.GetReservation()
	if cr.GetState() != keysv1.ReservationState_RESERVATION_STATE_CONFIRMED || cr.GetEtag() != "v2" {
		t.Fatalf("confirmed %v", cr)
	}
	for _, c := range cr.GetKeyCards() {
		if c.GetState() != keysv1.KeyCardState_KEY_CARD_STATE_REDEEMED || c.GetSubscriptionId() != sub || c.GetCustomerId() != customerID ||
			c.GetRedemptionId() != r.GetRedemptionId() || c.GetReservationId() != "" || !c.GetRedeemTime().AsTime().Equal(t0.Add(time.Second)) {
			t.Errorf("redeemed card %v", c)
		}
	}
	confirm.RequestId = uuid.NewString()
	if again, err := s.products.ConfirmRedemption(s.service(), confirm); err != nil || again.GetReservation().GetEtag() != "v2" {
		t.Errorf("confirming again %v, %v", again, err)
	}
	_, err = s.products.ReleaseReservation(s.service(), &keysv1.ReleaseReservationRequest{RequestId: uuid.NewString(),
		ReservationId: r.GetReservationId()})
	wantStatus(t, err, codes.FailedPrecondition, "RESERVATION_NOT_ACTIVE")
	_, err = s.products.ConfirmRedemption(s.service(), &keysv1.ConfirmRedemptionRequest{RequestId: uuid.NewString(),
		ReservationId: uuid.NewString(), CustomerId: customerID, SubscriptionId: sub})
	wantStatus(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
	_, err = s.products.ReserveProductKeys(s.service(), &keysv1.ReserveProductKeysRequest{RequestId: uuid.NewString(),
		RedemptionId: uuid.NewString(), ProductKeys: keys[:1]})
	wantStatus(t, err, codes.FailedPrecondition, "KEY_ALREADY_REDEEMED")

	// Release gives the card back; a lapsed reservation cannot be confirmed and releases as EXPIRED.
	held := s.reserve(keys[2])
	rel, err := s.products.ReleaseReservation(s.service(), &keysv1.ReleaseReservationRequest{RequestId: uuid.NewString(),
		ReservationId: held.GetReservationId()})
	if err != nil || rel.GetReservation().GetState() != keysv1.ReservationState_RESERVATION_STATE_RELEASED ||
		rel.GetReservation().GetKeyCards()[0].GetState() != keysv1.KeyCardState_KEY_CARD_STATE_AVAILABLE {
		t.Fatalf("released %v, %v", rel, err)
	}
	lapsing := s.reserve(keys[2])
	if _, err := s.clock.Advance(domain.DefaultReservationTTL); err != nil {
		t.Fatal(err)
	}
	_, err = s.products.ConfirmRedemption(s.service(), &keysv1.ConfirmRedemptionRequest{RequestId: uuid.NewString(),
		ReservationId: lapsing.GetReservationId(), CustomerId: customerID, SubscriptionId: sub})
	wantStatus(t, err, codes.FailedPrecondition, "RESERVATION_EXPIRED")
	exp, err := s.products.ReleaseReservation(s.service(), &keysv1.ReleaseReservationRequest{RequestId: uuid.NewString(),
		ReservationId: lapsing.GetReservationId()})
	if err != nil || exp.GetReservation().GetState() != keysv1.ReservationState_RESERVATION_STATE_EXPIRED {
		t.Errorf("releasing a lapsed reservation %v, %v", exp, err)
	}

	// The partner's list: newest first, by state; the cards' keys masked.
	list, err := s.products.ListKeyCards(s.as(salesAgent), &keysv1.ListKeyCardsRequest{State: keysv1.KeyCardState_KEY_CARD_STATE_REDEEMED})
	if err != nil || len(list.GetKeyCards()) != 2 {
		t.Fatalf("redeemed cards %v, %v", list, err)
	}
	avail, err := s.products.ListKeyCards(s.as(adminAgent), &keysv1.ListKeyCardsRequest{BatchId: minted.GetBatchId(),
		State: keysv1.KeyCardState_KEY_CARD_STATE_AVAILABLE})
	if err != nil || len(avail.GetKeyCards()) != 1 || avail.GetKeyCards()[0].GetKeyCardId() != cards[2].GetKeyCardId() {
		t.Errorf("available cards %v, %v", avail, err)
	}
	_, err = s.products.ListKeyCards(s.as(adminAgent), &keysv1.ListKeyCardsRequest{State: 9})
	wantField(t, err, "state")
	_, err = s.products.ListKeyCards(s.as(globalAdmin), &keysv1.ListKeyCardsRequest{})
	wantStatus(t, err, codes.PermissionDenied, "ROLE_REQUIRED")
	if strings.Contains(list.String(), keys[0]) {
		t.Error("the list holds a whole key")
	}
}
