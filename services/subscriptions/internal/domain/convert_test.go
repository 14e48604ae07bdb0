package domain

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// webDirect is sub() bought on the web: no partner, autorenew off; term price 1 200.00 EUR.
func webDirect() Subscription {
	s := sub()
	s.Channel, s.PartnerID = ChannelWebDirect, ""
	return s
}

// SU-15: the path follows the clock; the renewal window wins over the early cancellation.
func TestPlanConversion_SU15_Paths(t *testing.T) {
	bought := webDirect().PurchaseTime // 2026-01-15 09:00
	windowOpen := date(2026, 12, 16)
	tests := []struct {
		name              string
		at                time.Time
		path              ConversionPath
		penalty, rtv, fmc int64
	}{
		{"30 days after activation −1 s", bought.Add(30*24*time.Hour - time.Second), PathEarlyCancellation, 0, 0, 10000},
		// 335 days left: 120 000 × 335 / 365 = 110 136.99 → 110 137; 25 % = 27 534.25 → 27 534
		{"30 days after activation", bought.Add(30 * 24 * time.Hour), PathMidTermPenalty, 27534, 110137, 0},
		// 31 days left: 120 000 × 31 / 365 = 10 191.78 → 10 192; 25 % = 2 548
		{"window −1 s", windowOpen.Add(-time.Second), PathMidTermPenalty, 2548, 10192, 0},
		{"window opens", windowOpen, PathRenewalWindow, 0, 0, 0},
		{"last day", date(2027, 1, 14).Add(23 * time.Hour), PathRenewalWindow, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := PlanConversion(webDirect(), tt.at, ChannelOpen)
			start := Day(tt.at)
			want := Conversion{Path: tt.path, Penalty: eur(tt.penalty), RemainingTermValue: eur(tt.rtv),
				FirstMonthCharge: eur(tt.fmc), NewStart: start, NewEnd: AddTerm(start, TermP1Y), RenewalWindowOpen: windowOpen}
			if err != nil || c != want {
				t.Errorf("PlanConversion = %+v, %v\nwant %+v", c, err, want)
			}
		})
	}

	short := webDirect() // P1M bought a week ago: both apply, the renewal window wins
	short.Term, short.TermEnd = TermP1M, date(2026, 2, 15)
	if c, _ := PlanConversion(short, date(2026, 1, 22), ChannelOpen); c.Path != PathRenewalWindow {
		t.Errorf("P1M path %s", c.Path)
	}
}

// SU-15, BI-3: the penalty is 25 % of the rounded remaining value, rounded half away from zero.
func TestPlanConversion_SU15_PenaltyRounding(t *testing.T) {
	s := webDirect() // 2026-01-15 → 2027-01-15
	s.Quantity, s.UnitPrice = 1, eur(732)
	// 2026-07-01: 198 days left; 732 × 198 / 365 = 397.08 → 397; 25 % = 99.25 → 99
	c, err := PlanConversion(s, date(2026, 7, 1), ChannelOpen)
	if err != nil || c.RemainingTermValue != eur(397) || c.Penalty != eur(99) {
		t.Errorf("%+v, %v", c, err)
	}

	s.UnitPrice = eur(730) // 2.00 a day
	s.TermStart, s.TermEnd, s.PurchaseTime = date(2026, 1, 1), date(2027, 1, 1), date(2026, 1, 1)
	// 2026-06-30: 185 days left → 370; 25 % = 92.5 → 93
	c, _ = PlanConversion(s, date(2026, 6, 30), ChannelOpen)
	if c.RemainingTermValue != eur(370) || c.Penalty != eur(93) {
		t.Errorf("half away from zero: %+v", c)
	}
	// early cancellation: 730 / 12 months = 60.83 → 61
	if c, _ := PlanConversion(s, date(2026, 1, 10), ChannelOpen); c.Path != PathEarlyCancellation || c.FirstMonthCharge != eur(61) {
		t.Errorf("first month %+v", c)
	}
}

// SU-15, SU-9: only Web-Direct → Open, with autorenew off, while ACTIVE.
func TestPlanConversion_SU15_Refusals(t *testing.T) {
	now := date(2026, 6, 1)
	csp := sub()
	_, err := PlanConversion(csp, now, ChannelOpen)
	wantErr(t, err, errs.FailedPrecondition, ReasonChannelConversionNotAllowed, map[string]string{"channel": "CSP"})
	_, err = PlanConversion(webDirect(), now, ChannelCSP)
	wantErr(t, err, errs.FailedPrecondition, ReasonChannelConversionNotAllowed, map[string]string{"target_channel": "CSP"})

	auto := webDirect()
	auto.AutoRenew = true
	_, err = PlanConversion(auto, now, ChannelOpen)
	wantErr(t, err, errs.FailedPrecondition, ReasonAutoRenewMustBeOff, nil)

	suspended := webDirect()
	suspended.State = StateSuspended
	_, err = PlanConversion(suspended, now, ChannelOpen)
	wantErr(t, err, errs.FailedPrecondition, ReasonInvalidStateTransition, map[string]string{"action": "CONVERT_CHANNEL"})
}
