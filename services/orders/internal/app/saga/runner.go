// Package saga runs the order saga of DESIGN.md (OR-1, OR-7): domain.Saga says which call comes
// next; the Runner makes it, records the outcome and writes saga and order back in one
// transaction before the next call. A recovery loop resumes sagas a crash left in flight, and a
// lease on each saga keeps several replicas from running one saga at once. The same loop applies
// confirmed cancellations (OR-4, cancel.go).
//
// Exactly-once: every call carries domain.RequestIDFor(order, step, line), so a call repeated
// after a crash (the outcome was not written yet) gets the callee's first answer from its
// idempotency store; the local steps (record_charge, reverse_charge, complete) change the ledger
// in the very transaction that records them done, so they cannot happen twice.
//
// Time: leases, next runs and retry backoff are wall time (Options.Wall), never the business
// clock, which a test may hold still or move by months; order, line and ledger times are the
// business clock's.
package saga

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/clock"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// Peers are the services the saga calls.
type Peers struct {
	Identity      app.Identity
	Catalog       app.Catalog
	Subscriptions app.Subscriptions
	Keys          app.Keys
}

// Options tune the Runner; zero values take the defaults.
type Options struct {
	// Owner names this replica in leases; a random one by default (a restarted process is a new
	// owner and waits for its predecessor's leases to run out).
	Owner string
	// Lease is how long a saga stays this replica's after each write: 30 s by default, well
	// above the longest call (the catalog's three, 5 s each).
	Lease time.Duration
	// Poll is how often the recovery loop looks for due sagas and pending cancellations: 1 s.
	Poll time.Duration
	// Retry is the backoff of retryable failures (domain.DefaultRetry).
	Retry domain.RetryPolicy
	// Workers bounds the sagas and cancellations running at once in this replica: 256.
	Workers int
	// StartWait is how long Start waits for a free worker before it hands a new saga to the
	// recovery loop: 1 s.
	StartWait time.Duration
	// Wall is the clock of leases and backoff: the real clock by default.
	Wall clock.Clock
	// Log receives what the runner cannot report to a caller; zap.NewNop by default.
	Log *zap.Logger
}

// Runner runs sagas and cancellations; it implements app.Sagas.
type Runner struct {
	store   app.Store
	peers   Peers
	clock   clock.Clock // business time
	changes *app.Changes
	opts    Options

	ctx    context.Context // ends when Run's context ends
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	active map[string]bool // orders whose saga or cancellation runs in this replica
}

var _ app.Sagas = (*Runner)(nil)

// New returns a runner; Run starts its recovery loop.
func New(store app.Store, peers Peers, clk clock.Clock, changes *app.Changes, opts Options) *Runner {
	if opts.Owner == "" {
		opts.Owner = "orders-" + uuid.NewString()
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Retry.MaxAttempts == 0 {
		opts.Retry = domain.DefaultRetry
	}
	if opts.Workers <= 0 {
		opts.Workers = 256
	}
	if opts.StartWait <= 0 {
		opts.StartWait = time.Second
	}
	if opts.Wall == nil {
		opts.Wall = clock.Real{}
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{store: store, peers: peers, clock: clk, changes: changes, opts: opts,
		ctx: ctx, cancel: cancel, sem: make(chan struct{}, opts.Workers), active: map[string]bool{}}
}

// NewRecord implements app.Sagas: the record leased to this replica.
func (r *Runner) NewRecord(s domain.Saga, p auth.Principal) app.SagaRecord {
	return app.SagaRecord{Saga: s, Principal: p, LeaseOwner: r.opts.Owner,
		LeaseUntil: r.opts.Wall.Now().Add(r.opts.Lease), Version: 1}
}

// Start implements app.Sagas: the saga runs in the background, leased already. When every
// worker is busy it waits for one (PlaceOrder feels the backpressure), but no longer than
// StartWait and the caller's ctx: then it releases the saga, and the recovery loop starts it at
// its next poll once a worker is free. The order is stored either way and PlaceOrder answers it
// PROVISIONING. (A soak had a PlaceOrder wait two minutes for a worker, past its deadline, while
// a slow dependency held all 256.)
func (r *Runner) Start(ctx context.Context, o domain.Order, rec app.SagaRecord, offers map[string]app.Offer) {
	wait, cancel := context.WithTimeout(ctx, r.opts.StartWait)
	defer cancel()
	st := &run{rec: rec, order: o, offers: offers}
	if r.spawn(wait, o.ID, true, func(ctx context.Context) error { return r.drive(ctx, st) }) {
		return
	}
	if err := r.release(st, time.Time{}); err != nil {
		// The lease runs out instead: the recovery loop starts the saga then.
		r.opts.Log.Warn("no free worker for a new saga; it starts when its lease runs out",
			zap.String("order_id", o.ID), zap.Error(err))
	}
}

// ApplyCancellation implements app.Sagas.
func (r *Runner) ApplyCancellation(orderID string) {
	r.spawn(context.Background(), orderID, false, func(ctx context.Context) error { return r.applyCancellation(ctx, orderID) })
}

// spawn runs fn for the order in a worker unless the order already has one here. When every
// worker is busy it waits for one if wait is set, until waitCtx ends; otherwise it leaves the
// order to the recovery loop's next poll.
func (r *Runner) spawn(waitCtx context.Context, orderID string, wait bool, fn func(context.Context) error) bool {
	if wait {
		select {
		case r.sem <- struct{}{}:
		case <-r.ctx.Done():
			return false
		case <-waitCtx.Done():
			return false
		}
	} else {
		select {
		case r.sem <- struct{}{}:
		default:
			return false
		}
	}
	r.mu.Lock()
	if r.active[orderID] || r.ctx.Err() != nil {
		r.mu.Unlock()
		<-r.sem
		return false
	}
	r.active[orderID] = true
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer func() {
			r.mu.Lock()
			delete(r.active, orderID)
			r.mu.Unlock()
			<-r.sem
			r.wg.Done()
		}()
		if err := fn(r.ctx); err != nil && r.ctx.Err() == nil {
			r.opts.Log.Warn("order saga interrupted; the recovery loop resumes it",
				zap.String("order_id", orderID), zap.Error(err))
		}
	}()
	return true
}

// Run is the recovery loop: every Poll it resumes the due sagas whose lease has run out (a
// crashed replica's, or one waiting for a long backoff) and applies pending cancellations. It
// returns when ctx ends, after the running sagas have stopped.
func (r *Runner) Run(ctx context.Context) {
	defer func() {
		r.cancel()
		r.wg.Wait()
	}()
	t := time.NewTicker(r.opts.Poll)
	defer t.Stop()
	for {
		r.recover(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// recover starts what is due; errors are logged and retried at the next poll.
func (r *Runner) recover(ctx context.Context) {
	ids, err := r.store.DueSagas(ctx, r.opts.Wall.Now(), r.opts.Workers)
	if err != nil && ctx.Err() == nil {
		r.opts.Log.Warn("list due sagas", zap.Error(err))
	}
	for _, id := range ids {
		r.spawn(ctx, id, false, func(ctx context.Context) error { return r.resume(ctx, id) })
	}
	ids, err = r.store.PendingCancellations(ctx, r.opts.Workers)
	if err != nil && ctx.Err() == nil {
		r.opts.Log.Warn("list pending cancellations", zap.Error(err))
	}
	for _, id := range ids {
		r.ApplyCancellation(id)
	}
}

// run is one saga in this replica: its record (leased to us), its order and the offers known.
type run struct {
	rec    app.SagaRecord
	order  domain.Order
	offers map[string]app.Offer
}

// resume takes the saga's lease and drives it to its end, or until a long backoff hands it back
// to the recovery loop.
func (r *Runner) resume(ctx context.Context, orderID string) error {
	var st *run // nil: nothing for this replica to do
	err := r.store.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
		st = nil
		rec, err := tx.Saga(ctx, orderID)
		if err != nil {
			return err
		}
		now := r.opts.Wall.Now()
		if rec.Saga.Status.Terminal() || (rec.LeaseOwner != "" && now.Before(rec.LeaseUntil)) {
			return nil // done, or another replica holds it
		}
		o, err := tx.Order(ctx, orderID)
		if err != nil {
			return err
		}
		rec.LeaseOwner, rec.LeaseUntil, rec.NextRun = r.opts.Owner, now.Add(r.opts.Lease), time.Time{}
		rec.Version++
		if err := tx.PutSaga(ctx, rec); err != nil {
			return err
		}
		st = &run{rec: rec, order: o, offers: map[string]app.Offer{}}
		return nil
	})
	if err != nil || st == nil {
		return err
	}
	return r.drive(ctx, st)
}

// drive makes the saga's calls one at a time until it is terminal.
func (r *Runner) drive(ctx context.Context, st *run) error {
	pctx := auth.WithPrincipal(ctx, st.rec.Principal)
	for {
		act, ok := st.rec.Saga.Next()
		if !ok {
			return nil
		}
		if ctx.Err() != nil {
			return r.release(st, time.Time{})
		}
		if wait := act.NotBefore.Sub(r.opts.Wall.Now()); wait > 0 {
			if wait > r.opts.Lease/3 {
				return r.release(st, act.NotBefore) // the recovery loop takes it up then
			}
			select {
			case <-ctx.Done():
				return r.release(st, time.Time{})
			case <-time.After(wait):
			}
		}
		if err := r.step(pctx, st, act); err != nil || ctx.Err() != nil {
			return err // stopped: step handed the saga back
		}
	}
}

// release hands the saga back to the recovery loop: no lease, next run at next (zero: now).
// It runs when this replica stops or waits long, so another replica (or this one restarted)
// need not wait for the lease to run out.
func (r *Runner) release(st *run, next time.Time) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
	defer cancel()
	rec := st.rec
	rec.LeaseOwner, rec.LeaseUntil, rec.NextRun = "", time.Time{}, next
	rec.Version++
	err := r.store.Tx(ctx, func(ctx context.Context, tx app.Tx) error { return tx.PutSaga(ctx, rec) })
	if err != nil {
		return fmt.Errorf("release saga of order %s: %w", st.rec.Saga.OrderID, err)
	}
	st.rec = rec
	return nil
}

// outcome is what one action did: for a local action, the ledger entries to write with it.
type outcome struct {
	resultID string
	err      error
	entries  []entry
}

// step makes one action and writes its outcome.
func (r *Runner) step(ctx context.Context, st *run, act domain.Action) error {
	out := r.act(ctx, st, act)
	if ctx.Err() != nil {
		// This replica stops: the call's outcome is unknown, and the resumed saga repeats it
		// with the same request ID.
		return r.release(st, time.Time{})
	}
	now := r.opts.Wall.Now()
	next := st.rec
	var err error
	if next.Saga, err = r.record(next.Saga, act, out, now); err != nil {
		return err
	}
	entries := out.entries
	// The local actions that follow (record_charge, complete; reverse_charge) need no call:
	// they are done in the same transaction, one write instead of one per action.
	for {
		a, ok := next.Saga.Next()
		if !ok || !local(a) || a.NotBefore.After(now) {
			break
		}
		// The local action sees the order as the saga has it now (the subscription just made).
		cur := *st
		cur.order = domain.Project(st.order, next.Saga, r.now())
		o := r.act(ctx, &cur, a)
		if o.err != nil {
			break // recorded by the next step, on its own
		}
		if next.Saga, err = r.record(next.Saga, a, o, now); err != nil {
			return err
		}
		entries = append(entries, o.entries...)
	}
	next.Version++
	next.LeaseUntil = now.Add(r.opts.Lease)
	if next.Saga.Status.Terminal() {
		next.LeaseOwner, next.LeaseUntil = "", time.Time{}
	}
	order := domain.Project(st.order, next.Saga, r.now())
	changed := orderChanged(st.order, order)
	if changed {
		order.Version = st.order.Version + 1
		order.UpdateTime = r.now()
	}
	err = r.store.Tx(ctx, func(ctx context.Context, tx app.Tx) error {
		for _, e := range entries {
			if _, err := tx.InsertEntry(ctx, e.Entry); err != nil {
				return err
			}
		}
		if err := tx.PutSaga(ctx, next); err != nil {
			return err
		}
		if changed {
			return tx.UpdateOrder(ctx, order)
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("order %s: write saga after %s %s/%s: %w", st.order.ID, act.Kind, act.Step, act.LineID, err)
		if errs.KindOf(err) != errs.Aborted {
			// Not another replica's (ABORTED: it took the saga over and carries on): hand the
			// saga to the recovery loop now rather than holding it until the lease runs out.
			// The resumed saga repeats the call with the same request ID.
			if rerr := r.release(st, time.Time{}); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return err
	}
	st.rec = next
	if changed {
		st.order = order
		r.changes.Publish(order)
	}
	return nil
}

// act makes the call of an action.
func (r *Runner) act(ctx context.Context, st *run, act domain.Action) outcome {
	if act.Kind == domain.ActionRun {
		return r.runAction(ctx, st, act)
	}
	return r.compensate(ctx, st, act)
}

// local reports whether an action is done in the orders database alone (no call).
func local(a domain.Action) bool {
	return (a.Kind == domain.ActionRun && (a.Step == domain.StepRecordCharge || a.Step == domain.StepComplete)) ||
		(a.Kind == domain.ActionCompensate && a.Compensation == domain.CompensateReverseCharge)
}

// record is the saga after act's outcome out at now.
func (r *Runner) record(s domain.Saga, act domain.Action, out outcome, now time.Time) (domain.Saga, error) {
	var err error
	switch {
	case act.Kind == domain.ActionRun && out.err == nil:
		s, err = s.Done(act.Step, act.LineID, out.resultID)
	case act.Kind == domain.ActionRun:
		s, _, err = s.Failed(act.Step, act.LineID, failureOf(out.err), app.Retryable(out.err), now, r.opts.Retry)
	case out.err == nil:
		s, err = s.Compensated(act.Step, act.LineID)
	default:
		s, _, err = s.CompensationFailed(act.Step, act.LineID, now, r.opts.Retry)
	}
	if err != nil {
		return s, fmt.Errorf("order %s: record %s %s/%s: %w", s.OrderID, act.Kind, act.Step, act.LineID, err)
	}
	if out.err != nil {
		r.opts.Log.Info("order saga call failed", zap.String("order_id", s.OrderID),
			zap.String("kind", string(act.Kind)), zap.String("step", string(act.Step)),
			zap.String("line_id", act.LineID), zap.Int("attempt", act.Attempt),
			zap.Bool("retryable", app.Retryable(out.err)), zap.Error(out.err))
	}
	return s, nil
}

// now is the business clock's now at storage precision.
func (r *Runner) now() time.Time { return r.clock.Now().UTC().Truncate(time.Microsecond) }

// orderChanged reports whether the projection changed anything stored.
func orderChanged(a, b domain.Order) bool {
	if a.State != b.State || !a.CompleteTime.Equal(b.CompleteTime) || (a.Failure == nil) != (b.Failure == nil) {
		return true
	}
	for i := range a.Lines {
		x, y := a.Lines[i], b.Lines[i]
		if x.State != y.State || x.SubscriptionID != y.SubscriptionID || x.EntitlementID != y.EntitlementID ||
			x.ChargeID != y.ChargeID || !x.CompleteTime.Equal(y.CompleteTime) || (x.Failure == nil) != (y.Failure == nil) {
			return true
		}
	}
	return false
}

// failureOf is the saga failure of a refused (or given up) call: the callee's reason, message
// and metadata (OR-1).
func failureOf(err error) domain.Failure {
	if e, ok := errs.As(err); ok {
		f := domain.Failure{Reason: e.Reason, Message: e.Message, Metadata: map[string]string{}}
		for k, v := range e.Metadata {
			f.Metadata[k] = v
		}
		// A refused request's field violations would otherwise be lost with the call: they
		// say which field of the saga's request the callee refused.
		for _, v := range e.Violations {
			f.Metadata["field_violation."+v.Field] = v.Description
		}
		if app.Retryable(err) {
			f.Reason = domain.ReasonDependencyUnavailable
		}
		return f
	}
	if app.Retryable(err) || errors.Is(err, context.DeadlineExceeded) {
		return domain.Failure{Reason: domain.ReasonDependencyUnavailable, Message: "a service did not answer in time"}
	}
	return domain.Failure{Reason: domain.ReasonProvisioningFailed, Message: "provisioning failed"}
}
