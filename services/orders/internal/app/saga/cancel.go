package saga

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
	"github.com/partnerhub/partnerhub/services/orders/internal/ledger"
)

// applyCancellation applies a confirmed cancellation (OR-3, OR-4): for every CANCELLING line, what
// each service has not applied yet, one service at a time, each recorded in its own transaction
// (domain.CancellationApplied) so that a crash repeats only the unrecorded part, with the same
// request ID (domain.CancelRequestIDFor):
//
//   - subscriptions: a subscription line is cancelled with its prorated refund (SU-10), which the
//     ledger books from the subscriptions events feed (BI-3); a refusal (the window closed in
//     between) puts the line back as it was (domain.CancellationRefused);
//   - keys: the line's keys and download links are revoked, the item stays listed (KD-7);
//   - ledger: a perpetual line gets its 100 % credit on the next monthly invoice (OR-3, BI-3);
//     a subscription line's credit is the refund above, so it is recorded once subscriptions
//     answered.
//
// A transient failure leaves the rest for the recovery loop's next poll. Several replicas may
// apply one cancellation at once: the calls are idempotent and the order's version decides which
// write of a part counts.
func (r *Runner) applyCancellation(ctx context.Context, orderID string) error {
	o, err := r.store.Order(ctx, orderID)
	if err != nil || !o.CancellationPending {
		return err
	}
	var p auth.Principal
	err = r.store.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
		rec, err := tx.Saga(ctx, orderID)
		p = rec.CancelPrincipal
		return err
	})
	if err != nil {
		return err
	}
	pctx := auth.WithPrincipal(ctx, p)
	for _, l := range o.Lines {
		if l.State != domain.LineCancelling || l.Cancellation == nil {
			continue
		}
		if err := r.cancelLine(pctx, orderID, l.ID); err != nil {
			return err
		}
	}
	return nil
}

// cancelLine applies one line's cancellation in every service that has not applied it yet.
func (r *Runner) cancelLine(ctx context.Context, orderID, lineID string) error {
	for _, svc := range []domain.Service{domain.ServiceSubscriptions, domain.ServiceKeys, domain.ServiceLedger} {
		o, err := r.store.Order(ctx, orderID)
		if err != nil {
			return err
		}
		l, _ := o.Line(lineID)
		if l.State != domain.LineCancelling || l.Cancellation == nil {
			return nil // refused, or applied by another replica meanwhile
		}
		c := l.Cancellation
		reqID := domain.CancelRequestIDFor(orderID, lineID, svc)
		credit := domain.Money{}
		var entries []ledger.Entry
		switch svc {
		case domain.ServiceSubscriptions:
			if c.SubscriptionCancelled {
				continue
			}
			credit, err = r.peers.Subscriptions.Cancel(ctx, reqID, l.SubscriptionID, c.Reason)
			if err != nil && !app.Retryable(err) && errs.KindOf(err) != errs.Internal {
				return r.refuse(ctx, orderID, lineID, err)
			}
		case domain.ServiceKeys:
			if c.EntitlementsRevoked {
				continue
			}
			reason := app.RevokeOrderCancelled
			if c.Route == domain.RouteViaSubscriptions {
				reason = app.RevokeSubscriptionCancelled
			}
			err = r.peers.Keys.Revoke(ctx, reqID, orderID, []string{lineID}, reason)
		case domain.ServiceLedger:
			if c.CreditRecorded {
				continue
			}
			if c.Route == domain.RoutePerpetualCredit {
				e, cerr := perpetualCredit(o, l, r.now())
				if cerr != nil {
					return fmt.Errorf("order %s line %s: credit: %w", orderID, lineID, cerr)
				}
				entries = append(entries, e)
			}
		}
		if err != nil {
			return fmt.Errorf("order %s line %s: apply cancellation in %s: %w", orderID, lineID, svc, err)
		}
		if err := r.recordApplied(ctx, orderID, lineID, svc, credit, entries); err != nil {
			return err
		}
	}
	return nil
}

// recordApplied records that svc applied the line's cancellation, with the ledger entries that
// go with it, in one transaction.
func (r *Runner) recordApplied(ctx context.Context, orderID, lineID string, svc domain.Service, credit domain.Money, entries []ledger.Entry) error {
	var changed bool
	err := r.store.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
		o, err := tx.Order(ctx, orderID)
		if err != nil {
			return err
		}
		next, err := domain.CancellationApplied(o, lineID, svc, credit, r.now())
		if err != nil || next.Version == o.Version {
			return err
		}
		for _, e := range entries {
			if _, err := tx.InsertEntry(ctx, e); err != nil {
				return err
			}
		}
		changed = true
		return tx.UpdateOrder(ctx, next)
	})
	if err != nil {
		return fmt.Errorf("order %s line %s: record cancellation in %s: %w", orderID, lineID, svc, err)
	}
	if changed {
		r.changes.Notify(orderID)
	}
	return nil
}

// refuse puts a line whose cancellation subscriptions refused back as it was.
func (r *Runner) refuse(ctx context.Context, orderID, lineID string, cause error) error {
	r.opts.Log.Warn("subscriptions refused a confirmed cancellation; the line stays provisioned",
		zap.String("order_id", orderID), zap.String("line_id", lineID), zap.Error(cause))
	err := r.store.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
		o, err := tx.Order(ctx, orderID)
		if err != nil {
			return err
		}
		next, err := domain.CancellationRefused(o, lineID, r.now())
		if err != nil || next.Version == o.Version {
			return err
		}
		return tx.UpdateOrder(ctx, next)
	})
	if err != nil {
		return fmt.Errorf("order %s line %s: undo refused cancellation (%v): %w", orderID, lineID, cause, err) //nolint:errorlint // the undo's error is the one to classify; the cause is only told
	}
	r.changes.Notify(orderID)
	return nil
}

// perpetualCredit is the 100 % credit of a cancelled perpetual line (OR-3, BI-3): everything the
// line was charged, on the next monthly invoice after the cancellation.
func perpetualCredit(o domain.Order, l domain.OrderLine, now time.Time) (ledger.Entry, error) {
	charges, err := lineCharges(o, l)
	if err != nil {
		return ledger.Entry{}, err
	}
	return creditOf(o, l, charges, now, fmt.Sprintf("Credit: cancellation of order %s line %s (100 %%)", o.ID, l.ID))
}
