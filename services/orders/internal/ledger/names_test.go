package ledger

import "testing"

// The order domain's names map to the proto numbers the ledger stores (BI-2).
func TestTermAndPlanNamed(t *testing.T) {
	terms := map[string]Term{"P1M": TermP1M, "P1Y": TermP1Y, "P3Y": TermP3Y, "PERPETUAL": TermPerpetual, "": TermUnspecified, "P2Y": TermUnspecified}
	for name, want := range terms {
		if got := TermNamed(name); got != want {
			t.Errorf("TermNamed(%q) = %d, want %d", name, got, want)
		}
	}
	plans := map[string]BillingPlan{"MONTHLY": PlanMonthly, "ANNUAL": PlanAnnual, "TRIENNIAL": PlanTriennial,
		"ONE_TIME": PlanOneTime, "": PlanUnspecified, "WEEKLY": PlanUnspecified}
	for name, want := range plans {
		if got := PlanNamed(name); got != want {
			t.Errorf("PlanNamed(%q) = %d, want %d", name, got, want)
		}
	}
}
