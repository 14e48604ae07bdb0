package keys_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/keys"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// fake records the requests (one call at a time in these tests) and answers with err when set.
type fake struct {
	keysv1.UnimplementedEntitlementServiceServer
	issue  *keysv1.IssueEntitlementsRequest
	revoke *keysv1.RevokeEntitlementsRequest
	auth   string
	err    error
}

func (f *fake) IssueEntitlements(ctx context.Context, req *keysv1.IssueEntitlementsRequest) (*keysv1.IssueEntitlementsResponse, error) {
	f.issue, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &keysv1.IssueEntitlementsResponse{Entitlement: &keysv1.Entitlement{EntitlementId: "ent-1"}}, nil
}

func (f *fake) RevokeEntitlements(ctx context.Context, req *keysv1.RevokeEntitlementsRequest) (*keysv1.RevokeEntitlementsResponse, error) {
	f.revoke, f.auth = req, peertest.AuthOf(ctx)
	if f.err != nil {
		return nil, f.err
	}
	return &keysv1.RevokeEntitlementsResponse{}, nil
}

func dial(t *testing.T, f *fake) *keys.Entitlements {
	t.Helper()
	conn := peertest.Dial(t, func(gs *grpc.Server) { keysv1.RegisterEntitlementServiceServer(gs, f) }, peertest.WithTokens())
	return keys.New(conn)
}

// CA-7, CA-8: a perpetual line with a MAK key gets its downloads and instructions from the offer.
func TestIssue_Request(t *testing.T) {
	f := &fake{}
	k := dial(t, f)
	l := domain.OrderLine{ID: "line-1", SkuID: "DG7GMGF0D7FV:0002", DisplayName: "Windows Server 2022 Standard",
		Kind: domain.KindPerpetualSoftware, Quantity: 16, Term: domain.TermPerpetual, Plan: domain.PlanOneTime,
		KeyType: domain.KeyMAK, HasDownloads: true}
	o := domain.Order{ID: "order-1", PartnerID: "partner-1", CustomerID: "customer-1", Lines: []domain.OrderLine{l}}
	offer := app.Offer{ProductID: "DG7GMGF0D7FV", InstallationInstructions: "https://docs.invalid/install",
		Downloads: []app.DownloadVariant{{ID: "2022-en-us-iso-x64", Version: "2022", Language: "en-US", FileType: "ISO",
			OperatingSystem: "Windows x64", SizeBytes: 5_000_000_000}}}
	id, err := k.Issue(peertest.AgentCtx(), "req-1", o, l, offer)
	if err != nil || id != "ent-1" {
		t.Fatalf("Issue = %q, %v; want ent-1", id, err)
	}
	want := &keysv1.IssueEntitlementsRequest{RequestId: "req-1", OrderId: "order-1", OrderLineId: "line-1",
		CustomerId: "customer-1", PartnerId: "partner-1", SkuId: "DG7GMGF0D7FV:0002", ProductId: "DG7GMGF0D7FV",
		ProductName: "Windows Server 2022 Standard", Quantity: 16, KeyType: keysv1.KeyType_KEY_TYPE_MAK,
		InstallationInstructions: "https://docs.invalid/install",
		DownloadVariants: []*keysv1.DownloadVariant{{VariantId: "2022-en-us-iso-x64", Version: "2022", Language: "en-US",
			FileType: "ISO", OperatingSystem: "Windows x64", SizeBytes: 5_000_000_000}}}
	if !proto.Equal(f.issue, want) {
		t.Errorf("request\n got %v\nwant %v", f.issue, want)
	}
	if f.auth != "Bearer obo:user-1" {
		t.Errorf("authorization %q; want a token on behalf of user-1", f.auth)
	}

	// A software subscription line names its subscription; no key type is NONE.
	l.SubscriptionID, l.KeyType = "sub-1", domain.KeyNone
	if _, err := k.Issue(peertest.AgentCtx(), "req-2", o, l, app.Offer{}); err != nil {
		t.Fatal(err)
	}
	if f.issue.GetSubscriptionId() != "sub-1" || f.issue.GetKeyType() != keysv1.KeyType_KEY_TYPE_NONE ||
		f.issue.GetProductId() != "DG7GMGF0D7FV" || len(f.issue.GetDownloadVariants()) != 0 {
		t.Errorf("request %v", f.issue)
	}
}

// CA-8, KD-5: a refusal keeps its kind and reason; UNAVAILABLE is retryable.
func TestIssue_Errors(t *testing.T) {
	f := &fake{}
	k := dial(t, f)
	o := domain.Order{ID: "order-1"}
	l := domain.OrderLine{ID: "line-1", KeyType: domain.KeyMAK}
	st, _ := errs.ToStatus(errs.New(errs.FailedPrecondition, "KMS_NOT_ALLOWED", "no KMS"))
	f.err = st.Err()
	if _, err := k.Issue(peertest.AgentCtx(), "r", o, l, app.Offer{}); errs.KindOf(err) != errs.FailedPrecondition ||
		errs.ReasonOf(err) != "KMS_NOT_ALLOWED" || app.Retryable(err) {
		t.Errorf("refusal: %v; want FAILED_PRECONDITION/KMS_NOT_ALLOWED, not retryable", err)
	}
	f.err = status.Error(codes.Unavailable, "down")
	if _, err := k.Issue(peertest.AgentCtx(), "r", o, l, app.Offer{}); !app.Retryable(err) {
		t.Errorf("unavailable: %v; want retryable", err)
	}
	if err := k.Revoke(peertest.AgentCtx(), "r", "order-1", nil, app.RevokeOrderCompensated); errs.KindOf(err) != errs.Unavailable || !app.Retryable(err) {
		t.Errorf("revoke unavailable: %v; want UNAVAILABLE, retryable", err)
	}
}

// OR-3, KD-7: revocation names the order, its lines and the reason.
func TestRevoke_Request(t *testing.T) {
	f := &fake{}
	k := dial(t, f)
	for _, tc := range []struct {
		reason app.RevocationReason
		want   keysv1.RevocationReason
	}{
		{app.RevokeOrderCancelled, keysv1.RevocationReason_REVOCATION_REASON_ORDER_CANCELLED},
		{app.RevokeOrderCompensated, keysv1.RevocationReason_REVOCATION_REASON_ORDER_COMPENSATED},
		{app.RevokeSubscriptionCancelled, keysv1.RevocationReason_REVOCATION_REASON_SUBSCRIPTION_CANCELLED},
	} {
		if err := k.Revoke(peertest.AgentCtx(), "rev-1", "order-1", []string{"line-1", "line-2"}, tc.reason); err != nil {
			t.Fatal(err)
		}
		want := &keysv1.RevokeEntitlementsRequest{RequestId: "rev-1", OrderId: "order-1",
			OrderLineIds: []string{"line-1", "line-2"}, Reason: tc.want}
		if !proto.Equal(f.revoke, want) {
			t.Errorf("request %v; want %v", f.revoke, want)
		}
	}
}
