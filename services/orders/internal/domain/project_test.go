package domain

import (
	"reflect"
	"regexp"
	"testing"
	"time"
)

// provisioningOrder is sagaOrder as PlaceOrder stores it: PROVISIONING, lines without IDs.
func provisioningOrder() Order {
	o := sagaOrder()
	o.State, o.Version = OrderProvisioning, 1
	for i := range o.Lines {
		l := &o.Lines[i]
		l.State, l.SubscriptionID, l.EntitlementID, l.ChargeID = LineProvisioning, "", "", ""
	}
	return o
}

// doneUpTo runs the saga's actions with Done until (step, line) is next; results name the task.
func doneUpTo(t *testing.T, s Saga, step Step, lineID string) Saga {
	t.Helper()
	for {
		a, ok := s.Next()
		if !ok {
			t.Fatalf("saga ended before %s/%s", step, lineID)
		}
		if a.Step == step && a.LineID == lineID {
			return s
		}
		var err error
		if s, err = s.Done(a.Step, a.LineID, result(a.Step, a.LineID)); err != nil {
			t.Fatal(err)
		}
	}
}

func result(step Step, lineID string) string {
	switch step {
	case StepCreateSubscription:
		if lineID == "l1" { // perpetual: no subscription
			return ""
		}
		return "sub-" + lineID
	case StepIssueEntitlements:
		return "ent-" + lineID
	case StepRecordCharge:
		return "chg-" + lineID
	}
	return ""
}

// OR-1: while the saga runs, the order is PROVISIONING; each line shows the IDs its done tasks
// made, and is PROVISIONED (with its complete time) once its charge is recorded.
func TestProject_OR1_Running(t *testing.T) {
	o := provisioningOrder()
	s := doneUpTo(t, NewSaga(o), StepRecordCharge, "l2") // l1 charged, l2 not yet
	now := t0.Add(time.Minute)
	p := Project(o, s, now)
	if p.State != OrderProvisioning || !p.CompleteTime.IsZero() || p.Failure != nil {
		t.Errorf("order %s complete %v failure %+v; want PROVISIONING", p.State, p.CompleteTime, p.Failure)
	}
	l1, l2 := p.Lines[0], p.Lines[1]
	if l1.State != LineProvisioned || l1.SubscriptionID != "" || l1.EntitlementID != "ent-l1" || l1.ChargeID != "chg-l1" ||
		!l1.CompleteTime.Equal(now) {
		t.Errorf("perpetual line %+v; want PROVISIONED with entitlement and charge, no subscription", l1)
	}
	if l2.State != LineProvisioning || l2.SubscriptionID != "sub-l2" || l2.ChargeID != "" || !l2.CompleteTime.IsZero() {
		t.Errorf("online line %+v; want PROVISIONING with its subscription", l2)
	}
}

// OR-1: the completed saga completes the order, once: complete times stay as first projected.
func TestProject_OR1_CompletedAndTimesSetOnce(t *testing.T) {
	o := provisioningOrder()
	s := doneUpTo(t, NewSaga(o), StepRecordCharge, "l2")
	first := t0.Add(time.Minute)
	p := Project(o, s, first)
	s = doneUpTo(t, s, StepComplete, "")
	s, err := s.Done(StepComplete, "", "")
	if err != nil {
		t.Fatal(err)
	}
	later := first.Add(time.Hour)
	p = Project(p, s, later)
	if p.State != OrderCompleted || !p.CompleteTime.Equal(later) {
		t.Errorf("order %s complete %v; want COMPLETED at %v", p.State, p.CompleteTime, later)
	}
	if !p.Lines[0].CompleteTime.Equal(first) || !p.Lines[1].CompleteTime.Equal(later) {
		t.Errorf("line complete times %v, %v; want %v (first projection) and %v", p.Lines[0].CompleteTime,
			p.Lines[1].CompleteTime, first, later)
	}
	again := Project(p, s, later.Add(time.Hour))
	if !reflect.DeepEqual(again, p) {
		t.Errorf("projecting the same saga again changed the order:\n%+v\n%+v", again, p)
	}
}

// OR-1: a refusal makes the order COMPENSATING with the failure and the refused line FAILED;
// once compensated the order is FAILED, the other lines COMPENSATED and without the IDs of the
// undone steps.
func TestProject_OR1_CompensatingThenFailed(t *testing.T) {
	o := provisioningOrder()
	s := doneUpTo(t, NewSaga(o), StepIssueEntitlements, "l1")
	f := Failure{Reason: "KEY_POOL_EXHAUSTED", Message: "no keys", Metadata: map[string]string{"sku_id": "x"}}
	s, _, err := s.Failed(StepIssueEntitlements, "l1", f, false, t0, DefaultRetry)
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	p := Project(o, s, now)
	want := f
	want.Step = StepIssueEntitlements
	if p.State != OrderCompensating || p.Failure == nil || !reflect.DeepEqual(*p.Failure, want) || !p.CompleteTime.IsZero() {
		t.Errorf("order %s failure %+v complete %v; want COMPENSATING with %+v", p.State, p.Failure, p.CompleteTime, want)
	}
	if l := p.Lines[0]; l.State != LineFailed || l.Failure == nil || !reflect.DeepEqual(*l.Failure, want) {
		t.Errorf("refused line %s failure %+v; want FAILED with %+v", l.State, l.Failure, want)
	}
	if l := p.Lines[1]; l.State != LineProvisioning || l.SubscriptionID != "sub-l2" {
		t.Errorf("other line %s sub %q; want PROVISIONING with its subscription until compensated", l.State, l.SubscriptionID)
	}
	for {
		a, ok := s.Next()
		if !ok {
			break
		}
		if s, err = s.Compensated(a.Step, a.LineID); err != nil {
			t.Fatal(err)
		}
		p = Project(p, s, now)
	}
	if p.State != OrderFailed || !p.CompleteTime.Equal(now) || p.Failure == nil || p.Failure.Reason != "KEY_POOL_EXHAUSTED" {
		t.Errorf("order %s complete %v failure %+v; want FAILED", p.State, p.CompleteTime, p.Failure)
	}
	if l := p.Lines[0]; l.State != LineFailed || l.SubscriptionID != "" || l.EntitlementID != "" {
		t.Errorf("refused line %+v; want FAILED without IDs", l)
	}
	if l := p.Lines[1]; l.State != LineCompensated || l.SubscriptionID != "" || l.Failure != nil || !l.CompleteTime.Equal(now) {
		t.Errorf("other line %+v; want COMPENSATED, no IDs, no failure", l)
	}
}

// Project is pure: its inputs stay as they were, and the order's failure is a copy.
func TestProject_LeavesInputsAlone(t *testing.T) {
	o := provisioningOrder()
	s := doneUpTo(t, NewSaga(o), StepIssueEntitlements, "l1")
	s, _, _ = s.Failed(StepIssueEntitlements, "l1", Failure{Reason: "X", Metadata: map[string]string{"k": "v"}}, false, t0, DefaultRetry)
	o0, s0 := provisioningOrder(), s
	s0.Tasks = append([]Task(nil), s.Tasks...)
	fcopy := *s.Failure
	p := Project(o, s, t0)
	if !reflect.DeepEqual(o, o0) {
		t.Errorf("Project changed its order:\n%+v\n%+v", o, o0)
	}
	if !reflect.DeepEqual(s.Tasks, s0.Tasks) || s.Failure.Reason != fcopy.Reason {
		t.Error("Project changed its saga")
	}
	p.Failure.Reason = "CHANGED"
	p.Lines[0].Failure.Reason = "CHANGED"
	if s.Failure.Reason != "X" {
		t.Error("the projected failure shares the saga's")
	}
}

// OR-1, Project's contract ("the same saga always gives the same order, whatever was projected
// before"): projecting the final saga onto the placed order, or onto the order as the saga was
// projected step by step, gives the same order.
func TestProject_OR1_SameSagaSameOrder(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retryable bool // the refused step gave up after its retries: Uncertain, compensated too
	}{
		{name: "refused"},
		{name: "retries exhausted", retryable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := provisioningOrder()
			s := doneUpTo(t, NewSaga(o), StepCreateSubscription, "l2")
			p := Project(o, s, t0)
			p1 := RetryPolicy{Base: time.Millisecond, Max: time.Millisecond, MaxAttempts: 1}
			s, _, err := s.Failed(StepCreateSubscription, "l2", Failure{Reason: ReasonDependencyUnavailable}, tc.retryable, t0, p1)
			if err != nil {
				t.Fatal(err)
			}
			p = Project(p, s, t0)
			for {
				a, ok := s.Next()
				if !ok {
					break
				}
				if s, err = s.Compensated(a.Step, a.LineID); err != nil {
					t.Fatal(err)
				}
				p = Project(p, s, t0)
			}
			fresh := Project(o, s, t0)
			if !reflect.DeepEqual(p, fresh) {
				t.Errorf("step by step:\n%+v\nat once:\n%+v", p.Lines, fresh.Lines)
			}
			if l := fresh.Lines[1]; l.State != LineFailed || l.Failure == nil || l.Failure.Step != StepCreateSubscription {
				t.Errorf("the failing line is %s with %+v; want FAILED at create_subscription", l.State, l.Failure)
			}
			if l := fresh.Lines[0]; l.State != LineCompensated {
				t.Errorf("the other line is %s; want COMPENSATED", l.State)
			}
		})
	}
}

// OR-4, SU-10: a cancellation subscriptions refused puts the line back PROVISIONED without its
// cancellation; the order settles as its other lines say.
func TestCancellationRefused_OR4(t *testing.T) {
	cancelling := func(o Order, ids ...string) Order {
		plan, err := PlanCancel(o, ids, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return ApplyCancel(o, plan, "r", t0.Add(time.Hour))
	}
	now := t0.Add(2 * time.Hour)

	t.Run("only line", func(t *testing.T) {
		o := cancelling(completedOrder(onlineLine("l1")))
		got, err := CancellationRefused(o, "l1", now)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != OrderCompleted || got.CancellationPending || got.Version != o.Version+1 || !got.UpdateTime.Equal(now) {
			t.Errorf("order %s pending %v version %d; want COMPLETED, not pending, version %d", got.State,
				got.CancellationPending, got.Version, o.Version+1)
		}
		if l := got.Lines[0]; l.State != LineProvisioned || l.Cancellation != nil || l.SubscriptionID != "sub-l1" {
			t.Errorf("line %+v; want PROVISIONED as before", l)
		}
		if o.Lines[0].State != LineCancelling || o.Lines[0].Cancellation == nil {
			t.Error("CancellationRefused changed its input")
		}
	})
	t.Run("another line cancelled", func(t *testing.T) {
		o := cancelling(completedOrder(onlineLine("l1"), onlineLine("l2")))
		for _, svc := range []Service{ServiceSubscriptions, ServiceKeys, ServiceLedger} {
			var err error
			if o, err = CancellationApplied(o, "l2", svc, eur(-10), now); err != nil {
				t.Fatal(err)
			}
		}
		got, err := CancellationRefused(o, "l1", now)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != OrderPartiallyCancelled || got.CancellationPending {
			t.Errorf("order %s pending %v; want PARTIALLY_CANCELLED, settled", got.State, got.CancellationPending)
		}
	})
	t.Run("another line still cancelling", func(t *testing.T) {
		o := cancelling(completedOrder(onlineLine("l1"), onlineLine("l2")))
		got, err := CancellationRefused(o, "l1", now)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != OrderCancelling || !got.CancellationPending || got.Lines[1].State != LineCancelling {
			t.Errorf("order %s pending %v; want CANCELLING and pending for l2", got.State, got.CancellationPending)
		}
	})
	t.Run("line not cancelling: no-op", func(t *testing.T) {
		o := completedOrder(onlineLine("l1"))
		got, err := CancellationRefused(o, "l1", now)
		if err != nil || !reflect.DeepEqual(got, o) {
			t.Errorf("got %+v, %v; want the order unchanged", got, err)
		}
		if got, err := CancellationRefused(o, "nope", now); err != nil || got.Version != o.Version {
			t.Errorf("unknown line: %+v, %v", got, err)
		}
	})
}

// OR-4: the request ID of a cancellation's call is a UUIDv5 of (order, line, service): the same
// on every replica and after a crash, different for every other call.
func TestCancelRequestIDFor_OR4(t *testing.T) {
	uuid5 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]string{}
	for _, order := range []string{"o1", "o2"} {
		for _, line := range []string{"l1", "l2"} {
			for _, svc := range []Service{ServiceSubscriptions, ServiceKeys, ServiceLedger} {
				id := CancelRequestIDFor(order, line, svc)
				if id != CancelRequestIDFor(order, line, svc) || !uuid5.MatchString(id) {
					t.Errorf("CancelRequestIDFor(%s, %s, %s) = %q: not a stable UUIDv5", order, line, svc, id)
				}
				what := order + "/" + line + "/" + string(svc)
				if prev, dup := seen[id]; dup {
					t.Errorf("%s and %s share request ID %s", prev, what, id)
				}
				seen[id] = what
				for _, st := range []Step{StepCreateSubscription, StepIssueEntitlements} {
					if id == RequestIDFor(order, st, line) || id == CompensationRequestIDFor(order, st, line) {
						t.Errorf("%s shares its request ID with a saga call", what)
					}
				}
			}
		}
	}
}
