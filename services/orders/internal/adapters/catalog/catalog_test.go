package catalog_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/catalog"
	"github.com/partnerhub/partnerhub/services/orders/internal/adapters/peertest"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

var renewFrom = time.Date(2021, 10, 14, 0, 0, 0, 0, time.UTC)

// fake knows one SKU "WS:0001", sold everywhere but RU; "RES:0001" fails GetPrice with
// MARKET_NOT_AVAILABLE; "down:0001" is UNAVAILABLE. It records the price request.
type fake struct {
	catalogv1.UnimplementedCatalogServiceServer
	price *catalogv1.GetPriceRequest
	auth  []string
}

func (f *fake) GetSku(ctx context.Context, req *catalogv1.GetSkuRequest) (*catalogv1.GetSkuResponse, error) {
	f.auth = append(f.auth, peertest.AuthOf(ctx))
	switch req.GetSkuId() {
	case "WS:0001", "RES:0001":
		return &catalogv1.GetSkuResponse{Sku: &catalogv1.Sku{SkuId: req.GetSkuId(), ProductId: "WS", DisplayName: "Windows Server",
			ProductKind: catalogv1.ProductKind_PRODUCT_KIND_SOFTWARE_SUBSCRIPTION, KeyType: catalogv1.KeyType_KEY_TYPE_MAK,
			CancellationPolicy: &catalogv1.CancellationPolicy{Kind: catalogv1.CancellationPolicyKind_CANCELLATION_POLICY_KIND_PRORATED_REFUND_WINDOW, WindowDays: 7},
			AutorenewDefault:   &catalogv1.AutoRenewDefault{Enabled: true, Renewable: true, EffectiveFrom: timestamppb.New(renewFrom)},
			DownloadVariants: []*catalogv1.DownloadVariant{{VariantId: "v1", Version: "2022", Language: "de-DE", FileType: "ISO",
				OperatingSystem: "Windows x64", SizeBytes: 42}},
			InstallationInstructionsUrl: "https://docs.invalid/ws", MaximumQuantity: 300}}, nil
	case "down:0001":
		return nil, status.Error(codes.Unavailable, "down")
	}
	st, _ := errs.ToStatus(errs.NotFoundf("sku", req.GetSkuId()))
	return nil, st.Err()
}

func (f *fake) CheckAvailability(_ context.Context, req *catalogv1.CheckAvailabilityRequest) (*catalogv1.CheckAvailabilityResponse, error) {
	if req.GetCountryCode() == "RU" {
		return &catalogv1.CheckAvailabilityResponse{Reason: commonv1.ErrorReason_ERROR_REASON_MARKET_NOT_AVAILABLE,
			Message: "not sold in RU"}, nil
	}
	return &catalogv1.CheckAvailabilityResponse{Available: true}, nil
}

func (f *fake) GetPrice(_ context.Context, req *catalogv1.GetPriceRequest) (*catalogv1.GetPriceResponse, error) {
	f.price = req
	if req.GetSkuId() == "RES:0001" {
		st, _ := errs.ToStatus(errs.New(errs.FailedPrecondition, "MARKET_NOT_AVAILABLE", "no").
			With("market", req.GetCountryCode()).With("sku_id", req.GetSkuId()))
		return nil, st.Err()
	}
	return &catalogv1.GetPriceResponse{Price: &catalogv1.Price{SkuId: req.GetSkuId(), CountryCode: req.GetCountryCode(),
		Term: req.GetTerm(), BillingPlan: req.GetBillingPlan(),
		BillingPeriodPrice:    &commonv1.Money{AmountMinor: 4000, CurrencyCode: "AUD"},
		BillingPeriodsPerTerm: 3, TermPrice: &commonv1.Money{AmountMinor: 12000, CurrencyCode: "AUD"}, TaxInclusive: true}}, nil
}

func dial(t *testing.T, f *fake) *catalog.Catalog {
	t.Helper()
	conn := peertest.Dial(t, func(gs *grpc.Server) { catalogv1.RegisterCatalogServiceServer(gs, f) }, peertest.WithTokens())
	return catalog.New(conn)
}

// CA-4, CA-5, CA-7, CA-10, CA-11: the offer carries the SKU's policies and the market's price.
func TestOffer(t *testing.T) {
	f := &fake{}
	c := dial(t, f)
	got, err := c.Offer(peertest.AgentCtx(), "WS:0001", "AU", domain.TermP3Y, domain.PlanAnnual)
	if err != nil {
		t.Fatal(err)
	}
	want := app.Offer{SkuID: "WS:0001", ProductID: "WS", DisplayName: "Windows Server",
		Kind: domain.KindSoftwareSubscription, KeyType: domain.KeyMAK,
		Downloads: []app.DownloadVariant{{ID: "v1", Version: "2022", Language: "de-DE", FileType: "ISO",
			OperatingSystem: "Windows x64", SizeBytes: 42}},
		InstallationInstructions: "https://docs.invalid/ws", Policy: domain.PolicyProratedRefundWindow, WindowDays: 7,
		MaxQuantity: 300, AutoRenew: app.AutoRenewDefault{Enabled: true, EffectiveFrom: renewFrom, Renewable: true},
		Price: app.Price{PerPeriod: domain.Money{Minor: 4000, Currency: "AUD"}, PerTerm: domain.Money{Minor: 12000, Currency: "AUD"},
			PeriodsPerTerm: 3, TaxInclusive: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Offer\n got %+v\nwant %+v", got, want)
	}
	if !got.HasDownloads() || !got.AutoRenew.For(renewFrom) || got.AutoRenew.For(renewFrom.Add(-time.Second)) {
		t.Errorf("HasDownloads %v, AutoRenew.For %v", got.HasDownloads(), got.AutoRenew)
	}
	p := f.price
	if p.GetSkuId() != "WS:0001" || p.GetCountryCode() != "AU" || p.GetTerm() != catalogv1.Term_TERM_P3Y ||
		p.GetBillingPlan() != catalogv1.BillingPlan_BILLING_PLAN_ANNUAL {
		t.Errorf("GetPrice request %v", p)
	}
	for _, a := range f.auth {
		if a != "Bearer obo:user-1" {
			t.Errorf("authorization %q; want a token on behalf of user-1", a)
		}
	}
	// Perpetual, one time.
	if _, err := c.Offer(peertest.AgentCtx(), "WS:0001", "DE", domain.TermPerpetual, domain.PlanOneTime); err != nil ||
		f.price.GetTerm() != catalogv1.Term_TERM_PERPETUAL || f.price.GetBillingPlan() != catalogv1.BillingPlan_BILLING_PLAN_ONE_TIME {
		t.Errorf("perpetual: %v, request %v", err, f.price)
	}
}

// CA-2: a SKU not sold in the market is the catalog's MARKET_NOT_AVAILABLE refusal, from
// CheckAvailability or from GetPrice; unknown is NOT_FOUND; a catalog down is retryable.
func TestOffer_Errors(t *testing.T) {
	c := dial(t, &fake{})
	ctx := peertest.AgentCtx()
	_, err := c.Offer(ctx, "WS:0001", "RU", domain.TermP1Y, domain.PlanMonthly)
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.FailedPrecondition || e.Reason != "MARKET_NOT_AVAILABLE" || e.Metadata["market"] != "RU" ||
		e.Metadata["sku_id"] != "WS:0001" || app.Retryable(err) {
		t.Errorf("unavailable: %v (%+v); want FAILED_PRECONDITION/MARKET_NOT_AVAILABLE market=RU", err, e)
	}
	_, err = c.Offer(ctx, "RES:0001", "CN", domain.TermP1Y, domain.PlanMonthly)
	if e, ok := errs.As(err); !ok || e.Kind != errs.FailedPrecondition || e.Reason != "MARKET_NOT_AVAILABLE" || e.Metadata["market"] != "CN" {
		t.Errorf("GetPrice refusal: %v; want FAILED_PRECONDITION/MARKET_NOT_AVAILABLE market=CN", err)
	}
	if _, err := c.Offer(ctx, "NOPE:0001", "DE", domain.TermP1Y, domain.PlanMonthly); errs.KindOf(err) != errs.NotFound || app.Retryable(err) {
		t.Errorf("unknown SKU: %v; want NOT_FOUND", err)
	}
	if _, err := c.Offer(ctx, "down:0001", "DE", domain.TermP1Y, domain.PlanMonthly); errs.KindOf(err) != errs.Unavailable || !app.Retryable(err) {
		t.Errorf("catalog down: %v; want UNAVAILABLE, retryable", err)
	}
}
