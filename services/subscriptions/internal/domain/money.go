package domain

import (
	"math"
	"math/big"
)

// basisPoints is 100 %: rates such as SU-15's 25 % penalty are integer basis points.
const basisPoints = 10000

// zeroMoney is an amount of nothing in a currency (an empty currency stays empty).
func zeroMoney(currency string) Money { return Money{Currency: currency} }

// Prorate returns m × num / den in m's currency, rounded half away from zero (BI-3: 0.5 minor
// units of a refund go to the partner, of a charge to the vendor; the sign is symmetric). The
// product is computed exactly (math/big), so no intermediate overflows; a result beyond int64
// saturates at math.MaxInt64 / math.MinInt64. den must be positive: den == 0 gives zero and a
// negative den flips the sign, so bad input never panics.
func Prorate(m Money, num, den int64) Money {
	if den == 0 {
		return zeroMoney(m.Currency)
	}
	return Money{Minor: mulDivHalfAway(m.Minor, num, den), Currency: m.Currency}
}

// mulDivHalfAway returns a × b / c rounded half away from zero, saturated to int64; c ≠ 0.
func mulDivHalfAway(a, b, c int64) int64 {
	p := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	d := big.NewInt(c)
	q, r := new(big.Int).QuoRem(p, d, new(big.Int)) // truncated towards zero; r has p's sign
	twiceR := new(big.Int).Lsh(r.Abs(r), 1)
	if twiceR.Cmp(d.Abs(d)) >= 0 {
		if negative := (p.Sign() < 0) != (c < 0); negative {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return saturate(q)
}

// saturate clamps a big integer to int64.
func saturate(q *big.Int) int64 {
	switch {
	case q.IsInt64():
		return q.Int64()
	case q.Sign() > 0:
		return math.MaxInt64
	default:
		return math.MinInt64
	}
}

// TermPrice is the price of qty seats for a whole term: unit × qty (saturating, never wraps).
func TermPrice(unit Money, qty int32) Money { return Prorate(unit, int64(qty), 1) }

// planMonths is the length of a billing period in months; false for an unknown plan.
func planMonths(p BillingPlan) (int, bool) {
	switch p {
	case PlanMonthly:
		return 1, true
	case PlanAnnual:
		return 12, true
	case PlanTriennial:
		return 36, true
	}
	return 0, false
}

// Installments is how many charges a billing plan splits a term's price into (BI-2): the term's
// months over the plan's months (P1Y MONTHLY = 12, P1Y ANNUAL = 1, P3Y ANNUAL = 3, P3Y TRIENNIAL
// = 1, P1M MONTHLY = 1; also P3Y MONTHLY = 36 though ValidPlan refuses it). A plan longer than the
// term, or an unknown term or plan, is one charge for the whole term, so the result is never 0.
func Installments(term Term, plan BillingPlan) int64 {
	tm, ok1 := termMonths(term)
	pm, ok2 := planMonths(plan)
	if !ok1 || !ok2 || pm >= tm || tm%pm != 0 {
		return 1
	}
	return int64(tm / pm)
}

// FirstCharge is the first billing period's charge for qty seats: the term price divided by the
// plan's installments, rounded half away from zero (BI-2). Also the AmountDue of a renewal.
func FirstCharge(unit Money, qty int32, term Term, plan BillingPlan) Money {
	return Prorate(TermPrice(unit, qty), 1, Installments(term, plan))
}

// addMoney adds b to a in a's currency, saturating instead of wrapping.
func addMoney(a, b Money) Money {
	s := new(big.Int).Add(big.NewInt(a.Minor), big.NewInt(b.Minor))
	return Money{Minor: saturate(s), Currency: a.Currency}
}

// negate returns −m (saturating: −MinInt64 is MaxInt64).
func negate(m Money) Money { return Prorate(m, -1, 1) }
