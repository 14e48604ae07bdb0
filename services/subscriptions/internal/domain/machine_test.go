package domain

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// The allowed transitions of SU-1, SU-2, SU-4, SU-7, SU-9; every other pair is refused.
func allowedTransitions() map[Action]map[State]State {
	const (
		A, S, E, D = StateActive, StateSuspended, StateExpired, StateDisabled
		X, C       = StateDeleted, StateCancelled
	)
	return map[Action]map[State]State{
		ActionSuspend:        {A: S},
		ActionReactivate:     {S: A, E: A, D: A},
		ActionCancel:         {A: C, S: C},
		ActionExpire:         {A: E, S: E},
		ActionDisable:        {E: D},
		ActionDelete:         {D: X},
		ActionAutoRenew:      {A: A},
		ActionRenewByKey:     {A: A, S: A, E: A},
		ActionChangeQuantity: {A: A},
		ActionSetAutoRenew:   {A: A, S: S},
		ActionConvertChannel: {A: A},
		ActionTransfer:       {A: A, E: E},
		ActionCompensate:     {A: C, S: C, E: C, D: C},
	}
}

// wantTransition checks one answer of Transition against the table: a state of States() for an
// allowed pair, FAILED_PRECONDITION / INVALID_STATE_TRANSITION with state and action otherwise.
func wantTransition(t *testing.T, from State, a Action) {
	t.Helper()
	to, err := Transition(from, a)
	want, ok := allowedTransitions()[a][from]
	if ok {
		if err != nil || to != want {
			t.Errorf("Transition(%s, %s) = %q, %v; want %s", from, a, to, err, want)
		}
		return
	}
	if to != "" {
		t.Errorf("Transition(%s, %s) = %q with error %v; want no state", from, a, to, err)
	}
	e, isErr := errs.As(err)
	if !isErr || e.Kind != errs.FailedPrecondition || e.Reason != ReasonInvalidStateTransition ||
		e.Metadata["state"] != string(from) || e.Metadata["action"] != string(a) {
		t.Errorf("Transition(%s, %s) error = %v; want FAILED_PRECONDITION INVALID_STATE_TRANSITION state=%s action=%s",
			from, a, err, from, a)
	}
}

// SU-1, SU-2, SU-7: Transition is total over States() × Actions() (and unknown values) and
// matches the table; DELETED and CANCELLED refuse everything; only DISABLED leads to DELETED.
func TestTransition_SU1_SU2_SU7_TotalAndExact(t *testing.T) {
	states := append(States(), "", "ARCHIVED")
	actions := append(Actions(), "", "EXPLODE")
	for _, from := range states {
		for _, a := range actions {
			wantTransition(t, from, a)
		}
	}
	for _, from := range States() {
		for _, a := range Actions() {
			to, err := Transition(from, a)
			if err == nil && !slices.Contains(States(), to) {
				t.Errorf("Transition(%s, %s) = %q, not a state", from, a, to)
			}
			if from.Final() && err == nil {
				t.Errorf("final state %s allowed %s", from, a)
			}
			if to == StateDeleted && (from != StateDisabled || a != ActionDelete) {
				t.Errorf("DELETED reached from %s by %s", from, a)
			}
		}
	}
	if len(Actions()) != 13 || len(allowedTransitions()) != len(Actions()) {
		t.Errorf("Actions() = %v; the table must cover every action", Actions())
	}
}

// machine drives a subscription through random partner actions and clock jumps, the way the app
// layer and the lifecycle engine use the package, and checks the invariants of SU-1/SU-2.
type machine struct {
	t        *testing.T
	r        *rand.Rand
	s        Subscription
	now      time.Time
	newID    func() string
	term     int            // incremented whenever a new term starts (reminders are per term)
	reminded map[string]int // "term/days" → reminder events sent
	trace    []string
}

func (m *machine) fail(format string, args ...any) {
	m.t.Helper()
	m.t.Fatalf("%s\ntrace:\n  %s", fmt.Sprintf(format, args...), joinTrace(m.trace))
}

func joinTrace(tr []string) string {
	if len(tr) > 12 {
		tr = tr[len(tr)-12:]
	}
	out := ""
	for i, l := range tr {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}

// randomSub is an ACTIVE subscription with a random term, plan, channel and autorenew setting.
func randomSub(r *rand.Rand) Subscription {
	s := sub()
	s.Term = []Term{TermP1M, TermP1Y, TermP3Y}[r.IntN(3)]
	plans := map[Term][]BillingPlan{TermP1M: {PlanMonthly}, TermP1Y: {PlanMonthly, PlanAnnual},
		TermP3Y: {PlanAnnual, PlanTriennial}}[s.Term]
	s.Plan = plans[r.IntN(len(plans))]
	s.TermStart = date(2026, 1, 1).AddDate(0, 0, r.IntN(800))
	s.TermEnd = AddTerm(s.TermStart, s.Term)
	s.Channel = []Channel{ChannelCSP, ChannelOpen, ChannelWebDirect}[r.IntN(3)]
	if r.IntN(4) == 0 {
		s.PartnerID = ""
	}
	s.AutoRenew = r.IntN(2) == 0
	if r.IntN(5) == 0 {
		s.Policy, s.WindowDays = PolicyNever, 0
	}
	s.PurchaseTime = s.TermStart.Add(time.Duration(r.IntN(86400)) * time.Second)
	s.Quantity = int32(1 + r.IntN(20))
	s.Lots = []SeatLot{{ID: "lot-1", Quantity: s.Quantity, AddTime: s.PurchaseTime, UnitPrice: s.UnitPrice}}
	return s
}

// jump is a clock advance around the distances the rules care about.
func jump(r *rand.Rand) time.Duration {
	base := []time.Duration{time.Second, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 29 * 24 * time.Hour,
		30 * 24 * time.Hour, 31 * 24 * time.Hour, 90 * 24 * time.Hour, 400 * 24 * time.Hour}[r.IntN(9)]
	return base + time.Duration(r.Int64N(int64(base)))
}

// advance moves the clock and runs the engine, checking SU-2/SU-3.
func (m *machine) advance() {
	m.now = m.now.Add(jump(m.r))
	prev := m.s
	s, evs := Advance(prev, m.now, m.newID)
	m.trace = append(m.trace, fmt.Sprintf("advance to %s: %s %v → %s", m.now.Format(time.DateTime), prev.State, types(evs), s.State))
	if prev.State.Final() && (len(evs) > 0 || s.State != prev.State) {
		m.fail("a final state changed: %s → %s %v", prev.State, s.State, types(evs))
	}
	if s.Version != prev.Version {
		m.fail("Advance changed Version")
	}
	state := prev.State
	for _, e := range evs {
		if e.SubscriptionID != s.ID || e.CustomerID != s.CustomerID || !e.Time.Equal(Instant(m.now)) || e.ID == "" {
			m.fail("event header %+v", e)
		}
		switch e.Type {
		case EventRenewalReminder:
			if state != StateActive || s.PartnerID == "" || e.RenewalReminder == nil ||
				!e.Time.Before(e.RenewalReminder.TermEnd) {
				m.fail("reminder %+v in state %s / partner %q", e.RenewalReminder, state, s.PartnerID)
			}
			key := fmt.Sprintf("%d/%d", m.term, e.RenewalReminder.DaysBeforeExpiry)
			m.reminded[key]++
			if m.reminded[key] > 1 {
				m.fail("reminder %s sent twice", key)
			}
		case EventRenewed:
			if state != StateActive || e.Renewed.Kind != RenewalAuto {
				m.fail("autorenewal from %s", state)
			}
			m.term++
		case EventExpired, EventDisabled, EventDeleted:
			if e.Type == EventDeleted && (state != StateDisabled || m.now.Before(addDays(s.TermEnd, DeleteAfterDays))) {
				m.fail("DELETED from %s at %s (term end %s)", state, m.now, s.TermEnd)
			}
		default:
			m.fail("unexpected engine event %s", e.Type)
		}
		if e.State != "" {
			state = e.State
		}
	}
	if state != s.State {
		m.fail("events end in %s, subscription in %s", state, s.State)
	}
	if due, ok := NextDue(s); ok && !due.After(m.now) {
		m.fail("still due at %s after Advance to %s", due, m.now)
	}
	if again, evs := Advance(s, m.now, m.newID); len(evs) > 0 || again.UpdateTime != s.UpdateTime {
		m.fail("Advance is not idempotent: %v", types(evs))
	}
	m.s = s
}

// userActions are the actions partners and sagas take; the others are the engine's (Advance).
func userActions() []Action {
	return []Action{ActionSuspend, ActionReactivate, ActionCancel, ActionRenewByKey, ActionChangeQuantity,
		ActionSetAutoRenew, ActionConvertChannel, ActionTransfer, ActionCompensate}
}

// act tries one partner or saga action through the package's Plan/Apply functions, and asks
// Transition about one random pair (totality).
func (m *machine) act() {
	wantTransition(m.t, States()[m.r.IntN(len(States()))], Actions()[m.r.IntN(len(Actions()))])
	a := userActions()[m.r.IntN(len(userActions()))]
	prev := m.s
	s, err := m.apply(a)
	m.trace = append(m.trace, fmt.Sprintf("%s at %s: %s → %s (%v)", a, m.now.Format(time.DateTime), prev.State, s.State, err))
	if err != nil {
		if _, ok := errs.As(err); !ok {
			m.fail("%s: error %v is not an *errs.Error", a, err)
		}
		return
	}
	if prev.State.Final() {
		m.fail("%s left final state %s", a, prev.State)
	}
	if s.State == StateDeleted {
		m.fail("%s reached DELETED", a)
	}
	m.s = s
}

func (m *machine) apply(a Action) (Subscription, error) {
	s, now := m.s, m.now
	switch a {
	case ActionSuspend, ActionSetAutoRenew, ActionTransfer, ActionCompensate:
		to, err := Transition(s.State, a)
		if err != nil {
			return s, err
		}
		s.State = to
		switch a {
		case ActionSetAutoRenew:
			s.AutoRenew = !s.AutoRenew
		case ActionTransfer:
			s.PartnerID = "partner-2"
		}
		return s, nil
	case ActionReactivate:
		r, err := PlanReactivation(s, now)
		if err != nil {
			return s, err
		}
		if r.Start != s.TermStart {
			m.term++
		}
		return ApplyReactivation(s, r, now), nil
	case ActionCancel:
		if err := CheckCancel(s, now); err != nil {
			return s, err
		}
		s.State = StateCancelled
		return s, nil
	case ActionRenewByKey:
		term := []Term{TermP1M, TermP1Y, TermP3Y}[m.r.IntN(3)]
		r, err := PlanRenewal(s, now, term)
		if err != nil {
			return s, err
		}
		m.term++
		return ApplyRenewal(s, r, term, 0, s.UnitPrice, now), nil
	case ActionChangeQuantity:
		c, err := PlanQuantityChange(s, int32(m.r.IntN(30)), now)
		if err != nil {
			return s, err
		}
		return ApplyQuantityChange(s, c, SeatLot{ID: "lot-x"}, now), nil
	case ActionConvertChannel:
		c, err := PlanConversion(s, now, ChannelOpen)
		if err != nil {
			return s, err
		}
		m.term++
		s.Channel, s.TermStart, s.TermEnd, s.RemindersSent = ChannelOpen, c.NewStart, c.NewEnd, nil
		return s, nil
	}
	return s, fmt.Errorf("no such user action %s", a)
}

// SU-1, SU-2, SU-3, SU-7: random sequences of actions and clock jumps never leave States(),
// never leave a final state, reach DELETED only from DISABLED at TermEnd + 120 days or later,
// send each reminder at most once per term, and keep Quantity the sum of the lots.
func TestStateMachine_Property_SU1_SU2_SU7(t *testing.T) {
	for seed := range uint64(3000) {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		s := randomSub(r)
		m := &machine{t: t, r: r, s: s, now: s.PurchaseTime, newID: seq(), reminded: map[string]int{}}
		for range 40 {
			if r.IntN(2) == 0 {
				m.advance()
			} else {
				m.act()
			}
			if !slices.Contains(States(), m.s.State) {
				m.fail("seed %d: state %q outside States()", seed, m.s.State)
			}
			var sum int32
			for _, l := range m.s.Lots {
				if l.Quantity < 1 {
					m.fail("seed %d: empty lot %+v", seed, l)
				}
				sum += l.Quantity
			}
			if sum != m.s.Quantity || m.s.Quantity < 1 {
				m.fail("seed %d: quantity %d, lots sum %d", seed, m.s.Quantity, sum)
			}
			if !m.s.TermEnd.After(m.s.TermStart) {
				m.fail("seed %d: empty term %s → %s", seed, m.s.TermStart, m.s.TermEnd)
			}
			if m.s.TermStart != Day(m.s.TermStart) || m.s.TermEnd != Day(m.s.TermEnd) {
				m.fail("seed %d: term dates not 00:00 UTC", seed)
			}
		}
	}
}
