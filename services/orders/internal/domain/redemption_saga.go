package domain

import (
	"fmt"
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// The key redemption saga as data (KD-1, KD-2, SU-4), in the manner of the order saga (saga.go):
// tasks in execution order, one call at a time, Next/Done/Failed/Compensated returning the new
// state that the app stores before its next call, and deterministic request IDs per redemption,
// step and key group, so that a saga resumed after a crash repeats the very same request and the
// callee's idempotency store answers with the first result (OR-7).

// The steps of the redemption saga; their values are the Failure.step the API shows.
const (
	StepReserveKeys       Step = "reserve_keys"       // keys: ReserveProductKeys, per key group
	StepCreateTenant      Step = "create_tenant"      // identity: CreateCustomer with its admin (ID-2), NEW_TENANT only
	StepAddSeats          Step = "add_seats"          // subscriptions: ProvisionSubscription add_to (SU-6)
	StepRenewSubscription Step = "renew_subscription" // subscriptions: RenewSubscription (SU-4)
	StepConfirmKeys       Step = "confirm_keys"       // keys: ConfirmRedemption, per key group (KD-1)
	// StepCreateSubscription (saga.go) creates the group's subscription; StepComplete ends it.
)

// The redemption saga's compensations.
const (
	// CompensateReleaseReservation gives reserved keys back (ReleaseReservation).
	CompensateReleaseReservation Compensation = "release_reservation"
	// CompensateProvisioningStep undoes a created subscription, added seats or a renewal
	// (CompensateProvisioning, named by the step's request ID).
	CompensateProvisioningStep Compensation = "compensate_provisioning"
)

// ProvisionStep is the step that creates, extends or renews the subscription of a key group for
// a redemption of kind k.
func ProvisionStep(k RedemptionKind) Step {
	switch k {
	case RedeemAddSeats:
		return StepAddSeats
	case RedeemRenewal:
		return StepRenewSubscription
	}
	return StepCreateSubscription
}

// RedemptionSteps is the saga of a redemption of kind k, in execution order: reserve every
// group's keys; create the tenant (NEW_TENANT); create, extend or renew each group's
// subscription; confirm every group's keys as redeemed; complete. Compensation runs in reverse:
// provisioning is undone, reservations are released. The tenant has no compensation: identity
// offers no way to delete a tenant, so a failed NEW_TENANT redemption leaves the empty tenant.
// Keys are confirmed last because a confirmation cannot be undone (KD-1).
func RedemptionSteps(k RedemptionKind) []StepSpec {
	specs := []StepSpec{{StepReserveKeys, ScopeEveryLine, CompensateReleaseReservation}}
	if k == RedeemNewTenant {
		specs = append(specs, StepSpec{StepCreateTenant, ScopeOrder, CompensateNone})
	}
	return append(specs,
		StepSpec{ProvisionStep(k), ScopeEveryLine, CompensateProvisioningStep},
		StepSpec{StepConfirmKeys, ScopeEveryLine, CompensateNone},
		StepSpec{StepComplete, ScopeOrder, CompensateNone})
}

func redemptionSpecOf(k RedemptionKind, s Step) StepSpec {
	for _, sp := range RedemptionSteps(k) {
		if sp.Step == s {
			return sp
		}
	}
	return StepSpec{Step: s}
}

// RedemptionSaga is the stored state of one redemption's saga. Task.LineID holds the key group
// ID ("" for the tenant and complete steps). Methods never modify the receiver.
type RedemptionSaga struct {
	RedemptionID string
	Kind         RedemptionKind
	Status       SagaStatus
	Tasks        []Task
	Failure      *Failure
}

// NewRedemptionSaga lays out the tasks of a redemption of kind k over its key groups.
func NewRedemptionSaga(redemptionID string, k RedemptionKind, groups []KeyGroup) RedemptionSaga {
	s := RedemptionSaga{RedemptionID: redemptionID, Kind: k, Status: SagaRunning}
	for _, sp := range RedemptionSteps(k) {
		if sp.Scope == ScopeOrder {
			s.Tasks = append(s.Tasks, Task{Step: sp.Step, Status: TaskPending})
			continue
		}
		for _, g := range groups {
			s.Tasks = append(s.Tasks, Task{Step: sp.Step, LineID: g.ID, Status: TaskPending})
		}
	}
	return s
}

func (s RedemptionSaga) needsCompensation(t Task) bool {
	if redemptionSpecOf(s.Kind, t.Step).Compensation == CompensateNone {
		return false
	}
	return t.Status == TaskDone || (t.Status == TaskFailed && t.Uncertain)
}

// Task returns the task of step for group ("" for once-only steps).
func (s RedemptionSaga) Task(step Step, group string) (Task, bool) {
	for _, t := range s.Tasks {
		if t.Step == step && t.LineID == group {
			return t, true
		}
	}
	return Task{}, false
}

// Next returns the call to make, or false when the saga is terminal. Action.LineID is the key
// group.
func (s RedemptionSaga) Next() (Action, bool) {
	i := s.current()
	if i < 0 {
		return Action{}, false
	}
	t := s.Tasks[i]
	if s.Status == SagaRunning {
		return Action{Kind: ActionRun, Step: t.Step, LineID: t.LineID, Attempt: t.Attempts + 1,
			RequestID: RedemptionRequestIDFor(s.RedemptionID, t.Step, t.LineID), NotBefore: t.RetryAt}, true
	}
	return Action{Kind: ActionCompensate, Step: t.Step, LineID: t.LineID,
		Compensation: redemptionSpecOf(s.Kind, t.Step).Compensation, Attempt: t.CompensationAttempts + 1,
		RequestID:     RedemptionCompensationRequestIDFor(s.RedemptionID, t.Step, t.LineID),
		StepRequestID: RedemptionRequestIDFor(s.RedemptionID, t.Step, t.LineID), NotBefore: t.RetryAt}, true
}

func (s RedemptionSaga) current() int {
	switch s.Status {
	case SagaRunning:
		for i, t := range s.Tasks {
			if t.Status == TaskPending {
				return i
			}
		}
	case SagaCompensating:
		for i := len(s.Tasks) - 1; i >= 0; i-- {
			if s.needsCompensation(s.Tasks[i]) {
				return i
			}
		}
	}
	return -1
}

func (s RedemptionSaga) clone() RedemptionSaga {
	c := s
	c.Tasks = append([]Task(nil), s.Tasks...)
	return c
}

func (s RedemptionSaga) expect(status SagaStatus, kind ActionKind, step Step, group string) (int, error) {
	i := s.current()
	if s.Status != status || i < 0 || s.Tasks[i].Step != step || s.Tasks[i].LineID != group {
		return -1, errs.New(errs.FailedPrecondition, ReasonInvalidStateTransition,
			"saga of redemption %s: %s %s/%s is not the current action", s.RedemptionID, kind, step, group).
			With("step", step).With("group", group).With("status", s.Status)
	}
	return i, nil
}

// Done records that the current task's call succeeded with resultID (reservation, customer or
// subscription ID). Done of the complete step ends the saga COMPLETED. A repeated Done of a task
// done with the same result is a no-op (a reply replayed after a crash).
func (s RedemptionSaga) Done(step Step, group, resultID string) (RedemptionSaga, error) {
	if t, ok := s.Task(step, group); ok && t.Status == TaskDone && t.ResultID == resultID {
		return s, nil
	}
	i, err := s.expect(SagaRunning, ActionRun, step, group)
	if err != nil {
		return s, err
	}
	c := s.clone()
	c.Tasks[i].Status, c.Tasks[i].ResultID, c.Tasks[i].RetryAt = TaskDone, resultID, time.Time{}
	c.Tasks[i].Attempts++
	if step == StepComplete {
		c.Status = SagaCompleted
	}
	return c, nil
}

// Failed records that the current task's call failed at time at: a retryable failure with
// attempts left keeps it pending until at + the policy's delay (returned); anything else fails
// the task, records f (Step filled in) and starts compensation in reverse order, or ends the
// saga FAILED at once when nothing needs compensation.
func (s RedemptionSaga) Failed(step Step, group string, f Failure, retryable bool, at time.Time, p RetryPolicy) (RedemptionSaga, time.Duration, error) {
	i, err := s.expect(SagaRunning, ActionRun, step, group)
	if err != nil {
		return s, 0, err
	}
	c := s.clone()
	t := &c.Tasks[i]
	t.Attempts++
	if retryable && t.Attempts < p.MaxAttempts {
		d := p.Delay(t.Attempts)
		t.RetryAt = at.Add(d)
		return c, d, nil
	}
	t.Status, t.Uncertain, t.RetryAt = TaskFailed, retryable, time.Time{}
	f.Step = step
	if f.Reason == "" {
		f.Reason = ReasonProvisioningFailed
	}
	c.Failure = &f
	c.Status = SagaCompensating
	c.settle()
	return c, 0, nil
}

// Compensated records that the current compensation succeeded (or had nothing to undo).
func (s RedemptionSaga) Compensated(step Step, group string) (RedemptionSaga, error) {
	i, err := s.expect(SagaCompensating, ActionCompensate, step, group)
	if err != nil {
		return s, err
	}
	c := s.clone()
	c.Tasks[i].Status, c.Tasks[i].RetryAt = TaskCompensated, time.Time{}
	c.Tasks[i].CompensationAttempts++
	c.settle()
	return c, nil
}

// CompensationFailed records that the current compensation failed at time at; compensations are
// retried without limit at the policy's capped delay (an orphan reservation would hold the keys,
// an orphan subscription would give seats away).
func (s RedemptionSaga) CompensationFailed(step Step, group string, at time.Time, p RetryPolicy) (RedemptionSaga, time.Duration, error) {
	i, err := s.expect(SagaCompensating, ActionCompensate, step, group)
	if err != nil {
		return s, 0, err
	}
	c := s.clone()
	c.Tasks[i].CompensationAttempts++
	d := p.Delay(c.Tasks[i].CompensationAttempts)
	c.Tasks[i].RetryAt = at.Add(d)
	return c, d, nil
}

func (s *RedemptionSaga) settle() {
	if s.Status == SagaCompensating && s.current() < 0 {
		s.Status = SagaFailed
	}
}

// RedemptionRequestIDFor is the request ID of a redemption step's call: UUIDv5 of
// "redemption/<id>/step/<step>/group/<group>" in the saga namespace. Deterministic, independent of
// the attempt: a resumed saga repeats the same request (OR-7).
func RedemptionRequestIDFor(redemptionID string, step Step, group string) string {
	return uuidV5(fmt.Sprintf("redemption/%s/step/%s/group/%s", redemptionID, step, group))
}

// RedemptionCompensationRequestIDFor is the request ID of a step's compensation.
func RedemptionCompensationRequestIDFor(redemptionID string, step Step, group string) string {
	return uuidV5(fmt.Sprintf("redemption/%s/step/%s/group/%s/compensate", redemptionID, step, group))
}

// RedemptionIDFor derives a redemption's ID from the caller's scope and request ID, so that two
// replicas racing on the same request make the same redemption (the store keeps one).
func RedemptionIDFor(scope, requestID string) string {
	return uuidV5(fmt.Sprintf("redemption-request/%s/%s", scope, requestID))
}
