package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/pkg/paging"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// The input checks every use case shares: each adds a field violation to v when the value is
// malformed.

func checkSkuID(v *errs.Violations, field, id string) {
	if !domain.ValidSkuID(id) {
		v.Add(field, "must be a SKU ID: the product ID, a colon and four digits, e.g. CFQ7TTC0LH18:0001, not %q", id)
	}
}

func checkCountry(v *errs.Violations, field, c string) {
	if !domain.ValidCountryCode(c) {
		v.Add(field, "must be ISO 3166-1 alpha-2: two upper-case letters, e.g. DE, not %q", c)
	}
}

// checkPriceKey checks what names a price: SKU, market, term and billing plan (CA-4, CA-5).
func checkPriceKey(v *errs.Violations, k domain.PriceKey) {
	checkSkuID(v, "sku_id", k.SkuID)
	checkCountry(v, "country_code", k.CountryCode)
	if !k.Term.Valid() {
		v.Add("term", "required: a term, not UNSPECIFIED")
	}
	if !k.Plan.Valid() {
		v.Add("billing_plan", "required: a billing plan, not UNSPECIFIED")
	}
}

func invalidProductID(field, id string) error {
	return errs.Invalid(field, "must be a product ID: 12 upper-case letters or digits, e.g. CFQ7TTC0LH18, not %q", id)
}

func invalidSkuID(field, id string) error {
	var v errs.Violations
	checkSkuID(&v, field, id)
	return v.Err()
}

// GetProduct returns one product (CA-1).
func (a *App) GetProduct(ctx context.Context, id string) (domain.Product, error) {
	if _, err := caller(ctx); err != nil {
		return domain.Product{}, err
	}
	if !domain.ValidProductID(id) {
		return domain.Product{}, invalidProductID("product_id", id)
	}
	return a.repo.Product(ctx, id)
}

// GetSku returns one SKU, discontinued ones too (CA-5, CA-7..CA-11).
func (a *App) GetSku(ctx context.Context, id string) (domain.Sku, error) {
	if _, err := caller(ctx); err != nil {
		return domain.Sku{}, err
	}
	if !domain.ValidSkuID(id) {
		return domain.Sku{}, invalidSkuID("sku_id", id)
	}
	return a.repo.Sku(ctx, id)
}

// ListProductsQuery is the input of ListProducts.
type ListProductsQuery struct {
	PageSize  int32
	PageToken string
	Kind      domain.ProductKind // "" for every kind
	Country   string             // "" for every market
}

// ProductPage is one page of products.
type ProductPage struct {
	Products      []domain.Product
	NextPageToken string
}

// ListProducts lists products by ID, optionally of one kind and with a SKU sold in one market
// (CA-1, CA-2). A well-formed country partnerhub does not serve has nothing sold in it: an
// empty page.
func (a *App) ListProducts(ctx context.Context, q ListProductsQuery) (ProductPage, error) {
	if _, err := caller(ctx); err != nil {
		return ProductPage{}, err
	}
	var v errs.Violations
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return ProductPage{}, err
	}
	if q.Kind != "" && !q.Kind.Valid() {
		v.Add("kind", "unknown product kind %q", string(q.Kind))
	}
	if q.Country != "" {
		checkCountry(&v, "country_code", q.Country)
	}
	if err := v.Err(); err != nil {
		return ProductPage{}, err
	}
	fp := paging.Fingerprint("products", q.Kind, q.Country)
	after, err := afterKey(q.PageToken, fp, domain.ValidProductID)
	if err != nil {
		return ProductPage{}, err
	}
	if served, err := a.served(ctx, q.Country); err != nil || !served {
		return ProductPage{}, err
	}
	rows, err := a.repo.Products(ctx, ProductQuery{Kind: q.Kind, Country: q.Country, After: after, Limit: size + 1})
	if err != nil {
		return ProductPage{}, fmt.Errorf("list products: %w", err)
	}
	rows, next := paging.Trim(rows, size, fp, func(p domain.Product) []string { return []string{p.ID} })
	return ProductPage{Products: rows, NextPageToken: next}, nil
}

// ListSkusQuery is the input of ListSkus.
type ListSkusQuery struct {
	PageSize            int32
	PageToken           string
	ProductID           string
	Kind                domain.ProductKind
	Country             string
	IncludeDiscontinued bool
}

// SkuPage is one page of SKUs.
type SkuPage struct {
	Skus          []domain.Sku
	NextPageToken string
}

// ListSkus lists SKUs by ID, optionally of one product or kind, sold in one market; discontinued
// ones only on request (CA-2, CA-9).
func (a *App) ListSkus(ctx context.Context, q ListSkusQuery) (SkuPage, error) {
	if _, err := caller(ctx); err != nil {
		return SkuPage{}, err
	}
	var v errs.Violations
	size, err := paging.Size(q.PageSize)
	if err != nil {
		return SkuPage{}, err
	}
	if q.ProductID != "" && !domain.ValidProductID(q.ProductID) {
		v.Add("product_id", "must be a product ID: 12 upper-case letters or digits, not %q", q.ProductID)
	}
	if q.Kind != "" && !q.Kind.Valid() {
		v.Add("kind", "unknown product kind %q", string(q.Kind))
	}
	if q.Country != "" {
		checkCountry(&v, "country_code", q.Country)
	}
	if err := v.Err(); err != nil {
		return SkuPage{}, err
	}
	fp := paging.Fingerprint("skus", q.ProductID, q.Kind, q.Country, q.IncludeDiscontinued)
	after, err := afterKey(q.PageToken, fp, domain.ValidSkuID)
	if err != nil {
		return SkuPage{}, err
	}
	if served, err := a.served(ctx, q.Country); err != nil || !served {
		return SkuPage{}, err
	}
	rows, err := a.repo.Skus(ctx, SkuQuery{ProductID: q.ProductID, Kind: q.Kind, Country: q.Country,
		IncludeDiscontinued: q.IncludeDiscontinued, After: after, Limit: size + 1})
	if err != nil {
		return SkuPage{}, fmt.Errorf("list SKUs: %w", err)
	}
	rows, next := paging.Trim(rows, size, fp, func(s domain.Sku) []string { return []string{s.ID} })
	return SkuPage{Skus: rows, NextPageToken: next}, nil
}

// afterKey decodes a page token whose key is one ID that must pass valid.
func afterKey(token, fp string, valid func(string) bool) (string, error) {
	after, err := paging.Decode(token, fp, 1)
	if err != nil || after == nil {
		return "", err
	}
	if !valid(after[0]) {
		return "", errs.New(errs.InvalidArgument, errs.ReasonInvalidPageToken, "the page_token is malformed")
	}
	return after[0], nil
}

// served reports whether a country filter can match anything: true for no filter, else whether
// partnerhub serves the country (ID-3).
func (a *App) served(ctx context.Context, country string) (bool, error) {
	if country == "" {
		return true, nil
	}
	_, ok, err := a.markets.Market(ctx, country)
	if err != nil {
		return false, fmt.Errorf("markets: %w", err)
	}
	return ok, nil
}

// Availability is CheckAvailability's answer: being unavailable is an answer, not an error.
type Availability struct {
	Available  bool
	Reason     errs.Reason // COUNTRY_NOT_SUPPORTED, SKU_DISCONTINUED or MARKET_NOT_AVAILABLE
	Message    string
	Equivalent string // with SKU_DISCONTINUED: the SKU to offer instead (CA-9)
}

// CheckAvailability says whether a SKU may be sold to a customer in a country (CA-2, CA-9, ID-3).
// The reasons are checked in the order an order would meet them: a country partnerhub does not
// serve, then a discontinued SKU (its equivalent is the useful answer), then the SKU's markets.
func (a *App) CheckAvailability(ctx context.Context, skuID, country string) (Availability, error) {
	if _, err := caller(ctx); err != nil {
		return Availability{}, err
	}
	var v errs.Violations
	checkSkuID(&v, "sku_id", skuID)
	checkCountry(&v, "country_code", country)
	if err := v.Err(); err != nil {
		return Availability{}, err
	}
	s, err := a.repo.Sku(ctx, skuID)
	if err != nil {
		return Availability{}, err
	}
	served, err := a.served(ctx, country)
	if err != nil {
		return Availability{}, err
	}
	switch {
	case !served:
		return Availability{Reason: domain.ReasonCountryNotSupported,
			Message: fmt.Sprintf("partnerhub does not serve %s (ID-3)", country)}, nil
	case s.Discontinued:
		return Availability{Reason: domain.ReasonSkuDiscontinued, Equivalent: s.EquivalentSkuID,
			Message: fmt.Sprintf("SKU %s is discontinued; its equivalent is %s (CA-9)", s.ID, s.EquivalentSkuID)}, nil
	case !s.Availability.Includes(country):
		return Availability{Reason: domain.ReasonMarketNotAvailable,
			Message: fmt.Sprintf("SKU %s is not sold in %s (CA-2)", s.ID, country)}, nil
	}
	return Availability{Available: true}, nil
}

// marketNotAvailable is FAILED_PRECONDITION / MARKET_NOT_AVAILABLE with the market and SKU.
func marketNotAvailable(skuID, country string) error {
	return errs.New(errs.FailedPrecondition, domain.ReasonMarketNotAvailable,
		"SKU %s is not sold in %s (CA-2)", skuID, country).With("market", country).With("sku_id", skuID)
}

// GetPrice returns the price of one unit of a SKU in a market for a term and billing plan (CA-4,
// CA-5), and the SKU's Azure Hybrid Benefit saving (CA-6). Discontinued SKUs keep their prices:
// existing subscriptions renew at them.
func (a *App) GetPrice(ctx context.Context, k domain.PriceKey) (domain.Price, int32, error) {
	if _, err := caller(ctx); err != nil {
		return domain.Price{}, 0, err
	}
	var v errs.Violations
	checkPriceKey(&v, k)
	if err := v.Err(); err != nil {
		return domain.Price{}, 0, err
	}
	s, err := a.repo.Sku(ctx, k.SkuID)
	if err != nil {
		return domain.Price{}, 0, err
	}
	served, err := a.served(ctx, k.CountryCode)
	if err != nil {
		return domain.Price{}, 0, err
	}
	if !served || !s.Availability.Includes(k.CountryCode) {
		return domain.Price{}, 0, marketNotAvailable(s.ID, k.CountryCode)
	}
	if err := checkTermAndPlan(s, k.Term, k.Plan); err != nil {
		return domain.Price{}, 0, err
	}
	p, err := a.repo.Price(ctx, k)
	if errs.KindOf(err) == errs.NotFound {
		return domain.Price{}, 0, errs.New(errs.NotFound, domain.ReasonPriceNotFound,
			"SKU %s has no price in %s for %s billed %s", k.SkuID, k.CountryCode, k.Term, k.Plan).
			With("sku_id", k.SkuID).With("market", k.CountryCode).With("term", k.Term).With("billing_plan", k.Plan)
	}
	if err != nil {
		return domain.Price{}, 0, err
	}
	return p, s.AHBMaxSavingPercent, nil
}

// EquivalentOffer is an offer a subscription can move to without license reassignment (SU-14).
type EquivalentOffer struct {
	Sku domain.Sku
	// Same: the SKU itself (still sold); else the equivalent its discontinuation names (CA-9).
	Same              bool
	AvailableInMarket bool
}

// FindEquivalentOffers lists the offers a subscription of a SKU can move to with the same license
// count (CA-9, SU-14): the SKU itself while it is sold, else the first SKU still sold along its
// chain of equivalents; none when the chain ends at an unknown SKU. With a country, each offer
// says whether it is sold there.
func (a *App) FindEquivalentOffers(ctx context.Context, skuID, country string) ([]EquivalentOffer, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	var v errs.Violations
	checkSkuID(&v, "sku_id", skuID)
	if country != "" {
		checkCountry(&v, "country_code", country)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	s, err := a.repo.Sku(ctx, skuID)
	if err != nil {
		return nil, err
	}
	target, ok, err := domain.Equivalents(s, func(id string) (domain.Sku, bool, error) {
		n, err := a.repo.Sku(ctx, id)
		if errs.KindOf(err) == errs.NotFound {
			return domain.Sku{}, false, nil
		}
		return n, err == nil, err
	})
	if err != nil || !ok {
		return nil, err
	}
	available := true
	if country != "" {
		served, err := a.served(ctx, country)
		if err != nil {
			return nil, err
		}
		available = served && target.Availability.Includes(country)
	}
	return []EquivalentOffer{{Sku: target, Same: target.ID == s.ID, AvailableInMarket: available}}, nil
}

// offerPrices keeps the prices of the term × plan combinations the SKU allows (CA-5), in the
// SKU's term order and contract plan order.
func offerPrices(s domain.Sku, prices []domain.Price) []domain.Price {
	var out []domain.Price
	for _, o := range s.TermOptions {
		for _, pl := range o.Plans {
			if i := slices.IndexFunc(prices, func(p domain.Price) bool { return p.Term == o.Term && p.Plan == pl }); i >= 0 {
				out = append(out, prices[i])
			}
		}
	}
	return out
}
