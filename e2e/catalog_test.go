package e2e

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
)

// The seeded catalog in the containers, on PostgreSQL and Redis (CA-2, CA-4, issue 4): an Azure
// Reservation is sold in Germany and not in China (a seed-004 market); a price change made with
// the operator's service token shows on the very next read; the demo partner sees what its
// programs allow it to sell (CA-3).
func TestE2E_SeededCatalog_CA2_CA3_CA4(t *testing.T) {
	ctx := ctxT(t)
	cat := catalogv1.NewCatalogServiceClient(stack.Conn("catalog"))
	admin := catalogv1.NewCatalogAdminServiceClient(stack.Conn("catalog"))
	partner := withToken(ctx, demoToken(t))

	// The catalog imports its seed once identity answers (it needs the markets): wait for it.
	deadline := time.Now().Add(45 * time.Second)
	for {
		resp, err := cat.ListProducts(partner, &catalogv1.ListProductsRequest{})
		if err == nil && len(resp.GetProducts()) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the seed catalog did not appear: %v, %v", resp, err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	const reservation, m365 = "DZH318Z0BQ4B:0001", "CFQ7TTC0LDPB:0001"
	for _, tc := range []struct {
		country string
		want    bool
	}{{"DE", true}, {"US", true}, {"CN", false}, {"AX", false}} {
		a, err := cat.CheckAvailability(partner, &catalogv1.CheckAvailabilityRequest{SkuId: reservation, CountryCode: tc.country})
		if err != nil || a.GetAvailable() != tc.want {
			t.Errorf("Azure Reservation in %s: %v, %v; want available=%v (CA-2)", tc.country, a, err, tc.want)
		}
	}
	_, err := cat.GetPrice(partner, &catalogv1.GetPriceRequest{SkuId: reservation, CountryCode: "CN",
		Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL})
	if status.Code(err) != codes.FailedPrecondition || reasonOf(err) != "MARKET_NOT_AVAILABLE" || metadataOf(err)["market"] != "CN" {
		t.Errorf("GetPrice in an excluded market: %v; want FAILED_PRECONDITION MARKET_NOT_AVAILABLE with market CN", err)
	}

	// A price change is visible on the next read (through Redis).
	op := operatorToken(ctx, t)
	priceReq := &catalogv1.GetPriceRequest{SkuId: m365, CountryCode: "DE", Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL}
	before, err := cat.GetPrice(partner, priceReq)
	if err != nil || before.GetPrice().GetTaxInclusive() {
		t.Fatalf("GetPrice DE: %v, %v (want tax-exclusive, CA-4)", before, err)
	}
	newAmount := before.GetPrice().GetBillingPeriodPrice().GetAmountMinor() + 100
	if _, err := admin.SetPrice(withToken(ctx, op), &catalogv1.SetPriceRequest{RequestId: uuid.NewString(),
		SkuId: m365, CountryCode: "DE", Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL,
		BillingPeriodPrice: &commonv1.Money{AmountMinor: newAmount, CurrencyCode: "EUR"}}); err != nil {
		t.Fatalf("SetPrice: %v", err)
	}
	after, err := cat.GetPrice(partner, priceReq)
	if err != nil || after.GetPrice().GetBillingPeriodPrice().GetAmountMinor() != newAmount {
		t.Fatalf("GetPrice right after SetPrice: %v, %v; want %d", after, err, newAmount)
	}
	au, err := cat.GetPrice(partner, &catalogv1.GetPriceRequest{SkuId: m365, CountryCode: "AU", Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL})
	if err != nil || !au.GetPrice().GetTaxInclusive() || au.GetPrice().GetBillingPeriodPrice().GetCurrencyCode() != "AUD" {
		t.Errorf("GetPrice AU: %v, %v; want tax-inclusive AUD (CA-4)", au, err)
	}

	offers, err := cat.ListPurchasableOffers(partner, &catalogv1.ListPurchasableOffersRequest{
		Market: &catalogv1.ListPurchasableOffersRequest_CountryCode{CountryCode: "DE"}, PageSize: 500})
	if err != nil || len(offers.GetOffers()) == 0 {
		t.Fatalf("ListPurchasableOffers DE: %v, %v", offers, err)
	}
	for _, o := range offers.GetOffers() {
		if o.GetSku().GetDiscontinued() || len(o.GetViaPrograms()) == 0 {
			t.Errorf("offer %s: discontinued %v, via %v (CA-3, CA-9)", o.GetSku().GetSkuId(), o.GetSku().GetDiscontinued(), o.GetViaPrograms())
		}
	}
}

// metadataOf returns the ErrorInfo metadata of a gRPC error.
func metadataOf(err error) map[string]string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()
		}
	}
	return nil
}
