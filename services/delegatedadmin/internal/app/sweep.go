package app

import (
	"context"
	"fmt"
	"time"
)

// Sweep persists every clock-driven transition due by the service clock's now (offer lapse,
// EXPIRING, EXPIRED, auto-extension; DA-5), in batches, and returns how many relationships it
// changed. Reads never depend on it (they compute the state at now); it keeps the stored state
// current for state-filtered lists and for whoever reads the database.
//
// Several replicas may sweep at once: each write is conditional on the etag it read, so a
// relationship changed meanwhile (by another sweeper or a user) is simply skipped, and the
// transition, being a pure function of the stored facts, is never applied twice.
func (a *App) Sweep(ctx context.Context) (int, error) { return a.sweep(ctx, a.now()) }

func (a *App) sweep(ctx context.Context, now time.Time) (int, error) {
	changed := 0
	for {
		due, err := a.repo.Due(ctx, now, a.opts.SweepBatch)
		if err != nil {
			return changed, fmt.Errorf("due relationships: %w", err)
		}
		attempted := 0
		for _, r := range due {
			next := r.At(now)
			if next.Etag == r.Etag {
				// Not due after all (next_transition_at out of step): nothing to write. Never
				// expected, but it must not make the loop spin.
				continue
			}
			attempted++
			ok, err := a.repo.SaveTransition(ctx, r.Etag, next)
			if err != nil {
				return changed, fmt.Errorf("save transition of %s: %w", r.ID, err)
			}
			if ok {
				changed++
			}
			// !ok: someone else changed the row since Due read it; the next round reads it
			// again if it is still due.
		}
		if len(due) < a.opts.SweepBatch || attempted == 0 {
			return changed, nil
		}
	}
}
