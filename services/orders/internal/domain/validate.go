package domain

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Limits of a PlaceOrder / ValidateOrder request (order_service.proto).
const (
	MaxLines               = 100 // "The lines; 1..100."
	MaxPartnerReferenceLen = 100 // characters
)

// LineInput is one requested line (partnerhub.orders.v1.OrderLineInput); enum values are the
// names without prefix, "" for UNSPECIFIED.
type LineInput struct {
	SkuID     string
	Quantity  int32
	Term      Term
	Plan      BillingPlan
	AutoRenew *bool // nil: the SKU's default (CA-11)
}

// PlaceOrderInput is a PlaceOrder request as the domain sees it.
type PlaceOrderInput struct {
	RequestID        string
	CustomerID       string
	PartnerReference string
	Lines            []LineInput
}

// ValidatePlaceOrder checks the shape of a request, with no catalog knowledge, and returns
// INVALID_ARGUMENT / INVALID_REQUEST listing every bad field ("lines[2].quantity"), or nil:
// request_id and customer_id required; 1..MaxLines lines; per line a SKU, quantity ≥ 1 (the
// SKU's maximum is the catalog's check, QUANTITY_ABOVE_MAXIMUM), a known term and billing plan in
// a combination the enums allow (PERPETUAL ⇔ ONE_TIME, TRIENNIAL only with P3Y, P1M only with
// MONTHLY; which plans a SKU allows is the catalog's check, CA-5); no SKU twice — a partner
// orders more seats with a bigger quantity, so a second line of the same SKU is refused, not
// merged; partner_reference at most MaxPartnerReferenceLen characters.
func ValidatePlaceOrder(in PlaceOrderInput) error {
	var v errs.Violations
	if in.RequestID == "" {
		v.Add("request_id", "required")
	}
	if in.CustomerID == "" {
		v.Add("customer_id", "required")
	}
	if n := utf8.RuneCountInString(in.PartnerReference); n > MaxPartnerReferenceLen {
		v.Add("partner_reference", "at most %d characters, got %d", MaxPartnerReferenceLen, n)
	}
	validateLines(&v, in.Lines)
	return v.Err()
}

func validateLines(v *errs.Violations, lines []LineInput) {
	switch {
	case len(lines) == 0:
		v.Add("lines", "at least one line is required")
	case len(lines) > MaxLines:
		v.Add("lines", "at most %d lines, got %d", MaxLines, len(lines))
	}
	first := map[string]int{}
	for i, l := range lines {
		f := func(name string) string { return fmt.Sprintf("lines[%d].%s", i, name) }
		if l.SkuID == "" {
			v.Add(f("sku_id"), "required")
		} else if j, dup := first[l.SkuID]; dup {
			v.Add(f("sku_id"), "SKU %s is already ordered in lines[%d]; change its quantity instead", l.SkuID, j)
		} else {
			first[l.SkuID] = i
		}
		if l.Quantity < 1 {
			v.Add(f("quantity"), "at least 1, got %d", l.Quantity)
		}
		termOK, planOK := slices.Contains(Terms(), l.Term), slices.Contains(BillingPlans(), l.Plan)
		if !termOK {
			v.Add(f("term"), "required: one of P1M, P1Y, P3Y, PERPETUAL")
		}
		if !planOK {
			v.Add(f("billing_plan"), "required: one of MONTHLY, ANNUAL, TRIENNIAL, ONE_TIME")
		}
		if termOK && planOK && !PlanFitsTerm(l.Term, l.Plan) {
			v.Add(f("billing_plan"), "%s billing is not possible with a %s term", l.Plan, l.Term)
		}
	}
}

// PlanFitsTerm reports whether a billing plan can split a term at all (CA-5, BI-2): ONE_TIME
// exactly with PERPETUAL, TRIENNIAL only with P3Y, P1M only with MONTHLY, ANNUAL with P1Y or P3Y.
func PlanFitsTerm(t Term, p BillingPlan) bool {
	switch t {
	case TermPerpetual:
		return p == PlanOneTime
	case TermP1M:
		return p == PlanMonthly
	case TermP1Y:
		return p == PlanMonthly || p == PlanAnnual
	case TermP3Y:
		return p == PlanMonthly || p == PlanAnnual || p == PlanTriennial
	}
	return false
}
