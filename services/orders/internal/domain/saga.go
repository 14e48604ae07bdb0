package domain

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Step is one step of the order saga; its value is the Failure.step the API shows.
type Step string

// The steps of the order saga, in the order they run (OR-1).
const (
	StepCheckRelationship  Step = "check_relationship"  // identity: customer, reseller relationship (ID-4)
	StepCheckCatalog       Step = "check_catalog"       // catalog: availability, price, policies (CA-2..CA-10)
	StepCreateSubscription Step = "create_subscription" // subscriptions: one per line
	StepIssueEntitlements  Step = "issue_entitlements"  // keys: lines with a MAK key or downloads (CA-7)
	StepRecordCharge       Step = "record_charge"       // ledger: one first charge per line (BI-2)
	StepComplete           Step = "complete"            // local: the order becomes COMPLETED
)

// Scope says which tasks a step makes of an order.
type Scope string

// The scopes.
const (
	ScopeOrder        Scope = "ORDER"         // one task for the whole order (line ID "")
	ScopeEveryLine    Scope = "EVERY_LINE"    // one task per line
	ScopeEntitledLine Scope = "ENTITLED_LINE" // one task per line that NeedsEntitlements
)

// Compensation is what undoes a step; "" means the step changes nothing to undo.
type Compensation string

// The compensations.
const (
	CompensateNone               Compensation = ""
	CompensateCancelSubscription Compensation = "cancel_subscription" // CompensateProvisioning
	CompensateRevokeEntitlements Compensation = "revoke_entitlements" // RevokeEntitlements
	CompensateReverseCharge      Compensation = "reverse_charge"      // a reversing ledger entry
)

// StepSpec declares a step: its scope and its compensation.
type StepSpec struct {
	Step         Step
	Scope        Scope
	Compensation Compensation
}

// Steps returns the order saga as data, in execution order (OR-1). Compensation runs the
// compensations of the done tasks in exactly the reverse order.
func Steps() []StepSpec {
	return []StepSpec{
		{StepCheckRelationship, ScopeOrder, CompensateNone},
		{StepCheckCatalog, ScopeOrder, CompensateNone},
		{StepCreateSubscription, ScopeEveryLine, CompensateCancelSubscription},
		{StepIssueEntitlements, ScopeEntitledLine, CompensateRevokeEntitlements},
		{StepRecordCharge, ScopeEveryLine, CompensateReverseCharge},
		{StepComplete, ScopeOrder, CompensateNone},
	}
}

func specOf(s Step) StepSpec {
	for _, sp := range Steps() {
		if sp.Step == s {
			return sp
		}
	}
	return StepSpec{Step: s}
}

// TaskStatus is where one task (a step for one line, or for the order) is.
type TaskStatus string

// The task statuses.
const (
	TaskPending     TaskStatus = "PENDING"     // not run yet, or waiting for a retry (RetryAt)
	TaskDone        TaskStatus = "DONE"        // the callee acted; ResultID holds what it made
	TaskFailed      TaskStatus = "FAILED"      // refused, or retries exhausted (Uncertain)
	TaskCompensated TaskStatus = "COMPENSATED" // its compensation succeeded
)

// Task is one call of the saga: a step for one line (or for the whole order, LineID "").
type Task struct {
	Step     Step
	LineID   string
	Status   TaskStatus
	Attempts int // calls of the action that have ended (done or failed)
	// Uncertain is set on a task that failed only because retries ran out (UNAVAILABLE,
	// deadline): the callee may have acted, so the task is compensated like a done one; the
	// callee answers "nothing to compensate" when it never acted.
	Uncertain            bool
	CompensationAttempts int
	RetryAt              time.Time // the earliest time of the next call; zero for "now"
	ResultID             string    // subscription, entitlement or ledger entry ID
}

// SagaStatus is the saga's overall status; COMPLETED and FAILED are terminal.
type SagaStatus string

// The saga statuses.
const (
	SagaRunning      SagaStatus = "RUNNING"
	SagaCompensating SagaStatus = "COMPENSATING"
	SagaCompleted    SagaStatus = "COMPLETED"
	SagaFailed       SagaStatus = "FAILED"
)

// Terminal reports whether nothing is left to do.
func (s SagaStatus) Terminal() bool { return s == SagaCompleted || s == SagaFailed }

// Saga is the stored state of one order's saga. Methods never modify the receiver; they return
// the new state, which the app layer writes before making the next call.
type Saga struct {
	OrderID string
	Flow
}

// plan is the order saga's part of its Flow: Steps' compensations and RequestIDFor's names.
func (s Saga) plan() plan {
	return plan{
		compensation:      func(st Step) Compensation { return specOf(st).Compensation },
		requestID:         func(st Step, line string) string { return RequestIDFor(s.OrderID, st, line) },
		compensationReqID: func(st Step, line string) string { return CompensationRequestIDFor(s.OrderID, st, line) },
		name:              "order " + s.OrderID,
	}
}

// NewSaga lays out the tasks of o: for each step of Steps, one task for the order or one per
// line of its scope, lines in order.
func NewSaga(o Order) Saga {
	s := Saga{OrderID: o.ID, Flow: Flow{Status: SagaRunning}}
	for _, sp := range Steps() {
		switch sp.Scope {
		case ScopeOrder:
			s.Tasks = append(s.Tasks, Task{Step: sp.Step, Status: TaskPending})
		default:
			for _, l := range o.Lines {
				if sp.Scope == ScopeEntitledLine && !l.NeedsEntitlements() {
					continue
				}
				s.Tasks = append(s.Tasks, Task{Step: sp.Step, LineID: l.ID, Status: TaskPending})
			}
		}
	}
	return s
}

// ActionKind says whether an action runs a step or compensates it.
type ActionKind string

// The action kinds.
const (
	ActionRun        ActionKind = "RUN"
	ActionCompensate ActionKind = "COMPENSATE"
)

// Action is the one call the saga wants made next.
type Action struct {
	Kind         ActionKind
	Step         Step
	LineID       string
	Compensation Compensation // for ActionCompensate
	Attempt      int          // 1 for the first call
	// RequestID is the call's idempotency key (RequestIDFor); for a compensation, the
	// compensation's own key, and StepRequestID the key of the call it undoes.
	RequestID     string
	StepRequestID string
	NotBefore     time.Time // wait until then (a retry's backoff); zero for "now"
}

// Next returns the call to make, or false when the saga is terminal. Tasks run one at a time in
// order; compensations run one at a time in reverse order. A non-terminal saga always has a Next.
func (s Saga) Next() (Action, bool) { return s.Flow.next(s.plan()) }

// Done records that the current task's call succeeded; resultID is what it made (subscription,
// entitlement or ledger entry ID; "" for checks). Done of the complete step ends the saga
// COMPLETED. A repeated Done of a task already done with the same result is a no-op (a reply
// replayed after a crash).
func (s Saga) Done(step Step, lineID, resultID string) (Saga, error) {
	f, err := s.Flow.done(s.plan(), step, lineID, resultID)
	s.Flow = f
	return s, err
}

// Failed records that the current task's call failed at time at. A retryable failure
// (UNAVAILABLE, DEADLINE_EXCEEDED) with attempts left keeps the task pending until at + the
// policy's delay, and Failed returns that delay. Anything else — a refusal, or the last attempt —
// fails the task, records f as the saga's failure (Step filled in) and starts compensation in
// reverse order; with nothing to compensate the saga is FAILED at once.
func (s Saga) Failed(step Step, lineID string, f Failure, retryable bool, at time.Time, p RetryPolicy) (Saga, time.Duration, error) {
	fl, d, err := s.Flow.failed(s.plan(), step, lineID, f, retryable, at, p)
	s.Flow = fl
	return s, d, err
}

// Compensated records that the current compensation succeeded (or that the callee had nothing
// to undo, or answered STEP_ALREADY_COMPENSATED). After the last one the saga is FAILED.
func (s Saga) Compensated(step Step, lineID string) (Saga, error) {
	f, err := s.Flow.compensated(s.plan(), step, lineID)
	s.Flow = f
	return s, err
}

// CompensationFailed records that the current compensation failed at time at. Compensations
// are retried without an attempt limit (at the policy's capped delay): giving up would leave an
// orphan subscription, key or charge. It returns the delay before the next try.
func (s Saga) CompensationFailed(step Step, lineID string, at time.Time, p RetryPolicy) (Saga, time.Duration, error) {
	f, d, err := s.Flow.compensationFailed(s.plan(), step, lineID, at, p)
	s.Flow = f
	return s, d, err
}

// RetryPolicy is the backoff of retryable failures: attempt n (1-based) that failed waits
// Base × 2^(n−1), capped at Max; a run step gets at most MaxAttempts calls.
type RetryPolicy struct {
	Base        time.Duration
	Max         time.Duration
	MaxAttempts int
}

// DefaultRetry: 100 ms, 200 ms, 400 ms, 800 ms, 1.6 s, 3.2 s, 5 s — 8 calls over about 11.3 s,
// then the step fails and the saga compensates.
var DefaultRetry = RetryPolicy{Base: 100 * time.Millisecond, Max: 5 * time.Second, MaxAttempts: 8}

// Delay is the wait after the n-th failed attempt (n ≥ 1).
func (p RetryPolicy) Delay(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// sagaNamespace is the UUIDv5 namespace of saga request IDs (a fixed random UUID; never change
// it, or sagas in flight would repeat their calls with new IDs).
var sagaNamespace = [16]byte{0x6b, 0x1e, 0x9c, 0x52, 0x0d, 0x3a, 0x4f, 0x71,
	0x9a, 0x28, 0x5e, 0x0c, 0x83, 0x4d, 0xb1, 0x07}

// RequestIDFor is the request ID of a step's call: UUIDv5(sagaNamespace,
// "order/<order>/step/<step>/line/<line>"). It is deterministic so that a saga resumed after a
// crash, or a retry, repeats the very same request and the callee's idempotency store returns
// the first answer instead of acting twice (OR-7). It does not depend on the attempt.
func RequestIDFor(orderID string, step Step, lineID string) string {
	return uuidV5(fmt.Sprintf("order/%s/step/%s/line/%s", orderID, step, lineID))
}

// CompensationRequestIDFor is the request ID of a step's compensation (same scheme, suffix
// "/compensate").
func CompensationRequestIDFor(orderID string, step Step, lineID string) string {
	return uuidV5(fmt.Sprintf("order/%s/step/%s/line/%s/compensate", orderID, step, lineID))
}

func uuidV5(name string) string {
	return uuid.NewSHA1(uuid.UUID(sagaNamespace), []byte(name)).String()
}
