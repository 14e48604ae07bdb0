package catalogfile_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/catalog/internal/catalogfile"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/seed"
)

const example = `format_version: 1
products:
  - product_id: CFQ7TTC0LH18          # 12 upper-case letters/digits
    display_name: Microsoft 365 Business Basic
    description: Web and mobile apps
    kind: ONLINE_SERVICE
    publisher: Microsoft
    sales_programs: [CSP_DIRECT, CSP_INDIRECT_RESELLER]
    skus:
      - sku_id: CFQ7TTC0LH18:0001
        display_name: Business Basic
        term_options:
          - {term: P1M, billing_plans: [MONTHLY]}
          - {term: P1Y, billing_plans: [MONTHLY, ANNUAL]}
        cancellation_policy: {kind: PRORATED_REFUND_WINDOW, window_days: 7}
        autorenew_default: {enabled: true, effective_from: "2021-10-14T00:00:00Z", renewable: true}
        key_type: NONE
        download_variants:
          - {variant_id: 2022-en-us-iso-x64, version: "2022", language: en-US, file_type: ISO, operating_system: Windows x64, size_bytes: 5368709120}
        installation_instructions_url: ""
        maximum_quantity: 300
        availability: {mode: ALL_EXCEPT_LISTED, country_codes: [CN]}
        azure_hybrid_benefit_max_saving_percent: 0
        discontinued: false
        equivalent_sku_id: ""
        prices:
          - {country_code: US, term: P1Y, billing_plan: ANNUAL, billing_period_price: {amount_minor: 7200, currency_code: USD}}
`

func parse(t *testing.T, content string, f catalogfile.Format) (domain.Catalog, errs.Violations) {
	t.Helper()
	c, v, readable := catalogfile.Parse([]byte(content), f)
	if !readable {
		t.Fatalf("unreadable: %v", v)
	}
	return c, v
}

// The format of FORMAT.md: proto field names, enums without prefix, RFC 3339 times, money in
// minor units. SKUs take their product's ID; prices their SKU's.
func TestParse_YAML(t *testing.T) {
	c, v := parse(t, example, catalogfile.YAML)
	if len(v) > 0 {
		t.Fatal(v)
	}
	want := domain.Catalog{FormatVersion: 1, Products: []domain.CatalogProduct{{
		Product: domain.Product{ID: "CFQ7TTC0LH18", DisplayName: "Microsoft 365 Business Basic", Description: "Web and mobile apps",
			Kind: domain.KindOnlineService, Publisher: "Microsoft",
			SalesPrograms: []domain.SalesProgram{domain.ProgramCSPDirect, domain.ProgramCSPIndirectReseller}},
		Skus: []domain.CatalogSku{{
			Sku: domain.Sku{ID: "CFQ7TTC0LH18:0001", ProductID: "CFQ7TTC0LH18", DisplayName: "Business Basic",
				TermOptions: []domain.TermOption{
					{Term: domain.TermP1M, Plans: []domain.BillingPlan{domain.PlanMonthly}},
					{Term: domain.TermP1Y, Plans: []domain.BillingPlan{domain.PlanMonthly, domain.PlanAnnual}},
				},
				Cancellation: domain.CancellationPolicy{Kind: domain.CancelProratedRefundWindow, WindowDays: 7},
				AutoRenew:    domain.AutoRenewDefault{Enabled: true, EffectiveFrom: time.Date(2021, 10, 14, 0, 0, 0, 0, time.UTC), Renewable: true},
				KeyType:      domain.KeyNone,
				DownloadVariants: []domain.DownloadVariant{{ID: "2022-en-us-iso-x64", Version: "2022", Language: "en-US",
					FileType: "ISO", OperatingSystem: "Windows x64", SizeBytes: 5368709120}},
				MaximumQuantity: 300,
				Availability:    domain.Availability{Mode: domain.AllExceptListed, Countries: []string{"CN"}},
			},
			Prices: []domain.Price{{PriceKey: domain.PriceKey{SkuID: "CFQ7TTC0LH18:0001", CountryCode: "US", Term: domain.TermP1Y, Plan: domain.PlanAnnual},
				BillingPeriodPrice: domain.Money{AmountMinor: 7200, CurrencyCode: "USD"}}},
		}},
	}}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", c, want)
	}
}

// JSON is the same structure; the same file in JSON reads the same.
func TestParse_JSONSameAsYAML(t *testing.T) {
	var doc any
	if err := yaml.Unmarshal([]byte(example), &doc); err != nil {
		t.Fatal(err)
	}
	j, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, _ := parse(t, example, catalogfile.YAML)
	fromJSON, v := parse(t, string(j), catalogfile.JSON)
	if len(v) > 0 || !reflect.DeepEqual(fromJSON, fromYAML) {
		t.Errorf("JSON: %v\n%+v\nYAML:\n%+v", v, fromJSON, fromYAML)
	}
}

// Omitted fields take zero values.
func TestParse_OmittedFieldsAreZero(t *testing.T) {
	c, v := parse(t, "format_version: 1\nproducts:\n  - product_id: CFQ7TTC0LH18\n    skus:\n      - sku_id: CFQ7TTC0LH18:0001\n", catalogfile.YAML)
	if len(v) > 0 {
		t.Fatal(v)
	}
	s := c.Products[0].Skus[0].Sku
	if s.ProductID != "CFQ7TTC0LH18" || s.KeyType != "" || s.MaximumQuantity != 0 || s.TermOptions != nil || s.Discontinued {
		t.Errorf("%+v", s)
	}
}

// Unknown fields and values of the wrong type are errors, each at its location with line and
// column, all of them at once.
func TestParse_EveryShapeProblemWithLocation(t *testing.T) {
	bad := strings.NewReplacer(
		"    publisher: Microsoft\n", "    publisher: Microsoft\n    vendor: Contoso\n",
		"maximum_quantity: 300", "maximum_quantity: lots",
		"{kind: PRORATED_REFUND_WINDOW, window_days: 7}", "{kind: PRORATED_REFUND_WINDOW, window_days: 7, fee: 0}",
		`effective_from: "2021-10-14T00:00:00Z"`, `effective_from: "14.10.2021"`,
		"discontinued: false", "discontinued: nope",
		"amount_minor: 7200", "amount_minor: 72.00",
		"        equivalent_sku_id: \"\"\n", "        equivalent_sku_id: \"\"\n        product_id: CFQ7TTC0LDPB\n",
	).Replace(example)
	_, v := parse(t, bad, catalogfile.YAML)
	want := []string{
		"CFQ7TTC0LH18.vendor",
		"CFQ7TTC0LH18:0001.cancellation_policy.fee",
		"CFQ7TTC0LH18:0001.autorenew_default.effective_from",
		"CFQ7TTC0LH18:0001.maximum_quantity",
		"CFQ7TTC0LH18:0001.discontinued",
		"CFQ7TTC0LH18:0001.prices[0].billing_period_price.amount_minor",
		"CFQ7TTC0LH18:0001.product_id",
	}
	var got []string
	for _, x := range v {
		got = append(got, x.Field)
		if !strings.Contains(x.Description, "line ") || !strings.Contains(x.Description, "column ") {
			t.Errorf("%s: %q has no position", x.Field, x.Description)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v\n(%v)", got, want, v)
	}
	if !strings.Contains(v[0].Description, "line 8, column 5") {
		t.Errorf("unknown field vendor: %q, want line 8, column 5", v[0].Description)
	}
}

// A key given twice is reported where it is given again.
func TestParse_DuplicateKey(t *testing.T) {
	_, v := parse(t, "format_version: 1\nformat_version: 1\n", catalogfile.YAML)
	if len(v) != 1 || v[0].Field != "format_version" || !strings.Contains(v[0].Description, "line 2, column 1") {
		t.Errorf("%v", v)
	}
}

// A file that cannot be read at all is one problem at "content", with its position.
func TestParse_SyntaxErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		content string
		f       catalogfile.Format
		says    string
	}{
		{"empty", "  \n", catalogfile.YAML, "empty"},
		{"not UTF-8", "format_version: 1\nproducts: \xff\n", catalogfile.YAML, "UTF-8"},
		{"YAML", "format_version: 1\nproducts:\n  - product_id: [unclosed\n", catalogfile.YAML, "line "},
		{"two YAML documents", "format_version: 1\n---\nformat_version: 1\n", catalogfile.YAML, "one YAML document"},
		{"JSON", "{\n  \"format_version\": 1,\n  \"products\": [}\n", catalogfile.JSON, "line 3, column 16"},
		{"JSON truncated", "{\"format_version\": 1", catalogfile.JSON, "line 1, column 21"},
		{"JSON trailing data", "{} {}", catalogfile.JSON, "after the JSON value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, v, readable := catalogfile.Parse([]byte(c.content), c.f)
			if readable || len(v) != 1 || v[0].Field != "content" || !strings.Contains(v[0].Description, c.says) {
				t.Errorf("readable %v, %v; want one problem at content saying %q", readable, v, c.says)
			}
		})
	}
}

// The seed catalog reads without a problem and passes every rule against the markets it prices.
func TestParse_SeedCatalog(t *testing.T) {
	c, v := parse(t, string(seed.File), catalogfile.YAML)
	if len(v) > 0 {
		t.Fatalf("shape: %v", v)
	}
	currency := map[string]string{"US": "USD", "DE": "EUR", "AT": "EUR", "GB": "GBP", "AU": "AUD", "BR": "BRL", "JP": "JPY"}
	rules := domain.CheckCatalog(c, func(cc string) (domain.Market, bool) {
		cur, ok := currency[cc]
		return domain.Market{CountryCode: cc, CurrencyCode: cur}, ok
	}, domain.Stored{})
	if len(rules) > 0 {
		t.Errorf("rules: %v", rules)
	}
	skus := 0
	for _, p := range c.Products {
		skus += len(p.Skus)
	}
	if skus < 25 {
		t.Errorf("%d SKUs, the issue asks for at least 25", skus)
	}
}
