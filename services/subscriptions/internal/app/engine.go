package app

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// DefaultSweepBatch is how many due subscriptions one engine transaction claims: large enough that
// commits and round trips are a small part of a sweep, small enough that a transaction holds
// SQLite's write lock for about a tenth of a second.
const DefaultSweepBatch = 1000

// Sweep runs the lifecycle engine once at the service clock's now (SU-2, SU-3, SU-9): in
// transactions of up to batch subscriptions it claims those with a step or reminder due, advances
// each (domain.Advance), stores it and appends its events. Each transition and each reminder
// happens exactly once: the claim locks the rows (other engines skip them), the new state and its
// events commit together, and an advanced subscription is no longer due. A crash mid-batch rolls
// the whole batch back, to be claimed again. A source of an open transfer that expires or leaves
// its grace updates its transfer in the same transaction (transferProgress). Returns how many
// subscriptions it advanced.
func (a *App) Sweep(ctx context.Context, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultSweepBatch
	}
	total := 0
	for {
		now := a.now()
		var n int
		err := a.commit(ctx, func(ctx context.Context, tx Tx) ([]domain.Event, error) {
			subs, err := tx.ClaimDue(ctx, now, batch)
			if err != nil {
				return nil, err
			}
			n = len(subs)
			var evs []domain.Event
			for _, s := range subs {
				next, es := domain.Advance(s, now, a.newID)
				if due, ok := domain.NextDue(next); ok && !due.After(now) {
					// A rule that leaves its subscription due would make the engine spin on it.
					return nil, fmt.Errorf("lifecycle: subscription %s still due at %s after advancing to %s", s.ID, due, now)
				}
				if next.PendingTransferID != "" && next.State != s.State { // SU-12: a source expired or left its grace
					if next, err = a.transferProgress(ctx, tx, next, now); err != nil {
						return nil, err
					}
				}
				next.Version, next.UpdateTime = s.Version+1, now
				if err := tx.UpdateSubscription(ctx, next); err != nil {
					return nil, err
				}
				evs = append(evs, es...)
			}
			return evs, nil
		})
		if err != nil {
			return total, fmt.Errorf("lifecycle sweep: %w", err)
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}

// RunEngine sweeps every interval (wall time) until ctx ends. With a fake clock, moving the
// clock shows within one interval.
func (a *App) RunEngine(ctx context.Context, interval time.Duration, log *zap.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := a.Sweep(ctx, DefaultSweepBatch); err != nil && ctx.Err() == nil {
			log.Error("lifecycle engine", zap.Error(err))
		} else if n > 0 {
			log.Debug("lifecycle engine advanced subscriptions", zap.Int("count", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
