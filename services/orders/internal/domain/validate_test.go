package domain

import (
	"strings"
	"testing"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

func TestValidatePlaceOrder(t *testing.T) {
	ok := LineInput{SkuID: "A", Quantity: 1, Term: TermP1Y, Plan: PlanMonthly}
	base := func(lines ...LineInput) PlaceOrderInput {
		return PlaceOrderInput{RequestID: "r", CustomerID: "c", Lines: lines}
	}
	many := make([]LineInput, MaxLines+1)
	for i := range many {
		many[i] = ok
		many[i].SkuID = strings.Repeat("x", i+1)
	}
	tests := []struct {
		name   string
		in     PlaceOrderInput
		fields []string
	}{
		{"valid", base(ok), nil},
		{"100 lines", base(many[:MaxLines]...), nil},
		{"no lines", base(), []string{"lines"}},
		{"101 lines", base(many...), []string{"lines"}},
		{"missing ids", PlaceOrderInput{Lines: []LineInput{ok}}, []string{"request_id", "customer_id"}},
		{"quantity 0", base(LineInput{SkuID: "A", Term: TermP1Y, Plan: PlanAnnual}), []string{"lines[0].quantity"}},
		{"unknown term and plan", base(ok, LineInput{SkuID: "B", Quantity: 1}), []string{"lines[1].term", "lines[1].billing_plan"}},
		{"perpetual needs one-time", base(LineInput{SkuID: "A", Quantity: 1, Term: TermPerpetual, Plan: PlanAnnual}), []string{"lines[0].billing_plan"}},
		{"triennial needs P3Y", base(LineInput{SkuID: "A", Quantity: 1, Term: TermP1Y, Plan: PlanTriennial}), []string{"lines[0].billing_plan"}},
		{"duplicate SKU", base(ok, LineInput{SkuID: "B", Quantity: 1, Term: TermP1M, Plan: PlanMonthly}, ok), []string{"lines[2].sku_id"}},
		{"reference too long", PlaceOrderInput{RequestID: "r", CustomerID: "c", PartnerReference: strings.Repeat("é", 101), Lines: []LineInput{ok}}, []string{"partner_reference"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePlaceOrder(tt.in)
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			e, isErr := errs.As(err)
			if !isErr || e.Kind != errs.InvalidArgument || e.Reason != errs.ReasonInvalidRequest || len(e.Violations) != len(tt.fields) {
				t.Fatalf("got %v, want violations %v", err, tt.fields)
			}
			for i, f := range tt.fields {
				if e.Violations[i].Field != f {
					t.Errorf("violation %d = %s, want %s", i, e.Violations[i].Field, f)
				}
			}
		})
	}
}

func TestPlanFitsTerm(t *testing.T) {
	fits := map[Term][]BillingPlan{TermP1M: {PlanMonthly}, TermP1Y: {PlanMonthly, PlanAnnual},
		TermP3Y: {PlanMonthly, PlanAnnual, PlanTriennial}, TermPerpetual: {PlanOneTime}}
	for _, term := range Terms() {
		for _, plan := range BillingPlans() {
			want := false
			for _, p := range fits[term] {
				want = want || p == plan
			}
			if got := PlanFitsTerm(term, plan); got != want {
				t.Errorf("PlanFitsTerm(%s, %s) = %v, want %v", term, plan, got, want)
			}
		}
	}
}
