package app_test

import (
	"slices"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/catalogfile"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/seed"
)

func key(sku, country string, t domain.Term, p domain.BillingPlan) domain.PriceKey {
	return domain.PriceKey{SkuID: sku, CountryCode: country, Term: t, Plan: p}
}

// Issue 4, acceptance 4: a malformed SKU ID, market or currency gets INVALID_ARGUMENT; an unknown
// SKU NOT_FOUND; an excluded market FAILED_PRECONDITION / MARKET_NOT_AVAILABLE with the market in
// the metadata.
func TestAcceptance4_ErrorsOfGetPriceAndSetPrice(t *testing.T) {
	h := loaded(t)
	ctx := as(adminDirect)
	_, _, err := h.app.GetPrice(ctx, key("cfq7ttc0lh18:1", "US", domain.TermP1Y, domain.PlanAnnual))
	wantFields(t, err, errs.ReasonInvalidRequest, "sku_id")
	_, _, err = h.app.GetPrice(ctx, key(basic, "usa", domain.TermP1Y, domain.PlanAnnual))
	wantFields(t, err, errs.ReasonInvalidRequest, "country_code")
	_, err = h.app.SetPrice(asService(), domain.Price{PriceKey: key(basic, "US", domain.TermP1Y, domain.PlanAnnual),
		BillingPeriodPrice: domain.Money{AmountMinor: 100, CurrencyCode: "US$"}})
	wantFields(t, err, errs.ReasonInvalidRequest, "billing_period_price.currency_code")
	_, err = h.app.SetPrice(asService(), domain.Price{PriceKey: key(basic, "US", domain.TermP1Y, domain.PlanAnnual),
		BillingPeriodPrice: domain.Money{AmountMinor: 100, CurrencyCode: "EUR"}})
	wantFields(t, err, errs.ReasonInvalidRequest, "billing_period_price.currency_code")
	_, err = h.app.GetSku(ctx, "CFQ7TTC0LH18-0001")
	wantFields(t, err, errs.ReasonInvalidRequest, "sku_id")
	_, err = h.app.CheckAvailability(ctx, basic, "de")
	wantFields(t, err, errs.ReasonInvalidRequest, "country_code")

	_, _, err = h.app.GetPrice(ctx, key("CFQ7TTC0LH18:0099", "US", domain.TermP1Y, domain.PlanAnnual))
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	_, err = h.app.GetSku(ctx, "CFQ7TTC0LH18:0099")
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)

	e := wantErr(t, func() error {
		_, _, err := h.app.GetPrice(ctx, key(azureRes, "CN", domain.TermP1Y, domain.PlanAnnual))
		return err
	}(), errs.FailedPrecondition, domain.ReasonMarketNotAvailable)
	if e.Metadata["market"] != "CN" || e.Metadata["sku_id"] != azureRes {
		t.Errorf("metadata %v", e.Metadata)
	}
}

// CA-4, CA-5, CA-6, BI-2: the price per period and per term, tax-inclusive in AU and BR only,
// the terms and plans the SKU allows, the Azure Hybrid Benefit saving.
func TestGetPrice_CA4_CA5_CA6(t *testing.T) {
	h := loaded(t)
	ctx := as(customerGA) // every role reads the catalog
	p, ahb, err := h.app.GetPrice(ctx, key(winServer, "DE", domain.TermP3Y, domain.PlanAnnual))
	if err != nil || p.BillingPeriodPrice != (domain.Money{AmountMinor: 88000, CurrencyCode: "EUR"}) ||
		p.PeriodsPerTerm() != 3 || p.TermPrice().AmountMinor != 264000 || p.TaxInclusive() || ahb != 40 {
		t.Errorf("P3Y annual in DE: %+v ahb %d %v", p, ahb, err)
	}
	if p, _, err := h.app.GetPrice(ctx, key(basic, "AU", domain.TermP1Y, domain.PlanAnnual)); err != nil || !p.TaxInclusive() {
		t.Errorf("AU is tax-inclusive (CA-4): %+v %v", p, err)
	}
	if p, _, err := h.app.GetPrice(ctx, key(winServer, "BR", domain.TermP1Y, domain.PlanAnnual)); err != nil || !p.TaxInclusive() {
		t.Errorf("BR is tax-inclusive (CA-4): %+v %v", p, err)
	}
	if p, _, err := h.app.GetPrice(ctx, key(basic, "JP", domain.TermP1Y, domain.PlanMonthly)); err != nil ||
		p.TermPrice() != (domain.Money{AmountMinor: 10800, CurrencyCode: "JPY"}) {
		t.Errorf("JPY has no minor unit: %+v %v", p, err)
	}
	// Discontinued SKUs keep their prices (renewals).
	if _, _, err := h.app.GetPrice(ctx, key(retired, "DE", domain.TermP1Y, domain.PlanAnnual)); err != nil {
		t.Errorf("discontinued SKU's price: %v", err)
	}

	e := wantErr(t, func() error {
		_, _, err := h.app.GetPrice(ctx, key(basic, "DE", domain.TermP3Y, domain.PlanAnnual))
		return err
	}(),
		errs.FailedPrecondition, domain.ReasonTermNotAllowed)
	if e.Metadata["allowed_terms"] != "P1M,P1Y" {
		t.Errorf("metadata %v", e.Metadata)
	}
	e = wantErr(t, func() error {
		_, _, err := h.app.GetPrice(ctx, key(winServer, "DE", domain.TermP1Y, domain.PlanMonthly))
		return err
	}(), errs.FailedPrecondition, domain.ReasonBillingPlanNotAllowed)
	if e.Metadata["allowed_billing_plans"] != "ANNUAL" {
		t.Errorf("metadata %v", e.Metadata)
	}
	_, _, err = h.app.GetPrice(ctx, key(basic, "GB", domain.TermP1Y, domain.PlanAnnual))
	wantErr(t, err, errs.NotFound, domain.ReasonPriceNotFound)
	// A market partnerhub does not serve is not one the SKU is sold in either.
	_, _, err = h.app.GetPrice(ctx, key(basic, "FR", domain.TermP1Y, domain.PlanAnnual))
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonMarketNotAvailable)
	// Only listed markets: the perpetual SKU is sold in DE and AT only.
	_, _, err = h.app.GetPrice(ctx, key(sqlPerp, "US", domain.TermPerpetual, domain.PlanOneTime))
	wantErr(t, err, errs.FailedPrecondition, domain.ReasonMarketNotAvailable)
	_, _, err = h.app.GetPrice(ctx, key(basic, "DE", "", domain.PlanAnnual))
	wantFields(t, err, errs.ReasonInvalidRequest, "term")
}

// SetPrice then GetPrice returns the new price at once, through the cache; a stale etag is
// refused; the SKU must sell the term and plan.
func TestSetPrice_ThenGetPrice(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		ctx := asService()
		if _, err := h.app.ImportCatalog(ctx, testCatalog, catalogfile.YAML, false); err != nil {
			t.Fatal(err)
		}
		k := key(basic, "DE", domain.TermP1Y, domain.PlanAnnual)
		old, _, err := h.app.GetPrice(ctx, k) // now cached
		if err != nil {
			t.Fatal(err)
		}
		set, err := h.app.SetPrice(ctx, domain.Price{PriceKey: k, BillingPeriodPrice: domain.Money{AmountMinor: 6999, CurrencyCode: "EUR"}, Etag: old.Etag})
		if err != nil || set.Etag == old.Etag || set.CreateTime != old.CreateTime {
			t.Fatalf("SetPrice: %+v %v", set, err)
		}
		got, _, err := h.app.GetPrice(ctx, k)
		if err != nil || got.BillingPeriodPrice.AmountMinor != 6999 || got.Etag != set.Etag {
			t.Errorf("GetPrice after SetPrice: %+v %v", got, err)
		}
		_, err = h.app.SetPrice(ctx, domain.Price{PriceKey: k, BillingPeriodPrice: domain.Money{AmountMinor: 1, CurrencyCode: "EUR"}, Etag: old.Etag})
		wantErr(t, err, errs.Aborted, errs.ReasonEtagMismatch)

		// A new price, cached as missing first: visible at once too.
		nk := key(basic, "GB", domain.TermP1Y, domain.PlanAnnual)
		_, _, err = h.app.GetPrice(ctx, nk)
		wantErr(t, err, errs.NotFound, domain.ReasonPriceNotFound)
		if _, err := h.app.SetPrice(ctx, domain.Price{PriceKey: nk, BillingPeriodPrice: domain.Money{AmountMinor: 5904, CurrencyCode: "GBP"}}); err != nil {
			t.Fatal(err)
		}
		if got, _, err := h.app.GetPrice(ctx, nk); err != nil || got.BillingPeriodPrice.AmountMinor != 5904 {
			t.Errorf("new price: %+v %v", got, err)
		}

		_, err = h.app.SetPrice(ctx, domain.Price{PriceKey: key(basic, "DE", domain.TermP3Y, domain.PlanAnnual), BillingPeriodPrice: domain.Money{AmountMinor: 1, CurrencyCode: "EUR"}})
		wantErr(t, err, errs.FailedPrecondition, domain.ReasonTermNotAllowed)
		_, err = h.app.SetPrice(ctx, domain.Price{PriceKey: key(basic, "DE", domain.TermP1M, domain.PlanAnnual), BillingPeriodPrice: domain.Money{AmountMinor: 1, CurrencyCode: "EUR"}})
		wantErr(t, err, errs.FailedPrecondition, domain.ReasonBillingPlanNotAllowed)
		_, err = h.app.SetPrice(ctx, domain.Price{PriceKey: key("CFQ7TTC0LH18:0099", "DE", domain.TermP1Y, domain.PlanAnnual), BillingPeriodPrice: domain.Money{AmountMinor: 1, CurrencyCode: "EUR"}})
		wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
		_, err = h.app.SetPrice(ctx, domain.Price{PriceKey: key(basic, "FR", domain.TermP1Y, domain.PlanAnnual), BillingPeriodPrice: domain.Money{AmountMinor: 1, CurrencyCode: "EUR"}})
		wantFields(t, err, errs.ReasonInvalidRequest, "country_code")
		_, err = h.app.SetPrice(ctx, domain.Price{PriceKey: key(basic, "DE", domain.TermP1Y, domain.PlanAnnual), BillingPeriodPrice: domain.Money{AmountMinor: -1, CurrencyCode: "EUR"}})
		wantFields(t, err, errs.ReasonInvalidRequest, "billing_period_price.amount_minor")
		_, err = h.app.SetPrice(as(adminDirect), domain.Price{PriceKey: k, BillingPeriodPrice: domain.Money{AmountMinor: 1, CurrencyCode: "EUR"}})
		wantErr(t, err, errs.PermissionDenied, errs.ReasonServiceTokenRequired)
	})
}

// Warm reads do not reach the database: a thousand GetSku and GetPrice cost nothing after the
// first.
func TestReads_WarmCacheNoStoreReads(t *testing.T) {
	h := loaded(t)
	ctx := as(adminDirect)
	if _, err := h.app.GetSku(ctx, basic); err != nil {
		t.Fatal(err)
	}
	k := key(basic, "DE", domain.TermP1Y, domain.PlanAnnual)
	if _, _, err := h.app.GetPrice(ctx, k); err != nil {
		t.Fatal(err)
	}
	before := h.storeReads()
	for range 1000 {
		if _, err := h.app.GetSku(ctx, basic); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.app.GetPrice(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.storeReads() - before; n != 0 {
		t.Errorf("%v store reads for 2,000 warm lookups", n)
	}
}

// CheckAvailability: being unavailable is an answer, with the reason an order would meet first
// (ID-3 unserved country, CA-9 discontinued with the equivalent, CA-2 the SKU's markets).
func TestCheckAvailability_CA2_CA9_ID3(t *testing.T) {
	h := loaded(t)
	ctx := as(adminDirect)
	for _, c := range []struct {
		sku, country string
		want         app.Availability
	}{
		{basic, "DE", app.Availability{Available: true}},
		{azureRes, "US", app.Availability{Available: true}},
		{azureRes, "CN", app.Availability{Reason: domain.ReasonMarketNotAvailable}},
		{azureRes, "MM", app.Availability{Reason: domain.ReasonMarketNotAvailable}},
		{sqlPerp, "AT", app.Availability{Available: true}},
		{sqlPerp, "US", app.Availability{Reason: domain.ReasonMarketNotAvailable}},
		{basic, "FR", app.Availability{Reason: domain.ReasonCountryNotSupported}},
		{retired, "DE", app.Availability{Reason: domain.ReasonSkuDiscontinued, Equivalent: basic}},
		{retired, "FR", app.Availability{Reason: domain.ReasonCountryNotSupported}},
	} {
		got, err := h.app.CheckAvailability(ctx, c.sku, c.country)
		got.Message = ""
		if err != nil || got != c.want {
			t.Errorf("%s in %s: %+v %v, want %+v", c.sku, c.country, got, err, c.want)
		}
	}
	_, err := h.app.CheckAvailability(ctx, "CFQ7TTC0LH18:0099", "DE")
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	h.markets.fail(errs.Unavailablef("identity does not answer"))
	_, err = h.app.CheckAvailability(ctx, basic, "DE")
	wantErr(t, err, errs.Unavailable, errs.ReasonDependencyUnavailable)
}

// The seed catalog (CA-2, CA-4): its Azure Reservations are unavailable in every market their
// list excludes and available in DE and US; AU and BR prices are tax-inclusive, the others not.
func TestSeedCatalog_CA2_CA4(t *testing.T) {
	h := newHarness(t, testkit.SQLiteDSN(t))
	ctx := asService()
	if _, err := h.app.ImportCatalog(ctx, seed.File, catalogfile.YAML, false); err != nil {
		t.Fatal(err)
	}
	page, err := h.app.ListSkus(ctx, app.ListSkusQuery{PageSize: 500, Kind: domain.KindAzureReservation})
	if err != nil || len(page.Skus) == 0 {
		t.Fatalf("Azure Reservations: %v %v", page.Skus, err)
	}
	for _, s := range page.Skus {
		if s.Availability.Mode != domain.AllExceptListed || len(s.Availability.Countries) < 90 {
			t.Errorf("%s excludes %d markets", s.ID, len(s.Availability.Countries))
		}
		for _, c := range s.Availability.Countries {
			if _, served := currencies[c]; !served {
				continue // the fake serves a few markets; an unserved one is refused for that
			}
			if a, err := h.app.CheckAvailability(ctx, s.ID, c); err != nil || a.Reason != domain.ReasonMarketNotAvailable {
				t.Errorf("%s in %s: %+v %v", s.ID, c, a, err)
			}
		}
		for _, c := range []string{"DE", "US"} {
			if a, err := h.app.CheckAvailability(ctx, s.ID, c); err != nil || !a.Available {
				t.Errorf("%s in %s: %+v %v", s.ID, c, a, err)
			}
		}
		for _, c := range []string{"CN", "MM", "AX"} {
			if !slices.Contains(s.Availability.Countries, c) {
				t.Errorf("%s is sold in %s (seed 004)", s.ID, c)
			}
		}
	}
	all, err := h.app.ListSkus(ctx, app.ListSkusQuery{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all.Skus {
		for _, o := range s.TermOptions {
			for _, pl := range o.Plans {
				for c := range map[string]bool{"US": false, "DE": false, "AT": false, "GB": false, "AU": true, "BR": true, "JP": false} {
					p, _, err := h.app.GetPrice(ctx, key(s.ID, c, o.Term, pl))
					if errs.KindOf(err) == errs.FailedPrecondition {
						continue // not sold there
					}
					if err != nil {
						t.Errorf("%s %s %s %s: %v", s.ID, c, o.Term, pl, err)
						continue
					}
					if p.TaxInclusive() != (c == "AU" || c == "BR") || p.BillingPeriodPrice.CurrencyCode != currencies[c] {
						t.Errorf("%s in %s: %+v", s.ID, c, p)
					}
				}
			}
		}
	}
}

// CA-9, SU-14: the SKU itself while it is sold, else the first SKU still sold along its chain of
// equivalents; none when the chain breaks.
func TestFindEquivalentOffers_CA9_SU14(t *testing.T) {
	h := loaded(t)
	ctx := as(adminDirect)
	got, err := h.app.FindEquivalentOffers(ctx, basic, "")
	if err != nil || len(got) != 1 || !got[0].Same || got[0].Sku.ID != basic || !got[0].AvailableInMarket {
		t.Errorf("sold SKU: %+v %v", got, err)
	}
	got, err = h.app.FindEquivalentOffers(ctx, retired, "DE")
	if err != nil || len(got) != 1 || got[0].Same || got[0].Sku.ID != basic || !got[0].AvailableInMarket {
		t.Errorf("discontinued SKU: %+v %v", got, err)
	}
	// A chain: basic is discontinued in favour of winServer; retired leads there through basic.
	if _, err := h.app.DiscontinueSku(asService(), basic, winServer, ""); err != nil {
		t.Fatal(err)
	}
	got, err = h.app.FindEquivalentOffers(ctx, retired, "CN")
	if err != nil || len(got) != 1 || got[0].Same || got[0].Sku.ID != winServer || !got[0].AvailableInMarket {
		t.Errorf("chain: %+v %v", got, err)
	}
	got, err = h.app.FindEquivalentOffers(ctx, azureRes, "CN")
	if err != nil || len(got) != 1 || got[0].AvailableInMarket {
		t.Errorf("not sold in CN: %+v %v", got, err)
	}
	_, err = h.app.FindEquivalentOffers(ctx, "CFQ7TTC0LH18:0099", "")
	wantErr(t, err, errs.NotFound, errs.ReasonResourceNotFound)
	_, err = h.app.FindEquivalentOffers(ctx, basic, "Germany")
	wantFields(t, err, errs.ReasonInvalidRequest, "country_code")
}

// Lists: filters, pages and their tokens (which belong to their query).
func TestListSkusAndProducts_Paging(t *testing.T) {
	h := loaded(t)
	ctx := as(adminDirect)
	var ids []string
	token := ""
	for {
		page, err := h.app.ListSkus(ctx, app.ListSkusQuery{PageSize: 2, PageToken: token, IncludeDiscontinued: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Skus {
			ids = append(ids, s.ID)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if want := []string{basic, retired, winServer, sqlPerp, azureRes}; !slices.Equal(ids, want) {
		t.Errorf("paged SKUs %v, want %v", ids, want)
	}
	first, _ := h.app.ListSkus(ctx, app.ListSkusQuery{PageSize: 1})
	_, err := h.app.ListSkus(ctx, app.ListSkusQuery{PageSize: 1, PageToken: first.NextPageToken, Country: "DE"})
	wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidPageToken)
	_, err = h.app.ListSkus(ctx, app.ListSkusQuery{PageToken: "garbage"})
	wantErr(t, err, errs.InvalidArgument, errs.ReasonInvalidPageToken)

	if page, err := h.app.ListSkus(ctx, app.ListSkusQuery{Country: "CN"}); err != nil || len(page.Skus) != 2 {
		t.Errorf("sold in CN: %v %v", page.Skus, err)
	}
	if page, err := h.app.ListSkus(ctx, app.ListSkusQuery{Country: "FR"}); err != nil || len(page.Skus) != 0 {
		t.Errorf("unserved country: %v %v", page.Skus, err)
	}
	page, err := h.app.ListProducts(ctx, app.ListProductsQuery{Kind: domain.KindOnlineService})
	if err != nil || len(page.Products) != 1 || page.Products[0].SkuCount != 2 {
		t.Errorf("online services: %+v %v", page.Products, err)
	}
	if page, err := h.app.ListProducts(ctx, app.ListProductsQuery{Country: "US"}); err != nil || len(page.Products) != 3 {
		t.Errorf("with a SKU sold in the US: %+v %v", page.Products, err)
	}
	_, err = h.app.ListProducts(ctx, app.ListProductsQuery{Kind: "HARDWARE", Country: "de", PageSize: -1})
	wantFields(t, err, errs.ReasonInvalidRequest, "page_size")
	_, err = h.app.ListProducts(ctx, app.ListProductsQuery{Kind: "HARDWARE", Country: "de"})
	wantFields(t, err, errs.ReasonInvalidRequest, "kind", "country_code")
	if p, err := h.app.GetProduct(ctx, "DG7GMGF0D7FV"); err != nil || p.Kind != domain.KindSoftwareSubscription {
		t.Errorf("GetProduct: %+v %v", p, err)
	}
	_, err = h.app.GetProduct(ctx, "DG7GMGF0D7F")
	wantFields(t, err, errs.ReasonInvalidRequest, "product_id")
}
