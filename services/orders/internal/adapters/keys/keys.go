// Package keys wraps keys' generated EntitlementService client behind the orders app's Keys port:
// the saga's issue-entitlements step (CA-7, CA-8) and the revocation that compensates it or
// cancels a purchase (OR-1, OR-3, KD-7). The calls carry a service token on behalf of the order's
// principal (svc.OnBehalfOfCaller) and are bounded by a per-call timeout. Errors are the service's
// own (pkg/errs.FromError).
package keys

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"

	keysv1 "github.com/partnerhub/partnerhub/gen/partnerhub/keys/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// callTimeout bounds one call, so a hung peer fails a saga step with DEADLINE_EXCEEDED
// (retryable) instead of holding it.
const callTimeout = 5 * time.Second

// Entitlements implements app.Keys over EntitlementService.
type Entitlements struct {
	client keysv1.EntitlementServiceClient
}

// New returns the port over a connection to keys (svc.Runtime.DialPeer).
func New(conn grpc.ClientConnInterface) *Entitlements {
	return &Entitlements{client: keysv1.NewEntitlementServiceClient(conn)}
}

var _ app.Keys = (*Entitlements)(nil)

// Issue implements app.Keys with IssueEntitlements: the line's key type and quantity, the
// subscription the previous step created (empty for perpetual software), and the offer's product
// ID, download variants and installation instructions. One MAK key per line (key_count 0).
func (e *Entitlements) Issue(ctx context.Context, requestID string, o domain.Order, l domain.OrderLine, offer app.Offer) (string, error) {
	productID := offer.ProductID
	if productID == "" {
		productID, _, _ = strings.Cut(l.SkuID, ":")
	}
	req := &keysv1.IssueEntitlementsRequest{
		RequestId: requestID, OrderId: o.ID, OrderLineId: l.ID,
		CustomerId: o.CustomerID, PartnerId: o.PartnerID, SubscriptionId: l.SubscriptionID,
		SkuId: l.SkuID, ProductId: productID, ProductName: l.DisplayName,
		Quantity: l.Quantity, KeyType: keyType(l.KeyType),
		InstallationInstructions: offer.InstallationInstructions,
	}
	for _, v := range offer.Downloads {
		req.DownloadVariants = append(req.DownloadVariants, &keysv1.DownloadVariant{VariantId: v.ID,
			Version: v.Version, Language: v.Language, FileType: v.FileType,
			OperatingSystem: v.OperatingSystem, SizeBytes: v.SizeBytes})
	}
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := e.client.IssueEntitlements(ctx, req)
	if err != nil {
		return "", fmt.Errorf("keys IssueEntitlements %s: %w", requestID, errs.FromError(err))
	}
	return resp.GetEntitlement().GetEntitlementId(), nil
}

// Revoke implements app.Keys with RevokeEntitlements.
func (e *Entitlements) Revoke(ctx context.Context, requestID, orderID string, lineIDs []string, reason app.RevocationReason) error {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	_, err := e.client.RevokeEntitlements(ctx, &keysv1.RevokeEntitlementsRequest{RequestId: requestID,
		OrderId: orderID, OrderLineIds: lineIDs,
		Reason: pbenum.Value[keysv1.RevocationReason](keysv1.RevocationReason_value, "REVOCATION_REASON_", reason)})
	if err != nil {
		return fmt.Errorf("keys RevokeEntitlements %s: %w", orderID, errs.FromError(err))
	}
	return nil
}

// keyType maps the line's key type; keys' numbers for NONE and MAK mirror the catalog's. An unset
// key type is NONE (the line was snapshot from a SKU without a key).
func keyType(k domain.KeyType) keysv1.KeyType {
	if k == domain.KeyMAK {
		return keysv1.KeyType_KEY_TYPE_MAK
	}
	return keysv1.KeyType_KEY_TYPE_NONE
}
