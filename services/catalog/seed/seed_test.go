package seed_test

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/partnerhub/partnerhub/services/catalog/seed"
)

// azureReservationExclusions is the list of seed 004 (004_cb939634576e2e72.txt, "Märkte, in denen
// Azure Reservations nicht verfügbar sind"), every German name as the page spells it, with its
// ISO 3166-1 alpha-2 code (CA-2). The page lists 109 names; some share a code, so the set has 106:
// Bonaire, Saba and Sint Eustatius are BQ (Caribbean Netherlands), Jan Mayen and Spitzbergen
// (Svalbard) are SJ. Kosovo is XK, the user-assigned code Partner Center and identity's market
// list use. "Kongo" is the Republic of the Congo (CG), "Kongo (DRK)" the Democratic Republic (CD);
// Swasiland is Eswatini (SZ); "St. Helena, Ascension, Tristan da Cunha" is one entry (SH);
// "USA Amerikanische Überseeinseln" are the United States Minor Outlying Islands (UM).
var azureReservationExclusions = []struct{ german, code string }{
	// Column "A bis Gi"
	{"Ålandinseln", "AX"},
	{"Amerikanisch-Samoa", "AS"},
	{"Andorra", "AD"},
	{"Anguilla", "AI"},
	{"Antarktis", "AQ"},
	{"Antigua und Barbuda", "AG"},
	{"Aruba", "AW"},
	{"Aserbaidschan", "AZ"},
	{"Benin", "BJ"},
	{"Bhutan", "BT"},
	{"Bonaire", "BQ"},
	{"Bouvetinsel", "BV"},
	{"Britisches Territorium im Indischen Ozean", "IO"},
	{"Britische Jungferninseln", "VG"},
	{"Burkina Faso", "BF"},
	{"Burundi", "BI"},
	{"Kambodscha", "KH"},
	{"Zentralafrikanische Republik", "CF"},
	{"Tschad", "TD"},
	{"China", "CN"},
	{"Weihnachtsinsel", "CX"},
	{"Kokosinseln", "CC"},
	{"Komoren", "KM"},
	{"Kongo", "CG"},
	{"Kongo (DRK)", "CD"},
	{"Cookinseln", "CK"},
	{"Dschibuti", "DJ"},
	{"Dominica", "DM"},
	{"Äquatorialguinea", "GQ"},
	{"Eritrea", "ER"},
	{"Falklandinseln", "FK"},
	{"Französisch-Guayana", "GF"},
	{"Französisch-Polynesien", "PF"},
	{"Französische Süd- und Antarktisgebiete", "TF"},
	{"Gabun", "GA"},
	{"Gambia", "GM"},
	{"Gibraltar", "GI"},
	// Column "Gr bis Pal"
	{"Grönland", "GL"},
	{"Grenada", "GD"},
	{"Guadeloupe", "GP"},
	{"Guam", "GU"},
	{"Guernsey", "GG"},
	{"Guinea", "GN"},
	{"Guinea-Bissau", "GW"},
	{"Guyana", "GY"},
	{"Haiti", "HT"},
	{"Heard und McDonaldinseln", "HM"},
	{"Isle of Man", "IM"},
	{"Jan Mayen", "SJ"},
	{"Jersey", "JE"},
	{"Kiribati", "KI"},
	{"Kosovo", "XK"},
	{"Laos", "LA"},
	{"Lesotho", "LS"},
	{"Liberia", "LR"},
	{"Madagaskar", "MG"},
	{"Malawi", "MW"},
	{"Malediven", "MV"},
	{"Mali", "ML"},
	{"Marshall-Inseln", "MH"},
	{"Martinique", "MQ"},
	{"Mauretanien", "MR"},
	{"Mayotte", "YT"},
	{"Mikronesien", "FM"},
	{"Montserrat", "MS"},
	{"Mosambik", "MZ"},
	{"Myanmar", "MM"},
	{"Nauru", "NR"},
	{"Neukaledonien", "NC"},
	{"Niger", "NE"},
	{"Niue", "NU"},
	{"Norfolkinsel", "NF"},
	{"Nördliche Marianen", "MP"},
	{"Palau", "PW"},
	// Column "Pap bis Z"
	{"Papua-Neuguinea", "PG"},
	{"Pitcairninseln", "PN"},
	{"Réunion", "RE"},
	{"Saba", "BQ"},
	{"St. Barthélemy", "BL"},
	{"St. Lucia", "LC"},
	{"St. Martin", "MF"},
	{"St. Pierre und Miquelon", "PM"},
	{"St. Vincent und die Grenadinen", "VC"},
	{"Samoa", "WS"},
	{"San Marino", "SM"},
	{"São Tomé und Príncipe", "ST"},
	{"Seychellen", "SC"},
	{"Sierra Leone", "SL"},
	{"Sint Eustatius", "BQ"},
	{"Sint Maarten", "SX"},
	{"Salomonen", "SB"},
	{"Somalia", "SO"},
	{"Südgeorgien und Südliche Sandwichinseln", "GS"},
	{"Südsudan", "SS"},
	{"St. Helena, Ascension, Tristan da Cunha", "SH"},
	{"Suriname", "SR"},
	{"Spitzbergen", "SJ"},
	{"Swasiland", "SZ"},
	{"Timor-Leste", "TL"},
	{"Togo", "TG"},
	{"Tokelau", "TK"},
	{"Tonga", "TO"},
	{"Turks- und Caicosinseln", "TC"},
	{"Tuvalu", "TV"},
	{"USA Amerikanische Überseeinseln", "UM"},
	{"Vanuatu", "VU"},
	{"Vatikanstadt", "VA"},
	{"Wallis und Futuna", "WF"},
	{"Jemen", "YE"},
}

// The markets every SKU sold there must have prices for, with their currencies (CA-4).
var pricedMarkets = map[string]string{
	"US": "USD", "DE": "EUR", "AT": "EUR", "GB": "GBP", "AU": "AUD", "BR": "BRL", "JP": "JPY",
}

// A local reading of the file: just what these tests check, independent of the importer.
type catalogFile struct {
	FormatVersion int       `yaml:"format_version"`
	Products      []product `yaml:"products"`
}

type product struct {
	ProductID     string   `yaml:"product_id"`
	DisplayName   string   `yaml:"display_name"`
	Kind          string   `yaml:"kind"`
	Publisher     string   `yaml:"publisher"`
	SalesPrograms []string `yaml:"sales_programs"`
	Skus          []sku    `yaml:"skus"`
}

type sku struct {
	SkuID       string `yaml:"sku_id"`
	DisplayName string `yaml:"display_name"`
	TermOptions []struct {
		Term         string   `yaml:"term"`
		BillingPlans []string `yaml:"billing_plans"`
	} `yaml:"term_options"`
	CancellationPolicy struct {
		Kind       string `yaml:"kind"`
		WindowDays int    `yaml:"window_days"`
	} `yaml:"cancellation_policy"`
	AutorenewDefault struct {
		Enabled       bool   `yaml:"enabled"`
		EffectiveFrom string `yaml:"effective_from"`
		Renewable     bool   `yaml:"renewable"`
	} `yaml:"autorenew_default"`
	KeyType          string `yaml:"key_type"`
	DownloadVariants []struct {
		VariantID       string `yaml:"variant_id"`
		Version         string `yaml:"version"`
		Language        string `yaml:"language"`
		FileType        string `yaml:"file_type"`
		OperatingSystem string `yaml:"operating_system"`
		SizeBytes       int64  `yaml:"size_bytes"`
	} `yaml:"download_variants"`
	InstallationInstructionsURL string `yaml:"installation_instructions_url"`
	MaximumQuantity             int    `yaml:"maximum_quantity"`
	Availability                struct {
		Mode         string   `yaml:"mode"`
		CountryCodes []string `yaml:"country_codes"`
	} `yaml:"availability"`
	AzureHybridBenefitMaxSavingPercent int    `yaml:"azure_hybrid_benefit_max_saving_percent"`
	Discontinued                       bool   `yaml:"discontinued"`
	EquivalentSkuID                    string `yaml:"equivalent_sku_id"`
	Prices                             []struct {
		CountryCode        string `yaml:"country_code"`
		Term               string `yaml:"term"`
		BillingPlan        string `yaml:"billing_plan"`
		BillingPeriodPrice struct {
			AmountMinor  int64  `yaml:"amount_minor"`
			CurrencyCode string `yaml:"currency_code"`
		} `yaml:"billing_period_price"`
	} `yaml:"prices"`

	product *product
}

// allows reports whether the SKU sells term with plan.
func (s *sku) allows(term, plan string) bool {
	for _, o := range s.TermOptions {
		if o.Term == term && slices.Contains(o.BillingPlans, plan) {
			return true
		}
	}
	return false
}

// soldIn reports whether the SKU's availability includes country.
func (s *sku) soldIn(country string) bool {
	listed := slices.Contains(s.Availability.CountryCodes, country)
	if s.Availability.Mode == "ONLY_LISTED" {
		return listed
	}
	return !listed
}

// load parses the embedded file and indexes its SKUs.
func load(t *testing.T) (catalogFile, []*sku, map[string]*sku) {
	t.Helper()
	var c catalogFile
	if err := yaml.Unmarshal(seed.File, &c); err != nil {
		t.Fatalf("seed catalog does not parse: %v", err)
	}
	var all []*sku
	byID := map[string]*sku{}
	for i := range c.Products {
		p := &c.Products[i]
		for j := range p.Skus {
			s := &p.Skus[j]
			s.product = p
			all = append(all, s)
			if _, dup := byID[s.SkuID]; dup {
				t.Errorf("SKU %s appears twice", s.SkuID)
			}
			byID[s.SkuID] = s
		}
	}
	return c, all, byID
}

func excludedCodes() []string {
	var codes []string
	for _, e := range azureReservationExclusions {
		if !slices.Contains(codes, e.code) {
			codes = append(codes, e.code)
		}
	}
	slices.Sort(codes)
	return codes
}

func TestExclusionTable(t *testing.T) {
	if n := len(azureReservationExclusions); n != 109 {
		t.Errorf("seed 004 lists 109 names, the table has %d", n)
	}
	seen := map[string]bool{}
	iso := regexp.MustCompile(`^[A-Z]{2}$`)
	for _, e := range azureReservationExclusions {
		if seen[e.german] {
			t.Errorf("%q appears twice", e.german)
		}
		seen[e.german] = true
		if !iso.MatchString(e.code) {
			t.Errorf("%q: code %q is not ISO 3166-1 alpha-2", e.german, e.code)
		}
	}
	codes := excludedCodes()
	if len(codes) != 106 {
		t.Errorf("distinct codes = %d, want 106 (109 names, BQ three times, SJ twice)", len(codes))
	}
	// China and Myanmar are named by CA-2; the markets with prices are all sold Azure Reservations.
	for _, c := range []string{"CN", "MM"} {
		if !slices.Contains(codes, c) {
			t.Errorf("%s missing from the exclusions", c)
		}
	}
	for c := range pricedMarkets {
		if slices.Contains(codes, c) {
			t.Errorf("%s must not be excluded", c)
		}
	}
}

// CA-2: the Azure Reservation SKUs exclude exactly the markets of seed 004; every other SKU is
// sold in every served market.
func TestAvailability_CA2(t *testing.T) {
	_, all, _ := load(t)
	want := excludedCodes()
	var reservations int
	for _, s := range all {
		if s.product.Kind == "AZURE_RESERVATION" {
			reservations++
			if s.Availability.Mode != "ALL_EXCEPT_LISTED" {
				t.Errorf("%s: availability mode %s, want ALL_EXCEPT_LISTED", s.SkuID, s.Availability.Mode)
			}
			got := slices.Clone(s.Availability.CountryCodes)
			slices.Sort(got)
			if n := len(slices.Compact(slices.Clone(got))); n != len(got) {
				t.Errorf("%s: duplicate country codes", s.SkuID)
			}
			for _, c := range want {
				if !slices.Contains(got, c) {
					t.Errorf("%s: excluded market %s (%s) missing", s.SkuID, c, germanNames(c))
				}
			}
			for _, c := range got {
				if !slices.Contains(want, c) {
					t.Errorf("%s: %s is excluded but not listed in seed 004", s.SkuID, c)
				}
			}
			for _, c := range []string{"DE", "US"} {
				if !s.soldIn(c) {
					t.Errorf("%s: not sold in %s", s.SkuID, c)
				}
			}
			continue
		}
		if s.Availability.Mode != "ALL_EXCEPT_LISTED" || len(s.Availability.CountryCodes) != 0 {
			t.Errorf("%s: availability %s %v, want every served market (ALL_EXCEPT_LISTED, no codes)",
				s.SkuID, s.Availability.Mode, s.Availability.CountryCodes)
		}
	}
	if reservations < 2 {
		t.Errorf("%d Azure Reservation SKUs, want at least 2 (1 and 3 years)", reservations)
	}
}

func germanNames(code string) string {
	var names []string
	for _, e := range azureReservationExclusions {
		if e.code == code {
			names = append(names, e.german)
		}
	}
	return strings.Join(names, ", ")
}

func TestIDs(t *testing.T) {
	c, all, _ := load(t)
	if c.FormatVersion != 1 {
		t.Errorf("format_version = %d, want 1", c.FormatVersion)
	}
	productID := regexp.MustCompile(`^[A-Z0-9]{12}$`)
	products := map[string]bool{}
	for _, p := range c.Products {
		if !productID.MatchString(p.ProductID) {
			t.Errorf("product ID %q: want 12 upper-case letters or digits", p.ProductID)
		}
		if products[p.ProductID] {
			t.Errorf("product %s appears twice", p.ProductID)
		}
		products[p.ProductID] = true
		if len(p.Skus) == 0 {
			t.Errorf("product %s has no SKU", p.ProductID)
		}
	}
	for _, s := range all {
		if !regexp.MustCompile(`^` + s.product.ProductID + `:[0-9]{4}$`).MatchString(s.SkuID) {
			t.Errorf("SKU ID %q: want %s:NNNN", s.SkuID, s.product.ProductID)
		}
	}
}

// Issue 4: at least 25 SKUs covering every product kind of CA-1.
func TestCoverage_CA1(t *testing.T) {
	_, all, _ := load(t)
	if len(all) < 25 {
		t.Errorf("%d SKUs, want at least 25", len(all))
	}
	kinds := map[string]int{}
	for _, s := range all {
		kinds[s.product.Kind]++
	}
	for _, k := range []string{"ONLINE_SERVICE", "SOFTWARE_SUBSCRIPTION", "PERPETUAL_SOFTWARE",
		"AZURE_RESERVATION", "SOFTWARE_PLAN", "SERVER_SUBSCRIPTION"} {
		if kinds[k] == 0 {
			t.Errorf("no SKU of kind %s", k)
		}
	}
	if len(kinds) != 6 {
		t.Errorf("kinds %v: want exactly the six of CA-1", kinds)
	}
}

// CA-4, CA-5: prices in every priced market for every term and billing plan the SKU allows (and
// only those), in the market's currency; none where the SKU is not sold.
func TestPrices_CA4_CA5(t *testing.T) {
	_, all, _ := load(t)
	for _, s := range all {
		have := map[string]bool{}
		for _, p := range s.Prices {
			key := fmt.Sprintf("%s/%s/%s", p.CountryCode, p.Term, p.BillingPlan)
			if have[key] {
				t.Errorf("%s: price %s twice", s.SkuID, key)
			}
			have[key] = true
			if !s.allows(p.Term, p.BillingPlan) {
				t.Errorf("%s: price for %s %s, which the SKU does not sell", s.SkuID, p.Term, p.BillingPlan)
			}
			if !s.soldIn(p.CountryCode) {
				t.Errorf("%s: price in %s, where it is not sold", s.SkuID, p.CountryCode)
			}
			cur, ok := pricedMarkets[p.CountryCode]
			if !ok {
				t.Errorf("%s: price in unexpected market %s", s.SkuID, p.CountryCode)
			} else if p.BillingPeriodPrice.CurrencyCode != cur {
				t.Errorf("%s: %s price in %s, want %s", s.SkuID, p.CountryCode, p.BillingPeriodPrice.CurrencyCode, cur)
			}
			if p.BillingPeriodPrice.AmountMinor <= 0 {
				t.Errorf("%s: %s amount %d, want > 0", s.SkuID, key, p.BillingPeriodPrice.AmountMinor)
			}
		}
		for country := range pricedMarkets {
			if !s.soldIn(country) {
				continue
			}
			for _, o := range s.TermOptions {
				for _, plan := range o.BillingPlans {
					if !have[fmt.Sprintf("%s/%s/%s", country, o.Term, plan)] {
						t.Errorf("%s: no price in %s for %s %s", s.SkuID, country, o.Term, plan)
					}
				}
			}
		}
	}
}

// CA-4: AU and BR amounts include taxes, the others do not. The file derives every market's
// amount from the US list price at fixed reference rates (see its header); AU and BR carry the
// tax on top, so their ratio to the US price is visibly above the bare exchange rate.
func TestTaxInclusiveAmounts_CA4(t *testing.T) {
	_, all, _ := load(t)
	ratio := map[string]float64{ // market amount per US amount (minor units)
		"DE": 0.935, "AT": 0.935, "GB": 0.82, "JP": 1.50, // tax-exclusive
		"AU": 1.50 * 1.10,   // AUD 1.50 + GST 10 %
		"BR": 5.00 / 0.8575, // BRL 5.00 grossed up for PIS/COFINS/ISS
	}
	for _, s := range all {
		us := map[string]int64{}
		for _, p := range s.Prices {
			if p.CountryCode == "US" {
				us[p.Term+"/"+p.BillingPlan] = p.BillingPeriodPrice.AmountMinor
			}
		}
		for _, p := range s.Prices {
			r, ok := ratio[p.CountryCode]
			if !ok {
				continue
			}
			base := us[p.Term+"/"+p.BillingPlan]
			got := float64(p.BillingPeriodPrice.AmountMinor) / float64(base)
			if math.Abs(got-r)/r > 0.01 {
				t.Errorf("%s %s %s %s: %d against US %d (×%.4f), want ×%.4f",
					s.SkuID, p.CountryCode, p.Term, p.BillingPlan, p.BillingPeriodPrice.AmountMinor, base, got, r)
			}
		}
	}
}

// CA-9: one discontinued offer, naming an existing equivalent that is sold.
func TestDiscontinued_CA9(t *testing.T) {
	_, all, byID := load(t)
	var discontinued int
	for _, s := range all {
		if !s.Discontinued {
			if s.EquivalentSkuID != "" {
				t.Errorf("%s: equivalent %s on a SKU that is sold", s.SkuID, s.EquivalentSkuID)
			}
			continue
		}
		discontinued++
		eq, ok := byID[s.EquivalentSkuID]
		switch {
		case !ok:
			t.Errorf("%s: equivalent %q not in the catalog", s.SkuID, s.EquivalentSkuID)
		case eq.Discontinued:
			t.Errorf("%s: equivalent %s is itself discontinued", s.SkuID, eq.SkuID)
		case eq.product.Kind != s.product.Kind:
			t.Errorf("%s: equivalent %s is a %s, not a %s", s.SkuID, eq.SkuID, eq.product.Kind, s.product.Kind)
		}
	}
	if discontinued != 1 {
		t.Errorf("%d discontinued SKUs, want 1", discontinued)
	}
}

// The per-kind rules (CA-5, CA-6, CA-7, CA-8, CA-10, CA-11, KD-4): the importer checks the format,
// this checks the seed says what the domain says.
func TestKindRules(t *testing.T) {
	_, all, _ := load(t)
	cutoff := time.Date(2021, 10, 14, 0, 0, 0, 0, time.UTC)
	var rdsMonthly, ahb, esu bool
	for _, s := range all {
		kind := s.product.Kind
		for _, o := range s.TermOptions {
			for _, plan := range o.BillingPlans {
				ok := map[string][]string{
					"P1M": {"MONTHLY"}, "P1Y": {"MONTHLY", "ANNUAL"},
					"P3Y": {"ANNUAL", "TRIENNIAL"}, "PERPETUAL": {"ONE_TIME"},
				}[o.Term]
				if !slices.Contains(ok, plan) {
					t.Errorf("%s: %s with %s (CA-5)", s.SkuID, o.Term, plan)
				}
			}
		}
		if s.KeyType != "NONE" && s.KeyType != "MAK" {
			t.Errorf("%s: key type %s, want NONE or MAK (CA-8: never KMS)", s.SkuID, s.KeyType)
		}
		if s.MaximumQuantity < 1 {
			t.Errorf("%s: maximum_quantity %d", s.SkuID, s.MaximumQuantity)
		}
		if s.InstallationInstructionsURL != "" && !strings.HasPrefix(s.InstallationInstructionsURL, "https://") {
			t.Errorf("%s: installation instructions %q are not https", s.SkuID, s.InstallationInstructionsURL)
		}
		policy := fmt.Sprintf("%s/%d", s.CancellationPolicy.Kind, s.CancellationPolicy.WindowDays)
		wantPolicy := map[string]string{
			"ONLINE_SERVICE":        "PRORATED_REFUND_WINDOW/7",
			"SOFTWARE_SUBSCRIPTION": "PRORATED_REFUND_WINDOW/7",
			"SERVER_SUBSCRIPTION":   "PRORATED_REFUND_WINDOW/7",
			"AZURE_RESERVATION":     "PRORATED_REFUND_WINDOW/7",
			"PERPETUAL_SOFTWARE":    "FULL_CREDIT_WINDOW/30",
			"SOFTWARE_PLAN":         "NEVER/0",
		}[kind]
		if policy != wantPolicy {
			t.Errorf("%s (%s): cancellation %s, want %s (CA-10)", s.SkuID, kind, policy, wantPolicy)
		}
		switch kind {
		case "ONLINE_SERVICE", "AZURE_RESERVATION", "SOFTWARE_PLAN":
			if s.KeyType != "NONE" || len(s.DownloadVariants) != 0 || s.InstallationInstructionsURL != "" {
				t.Errorf("%s (%s): license-only, want no key, no download, no instructions (CA-7)", s.SkuID, kind)
			}
		case "SOFTWARE_SUBSCRIPTION", "PERPETUAL_SOFTWARE", "SERVER_SUBSCRIPTION":
			if s.KeyType != "MAK" {
				t.Errorf("%s (%s): key type %s, want MAK (CA-8)", s.SkuID, kind, s.KeyType)
			}
			isESU := strings.Contains(s.DisplayName, "Extended Security Updates")
			if isESU {
				esu = true
				if s.InstallationInstructionsURL == "" || len(s.DownloadVariants) != 0 {
					t.Errorf("%s: Extended Security Updates want installation instructions and no download (CA-7)", s.SkuID)
				}
			} else {
				checkDownloads(t, s)
			}
		}
		switch kind {
		case "SOFTWARE_SUBSCRIPTION", "SERVER_SUBSCRIPTION":
			from, err := time.Parse(time.RFC3339, s.AutorenewDefault.EffectiveFrom)
			if !s.AutorenewDefault.Enabled || !s.AutorenewDefault.Renewable || err != nil || !from.Equal(cutoff) {
				t.Errorf("%s: autorenew %+v, want enabled from 2021-10-14T00:00:00Z (CA-11)", s.SkuID, s.AutorenewDefault)
			}
		case "PERPETUAL_SOFTWARE":
			if s.AutorenewDefault.Enabled || s.AutorenewDefault.Renewable {
				t.Errorf("%s: perpetual software must not renew: %+v", s.SkuID, s.AutorenewDefault)
			}
			for _, o := range s.TermOptions {
				if o.Term != "PERPETUAL" {
					t.Errorf("%s: perpetual software with term %s", s.SkuID, o.Term)
				}
			}
		case "SOFTWARE_PLAN":
			if s.product.Publisher != "Red Hat" && s.product.Publisher != "SUSE" {
				t.Errorf("%s: software plan from %q, want Red Hat or SUSE", s.SkuID, s.product.Publisher)
			}
		}
		// CA-6: Windows Server Standard and Datacenter licenses with Software Assurance, i.e. the
		// subscriptions (perpetual licenses come without it).
		isWindowsServerSA := (kind == "SOFTWARE_SUBSCRIPTION" || kind == "SERVER_SUBSCRIPTION") &&
			(strings.HasPrefix(s.DisplayName, "Windows Server 2022 Standard") ||
				strings.HasPrefix(s.DisplayName, "Windows Server 2022 Datacenter"))
		switch {
		case isWindowsServerSA:
			ahb = true
			if s.AzureHybridBenefitMaxSavingPercent != 40 {
				t.Errorf("%s: Azure Hybrid Benefit %d %%, want 40 (CA-6)", s.SkuID, s.AzureHybridBenefitMaxSavingPercent)
			}
		case s.AzureHybridBenefitMaxSavingPercent != 0:
			t.Errorf("%s: Azure Hybrid Benefit %d %% on a SKU without it (CA-6)", s.SkuID, s.AzureHybridBenefitMaxSavingPercent)
		}
		if strings.Contains(s.DisplayName, "Remote Desktop Services") && s.allows("P1Y", "MONTHLY") {
			rdsMonthly = true
		}
	}
	if !rdsMonthly {
		t.Error("no Windows Server RDS CAL SKU with monthly billing (CA-5)")
	}
	if !ahb {
		t.Error("no Windows Server software subscription with Azure Hybrid Benefit (CA-6)")
	}
	if !esu {
		t.Error("no Extended Security Updates SKU (CA-7)")
	}
}

// checkDownloads: KD-4 choices — versions, languages (en-US and de-DE at least), file types and
// operating systems — with unique variant IDs.
func checkDownloads(t *testing.T, s *sku) {
	t.Helper()
	if len(s.DownloadVariants) == 0 {
		t.Errorf("%s: no download variant (CA-7, KD-4)", s.SkuID)
		return
	}
	ids := map[string]bool{}
	langs := map[string]bool{}
	for _, v := range s.DownloadVariants {
		if ids[v.VariantID] {
			t.Errorf("%s: variant %s twice", s.SkuID, v.VariantID)
		}
		ids[v.VariantID] = true
		langs[v.Language] = true
		if v.Version == "" || v.FileType == "" || v.OperatingSystem == "" || v.SizeBytes <= 0 {
			t.Errorf("%s: variant %s incomplete: %+v", s.SkuID, v.VariantID, v)
		}
	}
	for _, l := range []string{"en-US", "de-DE"} {
		if !langs[l] {
			t.Errorf("%s: no %s download (KD-4)", s.SkuID, l)
		}
	}
}
