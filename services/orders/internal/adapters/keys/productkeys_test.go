package keys_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/keys"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// fakeCards records the last request of each RPC and answers with err when set.
type fakeCards struct {
	keysv1.UnimplementedProductKeyServiceServer
	validate *keysv1.ValidateProductKeysRequest
	reserve  *keysv1.ReserveProductKeysRequest
	confirm  *keysv1.ConfirmRedemptionRequest
	release  *keysv1.ReleaseReservationRequest
	auth     string
	err      error
}

func (f *fakeCards) ValidateProductKeys(ctx context.Context, req *keysv1.ValidateProductKeysRequest) (*keysv1.ValidateProductKeysResponse, error) {
	f.validate, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &keysv1.ValidateProductKeysResponse{Results: []*keysv1.KeyValidation{
		{Index: 1, Status: keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_MALFORMED},
		{Index: 0, MaskedKey: "*****-*****-*****-*****-7QX4M", Status: keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_VALID,
			KeyCard: &keysv1.KeyCard{SkuId: "CFQ7TTC0LF8R:0001", Seats: 5, TermDuration: "P1Y"}},
		{Index: 2, MaskedKey: "*****-*****-*****-*****-ZZZZZ", Status: keysv1.KeyValidationStatus_KEY_VALIDATION_STATUS_REDEEMED,
			KeyCard: &keysv1.KeyCard{SkuId: "CFQ7TTC0LF8R:0001", Seats: 1, TermDuration: "P1Y"}},
	}}, nil
}

func (f *fakeCards) ReserveProductKeys(ctx context.Context, req *keysv1.ReserveProductKeysRequest) (*keysv1.ReserveProductKeysResponse, error) {
	f.reserve, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &keysv1.ReserveProductKeysResponse{Reservation: &keysv1.KeyReservation{ReservationId: "res-1",
		ExpireTime: timestamppb.New(time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC))}}, nil
}

func (f *fakeCards) ConfirmRedemption(ctx context.Context, req *keysv1.ConfirmRedemptionRequest) (*keysv1.ConfirmRedemptionResponse, error) {
	f.confirm, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &keysv1.ConfirmRedemptionResponse{}, nil
}

func (f *fakeCards) ReleaseReservation(ctx context.Context, req *keysv1.ReleaseReservationRequest) (*keysv1.ReleaseReservationResponse, error) {
	f.release, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &keysv1.ReleaseReservationResponse{}, nil
}

func dialCards(t *testing.T, f *fakeCards) *keys.ProductKeys {
	t.Helper()
	conn := peertest.Dial(t, func(gs *grpc.Server) { keysv1.RegisterProductKeyServiceServer(gs, f) }, peertest.WithTokens())
	return keys.NewProductKeys(conn)
}

// KD-1, KD-2: verdicts come back in request order with the card's SKU, seats and term; the call
// acts on behalf of the caller.
func TestProductKeys_Validate_KD1(t *testing.T) {
	f := &fakeCards{}
	k := dialCards(t, f)
	typed := []string{"abcde-fghij-klmno-pqrst-7qx4m", "bad", "zzzzzzzzzzzzzzzzzzzzzzzzz"}
	got, err := k.Validate(peertest.AgentCtx(), typed)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.KeyVerdict{
		{Index: 0, Masked: "*****-*****-*****-*****-7QX4M", Status: domain.KeyValid, SkuID: "CFQ7TTC0LF8R:0001", Seats: 5, Term: domain.TermP1Y},
		{Index: 1, Status: domain.KeyMalformed},
		{Index: 2, Masked: "*****-*****-*****-*****-ZZZZZ", Status: domain.KeyRedeemed, SkuID: "CFQ7TTC0LF8R:0001", Seats: 1, Term: domain.TermP1Y},
	}
	if len(got) != len(want) {
		t.Fatalf("verdicts %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("verdict %d = %+v; want %+v", i, got[i], want[i])
		}
	}
	if !proto.Equal(f.validate, &keysv1.ValidateProductKeysRequest{ProductKeys: typed}) || f.auth != "Bearer obo:user-1" {
		t.Errorf("request %v, auth %q", f.validate, f.auth)
	}
}

// KD-1: reserve, confirm and release carry the saga's request IDs and the reservation.
func TestProductKeys_ReserveConfirmRelease_KD1(t *testing.T) {
	f := &fakeCards{}
	k := dialCards(t, f)
	ctx := peertest.AgentCtx()
	r, err := k.Reserve(ctx, "req-r", "red-1", []string{"K1", "K2"}, 30*time.Minute)
	if err != nil || r.ID != "res-1" || !r.ExpireTime.Equal(time.Date(2026, 3, 10, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("Reserve = %+v, %v", r, err)
	}
	if want := (&keysv1.ReserveProductKeysRequest{RequestId: "req-r", RedemptionId: "red-1", ProductKeys: []string{"K1", "K2"},
		Ttl: durationpb.New(30 * time.Minute)}); !proto.Equal(f.reserve, want) {
		t.Errorf("reserve %v; want %v", f.reserve, want)
	}
	if err := k.Confirm(ctx, "req-c", "res-1", "cust-1", "sub-1"); err != nil {
		t.Fatal(err)
	}
	if want := (&keysv1.ConfirmRedemptionRequest{RequestId: "req-c", ReservationId: "res-1", CustomerId: "cust-1",
		SubscriptionId: "sub-1"}); !proto.Equal(f.confirm, want) {
		t.Errorf("confirm %v", f.confirm)
	}
	if err := k.Release(ctx, "req-x", "res-1"); err != nil {
		t.Fatal(err)
	}
	if want := (&keysv1.ReleaseReservationRequest{RequestId: "req-x", ReservationId: "res-1"}); !proto.Equal(f.release, want) {
		t.Errorf("release %v", f.release)
	}
	if f.auth != "Bearer obo:user-1" {
		t.Errorf("auth %q", f.auth)
	}
}

// A refusal keeps keys' kind, reason and metadata; UNAVAILABLE is retryable.
func TestProductKeys_Errors(t *testing.T) {
	f := &fakeCards{}
	k := dialCards(t, f)
	st, _ := errs.ToStatus(errs.New(errs.FailedPrecondition, domain.ReasonKeyReserved, "held").With("index", 1))
	f.err = st.Err()
	_, err := k.Reserve(peertest.AgentCtx(), "r", "red", []string{"K"}, 0)
	if e, ok := errs.As(err); !ok || e.Reason != domain.ReasonKeyReserved || e.Metadata["index"] != "1" || app.Retryable(err) {
		t.Errorf("refusal: %v", err)
	}
	if f.reserve.GetTtl() != nil {
		t.Errorf("ttl 0 sent as %v; want unset (keys' default)", f.reserve.GetTtl())
	}
	f.err = status.Error(codes.Unavailable, "down")
	if err := k.Confirm(peertest.AgentCtx(), "r", "res", "c", "s"); !app.Retryable(err) {
		t.Errorf("unavailable confirm: %v", err)
	}
	if _, err := k.Validate(peertest.AgentCtx(), []string{"K"}); !app.Retryable(err) {
		t.Errorf("unavailable validate: %v", err)
	}
}
