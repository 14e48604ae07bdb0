package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

func fields(v errs.Violations) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = x.Field
	}
	return out
}

// The examples are valid: every test below breaks exactly one thing.
func TestCheck_ValidExamples(t *testing.T) {
	for _, c := range []struct {
		kind domain.ProductKind
		sku  domain.Sku
	}{
		{domain.KindOnlineService, onlineSku()},
		{domain.KindSoftwareSubscription, softwareSubscriptionSku()},
		{domain.KindPerpetualSoftware, perpetualSku()},
		{domain.KindSoftwarePlan, softwarePlanSku()},
		{domain.KindAzureReservation, reservationSku()},
	} {
		var v errs.Violations
		p := product(c.kind)
		p.ID = c.sku.ProductID
		domain.CheckProduct(&v, p.ID, p)
		domain.CheckSku(&v, c.sku.ID, c.sku, c.kind, domain.AllSkuChecks())
		if len(v) > 0 {
			t.Errorf("%s: %v", c.kind, v)
		}
	}
}

func TestCheckProduct_CA1_CA3(t *testing.T) {
	for _, c := range []struct {
		name   string
		mutate func(*domain.Product)
		field  string
	}{
		{"ID lower case", func(p *domain.Product) { p.ID = "cfq7ttc0lh18" }, "P.product_id"},
		{"ID too short", func(p *domain.Product) { p.ID = "CFQ7TTC0LH1" }, "P.product_id"},
		{"no name", func(p *domain.Product) { p.DisplayName = "" }, "P.display_name"},
		{"name too long", func(p *domain.Product) { p.DisplayName = strings.Repeat("x", 257) }, "P.display_name"},
		{"CA-1 kind unspecified", func(p *domain.Product) { p.Kind = "" }, "P.kind"},
		{"CA-1 kind unknown", func(p *domain.Product) { p.Kind = "HARDWARE" }, "P.kind"},
		{"no publisher", func(p *domain.Product) { p.Publisher = "" }, "P.publisher"},
		{"CA-3 no program", func(p *domain.Product) { p.SalesPrograms = nil }, "P.sales_programs"},
		{"CA-3 unknown program", func(p *domain.Product) { p.SalesPrograms[1] = "DELEGATED_ADMIN" }, "P.sales_programs[1]"},
		{"CA-3 duplicate program", func(p *domain.Product) { p.SalesPrograms[1] = domain.ProgramCSPDirect }, "P.sales_programs[1]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := product(domain.KindOnlineService)
			c.mutate(&p)
			var v errs.Violations
			domain.CheckProduct(&v, "P", p)
			if got := fields(v); !slices.Equal(got, []string{c.field}) {
				t.Errorf("violations %v, want exactly %s", v, c.field)
			}
		})
	}
}

// Every SKU rule, each reported at its location (FORMAT.md).
func TestCheckSku_Rules(t *testing.T) {
	type sku = domain.Sku
	for _, c := range []struct {
		name   string
		kind   domain.ProductKind
		base   func() sku
		mutate func(*sku)
		field  string
		says   string
	}{
		{"ID format", domain.KindOnlineService, onlineSku, func(s *sku) { s.ID = "CFQ7TTC0LH18-0001" }, "S.sku_id", "four digits"},
		{"ID prefix is its product", domain.KindOnlineService, onlineSku, func(s *sku) { s.ID = "CFQ7TTC0LDPB:0001" }, "S.sku_id", "CFQ7TTC0LH18"},
		{"display name", domain.KindOnlineService, onlineSku, func(s *sku) { s.DisplayName = "" }, "S.display_name", "required"},
		{"CA-5 at least one term", domain.KindOnlineService, onlineSku, func(s *sku) { s.TermOptions = nil }, "S.term_options", "at least one"},
		{"CA-5 term unspecified", domain.KindOnlineService, onlineSku, func(s *sku) { s.TermOptions[0].Term = "" }, "S.term_options[0].term", "one of"},
		{"CA-5 duplicate term", domain.KindOnlineService, onlineSku, func(s *sku) {
			s.TermOptions[1].Term = domain.TermP1M
			s.TermOptions[1].Plans = s.TermOptions[1].Plans[:1]
		}, "S.term_options[1].term", "duplicate"},
		{"CA-5 at least one plan", domain.KindOnlineService, onlineSku, func(s *sku) { s.TermOptions[1].Plans = nil }, "S.term_options[1].billing_plans", "at least one"},
		{"CA-5 plan unknown", domain.KindOnlineService, onlineSku, func(s *sku) { s.TermOptions[1].Plans[1] = "WEEKLY" }, "S.term_options[1].billing_plans[1]", "one of"},
		{"CA-5 duplicate plan", domain.KindOnlineService, onlineSku, func(s *sku) { s.TermOptions[1].Plans[1] = domain.PlanMonthly }, "S.term_options[1].billing_plans[1]", "duplicate"},
		{"CA-5 P1M only monthly", domain.KindOnlineService, onlineSku, func(s *sku) { s.TermOptions[0].Plans[0] = domain.PlanAnnual }, "S.term_options[0].billing_plans[0]", "CA-5"},
		{"CA-5 P3Y not monthly", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.TermOptions[1].Plans[0] = domain.PlanMonthly }, "S.term_options[1].billing_plans[0]", "CA-5"},
		{"CA-5 triennial only with P3Y", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.TermOptions[0].Plans[0] = domain.PlanTriennial }, "S.term_options[0].billing_plans[0]", "CA-5"},
		{"CA-5 one-time only perpetual", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.TermOptions[0].Plans[0] = domain.PlanOneTime }, "S.term_options[0].billing_plans[0]", "CA-5"},
		{"CA-5 perpetual only one-time", domain.KindPerpetualSoftware, perpetualSku, func(s *sku) { s.TermOptions[0].Plans[0] = domain.PlanAnnual }, "S.term_options[0].billing_plans[0]", "CA-5"},
		{"CA-1 perpetual software only perpetual", domain.KindPerpetualSoftware, perpetualSku, func(s *sku) {
			s.TermOptions[0] = domain.TermOption{Term: domain.TermP1Y, Plans: []domain.BillingPlan{domain.PlanAnnual}}
		}, "S.term_options[0].term", "CA-1"},
		{"CA-1 nothing else perpetual", domain.KindOnlineService, onlineSku, func(s *sku) {
			s.TermOptions[0] = domain.TermOption{Term: domain.TermPerpetual, Plans: []domain.BillingPlan{domain.PlanOneTime}}
		}, "S.term_options[0].term", "CA-1"},
		{"CA-1 software subscription 1 or 3 years", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) {
			s.TermOptions[0] = domain.TermOption{Term: domain.TermP1M, Plans: []domain.BillingPlan{domain.PlanMonthly}}
		}, "S.term_options[0].term", "CA-1"},
		{"CA-10 software subscription prorated", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.Cancellation.Kind = domain.CancelNever; s.Cancellation.WindowDays = 0 }, "S.cancellation_policy.kind", "CA-10"},
		{"CA-10 software subscription 7 days", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.Cancellation.WindowDays = 14 }, "S.cancellation_policy.window_days", "7 days"},
		{"CA-10 perpetual full credit", domain.KindPerpetualSoftware, perpetualSku, func(s *sku) { s.Cancellation.Kind = domain.CancelProratedRefundWindow }, "S.cancellation_policy.kind", "FULL_CREDIT_WINDOW"},
		{"CA-10 perpetual 30 days", domain.KindPerpetualSoftware, perpetualSku, func(s *sku) { s.Cancellation.WindowDays = 7 }, "S.cancellation_policy.window_days", "30 days"},
		{"CA-10 software plan never", domain.KindSoftwarePlan, softwarePlanSku, func(s *sku) {
			s.Cancellation = domain.CancellationPolicy{Kind: domain.CancelProratedRefundWindow, WindowDays: 7}
		}, "S.cancellation_policy.kind", "NEVER"},
		{"CA-10 software plan window 0", domain.KindSoftwarePlan, softwarePlanSku, func(s *sku) { s.Cancellation.WindowDays = 3 }, "S.cancellation_policy.window_days", "0 days"},
		{"CA-10 policy kind unspecified", domain.KindOnlineService, onlineSku, func(s *sku) { s.Cancellation.Kind = "" }, "S.cancellation_policy.kind", "CA-10"},
		{"CA-10 never has no window", domain.KindOnlineService, onlineSku, func(s *sku) { s.Cancellation = domain.CancellationPolicy{Kind: domain.CancelNever, WindowDays: 7} }, "S.cancellation_policy.window_days", "0"},
		{"CA-10 a window has days", domain.KindOnlineService, onlineSku, func(s *sku) { s.Cancellation.WindowDays = 0 }, "S.cancellation_policy.window_days", "1.."},
		{"CA-11 software subscription autorenews", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.AutoRenew.Enabled = false }, "S.autorenew_default.enabled", "CA-11"},
		{"CA-11 cut-off 2021-10-14", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.AutoRenew.EffectiveFrom = time.Date(2021, 10, 1, 0, 0, 0, 0, time.UTC) }, "S.autorenew_default.effective_from", "2021-10-14"},
		{"CA-11 not renewable, no autorenew", domain.KindOnlineService, onlineSku, func(s *sku) { s.AutoRenew.Renewable = false }, "S.autorenew_default.enabled", "not renewable"},
		{"CA-1 perpetual is not renewable", domain.KindPerpetualSoftware, perpetualSku, func(s *sku) { s.AutoRenew.Renewable = true }, "S.autorenew_default.renewable", "perpetual"},
		{"CA-8 never KMS", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.KeyType = domain.KeyKMS }, "S.key_type", "KMS"},
		{"CA-8 key type required", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.KeyType = "" }, "S.key_type", "NONE or MAK"},
		{"CA-7 online service has no key", domain.KindOnlineService, onlineSku, func(s *sku) { s.KeyType = domain.KeyMAK }, "S.key_type", "CA-7"},
		{"CA-7 reservation has no key", domain.KindAzureReservation, reservationSku, func(s *sku) { s.KeyType = domain.KeyMAK }, "S.key_type", "CA-7"},
		{"CA-7 online service has no download", domain.KindOnlineService, onlineSku, func(s *sku) { s.DownloadVariants = softwareSubscriptionSku().DownloadVariants }, "S.download_variants", "CA-7"},
		{"KD-4 variant ID required", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.DownloadVariants[0].ID = "" }, "S.download_variants[0].variant_id", "required"},
		{"KD-4 duplicate variant", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.DownloadVariants = append(s.DownloadVariants, s.DownloadVariants[0]) }, "S.download_variants[1].variant_id", "duplicate"},
		{"KD-4 language tag", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.DownloadVariants[0].Language = "en_US!" }, "S.download_variants[0].language", "BCP 47"},
		{"KD-4 size not negative", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.DownloadVariants[0].SizeBytes = -1 }, "S.download_variants[0].size_bytes", "negative"},
		{"CA-7 instructions over https", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.InstallationInstructionsURL = "http://learn.example/esu" }, "S.installation_instructions_url", "https"},
		{"CA-7 instructions absolute", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.InstallationInstructionsURL = "https:///esu" }, "S.installation_instructions_url", "https"},
		{"maximum quantity at least 1", domain.KindOnlineService, onlineSku, func(s *sku) { s.MaximumQuantity = 0 }, "S.maximum_quantity", "at least 1"},
		{"CA-6 saving up to 40", domain.KindSoftwareSubscription, softwareSubscriptionSku, func(s *sku) { s.AHBMaxSavingPercent = 41 }, "S.azure_hybrid_benefit_max_saving_percent", "CA-6"},
		{"CA-2 mode", domain.KindOnlineService, onlineSku, func(s *sku) { s.Availability.Mode = "" }, "S.availability.mode", "CA-2"},
		{"CA-2 country format", domain.KindAzureReservation, reservationSku, func(s *sku) { s.Availability.Countries[1] = "cn" }, "S.availability.country_codes[1]", "alpha-2"},
		{"CA-2 duplicate country", domain.KindAzureReservation, reservationSku, func(s *sku) { s.Availability.Countries[2] = "AX" }, "S.availability.country_codes[2]", "duplicate"},
		{"CA-2 only listed needs a country", domain.KindOnlineService, onlineSku, func(s *sku) { s.Availability.Mode = domain.OnlyListed }, "S.availability.country_codes", "nowhere"},
		{"CA-9 discontinued needs an equivalent", domain.KindOnlineService, onlineSku, func(s *sku) { s.Discontinued = true }, "S.equivalent_sku_id", "CA-9"},
		{"CA-9 equivalent only when discontinued", domain.KindOnlineService, onlineSku, func(s *sku) { s.EquivalentSkuID = "CFQ7TTC0LDPB:0001" }, "S.equivalent_sku_id", "only when"},
		{"CA-9 equivalent format", domain.KindOnlineService, onlineSku, func(s *sku) { s.Discontinued, s.EquivalentSkuID = true, "CFQ7TTC0LDPB" }, "S.equivalent_sku_id", "SKU ID"},
		{"CA-9 not its own equivalent", domain.KindOnlineService, onlineSku, func(s *sku) { s.Discontinued, s.EquivalentSkuID = true, s.ID }, "S.equivalent_sku_id", "own"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.base()
			c.mutate(&s)
			var v errs.Violations
			domain.CheckSku(&v, "S", s, c.kind, domain.AllSkuChecks())
			if got := fields(v); !slices.Equal(got, []string{c.field}) {
				t.Fatalf("violations %v, want exactly %s", v, c.field)
			}
			if !strings.Contains(v[0].Description, c.says) {
				t.Errorf("description %q does not say %q", v[0].Description, c.says)
			}
		})
	}
}

// An upsert keeps the stored availability and discontinuation: they are not checked.
func TestCheckSku_ChecksOnlyWhatIsWritten(t *testing.T) {
	s := onlineSku()
	s.Availability = domain.Availability{}
	s.Discontinued = true
	var v errs.Violations
	domain.CheckSku(&v, "sku", s, domain.KindOnlineService, domain.SkuChecks{})
	if len(v) > 0 {
		t.Errorf("violations %v", v)
	}
}

func TestCheckPriceInFile_CA4_CA5(t *testing.T) {
	sku := onlineSku()
	ok := func() domain.Price {
		return domain.Price{PriceKey: domain.PriceKey{SkuID: sku.ID, CountryCode: "DE", Term: domain.TermP1Y, Plan: domain.PlanAnnual},
			BillingPeriodPrice: domain.Money{AmountMinor: 6732, CurrencyCode: "EUR"}}
	}
	for _, c := range []struct {
		name   string
		mutate func(*domain.Price)
		want   []string
	}{
		{"valid", func(*domain.Price) {}, nil},
		{"zero is a price", func(p *domain.Price) { p.BillingPeriodPrice.AmountMinor = 0 }, nil},
		{"country format", func(p *domain.Price) { p.CountryCode = "Deu" }, []string{"P.country_code"}},
		{"ID-3 served market", func(p *domain.Price) { p.CountryCode = "FR" }, []string{"P.country_code"}},
		{"term unknown", func(p *domain.Price) { p.Term = "P2Y" }, []string{"P.term"}},
		{"term and plan unspecified", func(p *domain.Price) { p.Term, p.Plan = "", "" }, []string{"P.term", "P.billing_plan"}},
		{"term the SKU does not sell", func(p *domain.Price) { p.Term = domain.TermP3Y }, []string{"P.term"}},
		{"CA-5 plan not allowed with the term", func(p *domain.Price) { p.Term = domain.TermP1M }, []string{"P.billing_plan"}},
		{"negative amount", func(p *domain.Price) { p.BillingPeriodPrice.AmountMinor = -1 }, []string{"P.billing_period_price.amount_minor"}},
		{"currency format", func(p *domain.Price) { p.BillingPeriodPrice.CurrencyCode = "eur" }, []string{"P.billing_period_price.currency_code"}},
		{"CA-4 the market's currency", func(p *domain.Price) { p.BillingPeriodPrice.CurrencyCode = "USD" }, []string{"P.billing_period_price.currency_code"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := ok()
			c.mutate(&p)
			var v errs.Violations
			domain.CheckPriceInFile(&v, "P", p, sku, markets)
			if got := fields(v); !slices.Equal(got, c.want) {
				t.Errorf("violations %v, want %v", v, c.want)
			}
		})
	}
}

func TestIDsAndCodes(t *testing.T) {
	for id, ok := range map[string]bool{"CFQ7TTC0LH18": true, "CFQ7TTC0LH1": false, "cfq7ttc0lh18": false, "CFQ7TTC0LH18X": false, "CFQ7TTC0LH1-": false} {
		if domain.ValidProductID(id) != ok {
			t.Errorf("product ID %q: %v", id, !ok)
		}
	}
	for id, ok := range map[string]bool{"CFQ7TTC0LH18:0001": true, "CFQ7TTC0LH18:001": false, "CFQ7TTC0LH18-0001": false,
		"CFQ7TTC0LH18:00a1": false, "cFQ7TTC0LH18:0001": false, "CFQ7TTC0LH18:00011": false} {
		if domain.ValidSkuID(id) != ok {
			t.Errorf("SKU ID %q: %v", id, !ok)
		}
	}
	if domain.ProductOfSku("CFQ7TTC0LH18:0001") != "CFQ7TTC0LH18" || domain.ProductOfSku("bad") != "" {
		t.Error("ProductOfSku")
	}
	for c, ok := range map[string]bool{"DE": true, "de": false, "DEU": false, "D1": false, "": false} {
		if domain.ValidCountryCode(c) != ok {
			t.Errorf("country %q: %v", c, !ok)
		}
	}
	for c, ok := range map[string]bool{"EUR": true, "eur": false, "EU": false, "EURO": false} {
		if domain.ValidCurrencyCode(c) != ok {
			t.Errorf("currency %q: %v", c, !ok)
		}
	}
}

// KD-4: variant IDs and language tags.
func TestDownloadVariant_KD4_Formats(t *testing.T) {
	for _, c := range []struct {
		id, lang string
		ok       bool
	}{
		{"2022-en-us-iso-x64", "en-US", true}, {"a", "zh-Hant-TW", true}, {"v1.2_final", "", true},
		{"-lead", "", false}, {"has space", "", false}, {strings.Repeat("x", 65), "", false},
		{"ok", "e", false}, {"ok", "en-", false}, {"ok", "en-US-toolongsubtag", false},
	} {
		s := softwareSubscriptionSku()
		s.DownloadVariants[0].ID, s.DownloadVariants[0].Language = c.id, c.lang
		var v errs.Violations
		domain.CheckSku(&v, "S", s, domain.KindSoftwareSubscription, domain.AllSkuChecks())
		if (len(v) == 0) != c.ok {
			t.Errorf("%q %q: %v", c.id, c.lang, v)
		}
	}
}
