package domain

import (
	"fmt"
	"time"
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
	Flow
}

// plan is the redemption saga's part of its Flow: RedemptionSteps' compensations and
// RedemptionRequestIDFor's names.
func (s RedemptionSaga) plan() plan {
	return plan{
		compensation: func(st Step) Compensation { return redemptionSpecOf(s.Kind, st).Compensation },
		requestID:    func(st Step, group string) string { return RedemptionRequestIDFor(s.RedemptionID, st, group) },
		compensationReqID: func(st Step, group string) string {
			return RedemptionCompensationRequestIDFor(s.RedemptionID, st, group)
		},
		name: "redemption " + s.RedemptionID,
	}
}

// NewRedemptionSaga lays out the tasks of a redemption of kind k over its key groups.
func NewRedemptionSaga(redemptionID string, k RedemptionKind, groups []KeyGroup) RedemptionSaga {
	s := RedemptionSaga{RedemptionID: redemptionID, Kind: k, Flow: Flow{Status: SagaRunning}}
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

// Task returns the task of step for group ("" for once-only steps).
func (s RedemptionSaga) Task(step Step, group string) (Task, bool) { return s.Flow.task(step, group) }

// Next returns the call to make, or false when the saga is terminal. Action.LineID is the key
// group.
func (s RedemptionSaga) Next() (Action, bool) { return s.Flow.next(s.plan()) }

// Done records that the current task's call succeeded with resultID (reservation, customer or
// subscription ID). Done of the complete step ends the saga COMPLETED. A repeated Done of a task
// done with the same result is a no-op (a reply replayed after a crash).
func (s RedemptionSaga) Done(step Step, group, resultID string) (RedemptionSaga, error) {
	f, err := s.Flow.done(s.plan(), step, group, resultID)
	s.Flow = f
	return s, err
}

// Failed records that the current task's call failed at time at: a retryable failure with
// attempts left keeps it pending until at + the policy's delay (returned); anything else fails
// the task, records f (Step filled in) and starts compensation in reverse order, or ends the
// saga FAILED at once when nothing needs compensation.
func (s RedemptionSaga) Failed(step Step, group string, f Failure, retryable bool, at time.Time, p RetryPolicy) (RedemptionSaga, time.Duration, error) {
	fl, d, err := s.Flow.failed(s.plan(), step, group, f, retryable, at, p)
	s.Flow = fl
	return s, d, err
}

// Compensated records that the current compensation succeeded (or had nothing to undo).
func (s RedemptionSaga) Compensated(step Step, group string) (RedemptionSaga, error) {
	f, err := s.Flow.compensated(s.plan(), step, group)
	s.Flow = f
	return s, err
}

// CompensationFailed records that the current compensation failed at time at; compensations are
// retried without limit at the policy's capped delay (an orphan reservation would hold the keys,
// an orphan subscription would give seats away).
func (s RedemptionSaga) CompensationFailed(step Step, group string, at time.Time, p RetryPolicy) (RedemptionSaga, time.Duration, error) {
	f, d, err := s.Flow.compensationFailed(s.plan(), step, group, at, p)
	s.Flow = f
	return s, d, err
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
