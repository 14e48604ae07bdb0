package ledger

import (
	"errors"
	"fmt"
	"math"
	"math/big"
)

// Errors returned by money arithmetic.
var (
	// ErrCurrencyMismatch: two amounts in different currencies were combined.
	ErrCurrencyMismatch = errors.New("ledger: currency mismatch")
	// ErrInvalidCurrency: a currency code is not three upper-case ASCII letters.
	ErrInvalidCurrency = errors.New("ledger: invalid ISO 4217 currency code")
	// ErrOverflow: a result does not fit in int64 minor units.
	ErrOverflow = errors.New("ledger: amount overflows int64 minor units")
)

// BasisPoints is 100 %: rates are integer basis points (SU-15's 25 % penalty is 2500).
const BasisPoints = 10000

// Money is an exact amount: Minor units of Currency (cents for EUR/USD, whole yen for JPY).
type Money struct {
	// Minor is the amount in minor units; negative for credits and refunds.
	Minor int64
	// Currency is the ISO 4217 alphabetic code, upper case, e.g. "EUR".
	Currency string
}

// NewMoney returns minor units of currency, or ErrInvalidCurrency.
func NewMoney(minor int64, currency string) (Money, error) {
	if err := ValidateCurrency(currency); err != nil {
		return Money{}, err
	}
	return Money{Minor: minor, Currency: currency}, nil
}

// Zero is nothing in currency.
func Zero(currency string) Money { return Money{Currency: currency} }

// ValidateCurrency checks that c looks like an ISO 4217 alphabetic code (three letters A–Z).
// Whether the code is assigned is the catalog's concern.
func ValidateCurrency(c string) error {
	if len(c) != 3 {
		return fmt.Errorf("%w: %q", ErrInvalidCurrency, c)
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return fmt.Errorf("%w: %q", ErrInvalidCurrency, c)
		}
	}
	return nil
}

// String formats m as "<minor> <currency>", e.g. "-1999 EUR" (no decimal point: the exponent
// is the currency's, which this package does not need to know).
func (m Money) String() string { return fmt.Sprintf("%d %s", m.Minor, m.Currency) }

// IsZero reports whether the amount is zero (whatever the currency).
func (m Money) IsZero() bool { return m.Minor == 0 }

// Add returns m + o; ErrCurrencyMismatch when the currencies differ, ErrOverflow on overflow.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s + %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	s, ok := addInt64(m.Minor, o.Minor)
	if !ok {
		return Money{}, fmt.Errorf("%w: %s + %s", ErrOverflow, m, o)
	}
	return Money{Minor: s, Currency: m.Currency}, nil
}

// Neg returns −m; ErrOverflow for math.MinInt64.
func (m Money) Neg() (Money, error) {
	if m.Minor == math.MinInt64 {
		return Money{}, fmt.Errorf("%w: -(%s)", ErrOverflow, m)
	}
	return Money{Minor: -m.Minor, Currency: m.Currency}, nil
}

// Mul returns m × n exactly; ErrOverflow when it does not fit.
func (m Money) Mul(n int64) (Money, error) { return Prorate(m, n, 1) }

// Prorate returns m × num / den, rounded half away from zero, computed exactly (no intermediate
// overflow). den must be positive.
func Prorate(m Money, num, den int64) (Money, error) {
	if den <= 0 {
		return Money{}, fmt.Errorf("ledger: prorate denominator must be positive, got %d", den)
	}
	q, ok := MulDivHalfAway(m.Minor, num, den)
	if !ok {
		return Money{}, fmt.Errorf("%w: %s × %d / %d", ErrOverflow, m, num, den)
	}
	return Money{Minor: q, Currency: m.Currency}, nil
}

// ApplyRate returns m × basisPoints / 10000, rounded half away from zero: e.g. SU-15's penalty
// is ApplyRate(remainingTermValue, 2500).
func ApplyRate(m Money, basisPoints int64) (Money, error) {
	return Prorate(m, basisPoints, BasisPoints)
}

// MulDivHalfAway returns a × b / c rounded half away from zero and whether it fits in int64;
// c must not be 0 (false is returned if it is).
func MulDivHalfAway(a, b, c int64) (int64, bool) {
	if c == 0 {
		return 0, false
	}
	p := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	d := big.NewInt(c)
	q, r := new(big.Int).QuoRem(p, d, new(big.Int)) // truncated towards zero; r has p's sign
	twiceR := new(big.Int).Lsh(new(big.Int).Abs(r), 1)
	if twiceR.Cmp(new(big.Int).Abs(d)) >= 0 {
		if (p.Sign() < 0) != (c < 0) {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// addInt64 returns a + b and whether it did not overflow.
func addInt64(a, b int64) (int64, bool) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, false
	}
	return a + b, true
}

// Split divides total into n parts that sum to total exactly (BI-2). Every part is total / n
// truncated towards zero; the remainder |total mod n| is given one minor unit each, with total's
// sign, to the FIRST parts. So parts differ by at most one minor unit, earlier parts are never
// smaller in magnitude than later ones, and the result is deterministic.
// Examples: 1 over 12 → [1, 0 × 11]; 10000 over 36 → [278 × 28, 277 × 8]; −5 over 3 → [−2, −2, −1].
func Split(total Money, n int) ([]Money, error) {
	if n <= 0 {
		return nil, fmt.Errorf("ledger: split into %d parts", n)
	}
	base := total.Minor / int64(n)
	rem := total.Minor % int64(n) // same sign as total; |rem| < n
	step := int64(1)
	if rem < 0 {
		step, rem = -1, -rem
	}
	parts := make([]Money, n)
	for i := range parts {
		v := base
		if int64(i) < rem {
			v += step // cannot overflow: |base| ≤ |total| / n and n ≥ 2 here
		}
		parts[i] = Money{Minor: v, Currency: total.Currency}
	}
	return parts, nil
}
