package grpcapi_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	ordersv1 "github.com/partnerhub/partnerhub/gen/partnerhub/orders/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/redeem"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/internal/ports/grpcapi"
)

// The use case is what the server needs.
var _ grpcapi.RedemptionApp = (*redeem.Service)(nil)

// redemptionApp records what the server passed and answers with the canned values.
type redemptionApp struct {
	keys      []string
	target    domain.RedemptionTarget
	requestID string
	etag      string
	id        string
	review    domain.Review
	red       domain.Redemption
	err       error
}

func (a *redemptionApp) Validate(_ context.Context, keys []string, t domain.RedemptionTarget) (domain.Review, error) {
	a.keys, a.target = keys, t
	return a.review, a.err
}

func (a *redemptionApp) Redeem(_ context.Context, requestID string, keys []string, t domain.RedemptionTarget, etag string) (domain.Redemption, error) {
	a.requestID, a.keys, a.target, a.etag = requestID, keys, t, etag
	return a.red, a.err
}

func (a *redemptionApp) Get(_ context.Context, id string) (domain.Redemption, error) {
	a.id = id
	return a.red, a.err
}

var (
	rdDay0 = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	rdDay1 = time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC)
)

func rdKeys() []domain.KeyReview {
	return []domain.KeyReview{
		{KeyVerdict: domain.KeyVerdict{Index: 0, Masked: "*****-*****-*****-*****-7QX4M", Status: domain.KeyValid,
			SkuID: "CFQ7TTC0LF8R:0001", Seats: 5, Term: domain.TermP1Y}, DisplayName: "Office 365 E3"},
		{KeyVerdict: domain.KeyVerdict{Index: 1, Status: domain.KeyMalformed},
			Problems: []domain.Problem{{Reason: domain.ReasonKeyMalformed, Field: "product_keys[1]", Message: "bad",
				Metadata: map[string]string{"index": "1"}}}},
	}
}

func rdKeysPB() []*ordersv1.KeyReview {
	return []*ordersv1.KeyReview{
		{Index: 0, MaskedKey: "*****-*****-*****-*****-7QX4M", Valid: true, SkuId: "CFQ7TTC0LF8R:0001",
			DisplayName: "Office 365 E3", Seats: 5, Term: catalogv1.Term_TERM_P1Y},
		{Index: 1, Problems: []*ordersv1.Problem{{Reason: commonv1.ErrorReason_ERROR_REASON_KEY_MALFORMED,
			Field: "product_keys[1]", Message: "bad", Metadata: map[string]string{"index": "1"}}}},
	}
}

// KD-2, SU-4: the review maps every key, problem and outcome; the oneof target maps to the
// domain's target.
func TestRedemptionServer_Validate_KD2(t *testing.T) {
	app := &redemptionApp{review: domain.Review{Kind: domain.RedeemRenewal, Keys: rdKeys(),
		Problems: []domain.Problem{{Reason: domain.ReasonRenewalWindowNotOpen, Message: "early",
			Metadata: map[string]string{"opens_at": "2026-05-02T00:00:00Z"}}},
		Outcomes: []domain.Outcome{{SubscriptionID: "sub-1", SkuID: "CFQ7TTC0LF8R:0001", Kind: domain.RedeemRenewal, Seats: 5,
			TotalQuantity: 5, TermStart: rdDay0, TermEnd: rdDay1, DaysForfeited: 20}},
		Time: rdDay0.Add(9 * time.Hour), Etag: "e1"}}
	s := grpcapi.NewRedemptionServer(app)
	resp, err := s.ValidateProductKeys(context.Background(), &ordersv1.ValidateProductKeysRequest{ProductKeys: []string{"k1", "k2"},
		Target: &ordersv1.ValidateProductKeysRequest_RenewSubscriptionId{RenewSubscriptionId: "sub-1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &ordersv1.ValidateProductKeysResponse{Valid: false, Kind: ordersv1.RedemptionKind_REDEMPTION_KIND_RENEWAL,
		Keys: rdKeysPB(), Problems: []*ordersv1.Problem{{Reason: commonv1.ErrorReason_ERROR_REASON_RENEWAL_WINDOW_NOT_OPEN,
			Message: "early", Metadata: map[string]string{"opens_at": "2026-05-02T00:00:00Z"}}},
		Outcomes: []*ordersv1.SubscriptionOutcome{{SubscriptionId: "sub-1", SkuId: "CFQ7TTC0LF8R:0001",
			Kind: ordersv1.RedemptionKind_REDEMPTION_KIND_RENEWAL, Seats: 5, TotalQuantity: 5,
			TermStartTime: timestamppb.New(rdDay0), TermEndTime: timestamppb.New(rdDay1), DaysForfeited: 20}},
		ReviewEtag: "e1", ReviewTime: timestamppb.New(rdDay0.Add(9 * time.Hour))}
	if !proto.Equal(resp, want) {
		t.Errorf("response\n got %v\nwant %v", resp, want)
	}
	if !reflect.DeepEqual(app.keys, []string{"k1", "k2"}) || app.target != (domain.RedemptionTarget{Kind: domain.RedeemRenewal, SubscriptionID: "sub-1"}) {
		t.Errorf("passed %v %+v", app.keys, app.target)
	}
	for _, tc := range []struct {
		req  *ordersv1.ValidateProductKeysRequest
		want domain.RedemptionTarget
	}{
		{&ordersv1.ValidateProductKeysRequest{Target: &ordersv1.ValidateProductKeysRequest_CustomerId{CustomerId: "c1"}},
			domain.RedemptionTarget{Kind: domain.RedeemNewSubscription, CustomerID: "c1"}},
		{&ordersv1.ValidateProductKeysRequest{Target: &ordersv1.ValidateProductKeysRequest_AddSeatsSubscriptionId{AddSeatsSubscriptionId: "s1"}},
			domain.RedemptionTarget{Kind: domain.RedeemAddSeats, SubscriptionID: "s1"}},
		{&ordersv1.ValidateProductKeysRequest{}, domain.RedemptionTarget{}},
	} {
		if _, err := s.ValidateProductKeys(context.Background(), tc.req); err != nil {
			t.Fatal(err)
		}
		if app.target != tc.want {
			t.Errorf("target %+v; want %+v", app.target, tc.want)
		}
	}
}

// KD-2, ID-2: a new tenant redemption maps in, and the redemption maps out with its failure.
func TestRedemptionServer_Redeem_KD2_ID2(t *testing.T) {
	app := &redemptionApp{red: domain.Redemption{ID: "red-1", PartnerID: "p1", CustomerID: "c-new", Kind: domain.RedeemNewTenant,
		State: domain.RedemptionFailed, TenantCreated: true, Keys: rdKeys()[:1],
		Outcomes: []domain.Outcome{{SubscriptionID: "sub-9", SkuID: "CFQ7TTC0LF8R:0001", Kind: domain.RedeemNewTenant, Seats: 5,
			TotalQuantity: 5, TermStart: rdDay0, TermEnd: rdDay1, AdminLicensed: true}},
		Failure: &domain.Failure{Reason: domain.ReasonReservationExpired, Message: "lapsed",
			Metadata: map[string]string{"reservation_id": "r"}, Step: domain.StepConfirmKeys},
		Version: 4, CreateTime: rdDay0.Add(time.Hour), UpdateTime: rdDay0.Add(2 * time.Hour), CompleteTime: rdDay0.Add(3 * time.Hour)}}
	s := grpcapi.NewRedemptionServer(app)
	nt := &ordersv1.NewTenant{OrganisationName: "Contoso", CountryCode: "DE", DefaultDomain: "contoso.onmicrosoft.com",
		Admin: &ordersv1.TenantAdmin{GivenName: "Anna", FamilyName: "Admin", UserName: "anna@contoso.onmicrosoft.com",
			ContactEmail: "anna@contoso.example"}}
	resp, err := s.RedeemProductKeys(context.Background(), &ordersv1.RedeemProductKeysRequest{RequestId: "req-1",
		ProductKeys: []string{"k1"}, Target: &ordersv1.RedeemProductKeysRequest_NewTenant{NewTenant: nt}, ReviewEtag: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	wantTarget := domain.RedemptionTarget{Kind: domain.RedeemNewTenant, NewTenant: &domain.NewTenant{OrganisationName: "Contoso",
		CountryCode: "DE", DefaultDomain: "contoso.onmicrosoft.com", Admin: domain.TenantAdmin{GivenName: "Anna",
			FamilyName: "Admin", UserName: "anna@contoso.onmicrosoft.com", ContactEmail: "anna@contoso.example"}}}
	if app.requestID != "req-1" || app.etag != "e1" || !reflect.DeepEqual(app.target, wantTarget) {
		t.Errorf("passed %q %q %+v", app.requestID, app.etag, app.target)
	}
	want := &ordersv1.Redemption{RedemptionId: "red-1", PartnerId: "p1", CustomerId: "c-new",
		Kind: ordersv1.RedemptionKind_REDEMPTION_KIND_NEW_TENANT, State: ordersv1.RedemptionState_REDEMPTION_STATE_FAILED,
		TenantCreated: true, Keys: rdKeysPB()[:1],
		Outcomes: []*ordersv1.SubscriptionOutcome{{SubscriptionId: "sub-9", SkuId: "CFQ7TTC0LF8R:0001",
			Kind: ordersv1.RedemptionKind_REDEMPTION_KIND_NEW_TENANT, Seats: 5, TotalQuantity: 5,
			TermStartTime: timestamppb.New(rdDay0), TermEndTime: timestamppb.New(rdDay1)}},
		Failure: &ordersv1.Failure{Reason: commonv1.ErrorReason_ERROR_REASON_RESERVATION_EXPIRED, Message: "lapsed",
			Metadata: map[string]string{"reservation_id": "r"}, Step: "confirm_keys"},
		Etag: "4", CreateTime: timestamppb.New(rdDay0.Add(time.Hour)), UpdateTime: timestamppb.New(rdDay0.Add(2 * time.Hour)),
		CompleteTime: timestamppb.New(rdDay0.Add(3 * time.Hour))}
	if !proto.Equal(resp.GetRedemption(), want) {
		t.Errorf("redemption\n got %v\nwant %v", resp.GetRedemption(), want)
	}
	got, err := s.GetRedemption(context.Background(), &ordersv1.GetRedemptionRequest{RedemptionId: "red-1"})
	if err != nil || app.id != "red-1" || !proto.Equal(got.GetRedemption(), want) {
		t.Errorf("GetRedemption = %v, %v", got, err)
	}
	// A PROCESSING redemption has no complete time.
	app.red.State, app.red.CompleteTime, app.red.Failure = domain.RedemptionProcessing, time.Time{}, nil
	resp, _ = s.RedeemProductKeys(context.Background(), &ordersv1.RedeemProductKeysRequest{RequestId: "req-1"})
	if r := resp.GetRedemption(); r.GetState() != ordersv1.RedemptionState_REDEMPTION_STATE_PROCESSING || r.GetCompleteTime() != nil || r.GetFailure() != nil {
		t.Errorf("processing %v", r)
	}
}

// Errors pass through unchanged (the server's interceptor maps them to a status).
func TestRedemptionServer_Errors(t *testing.T) {
	want := errs.New(errs.FailedPrecondition, domain.ReasonKeyAlreadyRedeemed, "redeemed")
	s := grpcapi.NewRedemptionServer(&redemptionApp{err: want})
	if _, err := s.RedeemProductKeys(context.Background(), &ordersv1.RedeemProductKeysRequest{}); err != want { //nolint:errorlint // the very error must come back, not one wrapping it
		t.Errorf("Redeem err %v", err)
	}
	if _, err := s.ValidateProductKeys(context.Background(), &ordersv1.ValidateProductKeysRequest{}); err != want { //nolint:errorlint // the very error must come back, not one wrapping it
		t.Errorf("Validate err %v", err)
	}
	if _, err := s.GetRedemption(context.Background(), &ordersv1.GetRedemptionRequest{}); err != want { //nolint:errorlint // the very error must come back, not one wrapping it
		t.Errorf("Get err %v", err)
	}
}
