package domain

import (
	"slices"
	"time"
)

// LifecycleStep is a step the lifecycle engine takes on its own clock (SU-2, SU-3, SU-9).
type LifecycleStep string

// The lifecycle steps; LifecycleNone (the zero value) in a final state.
const (
	LifecycleNone            LifecycleStep = ""
	LifecycleRenewalReminder LifecycleStep = "RENEWAL_REMINDER" // SU-3
	LifecycleRenew           LifecycleStep = "RENEW"            // autorenew at the term end, SU-9
	LifecycleExpire          LifecycleStep = "EXPIRE"           // term end without renewal, SU-2
	LifecycleDisable         LifecycleStep = "DISABLE"          // term end + 30 days, SU-2
	LifecycleDelete          LifecycleStep = "DELETE"           // term end + 120 days, SU-2
)

// The day counts of SU-2 and SU-4, all from the term end (a 00:00 UTC date).
const (
	// DisableAfterDays: EXPIRED gives 30 days of full use, then DISABLED (SU-2).
	DisableAfterDays = 30
	// DeleteAfterDays: 120 days after the end date the data is deleted (SU-2: 30 + 90).
	DeleteAfterDays = 120
	// RenewalWindowDays: renewal by key (SU-4) and the penalty-free Web-Direct → Open switch
	// (SU-15) open this many days before the end date.
	RenewalWindowDays = 30
)

// maxAdvanceSteps bounds one Advance call (an engine down for years over a P1M autorenewing
// subscription has ~5 steps a month). When it is reached, NextDue is still ≤ now and the next
// call continues where this one stopped.
const maxAdvanceSteps = 1000

// ReminderDays are the days before expiry at which the partner of record gets a renewal reminder,
// each exactly once per term (SU-3), in the order they fall due.
func ReminderDays() []int32 { return []int32{60, 30, 7, 1} }

// Reminder is one renewal reminder of the current term (SU-3).
type Reminder struct {
	DaysBefore int32
	Due        time.Time // TermEnd − DaysBefore days, 00:00 UTC
	Sent       bool      // sent, or handled without sending (see Advance); never due again
}

// Schedule is the dates of a subscription's coming lifecycle steps (SU-2, SU-3, SU-4). Every date
// is set even after it has passed so the whole path can be read; NextStep says what comes next.
type Schedule struct {
	NextStep          LifecycleStep // LifecycleNone in a final state
	NextStepTime      time.Time     // zero with LifecycleNone
	RenewTime         time.Time     // TermEnd when autorenew is on; zero when off
	ExpireTime        time.Time     // TermEnd
	DisableTime       time.Time     // TermEnd + 30 days
	DeleteTime        time.Time     // TermEnd + 120 days
	RenewalWindowOpen time.Time     // TermEnd − 30 days
	Reminders         []Reminder    // those of the current term: due at or after TermStart
}

// ScheduleOf computes the schedule of s from its term end and state.
func ScheduleOf(s Subscription) Schedule {
	sc := Schedule{
		ExpireTime:        s.TermEnd,
		DisableTime:       addDays(s.TermEnd, DisableAfterDays),
		DeleteTime:        addDays(s.TermEnd, DeleteAfterDays),
		RenewalWindowOpen: addDays(s.TermEnd, -RenewalWindowDays),
		Reminders:         termReminders(s),
	}
	if s.AutoRenew {
		sc.RenewTime = s.TermEnd
	}
	sc.NextStep, sc.NextStepTime, _ = nextStep(s)
	return sc
}

// NextDue is when the engine must next look at s: its earliest pending reminder or lifecycle
// step, possibly already past; false in a final state. Stores index it for ClaimDue.
func NextDue(s Subscription) (time.Time, bool) {
	step, at, _ := nextStep(s)
	return at, step != LifecycleNone
}

// termReminders lists the reminders of the current term. A reminder due before TermStart belongs
// to no term (a P1M term has no 60-day reminder) and is left out.
func termReminders(s Subscription) []Reminder {
	var rs []Reminder
	for _, d := range ReminderDays() {
		due := addDays(s.TermEnd, -int64(d))
		if due.Before(s.TermStart) {
			continue
		}
		rs = append(rs, Reminder{DaysBefore: d, Due: due, Sent: slices.Contains(s.RemindersSent, d)})
	}
	return rs
}

// nextStep is the next lifecycle step of s, when it is due, and for a reminder its days-before.
// Reminders go only to a partner of record and only while ACTIVE (SU-3); a suspended subscription
// expires at its end date whatever autorenew says (SU-7).
func nextStep(s Subscription) (LifecycleStep, time.Time, int32) {
	switch s.State {
	case StateActive:
		if s.PartnerID != "" {
			for _, r := range termReminders(s) { // in due order
				if !r.Sent {
					return LifecycleRenewalReminder, r.Due, r.DaysBefore
				}
			}
		}
		if s.AutoRenew {
			return LifecycleRenew, s.TermEnd, 0
		}
		return LifecycleExpire, s.TermEnd, 0
	case StateSuspended:
		return LifecycleExpire, s.TermEnd, 0
	case StateExpired:
		return LifecycleDisable, addDays(s.TermEnd, DisableAfterDays), 0
	case StateDisabled:
		return LifecycleDelete, addDays(s.TermEnd, DeleteAfterDays), 0
	}
	return LifecycleNone, time.Time{}, 0
}

// Advance applies, in time order, every lifecycle step due at or before now (SU-2, SU-3, SU-9):
//   - a renewal reminder (ACTIVE, partner of record set, each days-before value once per term):
//     a RENEWAL_REMINDER event if now is still before the term end; one reached only at or after
//     the term end is too late to be useful and is recorded as handled without an event;
//   - at the term end, ACTIVE with autorenew: a new term from the old end (RemindersSent
//     emptied) and a RENEWED event whose AmountDue is the plan's first charge;
//   - at the term end, ACTIVE without autorenew or SUSPENDED: EXPIRED;
//   - at term end + 30 days, EXPIRED: DISABLED; at term end + 120 days, DISABLED: DELETED.
//
// An engine that was down catches up: all overdue steps are applied, several autorenewals
// included (bounded by maxAdvanceSteps per call). Events get ID newID(), Time now and the state
// after the step. StateTime is set on state changes and UpdateTime when anything changed, both to
// now; Version is the store's business. Nothing due: s is returned unchanged with no events.
func Advance(s Subscription, now time.Time, newID func() string) (Subscription, []Event) {
	now = Instant(now)
	var evs []Event
	cloned := false
	for range maxAdvanceSteps {
		step, at, days := nextStep(s)
		if step == LifecycleNone || at.After(now) {
			break
		}
		if !cloned { // s shares RemindersSent's array with the caller: append to a copy
			s.RemindersSent, cloned = slices.Clone(s.RemindersSent), true
		}
		next, ev, ok := applyStep(s, step, days, now)
		if !ok {
			break // unreachable: nextStep proposes only steps the state machine allows
		}
		s = next
		s.UpdateTime = now
		if ev != nil {
			ev.PartnerID, ev.CustomerID, ev.SubscriptionID = s.PartnerID, s.CustomerID, s.ID
			ev.Time, ev.State = now, s.State
			if newID != nil {
				ev.ID = newID()
			}
			evs = append(evs, *ev)
		}
	}
	return s, evs
}

// applyStep applies one due lifecycle step to s at now. It returns the event to emit with its
// type and payload only (nil for a reminder handled without sending), and false if the state
// machine refuses the step.
func applyStep(s Subscription, step LifecycleStep, days int32, now time.Time) (Subscription, *Event, bool) {
	var (
		a  Action
		ev Event
	)
	switch step {
	case LifecycleRenewalReminder:
		s.RemindersSent = append(s.RemindersSent, days)
		if !now.Before(s.TermEnd) { // reached only at or after the end: too late to be of use
			return s, nil, true
		}
		return s, &Event{Type: EventRenewalReminder, RenewalReminder: &RenewalReminderPayload{
			DaysBeforeExpiry: days, TermEnd: s.TermEnd, AutoRenew: s.AutoRenew, Quantity: s.Quantity}}, true
	case LifecycleRenew:
		end := AddTerm(s.TermEnd, s.Term)
		if !end.After(s.TermEnd) { // an unknown term cannot renew: the subscription expires instead
			return applyStep(s, LifecycleExpire, 0, now)
		}
		s.TermStart, s.TermEnd, s.RemindersSent = s.TermEnd, end, nil
		return s, &Event{Type: EventRenewed, Renewed: &RenewedPayload{Kind: RenewalAuto,
			TermStart: s.TermStart, TermEnd: s.TermEnd, Quantity: s.Quantity, Plan: s.Plan,
			AmountDue: FirstCharge(s.UnitPrice, s.Quantity, s.Term, s.Plan), TermAmount: TermPrice(s.UnitPrice, s.Quantity)}}, true
	case LifecycleExpire:
		a, ev = ActionExpire, Event{Type: EventExpired,
			Expired: &ExpiredPayload{TermEnd: s.TermEnd, DisableTime: addDays(s.TermEnd, DisableAfterDays)}}
	case LifecycleDisable:
		a, ev = ActionDisable, Event{Type: EventDisabled,
			Disabled: &DisabledPayload{DeleteTime: addDays(s.TermEnd, DeleteAfterDays)}}
	case LifecycleDelete:
		a, ev = ActionDelete, Event{Type: EventDeleted, Deleted: &DeletedPayload{TermEnd: s.TermEnd}}
	default:
		return s, nil, false
	}
	to, err := Transition(s.State, a)
	if err != nil {
		return s, nil, false
	}
	s.State, s.StateTime = to, now
	return s, &ev, true
}
