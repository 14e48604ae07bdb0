package ledger

// TermNamed is the term of its name without prefix ("P1M", "P1Y", "P3Y", "PERPETUAL", as the
// order domain and the proto enums spell it); unknown names are TermUnspecified.
func TermNamed(name string) Term {
	switch name {
	case "P1M":
		return TermP1M
	case "P1Y":
		return TermP1Y
	case "P3Y":
		return TermP3Y
	case "PERPETUAL":
		return TermPerpetual
	}
	return TermUnspecified
}

// PlanNamed is the billing plan of its name without prefix ("MONTHLY", "ANNUAL", "TRIENNIAL",
// "ONE_TIME"); unknown names are PlanUnspecified.
func PlanNamed(name string) BillingPlan {
	switch name {
	case "MONTHLY":
		return PlanMonthly
	case "ANNUAL":
		return PlanAnnual
	case "TRIENNIAL":
		return PlanTriennial
	case "ONE_TIME":
		return PlanOneTime
	}
	return PlanUnspecified
}
