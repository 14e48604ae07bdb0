package app

import (
	"context"

	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// Reads is the catalog's read path: everything CatalogService answers from. The SQL repository
// implements it, and a cache-aside decorator (internal/adapters/cached) wraps it, so warm reads
// never reach the database. Unknown IDs are errs.NotFound (RESOURCE_NOT_FOUND).
type Reads interface {
	// Product returns a product with its SKU count.
	Product(ctx context.Context, id string) (domain.Product, error)
	// Sku returns a SKU, discontinued or not, with its product's kind.
	Sku(ctx context.Context, id string) (domain.Sku, error)
	// Price returns one price; NotFound when the SKU has none for that key.
	Price(ctx context.Context, k domain.PriceKey) (domain.Price, error)
	// Products returns products matching q, ordered by ID, at most q.Limit.
	Products(ctx context.Context, q ProductQuery) ([]domain.Product, error)
	// Skus returns SKUs matching q, ordered by ID, at most q.Limit.
	Skus(ctx context.Context, q SkuQuery) ([]domain.Sku, error)
	// Offers returns the SKUs sold in a market through at least one of a set of programs, not
	// discontinued, ordered by SKU ID, at most q.Limit, each with its product and its prices in
	// that market (CA-2, CA-3, CA-9).
	Offers(ctx context.Context, q OfferQuery) ([]Offer, error)
}

// ProductQuery selects products. Empty fields do not filter.
type ProductQuery struct {
	Kind domain.ProductKind
	// Country keeps products with at least one SKU sold (not discontinued) in that market,
	// which the caller has checked is served.
	Country string
	After   string // keyset: product IDs after this one
	Limit   int
}

// SkuQuery selects SKUs. Empty fields do not filter.
type SkuQuery struct {
	ProductID           string
	Kind                domain.ProductKind
	Country             string // sold there per availability (CA-2); the caller checked it is served
	IncludeDiscontinued bool
	After               string
	Limit               int
}

// OfferQuery selects purchasable offers (CA-2, CA-3, CA-9).
type OfferQuery struct {
	Country     string // the market, served (checked by the caller)
	ProgramMask int64  // domain.ProgramMask of the partner's programs; 0 matches nothing
	Kind        domain.ProductKind
	ProductID   string
	After       string
	Limit       int
}

// Offer is a SKU with its product and its prices in one market.
type Offer struct {
	Sku     domain.Sku
	Product domain.Product
	Prices  []domain.Price // ordered by term, then billing plan, in contract order
}

// Repository is the catalog's persistence: the read path, plus transactions for writes. Writes
// read and write through a Tx, so the check and the write see one snapshot; the cache decorator
// invalidates what a write transaction touched before Write returns.
type Repository interface {
	Reads
	// Write runs fn in a transaction and commits it unless fn fails. fn may run more than once
	// (a conflicting transaction is retried): no side effects.
	Write(ctx context.Context, fn func(tx Tx) error) error
	// Snapshot runs fn in a read-only transaction (an import's dry run).
	Snapshot(ctx context.Context, fn func(tx TxReader) error) error
	// Empty reports whether the catalog has no product at all (seeding on first start).
	Empty(ctx context.Context) (bool, error)
}

// TxReader reads inside a transaction, bypassing any cache.
type TxReader interface {
	Product(ctx context.Context, id string) (domain.Product, bool, error)
	Sku(ctx context.Context, id string) (domain.Sku, bool, error)
	Price(ctx context.Context, k domain.PriceKey) (domain.Price, bool, error)
	// SkuIDs returns the IDs of a product's SKUs.
	SkuIDs(ctx context.Context, productID string) ([]string, error)
	// Prices returns every price of a SKU.
	Prices(ctx context.Context, skuID string) ([]domain.Price, error)
}

// Tx writes inside a transaction. Put stores the entity as given (created: insert, else update);
// the caller has merged it with the stored one (domain.Merge*).
type Tx interface {
	TxReader
	PutProduct(ctx context.Context, p domain.Product, created bool) error
	PutSku(ctx context.Context, s domain.Sku, created bool) error
	PutPrice(ctx context.Context, p domain.Price, created bool) error
}

// Markets are the countries partnerhub serves (ID-3) with their currencies (CA-4), from identity.
type Markets interface {
	// Market looks a country up; ok is false for one partnerhub does not serve.
	Market(ctx context.Context, country string) (m domain.Market, ok bool, err error)
	// All returns every served market.
	All(ctx context.Context) ([]domain.Market, error)
}

// Partners tells the sales programs a partner is enrolled in (ID-1, CA-3).
type Partners interface {
	// Programs returns the partner's sales programs; none for an unknown partner.
	Programs(ctx context.Context, partnerID string) ([]domain.SalesProgram, error)
}

// Customers tells whether a partner may sell to a customer (ID-4) and where the customer is.
type Customers interface {
	Relationship(ctx context.Context, partnerID, customerID string) (CustomerRelationship, error)
}

// CustomerRelationship is what a partner may know about a customer.
type CustomerRelationship struct {
	// Active: an active reseller relationship links partner and customer (ID-4).
	Active bool
	// Former: not active, but the partner had one (removed, or the customer moved away), so the
	// partner knows the customer exists.
	Former bool
	// Country is the customer's country, its market (CA-2); set when Active.
	Country string
}
