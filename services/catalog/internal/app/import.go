package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/catalog/internal/catalogfile"
	"github.com/partnerhub/partnerhub/services/catalog/internal/domain"
)

// ImportSummary counts what an import changed (or, on a dry run, would change).
type ImportSummary struct {
	ProductsCreated, ProductsUpdated, ProductsUnchanged int
	SkusCreated, SkusUpdated, SkusUnchanged             int
	PricesSet, PricesUnchanged                          int
}

// MaxReportedProblems bounds the violations one refused import lists, so the error stays far
// below gRPC's metadata limits; a file with more gets a last violation saying how many more.
const MaxReportedProblems = 1000

// ImportCatalog creates or updates products, SKUs (markets and discontinuation included) and
// prices from a catalog file (FORMAT.md). The whole file is checked first against the format, the
// rules (CA-1..CA-11) and the store; any problem refuses it with INVALID_ARGUMENT /
// CATALOG_INVALID listing every problem at its location, and nothing is written. A valid file is
// applied in one transaction. Nothing is deleted: SKUs leave by discontinuation (CA-9). A dry run
// checks and counts without writing.
func (a *App) ImportCatalog(ctx context.Context, content []byte, f catalogfile.Format, dryRun bool) (ImportSummary, error) {
	if err := requireService(ctx); err != nil {
		return ImportSummary{}, err
	}
	return a.importCatalog(ctx, content, f, dryRun)
}

// SeedIfEmpty imports a catalog file (YAML) when the catalog has no product yet: the devstack's
// first start. It needs no caller: the service seeds itself.
func (a *App) SeedIfEmpty(ctx context.Context, content []byte) (bool, ImportSummary, error) {
	empty, err := a.repo.Empty(ctx)
	if err != nil || !empty {
		return false, ImportSummary{}, err
	}
	sum, err := a.importCatalog(ctx, content, catalogfile.YAML, false)
	if err != nil {
		return false, ImportSummary{}, err
	}
	return true, sum, nil
}

func (a *App) importCatalog(ctx context.Context, content []byte, f catalogfile.Format, dryRun bool) (ImportSummary, error) {
	if f != catalogfile.YAML && f != catalogfile.JSON {
		return ImportSummary{}, errs.Invalid("format", "required: CATALOG_FORMAT_JSON or CATALOG_FORMAT_YAML")
	}
	c, parseProblems, readable := catalogfile.Parse(content, f)
	if !readable {
		return ImportSummary{}, catalogInvalid(parseProblems)
	}
	ms, err := a.markets.All(ctx)
	if err != nil {
		return ImportSummary{}, fmt.Errorf("markets: %w", err)
	}
	markets := marketOf(ms)
	now := a.now()
	var sum ImportSummary
	run := func(r TxReader, w Tx) error {
		stored, err := loadStored(ctx, r, c)
		if err != nil {
			return err
		}
		if v := withoutShadowed(parseProblems, domain.CheckCatalog(c, markets, stored)); len(v) > 0 {
			return catalogInvalid(v)
		}
		sum = ImportSummary{} // a retried transaction counts afresh
		return apply(ctx, r, w, c, stored, now, &sum)
	}
	if dryRun {
		err = a.repo.Snapshot(ctx, func(tx TxReader) error { return run(tx, nil) })
	} else {
		err = a.repo.Write(ctx, func(tx Tx) error { return run(tx, tx) })
	}
	if err != nil {
		return ImportSummary{}, err
	}
	return sum, nil
}

// catalogInvalid is INVALID_ARGUMENT / CATALOG_INVALID listing the problems.
func catalogInvalid(v errs.Violations) error {
	n := len(v)
	if n > MaxReportedProblems {
		v = append(v[:MaxReportedProblems-1:MaxReportedProblems-1], errs.FieldViolation{Field: "content",
			Description: fmt.Sprintf("and %d more problems", n-MaxReportedProblems+1)})
	}
	return &errs.Error{Kind: errs.InvalidArgument, Reason: domain.ReasonCatalogInvalid,
		Message:    fmt.Sprintf("the catalog file has %d problem(s); nothing was imported", n),
		Violations: v}
}

// withoutShadowed joins the parser's problems and the rules' problems, leaving out a rule's
// problem at or under a location the parser already reported (a value that did not parse is
// zero, which the rules would report again in other words).
func withoutShadowed(parsed, rules errs.Violations) errs.Violations {
	out := append(errs.Violations(nil), parsed...)
	for _, r := range rules {
		shadowed := false
		for _, p := range parsed {
			if r.Field == p.Field || strings.HasPrefix(r.Field, p.Field+".") || strings.HasPrefix(r.Field, p.Field+"[") {
				shadowed = true
				break
			}
		}
		if !shadowed {
			out = append(out, r)
		}
	}
	return out
}

// loadStored reads what the store holds for the file's products, SKUs and named equivalents.
func loadStored(ctx context.Context, tx TxReader, c domain.Catalog) (domain.Stored, error) {
	st := domain.Stored{Products: map[string]domain.Product{}, Skus: map[string]domain.Sku{}, ProductSku: map[string][]string{}}
	sku := func(id string) error {
		if !domain.ValidSkuID(id) {
			return nil
		}
		if _, done := st.Skus[id]; done {
			return nil
		}
		s, ok, err := tx.Sku(ctx, id)
		if err != nil {
			return fmt.Errorf("read SKU %s: %w", id, err)
		}
		if ok {
			st.Skus[id] = s
		}
		return nil
	}
	for _, cp := range c.Products {
		if id := cp.Product.ID; domain.ValidProductID(id) {
			p, ok, err := tx.Product(ctx, id)
			if err != nil {
				return st, fmt.Errorf("read product %s: %w", id, err)
			}
			if ok {
				st.Products[id] = p
				if st.ProductSku[id], err = tx.SkuIDs(ctx, id); err != nil {
					return st, fmt.Errorf("read SKUs of product %s: %w", id, err)
				}
			}
		}
		for _, cs := range cp.Skus {
			if err := sku(cs.Sku.ID); err != nil {
				return st, err
			}
			if err := sku(cs.Sku.EquivalentSkuID); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// apply merges the file into the store (w nil on a dry run: count only), products first, then
// SKUs, then prices, so each row's parent exists when it is written.
func apply(ctx context.Context, r TxReader, w Tx, c domain.Catalog, st domain.Stored, now time.Time, sum *ImportSummary) error {
	for _, cp := range c.Products {
		cur, found := st.Products[cp.Product.ID]
		p, change := domain.MergeProduct(cur, found, cp.Product, now)
		count(change, &sum.ProductsCreated, &sum.ProductsUpdated, &sum.ProductsUnchanged)
		if w != nil && change != domain.Unchanged {
			if err := w.PutProduct(ctx, p, change == domain.Created); err != nil {
				return err
			}
		}
	}
	for _, cp := range c.Products {
		for _, cs := range cp.Skus {
			cur, found := st.Skus[cs.Sku.ID]
			s, change := domain.MergeSku(cur, found, cs.Sku, cp.Product.Kind, domain.SkuWrite{Availability: true, Discontinuation: true}, now)
			count(change, &sum.SkusCreated, &sum.SkusUpdated, &sum.SkusUnchanged)
			if w != nil && change != domain.Unchanged {
				if err := w.PutSku(ctx, s, change == domain.Created); err != nil {
					return err
				}
			}
		}
	}
	for _, cp := range c.Products {
		for _, cs := range cp.Skus {
			existing := map[domain.PriceKey]domain.Price{}
			if _, found := st.Skus[cs.Sku.ID]; found {
				ps, err := r.Prices(ctx, cs.Sku.ID)
				if err != nil {
					return fmt.Errorf("read prices of SKU %s: %w", cs.Sku.ID, err)
				}
				for _, p := range ps {
					existing[p.PriceKey] = p
				}
			}
			for _, in := range cs.Prices {
				cur, found := existing[in.PriceKey]
				p, change := domain.MergePrice(cur, found, in, now)
				if change == domain.Unchanged {
					sum.PricesUnchanged++
					continue
				}
				sum.PricesSet++
				if w != nil {
					if err := w.PutPrice(ctx, p, change == domain.Created); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func count(c domain.Change, created, updated, unchanged *int) {
	switch c {
	case domain.Created:
		*created++
	case domain.Updated:
		*updated++
	default:
		*unchanged++
	}
}
