package grpcapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/cache"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog/internal/adapters/cached"
	catsql "github.com/partnerhub/partnerhub/services/catalog/internal/adapters/sql"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/internal/ports/grpcapi"
	"github.com/partnerhub/partnerhub/services/catalog/migrations"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const (
	partnerID  = "aaaaaaaa-0000-4000-8000-000000000001"
	customerID = "dddddddd-0000-4000-8000-000000000004"
	basic      = "CFQ7TTC0LH18:0001"
	retired    = "CFQ7TTC0LH18:0002"
	reserved   = "DZH318Z0BQ3Q:0001"
)

const catalogYAML = `format_version: 1
products:
  - product_id: CFQ7TTC0LH18
    display_name: Microsoft 365 Business Basic
    kind: ONLINE_SERVICE
    publisher: Microsoft
    sales_programs: [CSP_DIRECT]
    skus:
      - sku_id: CFQ7TTC0LH18:0001
        display_name: Microsoft 365 Business Basic
        term_options: [{term: P1Y, billing_plans: [MONTHLY, ANNUAL]}]
        cancellation_policy: {kind: PRORATED_REFUND_WINDOW, window_days: 7}
        autorenew_default: {enabled: true, renewable: true}
        key_type: NONE
        maximum_quantity: 300
        availability: {mode: ALL_EXCEPT_LISTED}
        prices:
          - {country_code: AU, term: P1Y, billing_plan: MONTHLY, billing_period_price: {amount_minor: 990, currency_code: AUD}}
          - {country_code: DE, term: P1Y, billing_plan: ANNUAL, billing_period_price: {amount_minor: 6732, currency_code: EUR}}
      - sku_id: CFQ7TTC0LH18:0002
        display_name: Office 365 Business Premium
        term_options: [{term: P1Y, billing_plans: [ANNUAL]}]
        cancellation_policy: {kind: PRORATED_REFUND_WINDOW, window_days: 7}
        key_type: NONE
        maximum_quantity: 300
        availability: {mode: ALL_EXCEPT_LISTED}
        discontinued: true
        equivalent_sku_id: CFQ7TTC0LH18:0001
  - product_id: DZH318Z0BQ3Q
    display_name: Azure Reservation D2s v5
    kind: AZURE_RESERVATION
    publisher: Microsoft
    sales_programs: [CSP_DIRECT]
    skus:
      - sku_id: DZH318Z0BQ3Q:0001
        display_name: Azure Reservation D2s v5, 1 year
        term_options: [{term: P1Y, billing_plans: [ANNUAL]}]
        cancellation_policy: {kind: NEVER}
        key_type: NONE
        maximum_quantity: 50
        availability: {mode: ALL_EXCEPT_LISTED, country_codes: [CN]}
`

type markets struct{}

var currencies = map[string]string{"AU": "AUD", "DE": "EUR", "US": "USD", "CN": "CNY"}

func (markets) Market(_ context.Context, c string) (domain.Market, bool, error) {
	cur, ok := currencies[c]
	return domain.Market{CountryCode: c, CurrencyCode: cur}, ok, nil
}

func (markets) All(context.Context) ([]domain.Market, error) {
	var out []domain.Market
	for c, cur := range currencies {
		out = append(out, domain.Market{CountryCode: c, CurrencyCode: cur})
	}
	return out, nil
}

type partners struct{}

func (partners) Programs(_ context.Context, id string) ([]domain.SalesProgram, error) {
	if id == partnerID {
		return []domain.SalesProgram{domain.ProgramCSPDirect}, nil
	}
	return nil, nil
}

type customers struct{}

func (customers) Relationship(_ context.Context, p, c string) (app.CustomerRelationship, error) {
	if p == partnerID && c == customerID {
		return app.CustomerRelationship{Active: true, Country: "DE"}, nil
	}
	return app.CustomerRelationship{}, nil
}

// stack runs the service behind the real server stack (authentication, the contract's access
// rules, error mapping) and mints tokens for callers.
type stack struct {
	catalog catalogv1.CatalogServiceClient
	admin   catalogv1.CatalogAdminServiceClient
	token   func(p auth.Principal) string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	db := testkit.OpenDB(t, testkit.SQLiteDSN(t), migrations.FS, "catalog_schema")
	aside := cache.NewAside(cache.NewMemory(1000), cache.AsideOptions{Name: "catalog"})
	t.Cleanup(aside.Close)
	a := app.New(cached.New(catsql.New(db, nil), aside, nil), markets{}, partners{}, customers{},
		clock.NewFake(time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)))
	served := testkit.Serve(t, "catalog", func(gs *grpc.Server) { grpcapi.Register(gs, a) })
	s := &stack{
		catalog: catalogv1.NewCatalogServiceClient(served.Conn),
		admin:   catalogv1.NewCatalogAdminServiceClient(served.Conn),
		token:   func(p auth.Principal) string { return served.Token(t, p) },
	}
	if _, err := s.admin.ImportCatalog(s.as(service), &catalogv1.ImportCatalogRequest{RequestId: rid(),
		Content: []byte(catalogYAML), Format: catalogv1.CatalogFormat_CATALOG_FORMAT_YAML}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *stack) as(p auth.Principal) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+s.token(p))
}

var (
	adminAgent = auth.Principal{Subject: "u-admin", OrgID: partnerID, OrgKind: auth.OrgPartner, Roles: []auth.Role{auth.AdminAgent}}
	customerGA = auth.Principal{Subject: "u-ga", OrgID: customerID, OrgKind: auth.OrgCustomer, Roles: []auth.Role{auth.CustomerGlobalAdmin}}
	service    = auth.Principal{Subject: "svc_operator", OrgID: "operator", OrgKind: auth.OrgService, Roles: []auth.Role{auth.Service}}
)

func rid() string { return uuid.NewString() }

// wantStatus fails unless err is a status with the code and ErrorInfo reason, and returns its
// details.
func wantStatus(t *testing.T, err error, code codes.Code, reason string) (*errdetails.ErrorInfo, *errdetails.BadRequest) {
	t.Helper()
	st := status.Convert(err)
	var info *errdetails.ErrorInfo
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			br = d
		}
	}
	if st.Code() != code || info == nil || info.GetReason() != reason {
		t.Fatalf("status %v %v, want %s %s", st.Code(), st.Message(), code, reason)
	}
	return info, br
}

// Issue 4, acceptance 4, over the wire: INVALID_ARGUMENT with field violations for a malformed
// SKU ID, market or currency; NOT_FOUND for an unknown SKU; FAILED_PRECONDITION /
// MARKET_NOT_AVAILABLE with the market in the metadata.
func TestServer_Acceptance4(t *testing.T) {
	s := newStack(t)
	ctx := s.as(adminAgent)
	_, err := s.catalog.GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: "CFQ7TTC0LH18"})
	_, br := wantStatus(t, err, codes.InvalidArgument, "INVALID_REQUEST")
	if br.GetFieldViolations()[0].GetField() != "sku_id" {
		t.Errorf("violations %v", br)
	}
	_, err = s.catalog.GetPrice(ctx, &catalogv1.GetPriceRequest{SkuId: basic, CountryCode: "DEU",
		Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL})
	wantStatus(t, err, codes.InvalidArgument, "INVALID_REQUEST")
	_, err = s.admin.SetPrice(s.as(service), &catalogv1.SetPriceRequest{RequestId: rid(), SkuId: basic, CountryCode: "DE",
		Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL,
		BillingPeriodPrice: &commonv1.Money{AmountMinor: 1, CurrencyCode: "euro"}})
	wantStatus(t, err, codes.InvalidArgument, "INVALID_REQUEST")
	_, err = s.catalog.GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: "CFQ7TTC0LH18:0042"})
	wantStatus(t, err, codes.NotFound, "RESOURCE_NOT_FOUND")
	_, err = s.catalog.GetPrice(ctx, &catalogv1.GetPriceRequest{SkuId: reserved, CountryCode: "CN",
		Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL})
	info, _ := wantStatus(t, err, codes.FailedPrecondition, "MARKET_NOT_AVAILABLE")
	if info.GetMetadata()["market"] != "CN" || info.GetMetadata()["sku_id"] != reserved || info.GetDomain() != "partnerhub.dev" {
		t.Errorf("ErrorInfo %v", info)
	}
}

// The reads over the wire, every field mapped: a SKU, a price with its derived fields (CA-4,
// BI-2), availability reasons (CA-2, CA-9), equivalents, offers (CA-3).
func TestServer_Reads(t *testing.T) {
	s := newStack(t)
	ctx := s.as(customerGA) // any authenticated principal reads the catalog
	sku, err := s.catalog.GetSku(ctx, &catalogv1.GetSkuRequest{SkuId: retired})
	if err != nil {
		t.Fatal(err)
	}
	got := sku.GetSku()
	if got.GetProductKind() != catalogv1.ProductKind_PRODUCT_KIND_ONLINE_SERVICE || !got.GetDiscontinued() ||
		got.GetEquivalentSkuId() != basic || got.GetDiscontinueTime() == nil || got.GetKeyType() != catalogv1.KeyType_KEY_TYPE_NONE ||
		got.GetCancellationPolicy().GetKind() != catalogv1.CancellationPolicyKind_CANCELLATION_POLICY_KIND_PRORATED_REFUND_WINDOW ||
		got.GetAvailability().GetMode() != catalogv1.AvailabilityMode_AVAILABILITY_MODE_ALL_EXCEPT_LISTED || got.GetEtag() == "" {
		t.Errorf("SKU %v", got)
	}
	price, err := s.catalog.GetPrice(ctx, &catalogv1.GetPriceRequest{SkuId: basic, CountryCode: "AU",
		Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_MONTHLY})
	if err != nil {
		t.Fatal(err)
	}
	want := &catalogv1.Price{SkuId: basic, CountryCode: "AU", Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_MONTHLY,
		BillingPeriodPrice: &commonv1.Money{AmountMinor: 990, CurrencyCode: "AUD"}, BillingPeriodsPerTerm: 12,
		TermPrice: &commonv1.Money{AmountMinor: 11880, CurrencyCode: "AUD"}, TaxInclusive: true,
		Etag: price.GetPrice().GetEtag(), CreateTime: price.GetPrice().GetCreateTime(), UpdateTime: price.GetPrice().GetUpdateTime()}
	if !proto.Equal(price.GetPrice(), want) || price.GetPrice().GetCreateTime() == nil {
		t.Errorf("price\n%v\nwant\n%v", price.GetPrice(), want)
	}
	av, err := s.catalog.CheckAvailability(ctx, &catalogv1.CheckAvailabilityRequest{SkuId: retired, CountryCode: "DE"})
	if err != nil || av.GetAvailable() || av.GetReason() != commonv1.ErrorReason_ERROR_REASON_SKU_DISCONTINUED ||
		av.GetEquivalentSkuId() != basic || av.GetMessage() == "" {
		t.Errorf("availability %v %v", av, err)
	}
	av, err = s.catalog.CheckAvailability(ctx, &catalogv1.CheckAvailabilityRequest{SkuId: basic, CountryCode: "US"})
	if err != nil || !av.GetAvailable() || av.GetReason() != commonv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		t.Errorf("availability %v %v", av, err)
	}
	eq, err := s.catalog.FindEquivalentOffers(ctx, &catalogv1.FindEquivalentOffersRequest{SkuId: retired, CountryCode: "CN"})
	if err != nil || len(eq.GetOffers()) != 1 || eq.GetOffers()[0].GetKind() != catalogv1.EquivalenceKind_EQUIVALENCE_KIND_DESIGNATED_EQUIVALENT ||
		eq.GetOffers()[0].GetSku().GetSkuId() != basic || !eq.GetOffers()[0].GetAvailableInMarket() {
		t.Errorf("equivalents %v %v", eq, err)
	}
	products, err := s.catalog.ListProducts(ctx, &catalogv1.ListProductsRequest{Kind: catalogv1.ProductKind_PRODUCT_KIND_ONLINE_SERVICE})
	if err != nil || len(products.GetProducts()) != 1 || products.GetProducts()[0].GetSkuCount() != 2 ||
		products.GetProducts()[0].GetSalesPrograms()[0] != catalogv1.SalesProgram_SALES_PROGRAM_CSP_DIRECT {
		t.Errorf("products %v %v", products, err)
	}
	skus, err := s.catalog.ListSkus(ctx, &catalogv1.ListSkusRequest{PageSize: 1, IncludeDiscontinued: true})
	if err != nil || len(skus.GetSkus()) != 1 || skus.GetNextPageToken() == "" {
		t.Errorf("skus %v %v", skus, err)
	}

	// CA-3: offers for a customer of the partner, in its market (DE): the reservation and basic.
	offers, err := s.catalog.ListPurchasableOffers(s.as(adminAgent), &catalogv1.ListPurchasableOffersRequest{
		Market: &catalogv1.ListPurchasableOffersRequest_CustomerId{CustomerId: customerID}})
	if err != nil || offers.GetCountryCode() != "DE" || len(offers.GetOffers()) != 2 {
		t.Fatalf("offers %v %v", offers, err)
	}
	o := offers.GetOffers()[0]
	if o.GetSku().GetSkuId() != basic || o.GetProduct().GetProductId() != "CFQ7TTC0LH18" || len(o.GetPrices()) != 1 ||
		o.GetPrices()[0].GetTermPrice().GetAmountMinor() != 6732 || len(o.GetViaPrograms()) != 1 {
		t.Errorf("offer %v", o)
	}
	// The contract's access rule: offers are for Admin and Sales agents (and services).
	_, err = s.catalog.ListPurchasableOffers(ctx, &catalogv1.ListPurchasableOffersRequest{
		Market: &catalogv1.ListPurchasableOffersRequest_CountryCode{CountryCode: "DE"}})
	wantStatus(t, err, codes.PermissionDenied, "ROLE_REQUIRED")
}

// The admin writes over the wire; partner tokens are refused by the contract's access rule.
func TestServer_AdminWrites(t *testing.T) {
	s := newStack(t)
	ctx := s.as(service)
	_, err := s.admin.UpsertProduct(s.as(adminAgent), &catalogv1.UpsertProductRequest{RequestId: rid()})
	wantStatus(t, err, codes.PermissionDenied, "SERVICE_TOKEN_REQUIRED")

	p, err := s.admin.UpsertProduct(ctx, &catalogv1.UpsertProductRequest{RequestId: rid(), Product: &catalogv1.Product{
		ProductId: "RHEL00000001", DisplayName: "Red Hat Enterprise Linux", Kind: catalogv1.ProductKind_PRODUCT_KIND_SOFTWARE_PLAN,
		Publisher: "Red Hat", SalesPrograms: []catalogv1.SalesProgram{catalogv1.SalesProgram_SALES_PROGRAM_CSP_INDIRECT_RESELLER}}})
	if err != nil || !p.GetCreated() || p.GetProduct().GetEtag() == "" {
		t.Fatalf("UpsertProduct %v %v", p, err)
	}
	newSku := &catalogv1.Sku{SkuId: "RHEL00000001:0001", ProductId: "RHEL00000001", DisplayName: "RHEL Server",
		TermOptions:        []*catalogv1.TermOption{{Term: catalogv1.Term_TERM_P1Y, BillingPlans: []catalogv1.BillingPlan{catalogv1.BillingPlan_BILLING_PLAN_ANNUAL}}},
		CancellationPolicy: &catalogv1.CancellationPolicy{Kind: catalogv1.CancellationPolicyKind_CANCELLATION_POLICY_KIND_NEVER},
		KeyType:            catalogv1.KeyType_KEY_TYPE_NONE, MaximumQuantity: 10,
		Availability: &catalogv1.MarketAvailability{Mode: catalogv1.AvailabilityMode_AVAILABILITY_MODE_ONLY_LISTED, CountryCodes: []string{"US"}}}
	sku, err := s.admin.UpsertSku(ctx, &catalogv1.UpsertSkuRequest{RequestId: rid(), Sku: newSku})
	if err != nil || !sku.GetCreated() || sku.GetSku().GetProductKind() != catalogv1.ProductKind_PRODUCT_KIND_SOFTWARE_PLAN {
		t.Fatalf("UpsertSku %v %v", sku, err)
	}
	kms := proto.Clone(newSku).(*catalogv1.Sku)
	kms.KeyType = catalogv1.KeyType(3) // no such value in the contract: only KMS would be one (CA-8)
	_, err = s.admin.UpsertSku(ctx, &catalogv1.UpsertSkuRequest{RequestId: rid(), Sku: kms})
	wantStatus(t, err, codes.FailedPrecondition, "KMS_NOT_ALLOWED")

	av, err := s.admin.SetAvailability(ctx, &catalogv1.SetAvailabilityRequest{RequestId: rid(), SkuId: "RHEL00000001:0001",
		Availability: &catalogv1.MarketAvailability{Mode: catalogv1.AvailabilityMode_AVAILABILITY_MODE_ONLY_LISTED, CountryCodes: []string{"US", "DE"}},
		Etag:         sku.GetSku().GetEtag()})
	if err != nil || len(av.GetSku().GetAvailability().GetCountryCodes()) != 2 {
		t.Fatalf("SetAvailability %v %v", av, err)
	}
	sp, err := s.admin.SetPrice(ctx, &catalogv1.SetPriceRequest{RequestId: rid(), SkuId: "RHEL00000001:0001", CountryCode: "US",
		Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL,
		BillingPeriodPrice: &commonv1.Money{AmountMinor: 34900, CurrencyCode: "USD"}})
	if err != nil || sp.GetPrice().GetTermPrice().GetAmountMinor() != 34900 || sp.GetPrice().GetTaxInclusive() {
		t.Fatalf("SetPrice %v %v", sp, err)
	}
	gp, err := s.catalog.GetPrice(s.as(adminAgent), &catalogv1.GetPriceRequest{SkuId: "RHEL00000001:0001", CountryCode: "US",
		Term: catalogv1.Term_TERM_P1Y, BillingPlan: catalogv1.BillingPlan_BILLING_PLAN_ANNUAL})
	if err != nil || !proto.Equal(gp.GetPrice(), sp.GetPrice()) {
		t.Errorf("GetPrice after SetPrice %v %v", gp, err)
	}
	d, err := s.admin.DiscontinueSku(ctx, &catalogv1.DiscontinueSkuRequest{RequestId: rid(), SkuId: "RHEL00000001:0001", EquivalentSkuId: basic})
	if err != nil || !d.GetSku().GetDiscontinued() || d.GetSku().GetDiscontinueTime() == nil {
		t.Fatalf("DiscontinueSku %v %v", d, err)
	}
	imp, err := s.admin.ImportCatalog(ctx, &catalogv1.ImportCatalogRequest{RequestId: rid(), Content: []byte(catalogYAML),
		Format: catalogv1.CatalogFormat_CATALOG_FORMAT_YAML, DryRun: true})
	if err != nil || !imp.GetDryRun() || imp.GetSummary().GetSkusUnchanged() != 3 || imp.GetSummary().GetPricesUnchanged() != 2 {
		t.Errorf("dry run %v %v", imp, err)
	}
	// A bad file: CATALOG_INVALID with every problem as a field violation.
	_, err = s.admin.ImportCatalog(ctx, &catalogv1.ImportCatalogRequest{RequestId: rid(),
		Content: []byte(`{"format_version": 2, "products": [{"product_id": "x", "colour": "red"}]}`), Format: catalogv1.CatalogFormat_CATALOG_FORMAT_JSON})
	_, br := wantStatus(t, err, codes.InvalidArgument, "CATALOG_INVALID")
	var fields []string
	for _, v := range br.GetFieldViolations() {
		fields = append(fields, v.GetField())
	}
	if len(fields) < 4 || fields[0] != "x.colour" || fields[1] != "format_version" {
		t.Errorf("violations %v", fields)
	}
}

// No RPC of either service answers UNIMPLEMENTED (issue 4, acceptance 1).
func TestServer_EveryRPCImplemented(t *testing.T) {
	s := newStack(t)
	ctx := s.as(service)
	c, a := s.catalog, s.admin
	calls := map[string]func() error{
		"ListProducts":      func() error { _, err := c.ListProducts(ctx, &catalogv1.ListProductsRequest{}); return err },
		"GetProduct":        func() error { _, err := c.GetProduct(ctx, &catalogv1.GetProductRequest{}); return err },
		"ListSkus":          func() error { _, err := c.ListSkus(ctx, &catalogv1.ListSkusRequest{}); return err },
		"GetSku":            func() error { _, err := c.GetSku(ctx, &catalogv1.GetSkuRequest{}); return err },
		"CheckAvailability": func() error { _, err := c.CheckAvailability(ctx, &catalogv1.CheckAvailabilityRequest{}); return err },
		"GetPrice":          func() error { _, err := c.GetPrice(ctx, &catalogv1.GetPriceRequest{}); return err },
		"ListPurchasableOffers": func() error {
			_, err := c.ListPurchasableOffers(ctx, &catalogv1.ListPurchasableOffersRequest{})
			return err
		},
		"FindEquivalentOffers": func() error {
			_, err := c.FindEquivalentOffers(ctx, &catalogv1.FindEquivalentOffersRequest{})
			return err
		},
		"ImportCatalog":   func() error { _, err := a.ImportCatalog(ctx, &catalogv1.ImportCatalogRequest{}); return err },
		"UpsertProduct":   func() error { _, err := a.UpsertProduct(ctx, &catalogv1.UpsertProductRequest{}); return err },
		"UpsertSku":       func() error { _, err := a.UpsertSku(ctx, &catalogv1.UpsertSkuRequest{}); return err },
		"SetAvailability": func() error { _, err := a.SetAvailability(ctx, &catalogv1.SetAvailabilityRequest{}); return err },
		"SetPrice":        func() error { _, err := a.SetPrice(ctx, &catalogv1.SetPriceRequest{}); return err },
		"DiscontinueSku":  func() error { _, err := a.DiscontinueSku(ctx, &catalogv1.DiscontinueSkuRequest{}); return err },
	}
	for _, sd := range []grpc.ServiceDesc{catalogv1.CatalogService_ServiceDesc, catalogv1.CatalogAdminService_ServiceDesc} {
		for _, m := range sd.Methods {
			call, ok := calls[m.MethodName]
			if !ok {
				t.Errorf("%s.%s is not called by this test", sd.ServiceName, m.MethodName)
				continue
			}
			if err := call(); status.Code(err) == codes.Unimplemented || status.Code(err) == codes.Internal {
				t.Errorf("%s.%s: %v", sd.ServiceName, m.MethodName, err)
			}
		}
	}
}
