package app_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/testkit"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/catalogfile"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/seed"
)

// A valid file is applied whole; importing it again changes nothing and says so; a changed file
// updates what changed. On both engines.
func TestImportCatalog_CreatesThenUnchanged(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		ctx := asService()
		sum, err := h.app.ImportCatalog(ctx, testCatalog, catalogfile.YAML, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := (app.ImportSummary{ProductsCreated: 4, SkusCreated: 5, PricesSet: 13}); sum != want {
			t.Errorf("first import %+v, want %+v", sum, want)
		}
		h.clock.Advance(24 * 60 * 60 * 1e9)
		sum, err = h.app.ImportCatalog(ctx, testCatalog, catalogfile.YAML, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := (app.ImportSummary{ProductsUnchanged: 4, SkusUnchanged: 5, PricesUnchanged: 13}); sum != want {
			t.Errorf("second import %+v, want %+v", sum, want)
		}
		before, _ := h.app.GetSku(ctx, basic)

		changed := bytes.Replace(testCatalog, []byte("amount_minor: 7200"), []byte("amount_minor: 7500"), 1)
		changed = bytes.Replace(changed, []byte("maximum_quantity: 300"), []byte("maximum_quantity: 250"), 1)
		sum, err = h.app.ImportCatalog(ctx, changed, catalogfile.YAML, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := (app.ImportSummary{ProductsUnchanged: 4, SkusUpdated: 1, SkusUnchanged: 4, PricesSet: 1, PricesUnchanged: 12}); sum != want {
			t.Errorf("changed import %+v, want %+v", sum, want)
		}
		after, _ := h.app.GetSku(ctx, basic)
		if after.MaximumQuantity != 250 || after.Etag == before.Etag || after.CreateTime != before.CreateTime || !after.UpdateTime.After(before.UpdateTime) {
			t.Errorf("updated SKU %+v", after)
		}
		p, _, err := h.app.GetPrice(ctx, domain.PriceKey{SkuID: basic, CountryCode: "US", Term: domain.TermP1Y, Plan: domain.PlanAnnual})
		if err != nil || p.BillingPeriodPrice.AmountMinor != 7500 {
			t.Errorf("price after import: %+v %v", p, err)
		}
	})
}

// A dry run checks and counts, and writes nothing.
func TestImportCatalog_DryRunWritesNothing(t *testing.T) {
	h := newHarness(t, testkit.SQLiteDSN(t))
	sum, err := h.app.ImportCatalog(asService(), testCatalog, catalogfile.YAML, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := (app.ImportSummary{ProductsCreated: 4, SkusCreated: 5, PricesSet: 13}); sum != want {
		t.Errorf("dry run %+v, want %+v", sum, want)
	}
	if _, err := h.app.GetSku(asService(), basic); errs.KindOf(err) != errs.NotFound {
		t.Errorf("a dry run wrote: %v", err)
	}
}

// Import validation: a bad file lists every problem with its location and writes nothing — not
// even the parts that are valid.
func TestImportCatalog_BadFileListsEveryProblemAndWritesNothing(t *testing.T) {
	testkit.ForEachDB(t, func(t *testing.T, dsn string) {
		h := newHarness(t, dsn)
		ctx := asService()
		bad := strings.NewReplacer(
			// Parser problems: an unknown field, a value of the wrong type.
			"    publisher: Microsoft\n    sales_programs: [CSP_DIRECT, OPEN]\n", "    publisher: Microsoft\n    sales_programs: [CSP_DIRECT, OPEN]\n    vendor: x\n",
			"maximum_quantity: 1000", "maximum_quantity: many",
			// CA-5: triennial on a 1-year term.
			"- {term: P1Y, billing_plans: [ANNUAL]}\n          - {term: P3Y", "- {term: P1Y, billing_plans: [ANNUAL, TRIENNIAL]}\n          - {term: P3Y",
			// CA-8: a KMS key.
			"key_type: MAK\n        maximum_quantity: 100", "key_type: KMS\n        maximum_quantity: 100",
			// CA-10: a reservation policy with a window on NEVER.
			"{kind: NEVER, window_days: 0}", "{kind: NEVER, window_days: 3}",
			// CA-4: the market's currency; ID-3: a served market.
			"{country_code: JP, term: P1Y, billing_plan: MONTHLY, billing_period_price: {amount_minor: 900, currency_code: JPY}}",
			"{country_code: JP, term: P1Y, billing_plan: MONTHLY, billing_period_price: {amount_minor: 900, currency_code: USD}}",
			"{country_code: BR, term: P1Y,", "{country_code: FR, term: P1Y,",
			// CA-9: an equivalent that does not exist.
			"equivalent_sku_id: CFQ7TTC0LH18:0001", "equivalent_sku_id: CFQ7TTC0LH18:0009",
		).Replace(string(testCatalog))
		_, err := h.app.ImportCatalog(ctx, []byte(bad), catalogfile.YAML, false)
		wantFields(t, err, domain.ReasonCatalogInvalid,
			"DG7GMGF0D7FV.vendor",
			"DG7GMGF0D7FV:0001.maximum_quantity",
			"CFQ7TTC0LH18:0001.prices[5].billing_period_price.currency_code",
			"DG7GMGF0D7FV:0001.term_options[0].billing_plans[1]",
			"DG7GMGF0D7FV:0001.prices[3].country_code",
			"DZH318Z0BQ3Q:0001.cancellation_policy.window_days",
			"DG7GMGF0FKZV:0001.key_type",
			"CFQ7TTC0LH18:0002.equivalent_sku_id",
		)
		if _, err := h.app.GetProduct(ctx, "CFQ7TTC0LH18"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("the valid parts of a refused file were written: %v", err)
		}

		// Over an existing catalog: still nothing changes.
		if _, err := h.app.ImportCatalog(ctx, testCatalog, catalogfile.YAML, false); err != nil {
			t.Fatal(err)
		}
		half := strings.Replace(strings.Replace(string(testCatalog), "amount_minor: 7200", "amount_minor: 1", 1),
			"{kind: NEVER, window_days: 0}", "{kind: NEVER, window_days: 3}", 1)
		_, err = h.app.ImportCatalog(ctx, []byte(half), catalogfile.YAML, false)
		wantFields(t, err, domain.ReasonCatalogInvalid, "DZH318Z0BQ3Q:0001.cancellation_policy.window_days")
		p, _, _ := h.app.GetPrice(ctx, domain.PriceKey{SkuID: basic, CountryCode: "US", Term: domain.TermP1Y, Plan: domain.PlanAnnual})
		if p.BillingPeriodPrice.AmountMinor != 7200 {
			t.Errorf("a refused import changed a price: %+v", p)
		}
	})
}

// A syntax error is one problem at "content", with its position; JSON works as YAML does.
func TestImportCatalog_FormatsAndSyntax(t *testing.T) {
	h := newHarness(t, testkit.SQLiteDSN(t))
	ctx := asService()
	_, err := h.app.ImportCatalog(ctx, []byte("format_version: 1\nproducts: [\n"), catalogfile.YAML, false)
	wantFields(t, err, domain.ReasonCatalogInvalid, "content")
	_, err = h.app.ImportCatalog(ctx, []byte(`{"format_version": 1, "products": [}`), catalogfile.JSON, false)
	wantFields(t, err, domain.ReasonCatalogInvalid, "content")
	_, err = h.app.ImportCatalog(ctx, testCatalog, 0, false)
	wantFields(t, err, errs.ReasonInvalidRequest, "format")
	sum, err := h.app.ImportCatalog(ctx, []byte(`{"format_version": 1, "products": [{"product_id": "CFQ7TTC0LH18",
		"display_name": "M365", "kind": "ONLINE_SERVICE", "publisher": "Microsoft", "sales_programs": ["CSP_DIRECT"],
		"skus": [{"sku_id": "CFQ7TTC0LH18:0001", "display_name": "M365", "term_options": [{"term": "P1M", "billing_plans": ["MONTHLY"]}],
		"cancellation_policy": {"kind": "PRORATED_REFUND_WINDOW", "window_days": 7}, "key_type": "NONE", "maximum_quantity": 10,
		"availability": {"mode": "ALL_EXCEPT_LISTED"}}]}]}`), catalogfile.JSON, false)
	if err != nil || sum.SkusCreated != 1 {
		t.Errorf("JSON import: %+v %v", sum, err)
	}
}

// Only partnerhub services import; the markets must be known.
func TestImportCatalog_ServiceOnlyAndMarkets(t *testing.T) {
	h := newHarness(t, testkit.SQLiteDSN(t))
	_, err := h.app.ImportCatalog(as(adminDirect), testCatalog, catalogfile.YAML, false)
	wantErr(t, err, errs.PermissionDenied, errs.ReasonServiceTokenRequired)
	_, err = h.app.ImportCatalog(context.Background(), testCatalog, catalogfile.YAML, false)
	wantErr(t, err, errs.Unauthenticated, errs.ReasonTokenMissing)
	h.markets.fail(errs.Unavailablef("identity does not answer"))
	_, err = h.app.ImportCatalog(asService(), testCatalog, catalogfile.YAML, false)
	wantErr(t, err, errs.Unavailable, errs.ReasonDependencyUnavailable)
}

// The devstack seeds an empty catalog once, from the embedded seed catalog; it passes every rule.
func TestSeedIfEmpty(t *testing.T) {
	h := newHarness(t, testkit.SQLiteDSN(t))
	seeded, sum, err := h.app.SeedIfEmpty(context.Background(), seed.File)
	if err != nil || !seeded || sum.SkusCreated < 25 {
		t.Fatalf("first start: %v %+v %v", seeded, sum, err)
	}
	seeded, _, err = h.app.SeedIfEmpty(context.Background(), seed.File)
	if err != nil || seeded {
		t.Errorf("second start: %v %v", seeded, err)
	}
	h.markets.fail(errors.New("down"))
	if _, _, err := h.app.SeedIfEmpty(context.Background(), seed.File); err != nil {
		t.Errorf("a seeded catalog needs no markets: %v", err)
	}
}
