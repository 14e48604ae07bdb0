package domain

import (
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FormatVersion is the catalog file format version this service reads (FORMAT.md).
const FormatVersion = 1

// Catalog is the content of a catalog file: products with their SKUs, each SKU with its prices.
type Catalog struct {
	FormatVersion int
	Products      []CatalogProduct
}

// CatalogProduct is one product of a catalog file and its SKUs.
type CatalogProduct struct {
	Product Product
	Skus    []CatalogSku
}

// CatalogSku is one SKU of a catalog file (ProductID set from the product it is listed under)
// and its prices (PriceKey.SkuID set to the SKU's ID).
type CatalogSku struct {
	Sku    Sku
	Prices []Price
}

// ProductLoc is the location prefix of the i-th product of a file: its ID, or "products[i]" when
// it has none.
func ProductLoc(i int, id string) string {
	if id != "" {
		return id
	}
	return fmt.Sprintf("products[%d]", i)
}

// SkuLoc is the location prefix of the j-th SKU of a product: its ID, or "<product>.skus[j]".
func SkuLoc(productLoc string, j int, id string) string {
	if id != "" {
		return id
	}
	return fmt.Sprintf("%s.skus[%d]", productLoc, j)
}

// Stored is what the store holds for the entities a catalog file names, read in the import's
// transaction: the products and SKUs of the file, the SKUs it names as equivalents, and the SKU
// IDs of each of its products.
type Stored struct {
	Products   map[string]Product
	Skus       map[string]Sku
	ProductSku map[string][]string // product ID → IDs of its stored SKUs
}

// CheckCatalog reports every problem of a catalog file, each at its location (FORMAT.md): the
// fields of each product, SKU and price, duplicates across the file, and what the file means
// against the store (equivalents that exist and are sold, CA-9; kinds that SKUs depend on).
// Nothing is written when it reports anything.
func CheckCatalog(c Catalog, markets MarketOf, stored Stored) errs.Violations {
	var v errs.Violations
	if c.FormatVersion != FormatVersion {
		v.Add("format_version", "must be %d, not %d", FormatVersion, c.FormatVersion)
	}
	if len(c.Products) == 0 {
		v.Add("products", "at least one product is required")
	}
	productAt := map[string]string{} // product ID → location of its first occurrence
	skuAt := map[string]string{}
	inFile := map[string]Sku{}
	for i, cp := range c.Products {
		p := cp.Product
		ploc := ProductLoc(i, p.ID)
		if first, dup := productAt[p.ID]; dup && p.ID != "" {
			v.Add(at(ploc, "product_id"), "duplicate product ID (also at %s)", first)
		} else {
			productAt[p.ID] = fmt.Sprintf("products[%d]", i)
		}
		CheckProduct(&v, ploc, p)
		if len(cp.Skus) == 0 {
			v.Add(at(ploc, "skus"), "at least one SKU is required")
		}
		for j, cs := range cp.Skus {
			s := cs.Sku
			sloc := SkuLoc(ploc, j, s.ID)
			if first, dup := skuAt[s.ID]; dup && s.ID != "" {
				v.Add(at(sloc, "sku_id"), "duplicate SKU ID (also at %s)", first)
			} else {
				skuAt[s.ID] = fmt.Sprintf("products[%d].skus[%d]", i, j)
				inFile[s.ID] = s
			}
			CheckSku(&v, sloc, s, p.Kind, AllSkuChecks())
			seen := map[PriceKey]int{}
			for k, pr := range cs.Prices {
				prloc := fmt.Sprintf("%s.prices[%d]", sloc, k)
				pr.SkuID = s.ID
				if first, dup := seen[pr.PriceKey]; dup {
					v.Add(prloc, "duplicate price for %s %s %s (also prices[%d])", pr.CountryCode, pr.Term, pr.Plan, first)
				} else {
					seen[pr.PriceKey] = k
				}
				CheckPriceInFile(&v, prloc, pr, s, markets)
			}
		}
		checkKindChange(&v, ploc, cp, stored)
	}
	for i, cp := range c.Products {
		ploc := ProductLoc(i, cp.Product.ID)
		for j, cs := range cp.Skus {
			checkEquivalent(&v, SkuLoc(ploc, j, cs.Sku.ID), cs.Sku, inFile, stored)
		}
	}
	return v
}

// checkKindChange refuses a new kind for a product whose stored SKUs the file does not restate:
// their terms, policies and keys were checked against the old kind (CA-1, CA-10).
func checkKindChange(v *errs.Violations, ploc string, cp CatalogProduct, stored Stored) {
	cur, ok := stored.Products[cp.Product.ID]
	if !ok || cur.Kind == cp.Product.Kind {
		return
	}
	restated := map[string]bool{}
	for _, cs := range cp.Skus {
		restated[cs.Sku.ID] = true
	}
	for _, id := range stored.ProductSku[cp.Product.ID] {
		if !restated[id] {
			v.Add(at(ploc, "kind"), "cannot change from %s to %s: stored SKU %s, not in the file, follows the old kind (CA-1, CA-10)",
				cur.Kind, cp.Product.Kind, id)
			return
		}
	}
}

// checkEquivalent checks a discontinued SKU's equivalent against the file and the store (CA-9):
// it must exist and be sold. An equivalent the store already records for the SKU is not named
// anew, so it is not re-checked for being sold (it may have been discontinued since, a chain
// FindEquivalentOffers follows).
func checkEquivalent(v *errs.Violations, sloc string, s Sku, inFile map[string]Sku, stored Stored) {
	if !s.Discontinued || !ValidSkuID(s.EquivalentSkuID) || s.EquivalentSkuID == s.ID {
		return // CheckSku reported it, or there is nothing to check
	}
	loc := at(sloc, "equivalent_sku_id")
	if cur, ok := stored.Skus[s.ID]; ok && cur.Discontinued && cur.EquivalentSkuID == s.EquivalentSkuID {
		if _, exists := inFile[s.EquivalentSkuID]; exists {
			return
		}
		if _, exists := stored.Skus[s.EquivalentSkuID]; exists {
			return
		}
	}
	eq, ok := inFile[s.EquivalentSkuID]
	if !ok {
		eq, ok = stored.Skus[s.EquivalentSkuID]
	}
	switch {
	case !ok:
		v.Add(loc, "SKU %s is neither in the file nor in the catalog (CA-9)", s.EquivalentSkuID)
	case eq.Discontinued:
		v.Add(loc, "SKU %s is discontinued itself: name a SKU that is sold (CA-9)", s.EquivalentSkuID)
	}
}

// Change says what a write did to one entity.
type Change int

// The changes.
const (
	Unchanged Change = iota
	Created
	Updated
)

// MergeProduct returns the product to store when in is written over cur (found says whether cur
// exists): in's fields, normalized, with cur's creation time; cur itself when nothing changed.
func MergeProduct(cur Product, found bool, in Product, now time.Time) (Product, Change) {
	in = in.Normalize()
	in.SkuCount = cur.SkuCount
	in.Etag = in.ContentEtag()
	switch {
	case !found:
		in.CreateTime, in.UpdateTime = Instant(now), Instant(now)
		return in, Created
	case in.Etag == cur.Etag:
		return cur, Unchanged
	}
	in.CreateTime, in.UpdateTime = cur.CreateTime, Instant(now)
	return in, Updated
}

// SkuWrite says which of a SKU's fields a write takes from its input. UpsertSku keeps the stored
// availability (a new SKU takes the given one) and discontinuation (a new SKU is sold);
// a catalog file sets both.
type SkuWrite struct {
	Availability    bool
	Discontinuation bool
}

// MergeSku returns the SKU to store when in is written over cur: in's fields as w says, the
// product's kind, cur's creation time and, while it stays discontinued, its discontinue time;
// cur itself when nothing changed. A newly discontinued SKU is discontinued at now.
func MergeSku(cur Sku, found bool, in Sku, kind ProductKind, w SkuWrite, now time.Time) (Sku, Change) {
	now = Instant(now)
	if found && !w.Availability {
		in.Availability = cur.Availability
	}
	switch {
	case !w.Discontinuation && found:
		in.Discontinued, in.EquivalentSkuID, in.DiscontinueTime = cur.Discontinued, cur.EquivalentSkuID, cur.DiscontinueTime
	case !w.Discontinuation:
		in.Discontinued, in.EquivalentSkuID, in.DiscontinueTime = false, "", time.Time{}
	case !in.Discontinued:
		in.DiscontinueTime = time.Time{}
	case found && cur.Discontinued:
		in.DiscontinueTime = cur.DiscontinueTime
	default:
		in.DiscontinueTime = now
	}
	in.ProductKind = kind
	in = in.Normalize()
	in.Etag = in.ContentEtag()
	switch {
	case !found:
		in.CreateTime, in.UpdateTime = now, now
		return in, Created
	case in.Etag == cur.Etag:
		cur.ProductKind = kind
		return cur, Unchanged
	}
	in.CreateTime, in.UpdateTime = cur.CreateTime, now
	return in, Updated
}

// MergePrice returns the price to store when in is written over cur; cur when the amount is the
// same.
func MergePrice(cur Price, found bool, in Price, now time.Time) (Price, Change) {
	now = Instant(now)
	in.Etag = in.ContentEtag()
	switch {
	case !found:
		in.CreateTime, in.UpdateTime = now, now
		return in, Created
	case in.Etag == cur.Etag:
		return cur, Unchanged
	}
	in.CreateTime, in.UpdateTime = cur.CreateTime, now
	return in, Updated
}

// Discontinue returns s discontinued in favour of equivalent at now (CA-9): a no-op when it
// already names that equivalent; another equivalent replaces the first, keeping the original
// discontinue time. The caller has checked the equivalent exists and is sold.
func (s Sku) Discontinue(equivalent string, now time.Time) (Sku, Change) {
	if s.Discontinued && s.EquivalentSkuID == equivalent {
		return s, Unchanged
	}
	in := s
	in.Discontinued, in.EquivalentSkuID = true, equivalent
	return MergeSku(s, true, in, s.ProductKind, SkuWrite{Availability: true, Discontinuation: true}, now)
}

// WithAvailability returns s sold in the markets a (CA-2); a is checked by the caller.
func (s Sku) WithAvailability(a Availability, now time.Time) (Sku, Change) {
	in := s
	in.Availability = a
	return MergeSku(s, true, in, s.ProductKind, SkuWrite{Availability: true, Discontinuation: true}, now)
}

// Equivalents follows a discontinued SKU's equivalents to the first SKU still sold (CA-9, SU-14):
// next looks a SKU up (ok false when unknown). It returns the SKU itself when it is sold, and
// ok false when the chain ends at an unknown SKU or loops.
func Equivalents(s Sku, next func(id string) (Sku, bool, error)) (Sku, bool, error) {
	seen := map[string]bool{s.ID: true}
	for s.Discontinued {
		id := s.EquivalentSkuID
		if id == "" || seen[id] {
			return Sku{}, false, nil
		}
		seen[id] = true
		n, ok, err := next(id)
		if err != nil || !ok {
			return Sku{}, false, err
		}
		s = n
	}
	return s, true, nil
}
