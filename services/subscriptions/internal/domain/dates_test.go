package domain

import (
	"testing"
	"time"
)

func TestDayAndInstant(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	if got := Day(time.Date(2026, 3, 1, 0, 30, 0, 0, cet)); !got.Equal(date(2026, 2, 28)) || got.Location() != time.UTC {
		t.Errorf("Day(00:30 CET on Mar 1) = %v, want 2026-02-28 UTC", got)
	}
	if got := Day(time.Date(2026, 3, 1, 23, 59, 59, 999, time.UTC)); !got.Equal(date(2026, 3, 1)) {
		t.Errorf("Day(23:59:59) = %v", got)
	}
	in := time.Date(2026, 3, 1, 10, 0, 0, 123456789, cet)
	if got := Instant(in); got != time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC) {
		t.Errorf("Instant = %v", got)
	}
	if got := Instant(time.Time{}); !got.IsZero() {
		t.Errorf("Instant(zero) = %v, want zero", got)
	}
}

// Month-end clamping and leap days (doc.go): AddDate would give Mar 3 for Jan 31 + 1 month.
func TestAddTerm_MonthEndAndLeapDays(t *testing.T) {
	tests := []struct {
		name  string
		start time.Time
		term  Term
		want  time.Time
	}{
		{"Jan 31 + P1M, common year", date(2026, 1, 31), TermP1M, date(2026, 2, 28)},
		{"Jan 31 + P1M, leap year", date(2028, 1, 31), TermP1M, date(2028, 2, 29)},
		{"Mar 31 + P1M", date(2026, 3, 31), TermP1M, date(2026, 4, 30)},
		{"Aug 31 + P1M", date(2026, 8, 31), TermP1M, date(2026, 9, 30)},
		{"Dec 31 + P1M crosses the year", date(2026, 12, 31), TermP1M, date(2027, 1, 31)},
		{"clamp sticks: Feb 28 + P1M", date(2026, 2, 28), TermP1M, date(2026, 3, 28)},
		{"mid-month + P1Y", date(2026, 1, 15), TermP1Y, date(2027, 1, 15)},
		{"leap day + P1Y", date(2028, 2, 29), TermP1Y, date(2029, 2, 28)},
		{"leap day + P3Y", date(2028, 2, 29), TermP3Y, date(2031, 2, 28)},
		{"Feb 28 + P1Y into a leap year stays 28", date(2027, 2, 28), TermP1Y, date(2028, 2, 28)},
		{"Mar 1 + P3Y", date(2026, 3, 1), TermP3Y, date(2029, 3, 1)},
		{"time of day kept", date(2026, 1, 31).Add(9 * time.Hour), TermP1M, date(2026, 2, 28).Add(9 * time.Hour)},
		{"unknown term: unchanged", date(2026, 1, 31), Term("P2Y"), date(2026, 1, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AddTerm(tt.start, tt.term); !got.Equal(tt.want) {
				t.Errorf("AddTerm(%s, %s) = %s, want %s", tt.start.Format(time.DateOnly), tt.term, got, tt.want)
			}
		})
	}
}

func TestDays(t *testing.T) {
	tests := []struct {
		name     string
		from, to time.Time
		want     int64
	}{
		{"same day", date(2026, 1, 15), date(2026, 1, 15), 0},
		{"one day", date(2026, 1, 15), date(2026, 1, 16), 1},
		{"negative", date(2026, 1, 16), date(2026, 1, 15), -1},
		{"common year", date(2026, 1, 15), date(2027, 1, 15), 365},
		{"leap year", date(2028, 1, 1), date(2029, 1, 1), 366},
		{"leap-day term", date(2028, 2, 29), date(2029, 2, 28), 365},
		{"three years with a leap day", date(2027, 3, 1), date(2030, 3, 1), 1096},
		{"times of day ignored", date(2026, 1, 15).Add(23*time.Hour + 59*time.Minute), date(2026, 1, 16).Add(time.Minute), 1},
		{"before 1970", date(1969, 12, 31), date(1970, 1, 2), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Days(tt.from, tt.to); got != tt.want {
				t.Errorf("Days = %d, want %d", got, tt.want)
			}
		})
	}
}

// CA-5: 3-year SKUs annual or triennial; P1Y monthly or annual; P1M monthly.
func TestValidPlan_CA5(t *testing.T) {
	allowed := map[Term][]BillingPlan{
		TermP1M: {PlanMonthly},
		TermP1Y: {PlanMonthly, PlanAnnual},
		TermP3Y: {PlanAnnual, PlanTriennial},
	}
	for _, term := range []Term{TermP1M, TermP1Y, TermP3Y, "P2Y", ""} {
		if got := ValidTerm(term); got != (allowed[term] != nil) {
			t.Errorf("ValidTerm(%q) = %v", term, got)
		}
		for _, plan := range []BillingPlan{PlanMonthly, PlanAnnual, PlanTriennial, "WEEKLY"} {
			want := false
			for _, p := range allowed[term] {
				want = want || p == plan
			}
			if got := ValidPlan(term, plan); got != want {
				t.Errorf("ValidPlan(%q, %q) = %v, want %v", term, plan, got, want)
			}
		}
	}
}
