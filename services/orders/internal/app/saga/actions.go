package saga

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/app/billing"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// entry is a ledger entry a local action writes with its outcome.
type entry struct{ ledger.Entry }

// runAction makes the call of a run action.
func (r *Runner) runAction(ctx context.Context, st *run, act domain.Action) outcome {
	o := st.order
	l, _ := o.Line(act.LineID)
	switch act.Step {
	case domain.StepCheckRelationship:
		cc, err := r.peers.Identity.CheckCustomer(ctx, o.PartnerID, o.CustomerID)
		switch {
		case err != nil:
			return outcome{err: err}
		case !cc.Exists:
			return outcome{err: errs.NotFoundf("customer", o.CustomerID)}
		case !cc.RelationshipActive:
			return outcome{err: errs.New(errs.FailedPrecondition, app.ReasonRelationshipRequired,
				"partner %s has no active reseller relationship with customer %s (ID-4)", o.PartnerID, o.CustomerID).
				With("denial_reason", cc.DenialReason)}
		}
		return outcome{}
	case domain.StepCheckCatalog:
		for _, l := range o.Lines {
			if _, err := r.offer(ctx, st, l); err != nil {
				return outcome{err: err}
			}
		}
		return outcome{}
	case domain.StepCreateSubscription:
		if l.Term == domain.TermPerpetual {
			return outcome{} // perpetual software is bought once: no subscription (OR-3)
		}
		offer, err := r.offer(ctx, st, l)
		if err != nil {
			return outcome{err: err}
		}
		id, err := r.peers.Subscriptions.Provision(ctx, act.RequestID, o, l, offer)
		return outcome{resultID: id, err: err}
	case domain.StepIssueEntitlements:
		offer, err := r.offer(ctx, st, l)
		if err != nil {
			return outcome{err: err}
		}
		id, err := r.peers.Keys.Issue(ctx, act.RequestID, o, l, offer)
		return outcome{resultID: id, err: err}
	case domain.StepRecordCharge:
		entries, err := lineCharges(o, l)
		if err != nil {
			return outcome{err: errs.Unexpected(err)}
		}
		out := outcome{}
		for _, e := range entries {
			out.entries = append(out.entries, entry{e})
		}
		if len(entries) > 0 {
			// The line shows its first charge as LedgerService lists it (entry_id).
			out.resultID = billing.EntryID(entries[0].Key)
		}
		return out
	case domain.StepComplete:
		return outcome{}
	}
	return outcome{err: errs.Unexpected(fmt.Errorf("unknown saga step %q", act.Step))}
}

// offer is the catalog's offer for the line: the review's, or asked again (a saga resumed after a
// crash), priced for the line's term and plan in the order's market.
func (r *Runner) offer(ctx context.Context, st *run, l domain.OrderLine) (app.Offer, error) {
	if of, ok := st.offers[l.ID]; ok {
		return of, nil
	}
	of, err := r.peers.Catalog.Offer(ctx, l.SkuID, st.order.CountryCode, l.Term, l.Plan)
	if err != nil {
		return app.Offer{}, err
	}
	st.offers[l.ID] = of
	return of, nil
}

// compensate makes the call of a compensation.
func (r *Runner) compensate(ctx context.Context, st *run, act domain.Action) outcome {
	o := st.order
	l, _ := o.Line(act.LineID)
	reason := "order " + o.ID + " failed"
	if f := st.rec.Saga.Failure; f != nil {
		reason += ": " + string(f.Reason)
	}
	var err error
	switch act.Compensation {
	case domain.CompensateCancelSubscription:
		if l.Term == domain.TermPerpetual {
			return outcome{}
		}
		err = r.peers.Subscriptions.Compensate(ctx, act.RequestID, act.StepRequestID, reason)
	case domain.CompensateRevokeEntitlements:
		err = r.peers.Keys.Revoke(ctx, act.RequestID, o.ID, []string{l.ID}, app.RevokeOrderCompensated)
	case domain.CompensateReverseCharge:
		e, rerr := reversal(o, l, r.now())
		if rerr != nil {
			return outcome{err: errs.Unexpected(rerr)}
		}
		return outcome{entries: []entry{{e}}}
	default:
		return outcome{}
	}
	// "Nothing to undo" is an undo: the callee never acted, or a compensation ran before.
	if errs.KindOf(err) == errs.NotFound || errs.HasReason(err, domain.ReasonStepAlreadyCompensated) {
		err = nil
	}
	return outcome{err: err}
}

// ledgerLine is the line as the ledger prices it (BI-2): the unit price of the whole term, from
// the term start (00:00 UTC of the purchase day; the purchase time for perpetual software).
func ledgerLine(o domain.Order, l domain.OrderLine) ledger.OrderLine {
	start := o.CreateTime.UTC()
	if l.Term != domain.TermPerpetual {
		start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	}
	return ledger.OrderLine{PartnerID: o.PartnerID, CustomerID: o.CustomerID, OrderID: o.ID, LineID: l.ID,
		SubscriptionID: l.SubscriptionID, SKUID: l.SkuID, Quantity: l.Quantity,
		UnitPrice:    ledger.Money{Minor: l.UnitTermPrice.Minor, Currency: l.UnitTermPrice.Currency},
		TaxInclusive: l.TaxInclusive, Term: ledger.TermNamed(string(l.Term)), Plan: ledger.PlanNamed(string(l.Plan)), Start: start}
}

// lineCharges are the charges of every installment of the line's billing plan (BI-2), recorded
// at purchase and keyed (order, line, installment), so recording them again adds nothing.
func lineCharges(o domain.Order, l domain.OrderLine) ([]ledger.Entry, error) {
	return ledger.OrderLineCharges(ledgerLine(o, l), o.CreateTime)
}

// reversal is the credit that undoes a compensated line's charges (OR-1): the whole amount
// charged, keyed (order, line) like a cancellation credit — a compensated line is never
// cancelled, so the two cannot meet.
func reversal(o domain.Order, l domain.OrderLine, now time.Time) (ledger.Entry, error) {
	charges, err := lineCharges(o, l)
	if err != nil {
		return ledger.Entry{}, err
	}
	return creditOf(o, l, charges, now, "Reversal: order "+o.ID+" failed, line "+l.ID)
}

// creditOf is a credit of everything charges charged, on the next monthly invoice after now.
func creditOf(o domain.Order, l domain.OrderLine, charges []ledger.Entry, now time.Time, description string) (ledger.Entry, error) {
	total := ledger.Money{Currency: l.UnitTermPrice.Currency}
	for _, c := range charges {
		var err error
		if total, err = total.Add(c.Amount); err != nil {
			return ledger.Entry{}, err
		}
	}
	credit, err := total.Neg()
	if err != nil {
		return ledger.Entry{}, err
	}
	ll := ledgerLine(o, l)
	src := ledger.Source{Kind: ledger.SourceOrderCancellation, OrderID: o.ID, LineID: l.ID, SubscriptionID: l.SubscriptionID}
	key, err := ledger.DeriveKey(src, 0)
	if err != nil {
		return ledger.Entry{}, err
	}
	e := ledger.Entry{Key: key, PartnerID: o.PartnerID, CustomerID: o.CustomerID, Kind: ledger.KindCredit,
		Amount: credit, TaxInclusive: l.TaxInclusive, Source: src, SKUID: l.SkuID, Quantity: l.Quantity,
		Term: ll.Term, Plan: ll.Plan, InvoiceMonth: ledger.NextInvoiceMonth(now), Description: description,
		CreateTime: now}
	return e, e.Validate()
}
