package domain

import (
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// SU-4: renewal by key opens 30 days before the end date; before it the new term starts on the
// redemption day and the days left are lost.
func TestPlanRenewal_SU4_BeforeEndDate(t *testing.T) {
	end := date(2027, 1, 15)
	opens := date(2026, 12, 16)
	tests := []struct {
		name      string
		at        time.Time
		forfeited int32
	}{
		{"30 days before, at 00:00", opens, 30},
		{"29 days before", addDays(end, -29).Add(15 * time.Hour), 29},
		{"last second", end.Add(-time.Second), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := PlanRenewal(sub(), tt.at, TermP1Y)
			start := Day(tt.at)
			want := Renewal{Timing: TimingBeforeEndDate, Start: start, End: AddTerm(start, TermP1Y), DaysForfeited: tt.forfeited}
			if err != nil || r != want {
				t.Errorf("PlanRenewal = %+v, %v; want %+v", r, err, want)
			}
		})
	}
	for _, at := range []time.Time{addDays(end, -31), addDays(end, -31).Add(23*time.Hour + 59*time.Minute), opens.Add(-time.Second)} {
		_, err := PlanRenewal(sub(), at, TermP1Y)
		wantErr(t, err, errs.FailedPrecondition, ReasonRenewalWindowNotOpen, map[string]string{"opens_at": "2026-12-16T00:00:00Z"})
	}
	_, err := PlanRenewal(sub(), opens, "P5Y")
	wantViolation(t, err, "term_duration")
}

// SU-4, SU-2: in the 30-day EXPIRED grace the new term starts at the old end; from the 31st day
// (end + 30 days, DISABLED) renewal is refused. The engine runs first, as in the app layer.
func TestPlanRenewal_SU4_InGrace(t *testing.T) {
	end := date(2027, 1, 15)
	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"1st grace day (the end date)", end.Add(8 * time.Hour), true},
		{"30th grace day (end + 29 days)", addDays(end, 29).Add(23 * time.Hour), true},
		{"end + 30 days −1 s", addDays(end, 30).Add(-time.Second), true},
		{"31st day (end + 30 days): DISABLED", addDays(end, 30), false},
		{"end + 31 days", addDays(end, 31), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := Advance(sub(), tt.at, seq())
			r, err := PlanRenewal(s, tt.at, TermP1Y)
			if tt.ok {
				want := Renewal{Timing: TimingInGrace, Start: end, End: date(2028, 1, 15)}
				if s.State != StateExpired || err != nil || r != want {
					t.Errorf("state %s: PlanRenewal = %+v, %v; want %+v", s.State, r, err, want)
				}
				return
			}
			wantErr(t, err, errs.FailedPrecondition, ReasonInvalidStateTransition, map[string]string{"state": "DISABLED"})
			// The clock decides even when the engine has not run yet.
			_, err = PlanRenewal(func() Subscription { e := sub(); e.State = StateExpired; return e }(), tt.at, TermP1Y)
			wantErr(t, err, errs.FailedPrecondition, ReasonInvalidStateTransition, nil)
		})
	}
}

// SU-4: applying a renewal gives a new ACTIVE term with one lot for its seats.
func TestApplyRenewal_SU4(t *testing.T) {
	now := date(2027, 1, 20).Add(9 * time.Hour)
	s, _ := Advance(sub(), now, seq())
	s.RemindersSent = ReminderDays()
	r, err := PlanRenewal(s, now, TermP3Y)
	if err != nil {
		t.Fatal(err)
	}
	got := ApplyRenewal(s, r, TermP3Y, 0, Money{Minor: 0}, now)
	wantLots := []SeatLot{{ID: "lot-1", Quantity: 10, AddTime: now, UnitPrice: eur(0)}}
	if got.State != StateActive || got.StateTime != now || got.TermStart != date(2027, 1, 15) ||
		got.TermEnd != date(2030, 1, 15) || got.Term != TermP3Y || got.Quantity != 10 ||
		got.UnitPrice != eur(0) || len(got.RemindersSent) != 0 || !slices.Equal(got.Lots, wantLots) || got.UpdateTime != now {
		t.Errorf("renewed %+v", got)
	}
	got = ApplyRenewal(s, r, TermP1Y, 25, eur(9000), now)
	if got.Quantity != 25 || got.Lots[0].Quantity != 25 || got.UnitPrice != eur(9000) {
		t.Errorf("renewed with 25 seats: %+v", got)
	}
}

// SU-2, SU-7: reactivation keeps the term of a suspended subscription; from EXPIRED or DISABLED a
// new term starts on the reactivation day with its first charge due; DELETED never comes back.
func TestPlanReactivation_SU2_SU7(t *testing.T) {
	end := date(2027, 1, 15)
	suspended := sub()
	suspended.State = StateSuspended
	r, err := PlanReactivation(suspended, date(2026, 6, 1))
	if want := (Reactivation{From: StateSuspended, Start: suspended.TermStart, End: end, AmountDue: eur(0)}); err != nil || r != want {
		t.Errorf("from SUSPENDED: %+v, %v", r, err)
	}
	got := ApplyReactivation(suspended, r, date(2026, 6, 1))
	if got.State != StateActive || got.TermEnd != end || got.StateTime != date(2026, 6, 1) {
		t.Errorf("applied %+v", got)
	}

	for _, tt := range []struct {
		name string
		at   time.Time
		from State
	}{
		{"EXPIRED", addDays(end, 10).Add(5 * time.Hour), StateExpired},
		{"DISABLED, last second", addDays(end, 120).Add(-time.Second), StateDisabled},
	} {
		s, _ := Advance(sub(), tt.at, seq())
		s.RemindersSent = ReminderDays()
		r, err := PlanReactivation(s, tt.at)
		start := Day(tt.at)
		want := Reactivation{From: tt.from, Start: start, End: AddTerm(start, TermP1Y), AmountDue: eur(10000)}
		if err != nil || r != want {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, r, err, want)
		}
		if got := ApplyReactivation(s, r, tt.at); got.State != StateActive || got.TermStart != start || len(got.RemindersSent) != 0 {
			t.Errorf("%s applied %+v", tt.name, got)
		}
	}

	disabled := sub()
	disabled.State = StateDisabled
	_, err = PlanReactivation(disabled, addDays(end, 120))
	wantErr(t, err, errs.FailedPrecondition, ReasonInvalidStateTransition, map[string]string{"state": "DELETED"})
	for _, st := range []State{StateActive, StateDeleted, StateCancelled} {
		s := sub()
		s.State = st
		_, err := PlanReactivation(s, date(2026, 6, 1))
		wantErr(t, err, errs.FailedPrecondition, ReasonInvalidStateTransition, map[string]string{"state": string(st)})
	}
}
