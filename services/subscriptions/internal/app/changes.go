package app

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Change names the subscription a changing RPC is about.
type Change struct {
	RequestID      string
	SubscriptionID string
	Etag           string
}

func checkReason(reason string) error {
	if utf8.RuneCountInString(reason) > 500 {
		return errs.Invalid("reason", "at most 500 characters")
	}
	return nil
}

// PreviewQuantityChange shows what ChangeQuantity would do now (SU-6, SU-7), changing nothing.
func (a *App) PreviewQuantityChange(ctx context.Context, id string, qty int32) (domain.QuantityChange, error) {
	v, _, err := a.view(ctx, id)
	if err != nil {
		return domain.QuantityChange{}, err
	}
	if err := checkManaged(v); err != nil {
		return domain.QuantityChange{}, err
	}
	return domain.PlanQuantityChange(v.Sub, qty, v.Now)
}

// ChangeQuantity sets the seat count (SU-7): an increase adds a lot (co-terminated for Open,
// SU-6), a decrease removes seats added within the last 7 days, newest first. Emits
// QUANTITY_CHANGED.
func (a *App) ChangeQuantity(ctx context.Context, c Change, qty int32) (View, domain.QuantityChange, error) {
	var change domain.QuantityChange
	v, err := a.change(ctx, c.SubscriptionID, c.Etag, func(_ context.Context, _ Tx, s domain.Subscription, now time.Time) (domain.Subscription, []domain.Event, error) {
		var err error
		change, err = domain.PlanQuantityChange(s, qty, now)
		if err != nil {
			return s, nil, err
		}
		next := domain.ApplyQuantityChange(s, change, domain.SeatLot{ID: a.newID(), UnitPrice: s.UnitPrice}, now)
		e := a.event(next, domain.EventQuantityChanged, c.RequestID, now)
		e.QuantityChanged = &domain.QuantityChangedPayload{OldQuantity: change.OldQuantity, NewQuantity: change.NewQuantity,
			OldTermEnd: change.OldTermEnd, NewTermEnd: change.NewTermEnd, PriceDelta: change.PriceDelta}
		return next, []domain.Event{e}, nil
	})
	return v, change, err
}

// SetAutoRenew switches autorenew (SU-9); the current value is a no-op. It cannot go back on while
// the subscription is in an open transfer (inTransfer). Emits AUTO_RENEW_CHANGED.
func (a *App) SetAutoRenew(ctx context.Context, c Change, on bool) (View, error) {
	return a.change(ctx, c.SubscriptionID, c.Etag, func(_ context.Context, _ Tx, s domain.Subscription, now time.Time) (domain.Subscription, []domain.Event, error) {
		if _, err := domain.Transition(s.State, domain.ActionSetAutoRenew); err != nil {
			return s, nil, err
		}
		if s.AutoRenew == on {
			return s, nil, nil
		}
		if on {
			if err := inTransfer(s); err != nil {
				return s, nil, err
			}
		}
		s.AutoRenew = on
		e := a.event(s, domain.EventAutoRenewChanged, c.RequestID, now)
		e.AutoRenewChanged = &domain.AutoRenewChangedPayload{AutoRenew: on}
		return s, []domain.Event{e}, nil
	})
}

// Suspend moves an ACTIVE subscription to SUSPENDED (SU-7). Emits SUSPENDED.
func (a *App) Suspend(ctx context.Context, c Change, reason string) (View, error) {
	if err := checkReason(reason); err != nil {
		return View{}, err
	}
	return a.change(ctx, c.SubscriptionID, c.Etag, func(_ context.Context, _ Tx, s domain.Subscription, now time.Time) (domain.Subscription, []domain.Event, error) {
		st, err := domain.Transition(s.State, domain.ActionSuspend)
		if err != nil {
			return s, nil, err
		}
		s.State, s.StateTime = st, now
		e := a.event(s, domain.EventSuspended, c.RequestID, now)
		e.Suspended = &domain.SuspendedPayload{Reason: reason}
		return s, []domain.Event{e}, nil
	})
}

// Reactivate moves a SUSPENDED, EXPIRED or DISABLED subscription back to ACTIVE (SU-2, SU-7),
// keeping its data; from EXPIRED or DISABLED a new term starts today and counts against the tenant
// maximum again (SU-13); not while an open transfer waits for it to be repurchased (inTransfer).
// Emits REACTIVATED with the amount due.
func (a *App) Reactivate(ctx context.Context, c Change) (View, domain.Money, error) {
	var due domain.Money
	v, err := a.change(ctx, c.SubscriptionID, c.Etag, func(ctx context.Context, tx Tx, s domain.Subscription, now time.Time) (domain.Subscription, []domain.Event, error) {
		r, err := domain.PlanReactivation(s, now)
		if err != nil {
			return s, nil, err
		}
		if s.State != domain.StateSuspended {
			if err := inTransfer(s); err != nil {
				return s, nil, err
			}
			if err := a.checkLimit(ctx, tx, s.CustomerID, 1); err != nil {
				return s, nil, err
			}
		}
		due = r.AmountDue
		next := domain.ApplyReactivation(s, r, now)
		e := a.event(next, domain.EventReactivated, c.RequestID, now)
		e.Reactivated = &domain.ReactivatedPayload{FromState: r.From, TermStart: next.TermStart, TermEnd: next.TermEnd,
			AmountDue: r.AmountDue}
		return next, []domain.Event{e}, nil
	})
	return v, due, err
}

// checkLimit refuses adding n subscriptions to the customer's active ones beyond the tenant
// maximum (SU-13).
func (a *App) checkLimit(ctx context.Context, tx Tx, customerID string, n int) error {
	active, err := tx.CountActive(ctx, customerID)
	if err != nil {
		return err
	}
	return domain.CheckTenantLimit(a.limit, active, n)
}

// CancellationPreview is what a cancellation now would do (SU-10, CA-10).
type CancellationPreview struct {
	Cancellable bool
	Refusal     error // why not, when not cancellable
	Window      domain.Window
	Quantity    int32
}

// PreviewCancellation tells whether the caller could cancel now and with which refund.
func (a *App) PreviewCancellation(ctx context.Context, id string) (CancellationPreview, error) {
	v, _, err := a.view(ctx, id)
	if err != nil {
		return CancellationPreview{}, err
	}
	p := CancellationPreview{Window: domain.CancellationWindowOf(v.Sub, v.Now), Quantity: v.Sub.Quantity}
	if p.Refusal = checkManaged(v); p.Refusal == nil {
		p.Refusal = cancelRefusal(v.Sub, v.Now)
	}
	p.Cancellable = p.Refusal == nil
	return p, nil
}

// cancelRefusal is why s may not be cancelled at now (SU-10, CA-10, or an open transfer), or nil.
func cancelRefusal(s domain.Subscription, now time.Time) error {
	if err := domain.CheckCancel(s, now); err != nil {
		return err
	}
	return inTransfer(s)
}

// Cancel cancels a subscription within its window with a prorated refund (SU-10); Red Hat / SUSE
// plans never (CA-10), nor while it is in an open transfer (inTransfer). Emits CANCELLED with the
// refund.
func (a *App) Cancel(ctx context.Context, c Change, reason string) (View, domain.Money, error) {
	if err := checkReason(reason); err != nil {
		return View{}, domain.Money{}, err
	}
	var refund domain.Money
	v, err := a.change(ctx, c.SubscriptionID, c.Etag, func(_ context.Context, _ Tx, s domain.Subscription, now time.Time) (domain.Subscription, []domain.Event, error) {
		if err := cancelRefusal(s, now); err != nil {
			return s, nil, err
		}
		refund = domain.CancellationWindowOf(s, now).Refund
		s.State, s.StateTime = domain.StateCancelled, now
		e := a.event(s, domain.EventCancelled, c.RequestID, now)
		e.Cancelled = &domain.CancelledPayload{Refund: refund, Quantity: s.Quantity, Reason: reason}
		return s, []domain.Event{e}, nil
	})
	return v, refund, err
}
