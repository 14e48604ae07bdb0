package app

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// Decision names the pending transfer an AcceptTransfer or CancelTransfer call is about.
type Decision struct {
	RequestID  string
	TransferID string
	Etag       string
}

// sides says which sides of t principal v is on: the target partner, and the source — the source
// partner, or for directly bought subscriptions the customer itself.
func sides(v auth.Principal, t domain.Transfer) (target, source bool) {
	switch v.OrgKind {
	case auth.OrgPartner:
		return t.TargetPartnerID == v.OrgID, t.SourcePartnerID != "" && t.SourcePartnerID == v.OrgID
	case auth.OrgCustomer:
		return false, t.SourcePartnerID == "" && t.CustomerID == v.OrgID
	}
	return false, false
}

// AcceptTransfer accepts (or with reject, refuses) a pending transfer on its source side (SU-12,
// SU-13). A rejection ends it REJECTED. A direct move then happens at once: the tenant maximum is
// checked again with source and target side by side, each item gets a new subscription of the
// target partner and its source is CANCELLED without refund, and the transfer is COMPLETED.
// Expire-and-repurchase turns autorenew off on the sources (SU-9) and waits for their end date
// (ACCEPTED).
func (a *App) AcceptTransfer(ctx context.Context, d Decision, reject bool) (domain.Transfer, error) {
	return a.decide(ctx, d, true, func(ctx context.Context, tx Tx, v auth.Principal, t domain.Transfer, now time.Time) (domain.Transfer, []domain.Event, error) {
		switch {
		case reject:
			return a.close(ctx, tx, t, domain.TransferRejected, v, now)
		case t.Method == domain.MethodDirectMove:
			return a.moveNow(ctx, tx, t, v, d.RequestID, now)
		}
		return a.awaitExpiry(ctx, tx, t, v, d.RequestID, now)
	})
}

// CancelTransfer withdraws a pending transfer; either side may (CANCELLED).
func (a *App) CancelTransfer(ctx context.Context, d Decision) (domain.Transfer, error) {
	return a.decide(ctx, d, false, func(ctx context.Context, tx Tx, v auth.Principal, t domain.Transfer, now time.Time) (domain.Transfer, []domain.Event, error) {
		return a.close(ctx, tx, t, domain.TransferCancelled, v, now)
	})
}

// decide runs one decision on a pending transfer in one transaction, with the transfer locked:
// the caller must see it (else NOT_FOUND, ID-8) and, when sourceOnly, be its source side (else
// TENANT_MISMATCH); its etag and PENDING state are checked, fn changes it and the subscriptions,
// and the transfer (Version + 1) and fn's events are stored.
func (a *App) decide(ctx context.Context, d Decision, sourceOnly bool,
	fn func(ctx context.Context, tx Tx, v auth.Principal, t domain.Transfer, now time.Time) (domain.Transfer, []domain.Event, error),
) (domain.Transfer, error) {
	if err := checkID("transfer_id", d.TransferID); err != nil {
		return domain.Transfer{}, err
	}
	v, err := viewer(ctx)
	if err != nil {
		return domain.Transfer{}, err
	}
	// The sides of a transfer never change: the one read, locked, serves the access checks too.
	var out domain.Transfer
	err = a.commit(ctx, func(ctx context.Context, tx Tx) ([]domain.Event, error) {
		t, err := tx.Transfer(ctx, d.TransferID)
		if err != nil {
			return nil, err
		}
		if err := canSee(v, t); err != nil {
			return nil, err
		}
		if _, source := sides(v, t); sourceOnly && !source {
			return nil, errs.New(errs.PermissionDenied, errs.ReasonTenantMismatch,
				"only the source side of transfer %s accepts or rejects it", t.ID).With("transfer_id", t.ID)
		}
		if d.Etag != "" && d.Etag != domain.TransferEtag(t) {
			return nil, errs.New(errs.Aborted, errs.ReasonEtagMismatch,
				"transfer %s changed since the etag was read; read it again", t.ID).With("transfer_id", t.ID)
		}
		if err := domain.CheckPending(t); err != nil {
			return nil, err
		}
		now := a.now()
		next, evs, err := fn(ctx, tx, v, t, now)
		if err != nil {
			return nil, err
		}
		next.Version, next.UpdateTime = t.Version+1, now
		if err := tx.UpdateTransfer(ctx, next); err != nil {
			return nil, err
		}
		out = next
		return evs, nil
	})
	if err != nil {
		return domain.Transfer{}, err
	}
	return out, nil
}

// close ends a pending transfer as CANCELLED or REJECTED: nothing moves and the sources leave it.
// Changes no subscription state, so no event.
func (a *App) close(ctx context.Context, tx Tx, t domain.Transfer, to domain.TransferState, v auth.Principal,
	now time.Time) (domain.Transfer, []domain.Event, error) {
	for _, it := range t.Items {
		s, err := tx.Subscription(ctx, it.SubscriptionID)
		if err != nil {
			return t, nil, err
		}
		if s.PendingTransferID != t.ID {
			continue
		}
		s.PendingTransferID = ""
		if err := update(ctx, tx, s, now); err != nil {
			return t, nil, err
		}
	}
	return domain.Close(t, to, v.Subject, now), nil, nil
}

// sources locks the transfer's source subscriptions, in item order, and checks each can still
// move by the transfer's method (its source partner or state may have changed since creation).
func sources(ctx context.Context, tx Tx, t domain.Transfer) ([]domain.Subscription, error) {
	subs := make([]domain.Subscription, len(t.Items))
	for i, it := range t.Items {
		s, err := tx.Subscription(ctx, it.SubscriptionID)
		if err != nil {
			return nil, err
		}
		if s.PartnerID != t.SourcePartnerID || s.PendingTransferID != t.ID {
			return nil, errs.New(errs.FailedPrecondition, domain.ReasonInvalidStateTransition,
				"subscription %s is no longer the source's subscription in this transfer; cancel it", s.ID).
				With("state", s.State).With("action", domain.ActionTransfer).With("subscription_id", s.ID)
		}
		if err := domain.CheckMovable(s, t.Method); err != nil {
			return nil, err
		}
		subs[i] = s
	}
	return subs, nil
}

// moveNow accepts a direct move (SU-12..SU-14): with the tenant maximum checked again (SU-13),
// each source's copy is created for the target partner — same customer, term dates, seat lots,
// quantity and autorenew, the target SKU, channel CSP — and the source is CANCELLED with a zero
// refund (SU-12: moved, not refunded). Events: CREATED for the copy, CANCELLED and TRANSFERRED for
// the source. The transfer is COMPLETED.
func (a *App) moveNow(ctx context.Context, tx Tx, t domain.Transfer, v auth.Principal, requestID string,
	now time.Time) (domain.Transfer, []domain.Event, error) {
	subs, err := sources(ctx, tx, t)
	if err != nil {
		return t, nil, err
	}
	active, err := tx.CountActive(ctx, t.CustomerID)
	if err != nil {
		return t, nil, err
	}
	if _, t.Limit, err = domain.ChooseMethod(domain.MethodDirectMove, a.limit, active, len(subs), true); err != nil {
		return t, nil, err
	}
	var evs []domain.Event
	for i, s := range subs {
		it := t.Items[i]
		moved := a.targetCopy(s, it, t.TargetPartnerID, now)
		if err := tx.InsertSubscription(ctx, moved); err != nil {
			return t, nil, err
		}
		created := a.event(moved, domain.EventCreated, requestID, now)
		created.Created = &domain.CreatedPayload{SkuID: moved.SkuID, Channel: moved.Channel, Quantity: moved.Quantity,
			Plan: moved.Plan, Term: moved.Term, TermStart: moved.TermStart, TermEnd: moved.TermEnd,
			UnitPrice: moved.UnitPrice, AutoRenew: moved.AutoRenew}

		s.State, s.StateTime, s.PendingTransferID = domain.StateCancelled, now, ""
		if err := update(ctx, tx, s, now); err != nil {
			return t, nil, err
		}
		cancelled := a.event(s, domain.EventCancelled, requestID, now)
		cancelled.Cancelled = &domain.CancelledPayload{Refund: domain.Money{Currency: s.UnitPrice.Currency},
			Quantity: s.Quantity, Reason: fmt.Sprintf("SU-12: moved to partner %s by transfer %s", t.TargetPartnerID, t.ID)}
		evs = append(evs, created, cancelled, a.transferred(s, t, moved.ID, requestID, now))

		it.State, it.TargetSubscriptionID, it.Quantity, it.SourceTermEnd = domain.ItemMoved, moved.ID, s.Quantity, s.TermEnd
		t = t.WithItem(it)
	}
	t.State, t.DecidedBy = domain.TransferAccepted, v.Subject
	return domain.Settle(t, now), evs, nil
}

// targetCopy is the target partner's subscription that replaces source s in a direct move: the
// same term, seats (new lot IDs, same add times and prices), plan, autorenew and purchase time,
// ACTIVE from now, on the item's target offer. It is bought through the partner (channel CSP)
// and by no order: the transfer ID is in the source's TRANSFERRED event. The licensed users keep
// their licenses (SU-14: same or equivalent offer, no reassignment) unless the item needs license
// reassignment.
func (a *App) targetCopy(s domain.Subscription, it domain.TransferItem, partnerID string, now time.Time) domain.Subscription {
	c := s
	c.ID, c.PartnerID, c.SkuID, c.Channel, c.OrderID = a.newID(), partnerID, it.TargetSkuID, domain.ChannelCSP, ""
	if it.TargetSkuID != s.SkuID && it.TargetProductID != "" {
		c.ProductID, c.DisplayName = it.TargetProductID, it.TargetDisplayName
	}
	if it.TargetMaxQuantity > 0 {
		c.MaxQuantity = it.TargetMaxQuantity
	}
	c.MaxQuantity = max(c.MaxQuantity, c.Quantity) // same license count (SU-14): never fewer seats
	if it.LicenseReassignmentRequired {            // SU-14: another offer's licenses are assigned anew
		c.LicensedUserIDs = nil
	}
	c.Lots = make([]domain.SeatLot, len(s.Lots))
	for i, l := range s.Lots {
		l.ID = a.newID()
		c.Lots[i] = l
	}
	c.State, c.StateTime, c.PendingTransferID = domain.StateActive, now, ""
	c.MovedInTime = now // the source partner paid this term and these seats: no refund of them to the target
	c.Version, c.CreateTime, c.UpdateTime = 1, now, now
	return c
}

// transferred is the TRANSFERRED event of source s, whose partner is the new one (the contract's
// "partner of record at the time of the event (for TRANSFERRED: the new partner)").
func (a *App) transferred(s domain.Subscription, t domain.Transfer, targetID, requestID string, now time.Time) domain.Event {
	e := a.event(s, domain.EventTransferred, requestID, now)
	e.PartnerID = t.TargetPartnerID
	e.Transferred = &domain.TransferredPayload{TransferID: t.ID, FromPartnerID: t.SourcePartnerID,
		ToPartnerID: t.TargetPartnerID, TargetSubscriptionID: targetID}
	return e
}

// awaitExpiry accepts an expire-and-repurchase transfer (SU-9, SU-12, SU-13): autorenew goes off
// on every source (AUTO_RENEW_CHANGED where it was on), so each expires at its end date; an
// ACTIVE source's item then awaits expiry, an already EXPIRED one awaits repurchase. The
// deadline follows the sources' current end dates.
func (a *App) awaitExpiry(ctx context.Context, tx Tx, t domain.Transfer, v auth.Principal, requestID string,
	now time.Time) (domain.Transfer, []domain.Event, error) {
	subs, err := sources(ctx, tx, t)
	if err != nil {
		return t, nil, err
	}
	var evs []domain.Event
	for i, s := range subs {
		it := t.Items[i]
		it.State, it.Quantity, it.SourceTermEnd = domain.ItemAwaitingExpiry, s.Quantity, s.TermEnd
		if s.State == domain.StateExpired {
			it.State = domain.ItemAwaitingRepurchase
		}
		t = t.WithItem(it)
		if !s.AutoRenew {
			continue
		}
		s.AutoRenew = false
		if err := update(ctx, tx, s, now); err != nil {
			return t, nil, err
		}
		e := a.event(s, domain.EventAutoRenewChanged, requestID, now)
		e.AutoRenewChanged = &domain.AutoRenewChangedPayload{AutoRenew: false}
		evs = append(evs, e)
	}
	active, err := tx.CountActive(ctx, t.CustomerID)
	if err != nil {
		return t, nil, err
	}
	t.Limit = domain.TenantLimit{Limit: a.limit, Active: active, Peak: active}
	t.RepurchaseDeadline = domain.RepurchaseDeadline(t.Items)
	t.State, t.DecidedBy = domain.TransferAccepted, v.Subject
	return t, evs, nil
}
