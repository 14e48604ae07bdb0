package domain

import "time"

// Project returns o as its saga s shows it at now (OR-1): the IDs each line's done tasks
// produced (cleared again once compensated), the line states and the order state. It is how the
// saga runner keeps GetOrder's per-line provisioning status in step with the saga, and is
// pure: the same saga always gives the same order, whatever was projected before (complete
// times stay as first set).
//
//	saga RUNNING       order PROVISIONING; a line PROVISIONED once its charge is recorded
//	saga COMPLETED     order COMPLETED
//	saga COMPENSATING  order COMPENSATING with the failure; the refused line FAILED
//	saga FAILED        order FAILED; the refused line FAILED, every other line COMPENSATED
func Project(o Order, s Saga, now time.Time) Order {
	c := o.clone()
	for i := range c.Lines {
		l := &c.Lines[i]
		l.SubscriptionID, l.EntitlementID, l.ChargeID, l.Failure = "", "", "", nil
		charged := false
		var failed *Task
		for ti := range s.Tasks {
			t := s.Tasks[ti]
			if t.LineID != l.ID {
				continue
			}
			// The refused task; one that gave up after its retries (Uncertain) is compensated
			// like a done one afterwards, and still is the line's failure.
			if s.Failure != nil && s.Failure.Step == t.Step &&
				(t.Status == TaskFailed || (t.Status == TaskCompensated && t.Uncertain)) {
				failed = &s.Tasks[ti]
			}
			if t.Status != TaskDone {
				continue
			}
			switch t.Step {
			case StepCreateSubscription:
				l.SubscriptionID = t.ResultID
			case StepIssueEntitlements:
				l.EntitlementID = t.ResultID
			case StepRecordCharge:
				l.ChargeID, charged = t.ResultID, true
			}
		}
		switch {
		case failed != nil:
			l.State = LineFailed
			if s.Failure != nil {
				f := *s.Failure
				l.Failure = &f
			}
			setOnce(&l.CompleteTime, now)
		case s.Status == SagaFailed:
			l.State = LineCompensated
			setOnce(&l.CompleteTime, now)
		case charged:
			l.State = LineProvisioned
			setOnce(&l.CompleteTime, now)
		default:
			l.State = LineProvisioning
		}
	}
	switch s.Status {
	case SagaRunning:
		c.State = OrderProvisioning
	case SagaCompleted:
		c.State = OrderCompleted
		setOnce(&c.CompleteTime, now)
	case SagaCompensating:
		c.State, c.Failure = OrderCompensating, cloneFailure(s.Failure)
	case SagaFailed:
		c.State, c.Failure = OrderFailed, cloneFailure(s.Failure)
		setOnce(&c.CompleteTime, now)
	}
	return c
}

func setOnce(t *time.Time, now time.Time) {
	if t.IsZero() {
		*t = now
	}
}

func cloneFailure(f *Failure) *Failure {
	if f == nil {
		return nil
	}
	c := *f
	return &c
}

// CancelRequestIDFor is the request ID of the call that applies line lineID's cancellation in
// service svc (OR-4): deterministic like RequestIDFor, so an applier that runs again after a
// crash, or on another replica, repeats the very same request.
func CancelRequestIDFor(orderID, lineID string, svc Service) string {
	return uuidV5("order/" + orderID + "/cancel/line/" + lineID + "/" + string(svc))
}

// CancellationRefused undoes the confirmation of a line's cancellation that the subscriptions
// service refused when it came to apply it (SU-10: the window closed in between, or the
// subscription is never cancellable): the line is PROVISIONED again without a cancellation, and
// the order settles as the other lines say. Nothing else was applied for the line: the applier
// asks subscriptions first.
func CancellationRefused(o Order, lineID string, now time.Time) (Order, error) {
	_, i := o.Line(lineID)
	if i < 0 || o.Lines[i].State != LineCancelling {
		return o, nil
	}
	c := o.clone()
	c.Lines[i].State, c.Lines[i].Cancellation = LineProvisioned, nil
	c.settleCancellation()
	c.Version++
	c.UpdateTime = now
	return c, nil
}
