package redeem

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/partnerhub/partnerhub/pkg/auth"
	"github.com/partnerhub/partnerhub/pkg/errs"
	"github.com/partnerhub/partnerhub/services/orders/internal/app"
	"github.com/partnerhub/partnerhub/services/orders/internal/domain"
)

// leaseLost: another replica took the saga over (its lease ran out while this one worked); this
// one stops, the other repeats the same requests and gets the first answers (OR-7).
func leaseLost(id string) error {
	return errs.New(errs.Aborted, errs.ReasonEtagMismatch, "the saga of redemption %s is held by another replica", id)
}

// Run is the recovery loop: every Options.Poll it resumes the redemptions whose saga is in
// flight, due and not leased (a crash, a replica that stopped, a RedeemProductKeys that stopped
// waiting, a retry's backoff), until ctx ends. Register it as a background job of the service.
func (s *Service) Run(ctx context.Context) {
	for {
		if _, err := s.Recover(ctx); err != nil && ctx.Err() == nil {
			s.opts.OnError(ctx, err)
		}
		if sleep(ctx, s.opts.Poll) != nil {
			return
		}
	}
}

// Recover makes one round of the recovery loop and returns how many sagas it worked on. A saga
// another replica holds is skipped (it is not due); one this process runs already too.
func (s *Service) Recover(ctx context.Context) (int, error) {
	ids, err := s.store.DueRedemptions(ctx, s.opts.Wall(), s.opts.Batch)
	if err != nil {
		return 0, fmt.Errorf("due redemptions: %w", err)
	}
	n := 0
	for _, id := range ids {
		if ctx.Err() != nil {
			return n, nil //nolint:nilerr // stopping: the sweep ends quietly and the next one takes up the rest
		}
		if _, err := s.drive(ctx, id, time.Time{}, false); err != nil {
			s.opts.OnError(ctx, fmt.Errorf("resume redemption %s: %w", id, err))
			continue
		}
		n++
	}
	return n, nil
}

// drive works on one saga until it ends, its next call must wait (a retry's backoff: the saga is
// left for the recovery loop at that time), or deadline (zero: none) passes. It returns the
// redemption as stored afterwards.
func (s *Service) drive(ctx context.Context, id string, deadline time.Time, claimedLocal bool) (domain.Redemption, error) {
	if !claimedLocal && !s.claimLocal(id) {
		return s.store.Redemption(ctx, id)
	}
	defer s.releaseLocal(id)
	rec, r, ok, err := s.acquire(ctx, id)
	if err != nil || !ok {
		return r, err
	}
	for !rec.Saga.Status.Terminal() {
		a, _ := rec.Saga.Next()
		now := s.opts.Wall()
		if !deadline.IsZero() && !now.Before(deadline) {
			return s.release(ctx, rec, r, time.Time{})
		}
		if a.NotBefore.After(now) {
			if deadline.IsZero() || a.NotBefore.After(deadline) {
				return s.release(ctx, rec, r, a.NotBefore)
			}
			if err := sleep(ctx, a.NotBefore.Sub(now)); err != nil {
				return s.release(ctx, rec, r, a.NotBefore)
			}
		}
		// The state is stored before the call: the lease is renewed with the saga as it stands, so
		// a crash during the call leaves the same action (and request ID) for whoever resumes.
		if rec, err = s.renew(ctx, rec); err != nil {
			return r, err
		}
		res := s.call(ctx, r, rec, a, deadline)
		if res.abandoned {
			return s.release(ctx, rec, r, time.Time{})
		}
		if rec, r, err = s.record(ctx, rec, a, res); err != nil {
			return r, err
		}
	}
	return r, nil
}

// acquire takes the saga's lease unless it is terminal or another replica holds it (ok false).
func (s *Service) acquire(ctx context.Context, id string) (rec SagaRecord, r domain.Redemption, ok bool, err error) {
	err = s.store.RedemptionTx(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := tx.RedemptionSaga(ctx, id)
		if err != nil {
			return err
		}
		red, err := tx.Redemption(ctx, id)
		if err != nil {
			return err
		}
		rec, r, ok = cur, red, false
		now := s.opts.Wall()
		if cur.Saga.Status.Terminal() || (cur.LeaseOwner != "" && cur.LeaseOwner != s.opts.Owner && cur.LeaseUntil.After(now)) {
			return nil
		}
		next := cur
		next.LeaseOwner, next.LeaseUntil, next.Version = s.opts.Owner, now.Add(s.opts.Lease), cur.Version+1
		if err := tx.PutRedemptionSaga(ctx, next); err != nil {
			return err
		}
		rec, ok = next, true
		return nil
	})
	if err != nil {
		return SagaRecord{}, domain.Redemption{}, false, fmt.Errorf("take redemption saga %s: %w", id, err)
	}
	return rec, r, ok, nil
}

// owned re-reads the saga in tx and checks that this replica still holds it at rec's version.
func (s *Service) owned(ctx context.Context, tx Tx, rec SagaRecord) (SagaRecord, error) {
	cur, err := tx.RedemptionSaga(ctx, rec.Saga.RedemptionID)
	if err != nil {
		return SagaRecord{}, err
	}
	if cur.Version != rec.Version || cur.LeaseOwner != s.opts.Owner {
		return SagaRecord{}, leaseLost(rec.Saga.RedemptionID)
	}
	return cur, nil
}

// renew extends the lease before a call.
func (s *Service) renew(ctx context.Context, rec SagaRecord) (SagaRecord, error) {
	var out SagaRecord
	err := s.store.RedemptionTx(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := s.owned(ctx, tx, rec)
		if err != nil {
			return err
		}
		cur.LeaseUntil, cur.NextRun, cur.Version = s.opts.Wall().Add(s.opts.Lease), time.Time{}, cur.Version+1
		out = cur
		return tx.PutRedemptionSaga(ctx, cur)
	})
	if err != nil {
		return SagaRecord{}, fmt.Errorf("renew lease of redemption %s: %w", rec.Saga.RedemptionID, err)
	}
	return out, nil
}

// release gives the saga back to the recovery loop, due at nextRun (zero: now).
func (s *Service) release(ctx context.Context, rec SagaRecord, r domain.Redemption, nextRun time.Time) (domain.Redemption, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := s.store.RedemptionTx(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := s.owned(ctx, tx, rec)
		if err != nil {
			return err
		}
		cur.LeaseOwner, cur.LeaseUntil, cur.NextRun, cur.Version = "", time.Time{}, nextRun, cur.Version+1
		return tx.PutRedemptionSaga(ctx, cur)
	})
	if err != nil {
		return r, fmt.Errorf("release redemption saga %s: %w", rec.Saga.RedemptionID, err)
	}
	return r, nil
}

// result is the outcome of one call.
type result struct {
	err       error
	resultID  string
	tenant    CreatedTenant
	prov      Provisioned
	abandoned bool // the call was cut short by the wait's end or shutdown: nothing is recorded
}

// call makes the action's call on behalf of the redemption's actor, bounded by deadline.
func (s *Service) call(ctx context.Context, r domain.Redemption, rec SagaRecord, a domain.Action, deadline time.Time) result {
	cctx := auth.WithPrincipal(ctx, actorPrincipal(r.Actor))
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(cctx, deadline.Sub(s.opts.Wall()))
		defer cancel()
	}
	var res result
	if a.Kind == domain.ActionRun {
		res = s.run(cctx, r, rec, a)
	} else {
		res = result{err: s.compensate(cctx, r, rec, a)}
	}
	if res.err != nil && cctx.Err() != nil {
		res.abandoned = true
	}
	return res
}

func actorPrincipal(a domain.Actor) auth.Principal {
	p := auth.Principal{Subject: a.Subject, OrgID: a.OrgID, OrgKind: auth.OrgKind(a.OrgKind)}
	for _, role := range a.Roles {
		p.Roles = append(p.Roles, auth.Role(role))
	}
	return p
}

// groupKeys are the typed keys of a group, in request order.
func groupKeys(rec SagaRecord, g domain.KeyGroup) []string {
	keys := make([]string, 0, len(g.Indexes))
	for _, i := range g.Indexes {
		if i < len(rec.ProductKeys) {
			keys = append(keys, rec.ProductKeys[i])
		}
	}
	return keys
}

// run makes a step's call (KD-1, KD-2, ID-2, SU-4, SU-6).
func (s *Service) run(ctx context.Context, r domain.Redemption, rec SagaRecord, a domain.Action) result {
	g, _ := r.Group(a.LineID)
	switch a.Step {
	case domain.StepReserveKeys:
		res, err := s.peers.Keys.Reserve(ctx, a.RequestID, r.ID, groupKeys(rec, g), s.opts.ReservationTTL)
		return result{err: err, resultID: res.ID}
	case domain.StepCreateTenant:
		if r.Target.NewTenant == nil {
			return result{err: errs.New(errs.FailedPrecondition, domain.ReasonInvalidStateTransition, "redemption %s has no new tenant", r.ID)}
		}
		t, err := s.peers.Tenants.CreateTenant(ctx, a.RequestID, *r.Target.NewTenant)
		return result{err: err, resultID: t.CustomerID, tenant: t}
	case domain.StepCreateSubscription, domain.StepAddSeats:
		in := ProvisionInput{RedemptionID: r.ID, CustomerID: r.CustomerID, PartnerID: r.PartnerID, SKU: r.SKUs[g.SkuID],
			Seats: g.Seats, Term: g.Term}
		in.SKU.SkuID = g.SkuID
		if a.Step == domain.StepAddSeats {
			in.AddToSubscriptionID = r.Target.SubscriptionID
		} else {
			in.LicensedUserIDs = r.LicensedUsers() // ID-2: the new tenant's admin gets one seat
		}
		p, err := s.peers.Subscriptions.Provision(ctx, a.RequestID, in)
		return result{err: err, resultID: p.SubscriptionID, prov: p}
	case domain.StepRenewSubscription:
		p, err := s.peers.Subscriptions.Renew(ctx, a.RequestID, RenewInput{RedemptionID: r.ID,
			SubscriptionID: r.Target.SubscriptionID, Term: g.Term, Seats: g.Seats})
		return result{err: err, resultID: p.SubscriptionID, prov: p}
	case domain.StepConfirmKeys:
		reserved, _ := rec.Saga.Task(domain.StepReserveKeys, g.ID)
		provisioned, _ := rec.Saga.Task(domain.ProvisionStep(r.Kind), g.ID)
		err := s.peers.Keys.Confirm(ctx, a.RequestID, reserved.ResultID, r.CustomerID, provisioned.ResultID)
		return result{err: err, resultID: reserved.ResultID}
	case domain.StepComplete:
		return result{}
	}
	return result{err: errs.New(errs.FailedPrecondition, domain.ReasonInvalidStateTransition, "unknown redemption step %q", a.Step)}
}

// compensate undoes a step. A callee that has nothing to undo, or refuses for good, counts as
// compensated (the refusal is reported to OnError); only transient failures are retried.
func (s *Service) compensate(ctx context.Context, r domain.Redemption, rec SagaRecord, a domain.Action) error {
	var err error
	switch a.Compensation {
	case domain.CompensateReleaseReservation:
		err = s.release1(ctx, r, rec, a)
	case domain.CompensateProvisioningStep:
		reason := "key redemption failed"
		if f := rec.Saga.Failure; f != nil {
			reason = fmt.Sprintf("key redemption %s failed at %s: %s", r.ID, f.Step, f.Reason)
		}
		err = s.peers.Subscriptions.Compensate(ctx, a.RequestID, a.StepRequestID, reason)
		if errs.HasReason(err, domain.ReasonStepAlreadyCompensated) {
			err = nil
		}
	default:
		return nil
	}
	if err != nil && !app.Retryable(err) {
		s.opts.OnError(ctx, fmt.Errorf("redemption %s: %s of %s/%s refused, counted as done: %w",
			r.ID, a.Compensation, a.Step, a.LineID, err))
		return nil
	}
	return err
}

// release1 releases a group's reservation. When the reserve call's answer was lost (an uncertain
// task), the reserve request is repeated to learn the reservation: keys answers the first result
// if it acted, and a refusal means nothing is held.
func (s *Service) release1(ctx context.Context, r domain.Redemption, rec SagaRecord, a domain.Action) error {
	t, _ := rec.Saga.Task(a.Step, a.LineID)
	id := t.ResultID
	if id == "" {
		g, _ := r.Group(a.LineID)
		res, err := s.peers.Keys.Reserve(ctx, a.StepRequestID, r.ID, groupKeys(rec, g), s.opts.ReservationTTL)
		if err != nil {
			if app.Retryable(err) {
				return err
			}
			return nil
		}
		id = res.ID
	}
	err := s.peers.Keys.Release(ctx, a.RequestID, id)
	if errs.KindOf(err) == errs.NotFound {
		return nil
	}
	return err
}

// record stores the call's result: the saga's next state and what it changes in the redemption,
// in one transaction, provided this replica still holds the saga.
func (s *Service) record(ctx context.Context, rec SagaRecord, a domain.Action, res result) (SagaRecord, domain.Redemption, error) {
	var outRec SagaRecord
	var outRed domain.Redemption
	err := s.store.RedemptionTx(ctx, func(ctx context.Context, tx Tx) error {
		cur, err := s.owned(ctx, tx, rec)
		if err != nil {
			return err
		}
		r, err := tx.Redemption(ctx, rec.Saga.RedemptionID)
		if err != nil {
			return err
		}
		next, now := cur, s.opts.Wall()
		var d time.Duration
		switch {
		case a.Kind == domain.ActionRun && res.err == nil:
			next.Saga, err = cur.Saga.Done(a.Step, a.LineID, res.resultID)
			applyDone(&r, a, res)
		case a.Kind == domain.ActionRun:
			retryable := app.Retryable(res.err)
			next.Saga, d, err = cur.Saga.Failed(a.Step, a.LineID, failureOf(res.err, retryable), retryable, now, s.opts.Retry)
		case res.err == nil:
			next.Saga, err = cur.Saga.Compensated(a.Step, a.LineID)
		default:
			next.Saga, d, err = cur.Saga.CompensationFailed(a.Step, a.LineID, now, s.opts.Retry)
		}
		if err != nil {
			return err
		}
		if d > 0 {
			next.NextRun = now.Add(d)
		}
		bnow := s.opts.Clock.Now()
		switch next.Saga.Status {
		case domain.SagaCompleted:
			r.State, r.CompleteTime = domain.RedemptionCompleted, bnow
		case domain.SagaFailed:
			r.State, r.CompleteTime, r.Failure, r.Outcomes = domain.RedemptionFailed, bnow, next.Saga.Failure, nil
		}
		if next.Saga.Status.Terminal() {
			next.LeaseOwner, next.LeaseUntil, next.NextRun = "", time.Time{}, time.Time{}
		}
		if next.Saga.Status.Terminal() || keysReserved(next.Saga) {
			// KD-8: the typed keys are kept only until every group's reservation is made; the
			// later steps and the compensations name the reservations, not the keys.
			next.ProductKeys = nil
		}
		next.Version = cur.Version + 1
		if err := tx.PutRedemptionSaga(ctx, next); err != nil {
			return err
		}
		r.Version, r.UpdateTime = r.Version+1, bnow
		if err := tx.UpdateRedemption(ctx, r); err != nil {
			return err
		}
		outRec, outRed = next, r
		return nil
	})
	if err != nil {
		return rec, domain.Redemption{}, fmt.Errorf("record %s %s/%s of redemption %s: %w", a.Kind, a.Step, a.LineID,
			rec.Saga.RedemptionID, err)
	}
	return outRec, outRed, nil
}

// applyDone writes what a successful step made into the redemption.
func applyDone(r *domain.Redemption, a domain.Action, res result) {
	switch a.Step {
	case domain.StepCreateTenant: // ID-2, KD-2
		r.CustomerID, r.TenantCreated, r.AdminUserID = res.tenant.CustomerID, true, res.tenant.AdminUserID
	case domain.StepCreateSubscription, domain.StepAddSeats, domain.StepRenewSubscription:
		g, _ := r.Group(a.LineID)
		r.Outcomes = slices.Clone(r.Outcomes) // never write through to a slice the caller shares
		i := r.OutcomeIndex(a.LineID)
		if i < 0 {
			r.Outcomes = append(r.Outcomes, domain.Outcome{GroupID: g.ID, SkuID: g.SkuID, Kind: r.Kind, Seats: g.Seats})
			i = len(r.Outcomes) - 1
		}
		o := &r.Outcomes[i]
		o.SubscriptionID = res.prov.SubscriptionID
		if res.prov.Quantity > 0 {
			o.TotalQuantity = res.prov.Quantity
		}
		if !res.prov.TermStart.IsZero() {
			o.TermStart = res.prov.TermStart
		}
		if !res.prov.TermEnd.IsZero() {
			o.TermEnd = res.prov.TermEnd
		}
		o.DaysForfeited = res.prov.DaysForfeited // SU-4
		// ID-2: as subscriptions answered, not as asked
		o.AdminLicensed = r.Kind == domain.RedeemNewTenant && r.AdminUserID != "" &&
			slices.Contains(res.prov.LicensedUserIDs, r.AdminUserID)
	}
}

// failureOf is the saga failure of a refused call: the callee's reason, message and metadata; a
// call that kept failing transiently is DEPENDENCY_UNAVAILABLE.
func failureOf(err error, retryable bool) domain.Failure {
	if retryable {
		return domain.Failure{Reason: domain.ReasonDependencyUnavailable, Message: "a service the redemption needs did not answer"}
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return domain.Failure{Reason: e.Reason, Message: e.Message, Metadata: e.Metadata}
	}
	return domain.Failure{Reason: domain.ReasonProvisioningFailed, Message: "a step of the redemption failed"}
}

// keysReserved reports whether every reserve_keys task of the saga is done.
func keysReserved(s domain.RedemptionSaga) bool {
	for _, t := range s.Tasks {
		if t.Step == domain.StepReserveKeys && t.Status != domain.TaskDone {
			return false
		}
	}
	return true
}
