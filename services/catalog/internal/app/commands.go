package app

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// UpsertProduct creates a product or replaces its fields (CA-1, CA-3). in.Etag, when set, must
// be the stored product's. The kind of a product with SKUs is fixed: its SKUs' terms, policies
// and keys were checked against it (CA-1, CA-10).
func (a *App) UpsertProduct(ctx context.Context, in domain.Product) (domain.Product, bool, error) {
	if err := requireService(ctx); err != nil {
		return domain.Product{}, false, err
	}
	var v errs.Violations
	domain.CheckProduct(&v, "product", in)
	if err := v.Err(); err != nil {
		return domain.Product{}, false, err
	}
	now := a.now()
	var out domain.Product
	var change domain.Change
	err := a.repo.Write(ctx, func(tx Tx) error {
		cur, found, err := tx.Product(ctx, in.ID)
		if err != nil {
			return err
		}
		if err := checkEtag(in.Etag, cur.Etag, found, "product", in.ID); err != nil {
			return err
		}
		if found && cur.Kind != in.Kind && cur.SkuCount > 0 {
			return errs.Invalid("product.kind", "cannot change from %s: the product has %d SKUs whose terms and policies follow its kind (CA-1, CA-10)",
				cur.Kind, cur.SkuCount)
		}
		out, change = domain.MergeProduct(cur, found, in, now)
		if change == domain.Unchanged {
			return nil
		}
		return tx.PutProduct(ctx, out, change == domain.Created)
	})
	if err != nil {
		return domain.Product{}, false, err
	}
	return out, change == domain.Created, nil
}

// UpsertSku creates a SKU or replaces its fields; its product must exist. The stored availability
// and discontinuation are kept (SetAvailability and DiscontinueSku change them); a new SKU takes
// the given availability and is sold. A key type outside NONE and MAK is a KMS request, refused
// with KMS_NOT_ALLOWED (CA-8).
func (a *App) UpsertSku(ctx context.Context, in domain.Sku) (domain.Sku, bool, error) {
	if err := requireService(ctx); err != nil {
		return domain.Sku{}, false, err
	}
	if in.KeyType != "" && !in.KeyType.Valid() {
		return domain.Sku{}, false, errs.New(errs.FailedPrecondition, domain.ReasonKMSNotAllowed,
			"KMS keys are never issued, not even on request (CA-8): NONE or MAK").With("key_type", in.KeyType)
	}
	var v errs.Violations
	switch {
	case !domain.ValidProductID(in.ProductID):
		v.Add("sku.product_id", "required: the product ID, 12 upper-case letters or digits, not %q", in.ProductID)
	case !domain.ValidSkuID(in.ID):
		v.Add("sku.sku_id", "must be the product ID, a colon and four digits, e.g. CFQ7TTC0LH18:0001, not %q", in.ID)
	case domain.ProductOfSku(in.ID) != in.ProductID:
		v.Add("sku.sku_id", "must start with its product's ID %s and a colon", in.ProductID)
	}
	if err := v.Err(); err != nil {
		return domain.Sku{}, false, err
	}
	now := a.now()
	var out domain.Sku
	var change domain.Change
	err := a.repo.Write(ctx, func(tx Tx) error {
		product, ok, err := tx.Product(ctx, in.ProductID)
		if err != nil {
			return err
		}
		if !ok {
			return errs.NotFoundf("product", in.ProductID)
		}
		cur, found, err := tx.Sku(ctx, in.ID)
		if err != nil {
			return err
		}
		var v errs.Violations
		domain.CheckSku(&v, "sku", in, product.Kind, domain.SkuChecks{Availability: !found})
		if err := v.Err(); err != nil {
			return err
		}
		if err := checkEtag(in.Etag, cur.Etag, found, "sku", in.ID); err != nil {
			return err
		}
		out, change = domain.MergeSku(cur, found, in, product.Kind, domain.SkuWrite{Availability: !found}, now)
		if change == domain.Unchanged {
			return nil
		}
		return tx.PutSku(ctx, out, change == domain.Created)
	})
	if err != nil {
		return domain.Sku{}, false, err
	}
	return out, change == domain.Created, nil
}

// SetAvailability replaces the markets a SKU is sold in (CA-2).
func (a *App) SetAvailability(ctx context.Context, skuID string, av domain.Availability, etag string) (domain.Sku, error) {
	if err := requireService(ctx); err != nil {
		return domain.Sku{}, err
	}
	var v errs.Violations
	checkSkuID(&v, "sku_id", skuID)
	domain.CheckAvailability(&v, "availability", av)
	if err := v.Err(); err != nil {
		return domain.Sku{}, err
	}
	return a.updateSku(ctx, skuID, etag, func(_ Tx, s domain.Sku, now time.Time) (domain.Sku, domain.Change, error) {
		out, change := s.WithAvailability(av, now)
		return out, change, nil
	})
}

// DiscontinueSku stops new sales of a SKU and names its equivalent (CA-9): it must exist and be
// sold. Naming the same equivalent again is a no-op; another one replaces it.
func (a *App) DiscontinueSku(ctx context.Context, skuID, equivalentID, etag string) (domain.Sku, error) {
	if err := requireService(ctx); err != nil {
		return domain.Sku{}, err
	}
	var v errs.Violations
	checkSkuID(&v, "sku_id", skuID)
	switch {
	case equivalentID == "":
		v.Add("equivalent_sku_id", "required: the SKU customers move to (CA-9)")
	case !domain.ValidSkuID(equivalentID):
		checkSkuID(&v, "equivalent_sku_id", equivalentID)
	case equivalentID == skuID:
		v.Add("equivalent_sku_id", "a SKU cannot be its own equivalent (CA-9)")
	}
	if err := v.Err(); err != nil {
		return domain.Sku{}, err
	}
	return a.updateSku(ctx, skuID, etag, func(tx Tx, s domain.Sku, now time.Time) (domain.Sku, domain.Change, error) {
		if s.Discontinued && s.EquivalentSkuID == equivalentID {
			return s, domain.Unchanged, nil
		}
		eq, ok, err := tx.Sku(ctx, equivalentID)
		switch {
		case err != nil:
			return s, domain.Unchanged, err
		case !ok:
			return s, domain.Unchanged, errs.NotFoundf("sku", equivalentID)
		case eq.Discontinued:
			return s, domain.Unchanged, errs.Invalid("equivalent_sku_id",
				"SKU %s is discontinued itself (its equivalent is %s): name a SKU that is sold (CA-9)", eq.ID, eq.EquivalentSkuID)
		}
		out, change := s.Discontinue(equivalentID, now)
		return out, change, nil
	})
}

// updateSku is the read-check-write of SetAvailability and DiscontinueSku, in one transaction.
func (a *App) updateSku(ctx context.Context, id, etag string,
	fn func(tx Tx, s domain.Sku, now time.Time) (domain.Sku, domain.Change, error)) (domain.Sku, error) {
	now := a.now()
	var out domain.Sku
	err := a.repo.Write(ctx, func(tx Tx) error {
		cur, found, err := tx.Sku(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return errs.NotFoundf("sku", id)
		}
		if err := checkEtag(etag, cur.Etag, true, "sku", id); err != nil {
			return err
		}
		next, change, err := fn(tx, cur, now)
		if err != nil {
			return err
		}
		out = next
		if change == domain.Unchanged {
			return nil
		}
		return tx.PutSku(ctx, next, false)
	})
	if err != nil {
		return domain.Sku{}, err
	}
	return out, nil
}

// SetPrice creates or changes the price of a SKU in one market for one term and billing plan
// (CA-4, CA-5), in the market's currency. tax_inclusive follows from the market.
func (a *App) SetPrice(ctx context.Context, in domain.Price) (domain.Price, error) {
	if err := requireService(ctx); err != nil {
		return domain.Price{}, err
	}
	var v errs.Violations
	checkPriceKey(&v, in.PriceKey)
	domain.CheckMoney(&v, "billing_period_price", in.BillingPeriodPrice)
	if err := v.Err(); err != nil {
		return domain.Price{}, err
	}
	m, served, err := a.markets.Market(ctx, in.CountryCode)
	if err != nil {
		return domain.Price{}, fmt.Errorf("markets: %w", err)
	}
	if !served {
		return domain.Price{}, errs.Invalid("country_code", "%s is not a market partnerhub serves (ID-3)", in.CountryCode)
	}
	if in.BillingPeriodPrice.CurrencyCode != m.CurrencyCode {
		return domain.Price{}, errs.Invalid("billing_period_price.currency_code",
			"prices in %s are in %s, the market's currency (CA-4), not %s", in.CountryCode, m.CurrencyCode, in.BillingPeriodPrice.CurrencyCode)
	}
	now := a.now()
	var out domain.Price
	err = a.repo.Write(ctx, func(tx Tx) error {
		s, ok, err := tx.Sku(ctx, in.SkuID)
		if err != nil {
			return err
		}
		if !ok {
			return errs.NotFoundf("sku", in.SkuID)
		}
		if err := checkTermAndPlan(s, in.Term, in.Plan); err != nil {
			return err
		}
		cur, found, err := tx.Price(ctx, in.PriceKey)
		if err != nil {
			return err
		}
		if err := checkEtag(in.Etag, cur.Etag, found, "price", fmt.Sprintf("%s/%s/%s/%s", in.SkuID, in.CountryCode, in.Term, in.Plan)); err != nil {
			return err
		}
		var change domain.Change
		out, change = domain.MergePrice(cur, found, in, now)
		if change == domain.Unchanged {
			return nil
		}
		return tx.PutPrice(ctx, out, change == domain.Created)
	})
	if err != nil {
		return domain.Price{}, err
	}
	return out, nil
}
