// Package catalog wraps catalog's generated CatalogService client behind the subscriptions' app
// interface Catalog: what a transfer needs to know about an offer (discontinued, its equivalent,
// CA-9, SU-14). Each call carries a service token acting on behalf of the caller of the RPC being
// served (svc.OnBehalfOfCaller): the question is asked for that partner, with its rights.
package catalog

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/app"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// callTimeout bounds one call to catalog, so a hung peer fails a request with
// DEPENDENCY_UNAVAILABLE instead of holding it until the client gives up.
const callTimeout = 5 * time.Second

// Skus implements app.Catalog over CatalogService.GetSku.
type Skus struct {
	client catalogv1.CatalogServiceClient
}

// New returns the catalog over a connection to it (svc.Runtime.DialPeer).
func New(conn grpc.ClientConnInterface) *Skus {
	return &Skus{client: catalogv1.NewCatalogServiceClient(conn)}
}

var _ app.Catalog = (*Skus)(nil)

// Sku implements app.Catalog. An unknown (or malformed) SKU ID is RESOURCE_NOT_FOUND; any other
// failure UNAVAILABLE / DEPENDENCY_UNAVAILABLE, the cause kept for the log.
func (s *Skus) Sku(ctx context.Context, skuID string) (domain.SkuInfo, error) {
	ctx, cancel := context.WithTimeout(svc.OnBehalfOfCaller(ctx), callTimeout)
	defer cancel()
	resp, err := s.client.GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: skuID})
	switch {
	case isCode(err, errs.NotFound, codes.NotFound), isCode(err, errs.InvalidArgument, codes.InvalidArgument):
		return domain.SkuInfo{}, errs.NotFoundf("sku", skuID)
	case err != nil:
		return domain.SkuInfo{}, errs.Unavailablef("catalog does not answer").With("dependency", "catalog").
			Wrap(fmt.Errorf("catalog GetSku %s: %w", skuID, err))
	}
	sku := resp.GetSku()
	return domain.SkuInfo{ID: skuID, ProductID: sku.GetProductId(), DisplayName: sku.GetDisplayName(),
		MaxQuantity: sku.GetMaximumQuantity(), Discontinued: sku.GetDiscontinued(),
		EquivalentSkuID: sku.GetEquivalentSkuId()}, nil
}

// isCode recognizes an error kind whether or not the connection maps statuses to errs values.
func isCode(err error, kind errs.Kind, code codes.Code) bool {
	return err != nil && (errs.KindOf(err) == kind || status.Code(err) == code)
}
