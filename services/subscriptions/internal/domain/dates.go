package domain

import "time"

// secondsPerDay: every UTC day has exactly 86 400 s on the service clock (no leap seconds in Unix
// time), so whole days are differences of Unix seconds divided by this.
const secondsPerDay = 86400

// Day returns 00:00 UTC of t's UTC calendar day. Term dates are always days.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Instant returns t in UTC truncated to the microsecond the stores keep, so a value read back
// compares equal to the value written. The zero time stays zero (it means "unset").
func Instant(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// termMonths is the length of a term in calendar months; false for an unknown term.
func termMonths(t Term) (int, bool) {
	switch t {
	case TermP1M:
		return 1, true
	case TermP1Y:
		return 12, true
	case TermP3Y:
		return 36, true
	}
	return 0, false
}

// ValidTerm reports whether t is one of the terms a subscription can have (P1M, P1Y, P3Y).
func ValidTerm(t Term) bool {
	_, ok := termMonths(t)
	return ok
}

// ValidPlan reports whether a billing plan may be sold with a term (CA-5, BI-2): P1M is billed
// monthly; P1Y monthly or annually; P3Y ("3-year SKUs are sold with annual or triennial billing")
// annually or triennially, never monthly. CA-5's monthly Remote Desktop Services CAL is a
// one-year SKU and needs no exception here.
func ValidPlan(term Term, plan BillingPlan) bool {
	switch term {
	case TermP1M:
		return plan == PlanMonthly
	case TermP1Y:
		return plan == PlanMonthly || plan == PlanAnnual
	case TermP3Y:
		return plan == PlanAnnual || plan == PlanTriennial
	}
	return false
}

// AddTerm returns the end of a term that starts at start: the same day of the month P1M, P1Y or
// P3Y later, clamped to the last day of the target month when that month is shorter (Jan 31 + P1M
// = Feb 28, or Feb 29 in a leap year; Mar 31 + P1M = Apr 30; Feb 29 + P1Y = Feb 28). time.AddDate
// would normalise Jan 31 + 1 month to Mar 3 instead. The time of day is kept (00:00 for term
// dates). An unknown term returns start unchanged; callers check ValidTerm.
func AddTerm(start time.Time, term Term) time.Time {
	n, ok := termMonths(term)
	if !ok {
		return start
	}
	return addMonths(start, n)
}

// addMonths adds n calendar months to t (UTC) with month-end clamping.
func addMonths(t time.Time, n int) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC) // normalises the year
	last := first.AddDate(0, 1, -1).Day()
	hh, mm, ss := t.Clock()
	return time.Date(first.Year(), first.Month(), min(d, last), hh, mm, ss, t.Nanosecond(), time.UTC)
}

// Days returns the whole days from the UTC day of from to the UTC day of to: to − from, negative
// when to is before from. Times of day are ignored (both are taken as their Day).
func Days(from, to time.Time) int64 {
	return (Day(to).Unix() - Day(from).Unix()) / secondsPerDay
}

// addDays returns t plus n calendar days; in UTC (no daylight saving) that is n × 24 h exactly.
func addDays(t time.Time, n int64) time.Time {
	return t.UTC().AddDate(0, 0, int(n))
}

// rfc3339 formats an instant for error metadata.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
