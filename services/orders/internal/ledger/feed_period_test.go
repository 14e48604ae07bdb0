package ledger

import (
	"testing"
	"time"
)

// BI-2: the first billing period of a renewed term ends after the plan's months, within the term.
func TestFirstPeriodEnd_BI2(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		name       string
		start, end time.Time
		plan       BillingPlan
		want       time.Time
	}{
		{"monthly", d(2026, 1, 31), d(2027, 1, 31), PlanMonthly, d(2026, 2, 28)},
		{"annual of P3Y", d(2026, 3, 1), d(2029, 3, 1), PlanAnnual, d(2027, 3, 1)},
		{"triennial", d(2026, 3, 1), d(2029, 3, 1), PlanTriennial, d(2029, 3, 1)},
		{"annual capped by a short term", d(2026, 3, 1), d(2026, 4, 1), PlanAnnual, d(2026, 4, 1)},
		{"unknown plan: whole term", d(2026, 3, 1), d(2027, 3, 1), PlanUnspecified, d(2027, 3, 1)},
		{"no start", time.Time{}, d(2027, 3, 1), PlanMonthly, time.Time{}},
	}
	for _, c := range cases {
		if got := FirstPeriodEnd(c.start, c.end, c.plan); !got.Equal(c.want) {
			t.Errorf("%s: FirstPeriodEnd = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestTermOfSpan(t *testing.T) {
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }
	cases := []struct {
		start, end time.Time
		want       Term
	}{
		{d(2026, 1, 31), d(2026, 2, 28), TermP1M},
		{d(2026, 3, 1), d(2027, 3, 1), TermP1Y},
		{d(2026, 3, 1), d(2029, 3, 1), TermP3Y},
		{d(2026, 3, 1), d(2026, 9, 1), TermUnspecified},
		{time.Time{}, d(2026, 9, 1), TermUnspecified},
	}
	for _, c := range cases {
		if got := TermOfSpan(c.start, c.end); got != c.want {
			t.Errorf("TermOfSpan(%v, %v) = %d, want %d", c.start, c.end, got, c.want)
		}
	}
}
