package domain

import (
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Window is the cancellation window of the current term (SU-10, CA-10).
type Window struct {
	Policy     CancellationPolicy
	WindowDays int32
	End        time.Time // TermStart + WindowDays × 24 h; zero for NEVER
	Passed     bool      // now ≥ End, or the policy is NEVER
	Refund     Money     // a cancellation now: negative, or zero when passed
}

// cancellable reports whether a policy allows cancelling at all. Anything but the prorated
// window (NEVER, or an unknown policy) is never cancellable: refusing is the safe side.
func cancellable(p CancellationPolicy) bool { return p == PolicyProratedRefundWindow }

// CancellationWindowOf tells until when the current term may be cancelled and with which refund
// (SU-10). The window ends at the exact instant TermStart + WindowDays × 24 h and has passed from
// that instant on. The refund is −(unit price × quantity × remaining days / term days), rounded
// half away from zero, with remaining days = Day(now) → TermEnd clamped to 0..term days, and term
// days = TermStart → TermEnd. The day of the cancellation itself is refunded: a cancellation on
// the term's first day refunds the whole term price.
func CancellationWindowOf(s Subscription, now time.Time) Window {
	w := Window{Policy: s.Policy, WindowDays: s.WindowDays, Passed: true, Refund: zeroMoney(s.UnitPrice.Currency)}
	if !cancellable(s.Policy) {
		return w
	}
	w.End = addDays(s.TermStart, int64(s.WindowDays))
	if s.MovedInTime.After(s.TermStart) && s.MovedInTime.Before(w.End) {
		// The term was paid by the partner the subscription moved from: the new partner's window
		// closed when it moved in (SU-12), before it paid anything it could be refunded.
		w.End = s.MovedInTime
	}
	w.Passed = !now.Before(w.End)
	if w.Passed {
		return w
	}
	termDays := Days(s.TermStart, s.TermEnd)
	remaining := min(max(Days(Day(now), s.TermEnd), 0), termDays)
	w.Refund = negate(Prorate(TermPrice(s.UnitPrice, s.Quantity), remaining, termDays))
	return w
}

// CheckCancel tells whether s may be cancelled at now (SU-10, CA-10). Refusals, in this order: a
// product that is never cancellable → FAILED_PRECONDITION / NOT_CANCELLABLE; a state that does
// not allow ActionCancel (ACTIVE and SUSPENDED do) → INVALID_STATE_TRANSITION; the window has
// passed → FAILED_PRECONDITION / CANCELLATION_WINDOW_CLOSED (metadata window_end, RFC 3339).
func CheckCancel(s Subscription, now time.Time) error {
	if !cancellable(s.Policy) {
		return errs.New(errs.FailedPrecondition, ReasonNotCancellable,
			"the product is never cancellable (policy %s)", s.Policy).With("policy", s.Policy)
	}
	if _, err := Transition(s.State, ActionCancel); err != nil {
		return err
	}
	if w := CancellationWindowOf(s, now); w.Passed {
		return errs.New(errs.FailedPrecondition, ReasonCancellationWindowClosed,
			"the cancellation window ended at %s; the full term is billed", rfc3339(w.End)).
			With("window_end", rfc3339(w.End))
	}
	return nil
}
