// Package cached is the cache-aside decorator of catalog's repository: the read path (app.Reads)
// is answered from a shared cache (Redis or in-process, through pkg/cache's Aside: TTL with
// jitter, one load per key for concurrent misses, short negative caching, a cache outage degrading
// to the database), and every write transaction invalidates what it wrote before Write returns,
// so the next read on any instance sharing the cache sees it (issue 4: never a stale price).
//
// Keys (under the cache's own prefix, "catalog:" for Redis):
//
//	product:<product_id>                     a product (its SKU count included)
//	sku:<sku_id>                             a SKU
//	price:<sku_id>:<country>:<term>:<plan>   a price; a missing one is cached negatively
//	lists                                    the list version, a random token
//	products:<version>:<filters>             a page of ListProducts rows
//	skus:<version>:<filters>                 a page of ListSkus rows
//	offers:<version>:<filters>               a page of offers with their prices
//
// Lists are cached under the list version: every write transaction invalidates "lists", the next
// list read draws a new version, and the pages of the old one are never read again (they expire).
// Values are the contract's messages in protobuf wire form: compact and fast to decode.
package cached

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/partnerhub/partnerhub/gen/partnerhub/catalog/v1"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/catalog/internal/app"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
	"github.com/partnerhub/partnerhub/services/catalog/internal/pbconv"
)

// Aside is the cache-aside reader the decorator needs (pkg/cache.Aside implements it).
type Aside interface {
	// Get returns the value under key, loading and storing it on a miss (found false: cached
	// negatively).
	Get(ctx context.Context, key string, load func(ctx context.Context) (value []byte, found bool, err error)) (value []byte, found bool, err error)
	// Invalidate makes the next Get of each key, on every instance, load fresh data. An error
	// wrapping cache.ErrInvalidationDeferred means the cache owes it and delivers it later.
	Invalidate(ctx context.Context, keys ...string) error
}

// Repo decorates an app.Repository with the cache.
type Repo struct {
	inner app.Repository
	aside Aside
	// Decoded values by their cached bytes: the hot path (GetSku on a warm cache) then pays a
	// map lookup instead of an unmarshal and a conversion. The bytes determine the value, so a
	// memo entry is never stale; freshness is the Aside's business.
	products *memo[domain.Product]
	skus     *memo[domain.Sku]
	prices   *memo[domain.Price]
	// onInvalidateError receives an invalidation the cache could not take at once: the write has
	// committed and the Aside delivers it later, so it is logged, never returned.
	onInvalidateError func(error)
}

// New returns the decorator. onInvalidateError (may be nil) is told about deferred
// invalidations.
func New(inner app.Repository, aside Aside, onInvalidateError func(error)) *Repo {
	if onInvalidateError == nil {
		onInvalidateError = func(error) {}
	}
	return &Repo{inner: inner, aside: aside, onInvalidateError: onInvalidateError,
		products: newMemo(decodeProduct), skus: newMemo(decodeSku), prices: newMemo(decodePrice)}
}

var _ app.Repository = (*Repo)(nil)

// Key of the list version.
const listsKey = "lists"

// ProductKey, SkuKey and PriceKey are the cache keys of single entities.
func ProductKey(id string) string { return "product:" + id }

// SkuKey is the cache key of a SKU.
func SkuKey(id string) string { return "sku:" + id }

// PriceKey is the cache key of a price.
func PriceKey(k domain.PriceKey) string {
	return "price:" + k.SkuID + ":" + k.CountryCode + ":" + string(k.Term) + ":" + string(k.Plan)
}

// get reads one entity through the cache: load reads the inner repository, whose NotFound is
// cached negatively and returned as notFound().
func get[T any](ctx context.Context, r *Repo, key string, load func(context.Context) (T, error),
	encode func(T) proto.Message, decode func([]byte) (T, error), notFound func() error) (T, error) {
	var zero T
	b, found, err := r.aside.Get(ctx, key, func(ctx context.Context) ([]byte, bool, error) {
		v, err := load(ctx)
		if errs.KindOf(err) == errs.NotFound {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		b, err := proto.Marshal(encode(v))
		if err != nil {
			return nil, false, fmt.Errorf("encode %s: %w", key, err)
		}
		return b, true, nil
	})
	if err != nil {
		return zero, err
	}
	if !found {
		return zero, notFound()
	}
	v, err := decode(b)
	if err != nil {
		return zero, fmt.Errorf("decode cached %s: %w", key, err)
	}
	return v, nil
}

func decodeProduct(b []byte) (domain.Product, error) {
	var m catalogv1.Product
	if err := proto.Unmarshal(b, &m); err != nil {
		return domain.Product{}, err
	}
	return pbconv.Product(&m), nil
}

func decodeSku(b []byte) (domain.Sku, error) {
	var m catalogv1.Sku
	if err := proto.Unmarshal(b, &m); err != nil {
		return domain.Sku{}, err
	}
	return pbconv.Sku(&m), nil
}

func decodePrice(b []byte) (domain.Price, error) {
	var m catalogv1.Price
	if err := proto.Unmarshal(b, &m); err != nil {
		return domain.Price{}, err
	}
	return pbconv.Price(&m), nil
}

// Product implements app.Reads.
func (r *Repo) Product(ctx context.Context, id string) (domain.Product, error) {
	return get(ctx, r, ProductKey(id),
		func(ctx context.Context) (domain.Product, error) { return r.inner.Product(ctx, id) },
		func(p domain.Product) proto.Message { return pbconv.ProductPB(p) }, r.products.decode,
		func() error { return errs.NotFoundf("product", id) })
}

// Sku implements app.Reads.
func (r *Repo) Sku(ctx context.Context, id string) (domain.Sku, error) {
	return get(ctx, r, SkuKey(id),
		func(ctx context.Context) (domain.Sku, error) { return r.inner.Sku(ctx, id) },
		func(s domain.Sku) proto.Message { return pbconv.SkuPB(s) }, r.skus.decode,
		func() error { return errs.NotFoundf("sku", id) })
}

// Price implements app.Reads.
func (r *Repo) Price(ctx context.Context, k domain.PriceKey) (domain.Price, error) {
	return get(ctx, r, PriceKey(k),
		func(ctx context.Context) (domain.Price, error) { return r.inner.Price(ctx, k) },
		func(p domain.Price) proto.Message { return pbconv.PricePB(p) }, r.prices.decode,
		func() error {
			return errs.NotFoundf("price", fmt.Sprintf("%s/%s/%s/%s", k.SkuID, k.CountryCode, k.Term, k.Plan))
		})
}

// version returns the current list version, drawing a new one after an invalidation.
func (r *Repo) version(ctx context.Context) (string, error) {
	b, _, err := r.aside.Get(ctx, listsKey, func(context.Context) ([]byte, bool, error) {
		var v [8]byte
		if _, err := rand.Read(v[:]); err != nil {
			return nil, false, fmt.Errorf("list version: %w", err)
		}
		return []byte(hex.EncodeToString(v[:])), true, nil
	})
	return string(b), err
}

// list reads a page through the cache under the list version.
func list[T any](ctx context.Context, r *Repo, kind string, filters []string, load func(context.Context) ([]T, error),
	encode func([]T) proto.Message, decode func([]byte) ([]T, error)) ([]T, error) {
	ver, err := r.version(ctx)
	if err != nil {
		return nil, err
	}
	key := kind + ":" + ver
	for _, f := range filters {
		key += ":" + f
	}
	return get(ctx, r, key, load, encode, decode, func() error { return nil })
}

// Products implements app.Reads.
func (r *Repo) Products(ctx context.Context, q app.ProductQuery) ([]domain.Product, error) {
	return list(ctx, r, "products", []string{string(q.Kind), q.Country, q.After, strconv.Itoa(q.Limit)},
		func(ctx context.Context) ([]domain.Product, error) { return r.inner.Products(ctx, q) },
		func(ps []domain.Product) proto.Message {
			return &catalogv1.ListProductsResponse{Products: pbconv.All(ps, pbconv.ProductPB)}
		},
		func(b []byte) ([]domain.Product, error) {
			var m catalogv1.ListProductsResponse
			if err := proto.Unmarshal(b, &m); err != nil {
				return nil, err
			}
			return pbconv.All(m.GetProducts(), pbconv.Product), nil
		})
}

// Skus implements app.Reads.
func (r *Repo) Skus(ctx context.Context, q app.SkuQuery) ([]domain.Sku, error) {
	return list(ctx, r, "skus", []string{q.ProductID, string(q.Kind), q.Country,
		strconv.FormatBool(q.IncludeDiscontinued), q.After, strconv.Itoa(q.Limit)},
		func(ctx context.Context) ([]domain.Sku, error) { return r.inner.Skus(ctx, q) },
		func(ss []domain.Sku) proto.Message {
			return &catalogv1.ListSkusResponse{Skus: pbconv.All(ss, pbconv.SkuPB)}
		},
		func(b []byte) ([]domain.Sku, error) {
			var m catalogv1.ListSkusResponse
			if err := proto.Unmarshal(b, &m); err != nil {
				return nil, err
			}
			return pbconv.All(m.GetSkus(), pbconv.Sku), nil
		})
}

// Offers implements app.Reads. Partners enrolled in the same programs share the entries: the
// key has the program mask, not the partner.
func (r *Repo) Offers(ctx context.Context, q app.OfferQuery) ([]app.Offer, error) {
	return list(ctx, r, "offers", []string{q.Country, strconv.FormatInt(q.ProgramMask, 10), string(q.Kind),
		q.ProductID, q.After, strconv.Itoa(q.Limit)},
		func(ctx context.Context) ([]app.Offer, error) { return r.inner.Offers(ctx, q) },
		func(os []app.Offer) proto.Message {
			m := &catalogv1.ListPurchasableOffersResponse{}
			for _, o := range os {
				m.Offers = append(m.Offers, &catalogv1.PurchasableOffer{Sku: pbconv.SkuPB(o.Sku),
					Product: pbconv.ProductPB(o.Product), Prices: pbconv.All(o.Prices, pbconv.PricePB)})
			}
			return m
		},
		func(b []byte) ([]app.Offer, error) {
			var m catalogv1.ListPurchasableOffersResponse
			if err := proto.Unmarshal(b, &m); err != nil {
				return nil, err
			}
			var out []app.Offer
			for _, po := range m.GetOffers() {
				out = append(out, app.Offer{Sku: pbconv.Sku(po.GetSku()), Product: pbconv.Product(po.GetProduct()),
					Prices: pbconv.All(po.GetPrices(), pbconv.Price)})
			}
			return out, nil
		})
}

// Empty implements app.Repository (start-up only: not cached).
func (r *Repo) Empty(ctx context.Context) (bool, error) { return r.inner.Empty(ctx) }

// Snapshot implements app.Repository: a read-only transaction, nothing to invalidate.
func (r *Repo) Snapshot(ctx context.Context, fn func(tx app.TxReader) error) error {
	return r.inner.Snapshot(ctx, fn)
}

// Write implements app.Repository: after the transaction ends, and before Write returns, it
// invalidates every entity the transaction wrote and the list version. A transaction that wrote
// nothing invalidates nothing. One that wrote and then failed invalidates too: a failed COMMIT
// may still have committed, and a needless invalidation costs one load.
func (r *Repo) Write(ctx context.Context, fn func(tx app.Tx) error) error {
	var keys []string
	err := r.inner.Write(ctx, func(tx app.Tx) error {
		rec := &recorder{Tx: tx} // afresh for each attempt: only the last one can have committed
		err := fn(rec)
		keys = rec.keys
		return err
	})
	if len(keys) == 0 {
		return err
	}
	keys = append(slices.Compact(slices.Sorted(slices.Values(keys))), listsKey)
	if ierr := r.aside.Invalidate(ctx, keys...); ierr != nil {
		// The cache owes the invalidation and the Aside delivers it; until then it bypasses the
		// cache, so this instance serves no stale value. Not the caller's error.
		r.onInvalidateError(ierr)
	}
	return err
}

// recorder is a Tx that records the cache keys of what it writes.
type recorder struct {
	app.Tx
	keys []string
}

func (t *recorder) PutProduct(ctx context.Context, p domain.Product, created bool) error {
	t.keys = append(t.keys, ProductKey(p.ID))
	return t.Tx.PutProduct(ctx, p, created)
}

func (t *recorder) PutSku(ctx context.Context, s domain.Sku, created bool) error {
	// The product's SKU count may change with it.
	t.keys = append(t.keys, SkuKey(s.ID), ProductKey(s.ProductID))
	return t.Tx.PutSku(ctx, s, created)
}

func (t *recorder) PutPrice(ctx context.Context, p domain.Price, created bool) error {
	t.keys = append(t.keys, PriceKey(p.PriceKey))
	return t.Tx.PutPrice(ctx, p, created)
}

// memoSize bounds each memo; a full memo starts over (the catalog is small: a few hundred SKUs
// and a few thousand prices, so this is rare).
const memoSize = 8192

// memo remembers decoded values by their encoded bytes. Values it returns are shared between
// callers: read-only (the app never modifies what it reads).
type memo[T any] struct {
	dec func([]byte) (T, error)

	mu sync.Mutex
	m  map[string]T
}

func newMemo[T any](dec func([]byte) (T, error)) *memo[T] {
	return &memo[T]{dec: dec, m: map[string]T{}}
}

func (m *memo[T]) decode(b []byte) (T, error) {
	m.mu.Lock()
	v, ok := m.m[string(b)] // no allocation: the compiler looks up with the bytes
	m.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := m.dec(b)
	if err != nil {
		return v, err
	}
	m.mu.Lock()
	if len(m.m) >= memoSize {
		clear(m.m)
	}
	m.m[string(b)] = v
	m.mu.Unlock()
	return v, nil
}
