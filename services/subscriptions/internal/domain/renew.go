package domain

import (
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// RenewalTiming says which SU-4 rule set a renewal's new term.
type RenewalTiming string

// The SU-4 timings.
const (
	// TimingBeforeEndDate: redeemed in the 30 days before the end date; the new term starts on
	// the redemption day and the days left are lost.
	TimingBeforeEndDate RenewalTiming = "BEFORE_END_DATE"
	// TimingInGrace: redeemed in the 30-day EXPIRED grace; the new term starts at the old end.
	TimingInGrace RenewalTiming = "IN_GRACE"
)

// Renewal is a planned renewal by product key (SU-4).
type Renewal struct {
	Timing        RenewalTiming
	Start, End    time.Time // the new term, 00:00 UTC
	DaysForfeited int32     // days of the old term lost (TimingBeforeEndDate), else 0
}

// PlanRenewal plans a renewal by product key at now for a new term of length term (SU-4, SU-2).
// Refusals, in this order: a state that does not allow ActionRenewByKey (DISABLED, DELETED,
// CANCELLED) → INVALID_STATE_TRANSITION; an unknown term → INVALID_ARGUMENT (field
// term_duration); now before TermEnd − 30 days → FAILED_PRECONDITION / RENEWAL_WINDOW_NOT_OPEN
// (metadata opens_at, RFC 3339). The timing follows the clock, not only the stored state, so a
// subscription the engine has not advanced yet is judged as it should be: before TermEnd the new
// term starts on Day(now); from TermEnd until TermEnd + 30 days it starts at TermEnd; from
// TermEnd + 30 days on the subscription is (or is about to be) DISABLED and is refused as such.
func PlanRenewal(s Subscription, now time.Time, term Term) (Renewal, error) {
	if _, err := Transition(s.State, ActionRenewByKey); err != nil {
		return Renewal{}, err
	}
	if !ValidTerm(term) {
		return Renewal{}, errs.Invalid("term_duration", "must be P1M, P1Y or P3Y, got %q", term)
	}
	if opens := addDays(s.TermEnd, -RenewalWindowDays); now.Before(opens) {
		return Renewal{}, errs.New(errs.FailedPrecondition, ReasonRenewalWindowNotOpen,
			"renewal opens %d days before the end date, at %s", RenewalWindowDays, rfc3339(opens)).
			With("opens_at", rfc3339(opens))
	}
	switch {
	case now.Before(s.TermEnd):
		start := Day(now)
		return Renewal{Timing: TimingBeforeEndDate, Start: start, End: AddTerm(start, term),
			DaysForfeited: int32(Days(start, s.TermEnd))}, nil
	case now.Before(addDays(s.TermEnd, DisableAfterDays)):
		return Renewal{Timing: TimingInGrace, Start: s.TermEnd, End: AddTerm(s.TermEnd, term)}, nil
	}
	_, err := Transition(StateDisabled, ActionRenewByKey)
	return Renewal{}, err
}

// ApplyRenewal applies a renewal planned by PlanRenewal: the subscription is ACTIVE with the new
// term and term length, qty seats (qty ≤ 0 keeps the current quantity) at unit per seat (an empty
// currency keeps the subscription's), and no reminders sent yet. The seats of the new term are one
// lot added now, so they are refundable for 7 days like any added seats (SU-7); it keeps the ID
// of the oldest lot (or the subscription ID when there is none) and has no OrderID: the caller
// may set Lots[0].OrderID to the redemption. Plan, AutoRenew and Channel are kept.
func ApplyRenewal(s Subscription, r Renewal, term Term, qty int32, unit Money, now time.Time) Subscription {
	now = Instant(now)
	if qty <= 0 {
		qty = s.Quantity
	}
	if unit.Currency == "" {
		unit.Currency = s.UnitPrice.Currency
	}
	lotID := s.ID
	if len(s.Lots) > 0 {
		lotID = s.Lots[0].ID
	}
	if s.State != StateActive {
		s.State, s.StateTime = StateActive, now
	}
	s.Term, s.TermStart, s.TermEnd = term, r.Start, r.End
	s.Quantity, s.UnitPrice = qty, unit
	s.Lots = []SeatLot{{ID: lotID, Quantity: qty, AddTime: now, UnitPrice: unit}}
	s.RemindersSent = nil
	s.UpdateTime = now
	return s
}

// Reactivation is a planned reactivation (SU-2, SU-7).
type Reactivation struct {
	From       State
	Start, End time.Time // the term after the reactivation, 00:00 UTC
	AmountDue  Money     // first charge of a new term; zero when the term is kept
}

// PlanReactivation plans moving s back to ACTIVE at now. A state that does not allow
// ActionReactivate (ACTIVE, DELETED, CANCELLED) → INVALID_STATE_TRANSITION; so is a subscription
// whose TermEnd + 120 days has passed on the clock (it is, or is about to be, DELETED). While the
// term lasts (SUSPENDED before TermEnd) the term is kept and nothing is due. Once it has ended
// (EXPIRED, DISABLED) a new term of the same length starts on Day(now) and the first charge of
// the plan is due (FirstCharge).
func PlanReactivation(s Subscription, now time.Time) (Reactivation, error) {
	if _, err := Transition(s.State, ActionReactivate); err != nil {
		return Reactivation{}, err
	}
	if !now.Before(addDays(s.TermEnd, DeleteAfterDays)) {
		_, err := Transition(StateDeleted, ActionReactivate)
		return Reactivation{}, err
	}
	if s.State == StateSuspended && now.Before(s.TermEnd) {
		return Reactivation{From: s.State, Start: s.TermStart, End: s.TermEnd,
			AmountDue: zeroMoney(s.UnitPrice.Currency)}, nil
	}
	start := Day(now)
	return Reactivation{From: s.State, Start: start, End: AddTerm(start, s.Term),
		AmountDue: FirstCharge(s.UnitPrice, s.Quantity, s.Term, s.Plan)}, nil
}

// ApplyReactivation applies a reactivation planned by PlanReactivation: ACTIVE since now, with the
// planned term; a new term starts with no reminders sent.
func ApplyReactivation(s Subscription, r Reactivation, now time.Time) Subscription {
	now = Instant(now)
	if !r.Start.Equal(s.TermStart) || !r.End.Equal(s.TermEnd) {
		s.RemindersSent = nil
	}
	s.State, s.StateTime = StateActive, now
	s.TermStart, s.TermEnd = r.Start, r.End
	s.UpdateTime = now
	return s
}
