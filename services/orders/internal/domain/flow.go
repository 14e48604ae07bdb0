package domain

import (
	"time"

	"github.com/partnerhub/partnerhub/pkg/errs"
)

// Flow is the state machine both sagas share, the order saga (Saga) and the key redemption saga
// (RedemptionSaga): tasks in execution order run one at a time; a refusal, or a retryable failure
// whose attempts ran out, starts compensation, which runs the compensations of the done tasks
// (and of the one that gave up, since its callee may have acted) one at a time in exactly the
// reverse order, retried without limit; then the saga is FAILED with the refusal. Each saga says
// which compensation undoes which of its steps (a plan) and how its calls are named; Flow does
// the rest. Methods never modify the receiver.
type Flow struct {
	Status  SagaStatus
	Tasks   []Task   // in execution order
	Failure *Failure // set once a step was refused
}

// plan is what a saga tells its Flow: the compensation of each step, the request IDs of a step's
// call and of its compensation, and the name its errors give it ("order <id>").
type plan struct {
	compensation      func(Step) Compensation
	requestID         func(step Step, lineID string) string
	compensationReqID func(step Step, lineID string) string
	name              string
}

func (f Flow) needsCompensation(p plan, t Task) bool {
	if p.compensation(t.Step) == CompensateNone {
		return false
	}
	return t.Status == TaskDone || (t.Status == TaskFailed && t.Uncertain)
}

// current is the index of the task the next action works on, or -1.
func (f Flow) current(p plan) int {
	switch f.Status {
	case SagaRunning:
		for i, t := range f.Tasks {
			if t.Status == TaskPending {
				return i
			}
		}
	case SagaCompensating:
		for i := len(f.Tasks) - 1; i >= 0; i-- {
			if f.needsCompensation(p, f.Tasks[i]) {
				return i
			}
		}
	}
	return -1
}

// next is the call to make, or false when the saga is terminal.
func (f Flow) next(p plan) (Action, bool) {
	i := f.current(p)
	if i < 0 {
		return Action{}, false
	}
	t := f.Tasks[i]
	if f.Status == SagaRunning {
		return Action{Kind: ActionRun, Step: t.Step, LineID: t.LineID, Attempt: t.Attempts + 1,
			RequestID: p.requestID(t.Step, t.LineID), NotBefore: t.RetryAt}, true
	}
	return Action{Kind: ActionCompensate, Step: t.Step, LineID: t.LineID,
		Compensation: p.compensation(t.Step), Attempt: t.CompensationAttempts + 1,
		RequestID:     p.compensationReqID(t.Step, t.LineID),
		StepRequestID: p.requestID(t.Step, t.LineID), NotBefore: t.RetryAt}, true
}

func (f Flow) clone() Flow {
	c := f
	c.Tasks = append([]Task(nil), f.Tasks...)
	return c
}

// expect returns the current task's index if it is (step, lineID) in the given status.
func (f Flow) expect(p plan, status SagaStatus, kind ActionKind, step Step, lineID string) (int, error) {
	i := f.current(p)
	if f.Status != status || i < 0 || f.Tasks[i].Step != step || f.Tasks[i].LineID != lineID {
		return -1, errs.New(errs.FailedPrecondition, ReasonInvalidStateTransition,
			"saga of %s: %s %s/%s is not the current action", p.name, kind, step, lineID).
			With("step", step).With("line_id", lineID).With("status", f.Status)
	}
	return i, nil
}

// task returns the task of step for lineID.
func (f Flow) task(step Step, lineID string) (Task, bool) {
	for _, t := range f.Tasks {
		if t.Step == step && t.LineID == lineID {
			return t, true
		}
	}
	return Task{}, false
}

func (f Flow) done(p plan, step Step, lineID, resultID string) (Flow, error) {
	if t, ok := f.task(step, lineID); ok && t.Status == TaskDone && t.ResultID == resultID {
		return f, nil // a reply replayed after a crash
	}
	i, err := f.expect(p, SagaRunning, ActionRun, step, lineID)
	if err != nil {
		return f, err
	}
	c := f.clone()
	c.Tasks[i].Status, c.Tasks[i].ResultID, c.Tasks[i].RetryAt = TaskDone, resultID, time.Time{}
	c.Tasks[i].Attempts++
	if step == StepComplete {
		c.Status = SagaCompleted
	}
	return c, nil
}

func (f Flow) failed(p plan, step Step, lineID string, fl Failure, retryable bool, at time.Time, rp RetryPolicy) (Flow, time.Duration, error) {
	i, err := f.expect(p, SagaRunning, ActionRun, step, lineID)
	if err != nil {
		return f, 0, err
	}
	c := f.clone()
	t := &c.Tasks[i]
	t.Attempts++
	if retryable && t.Attempts < rp.MaxAttempts {
		d := rp.Delay(t.Attempts)
		t.RetryAt = at.Add(d)
		return c, d, nil
	}
	t.Status, t.Uncertain, t.RetryAt = TaskFailed, retryable, time.Time{}
	fl.Step = step
	if fl.Reason == "" {
		fl.Reason = ReasonProvisioningFailed
	}
	c.Failure = &fl
	c.Status = SagaCompensating
	c.settle(p)
	return c, 0, nil
}

func (f Flow) compensated(p plan, step Step, lineID string) (Flow, error) {
	i, err := f.expect(p, SagaCompensating, ActionCompensate, step, lineID)
	if err != nil {
		return f, err
	}
	c := f.clone()
	c.Tasks[i].Status, c.Tasks[i].RetryAt = TaskCompensated, time.Time{}
	c.Tasks[i].CompensationAttempts++
	c.settle(p)
	return c, nil
}

func (f Flow) compensationFailed(p plan, step Step, lineID string, at time.Time, rp RetryPolicy) (Flow, time.Duration, error) {
	i, err := f.expect(p, SagaCompensating, ActionCompensate, step, lineID)
	if err != nil {
		return f, 0, err
	}
	c := f.clone()
	c.Tasks[i].CompensationAttempts++
	d := rp.Delay(c.Tasks[i].CompensationAttempts)
	c.Tasks[i].RetryAt = at.Add(d)
	return c, d, nil
}

// settle ends a compensating saga FAILED when nothing is left to compensate.
func (f *Flow) settle(p plan) {
	if f.Status == SagaCompensating && f.current(p) < 0 {
		f.Status = SagaFailed
	}
}
