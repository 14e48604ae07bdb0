package ledger

import "time"

// Helpers for the subscriptions-feed consumer (app/billing, adapters/subscriptions): the feed's
// payloads carry a term's bounds and billing plan, not the entry's period or term enum.

// FirstPeriodEnd is the exclusive end of the first billing period of a term that runs from
// termStart to termEnd under plan (BI-2): termStart plus the plan's months (day clamped to the
// month's end, as Schedule does), never past termEnd. For an unknown plan or ONE_TIME it is
// termEnd; for a zero termStart it is zero.
func FirstPeriodEnd(termStart, termEnd time.Time, plan BillingPlan) time.Time {
	if termStart.IsZero() {
		return time.Time{}
	}
	pm, ok := PlanMonths(plan)
	if !ok {
		return termEnd.UTC()
	}
	end := addMonthsClamped(termStart, pm)
	if !termEnd.IsZero() && termEnd.Before(end) {
		return termEnd.UTC()
	}
	return end
}

// TermOfSpan is the term whose length is exactly the span from start to end (P1M, P1Y or P3Y,
// counted in calendar months with the day clamped); TermUnspecified when it is none of them.
func TermOfSpan(start, end time.Time) Term {
	if start.IsZero() || end.IsZero() {
		return TermUnspecified
	}
	for _, t := range []Term{TermP1M, TermP1Y, TermP3Y} {
		m, _ := TermMonths(t)
		if addMonthsClamped(start, m).Equal(end) {
			return t
		}
	}
	return TermUnspecified
}
