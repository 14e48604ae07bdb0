package domain

import (
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// CancelRoute says which rule cancels a line.
type CancelRoute string

// The routes.
const (
	// RoutePerpetualCredit: perpetual software within its window from purchase (OR-3): the
	// orders domain decides; keys revokes, the ledger records a 100 % credit (BI-3).
	RoutePerpetualCredit CancelRoute = "PERPETUAL_CREDIT"
	// RouteViaSubscriptions: a subscription line (SU-10): the subscriptions service owns the
	// window and the prorated refund; orders forwards the cancellation and records the credit it
	// answers with.
	RouteViaSubscriptions CancelRoute = "VIA_SUBSCRIPTIONS"
)

// ApplyDelay is how long a cancellation may take to show everywhere (OR-4).
const ApplyDelay = 15 * time.Minute

// LineCancel is the plan for one line.
type LineCancel struct {
	LineID string
	Route  CancelRoute
	Credit Money // the perpetual credit (negative); zero for RouteViaSubscriptions until answered
	NoOp   bool  // already cancelling or cancelled: accepted again, nothing to do
}

// CancelPlan is what CancelOrder does.
type CancelPlan struct {
	Lines              []LineCancel
	ExpectedCompleteAt time.Time // now + ApplyDelay (OR-4)
}

// PerpetualWindowEnd is the end of a perpetual line's window: CreateTime + WindowDays × 24 h,
// measured to the second as a half-open interval [purchase, end). Purchased 2026-03-01T10:00:00Z
// with 30 days: 2026-03-31T09:59:59Z is inside, 2026-03-31T10:00:00Z is not.
func PerpetualWindowEnd(o Order, l OrderLine) time.Time {
	return o.CreateTime.Add(time.Duration(l.WindowDays) * 24 * time.Hour)
}

// CancellationWindowEnd is the end of the line's cancellation window for its first term (CA-10):
// from the purchase for perpetual software (OR-3), from the term start — the purchase day,
// 00:00 UTC — for a subscription (SU-10); false when the line is never cancellable. Later terms'
// windows are the subscriptions service's.
func (o Order) CancellationWindowEnd(l OrderLine) (time.Time, bool) {
	if l.Policy == PolicyNever || l.WindowDays <= 0 {
		return time.Time{}, false
	}
	if l.Policy == PolicyProratedRefundWindow {
		c := o.CreateTime.UTC()
		start := time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC)
		return start.Add(time.Duration(l.WindowDays) * 24 * time.Hour), true
	}
	return PerpetualWindowEnd(o, l), true
}

// CreditTotal is the sum of the plan's credits (negative), in currency.
func (p CancelPlan) CreditTotal(currency string) Money {
	t := Money{Currency: currency}
	for _, lc := range p.Lines {
		t.Minor += lc.Credit.Minor
	}
	return t
}

// PlanCancel decides a CancelOrder of lineIDs (empty: every line not already cancelled) at now
// (OR-3..OR-5). Every named line is checked first and the first refusal, in line order, refuses
// the whole call. Refusals: an unknown line ID → INVALID_ARGUMENT (line_ids[i]); an order not
// COMPLETED or PARTIALLY_CANCELLED → ORDER_NOT_CANCELLABLE (metadata state), except that a call
// naming only lines already cancelling or cancelled is a no-op in any state; a NEVER policy (or
// an unknown one) → NOT_CANCELLABLE (line_id); a perpetual line at or after its window end →
// CANCELLATION_WINDOW_CLOSED (window_end, line_id). A subscription line is not checked here:
// it is routed to the subscriptions service, which applies SU-10 and may still refuse.
func PlanCancel(o Order, lineIDs []string, now time.Time) (CancelPlan, error) {
	plan := CancelPlan{ExpectedCompleteAt: now.Add(ApplyDelay)}
	var v errs.Violations
	var named []OrderLine
	if len(lineIDs) == 0 {
		named = o.Lines
	}
	seen := map[string]bool{}
	for i, id := range lineIDs {
		l, idx := o.Line(id)
		switch {
		case idx < 0:
			v.Add(fmt.Sprintf("line_ids[%d]", i), "no line %q in order %s", id, o.ID)
		case !seen[id]:
			seen[id] = true
			named = append(named, l)
		}
	}
	if err := v.Err(); err != nil {
		return CancelPlan{}, err
	}
	allNoOp := true
	for _, l := range named {
		if l.State != LineCancelling && l.State != LineCancelled {
			allNoOp = false
		}
	}
	if allNoOp && len(named) > 0 {
		for _, l := range named {
			plan.Lines = append(plan.Lines, LineCancel{LineID: l.ID, Route: routeOf(l), NoOp: true})
		}
		return plan, nil
	}
	if o.State != OrderCompleted && o.State != OrderPartiallyCancelled {
		return CancelPlan{}, errs.New(errs.FailedPrecondition, ReasonOrderNotCancellable,
			"order %s is %s; only a COMPLETED or PARTIALLY_CANCELLED order can be cancelled", o.ID, o.State).
			With("state", o.State)
	}
	for _, l := range named {
		if l.State == LineCancelling || l.State == LineCancelled {
			plan.Lines = append(plan.Lines, LineCancel{LineID: l.ID, Route: routeOf(l), NoOp: true})
			continue
		}
		lc, err := planLine(o, l, now)
		if err != nil {
			return CancelPlan{}, err
		}
		plan.Lines = append(plan.Lines, lc)
	}
	return plan, nil
}

func routeOf(l OrderLine) CancelRoute {
	if l.Policy == PolicyFullCreditWindow {
		return RoutePerpetualCredit
	}
	return RouteViaSubscriptions
}

func planLine(o Order, l OrderLine, now time.Time) (LineCancel, error) {
	switch l.Policy {
	case PolicyFullCreditWindow: // OR-3
		end := PerpetualWindowEnd(o, l)
		if !now.Before(end) {
			w := end.UTC().Format(time.RFC3339)
			return LineCancel{}, errs.New(errs.FailedPrecondition, ReasonCancellationWindowClosed,
				"line %s could be cancelled until %s (%d days from purchase)", l.ID, w, l.WindowDays).
				With("window_end", w).With("line_id", l.ID)
		}
		t := l.TermAmount()
		return LineCancel{LineID: l.ID, Route: RoutePerpetualCredit,
			Credit: Money{Minor: -t.Minor, Currency: t.Currency}}, nil
	case PolicyProratedRefundWindow: // SU-10: the subscriptions service decides
		return LineCancel{LineID: l.ID, Route: RouteViaSubscriptions}, nil
	default: // NEVER (CA-10), or unknown: refusing is the safe side
		return LineCancel{}, errs.New(errs.FailedPrecondition, ReasonNotCancellable,
			"line %s (%s) can never be cancelled", l.ID, l.Kind).With("line_id", l.ID)
	}
}

// ApplyCancel applies a plan of PlanCancel made at the same now: the lines become CANCELLING
// with their progress (flags a line does not need are true at once: no subscription to cancel,
// no entitlement to revoke), and the order CANCELLING with CancellationPending (OR-4). A plan of
// no-ops returns o unchanged.
func ApplyCancel(o Order, p CancelPlan, reason string, now time.Time) Order {
	c := o.clone()
	changed := false
	for _, lc := range p.Lines {
		if lc.NoOp {
			continue
		}
		_, i := c.Line(lc.LineID)
		if i < 0 {
			continue
		}
		l := &c.Lines[i]
		l.State = LineCancelling
		l.Cancellation = &LineCancellation{Route: lc.Route, RequestTime: now, Credit: lc.Credit,
			Reason:                reason,
			SubscriptionCancelled: l.SubscriptionID == "",
			EntitlementsRevoked:   l.EntitlementID == "",
		}
		changed = true
	}
	if !changed {
		return o
	}
	c.State, c.CancellationPending = OrderCancelling, true
	c.Version++
	c.UpdateTime = now
	return c
}

// Service is a service that applies part of a cancellation (OR-4).
type Service string

// The services that apply a cancellation.
const (
	ServiceSubscriptions Service = "subscriptions"
	ServiceKeys          Service = "keys"
	ServiceLedger        Service = "ledger"
)

// CancellationApplied records that svc has applied the cancellation of a line at now; credit
// is the refund the subscriptions service answered with (RouteViaSubscriptions; ignored
// otherwise). When every service has applied it the line is CANCELLED; when no line is
// CANCELLING any more the order is CANCELLED (every line cancelled) or PARTIALLY_CANCELLED and
// CancellationPending is false (OR-4). Repeating a report is a no-op.
func CancellationApplied(o Order, lineID string, svc Service, credit Money, now time.Time) (Order, error) {
	_, i := o.Line(lineID)
	if i < 0 || o.Lines[i].Cancellation == nil ||
		(o.Lines[i].State != LineCancelling && o.Lines[i].State != LineCancelled) {
		return o, errs.New(errs.FailedPrecondition, ReasonInvalidStateTransition,
			"line %s of order %s has no cancellation in progress", lineID, o.ID).
			With("line_id", lineID).With("step", "cancel_"+string(svc))
	}
	if o.Lines[i].State == LineCancelled {
		return o, nil
	}
	c := o.clone()
	l := &c.Lines[i]
	switch svc {
	case ServiceSubscriptions:
		if l.Cancellation.SubscriptionCancelled {
			return o, nil
		}
		l.Cancellation.SubscriptionCancelled = true
		if l.Cancellation.Route == RouteViaSubscriptions {
			l.Cancellation.Credit = credit
		}
	case ServiceKeys:
		if l.Cancellation.EntitlementsRevoked {
			return o, nil
		}
		l.Cancellation.EntitlementsRevoked = true
	case ServiceLedger:
		if l.Cancellation.CreditRecorded {
			return o, nil
		}
		l.Cancellation.CreditRecorded = true
	default:
		return o, errs.New(errs.FailedPrecondition, ReasonInvalidStateTransition,
			"unknown service %q", svc).With("line_id", lineID)
	}
	if l.Cancellation.Applied() {
		l.State, l.Cancellation.CompleteTime = LineCancelled, now
	}
	c.settleCancellation()
	c.Version++
	c.UpdateTime = now
	return c, nil
}

// settleCancellation ends a cancellation once no line is CANCELLING any more (OR-4): the order is
// CANCELLED when every line is, PARTIALLY_CANCELLED when some are, and COMPLETED again when none
// is (every cancellation was refused).
func (o *Order) settleCancellation() {
	cancelled := 0
	for _, x := range o.Lines {
		switch x.State {
		case LineCancelling:
			return
		case LineCancelled:
			cancelled++
		}
	}
	o.CancellationPending = false
	switch {
	case cancelled == len(o.Lines):
		o.State = OrderCancelled
	case cancelled > 0:
		o.State = OrderPartiallyCancelled
	default:
		o.State = OrderCompleted
	}
}
