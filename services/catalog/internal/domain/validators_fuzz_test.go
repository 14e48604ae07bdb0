package domain

import (
	"math/big"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// FuzzCatalogIDs: ValidProductID and ValidSkuID accept exactly their documented shapes (12
// upper-case letters or digits; that, a colon and four digits), and ProductOfSku is the product
// part of exactly the valid SKU IDs.
func FuzzCatalogIDs(f *testing.F) {
	for _, s := range []string{"CFQ7TTC0LH18", "CFQ7TTC0LH18:0001", "cfq7ttc0lh18", "CFQ7TTC0LH18:001", "CFQ7TTC0LH18:000A", "", "CFQ7TTC0LH1É", "CFQ7TTC0LH18:0001:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		isProduct := len(s) == 12
		for i := 0; i < len(s) && isProduct; i++ {
			isProduct = s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9'
		}
		if ValidProductID(s) != isProduct {
			t.Fatalf("ValidProductID(%q) = %v", s, !isProduct)
		}
		isSku := len(s) == 17 && ValidProductID(s[:12]) && s[12] == ':'
		for i := 13; i < len(s) && isSku; i++ {
			isSku = s[i] >= '0' && s[i] <= '9'
		}
		if ValidSkuID(s) != isSku {
			t.Fatalf("ValidSkuID(%q) = %v", s, !isSku)
		}
		if p := ProductOfSku(s); (p != "") != isSku || isSku && (p != s[:12] || !ValidProductID(p)) {
			t.Fatalf("ProductOfSku(%q) = %q", s, p)
		}
	})
}

// FuzzPriceMoney: CheckMoney accepts exactly non-negative amounts up to MaxAmountMinor in a
// three-letter upper-case currency, and for every amount it accepts, TermPrice of every term and
// plan is the exact product (no overflow: the bound exists for it) in the same currency.
func FuzzPriceMoney(f *testing.F) {
	f.Add(int64(7200), "USD")
	f.Add(MaxAmountMinor, "JPY")
	f.Add(MaxAmountMinor+1, "EUR")
	f.Add(int64(-1), "eur")
	f.Add(int64(0), "EU")
	f.Fuzz(func(t *testing.T, amount int64, currency string) {
		m := Money{AmountMinor: amount, CurrencyCode: currency}
		var v errs.Violations
		CheckMoney(&v, "price", m)
		want := amount >= 0 && amount <= MaxAmountMinor && ValidCurrencyCode(currency)
		if (len(v) == 0) != want {
			t.Fatalf("CheckMoney(%+v) = %v; want accepted=%v", m, v, want)
		}
		if !want {
			return
		}
		for _, term := range Terms() {
			for _, plan := range BillingPlans() {
				p := Price{PriceKey: PriceKey{Term: term, Plan: plan}, BillingPeriodPrice: m}
				tp := p.TermPrice()
				exact := new(big.Int).Mul(big.NewInt(amount), big.NewInt(int64(p.PeriodsPerTerm())))
				if !exact.IsInt64() || tp.AmountMinor != exact.Int64() || tp.CurrencyCode != currency || p.PeriodsPerTerm() < 1 {
					t.Fatalf("TermPrice(%v, %s, %s) = %+v; want %v", m, term, plan, tp, exact)
				}
			}
		}
	})
}
