package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
)

// TestE2E_KMSKeyRefused_CA8: CSP software is activated with MAK keys; a KMS key is never issued,
// not even on request (CA-8, KD-5). The catalog sells no SKU with a KMS key; an entitlement
// request for one (as the order saga would send it for a Windows Server line) is refused with
// FAILED_PRECONDITION / KMS_NOT_ALLOWED, also on a retry, and leaves nothing behind: the
// customer's software list stays empty. The same line with MAK is then issued.
func TestE2E_KMSKeyRefused_CA8(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tn := newLifecycleTenant(t, ctx)
	agent := withToken(ctx, tn.agentToken)

	// The catalog: every software SKU carries MAK, none KMS (CA-8).
	cat := catalogv1.NewCatalogServiceClient(stack.Conn("catalog"))
	req := &catalogv1.ListSkusRequest{PageSize: 500, IncludeDiscontinued: true}
	mak := 0
	for range 20 {
		resp, err := cat.ListSkus(agent, req)
		if err != nil {
			t.Fatalf("ListSkus: %v", err)
		}
		for _, s := range resp.GetSkus() {
			switch s.GetKeyType() {
			case catalogv1.KeyType_KEY_TYPE_MAK:
				mak++
			case catalogv1.KeyType_KEY_TYPE_NONE:
			default:
				t.Errorf("SKU %s has key type %v; want MAK or NONE only (CA-8)", s.GetSkuId(), s.GetKeyType())
			}
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if mak == 0 {
		t.Fatalf("the catalog lists no SKU with MAK keys; want the Microsoft software ones")
	}

	ents := keysv1.NewEntitlementServiceClient(stack.Conn("keys"))
	saga := withToken(ctx, tn.sagaToken(t, ctx))
	line := &keysv1.IssueEntitlementsRequest{
		RequestId: uuid.NewString(), OrderId: uuid.NewString(), OrderLineId: uuid.NewString(),
		CustomerId: tn.customerID, PartnerId: tn.partnerID, SkuId: "DG7GMGF0D7FV:0001", ProductId: "DG7GMGF0D7FV",
		ProductName: "Windows Server 2022 Datacenter - 16 Core License Pack", Quantity: 2,
		KeyType: keysv1.KeyType_KEY_TYPE_KMS, KeyCount: 1,
	}
	_, err := ents.IssueEntitlements(saga, line)
	wantRefusal(t, "IssueEntitlements with a KMS key", err, codes.FailedPrecondition, "KMS_NOT_ALLOWED")
	_, err = ents.IssueEntitlements(saga, line)
	wantRefusal(t, "IssueEntitlements with a KMS key, retried", err, codes.FailedPrecondition, "KMS_NOT_ALLOWED")
	list, err := ents.ListSoftware(agent, &keysv1.ListSoftwareRequest{CustomerId: tn.customerID, IncludeLicenseOnly: true})
	if err != nil || len(list.GetEntitlements()) != 0 {
		t.Fatalf("software after the refused KMS request: %v, %v; want none", list.GetEntitlements(), err)
	}

	line.RequestId, line.KeyType = uuid.NewString(), keysv1.KeyType_KEY_TYPE_MAK
	issued, err := ents.IssueEntitlements(saga, line)
	if err != nil {
		t.Fatalf("IssueEntitlements with a MAK key: %v", err)
	}
	keys := issued.GetEntitlement().GetKeys()
	if len(keys) != 1 || keys[0].GetKeyType() != keysv1.KeyType_KEY_TYPE_MAK {
		t.Fatalf("issued keys %v; want one MAK key (CA-8)", keys)
	}
}
