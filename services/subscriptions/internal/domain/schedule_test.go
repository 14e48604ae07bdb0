package domain

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// SU-2, SU-3, SU-4, SU-9: the schedule's dates are computed from the term end.
func TestScheduleOf_SU2_SU3_Dates(t *testing.T) {
	s := sub() // 2026-01-15 → 2027-01-15, autorenew off
	s.RemindersSent = []int32{60}
	got := ScheduleOf(s)
	want := Schedule{
		NextStep: LifecycleRenewalReminder, NextStepTime: date(2026, 12, 16),
		ExpireTime: date(2027, 1, 15), DisableTime: date(2027, 2, 14), DeleteTime: date(2027, 5, 15),
		RenewalWindowOpen: date(2026, 12, 16),
		Reminders: []Reminder{
			{60, date(2026, 11, 16), true}, {30, date(2026, 12, 16), false},
			{7, date(2027, 1, 8), false}, {1, date(2027, 1, 14), false},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ScheduleOf =\n%+v\nwant\n%+v", got, want)
	}

	s.AutoRenew, s.RemindersSent = true, ReminderDays()
	if got := ScheduleOf(s); got.RenewTime != s.TermEnd || got.NextStep != LifecycleRenew || got.NextStepTime != s.TermEnd {
		t.Errorf("autorenew on: %+v", got)
	}
}

// SU-3: a reminder due before the term start belongs to no term: a 28-day P1M term has only the
// 7- and 1-day reminders, a 31-day one also the 30-day reminder.
func TestScheduleOf_SU3_ShortTermsHaveFewerReminders(t *testing.T) {
	tests := []struct {
		start time.Time
		want  []int32
	}{
		{date(2026, 2, 1), []int32{7, 1}},     // Feb 1 → Mar 1: 28 days
		{date(2026, 1, 1), []int32{30, 7, 1}}, // Jan 1 → Feb 1: 31 days, 30-day reminder on Jan 2
	}
	for _, tt := range tests {
		s := sub()
		s.Term, s.Plan, s.TermStart, s.TermEnd = TermP1M, PlanMonthly, tt.start, AddTerm(tt.start, TermP1M)
		var got []int32
		for _, r := range ScheduleOf(s).Reminders {
			got = append(got, r.DaysBefore)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("term from %s: reminders %v, want %v", tt.start.Format(time.DateOnly), got, tt.want)
		}
	}
}

// SU-2, SU-7: the next step per state; none in a final state.
func TestNextDue_SU2_PerState(t *testing.T) {
	end := date(2027, 1, 15)
	tests := []struct {
		state     State
		autoRenew bool
		step      LifecycleStep
		at        time.Time
	}{
		{StateActive, false, LifecycleExpire, end},
		{StateActive, true, LifecycleRenew, end},
		{StateSuspended, true, LifecycleExpire, end}, // SU-7: suspended through the end expires
		{StateExpired, false, LifecycleDisable, date(2027, 2, 14)},
		{StateDisabled, false, LifecycleDelete, date(2027, 5, 15)},
		{StateDeleted, false, LifecycleNone, time.Time{}},
		{StateCancelled, true, LifecycleNone, time.Time{}},
	}
	for _, tt := range tests {
		s := sub()
		s.State, s.AutoRenew, s.RemindersSent = tt.state, tt.autoRenew, ReminderDays()
		sc := ScheduleOf(s)
		at, ok := NextDue(s)
		if sc.NextStep != tt.step || !sc.NextStepTime.Equal(tt.at) || !at.Equal(tt.at) || ok != (tt.step != LifecycleNone) {
			t.Errorf("%s autorenew=%v: next %s at %v (NextDue %v %v), want %s at %v",
				tt.state, tt.autoRenew, sc.NextStep, sc.NextStepTime, at, ok, tt.step, tt.at)
		}
	}
	s := sub() // reminders pending: the earliest unsent one is next, even when overdue
	s.RemindersSent = []int32{60, 7}
	if at, ok := NextDue(s); !ok || !at.Equal(date(2026, 12, 16)) {
		t.Errorf("NextDue with 30-day reminder pending = %v %v", at, ok)
	}
	s.PartnerID = "" // no partner of record: no reminders (SU-3)
	if at, _ := NextDue(s); !at.Equal(end) {
		t.Errorf("NextDue without partner = %v, want the term end", at)
	}
}

// SU-2: the state after Advance at the boundaries of the expiry path, from one engine run at
// that instant (catch-up) and from day-by-day runs.
func TestAdvance_SU2_ExpiryBoundaries(t *testing.T) {
	end := date(2027, 1, 15)
	tests := []struct {
		name string
		at   time.Time
		want State
	}{
		{"end −1 s", end.Add(-time.Second), StateActive},
		{"end", end, StateExpired},
		{"end +1 s", end.Add(time.Second), StateExpired},
		{"+29 days", addDays(end, 29), StateExpired},
		{"+30 days −1 µs", addDays(end, 30).Add(-time.Microsecond), StateExpired},
		{"+30 days", addDays(end, 30), StateDisabled},
		{"+31 days", addDays(end, 31), StateDisabled},
		{"+119 days", addDays(end, 119), StateDisabled},
		{"+120 days −1 s", addDays(end, 120).Add(-time.Second), StateDisabled},
		{"+120 days", addDays(end, 120), StateDeleted},
		{"+121 days", addDays(end, 121), StateDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := Advance(sub(), tt.at, seq())
			if got.State != tt.want {
				t.Errorf("one run: state %s, want %s", got.State, tt.want)
			}
			s := sub()
			for now := addDays(end, -1); now.Before(tt.at); now = now.Add(24 * time.Hour) {
				s, _ = Advance(s, now, seq())
			}
			if s, _ = Advance(s, tt.at, seq()); s.State != tt.want {
				t.Errorf("daily runs: state %s, want %s", s.State, tt.want)
			}
		})
	}
}

// SU-2: an engine that was down applies every overdue step in order, with one event each.
func TestAdvance_SU2_CatchUpInOrder(t *testing.T) {
	s := sub()
	s.RemindersSent = ReminderDays()
	now := date(2027, 6, 1).Add(10*time.Hour + 123456789)
	got, evs := Advance(s, now, seq())
	if want := []EventType{EventExpired, EventDisabled, EventDeleted}; !slices.Equal(types(evs), want) {
		t.Fatalf("events %v, want %v", types(evs), want)
	}
	at := Instant(now)
	wantStates := []State{StateExpired, StateDisabled, StateDeleted}
	for i, e := range evs {
		if e.ID != []string{"ev-1", "ev-2", "ev-3"}[i] || e.State != wantStates[i] || !e.Time.Equal(at) ||
			e.PartnerID != "partner-1" || e.CustomerID != "cust-1" || e.SubscriptionID != "sub-1" || e.RequestID != "" {
			t.Errorf("event %d = %+v", i, e)
		}
	}
	if p := evs[0].Expired; p == nil || p.TermEnd != date(2027, 1, 15) || p.DisableTime != date(2027, 2, 14) {
		t.Errorf("EXPIRED payload %+v", p)
	}
	if p := evs[1].Disabled; p == nil || p.DeleteTime != date(2027, 5, 15) {
		t.Errorf("DISABLED payload %+v", p)
	}
	if p := evs[2].Deleted; p == nil || p.TermEnd != date(2027, 1, 15) {
		t.Errorf("DELETED payload %+v", p)
	}
	if got.StateTime != at || got.UpdateTime != at || got.Version != s.Version {
		t.Errorf("StateTime %v UpdateTime %v Version %d", got.StateTime, got.UpdateTime, got.Version)
	}
	if again, evs := Advance(got, now.Add(1000*24*time.Hour), seq()); len(evs) != 0 || !reflect.DeepEqual(again, got) {
		t.Errorf("DELETED is final: %v", types(evs))
	}
}

// SU-7: a subscription suspended through its end date expires, autorenew or not.
func TestAdvance_SU7_SuspendedExpires(t *testing.T) {
	s := sub()
	s.State, s.AutoRenew = StateSuspended, true
	got, evs := Advance(s, date(2027, 1, 15), seq())
	if got.State != StateExpired || !slices.Equal(types(evs), []EventType{EventExpired}) {
		t.Errorf("state %s events %v", got.State, types(evs))
	}
}

// Nothing due: the input comes back unchanged, with no events.
func TestAdvance_NothingDue(t *testing.T) {
	s := sub()
	got, evs := Advance(s, date(2026, 6, 1), seq())
	if len(evs) != 0 || !reflect.DeepEqual(got, s) {
		t.Errorf("Advance changed %+v, events %v", got, types(evs))
	}
}

// SU-3: each reminder exactly once, whether the engine runs every hour or late, and never twice
// when run again at the same time.
func TestAdvance_SU3_RemindersExactlyOnce(t *testing.T) {
	end := date(2027, 1, 15)
	count := func(evs []Event, into map[int32]int) {
		for _, e := range evs {
			if e.Type == EventRenewalReminder {
				into[e.RenewalReminder.DaysBeforeExpiry]++
			}
		}
	}
	t.Run("hourly", func(t *testing.T) {
		s, sent := sub(), map[int32]int{}
		for now := addDays(end, -62); now.Before(end); now = now.Add(time.Hour) {
			var evs []Event
			s, evs = Advance(s, now, seq())
			count(evs, sent)
			s, evs = Advance(s, now, seq())
			count(evs, sent)
		}
		if !reflect.DeepEqual(sent, map[int32]int{60: 1, 30: 1, 7: 1, 1: 1}) {
			t.Errorf("reminders sent %v", sent)
		}
	})
	t.Run("exactly at the due instants", func(t *testing.T) {
		s := sub()
		for _, d := range ReminderDays() {
			due := addDays(end, -int64(d))
			var evs []Event
			if s, evs = Advance(s, due.Add(-time.Second), seq()); len(evs) != 0 {
				t.Errorf("%d-day reminder 1 s early: %v", d, types(evs))
			}
			s, evs = Advance(s, due, seq())
			if len(evs) != 1 || evs[0].RenewalReminder.DaysBeforeExpiry != d {
				t.Fatalf("at %s: %v", due, types(evs))
			}
			p := evs[0].RenewalReminder
			if p.TermEnd != end || p.AutoRenew || p.Quantity != 10 || evs[0].State != StateActive {
				t.Errorf("payload %+v", p)
			}
		}
	})
	t.Run("late", func(t *testing.T) {
		s, sent := sub(), map[int32]int{}
		s, evs := Advance(s, addDays(end, -5), seq()) // 60, 30 and 7 overdue: sent late, once
		count(evs, sent)
		if want := (map[int32]int{60: 1, 30: 1, 7: 1}); !reflect.DeepEqual(sent, want) {
			t.Errorf("late run sent %v, want %v", sent, want)
		}
		s, evs = Advance(s, addDays(end, -1), seq())
		count(evs, sent)
		s, evs = Advance(s, end.Add(time.Hour), seq())
		count(evs, sent)
		if want := (map[int32]int{60: 1, 30: 1, 7: 1, 1: 1}); !reflect.DeepEqual(sent, want) {
			t.Errorf("sent %v, want %v", sent, want)
		}
		if s.State != StateExpired {
			t.Errorf("state %s", s.State)
		}
	})
	t.Run("reached only after the end: dropped, never due again", func(t *testing.T) {
		s := sub()
		s.AutoRenew = true
		_, evs := Advance(s, end.Add(time.Hour), seq())
		if !slices.Equal(types(evs), []EventType{EventRenewed}) {
			t.Fatalf("events %v, want only RENEWED", types(evs))
		}
		s = sub()
		got, evs := Advance(s, end.Add(time.Hour), seq())
		if !slices.Equal(types(evs), []EventType{EventExpired}) || !slices.Equal(got.RemindersSent, ReminderDays()) {
			t.Errorf("events %v, RemindersSent %v", types(evs), got.RemindersSent)
		}
		s.State = StateSuspended // suspended: no reminders while suspended (SU-3, SU-7)
		if _, evs = Advance(s, addDays(end, -2), seq()); len(evs) != 0 {
			t.Errorf("suspended got %v", types(evs))
		}
		s.State, s.PartnerID = StateActive, "" // no partner of record
		if _, evs = Advance(s, addDays(end, -2), seq()); len(evs) != 0 {
			t.Errorf("no partner got %v", types(evs))
		}
	})
	t.Run("input not aliased", func(t *testing.T) {
		s := sub()
		s.RemindersSent = make([]int32, 0, 8)
		backing := s.RemindersSent[:8]
		Advance(s, addDays(end, -2), seq())
		if len(s.RemindersSent) != 0 || backing[0] != 0 {
			t.Errorf("Advance wrote into the caller's RemindersSent")
		}
	})
}

// SU-3, SU-9: an autorenewing subscription gets each reminder once per term, term after term.
func TestAdvance_SU3_SU9_RemindersEveryTerm(t *testing.T) {
	s := sub()
	s.AutoRenew = true
	sent := map[time.Time][]int32{}
	for now := s.TermStart; now.Before(date(2029, 1, 16)); now = now.Add(12 * time.Hour) {
		var evs []Event
		s, evs = Advance(s, now, seq())
		for _, e := range evs {
			if e.Type == EventRenewalReminder {
				sent[e.RenewalReminder.TermEnd] = append(sent[e.RenewalReminder.TermEnd], e.RenewalReminder.DaysBeforeExpiry)
			}
		}
	}
	for _, end := range []time.Time{date(2027, 1, 15), date(2028, 1, 15), date(2029, 1, 15)} {
		if !slices.Equal(sent[end], ReminderDays()) {
			t.Errorf("term ending %s: reminders %v", end.Format(time.DateOnly), sent[end])
		}
	}
	if len(sent) != 3 || s.TermEnd != date(2030, 1, 15) {
		t.Errorf("terms %d, now ending %s", len(sent), s.TermEnd)
	}
}

// SU-9: autorenew starts the next term at the old end and charges the plan's first installment;
// the event gives the whole term's price too (BI-2: the ledger books every installment from it).
func TestAdvance_SU9_AutoRenewAmountDuePerPlan(t *testing.T) {
	tests := []struct {
		term Term
		plan BillingPlan
		end  time.Time
		due  int64 // 10 seats × 120.00 = 1 200.00 per term
	}{
		{TermP1Y, PlanMonthly, date(2028, 1, 15), 10000},
		{TermP1Y, PlanAnnual, date(2028, 1, 15), 120000},
		{TermP3Y, PlanAnnual, date(2030, 1, 15), 40000},
		{TermP3Y, PlanTriennial, date(2030, 1, 15), 120000},
		{TermP1M, PlanMonthly, date(2027, 2, 15), 120000},
	}
	for _, tt := range tests {
		t.Run(string(tt.term)+"/"+string(tt.plan), func(t *testing.T) {
			s := sub()
			s.Term, s.Plan, s.AutoRenew, s.RemindersSent = tt.term, tt.plan, true, ReminderDays()
			now := date(2027, 1, 15).Add(time.Minute)
			got, evs := Advance(s, now, seq())
			if len(evs) != 1 || evs[0].Type != EventRenewed {
				t.Fatalf("events %v", types(evs))
			}
			want := RenewedPayload{Kind: RenewalAuto, TermStart: date(2027, 1, 15), TermEnd: tt.end, Quantity: 10,
				Plan: tt.plan, AmountDue: eur(tt.due), TermAmount: eur(120000)}
			if *evs[0].Renewed != want {
				t.Errorf("payload %+v, want %+v", *evs[0].Renewed, want)
			}
			if got.State != StateActive || got.TermStart != date(2027, 1, 15) || got.TermEnd != tt.end ||
				len(got.RemindersSent) != 0 || got.StateTime != s.StateTime || got.UpdateTime != now || evs[0].State != StateActive {
				t.Errorf("subscription %+v", got)
			}
		})
	}
}

// SU-9: a P1M subscription whose engine was down renews once per missed month (clamped at the
// month end), drops the reminders of past terms and sends the current term's due reminder.
func TestAdvance_SU9_CatchUpSeveralMonthlyTerms(t *testing.T) {
	s := sub()
	s.Term, s.Plan, s.AutoRenew = TermP1M, PlanMonthly, true
	s.TermStart, s.TermEnd = date(2026, 1, 31), date(2026, 2, 28)
	got, evs := Advance(s, date(2026, 6, 15), seq())
	want := []EventType{EventRenewed, EventRenewed, EventRenewed, EventRenewed, EventRenewalReminder}
	if !slices.Equal(types(evs), want) {
		t.Fatalf("events %v, want %v", types(evs), want)
	}
	ends := []time.Time{date(2026, 3, 28), date(2026, 4, 28), date(2026, 5, 28), date(2026, 6, 28)}
	for i, end := range ends {
		if evs[i].Renewed.TermEnd != end {
			t.Errorf("renewal %d ends %s, want %s", i, evs[i].Renewed.TermEnd, end)
		}
	}
	if evs[4].RenewalReminder.DaysBeforeExpiry != 30 || got.TermEnd != date(2026, 6, 28) ||
		!slices.Equal(got.RemindersSent, []int32{30}) {
		t.Errorf("reminder %+v, term end %s, sent %v", evs[4].RenewalReminder, got.TermEnd, got.RemindersSent)
	}
}

// A very long outage is caught up in bounded steps: each call makes progress and the engine's
// next calls finish the job.
func TestAdvance_BoundedCatchUp(t *testing.T) {
	s := sub()
	s.Term, s.Plan, s.AutoRenew, s.PartnerID = TermP1M, PlanMonthly, true, ""
	s.TermStart, s.TermEnd = date(1900, 1, 1), date(1900, 2, 1)
	now := date(2026, 1, 10)
	calls := 0
	for {
		var evs []Event
		s, evs = Advance(s, now, seq())
		calls++
		if len(evs) == 0 || calls > 10 {
			break
		}
		if len(evs) > maxAdvanceSteps {
			t.Fatalf("%d events in one call", len(evs))
		}
	}
	if calls != 3 || s.TermEnd != date(2026, 2, 1) {
		t.Errorf("calls %d, term end %s", calls, s.TermEnd)
	}
}

// Bad input never panics: an unknown term cannot autorenew and expires; a nil ID generator
// leaves event IDs empty.
func TestAdvance_BadInput(t *testing.T) {
	s := sub()
	s.Term, s.AutoRenew = "P2Y", true
	s.RemindersSent = ReminderDays()
	got, evs := Advance(s, date(2027, 1, 15), nil)
	if got.State != StateExpired || !slices.Equal(types(evs), []EventType{EventExpired}) || evs[0].ID != "" {
		t.Errorf("state %s, events %+v", got.State, evs)
	}
}
