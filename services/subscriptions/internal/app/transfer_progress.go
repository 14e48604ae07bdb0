package app

import (
	"context"
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// transferProgress is the lifecycle engine's hook for a source subscription s of an open transfer
// whose state the engine just changed (SU-2, SU-12): the transfer records that s expired (the
// target may repurchase it) or left its grace unrepurchased (NOT_MOVED, and the transfer settles).
// A source whose item settled leaves the transfer. Runs in the engine's transaction; returns s
// as it must be stored.
func (a *App) transferProgress(ctx context.Context, tx Tx, s domain.Subscription, now time.Time) (domain.Subscription, error) {
	t, err := tx.Transfer(ctx, s.PendingTransferID)
	if err != nil {
		return s, fmt.Errorf("transfer %s of subscription %s: %w", s.PendingTransferID, s.ID, err)
	}
	next, settled, changed := domain.SourceAdvanced(t, s, now)
	if !changed {
		return s, nil
	}
	next.Version, next.UpdateTime = t.Version+1, now
	if err := tx.UpdateTransfer(ctx, next); err != nil {
		return s, err
	}
	if settled {
		s.PendingTransferID = ""
	}
	return s, nil
}

// repurchase is the transfer item a ProvisionSubscription with transfer_id repurchases.
type repurchase struct {
	transfer domain.Transfer
	item     domain.TransferItem
}

// findRepurchase finds, in tx, the item of transfer in.TransferID that the subscription in
// provisions repurchases (SU-12): the transfer must be the provisioning partner's, as target, for
// the same customer (else RESOURCE_NOT_FOUND, ID-8), and hold an item of that SKU whose source
// expired and is still in its 30-day grace (domain.MatchRepurchase).
func findRepurchase(ctx context.Context, tx Tx, in ProvisionInput, now time.Time) (repurchase, error) {
	t, err := tx.Transfer(ctx, in.TransferID)
	if err != nil {
		return repurchase{}, err
	}
	if t.TargetPartnerID != in.PartnerID || t.CustomerID != in.CustomerID {
		return repurchase{}, errs.NotFoundf("transfer", in.TransferID)
	}
	it, err := domain.MatchRepurchase(t, in.SkuID, now)
	if err != nil {
		return repurchase{}, err
	}
	return repurchase{transfer: t, item: it}, nil
}

// linkRepurchase records that the target's new subscription moved repurchases r's item: the item
// is MOVED, the transfer completes when no item waits any more, and the source — EXPIRED, keeping
// its data (SU-12) — leaves the transfer with a TRANSFERRED event naming the new subscription.
func (a *App) linkRepurchase(ctx context.Context, tx Tx, r repurchase, moved domain.Subscription, requestID string,
	now time.Time) ([]domain.Event, error) {
	it := r.item
	it.State, it.TargetSubscriptionID = domain.ItemMoved, moved.ID
	t := domain.Settle(r.transfer.WithItem(it), now)
	t.Version, t.UpdateTime = r.transfer.Version+1, now
	if err := tx.UpdateTransfer(ctx, t); err != nil {
		return nil, err
	}
	s, err := tx.Subscription(ctx, it.SubscriptionID)
	if err != nil {
		return nil, err
	}
	if s.PendingTransferID == t.ID {
		s.PendingTransferID = ""
		if err := update(ctx, tx, s, now); err != nil {
			return nil, err
		}
	}
	return []domain.Event{a.transferred(s, t, moved.ID, requestID, now)}, nil
}
