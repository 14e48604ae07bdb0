package domain

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// The checks below report every problem they find, each at a location: prefix (the SKU or
// product ID in a catalog file, "sku" or "product" in a request) "." the field path, e.g.
// "CFQ7TTC0LH18:0001.term_options[1].billing_plans". A catalog import refuses a file with any
// problem and lists them all (CATALOG_INVALID); a single upsert lists them as INVALID_REQUEST.

// AutoRenewCutoff is the CA-11 cut-off, 2021-10-14T00:00:00Z: software subscriptions bought at
// or after it autorenew by default; bought before, they expire at their end date.
func AutoRenewCutoff() time.Time { return time.Date(2021, 10, 14, 0, 0, 0, 0, time.UTC) }

// Text limits: generous, but a bound keeps a catalog file from carrying megabytes in one field.
const (
	maxNameLen        = 256
	maxDescriptionLen = 4096
	maxURLLen         = 2048
	maxVariantTextLen = 64
	// MaxAHBSavingPercent is CA-6's "up to 40 %".
	MaxAHBSavingPercent = 40
	maxWindowDays       = 365
)

func letter(c byte) bool { return upper(c) || (c >= 'a' && c <= 'z') }
func alnum(c byte) bool  { return letter(c) || digit(c) }

// validVariantID: 1..64 letters, digits, '.', '_' or '-', starting with a letter or digit.
func validVariantID(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && alnum(s[0]) &&
		all(s, func(c byte) bool { return alnum(c) || c == '.' || c == '_' || c == '-' })
}

// validLanguage: a BCP 47 tag in the common shape, a 2..3-letter language and subtags of 2..8
// letters or digits ("en-US", "zh-Hant-TW").
func validLanguage(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts[0]) < 2 || len(parts[0]) > 3 || !all(parts[0], letter) {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 2 || len(p) > 8 || !all(p, alnum) {
			return false
		}
	}
	return true
}

// at joins a location prefix and a field path.
func at(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

func checkText(v *errs.Violations, loc, value string, required bool, maxLen int) {
	switch {
	case required && value == "":
		v.Add(loc, "required")
	case !utf8.ValidString(value):
		v.Add(loc, "must be UTF-8 text")
	case utf8.RuneCountInString(value) > maxLen:
		v.Add(loc, "at most %d characters", maxLen)
	}
}

// CheckProduct reports the problems of a product's own fields (CA-1, CA-3).
func CheckProduct(v *errs.Violations, prefix string, p Product) {
	if !ValidProductID(p.ID) {
		v.Add(at(prefix, "product_id"), "must be 12 upper-case letters or digits, e.g. CFQ7TTC0LH18, not %q", p.ID)
	}
	checkText(v, at(prefix, "display_name"), p.DisplayName, true, maxNameLen)
	checkText(v, at(prefix, "description"), p.Description, false, maxDescriptionLen)
	if !p.Kind.Valid() {
		v.Add(at(prefix, "kind"), "must be one of %s (CA-1), not %q", names(ProductKinds()), string(p.Kind))
	}
	checkText(v, at(prefix, "publisher"), p.Publisher, true, maxNameLen)
	if len(p.SalesPrograms) == 0 {
		v.Add(at(prefix, "sales_programs"), "at least one program is required: the partners that may sell the product (CA-3)")
	}
	for i, sp := range p.SalesPrograms {
		loc := at(prefix, fmt.Sprintf("sales_programs[%d]", i))
		switch {
		case !sp.Valid():
			v.Add(loc, "must be one of %s (CA-3), not %q", names(SalesPrograms()), string(sp))
		case slices.Index(p.SalesPrograms, sp) < i:
			v.Add(loc, "duplicate program %s", sp)
		}
	}
}

// SkuChecks says which parts of a SKU a check covers: an upsert keeps the stored availability
// and discontinuation, so it does not check what it does not write.
type SkuChecks struct {
	Availability    bool
	Discontinuation bool
}

// AllSkuChecks covers every field (a catalog file).
func AllSkuChecks() SkuChecks { return SkuChecks{Availability: true, Discontinuation: true} }

// CheckSku reports the problems of a SKU's fields, given its product's kind (which decides terms,
// cancellation policy, autorenew and keys: CA-1, CA-5, CA-7, CA-8, CA-10, CA-11). An invalid kind
// skips the kind-dependent checks: the product reports it.
func CheckSku(v *errs.Violations, prefix string, s Sku, kind ProductKind, c SkuChecks) {
	switch {
	case !ValidSkuID(s.ID):
		v.Add(at(prefix, "sku_id"), "must be the product ID, a colon and four digits, e.g. CFQ7TTC0LH18:0001, not %q", s.ID)
	case ProductOfSku(s.ID) != s.ProductID:
		v.Add(at(prefix, "sku_id"), "must start with its product's ID %s and a colon", s.ProductID)
	}
	checkText(v, at(prefix, "display_name"), s.DisplayName, true, maxNameLen)
	checkText(v, at(prefix, "description"), s.Description, false, maxDescriptionLen)
	checkTermOptions(v, prefix, s.TermOptions, kind)
	checkCancellation(v, at(prefix, "cancellation_policy"), s.Cancellation, kind)
	checkAutoRenew(v, at(prefix, "autorenew_default"), s.AutoRenew, kind)
	checkKeysAndDownloads(v, prefix, s, kind)
	if s.InstallationInstructionsURL != "" {
		checkHTTPS(v, at(prefix, "installation_instructions_url"), s.InstallationInstructionsURL)
	}
	if s.MaximumQuantity < 1 {
		v.Add(at(prefix, "maximum_quantity"), "must be at least 1, not %d", s.MaximumQuantity)
	}
	if s.AHBMaxSavingPercent < 0 || s.AHBMaxSavingPercent > MaxAHBSavingPercent {
		v.Add(at(prefix, "azure_hybrid_benefit_max_saving_percent"),
			"must be 0..%d: Azure Hybrid Benefit saves up to 40 %% (CA-6), not %d", MaxAHBSavingPercent, s.AHBMaxSavingPercent)
	}
	if c.Availability {
		CheckAvailability(v, at(prefix, "availability"), s.Availability)
	}
	if c.Discontinuation {
		checkDiscontinuation(v, prefix, s)
	}
}

// plansForTerm are the billing plans CA-5 allows with each term: a month is billed monthly; a year
// monthly (e.g. Windows Server RDS CAL 2022) or annually; three years annually or triennially;
// perpetual software once.
func plansForTerm(t Term) []BillingPlan {
	switch t {
	case TermP1M:
		return []BillingPlan{PlanMonthly}
	case TermP1Y:
		return []BillingPlan{PlanMonthly, PlanAnnual}
	case TermP3Y:
		return []BillingPlan{PlanAnnual, PlanTriennial}
	case TermPerpetual:
		return []BillingPlan{PlanOneTime}
	}
	return nil
}

// termsForKind are the terms a product kind is sold with (CA-1): perpetual software only
// perpetually, and nothing else perpetually; software subscriptions and Azure Reservations for
// one or three years.
func termsForKind(k ProductKind) []Term {
	switch k {
	case KindPerpetualSoftware:
		return []Term{TermPerpetual}
	case KindSoftwareSubscription, KindAzureReservation:
		return []Term{TermP1Y, TermP3Y}
	}
	return []Term{TermP1M, TermP1Y, TermP3Y}
}

func checkTermOptions(v *errs.Violations, prefix string, opts []TermOption, kind ProductKind) {
	if len(opts) == 0 {
		v.Add(at(prefix, "term_options"), "at least one term option is required (CA-5)")
	}
	for i, o := range opts {
		loc := at(prefix, fmt.Sprintf("term_options[%d]", i))
		switch {
		case !o.Term.Valid():
			v.Add(loc+".term", "must be one of %s, not %q", names(Terms()), string(o.Term))
		case slices.IndexFunc(opts, func(x TermOption) bool { return x.Term == o.Term }) < i:
			v.Add(loc+".term", "duplicate term %s", o.Term)
		case kind.Valid() && !slices.Contains(termsForKind(kind), o.Term):
			v.Add(loc+".term", "a %s product is sold with %s, not %s (CA-1)", kind, names(termsForKind(kind)), o.Term)
		}
		if len(o.Plans) == 0 {
			v.Add(loc+".billing_plans", "at least one billing plan is required (CA-5)")
		}
		for j, p := range o.Plans {
			ploc := fmt.Sprintf("%s.billing_plans[%d]", loc, j)
			switch {
			case !p.Valid():
				v.Add(ploc, "must be one of %s, not %q", names(BillingPlans()), string(p))
			case slices.Index(o.Plans, p) < j:
				v.Add(ploc, "duplicate billing plan %s", p)
			case o.Term.Valid() && !slices.Contains(plansForTerm(o.Term), p):
				v.Add(ploc, "term %s is billed %s, not %s (CA-5)", o.Term, names(plansForTerm(o.Term)), p)
			}
		}
	}
}

// policyForKind is the cancellation policy CA-10 fixes for a kind; ok is false for kinds it
// leaves open (online services, Azure Reservations, server subscriptions).
func policyForKind(k ProductKind) (CancellationPolicy, bool) {
	switch k {
	case KindSoftwareSubscription:
		return CancellationPolicy{Kind: CancelProratedRefundWindow, WindowDays: 7}, true
	case KindPerpetualSoftware:
		return CancellationPolicy{Kind: CancelFullCreditWindow, WindowDays: 30}, true
	case KindSoftwarePlan:
		return CancellationPolicy{Kind: CancelNever, WindowDays: 0}, true
	}
	return CancellationPolicy{}, false
}

func checkCancellation(v *errs.Violations, loc string, c CancellationPolicy, kind ProductKind) {
	if !c.Kind.Valid() {
		v.Add(loc+".kind", "must be one of %s (CA-10), not %q", names(CancellationKinds()), string(c.Kind))
		return
	}
	if want, fixed := policyForKind(kind); fixed {
		if c.Kind != want.Kind {
			v.Add(loc+".kind", "a %s product has policy %s (CA-10), not %s", kind, want.Kind, c.Kind)
		} else if c.WindowDays != want.WindowDays {
			v.Add(loc+".window_days", "a %s product's window is %d days (CA-10), not %d", kind, want.WindowDays, c.WindowDays)
		}
		return
	}
	switch {
	case c.Kind == CancelNever && c.WindowDays != 0:
		v.Add(loc+".window_days", "must be 0 for NEVER, not %d", c.WindowDays)
	case c.Kind != CancelNever && (c.WindowDays < 1 || c.WindowDays > maxWindowDays):
		v.Add(loc+".window_days", "must be 1..%d days for %s, not %d", maxWindowDays, c.Kind, c.WindowDays)
	}
}

func checkAutoRenew(v *errs.Violations, loc string, a AutoRenewDefault, kind ProductKind) {
	switch kind {
	case KindSoftwareSubscription:
		// CA-11: bought on or after 2021-10-14 they autorenew by default; before, they expire.
		if !a.Enabled {
			v.Add(loc+".enabled", "software subscriptions autorenew by default (CA-11)")
		}
		if !a.Renewable {
			v.Add(loc+".renewable", "software subscriptions are renewable (CA-11)")
		}
		if !a.EffectiveFrom.Equal(AutoRenewCutoff()) {
			v.Add(loc+".effective_from", "software subscriptions autorenew from %s (CA-11)", AutoRenewCutoff().Format(time.RFC3339))
		}
		return
	case KindPerpetualSoftware:
		if a.Renewable {
			v.Add(loc+".renewable", "perpetual software has no term end to renew (CA-1)")
		}
	}
	if a.Enabled && !a.Renewable {
		v.Add(loc+".enabled", "autorenew cannot be on by default for a SKU that is not renewable")
	}
}

// licenseOnly kinds come with no key and no download (CA-7).
func licenseOnly(k ProductKind) bool { return k == KindOnlineService || k == KindAzureReservation }

func checkKeysAndDownloads(v *errs.Violations, prefix string, s Sku, kind ProductKind) {
	loc := at(prefix, "key_type")
	switch {
	case s.KeyType == KeyKMS:
		v.Add(loc, "KMS keys are never issued, not even on request (CA-8, KMS_NOT_ALLOWED): NONE or MAK")
	case !s.KeyType.Valid():
		v.Add(loc, "must be NONE or MAK (CA-8), not %q", string(s.KeyType))
	case licenseOnly(kind) && s.KeyType != KeyNone:
		v.Add(loc, "a %s product is license-only: key type NONE (CA-7)", kind)
	}
	if licenseOnly(kind) && len(s.DownloadVariants) > 0 {
		v.Add(at(prefix, "download_variants"), "a %s product is license-only: no downloads (CA-7)", kind)
	}
	for i, d := range s.DownloadVariants {
		dloc := at(prefix, fmt.Sprintf("download_variants[%d]", i))
		switch {
		case !validVariantID(d.ID):
			v.Add(dloc+".variant_id", "required: 1..64 letters, digits, '.', '_' or '-', e.g. 2022-en-us-iso-x64, not %q", d.ID)
		case slices.IndexFunc(s.DownloadVariants, func(x DownloadVariant) bool { return x.ID == d.ID }) < i:
			v.Add(dloc+".variant_id", "duplicate variant ID %s", d.ID)
		}
		checkText(v, dloc+".version", d.Version, false, maxVariantTextLen)
		if d.Language != "" && !validLanguage(d.Language) {
			v.Add(dloc+".language", "must be a BCP 47 language tag such as en-US, not %q", d.Language)
		}
		checkText(v, dloc+".file_type", d.FileType, false, maxVariantTextLen)
		checkText(v, dloc+".operating_system", d.OperatingSystem, false, maxVariantTextLen)
		if d.SizeBytes < 0 {
			v.Add(dloc+".size_bytes", "must not be negative (0 when unknown)")
		}
	}
}

func checkHTTPS(v *errs.Violations, loc, raw string) {
	u, err := url.Parse(raw)
	switch {
	case len(raw) > maxURLLen:
		v.Add(loc, "at most %d characters", maxURLLen)
	case err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil:
		v.Add(loc, "must be an absolute https URL, not %q", raw)
	}
}

// CheckAvailability reports the problems of a market list (CA-2): a valid mode, well-formed
// country codes without duplicates, and at least one country when only listed ones are sold.
func CheckAvailability(v *errs.Violations, loc string, a Availability) {
	if !a.Mode.Valid() {
		v.Add(loc+".mode", "must be ALL_EXCEPT_LISTED or ONLY_LISTED (CA-2), not %q", string(a.Mode))
	}
	for i, c := range a.Countries {
		cloc := fmt.Sprintf("%s.country_codes[%d]", loc, i)
		switch {
		case !ValidCountryCode(c):
			v.Add(cloc, "must be ISO 3166-1 alpha-2, two upper-case letters, not %q", c)
		case slices.Index(a.Countries, c) < i:
			v.Add(cloc, "duplicate country %s", c)
		}
	}
	if a.Mode == OnlyListed && len(a.Countries) == 0 {
		v.Add(loc+".country_codes", "ONLY_LISTED with no country sells nowhere: list the markets, or discontinue the SKU (CA-9)")
	}
}

func checkDiscontinuation(v *errs.Violations, prefix string, s Sku) {
	loc := at(prefix, "equivalent_sku_id")
	switch {
	case s.Discontinued && s.EquivalentSkuID == "":
		v.Add(loc, "required when discontinued: the equivalent SKU customers move to (CA-9)")
	case !s.Discontinued && s.EquivalentSkuID != "":
		v.Add(loc, "set only when discontinued (CA-9)")
	case s.EquivalentSkuID == "":
	case !ValidSkuID(s.EquivalentSkuID):
		v.Add(loc, "must be a SKU ID, e.g. CFQ7TTC0LH18:0001, not %q", s.EquivalentSkuID)
	case s.EquivalentSkuID == s.ID:
		v.Add(loc, "a SKU cannot be its own equivalent (CA-9)")
	}
}

// Market is a country partnerhub serves (ID-3) and the currency its prices are in (CA-4).
type Market struct {
	CountryCode  string
	CurrencyCode string
}

// MarketOf looks a country up among the served markets.
type MarketOf func(country string) (Market, bool)

// CheckMoney reports the problems of an amount: not negative, bounded, a well-formed currency.
func CheckMoney(v *errs.Violations, loc string, m Money) {
	switch {
	case m.AmountMinor < 0:
		v.Add(loc+".amount_minor", "must not be negative")
	case m.AmountMinor > MaxAmountMinor:
		v.Add(loc+".amount_minor", "at most %d", MaxAmountMinor)
	}
	if !ValidCurrencyCode(m.CurrencyCode) {
		v.Add(loc+".currency_code", "must be an ISO 4217 code, three upper-case letters, not %q", m.CurrencyCode)
	}
}

// CheckPriceInFile reports the problems of one price of a catalog file: a served market, a term
// and plan the SKU sells (CA-5), a non-negative amount in the market's currency (CA-4).
func CheckPriceInFile(v *errs.Violations, loc string, p Price, sku Sku, markets MarketOf) {
	m, served := Market{}, false
	switch {
	case !ValidCountryCode(p.CountryCode):
		v.Add(loc+".country_code", "must be ISO 3166-1 alpha-2, two upper-case letters, not %q", p.CountryCode)
	default:
		if m, served = markets(p.CountryCode); !served {
			v.Add(loc+".country_code", "%s is not a market partnerhub serves (ID-3)", p.CountryCode)
		}
	}
	if !p.Term.Valid() {
		v.Add(loc+".term", "must be one of %s, not %q", names(Terms()), string(p.Term))
	}
	if !p.Plan.Valid() {
		v.Add(loc+".billing_plan", "must be one of %s, not %q", names(BillingPlans()), string(p.Plan))
	}
	if p.Term.Valid() && p.Plan.Valid() {
		if _, ok := sku.TermOption(p.Term); !ok {
			v.Add(loc+".term", "the SKU is not sold with term %s (TERM_NOT_ALLOWED)", p.Term)
		} else if !sku.Allows(p.Term, p.Plan) {
			v.Add(loc+".billing_plan", "the SKU does not allow billing plan %s with term %s (CA-5, BILLING_PLAN_NOT_ALLOWED)", p.Plan, p.Term)
		}
	}
	CheckMoney(v, loc+".billing_period_price", p.BillingPeriodPrice)
	if served && ValidCurrencyCode(p.BillingPeriodPrice.CurrencyCode) && p.BillingPeriodPrice.CurrencyCode != m.CurrencyCode {
		v.Add(loc+".billing_period_price.currency_code", "prices in %s are in %s, the market's currency (CA-4), not %s",
			p.CountryCode, m.CurrencyCode, p.BillingPeriodPrice.CurrencyCode)
	}
}
