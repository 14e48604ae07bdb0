package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/partnerhub/partnerhub/services/subscriptions/internal/domain"
)

// DefaultSweepBatch is how many due subscriptions one engine transaction claims: large enough that
// commits and round trips are a small part of a sweep, small enough that a transaction holds
// SQLite's write lock for about a tenth of a second.
const DefaultSweepBatch = 1000

// sweepBatch is a batch of due subscriptions as read, with what domain.Advance makes of each.
type sweepBatch struct {
	due    DueBatch
	after  []domain.Subscription
	events [][]domain.Event
}

// Sweep runs the lifecycle engine once at the service clock's now (SU-2, SU-3, SU-9) and returns
// how many subscriptions it advanced.
//
// It is a pipeline, so that reading and writing overlap (on SQLite, where one connection writes
// at a time, that is the difference between one core and two): planSweep reads the due
// subscriptions in batches of up to batch outside any transaction and advances each
// (domain.Advance); Store.Writers goroutines (applySweep) store each batch in one transaction of
// Store.LockingTx, which first claims the batch's rows (Tx.Claim) and then writes those still at
// the version read, with their events.
//
// Each transition and each reminder happens exactly once: a claimed row is locked and unchanged
// since it was read, so its advance is still right; its new state and its events commit
// together, and an advanced subscription is no longer due. A row another engine holds or that
// changed since it was read is left for the next sweep. A crash mid-batch rolls the batch back,
// to be read again. A source of an open transfer that expires or leaves its grace updates its
// transfer in the same transaction (transferProgress).
func (a *App) Sweep(ctx context.Context, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultSweepBatch
	}
	now := a.now()
	batches := make(chan sweepBatch, 1)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(batches)
		return a.planSweep(ctx, now, batch, batches)
	})
	var total atomic.Int64
	for range max(a.store.Writers(), 1) {
		g.Go(func() error {
			for b := range batches {
				n, err := a.applySweep(ctx, now, b)
				if err != nil {
					return err
				}
				total.Add(int64(n))
			}
			return nil
		})
	}
	err := g.Wait()
	if err != nil {
		err = fmt.Errorf("lifecycle sweep: %w", err)
	}
	return int(total.Load()), err
}

// planSweep reads the subscriptions due at now in batches and sends each, advanced, to out.
func (a *App) planSweep(ctx context.Context, now time.Time, batch int, out chan<- sweepBatch) error {
	var after DueCursor
	for {
		due, err := a.store.Due(ctx, now, after, batch)
		if err != nil || len(due.Subs) == 0 {
			return err
		}
		subs := due.Subs
		b := sweepBatch{due: due, after: make([]domain.Subscription, len(subs)), events: make([][]domain.Event, len(subs))}
		for i, s := range subs {
			b.after[i], b.events[i] = domain.Advance(s, now, a.newID)
			if at, ok := domain.NextDue(b.after[i]); ok && !at.After(now) {
				// A rule that leaves its subscription due would make the engine spin on it.
				return fmt.Errorf("subscription %s still due at %s after advancing to %s", s.ID, at, now)
			}
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(subs) < batch {
			return nil
		}
		after = due.Last
	}
}

// applySweep stores one planned batch in one transaction: the rows it can claim, with their
// events. It returns how many it advanced.
func (a *App) applySweep(ctx context.Context, now time.Time, b sweepBatch) (int, error) {
	index := make(map[string]int, len(b.due.Subs))
	for i, s := range b.due.Subs {
		index[s.ID] = i
	}
	var n int
	err := a.commitIn(ctx, a.store.LockingTx, func(ctx context.Context, tx Tx) ([]domain.Event, error) {
		claimed, err := tx.Claim(ctx, b.due)
		if err != nil {
			return nil, err
		}
		n = len(claimed)
		var evs []domain.Event
		for _, s := range claimed {
			i := index[s.ID]
			next := b.after[i]
			if next.PendingTransferID != "" && next.State != s.State { // SU-12: a source expired or left its grace
				if next, err = a.transferProgress(ctx, tx, next, now); err != nil {
					return nil, err
				}
			}
			next.Version, next.UpdateTime = s.Version+1, now
			if err := tx.UpdateSubscription(ctx, next); err != nil {
				return nil, err
			}
			evs = append(evs, b.events[i]...)
		}
		return evs, nil
	})
	return n, err
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
