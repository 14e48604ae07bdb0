package domain_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	commonv1 "github.com/partnerhub/partnerhub/gen/partnerhub/common/v1"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

var now = time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)

func price(sku, country string, t domain.Term, p domain.BillingPlan, amount int64, cur string) domain.Price {
	return domain.Price{PriceKey: domain.PriceKey{SkuID: sku, CountryCode: country, Term: t, Plan: p},
		BillingPeriodPrice: domain.Money{AmountMinor: amount, CurrencyCode: cur}}
}

// twoProducts is a valid file: Business Basic (with a discontinued SKU whose equivalent is its
// sold one) and Windows Server.
func twoProducts() domain.Catalog {
	basic := onlineSku()
	old := onlineSku()
	old.ID, old.Discontinued, old.EquivalentSkuID = "CFQ7TTC0LH18:0002", true, basic.ID
	ws := softwareSubscriptionSku()
	wsp := product(domain.KindSoftwareSubscription)
	wsp.ID, wsp.DisplayName = ws.ProductID, "Windows Server 2022 Standard"
	return domain.Catalog{FormatVersion: 1, Products: []domain.CatalogProduct{
		{Product: product(domain.KindOnlineService), Skus: []domain.CatalogSku{
			{Sku: basic, Prices: []domain.Price{
				price(basic.ID, "US", domain.TermP1Y, domain.PlanAnnual, 7200, "USD"),
				price(basic.ID, "JP", domain.TermP1M, domain.PlanMonthly, 1080, "JPY"),
			}},
			{Sku: old},
		}},
		{Product: wsp, Skus: []domain.CatalogSku{{Sku: ws, Prices: []domain.Price{
			price(ws.ID, "DE", domain.TermP3Y, domain.PlanTriennial, 300000, "EUR"),
		}}}},
	}}
}

func emptyStore() domain.Stored { return domain.Stored{} }

func TestCheckCatalog_ValidFile(t *testing.T) {
	if v := domain.CheckCatalog(twoProducts(), markets, emptyStore()); len(v) > 0 {
		t.Errorf("violations %v", v)
	}
}

// Every problem of a file is reported, each at its location, in file order.
func TestCheckCatalog_ReportsEveryProblemWithItsLocation(t *testing.T) {
	c := twoProducts()
	c.FormatVersion = 2
	basic := &c.Products[0].Skus[0]
	basic.Sku.TermOptions[1].Plans = append(basic.Sku.TermOptions[1].Plans, domain.PlanTriennial)               // CA-5
	basic.Prices = append(basic.Prices, price(basic.Sku.ID, "US", domain.TermP1Y, domain.PlanAnnual, 1, "USD")) // duplicate key
	basic.Prices[1].BillingPeriodPrice.CurrencyCode = "USD"                                                     // CA-4
	c.Products[1].Skus = append(c.Products[1].Skus, c.Products[1].Skus[0])                                      // duplicate SKU
	c.Products = append(c.Products, domain.CatalogProduct{Product: domain.Product{DisplayName: "no ID"}})       // many problems
	v := domain.CheckCatalog(c, markets, emptyStore())
	want := []string{
		"format_version",
		"CFQ7TTC0LH18:0001.term_options[1].billing_plans[2]",
		"CFQ7TTC0LH18:0001.prices[1].billing_period_price.currency_code",
		"CFQ7TTC0LH18:0001.prices[2]",
		"DG7GMGF0D7FV:0002.sku_id",
		"products[2].product_id",
		"products[2].kind",
		"products[2].publisher",
		"products[2].sales_programs",
		"products[2].skus",
	}
	if got := fields(v); !slices.Equal(got, want) {
		t.Errorf("locations\n%v\nwant\n%v\n(%v)", got, want, v)
	}
}

// CA-9: a discontinued SKU's equivalent exists, in the file or the store, and is sold.
func TestCheckCatalog_CA9_Equivalents(t *testing.T) {
	const loc = "CFQ7TTC0LH18:0002.equivalent_sku_id"
	t.Run("unknown", func(t *testing.T) {
		c := twoProducts()
		c.Products[0].Skus[1].Sku.EquivalentSkuID = "CFQ7TTC0XXXX:0001"
		if got := fields(domain.CheckCatalog(c, markets, emptyStore())); !slices.Equal(got, []string{loc}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("in the store", func(t *testing.T) {
		c := twoProducts()
		c.Products[0].Skus[1].Sku.EquivalentSkuID = "CFQ7TTC0XXXX:0001"
		st := domain.Stored{Skus: map[string]domain.Sku{"CFQ7TTC0XXXX:0001": {ID: "CFQ7TTC0XXXX:0001"}}}
		if v := domain.CheckCatalog(c, markets, st); len(v) > 0 {
			t.Errorf("got %v", v)
		}
	})
	t.Run("discontinued in the file", func(t *testing.T) {
		c := twoProducts()
		ws := &c.Products[1].Skus[0].Sku
		ws.Discontinued, ws.EquivalentSkuID = true, "CFQ7TTC0LH18:0001"
		c.Products[0].Skus[1].Sku.EquivalentSkuID = ws.ID
		if got := fields(domain.CheckCatalog(c, markets, emptyStore())); !slices.Equal(got, []string{loc}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("discontinued in the store", func(t *testing.T) {
		c := twoProducts()
		c.Products[0].Skus[1].Sku.EquivalentSkuID = "CFQ7TTC0XXXX:0001"
		st := domain.Stored{Skus: map[string]domain.Sku{"CFQ7TTC0XXXX:0001": {ID: "CFQ7TTC0XXXX:0001", Discontinued: true}}}
		if got := fields(domain.CheckCatalog(c, markets, st)); !slices.Equal(got, []string{loc}) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("already named and discontinued since: a chain, not re-checked", func(t *testing.T) {
		c := twoProducts()
		c.Products[0].Skus[1].Sku.EquivalentSkuID = "CFQ7TTC0XXXX:0001"
		st := domain.Stored{Skus: map[string]domain.Sku{
			"CFQ7TTC0XXXX:0001": {ID: "CFQ7TTC0XXXX:0001", Discontinued: true, EquivalentSkuID: "CFQ7TTC0LH18:0001"},
			"CFQ7TTC0LH18:0002": {ID: "CFQ7TTC0LH18:0002", Discontinued: true, EquivalentSkuID: "CFQ7TTC0XXXX:0001"},
		}}
		if v := domain.CheckCatalog(c, markets, st); len(v) > 0 {
			t.Errorf("got %v", v)
		}
	})
}

// CA-1, CA-10: a product's kind changes only if the file restates every stored SKU of it.
func TestCheckCatalog_CA1_KindChange(t *testing.T) {
	c := twoProducts()
	st := domain.Stored{
		Products:   map[string]domain.Product{"CFQ7TTC0LH18": product(domain.KindSoftwarePlan)},
		ProductSku: map[string][]string{"CFQ7TTC0LH18": {"CFQ7TTC0LH18:0001", "CFQ7TTC0LH18:0002"}},
	}
	if v := domain.CheckCatalog(c, markets, st); len(v) > 0 {
		t.Errorf("every SKU restated: %v", v)
	}
	st.ProductSku["CFQ7TTC0LH18"] = append(st.ProductSku["CFQ7TTC0LH18"], "CFQ7TTC0LH18:0009")
	if got := fields(domain.CheckCatalog(c, markets, st)); !slices.Equal(got, []string{"CFQ7TTC0LH18.kind"}) {
		t.Errorf("a stored SKU not restated: %v", got)
	}
}

func TestMerge_CreatedUpdatedUnchanged(t *testing.T) {
	p, ch := domain.MergeProduct(domain.Product{}, false, product(domain.KindOnlineService), now)
	if ch != domain.Created || p.Etag == "" || !p.CreateTime.Equal(domain.Instant(now)) || p.CreateTime != p.UpdateTime {
		t.Fatalf("create: %v %+v", ch, p)
	}
	// The same content in another order is unchanged: programs are a set.
	in := product(domain.KindOnlineService)
	slices.Reverse(in.SalesPrograms)
	if again, ch := domain.MergeProduct(p, true, in, now.Add(time.Hour)); ch != domain.Unchanged || !reflect.DeepEqual(again, p) {
		t.Errorf("same content: %v %+v", ch, again)
	}
	in.DisplayName = "Microsoft 365 Business Basic (no Teams)"
	upd, ch := domain.MergeProduct(p, true, in, now.Add(time.Hour))
	if ch != domain.Updated || upd.Etag == p.Etag || upd.CreateTime != p.CreateTime || !upd.UpdateTime.Equal(domain.Instant(now.Add(time.Hour))) {
		t.Errorf("update: %v %+v", ch, upd)
	}

	s, ch := domain.MergeSku(domain.Sku{}, false, onlineSku(), domain.KindOnlineService, domain.SkuWrite{}, now)
	if ch != domain.Created || s.ProductKind != domain.KindOnlineService || s.Discontinued {
		t.Fatalf("create SKU: %v %+v", ch, s)
	}
	// UpsertSku keeps availability and discontinuation as stored (contract).
	cur, _ := s.Discontinue("CFQ7TTC0LDPB:0001", now)
	in2 := onlineSku()
	in2.Availability = domain.Availability{Mode: domain.OnlyListed, Countries: []string{"DE"}}
	kept, ch := domain.MergeSku(cur, true, in2, domain.KindOnlineService, domain.SkuWrite{}, now.Add(time.Hour))
	if ch != domain.Unchanged || !kept.Discontinued || kept.Availability.Mode != domain.AllExceptListed {
		t.Errorf("upsert over a discontinued SKU: %v %+v", ch, kept)
	}

	pr, ch := domain.MergePrice(domain.Price{}, false, price("X", "DE", domain.TermP1Y, domain.PlanAnnual, 100, "EUR"), now)
	if ch != domain.Created {
		t.Fatal(ch)
	}
	if _, ch := domain.MergePrice(pr, true, price("X", "DE", domain.TermP1Y, domain.PlanAnnual, 100, "EUR"), now); ch != domain.Unchanged {
		t.Errorf("same price: %v", ch)
	}
	if p2, ch := domain.MergePrice(pr, true, price("X", "DE", domain.TermP1Y, domain.PlanAnnual, 101, "EUR"), now.Add(time.Hour)); ch != domain.Updated || p2.CreateTime != pr.CreateTime {
		t.Errorf("new amount: %v %+v", ch, p2)
	}
}

// CA-9: discontinuing is dated once; naming the same equivalent again is a no-op, another one
// replaces it and keeps the date.
func TestDiscontinue_CA9(t *testing.T) {
	s, _ := domain.MergeSku(domain.Sku{}, false, onlineSku(), domain.KindOnlineService, domain.SkuWrite{}, now)
	d, ch := s.Discontinue("CFQ7TTC0LDPB:0001", now.Add(time.Hour))
	if ch != domain.Updated || !d.Discontinued || d.EquivalentSkuID != "CFQ7TTC0LDPB:0001" || !d.DiscontinueTime.Equal(domain.Instant(now.Add(time.Hour))) {
		t.Fatalf("discontinue: %v %+v", ch, d)
	}
	if again, ch := d.Discontinue("CFQ7TTC0LDPB:0001", now.Add(2*time.Hour)); ch != domain.Unchanged || again.Etag != d.Etag {
		t.Errorf("same equivalent: %v", ch)
	}
	other, ch := d.Discontinue("CFQ7TTC0LDPC:0001", now.Add(2*time.Hour))
	if ch != domain.Updated || other.EquivalentSkuID != "CFQ7TTC0LDPC:0001" || !other.DiscontinueTime.Equal(d.DiscontinueTime) {
		t.Errorf("another equivalent: %v %+v", ch, other)
	}
}

// CA-9, SU-14: a chain of discontinued SKUs leads to the first one still sold; a loop or an
// unknown SKU leads nowhere.
func TestEquivalents_CA9_Chains(t *testing.T) {
	skus := map[string]domain.Sku{
		"A": {ID: "A", Discontinued: true, EquivalentSkuID: "B"},
		"B": {ID: "B", Discontinued: true, EquivalentSkuID: "C"},
		"C": {ID: "C"},
		"L": {ID: "L", Discontinued: true, EquivalentSkuID: "M"},
		"M": {ID: "M", Discontinued: true, EquivalentSkuID: "L"},
		"U": {ID: "U", Discontinued: true, EquivalentSkuID: "gone"},
	}
	next := func(id string) (domain.Sku, bool, error) { s, ok := skus[id]; return s, ok, nil }
	for from, want := range map[string]string{"A": "C", "B": "C", "C": "C", "L": "", "U": ""} {
		got, ok, err := domain.Equivalents(skus[from], next)
		if err != nil || (ok && got.ID != want) || (!ok && want != "") {
			t.Errorf("%s: %v %v %v, want %q", from, got.ID, ok, err, want)
		}
	}
}

// BI-2, CA-5: periods per term and the exact term price.
func TestPrice_BI2_TermPrice(t *testing.T) {
	for _, c := range []struct {
		t       domain.Term
		p       domain.BillingPlan
		periods int32
	}{
		{domain.TermP1M, domain.PlanMonthly, 1}, {domain.TermP1Y, domain.PlanMonthly, 12}, {domain.TermP1Y, domain.PlanAnnual, 1},
		{domain.TermP3Y, domain.PlanAnnual, 3}, {domain.TermP3Y, domain.PlanTriennial, 1}, {domain.TermPerpetual, domain.PlanOneTime, 1},
	} {
		p := price("X", "JP", c.t, c.p, 1875, "JPY")
		if p.PeriodsPerTerm() != c.periods || p.TermPrice() != (domain.Money{AmountMinor: 1875 * int64(c.periods), CurrencyCode: "JPY"}) {
			t.Errorf("%s %s: %d periods, term price %v", c.t, c.p, p.PeriodsPerTerm(), p.TermPrice())
		}
	}
}

// CA-4: prices include taxes in Australia and Brazil only.
func TestTaxInclusive_CA4(t *testing.T) {
	for c, want := range map[string]bool{"AU": true, "BR": true, "US": false, "DE": false, "GB": false, "JP": false, "AT": false} {
		if domain.TaxInclusive(c) != want {
			t.Errorf("%s: %v", c, !want)
		}
	}
}

// CA-2: a list excludes or includes per its mode.
func TestAvailability_CA2(t *testing.T) {
	except := domain.Availability{Mode: domain.AllExceptListed, Countries: []string{"CN", "MM"}}
	only := domain.Availability{Mode: domain.OnlyListed, Countries: []string{"DE"}}
	if except.Includes("CN") || !except.Includes("DE") || !only.Includes("DE") || only.Includes("US") || (domain.Availability{}).Includes("DE") {
		t.Error("Includes")
	}
}

// Every reason the catalog raises exists in the contract's ErrorReason enum.
func TestReasons_InContract(t *testing.T) {
	for _, r := range domain.Reasons() {
		if _, ok := commonv1.ErrorReason_value["ERROR_REASON_"+string(r)]; !ok {
			t.Errorf("%s is not in partnerhub.common.v1.ErrorReason", r)
		}
	}
}
