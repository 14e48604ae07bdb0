// Package catalog wraps catalog's generated CatalogService client behind the orders app's Catalog
// port: a SKU as an order line needs it, its availability in the customer's market (CA-2, CA-9)
// and its price for a term and billing plan (CA-4, CA-5). Each call carries a service token acting
// on behalf of the caller (svc.OnBehalfOfCaller) and is bounded by a per-call timeout. Errors are
// the catalog's own (pkg/errs.FromError): the saga fails the order with the catalog's reason.
package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/pbenum"
	"github.com/partnerhub/partnerhub/pkg/svc"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// callTimeout bounds one call to the catalog, so a hung catalog fails a saga step with
// DEADLINE_EXCEEDED (retryable) instead of holding it.
const callTimeout = 5 * time.Second

// Catalog implements app.Catalog over GetSku, CheckAvailability and GetPrice.
type Catalog struct {
	client catalogv1.CatalogServiceClient
}

// New returns the catalog over a connection to it (svc.Runtime.DialPeer).
func New(conn grpc.ClientConnInterface) *Catalog {
	return &Catalog{client: catalogv1.NewCatalogServiceClient(conn)}
}

var _ app.Catalog = (*Catalog)(nil)

// Offer implements app.Catalog: GetSku, then CheckAvailability (an unavailable SKU becomes
// FAILED_PRECONDITION with the catalog's reason, metadata market, sku_id and, for SKU_DISCONTINUED,
// equivalent_sku_id), then GetPrice.
func (c *Catalog) Offer(ctx context.Context, skuID, market string, term domain.Term, plan domain.BillingPlan) (app.Offer, error) {
	ctx = svc.OnBehalfOfCaller(ctx)
	var sku *catalogv1.Sku
	err := call(ctx, "GetSku", skuID, func(ctx context.Context) error {
		resp, err := c.client.GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: skuID})
		sku = resp.GetSku()
		return err
	})
	if err != nil {
		return app.Offer{}, err
	}
	var avail *catalogv1.CheckAvailabilityResponse
	err = call(ctx, "CheckAvailability", skuID, func(ctx context.Context) (err error) {
		avail, err = c.client.CheckAvailability(ctx, &catalogv1.CheckAvailabilityRequest{SkuId: skuID, CountryCode: market})
		return err
	})
	if err != nil {
		return app.Offer{}, err
	}
	if !avail.GetAvailable() {
		return app.Offer{}, unavailable(avail, skuID, market)
	}
	var price *catalogv1.Price
	err = call(ctx, "GetPrice", skuID, func(ctx context.Context) error {
		resp, err := c.client.GetPrice(ctx, &catalogv1.GetPriceRequest{SkuId: skuID, CountryCode: market,
			Term: termPB(term), BillingPlan: planPB(plan)})
		price = resp.GetPrice()
		return err
	})
	if err != nil {
		return app.Offer{}, err
	}
	return offerOf(sku, price), nil
}

// call runs one RPC under the per-call timeout and maps its error back to the catalog's errs
// error, naming the call for the log.
func call(ctx context.Context, rpc, skuID string, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		return fmt.Errorf("catalog %s %s: %w", rpc, skuID, errs.FromError(err))
	}
	return nil
}

// unavailable is the refusal an unavailable SKU gets: FAILED_PRECONDITION with the catalog's
// reason (MARKET_NOT_AVAILABLE, COUNTRY_NOT_SUPPORTED, SKU_DISCONTINUED).
func unavailable(a *catalogv1.CheckAvailabilityResponse, skuID, market string) error {
	reason := errs.Reason(strings.TrimPrefix(a.GetReason().String(), "ERROR_REASON_"))
	if a.GetReason() == commonv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		reason = "MARKET_NOT_AVAILABLE"
	}
	msg := a.GetMessage()
	if msg == "" {
		msg = fmt.Sprintf("SKU %s is not sold in market %s", skuID, market)
	}
	e := errs.New(errs.FailedPrecondition, reason, "%s", msg).With("market", market).With("sku_id", skuID)
	if eq := a.GetEquivalentSkuId(); eq != "" {
		e = e.With("equivalent_sku_id", eq)
	}
	return e
}

func offerOf(s *catalogv1.Sku, p *catalogv1.Price) app.Offer {
	o := app.Offer{
		SkuID: s.GetSkuId(), ProductID: s.GetProductId(), DisplayName: s.GetDisplayName(),
		Kind:                     pbenum.Name[domain.ProductKind](s.GetProductKind(), "PRODUCT_KIND_"),
		KeyType:                  keyType(s.GetKeyType()),
		InstallationInstructions: s.GetInstallationInstructionsUrl(),
		Policy:                   pbenum.Name[domain.CancellationPolicy](s.GetCancellationPolicy().GetKind(), "CANCELLATION_POLICY_KIND_"),
		WindowDays:               s.GetCancellationPolicy().GetWindowDays(),
		MaxQuantity:              s.GetMaximumQuantity(),
		AutoRenew: app.AutoRenewDefault{Enabled: s.GetAutorenewDefault().GetEnabled(),
			Renewable: s.GetAutorenewDefault().GetRenewable()},
		Price: app.Price{PerPeriod: money(p.GetBillingPeriodPrice()), PerTerm: money(p.GetTermPrice()),
			PeriodsPerTerm: p.GetBillingPeriodsPerTerm(), TaxInclusive: p.GetTaxInclusive()},
	}
	if ef := s.GetAutorenewDefault().GetEffectiveFrom(); ef != nil {
		o.AutoRenew.EffectiveFrom = ef.AsTime()
	}
	for _, v := range s.GetDownloadVariants() {
		o.Downloads = append(o.Downloads, app.DownloadVariant{ID: v.GetVariantId(), Version: v.GetVersion(),
			Language: v.GetLanguage(), FileType: v.GetFileType(), OperatingSystem: v.GetOperatingSystem(),
			SizeBytes: v.GetSizeBytes()})
	}
	return o
}

// keyType maps the catalog's key type; an unset one is NONE (the catalog has no KMS, CA-8).
func keyType(k catalogv1.KeyType) domain.KeyType {
	if k == catalogv1.KeyType_KEY_TYPE_MAK {
		return domain.KeyMAK
	}
	return domain.KeyNone
}

func money(m *commonv1.Money) domain.Money {
	return domain.Money{Minor: m.GetAmountMinor(), Currency: m.GetCurrencyCode()}
}

// termPB and planPB map by name; an unknown value is UNSPECIFIED, which the catalog refuses
// (INVALID_REQUEST).
func termPB(t domain.Term) catalogv1.Term {
	return pbenum.Value[catalogv1.Term](catalogv1.Term_value, "TERM_", t)
}

func planPB(p domain.BillingPlan) catalogv1.BillingPlan {
	return pbenum.Value[catalogv1.BillingPlan](catalogv1.BillingPlan_value, "BILLING_PLAN_", p)
}
