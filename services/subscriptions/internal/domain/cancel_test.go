package domain

import (
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// SU-10: the window ends at TermStart + 7 × 24 h, to the second.
func TestCheckCancel_SU10_WindowBoundaries(t *testing.T) {
	end := date(2026, 1, 22) // 2026-01-15 + 7 days
	tests := []struct {
		name   string
		at     time.Time
		passed bool
	}{
		{"term start", date(2026, 1, 15), false},
		{"end −1 s", end.Add(-time.Second), false},
		{"end", end, true},
		{"end +1 s", end.Add(time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := CancellationWindowOf(sub(), tt.at)
			if w.End != end || w.Passed != tt.passed || w.Policy != PolicyProratedRefundWindow || w.WindowDays != 7 {
				t.Errorf("window %+v", w)
			}
			err := CheckCancel(sub(), tt.at)
			if !tt.passed {
				if err != nil || w.Refund.Minor >= 0 {
					t.Errorf("CheckCancel = %v, refund %+v", err, w.Refund)
				}
				return
			}
			wantErr(t, err, errs.FailedPrecondition, ReasonCancellationWindowClosed,
				map[string]string{"window_end": "2026-01-22T00:00:00Z"})
			if w.Refund != eur(0) {
				t.Errorf("refund after the window %+v, want zero", w.Refund)
			}
		})
	}
}

// SU-10, BI-3: refund = −(unit price × quantity × remaining days / term days), half away from zero.
func TestCancellationWindowOf_SU10_RefundRounding(t *testing.T) {
	leap := sub() // 2028-01-01 → 2029-01-01: 366 days
	leap.TermStart, leap.TermEnd, leap.Quantity, leap.UnitPrice = date(2028, 1, 1), date(2029, 1, 1), 1, eur(61)
	tests := []struct {
		name string
		s    Subscription
		at   time.Time
		want int64
	}{
		{"first day refunds the whole term", sub(), date(2026, 1, 15).Add(23 * time.Hour), -120000},
		{"day 3: 120 000 × 362 / 365 = 119 013.7", sub(), date(2026, 1, 18).Add(time.Hour), -119014},
		{"day 6: 120 000 × 359 / 365 = 118 027.4", sub(), date(2026, 1, 21).Add(23 * time.Hour), -118027},
		{"half away from zero: 61 × 363 / 366 = 60.5", leap, date(2028, 1, 4).Add(10 * time.Hour), -61},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CancellationWindowOf(tt.s, tt.at).Refund; got != eur(tt.want) {
				t.Errorf("refund %+v, want %d", got, tt.want)
			}
		})
	}
}

// CA-10, SU-10: never-cancellable products, and states that cannot be cancelled.
func TestCheckCancel_CA10_NeverAndStates(t *testing.T) {
	now := date(2026, 1, 16)
	never := sub()
	never.Policy, never.WindowDays = PolicyNever, 0
	w := CancellationWindowOf(never, now)
	if !w.End.IsZero() || !w.Passed || w.Refund != eur(0) {
		t.Errorf("NEVER window %+v", w)
	}
	wantErr(t, CheckCancel(never, now), errs.FailedPrecondition, ReasonNotCancellable, nil)

	for _, st := range []State{StateExpired, StateDisabled, StateDeleted, StateCancelled} {
		s := sub()
		s.State = st
		wantErr(t, CheckCancel(s, now), errs.FailedPrecondition, ReasonInvalidStateTransition,
			map[string]string{"state": string(st), "action": "CANCEL"})
	}
	s := sub()
	s.State = StateSuspended
	if err := CheckCancel(s, now); err != nil {
		t.Errorf("suspended within the window: %v", err)
	}
}
