package domain

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"
)

// Product groups the SKUs of one offering (CA-1). Prices, terms, policies and markets live on its
// SKUs.
type Product struct {
	ID            string // 12 upper-case letters or digits, e.g. "CFQ7TTC0LH18"
	DisplayName   string
	Description   string
	Kind          ProductKind
	Publisher     string
	SalesPrograms []SalesProgram // CA-3; at least one
	SkuCount      int            // read only: SKUs of the product, discontinued ones included
	Etag          string
	CreateTime    time.Time
	UpdateTime    time.Time
}

// TermOption is one term a SKU is sold with and the billing plans allowed for it (CA-5).
type TermOption struct {
	Term  Term
	Plans []BillingPlan
}

// CancellationPolicy says whether, when and with what refund a purchase can be cancelled (CA-10).
type CancellationPolicy struct {
	Kind       CancellationKind
	WindowDays int32
}

// AutoRenewDefault is the autorenew setting new purchases get (CA-11, SU-9).
type AutoRenewDefault struct {
	Enabled       bool
	EffectiveFrom time.Time // zero: for every purchase
	Renewable     bool
}

// DownloadVariant is one downloadable build of a SKU (KD-4).
type DownloadVariant struct {
	ID              string
	Version         string
	Language        string
	FileType        string
	OperatingSystem string
	SizeBytes       int64
}

// Availability is the set of markets a SKU is sold in (CA-2).
type Availability struct {
	Mode      AvailabilityMode
	Countries []string // ISO 3166-1 alpha-2, sorted, no duplicates
}

// Includes reports whether the list, read per its mode, admits the country. Whether the country
// is served at all (ID-3) is the caller's question.
func (a Availability) Includes(country string) bool {
	listed := slices.Contains(a.Countries, country)
	if a.Mode == OnlyListed {
		return listed
	}
	return a.Mode == AllExceptListed && !listed
}

// Sku is one sellable variant of a product with everything a purchase needs to know.
type Sku struct {
	ID                          string // product ID, ":", four digits
	ProductID                   string
	ProductKind                 ProductKind // read only: the product's kind
	DisplayName                 string
	Description                 string
	TermOptions                 []TermOption
	Cancellation                CancellationPolicy
	AutoRenew                   AutoRenewDefault
	KeyType                     KeyType
	DownloadVariants            []DownloadVariant
	InstallationInstructionsURL string
	MaximumQuantity             int32
	Availability                Availability
	AHBMaxSavingPercent         int32 // CA-6
	Discontinued                bool
	DiscontinueTime             time.Time
	EquivalentSkuID             string // CA-9: set exactly when discontinued
	Etag                        string
	CreateTime                  time.Time
	UpdateTime                  time.Time
}

// TermOption returns the SKU's option for term, if it sells that term.
func (s Sku) TermOption(t Term) (TermOption, bool) {
	for _, o := range s.TermOptions {
		if o.Term == t {
			return o, true
		}
	}
	return TermOption{}, false
}

// Allows reports whether the SKU sells term with plan (CA-5).
func (s Sku) Allows(t Term, p BillingPlan) bool {
	o, ok := s.TermOption(t)
	return ok && slices.Contains(o.Plans, p)
}

// Money is an exact amount in minor units of an ISO 4217 currency.
type Money struct {
	AmountMinor  int64
	CurrencyCode string
}

// PriceKey names one price: a SKU in a market for a term and billing plan.
type PriceKey struct {
	SkuID       string
	CountryCode string
	Term        Term
	Plan        BillingPlan
}

// Price is what one unit of a SKU costs in one market for one term and billing plan (CA-4, CA-5).
type Price struct {
	PriceKey
	BillingPeriodPrice Money // the charge per billing period per unit
	Etag               string
	CreateTime         time.Time
	UpdateTime         time.Time
}

// PeriodsPerTerm is the number of billing periods in one term (BI-2): P1Y monthly 12, P1Y annual
// 1, P3Y monthly 36, P3Y annual 3, P3Y triennial 1, P1M monthly 1, perpetual one-time 1.
func PeriodsPerTerm(t Term, p BillingPlan) int32 {
	months := map[Term]int32{TermP1M: 1, TermP1Y: 12, TermP3Y: 36}[t]
	switch p {
	case PlanMonthly:
		return max(months, 1)
	case PlanAnnual:
		return max(months/12, 1)
	}
	return 1 // TRIENNIAL on P3Y, ONE_TIME on PERPETUAL (CA-5 allows no other pairs)
}

// PeriodsPerTerm of the price's term and plan.
func (p Price) PeriodsPerTerm() int32 { return PeriodsPerTerm(p.Term, p.Plan) }

// TermPrice is the price of a whole term per unit: billing period price × periods, exact. Amounts
// are validated to at most MaxAmountMinor, so the product cannot overflow.
func (p Price) TermPrice() Money {
	return Money{AmountMinor: p.BillingPeriodPrice.AmountMinor * int64(p.PeriodsPerTerm()),
		CurrencyCode: p.BillingPeriodPrice.CurrencyCode}
}

// TaxInclusive reports whether the market's prices include taxes: Australia and Brazil (CA-4).
func (p Price) TaxInclusive() bool { return TaxInclusive(p.CountryCode) }

// TaxInclusive reports whether prices in country include taxes (CA-4: AU and BR only).
func TaxInclusive(country string) bool { return country == "AU" || country == "BR" }

// MaxAmountMinor bounds a billing period price, so that a term price (at most 36 periods) stays
// far inside int64: 10^15 minor units is 10 trillion in a two-decimal currency.
const MaxAmountMinor int64 = 1_000_000_000_000_000

// The ID and code formats are checked by hand rather than with regular expressions: they are on
// every request's path, and a loop over a dozen bytes is cheaper than a regexp match.

func upper(c byte) bool { return c >= 'A' && c <= 'Z' }
func digit(c byte) bool { return c >= '0' && c <= '9' }

func all(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// ValidProductID reports whether id is 12 upper-case letters or digits.
func ValidProductID(id string) bool {
	return len(id) == 12 && all(id, func(c byte) bool { return upper(c) || digit(c) })
}

// ValidSkuID reports whether id is a product ID, a colon and four digits.
func ValidSkuID(id string) bool {
	return len(id) == 17 && ValidProductID(id[:12]) && id[12] == ':' && all(id[13:], digit)
}

// ProductOfSku returns the product ID part of a well-formed SKU ID ("" otherwise).
func ProductOfSku(id string) string {
	if !ValidSkuID(id) {
		return ""
	}
	return id[:12]
}

// ValidCountryCode reports whether s is well-formed ISO 3166-1 alpha-2 (two upper-case letters).
// Whether it is served is the markets' question (ID-3).
func ValidCountryCode(s string) bool { return len(s) == 2 && all(s, upper) }

// ValidCurrencyCode reports whether s is a well-formed ISO 4217 alphabetic code.
func ValidCurrencyCode(s string) bool { return len(s) == 3 && all(s, upper) }

// Instant is t at the precision both database engines keep (UTC, microseconds), so a value
// written and read back compares equal.
func Instant(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// etagOf is a content hash: equal content gives an equal etag, which is also how an import tells
// "unchanged" from "updated".
func etagOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // plain data: cannot fail
		panic(err)
	}
	h := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(h[:12])
}

// ContentEtag is the product's etag: a hash of every field a caller sets.
func (p Product) ContentEtag() string {
	return etagOf([]any{p.ID, p.DisplayName, p.Description, p.Kind, p.Publisher, p.SalesPrograms})
}

// ContentEtag is the SKU's etag: a hash of every field a caller sets, availability and
// discontinuation included.
func (s Sku) ContentEtag() string {
	return etagOf([]any{s.ID, s.ProductID, s.DisplayName, s.Description, s.TermOptions, s.Cancellation,
		s.AutoRenew.Enabled, Instant(s.AutoRenew.EffectiveFrom).Format(time.RFC3339Nano), s.AutoRenew.Renewable,
		s.KeyType, s.DownloadVariants, s.InstallationInstructionsURL, s.MaximumQuantity, s.Availability,
		s.AHBMaxSavingPercent, s.Discontinued, Instant(s.DiscontinueTime).Format(time.RFC3339Nano), s.EquivalentSkuID})
}

// ContentEtag is the price's etag: a hash of its key and amount.
func (p Price) ContentEtag() string { return etagOf([]any{p.PriceKey, p.BillingPeriodPrice}) }

// Normalize returns p with its sets in canonical order (programs in contract order), so equal
// content has an equal etag. Call it after validation: it drops duplicates and unknown values.
func (p Product) Normalize() Product {
	p.SalesPrograms = orderIn(p.SalesPrograms, SalesPrograms())
	return p
}

// Normalize returns s with its sets in canonical order: term options by term, plans and countries
// sorted, times at storage precision. Download variants keep the file's order (a display order).
// Call it after validation.
func (s Sku) Normalize() Sku {
	opts := make([]TermOption, 0, len(s.TermOptions))
	for _, t := range Terms() {
		if o, ok := s.TermOption(t); ok {
			opts = append(opts, TermOption{Term: t, Plans: orderIn(o.Plans, BillingPlans())})
		}
	}
	s.TermOptions = opts
	s.Availability.Countries = slices.Compact(slices.Sorted(slices.Values(s.Availability.Countries)))
	if len(s.Availability.Countries) == 0 {
		s.Availability.Countries = nil
	}
	if len(s.DownloadVariants) == 0 {
		s.DownloadVariants = nil
	}
	s.AutoRenew.EffectiveFrom = Instant(s.AutoRenew.EffectiveFrom)
	s.DiscontinueTime = Instant(s.DiscontinueTime)
	return s
}
