package domain

import (
	"math"
	"testing"
)

// BI-3: money is rounded once, half away from zero, and never overflows.
func TestProrate_BI3_RoundsHalfAwayFromZero(t *testing.T) {
	tests := []struct {
		name        string
		m, num, den int64
		want        int64
	}{
		{"exact", 36500, 100, 365, 10000},
		{"below half down", 1000, 1, 3, 333},
		{"above half up", 1000, 2, 3, 667},
		{"half up", 5, 1, 2, 3},
		{"half away from zero, negative", -5, 1, 2, -3},
		{"1.5", 15, 1, 10, 2},
		{"-1.5", -15, 1, 10, -2},
		{"-1.4", -14, 1, 10, -1},
		{"negative num", 5, -1, 2, -3},
		{"negative den flips sign", 5, 1, -2, -3},
		{"zero den is zero", 5, 1, 0, 0},
		{"zero amount", 0, 7, 3, 0},
		{"huge product stays exact", math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{"saturates high", math.MaxInt64, 2, 1, math.MaxInt64},
		{"saturates low", math.MinInt64, 2, 1, math.MinInt64},
		{"MinInt64 × −1 saturates", math.MinInt64, -1, 1, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Prorate(eur(tt.m), tt.num, tt.den)
			if got != eur(tt.want) {
				t.Errorf("Prorate(%d, %d, %d) = %+v, want %d EUR", tt.m, tt.num, tt.den, got, tt.want)
			}
		})
	}
}

// BI-2: a plan splits the term price into installments; the first charge is one of them.
func TestFirstCharge_BI2_Installments(t *testing.T) {
	tests := []struct {
		term Term
		plan BillingPlan
		n    int64
		unit int64 // × 3 seats
		want int64
	}{
		{TermP1M, PlanMonthly, 1, 1000, 3000},
		{TermP1Y, PlanMonthly, 12, 12000, 3000},
		{TermP1Y, PlanAnnual, 1, 12000, 36000},
		{TermP3Y, PlanAnnual, 3, 36000, 36000},
		{TermP3Y, PlanTriennial, 1, 36000, 108000},
		{TermP3Y, PlanMonthly, 36, 36000, 3000}, // not sold (ValidPlan), still total
		{TermP1M, PlanAnnual, 1, 1000, 3000},    // plan longer than the term: one charge
		{TermP1Y, PlanMonthly, 12, 1002, 251},   // 3006 / 12 = 250.5 → 251
		{TermP1Y, PlanMonthly, 12, 1001, 250},   // 3003 / 12 = 250.25 → 250
		{"P2Y", PlanMonthly, 1, 1000, 3000},
	}
	for _, tt := range tests {
		if got := Installments(tt.term, tt.plan); got != tt.n {
			t.Errorf("Installments(%s, %s) = %d, want %d", tt.term, tt.plan, got, tt.n)
		}
		if got := FirstCharge(eur(tt.unit), 3, tt.term, tt.plan); got != eur(tt.want) {
			t.Errorf("FirstCharge(%d × 3, %s, %s) = %+v, want %d", tt.unit, tt.term, tt.plan, got, tt.want)
		}
	}
	if got := TermPrice(eur(math.MaxInt64/2), 3); got.Minor != math.MaxInt64 {
		t.Errorf("TermPrice overflow = %d, want saturation", got.Minor)
	}
}
