package domain

import (
	"math/rand/v2"
	"regexp"
	"testing"
	"time"
)

func sagaOrder() Order { return completedOrder(perpetualLine("l1"), onlineLine("l2")) }

func TestNewSaga_Layout(t *testing.T) {
	s := NewSaga(sagaOrder())
	want := []string{"check_relationship/", "check_catalog/", "create_subscription/l1", "create_subscription/l2",
		"issue_entitlements/l1", "record_charge/l1", "record_charge/l2", "complete/"}
	if len(s.Tasks) != len(want) {
		t.Fatalf("%d tasks, want %d: %+v", len(s.Tasks), len(want), s.Tasks)
	}
	for i, w := range want {
		if got := string(s.Tasks[i].Step) + "/" + s.Tasks[i].LineID; got != w {
			t.Errorf("task %d = %s, want %s", i, got, w)
		}
	}
}

func TestSaga_HappyPath(t *testing.T) {
	s := NewSaga(sagaOrder())
	for n := 0; ; n++ {
		a, ok := s.Next()
		if !ok {
			break
		}
		if a.Kind != ActionRun || a.Attempt != 1 || a.RequestID != RequestIDFor("ord-1", a.Step, a.LineID) {
			t.Fatalf("action %+v", a)
		}
		var err error
		if s, err = s.Done(a.Step, a.LineID, "id-"+string(a.Step)); err != nil {
			t.Fatal(err)
		}
		if n > 20 {
			t.Fatal("no end")
		}
	}
	if s.Status != SagaCompleted || s.Failure != nil {
		t.Fatalf("status %s", s.Status)
	}
}

func TestSaga_Transitions(t *testing.T) {
	p := DefaultRetry
	run := func(s Saga, n int) Saga { // n steps done
		for range n {
			a, _ := s.Next()
			s, _ = s.Done(a.Step, a.LineID, "r")
		}
		return s
	}
	t.Run("retryable then done", func(t *testing.T) {
		s := run(NewSaga(sagaOrder()), 2)
		s2, d, err := s.Failed(StepCreateSubscription, "l1", Failure{Reason: ReasonDependencyUnavailable}, true, t0, p)
		if err != nil || d != 100*time.Millisecond || s2.Status != SagaRunning {
			t.Fatalf("d=%v err=%v status=%s", d, err, s2.Status)
		}
		a, _ := s2.Next()
		if a.Attempt != 2 || !a.NotBefore.Equal(t0.Add(d)) || a.RequestID != RequestIDFor("ord-1", StepCreateSubscription, "l1") {
			t.Fatalf("retry action %+v", a)
		}
		if s.Tasks[2].Attempts != 0 {
			t.Fatal("Failed modified its input")
		}
	})
	t.Run("refused check: nothing to compensate, FAILED at once", func(t *testing.T) {
		s, _, err := NewSaga(sagaOrder()).Failed(StepCheckRelationship, "", Failure{Reason: "RELATIONSHIP_REQUIRED"}, false, t0, p)
		if err != nil || s.Status != SagaFailed || s.Failure.Step != StepCheckRelationship || s.Failure.Reason != "RELATIONSHIP_REQUIRED" {
			t.Fatalf("%+v %v", s, err)
		}
		if _, ok := s.Next(); ok {
			t.Fatal("terminal saga has a next action")
		}
	})
	t.Run("refused entitlement compensates subscriptions in reverse", func(t *testing.T) {
		s := run(NewSaga(sagaOrder()), 4)
		s, _, _ = s.Failed(StepIssueEntitlements, "l1", Failure{Reason: "KMS_NOT_ALLOWED"}, false, t0, p)
		var got []string
		for {
			a, ok := s.Next()
			if !ok {
				break
			}
			if a.Kind != ActionCompensate || a.StepRequestID != RequestIDFor("ord-1", a.Step, a.LineID) ||
				a.RequestID != CompensationRequestIDFor("ord-1", a.Step, a.LineID) {
				t.Fatalf("action %+v", a)
			}
			got = append(got, a.LineID)
			s, _ = s.Compensated(a.Step, a.LineID)
		}
		if len(got) != 2 || got[0] != "l2" || got[1] != "l1" || s.Status != SagaFailed {
			t.Fatalf("compensated %v, status %s", got, s.Status)
		}
	})
	t.Run("retries exhausted: the uncertain step is compensated too", func(t *testing.T) {
		s := run(NewSaga(sagaOrder()), 2)
		var err error
		for i := range p.MaxAttempts {
			s, _, err = s.Failed(StepCreateSubscription, "l1", Failure{Reason: ReasonDependencyUnavailable}, true, t0, p)
			if err != nil || (i < p.MaxAttempts-1) != (s.Status == SagaRunning) {
				t.Fatalf("attempt %d: %s %v", i+1, s.Status, err)
			}
		}
		a, ok := s.Next()
		if !ok || a.Kind != ActionCompensate || a.LineID != "l1" || !s.Tasks[2].Uncertain {
			t.Fatalf("next %+v", a)
		}
		s, _, _ = s.CompensationFailed(a.Step, a.LineID, t0, p)
		if a2, _ := s.Next(); a2.Attempt != 2 || a2.NotBefore.IsZero() {
			t.Fatalf("compensation retry %+v", a2)
		}
		s, _ = s.Compensated(a.Step, a.LineID)
		if s.Status != SagaFailed {
			t.Fatalf("status %s", s.Status)
		}
	})
	t.Run("out of order events are refused", func(t *testing.T) {
		s := NewSaga(sagaOrder())
		if _, err := s.Done(StepRecordCharge, "l1", "x"); err == nil {
			t.Fatal("Done of a later step accepted")
		}
		if _, err := s.Compensated(StepCheckCatalog, ""); err == nil {
			t.Fatal("Compensated while running accepted")
		}
		s = run(s, 1)
		if again, err := s.Done(StepCheckRelationship, "", "r"); err != nil || again.Tasks[1].Status != TaskPending {
			t.Fatalf("replayed Done: %v", err)
		}
	})
}

func TestRetryPolicy_Delay(t *testing.T) {
	wantMS := []int{100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000}
	for i, ms := range wantMS {
		if got, w := DefaultRetry.Delay(i+1), time.Duration(ms)*time.Millisecond; got != w {
			t.Errorf("Delay(%d) = %v, want %v", i+1, got, w)
		}
	}
}

func TestRequestIDFor_DeterministicUUIDv5(t *testing.T) {
	a, b := RequestIDFor("o", StepCreateSubscription, "l"), RequestIDFor("o", StepCreateSubscription, "l")
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if a != b || !re.MatchString(a) {
		t.Fatalf("%s %s", a, b)
	}
	others := []string{RequestIDFor("o", StepCreateSubscription, "m"), RequestIDFor("o", StepRecordCharge, "l"),
		RequestIDFor("p", StepCreateSubscription, "l"), CompensationRequestIDFor("o", StepCreateSubscription, "l")}
	for _, o := range others {
		if o == a {
			t.Fatalf("collision %s", o)
		}
	}
}

// Property: random step results never leave a non-terminal saga without a Next, never compensate
// a task that was not done (or uncertain), and compensate in reverse order.
func TestSaga_Property(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := RetryPolicy{Base: time.Millisecond, Max: 4 * time.Millisecond, MaxAttempts: 3}
	for iter := range 5000 {
		s := NewSaga(sagaOrder())
		lastComp := len(s.Tasks)
		for guard := 0; ; guard++ {
			if guard > 500 {
				t.Fatalf("iter %d: no end", iter)
			}
			a, ok := s.Next()
			if !ok {
				if !s.Status.Terminal() {
					t.Fatalf("iter %d: %s saga without Next", iter, s.Status)
				}
				break
			}
			idx := s.current(s.plan())
			var err error
			switch a.Kind {
			case ActionRun:
				switch r.IntN(4) {
				case 0:
					s, _, err = s.Failed(a.Step, a.LineID, Failure{}, false, t0, p)
				case 1:
					s, _, err = s.Failed(a.Step, a.LineID, Failure{}, true, t0, p)
				default:
					s, err = s.Done(a.Step, a.LineID, "r")
				}
			case ActionCompensate:
				task := s.Tasks[idx]
				if !(task.Status == TaskDone || (task.Status == TaskFailed && task.Uncertain)) {
					t.Fatalf("iter %d: compensating a %s task", iter, task.Status)
				}
				if idx >= lastComp {
					t.Fatalf("iter %d: compensation out of reverse order", iter)
				}
				if r.IntN(3) == 0 {
					s, _, err = s.CompensationFailed(a.Step, a.LineID, t0, p)
				} else {
					lastComp = idx
					s, err = s.Compensated(a.Step, a.LineID)
				}
			}
			if err != nil {
				t.Fatalf("iter %d: %v", iter, err)
			}
		}
		if s.Status == SagaFailed {
			for _, task := range s.Tasks {
				if s.needsCompensation(s.plan(), task) {
					t.Fatalf("iter %d: FAILED with %s/%s not compensated", iter, task.Step, task.LineID)
				}
			}
		}
	}
}
